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
	socket        string
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
	fs.StringVar(&c.socket, "socket", "",
		"The `path` of the Unix domain socket the service listens on, instead of an "+
			"address and port.")
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

Flags given with files fill in what the files leave out: -id, -address,
-port, -kind and -socket where a definition has none, -tag adds to its
tags, -meta and -tagged-address set their keys over its own. -name cannot
be combined with files.

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
	// Consul checks the tagged addresses before anything else.
	fromFlags, err := c.registration()
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Invalid Tagged Address: %v\n", err)
		return 1
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

	svcs := []*api.AgentServiceRegistration{fromFlags}
	if len(files) > 0 {
		if svcs, err = servicesFromFiles(files, cio); err != nil {
			fmt.Fprintf(cio.Stderr, "Error: %s\n", err)
			return 1
		}
		for _, svc := range svcs {
			fillFromFlags(svc, fromFlags)
		}
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

// registration is the service the flags describe. Its error is a bad
// -tagged-address.
func (c *servicesRegisterCmd) registration() (*api.AgentServiceRegistration, error) {
	svc := &api.AgentServiceRegistration{
		Kind:       api.ServiceKind(c.kind),
		ID:         c.id,
		Name:       c.name,
		Address:    c.address,
		Port:       c.port,
		SocketPath: c.socket,
		Tags:       c.tags,
		Meta:       c.meta,
	}
	if len(c.taggedAddress) == 0 {
		return svc, nil
	}
	svc.TaggedAddresses = map[string]api.ServiceAddress{}
	tags := make([]string, 0, len(c.taggedAddress))
	for tag := range c.taggedAddress {
		tags = append(tags, tag)
	}
	sort.Strings(tags) // report the same bad address every time
	for _, tag := range tags {
		addr, err := api.ParseServiceAddr(c.taggedAddress[tag])
		if err != nil {
			return nil, err
		}
		svc.TaggedAddresses[tag] = addr
	}
	return svc, nil
}

// fillFromFlags completes a service read from a file with the flags given
// alongside the files, as Consul does: a flag's ID, address, port, kind or
// socket fills the field only where the file left it empty, its tags are
// added after the file's, and its meta and tagged addresses override the
// file's entries under the same key.
func fillFromFlags(file, flags *api.AgentServiceRegistration) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&file.ID, flags.ID)
	fill(&file.Address, flags.Address)
	fill(&file.SocketPath, flags.SocketPath)
	if file.Kind == "" {
		file.Kind = flags.Kind
	}
	if file.Port == 0 {
		file.Port = flags.Port
	}
	file.Tags = append(file.Tags, flags.Tags...)
	for k, v := range flags.Meta {
		if file.Meta == nil {
			file.Meta = map[string]string{}
		}
		file.Meta[k] = v
	}
	for k, v := range flags.TaggedAddresses {
		if file.TaggedAddresses == nil {
			file.TaggedAddresses = map[string]api.ServiceAddress{}
		}
		file.TaggedAddresses[k] = v
	}
}
