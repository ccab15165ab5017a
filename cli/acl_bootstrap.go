package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
)

func init() {
	Register(Command{Name: "acl bootstrap", Synopsis: "Bootstrap the ACL system", Help: aclBootstrapHelp,
		Run: func(args []string, cio IO) int { return new(aclBootstrapCmd).run(args, cio) }})
	Register(Command{Name: "acl set-agent-token", Synopsis: "Assign tokens for the agent's own use",
		Help: aclSetAgentTokenHelp, Run: runACLSetAgentToken})
}

// ---- bootstrap

type aclBootstrapCmd struct {
	aclCommand
	out aclOutput
}

func (c *aclBootstrapCmd) flags() *flag.FlagSet {
	fs := newFlagSet("acl bootstrap")
	c.http.addTo(fs)
	c.out.addTo(fs, false)
	return fs
}

var aclBootstrapHelp = commandHelp("acl bootstrap [options] [FILE]", `
Asks the cluster to create its first token, with unlimited privileges, and
prints it. This works once: afterwards bootstrapping is refused.

FILE, when given, holds the secret ID the new token must have ("-" reads it
from stdin); otherwise one is generated.`, new(aclBootstrapCmd).flags())

func (c *aclBootstrapCmd) run(args []string, cio IO) int {
	fs := c.flags()
	var secret string
	client, code, ok := c.start(fs, args, aclBootstrapHelp, cio, func() error {
		rest := fs.Args()
		if len(rest) > 1 {
			return errors.New("This command takes up to one argument")
		}
		if err := c.out.check(); err != nil {
			return err
		}
		if len(rest) == 1 {
			s, err := readSecretSource(rest[0], cio.Stdin)
			if err != nil {
				return fmt.Errorf("Error reading provided token: %v", err)
			}
			secret = s
		}
		return nil
	})
	if !ok {
		return code
	}
	t, _, err := client.ACL().BootstrapWithToken(secret)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Failed ACL bootstrapping: %v\n", err)
		return 1
	}
	return printToken(cio, c.out, t)
}

// readSecretSource reads a secret that is never taken inline, so that it
// does not show in the process list: "-" is stdin, "@path" or a plain path
// a file. Surrounding whitespace (a file's final newline) is dropped.
func readSecretSource(arg string, stdin io.Reader) (string, error) {
	var data []byte
	var err error
	switch {
	case arg == "":
		return "", errors.New("Failed to load data: data source is empty")
	case arg == "-":
		data, err = io.ReadAll(stdin)
	default:
		data, err = os.ReadFile(strings.TrimPrefix(arg, "@"))
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(data)), nil
}

// ---- set-agent-token

var aclSetAgentTokenHelp = commandHelp("acl set-agent-token [options] TYPE TOKEN", `
Sets one of the tokens the agent itself uses. Unless the agent persists
tokens (acl.enable_token_persistence), tokens set this way are lost when it
restarts. TOKEN may be given inline, read from a file with @path, or from
stdin with "-".

Token types:

  default                           Used for the agent's own operations and for
                                    HTTP and DNS requests that carry no token.
  agent                             Used for the agent's own operations.
  recovery                          Gives access to the agent's API when the
                                    servers cannot be reached.
  replication                       Used by servers to replicate ACL data.
  config_file_service_registration  Used to register the services and checks
                                    of the agent's configuration files.
  dns                               Used for DNS queries.

    $ {{prog}} acl set-agent-token default c4d0f8df-3aba-4ab6-a7a0-35b760dc29a1`,
	httpOnlyFlags("acl set-agent-token", new(httpFlags)))

// agentTokenSetters maps each TYPE to the client call that sets it.
var agentTokenSetters = map[string]func(*api.Agent, string) (*api.WriteMeta, error){
	"default":     func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateDefaultACLToken(t, nil) },
	"agent":       func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentACLToken(t, nil) },
	"recovery":    func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentRecoveryACLToken(t, nil) },
	"replication": func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateReplicationACLToken(t, nil) },
	"config_file_service_registration": func(a *api.Agent, t string) (*api.WriteMeta, error) {
		return a.UpdateConfigFileRegistrationToken(t, nil)
	},
	"dns": func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateDNSToken(t, nil) },
}

func runACLSetAgentToken(args []string, cio IO) int {
	var h httpFlags
	fs := httpOnlyFlags("acl set-agent-token", &h)
	if ok, code := parseFlags(fs, args, aclSetAgentTokenHelp, cio); !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	rest := fs.Args()
	switch len(rest) {
	case 0:
		return fail("Error! Missing TYPE and TOKEN arguments")
	case 1:
		if _, known := agentTokenSetters[rest[0]]; known {
			return fail("Error! Missing TOKEN argument")
		}
		return fail("Error! MISSING TYPE argument")
	case 2:
	default:
		return fail("Error! Too many arguments: expected 2 got %d", len(rest))
	}
	typ := rest[0]
	set, known := agentTokenSetters[typ]
	if !known {
		return fail("Unknown token type")
	}
	data, err := readDataArg(rest[1], cio.Stdin)
	if err != nil {
		return fail("Error! %s", err)
	}
	client, ok := h.connect(cio)
	if !ok {
		return 1
	}
	if _, err := set(client.Agent(), strings.TrimSpace(string(data))); err != nil {
		return fail("Failed to set ACL token %q: %v", typ, err)
	}
	fmt.Fprintf(cio.Stdout, "ACL token %q set successfully\n", typ)
	return 0
}
