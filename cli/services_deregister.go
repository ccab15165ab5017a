package cli

import (
	"flag"
	"fmt"

	"github.com/hashicorp/consul/api"
)

type servicesDeregisterCmd struct {
	http httpFlags
	id   string
}

func (c *servicesDeregisterCmd) flags() *flag.FlagSet {
	fs := newFlagSet("services deregister")
	c.http.addTo(fs)
	fs.StringVar(&c.id, "id", "",
		"The `ID` of the service to deregister. Not allowed together with FILE arguments.")
	return fs
}

var servicesDeregisterHelp = commandHelp("services deregister [options] [FILE...]", `
Removes services from the local agent, and so from the catalog. Name them
by ID:

    $ {{prog}} services deregister -id=web

or give the definition files they were registered from; each service is
identified by its ID, or by its name when it has no ID:

    $ {{prog}} services deregister web.json db.hcl

Only the agent a service was registered with can deregister it.`,
	new(servicesDeregisterCmd).flags())

func init() {
	Register(Command{
		Name:     "services deregister",
		Synopsis: "Deregister services from the local agent",
		Help:     servicesDeregisterHelp,
		Run:      func(args []string, cio IO) int { return new(servicesDeregisterCmd).run(args, cio) },
	})
}

func (c *servicesDeregisterCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, servicesDeregisterHelp, cio); !ok {
		return code
	}
	files := fs.Args()
	switch {
	case len(files) == 0 && c.id == "":
		fmt.Fprintln(cio.Stderr, "Service deregistration requires at least one argument or -id.")
		return 1
	case len(files) > 0 && c.id != "":
		fmt.Fprintln(cio.Stderr, "Service deregistration requires arguments or -id, not both.")
		return 1
	}

	svcs := []*api.AgentServiceRegistration{{ID: c.id}}
	if len(files) > 0 {
		var err error
		if svcs, err = servicesFromFiles(files, cio); err != nil {
			fmt.Fprintf(cio.Stderr, "Error: %s\n", err)
			return 1
		}
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	for _, svc := range svcs {
		id := svc.ID
		if id == "" {
			id = svc.Name
		}
		if id == "" {
			continue
		}
		if err := client.Agent().ServiceDeregister(id); err != nil {
			// Consul quotes the service's name here, which is empty with
			// -id; the ID is what identifies the service then.
			label := svc.Name
			if label == "" {
				label = id
			}
			fmt.Fprintf(cio.Stderr, "Error deregistering service %q: %s\n", label, err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "Deregistered service: %s\n", id)
	}
	return 0
}
