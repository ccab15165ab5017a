package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/heraldhq/herald/agent/agenttest"
)

// step is one CLI invocation in a scenario against a live agent and the
// output Consul documents for it. Regexps are used only where the output
// holds Raft indexes, which depend on the history of the agent.
type step struct {
	args      []string
	stdin     string
	code      int
	stdout    string
	stdoutRE  string
	stderr    string
	stderrPfx string
}

func (s step) check(t *testing.T, inv invocation) result {
	t.Helper()
	inv.stdin = s.stdin
	r := inv.run(t, s.args...)
	if r.code != s.code {
		t.Errorf("%q: exit code %d, want %d (stdout %q, stderr %q)", s.args, r.code, s.code, r.stdout, r.stderr)
	}
	switch {
	case s.stdoutRE != "":
		if !regexp.MustCompile(`^` + s.stdoutRE + `$`).MatchString(r.stdout) {
			t.Errorf("%q: stdout %q does not match %q", s.args, r.stdout, s.stdoutRE)
		}
	case r.stdout != s.stdout:
		t.Errorf("%q: stdout %q, want %q", s.args, r.stdout, s.stdout)
	}
	switch {
	case s.stderrPfx != "":
		if !strings.HasPrefix(r.stderr, s.stderrPfx) {
			t.Errorf("%q: stderr %q, want prefix %q", s.args, r.stderr, s.stderrPfx)
		}
	case r.stderr != s.stderr:
		t.Errorf("%q: stderr %q, want %q", s.args, r.stderr, s.stderr)
	}
	return r
}

func args(s ...string) []string { return s }

