package cli

import (
	"flag"
	"fmt"
)

type reloadCmd struct {
	http httpFlags
}

func (c *reloadCmd) flags() *flag.FlagSet {
	fs := newFlagSet("reload")
	c.http.addTo(fs)
	return fs
}

var reloadHelp = commandHelp("reload [options]", `
Asks the agent to read its configuration files again, as sending it SIGHUP
does. Services and checks defined in the files are added, updated or
removed to match them; those registered through the API are kept.

    $ {{prog}} reload

The command returns once the agent has accepted the request. Settings that
cannot change while the agent runs keep their old values until a restart.`,
	new(reloadCmd).flags())

func init() {
	Register(Command{
		Name:     "reload",
		Synopsis: "Make the agent reload its configuration files",
		Help:     reloadHelp,
		Run:      func(args []string, cio IO) int { return new(reloadCmd).run(args, cio) },
	})
}

func (c *reloadCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, reloadHelp, cio); !ok {
		return code
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	if err := client.Agent().Reload(); err != nil {
		fmt.Fprintf(cio.Stderr, "Error reloading: %s\n", err)
		return 1
	}
	fmt.Fprintln(cio.Stdout, "Configuration reload triggered")
	return 0
}
