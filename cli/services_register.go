package cli

import (
	"flag"
	"fmt"
	"sort"

	"github.com/hashicorp/consul/api"
)

type servicesRegisterCmd struct {
	http          httpFlags
	id            string
	name          string
	address       string
	port          int
	kind          string
	tags          repeatedFlag
	meta          pairListFlag
	taggedAddress pairListFlag
}

func (c *servicesRegisterCmd) flags() *flag.FlagSet {
	fs := newFlagSet("services register")
	c.http.addTo(fs)
	fs.StringVar(&c.address, "address", "",
		"The service's `address`; empty means the node's address.")
	fs.StringVar(&c.id, "id", "",
		"The service's `ID`, unique on the agent; defaults to -name.")
	fs.StringVar(&c.kind, "kind", "",
		"The service's `kind`; empty for an ordinary service.")
	fs.Var(&c.meta, "meta",
		"A metadata `key=value` pair to set on the service. Repeat the flag for several.")
	fs.StringVar(&c.name, "name", "",
		"The service's `name`. Required unless definitions are read from files.")
	fs.IntVar(&c.port, "port", 0, "The service's `port`.")
	fs.Var(&c.tags, "tag",
		"A `tag` to give the service. Repeat the flag for several.")
	fs.Var(&c.taggedAddress, "tagged-address",
		"An extra address of the service under a tag, as `tag=address:port` (for "+
			"example lan_ipv4=10.0.0.5:8080). Repeat the flag for several.")
	return fs
}

var servicesRegisterHelp = commandHelp("services register [options] [FILE...]", `
Registers services with the local agent, which then keeps them in the
catalog and runs their health checks until they are deregistered. A single
service can be described with flags:

    $ {{prog}} services register -name=web -port=8080 -tag=v1

or any number of them read from service definition files, in JSON or HCL,
holding a "service" block or a "services" list as the agent's configuration
files do:

    $ {{prog}} services register web.json db.hcl

Services registered this way stay until "{{prog}} services deregister"
removes them; giving them a check with deregister_critical_service_after
lets the agent clean up after a client that never does.`,
	new(servicesRegisterCmd).flags())

func init() {
	Register(Command{
		Name:     "services register",
		Synopsis: "Register services with the local agent",
		Help:     servicesRegisterHelp,
		Run:      func(args []string, cio IO) int { return new(servicesRegisterCmd).run(args, cio) },
	})
}

func (c *servicesRegisterCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, servicesRegisterHelp, cio); !ok {
		return code
	}
	files := fs.Args()
	switch {
	case len(files) == 0 && c.name == "":
		fmt.Fprintln(cio.Stderr, "Service registration requires at least one argument or flags.")
		return 1
	case len(files) > 0 && c.name != "":
		fmt.Fprintln(cio.Stderr, "Service registration requires arguments or -id, not both.")
		return 1
	}

	var svcs []*api.AgentServiceRegistration
	if len(files) > 0 {
		var err error
		if svcs, err = servicesFromFiles(files, cio); err != nil {
			fmt.Fprintf(cio.Stderr, "Error: %s\n", err)
			return 1
		}
	} else {
		svc := &api.AgentServiceRegistration{
			Kind:    api.ServiceKind(c.kind),
			ID:      c.id,
			Name:    c.name,
			Address: c.address,
			Port:    c.port,
			Tags:    c.tags,
			Meta:    c.meta,
		}
		if len(c.taggedAddress) > 0 {
			svc.TaggedAddresses = map[string]api.ServiceAddress{}
			tags := make([]string, 0, len(c.taggedAddress))
			for tag := range c.taggedAddress {
				tags = append(tags, tag)
			}
			sort.Strings(tags) // report the same bad address every time
			for _, tag := range tags {
				addr, err := api.ParseServiceAddr(c.taggedAddress[tag])
				if err != nil {
					fmt.Fprintf(cio.Stderr, "Invalid Tagged Address: %v\n", err)
					return 1
				}
				svc.TaggedAddresses[tag] = addr
			}
		}
		svcs = []*api.AgentServiceRegistration{svc}
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	for _, svc := range svcs {
		if err := client.Agent().ServiceRegister(svc); err != nil {
			fmt.Fprintf(cio.Stderr, "Error registering service %q: %s\n", svc.Name, err)
			return 1
		}
		fmt.Fprintf(cio.Stdout, "Registered service: %s\n", svc.Name)
	}
	return 0
}