// TestKVAgainstAgent runs each scenario against one dev agent, every scenario
// under its own key prefix so they cannot see each other's keys.
func TestKVAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}

	dir := t.TempDir()
	valueFile := filepath.Join(dir, "value.txt")
	if err := os.WriteFile(valueFile, []byte("line one\nline two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	idx := `\d+`

	scenarios := []struct {
		name  string
		steps []step
	}{
		{"put then get", []step{
			{args: args("kv", "put", "basic/minconns", "1"), stdout: "Success! Data written to: basic/minconns\n"},
			{args: args("kv", "get", "basic/minconns"), stdout: "1\n"},
			{args: args("kv", "get", "/basic/minconns"), stdout: "1\n"},
			{args: args("kv", "put", "basic/empty"), stdout: "Success! Data written to: basic/empty\n"},
			{args: args("kv", "get", "basic/empty"), stdout: "\n"},
		}},
		{"missing key", []step{
			{args: args("kv", "get", "missing/nothing"), code: 1, stderr: "Error! No key exists at: missing/nothing\n"},
			{args: args("kv", "get", "-detailed", "missing/nothing"), code: 1, stderr: "Error! No key exists at: missing/nothing\n"},
		}},
		{"detailed", []step{
			{args: args("kv", "put", "-flags=42", "detail/admin", "abcd1234"), stdout: "Success! Data written to: detail/admin\n"},
			{args: args("kv", "get", "-detailed", "detail/admin"), stdoutRE: "" +
				"CreateIndex      " + idx + "\n" +
				"Flags            42\n" +
				"Key              detail/admin\n" +
				"LockIndex        0\n" +
				"ModifyIndex      " + idx + "\n" +
				"Session          -\n" +
				"Value            abcd1234\n"},
			{args: args("kv", "get", "-detailed", "-base64", "detail/admin"), stdoutRE: `(?s).*\nValue            YWJjZDEyMzQ=\n`},
		}},
		{"recurse", []step{
			{args: args("kv", "put", "rec/config/maxconns", "25"), stdout: "Success! Data written to: rec/config/maxconns\n"},
			{args: args("kv", "put", "rec/config/minconns", "1"), stdout: "Success! Data written to: rec/config/minconns\n"},
			{args: args("kv", "put", "rec/config/users/admin", "abcd1234"), stdout: "Success! Data written to: rec/config/users/admin\n"},
			{args: args("kv", "get", "-recurse", "rec"), stdout: "" +
				"rec/config/maxconns:25\n" +
				"rec/config/minconns:1\n" +
				"rec/config/users/admin:abcd1234\n"},
			{args: args("kv", "get", "-recurse", "-base64", "rec/config/m"), stdout: "" +
				"rec/config/maxconns:MjU=\n" +
				"rec/config/minconns:MQ==\n"},
			{args: args("kv", "get", "-recurse", "-detailed", "rec/config/m"), stdoutRE: "" +
				"CreateIndex      " + idx + "\nFlags            0\nKey              rec/config/maxconns\n" +
				"LockIndex        0\nModifyIndex      " + idx + "\nSession          -\nValue            25\n" +
				"\n" +
				"CreateIndex      " + idx + "\nFlags            0\nKey              rec/config/minconns\n" +
				"LockIndex        0\nModifyIndex      " + idx + "\nSession          -\nValue            1\n"},
			{args: args("kv", "get", "-recurse", "rec/none/"), stdout: ""},
		}},
		{"keys and separator", []step{
			{args: args("kv", "put", "keys/a/x", "1"), stdout: "Success! Data written to: keys/a/x\n"},
			{args: args("kv", "put", "keys/a/y/z", "2"), stdout: "Success! Data written to: keys/a/y/z\n"},
			{args: args("kv", "put", "keys/b", "3"), stdout: "Success! Data written to: keys/b\n"},
			{args: args("kv", "get", "-keys", "keys/"), stdout: "keys/a/\nkeys/b\n"},
			{args: args("kv", "get", "-keys", "-separator=", "keys/"), stdout: "keys/a/x\nkeys/a/y/z\nkeys/b\n"},
			{args: args("kv", "get", "-keys", "keys/a/"), stdout: "keys/a/x\nkeys/a/y/\n"},
			{args: args("kv", "get", "-keys", "-separator=y", "keys/a/"), stdout: "keys/a/x\nkeys/a/y\n"},
		}},
		{"base64 put", []step{
			{args: args("kv", "put", "-base64", "b64/k", "aGVsbG8gd29ybGQ="), stdout: "Success! Data written to: b64/k\n"},
			{args: args("kv", "get", "b64/k"), stdout: "hello world\n"},
			{args: args("kv", "get", "-base64", "b64/k"), stdout: "aGVsbG8gd29ybGQ=\n"},
		}},
		{"stdin and file values", []step{
			{args: args("kv", "put", "src/stdin", "-"), stdin: "piped\n", stdout: "Success! Data written to: src/stdin\n"},
			{args: args("kv", "get", "src/stdin"), stdout: "piped\n\n"},
			{args: args("kv", "put", "src/file", "@"+valueFile), stdout: "Success! Data written to: src/file\n"},
			{args: args("kv", "get", "src/file"), stdout: "line one\nline two\n\n"},
			{args: args("kv", "put", "-base64", "src/b64stdin", "-"), stdin: "aGk=\n", stdout: "Success! Data written to: src/b64stdin\n"},
			{args: args("kv", "get", "src/b64stdin"), stdout: "hi\n"},
		}},
		{"invalid key", []step{
			{args: args("kv", "put", "/slash", "v"), code: 1, stderrPfx: "Error! Failed writing data: "},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, s := range sc.steps {
				s.check(t, inv)
			}
		})
	}
}

// modifyIndex reads a key's ModifyIndex through `kv get -detailed`.
func modifyIndex(t *testing.T, inv invocation, key string) uint64 {
	t.Helper()
	r := inv.run(t, "kv", "get", "-detailed", key)
	m := regexp.MustCompile(`(?m)^ModifyIndex +(\d+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no ModifyIndex for %s in %+v", key, r)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

func TestKVCheckAndSetAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}

	step{args: args("kv", "put", "cas/k", "v1"), stdout: "Success! Data written to: cas/k\n"}.check(t, inv)
	idx := modifyIndex(t, inv, "cas/k")
	stale := strconv.FormatUint(idx, 10)

	for _, s := range []step{
		{args: args("kv", "put", "-cas", "-modify-index="+stale, "cas/k", "v2"), stdout: "Success! Data written to: cas/k\n"},
		// The index moved with the write above, so the same index now fails.
		{args: args("kv", "put", "-cas", "-modify-index="+stale, "cas/k", "v3"), code: 1,
			stderr: "Error! Did not write to cas/k: CAS failed\n"},
		{args: args("kv", "get", "cas/k"), stdout: "v2\n"},
		// -modify-index=0 writes only if the key does not exist.
		{args: args("kv", "put", "-cas", "-modify-index=0", "cas/k", "v4"), code: 1,
			stderr: "Error! Did not write to cas/k: CAS failed\n"},
		{args: args("kv", "put", "-cas", "-modify-index=0", "cas/new", "n"), stdout: "Success! Data written to: cas/new\n"},
		{args: args("kv", "delete", "-cas", "-modify-index="+stale, "cas/k"), code: 1,
			stderr: "Error! Did not delete key cas/k: CAS failed\n"},
		{args: args("kv", "get", "cas/k"), stdout: "v2\n"},
	} {
		s.check(t, inv)
	}

	current := strconv.FormatUint(modifyIndex(t, inv, "cas/k"), 10)
	for _, s := range []step{
		{args: args("kv", "delete", "-cas", "-modify-index="+current, "cas/k"), stdout: "Success! Deleted key: cas/k\n"},
		{args: args("kv", "get", "cas/k"), code: 1, stderr: "Error! No key exists at: cas/k\n"},
	} {
		s.check(t, inv)
	}
}

func TestKVDeleteAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	for _, k := range []string{"del/one", "tree/a", "tree/b/c", "treehouse", "other/x"} {
		step{args: args("kv", "put", k, "v"), stdout: "Success! Data written to: " + k + "\n"}.check(t, inv)
	}
	for _, s := range []step{
		{args: args("kv", "delete", "del/one"), stdout: "Success! Deleted key: del/one\n"},
		{args: args("kv", "get", "del/one"), code: 1, stderr: "Error! No key exists at: del/one\n"},
		// Deleting what is not there is not an error.
		{args: args("kv", "delete", "del/one"), stdout: "Success! Deleted key: del/one\n"},
		{args: args("kv", "delete", "-recurse", "tree/"), stdout: "Success! Deleted keys with prefix: tree/\n"},
		{args: args("kv", "get", "-recurse", "tree"), stdout: "treehouse:v\n"},
		{args: args("kv", "delete", "-recurse", "tree"), stdout: "Success! Deleted keys with prefix: tree\n"},
		{args: args("kv", "get", "-recurse"), stdout: "other/x:v\n"},
	} {
		s.check(t, inv)
	}
}

func TestKVExportImportAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	inv := invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}
	for _, s := range []step{
		{args: args("kv", "put", "-flags=7", "src/a", "hello"), stdout: "Success! Data written to: src/a\n"},
		{args: args("kv", "put", "-base64", "src/bin", "AAEC/w=="), stdout: "Success! Data written to: src/bin\n"},
		{args: args("kv", "put", "src/folder/"), stdout: "Success! Data written to: src/folder/\n"},
		{args: args("kv", "export", "nothing/"), stdout: "[]\n"},
	} {
		s.check(t, inv)
	}

	exported := step{args: args("kv", "export", "src/"), stdout: "[\n" +
		"\t{\n\t\t\"key\": \"src/a\",\n\t\t\"flags\": 7,\n\t\t\"value\": \"aGVsbG8=\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"src/bin\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"AAEC/w==\"\n\t},\n" +
		"\t{\n\t\t\"key\": \"src/folder/\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"\"\n\t}\n" +
		"]\n"}.check(t, inv).stdout

	// Import from stdin under another prefix, then from a file as is.
	step{args: args("kv", "import", "-prefix=copy", "-"), stdin: exported, stdout: "" +
		"Imported: copy/src/a\nImported: copy/src/bin\nImported: copy/src/folder/\n"}.check(t, inv)

	var entries []map[string]any
	if err := json.Unmarshal([]byte(exported), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		e["key"] = strings.Replace(e["key"].(string), "src/", "file/", 1)
	}
	doc, _ := json.Marshal(entries)
	file := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	step{args: args("kv", "import", "@"+file), stdout: "" +
		"Imported: file/a\nImported: file/bin\nImported: file/folder/\n"}.check(t, inv)
	step{args: args("kv", "import", `[{"key":"inline/k","flags":0,"value":"aQ=="}]`),
		stdout: "Imported: inline/k\n"}.check(t, inv)

	// The round trip preserves keys, flags and bytes exactly.
	for prefix, keyPrefix := range map[string]string{"copy/src/": "copy/src/", "file/": "file/"} {
		want := strings.ReplaceAll(exported, `"src/`, `"`+keyPrefix)
		step{args: args("kv", "export", prefix), stdout: want}.check(t, inv)
	}
	step{args: args("kv", "get", "-detailed", "copy/src/a"), stdoutRE: `(?s).*Flags            7\n.*`}.check(t, inv)
	step{args: args("kv", "get", "inline/k"), stdout: "i\n"}.check(t, inv)
}

// Environment and invocation name handling against a real agent: the address
// from CONSUL_HTTP_ADDR or HERALD_HTTP_ADDR (the latter winning), -http-addr
// over both, and everything working the same when invoked as "consul".
func TestEnvAndProgAgainstAgent(t *testing.T) {
	addr := agenttest.StartDev(t)
	dead := "127.0.0.1:1"

	for _, tt := range []struct {
		name string
		inv  invocation
		args []string
	}{
		{"CONSUL_HTTP_ADDR", invocation{env: map[string]string{"CONSUL_HTTP_ADDR": addr}}, nil},
		{"CONSUL_HTTP_ADDR with scheme", invocation{env: map[string]string{"CONSUL_HTTP_ADDR": "http://" + addr}}, nil},
		{"HERALD_HTTP_ADDR wins", invocation{env: map[string]string{"CONSUL_HTTP_ADDR": dead, "HERALD_HTTP_ADDR": addr}}, nil},
		{"-http-addr wins", invocation{env: map[string]string{"CONSUL_HTTP_ADDR": dead}}, []string{"-http-addr=" + addr}},
		{"invoked as consul", invocation{prog: "consul", env: map[string]string{"CONSUL_HTTP_ADDR": addr}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := "env/" + strings.ReplaceAll(tt.name, " ", "_")
			put := append(append(args("kv", "put"), tt.args...), key, "ok")
			get := append(append(args("kv", "get"), tt.args...), key)
			step{args: put, stdout: "Success! Data written to: " + key + "\n"}.check(t, tt.inv)
			step{args: get, stdout: "ok\n"}.check(t, tt.inv)
		})
	}

	r := invocation{prog: "consul", env: map[string]string{"CONSUL_HTTP_ADDR": addr}}.run(t, "version")
	if !strings.HasPrefix(r.stdout, "Consul v") {
		t.Errorf("consul version: %+v", r)
	}
}
