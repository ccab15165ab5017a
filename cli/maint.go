package cli

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/heraldhq/herald/health"
)

type maintCmd struct {
	http      httpFlags
	enable    bool
	disable   bool
	reason    string
	serviceID string
}

func (c *maintCmd) flags() *flag.FlagSet {
	fs := newFlagSet("maint")
	c.http.addTo(fs)
	fs.BoolVar(&c.disable, "disable", false,
		"Take the node, or with -service the service, out of maintenance mode.")
	fs.BoolVar(&c.enable, "enable", false,
		"Put the node, or with -service the service, into maintenance mode.")
	fs.StringVar(&c.reason, "reason", "",
		"With -enable, the `text` shown as the Notes of the maintenance check.")
	fs.StringVar(&c.serviceID, "service", "",
		"Act on the service with this `ID` instead of the whole node.")
	return fs
}

var maintHelp = commandHelp("maint [options]", `
Puts the agent's node, or one of its services, into maintenance mode or
takes it out again. While in maintenance a node or service is left out of
DNS answers and of healthy-only API results: the agent registers a critical
health check for it, whose notes carry the reason given.

    $ {{prog}} maint -enable -reason="kernel upgrade"
    $ {{prog}} maint -enable -service=web-1
    $ {{prog}} maint -disable -service=web-1

Node and service maintenance are independent of each other, and both
survive an agent restart until disabled. Without -enable or -disable the
command lists what is in maintenance now, printing nothing if nothing is.`,
	new(maintCmd).flags())

func init() {
	Register(Command{
		Name:     "maint",
		Synopsis: "Control node or service maintenance mode",
		Help:     maintHelp,
		Run:      func(args []string, cio IO) int { return new(maintCmd).run(args, cio) },
	})
}

func (c *maintCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, maintHelp, cio); !ok {
		return code
	}
	switch {
	case c.enable && c.disable:
		fmt.Fprintln(cio.Stderr, "Only one of -enable or -disable may be provided")
		return 1
	case !c.enable && c.reason != "":
		fmt.Fprintln(cio.Stderr, "Reason may only be provided with -enable")
		return 1
	case !c.enable && !c.disable && c.serviceID != "":
		fmt.Fprintln(cio.Stderr, "Service requires either -enable or -disable")
		return 1
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	agent := client.Agent()
	nodeName, err := agent.NodeName()
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error querying Consul agent: %s\n", err)
		return 1
	}

	switch {
	case c.enable && c.serviceID == "":
		if err := agent.EnableNodeMaintenance(c.reason); err != nil {
			fmt.Fprintf(cio.Stderr, "Error enabling node maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintln(cio.Stdout, "Node maintenance is now enabled")
	case c.enable:
		if err := agent.EnableServiceMaintenance(c.serviceID, c.reason); err != nil {
			fmt.Fprintf(cio.Stderr, "Error enabling service maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "Service maintenance is now enabled for %q\n", c.serviceID)
	case c.disable && c.serviceID == "":
		if err := agent.DisableNodeMaintenance(); err != nil {
			fmt.Fprintf(cio.Stderr, "Error disabling node maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintln(cio.Stdout, "Node maintenance is now disabled")
	case c.disable:
		if err := agent.DisableServiceMaintenance(c.serviceID); err != nil {
			fmt.Fprintf(cio.Stderr, "Error disabling service maintenance: %s\n", err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "Service maintenance is now disabled for %q\n", c.serviceID)
	default:
		checks, err := agent.Checks()
		if err != nil {
			fmt.Fprintf(cio.Stderr, "Error getting checks: %s\n", err)
			return 1
		}
		// Consul walks the checks in map order; here the node comes first
		// and services follow by ID, so the listing is stable.
		var b strings.Builder
		if check, ok := checks[health.NodeMaintCheckID]; ok {
			fmt.Fprintf(&b, "Node:\n  Name:   %s\n  Reason: %s\n\n", nodeName, check.Notes)
		}
		var services []string
		for id, check := range checks {
			if health.IsServiceMaintCheck(id) {
				services = append(services, check.ServiceID+"\x00"+check.Notes)
			}
		}
		sort.Strings(services)
		for _, s := range services {
			id, notes, _ := strings.Cut(s, "\x00")
			fmt.Fprintf(&b, "Service:\n  ID:     %s\n  Reason: %s\n\n", id, notes)
		}
		fmt.Fprint(cio.Stdout, b.String())
	}
	return 0
}
