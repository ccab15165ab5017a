package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/watch"
)

// defaultNATSURL is where the embedded NATS server of a local agent listens
// by default (NATS's own default port).
const defaultNATSURL = "nats://127.0.0.1:4222"

// eventsGapExit is the exit code for a gap in the stream, so that scripts
// can tell it from other failures and start again from the next index.
const eventsGapExit = 2

type eventsCmd struct {
	fromIndex  uint64
	shard      string
	subject    string
	natsURL    string
	datacenter string
	// http finds the agent to ask for its event stream's URL; only its
	// -http-addr is a flag here (-datacenter means the stream's).
	http httpFlags
}

func (c *eventsCmd) flags() *flag.FlagSet {
	fs := newFlagSet("events")
	fs.Uint64Var(&c.fromIndex, "from-index", 0,
		"Start with the first event whose index is this `index` or later (the Raft index, as in "+
			"X-Consul-Index), then follow new ones. 0 starts with the oldest event the stream still "+
			"holds. Without this flag only events published from now on are printed.")
	fs.StringVar(&c.shard, "shard", event.ShardKV,
		"The `shard` whose events to follow: kv (keys, sessions, locks), catalog (nodes, services, checks) or system (ACL tokens, policies, roles).")
	fs.StringVar(&c.subject, "subject", "",
		"Print only events whose NATS subject matches this `pattern` (herald.<dc>.<shard>.<tokens>, "+
			"with * for one token and > for the rest), such as herald.dc1.kv.app.> for the keys under app/. "+
			"Its datacenter and shard, when not wildcards, stand for -datacenter and -shard.")
	fs.StringVar(&c.natsURL, "nats-url", "",
		"`URL` of the NATS server the agents publish to. Defaults to $HERALD_NATS_URL, then "+
			"the event stream of the agent at -http-addr (its NATS port is not always the default), then "+
			defaultNATSURL+".")
	fs.StringVar(&c.http.addr, "http-addr", "",
		"The `address` of the agent to ask where its event stream is, when neither -nats-url nor "+
			"$HERALD_NATS_URL is set. Defaults to $HERALD_HTTP_ADDR, then $CONSUL_HTTP_ADDR, then "+
			defaultHTTPAddr+".")
	fs.StringVar(&c.datacenter, "datacenter", "",
		"The `datacenter` whose events to follow. Defaults to the agent's at -http-addr (then dc1). Without "+
			"-nats-url and $HERALD_NATS_URL, another datacenter's events come through that agent and the NATS "+
			"gateways between the datacenters.")
	c.natsTokenFlags(fs)
	return fs
}

var eventsHelp = commandHelp("events [options]", `
Follows Herald's event stream: every change committed in a shard, printed as
one JSON object per line, in index order, as it is published on NATS (see
docs/events.md for the format). It reads the shard's JetStream stream, so it
can start from a past index:

    $ {{prog}} events                                  # from now on
    $ {{prog}} events -from-index=1200                 # from index 1200 on
    $ {{prog}} events -subject='herald.dc1.catalog.service.web.>'
    $ {{prog}} events -datacenter=dc2 -from-index=50  # another datacenter's, through the agent

It runs until interrupted. If events it needs are no longer in the stream
(they expired or were deleted), it says so and exits with 2; the message
names the next index available, to start again from.`, new(eventsCmd).flags())

func init() {
	Register(Command{
		Name:     "events",
		Synopsis: "Follow the stream of committed changes",
		Help:     eventsHelp,
		Run: func(args []string, cio IO) int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return new(eventsCmd).run(ctx, args, cio)
		},
	})
}

// agentEventStreamTimeout bounds the question to the agent, which is only
// a better guess than the default URL.
const agentEventStreamTimeout = 5 * time.Second

// agentEventStream asks the agent where its event stream is
// (/v1/agent/self's Config.EventStreamURL; an agent whose default NATS
// port was taken listens on another) and its datacenter. It returns ""
// for what the agent cannot be asked or does not say.
func (c *eventsCmd) agentEventStream(cio IO) (url, dc string) {
	cfg, err := c.http.apiConfig(cio.Env)
	if err != nil {
		return "", ""
	}
	cfg.HttpClient.Timeout = agentEventStreamTimeout
	client, err := api.NewClient(cfg)
	if err != nil {
		return "", ""
	}
	self, err := client.Agent().Self()
	if err != nil {
		return "", ""
	}
	url, _ = self["Config"]["EventStreamURL"].(string)
	dc, _ = self["Config"]["Datacenter"].(string)
	return url, dc
}

