package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/heraldhq/herald/version"
)

// Herald speaks Consul's agent protocol version 2 and understands 2 to 3, as
// current Consul releases report; tools read these numbers to decide whether
// an agent can join.
const (
	protocolDefault = 2
	protocolMin     = 2
	protocolMax     = 3
)

type versionCmd struct {
	format string
}

func (c *versionCmd) flags() *flag.FlagSet {
	fs := newFlagSet("version")
	fs.StringVar(&c.format, "format", "pretty", "Output `format`: pretty or json.")
	return fs
}

var versionHelp = commandHelp("version [options]", `
Prints the version and build of this binary and the agent protocol versions
it speaks. Invoked as "consul", it reports the Consul version whose API it
implements, so that scripts checking Consul's version keep working.`,
	new(versionCmd).flags())

func init() {
	Register(Command{
		Name:     "version",
		Synopsis: "Print the version",
		Help:     versionHelp,
		Run:      func(args []string, cio IO) int { return new(versionCmd).run(args, cio) },
	})
}

// versionJSON has the keys of Consul's `version -format=json`.
type versionJSON struct {
	Version    string
	Revision   string
	Prerelease string
	FIPS       string
	BuildDate  time.Time
	RPC        struct{ Default, Min, Max int }
}

// invokedAsConsul reports whether the binary runs under Consul's name, in
// which case it presents itself as the Consul release it is compatible with.
func invokedAsConsul(prog string) bool {
	return strings.TrimSuffix(strings.ToLower(prog), ".exe") == "consul"
}

func (c *versionCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, versionHelp, cio); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(cio.Stderr, "Error! Unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 1
	}
	info := version.Get()
	product, human := "Herald", info.Human()
	if invokedAsConsul(Prog(cio)) {
		// The prerelease tag describes Herald's build, not the Consul API it
		// implements, so it is not attached to the Consul version.
		product, human = "Consul", version.ConsulCompat
		info.Version, info.Prerelease = version.ConsulCompat, ""
	}

	switch c.format {
	case "pretty":
		var b strings.Builder
		fmt.Fprintf(&b, "%s v%s\n", product, human)
		if info.Revision != "" {
			fmt.Fprintf(&b, "Revision %s\n", info.Revision)
		}
		fmt.Fprintf(&b, "Build Date %s\n", info.BuildDate.Format(time.RFC3339))
		fmt.Fprintf(&b, "Protocol %d spoken by default, understands %d to %d "+
			"(agent will automatically use protocol >%d when speaking to compatible agents)\n",
			protocolDefault, protocolMin, protocolMax, protocolDefault)
		fmt.Fprint(cio.Stdout, b.String())
	case "json":
		v := versionJSON{
			Version:    info.Version,
			Revision:   info.Revision,
			Prerelease: info.Prerelease,
			BuildDate:  info.BuildDate,
		}
		v.RPC.Default, v.RPC.Min, v.RPC.Max = protocolDefault, protocolMin, protocolMax
		out, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "%s\n", out)
	default:
		fmt.Fprintf(cio.Stderr, "Error! Unknown -format %q (expected pretty or json)\n", c.format)
		return 1
	}
	return 0
}
