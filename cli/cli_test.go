package cli

import (
	"strings"
	"testing"
)

// Test-only commands exercise the dispatcher without depending on the real
// ones. Their names start with "zz" so they sort last in listings.
func init() {
	echo := func(tag string) func([]string, IO) int {
		return func(args []string, cio IO) int {
			cio.Stdout.Write([]byte(tag + " " + Prog(cio) + " [" + strings.Join(args, ",") + "]\n"))
			return 7
		}
	}
	Register(Command{Name: "zzcmd", Synopsis: "Top test command", Run: echo("zzcmd")})
	Register(Command{Name: "zzcmd sub", Synopsis: "Nested test command", Run: echo("zzcmd sub")})
	// "zzns" is never registered itself: the dispatcher must synthesise it.
	Register(Command{Name: "zzns alpha", Synopsis: "First", Run: echo("alpha")})
	Register(Command{Name: "zzns deep inner", Synopsis: "Deep", Run: echo("inner")})
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		prog       string
		args       []string
		wantCode   int
		wantStdout string // exact, when wantUsage is false
		wantUsage  string // substring expected in the usage stream
		usageOnErr bool   // usage expected on stderr rather than stdout
	}{
		{name: "top command", args: []string{"zzcmd", "a", "-b"}, wantCode: 7,
			wantStdout: "zzcmd herald [a,-b]\n"},
		{name: "longest match wins", args: []string{"zzcmd", "sub", "x"}, wantCode: 7,
			wantStdout: "zzcmd sub herald [x]\n"},
		{name: "flags are not command words", args: []string{"zzcmd", "-x", "sub"}, wantCode: 7,
			wantStdout: "zzcmd herald [-x,sub]\n"},
		{name: "prog is passed through", prog: "consul", args: []string{"zzcmd"}, wantCode: 7,
			wantStdout: "zzcmd consul []\n"},
		{name: "deep command under synthesised namespaces", args: []string{"zzns", "deep", "inner", "q"},
			wantCode: 7, wantStdout: "inner herald [q]\n"},
		{name: "no args", args: nil, wantCode: 1, usageOnErr: true,
			wantUsage: "Usage: herald [--version] [--help] <command> [<args>]"},
		{name: "-h", args: []string{"-h"}, wantCode: 0,
			wantUsage: "Available commands are:\n"},
		{name: "--help as consul", prog: "consul", args: []string{"--help"}, wantCode: 0,
			wantUsage: "Usage: consul [--version] [--help] <command> [<args>]"},
		{name: "unknown command", args: []string{"nope"}, wantCode: 1, usageOnErr: true,
			wantUsage: "Unknown command: \"nope\""},
		{name: "namespace without subcommand", args: []string{"zzns"}, wantCode: 1, usageOnErr: true,
			wantUsage: "Usage: herald zzns <subcommand> [options] [args]\n\nSubcommands:\n    alpha    First\n    deep\n"},
		{name: "namespace help", args: []string{"zzns", "--help"}, wantCode: 0,
			wantUsage: "Subcommands:\n    alpha    First\n"},
		{name: "namespace unknown subcommand", args: []string{"zzns", "bogus"}, wantCode: 1, usageOnErr: true,
			wantUsage: "Subcommands:\n"},
		{name: "registered namespace", args: []string{"kv"}, wantCode: 1, usageOnErr: true,
			wantUsage: "Subcommands:\n    delete    "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invocation{prog: tt.prog}.run(t, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if tt.wantUsage == "" {
				if r.stdout != tt.wantStdout || r.stderr != "" {
					t.Errorf("stdout %q stderr %q, want stdout %q", r.stdout, r.stderr, tt.wantStdout)
				}
				return
			}
			got, other := r.stdout, r.stderr
			if tt.usageOnErr {
				got, other = r.stderr, r.stdout
			}
			if !strings.Contains(got, tt.wantUsage) {
				t.Errorf("usage stream %q does not contain %q", got, tt.wantUsage)
			}
			if other != "" {
				t.Errorf("unexpected output on the other stream: %q", other)
			}
		})
	}
}

func TestTopUsageListsTopLevelCommandsOnly(t *testing.T) {
	r := runCLI(t, "-h")
	for _, want := range []string{
		"\n    kv ", "Interact with the key-value store\n",
		"\n    version ", "\n    zzcmd ", "Top test command\n", "\n    zzns\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("usage lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "sub") || strings.Contains(r.stdout, "get") {
		t.Errorf("usage lists nested commands:\n%s", r.stdout)
	}
}

func TestVersionFlagsRunVersion(t *testing.T) {
	for _, flag := range []string{"-v", "-version", "--version"} {
		r := runCLI(t, flag)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Herald v") {
			t.Errorf("%s: code %d stdout %q stderr %q", flag, r.code, r.stdout, r.stderr)
		}
	}
}

func TestRegisterRejectsDuplicatesAndEmptyNames(t *testing.T) {
	for _, name := range []string{"zzcmd", "  zzcmd   sub ", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			Register(Command{Name: name, Run: func([]string, IO) int { return 0 }})
		}()
	}
}

// A zero IO must not make commands crash on nil streams or a nil Env.
func TestRunWithZeroIO(t *testing.T) {
	if code := Run("herald", []string{"version"}, IO{}); code != 0 {
		t.Errorf("exit code %d", code)
	}
}

func TestProgDefaultsToHerald(t *testing.T) {
	if got := Prog(IO{}); got != "herald" {
		t.Errorf("Prog(IO{}) = %q", got)
	}
}

func TestCommandHelpFlag(t *testing.T) {
	for _, args := range [][]string{
		{"kv", "get", "-h"}, {"kv", "put", "-help"}, {"kv", "delete", "--help"},
		{"kv", "export", "-h"}, {"kv", "import", "-h"}, {"version", "-h"},
	} {
		r := invocation{prog: "consul"}.run(t, args...)
		want := "Usage: consul " + strings.Join(args[:len(args)-1], " ")
		if r.code != 0 || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
			t.Errorf("%v: code %d, stdout %q..., stderr %q", args, r.code, firstLine(r.stdout), r.stderr)
		}
		if strings.Contains(r.stdout, "{{prog}}") {
			t.Errorf("%v: help has an unsubstituted placeholder", args)
		}
	}
}

func TestBadFlagIsUsageError(t *testing.T) {
	r := runCLI(t, "kv", "get", "-no-such-flag", "k")
	if r.code != 1 || !strings.Contains(r.stderr, "flag provided but not defined: -no-such-flag") ||
		!strings.Contains(r.stderr, "Usage: herald kv get") || r.stdout != "" {
		t.Errorf("got %+v", r)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
