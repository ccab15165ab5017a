package cli

import (
	"flag"
	"fmt"
	"regexp"

	"github.com/hashicorp/consul/api"
)

type eventCmd struct {
	http    httpFlags
	name    string
	node    string
	service string
	tag     string
}

func (c *eventCmd) flags() *flag.FlagSet {
	fs := newFlagSet("event")
	c.http.addTo(fs)
	fs.StringVar(&c.name, "name", "", "The `name` of the event (required).")
	fs.StringVar(&c.node, "node", "",
		"Only agents whose node name matches this `regexp` keep the event.")
	fs.StringVar(&c.service, "service", "",
		"Only agents with a service whose name or ID matches this `regexp` keep the event.")
	fs.StringVar(&c.tag, "tag", "",
		"With -service, only agents where a matching service has a tag matching "+
			"this `regexp` keep the event.")
	return fs
}

var eventHelp = commandHelp("event [options] [payload]", `
Fires a user event to every agent of the datacenter. Agents keep the last
256 events that pass the event's filters; list them with /v1/event/list or
act on them with "{{prog}} watch -type=event". Herald carries the events over
NATS, on herald.<dc>.event.<name>.

    $ {{prog}} event -name=deploy v1.4.2
    $ {{prog}} event -name=restart -service=web -tag=canary

Delivery is best effort, without a total order, and events are small: the
name, payload and filters together must stay under 384 bytes.`,
	new(eventCmd).flags())

func init() {
	Register(Command{
		Name:     "event",
		Synopsis: "Fire a new event",
		Help:     eventHelp,
		Run:      func(args []string, cio IO) int { return new(eventCmd).run(args, cio) },
	})
}

func (c *eventCmd) run(args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, eventHelp, cio); !ok {
		return code
	}
	fail := failer(cio.Stderr, "")
	if c.name == "" {
		return fail("An event name must be given with -name")
	}
	for _, f := range []struct{ what, re string }{{"node", c.node}, {"service", c.service}, {"tag", c.tag}} {
		if _, err := regexp.Compile(f.re); err != nil {
			return fail("The %s filter is not a valid regexp: %s", f.what, err)
		}
	}
	if c.tag != "" && c.service == "" {
		return fail("A tag filter (-tag) needs a service filter (-service)")
	}
	var payload []byte
	switch rest := fs.Args(); len(rest) {
	case 0:
	case 1:
		payload = []byte(rest[0])
	default:
		return fail("Too many arguments (expected at most a payload, got %d)\n\n%s", len(rest), renderHelp(eventHelp, Prog(cio)))
	}

	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	// As Consul does, make sure an agent answers before firing, so that an
	// unreachable agent is reported as such.
	if _, err := client.Agent().NodeName(); err != nil {
		return fail("Error querying the agent: %s", err)
	}
	id, _, err := client.Event().Fire(&api.UserEvent{Name: c.name, Payload: payload,
		NodeFilter: c.node, ServiceFilter: c.service, TagFilter: c.tag}, nil)
	if err != nil {
		return fail("Error firing event: %s", err)
	}
	fmt.Fprintf(cio.Stdout, "Event ID: %s\n", id)
	return 0
}