func (c *eventsCmd) run(ctx context.Context, args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, eventsHelp, cio); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(cio.Stderr, "Error! Unexpected argument %q\n", fs.Arg(0))
		return 1
	}
	var pattern []string
	if c.subject != "" {
		var err error
		if pattern, err = c.applySubject(fs); err != nil {
			fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
			return 1
		}
	}
	if c.shard != event.ShardKV && c.shard != event.ShardCatalog && c.shard != event.ShardSystem {
		fmt.Fprintf(cio.Stderr, "Error! -shard must be %s, %s or %s, not %q\n", event.ShardKV, event.ShardCatalog, event.ShardSystem, c.shard)
		return 1
	}
	url := pick(c.natsURL, cio.Env, "HERALD_NATS_URL")
	if url == "" {
		// The agent says where its stream is; another datacenter's
		// comes through it.
		agentURL, agentDC := c.agentEventStream(cio)
		if c.datacenter == "" {
			c.datacenter = agentDC
		}
		if agentDC != "" && !strings.EqualFold(c.datacenter, agentDC) {
			c.datacenter = strings.ToLower(c.datacenter)
			return c.followRemote(ctx, fs, pattern, cio)
		}
		url = agentURL
	}
	if c.datacenter == "" {
		c.datacenter = "dc1"
	}
	if url == "" {
		url = defaultNATSURL
	}
	tlsOpts, err := c.http.natsTLS(url, cio.Env)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! TLS: %s\n", err)
		return 1
	}
	auth, err := c.natsAuth(cio.Env)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
		return 1
	}
	opts := append(append([]nats.Option{nats.Name("herald events"), nats.Timeout(5 * time.Second)}, tlsOpts...), auth...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error connecting to NATS at %s: %s%s\n", url, err, natsAuthHint(err))
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! JetStream: %s\n", err)
		return 1
	}

	from := c.fromIndex
	if !flagWasSet(fs, "from-index") {
		if from, err = c.nextIndex(ctx, js); err != nil {
			fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
			return 1
		}
	}
	show := c.printer(pattern, cio)
	stop, errs, err := watch.Subscribe(ctx, js, c.datacenter, c.shard, from, show)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
		return 1
	}
	defer stop()
	fmt.Fprintf(cio.Stderr, "Following %s from index %d\n", watch.StreamName(c.datacenter, c.shard), from)

	select {
	case <-ctx.Done():
		return 0
	case err, ok := <-errs:
		var gap *watch.GapError
		switch {
		case !ok || err == nil:
			return 0
		case errors.As(err, &gap):
			return printGap(cio, gap)
		default:
			fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
			return 1
		}
	}
}

// printer prints the events that match pattern (nil: all), one JSON
// object a line.
func (c *eventsCmd) printer(pattern []string, cio IO) func(event.Event) error {
	return func(ev event.Event) error {
		if pattern != nil && !subjectMatches(pattern, strings.Split(watch.Subject(c.datacenter, ev), ".")) {
			return nil
		}
		line, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = cio.Stdout.Write(append(line, '\n'))
		return err
	}
}

// printGap says where a gap is and how to carry on after it.
func printGap(cio IO, gap *watch.GapError) int {
	fmt.Fprintf(cio.Stderr, "Error! Gap in the %s event stream: events after index %d are no longer "+
		"available (%s). The next index it holds is %d: run again with -from-index=%d to carry on from there.\n",
		gap.Shard, gap.After, gap.Detail, gap.Next, gap.Next)
	return eventsGapExit
}

// nextIndex is the index after the newest event in the shard's stream, so
// that following from it prints only what is published from now on.
func (c *eventsCmd) nextIndex(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	idx, err := watch.LastIndex(ctx, js, c.datacenter, c.shard)
	if err != nil {
		return 0, err
	}
	return idx + 1, nil
}

// applySubject checks the -subject pattern and takes its datacenter and
// shard tokens as -datacenter and -shard when they are literal and those
// flags were not given (or agree).
func (c *eventsCmd) applySubject(fs *flag.FlagSet) ([]string, error) {
	tokens := strings.Split(c.subject, ".")
	for i, tok := range tokens {
		switch {
		case tok == "":
			return nil, fmt.Errorf("-subject %q has an empty token", c.subject)
		case tok == ">" && i != len(tokens)-1:
			return nil, fmt.Errorf("-subject %q: > may only be the last token", c.subject)
		case tok != ">" && tok != "*" && strings.ContainsAny(tok, "*> \t"):
			return nil, fmt.Errorf("-subject %q: a wildcard must be a whole token", c.subject)
		}
	}
	if tokens[0] != watch.SubjectRoot && tokens[0] != "*" && tokens[0] != ">" {
		return nil, fmt.Errorf("-subject %q does not start with %s.", c.subject, watch.SubjectRoot)
	}
	adopt := func(i int, flagName string, value *string) error {
		if len(tokens) <= i || tokens[i] == "*" || tokens[i] == ">" {
			return nil
		}
		if flagWasSet(fs, flagName) && *value != tokens[i] {
			return fmt.Errorf("-subject %q is not in -%s %s", c.subject, flagName, *value)
		}
		*value = tokens[i]
		return nil
	}
	if err := adopt(1, "datacenter", &c.datacenter); err != nil {
		return nil, err
	}
	if err := adopt(2, "shard", &c.shard); err != nil {
		return nil, err
	}
	return tokens, nil
}

// subjectMatches applies NATS wildcard matching: * is any one token, a
// final > any one or more.
func subjectMatches(pattern, subject []string) bool {
	for i, p := range pattern {
		switch {
		case p == ">":
			return len(subject) > i
		case i >= len(subject):
			return false
		case p != "*" && p != subject[i]:
			return false
		}
	}
	return len(pattern) == len(subject)
}
