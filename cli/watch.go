package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/heraldhq/herald/watch/plan"
)

// stringsFlag is a flag that may be given several times.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

type watchCmd struct {
	http        httpFlags
	typ         string
	key         string
	prefix      string
	service     string
	tags        stringsFlag
	passingOnly string
	state       string
	name        string
	filter      string
	shell       bool
}

func (c *watchCmd) flags() *flag.FlagSet {
	fs := newFlagSet("watch")
	c.http.addTo(fs)
	fs.StringVar(&c.typ, "type", "",
		"What to watch, one of key, keyprefix, services, nodes, service, checks or event. Required.")
	fs.StringVar(&c.key, "key", "", "The `key` to watch. Only for the key type, which requires it.")
	fs.StringVar(&c.prefix, "prefix", "",
		"The key `prefix` to watch. Only for the keyprefix type, which requires it.")
	fs.StringVar(&c.service, "service", "",
		"The `service` to watch. Required for the service type; for the checks type, watch "+
			"the checks of this service.")
	fs.Var(&c.tags, "tag", "With the service type, only instances that have this `tag`. "+
		"May be given more than once: instances must have every tag.")
	fs.StringVar(&c.passingOnly, "passingonly", "",
		"With the service type, `true` to see only instances whose checks all pass. Defaults to false.")
	fs.StringVar(&c.state, "state", "",
		"With the checks type, only checks in this `state`: any, passing, warning or critical.")
	fs.StringVar(&c.name, "name", "", "With the event type, only events with this `name`.")
	fs.StringVar(&c.filter, "filter", "",
		"Filter `expression` applied by the agent to the results of the services, nodes, "+
			"service and checks types.")
	fs.BoolVar(&c.shell, "shell", true,
		"Run the handler through the shell ($SHELL, else /bin/sh) with its arguments joined by "+
			"spaces. With -shell=false the first argument is run directly with the others as its arguments.")
	return fs
}

var watchHelp = commandHelp("watch [options] [HANDLER...]", `
Watches a view of the data (a key, the keys under a prefix, the services,
the nodes, the instances of a service, health checks, user events) and runs
HANDLER with the current data, then again every time it changes. The data is
given to the handler as JSON on its standard input, and CONSUL_INDEX holds
the index of the change.

    $ {{prog}} watch -type=key -key=app/config ./reload-config.sh
    $ {{prog}} watch -type=service -service=web -passingonly=true ./update-lb.sh

Without a HANDLER the current data is printed once and the command exits:

    $ {{prog}} watch -type=checks -state=critical

The handler runs again only when the data differs from what it last got.
The command runs until interrupted, and exits with 1 as soon as the handler
fails.`, new(watchCmd).flags())

func init() {
	Register(Command{
		Name:     "watch",
		Synopsis: "Watch for changes in the catalog, health, KV or events",
		Help:     watchHelp,
		Run: func(args []string, cio IO) int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return new(watchCmd).run(ctx, args, cio)
		},
	})
}

// definition is the watch definition the flags describe, in the shape of
// the agent's "watches" configuration, with only the keys given.
func (c *watchCmd) definition() (map[string]any, error) {
	def := map[string]any{"type": c.typ}
	for k, v := range map[string]string{
		"key": c.key, "prefix": c.prefix, "service": c.service, "state": c.state,
		"name": c.name, "filter": c.filter,
	} {
		if v != "" {
			def[k] = v
		}
	}
	if len(c.tags) > 0 {
		def["tag"] = []string(c.tags)
	}
	if c.passingOnly != "" {
		b, err := strconv.ParseBool(c.passingOnly)
		if err != nil {
			return nil, fmt.Errorf("-passingonly must be true or false, not %q", c.passingOnly)
		}
		def["passingonly"] = b
	}
	if c.http.stale {
		def["stale"] = true
	}
	return def, nil
}

func (c *watchCmd) run(ctx context.Context, args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, watchHelp, cio); !ok {
		return code
	}
	if c.typ == "" {
		fmt.Fprintf(cio.Stderr, "Error! -type is required: one of %s\n", strings.Join(plan.Types, ", "))
		return 1
	}
	def, err := c.definition()
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
		return 1
	}
	p, err := plan.Parse(def)
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error! %s\n", err)
		return 1
	}
	client, ok := c.http.connect(cio)
	if !ok {
		return 1
	}
	// Fail now if the agent cannot be reached, rather than retry forever.
	if _, err := client.Agent().Self(); err != nil {
		return queryFailed(cio, err)
	}
	p.Logger = slog.New(slog.NewTextHandler(cio.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	handler := fs.Args()
	if len(handler) == 0 {
		p.Handler = plan.HandlerFunc(func(_ context.Context, u plan.Update) error {
			var out bytes.Buffer
			if err := json.Indent(&out, u.JSON, "", "    "); err != nil {
				return err
			}
			out.WriteByte('\n')
			_, err := cio.Stdout.Write(out.Bytes())
			if err != nil {
				return err
			}
			return plan.ErrStop
		})
	} else {
		script := &plan.ScriptHandler{Shell: shellOf(cio), Stdout: cio.Stdout, Stderr: cio.Stderr}
		if c.shell {
			script.Script = strings.Join(handler, " ")
		} else {
			script.Args = handler
		}
		p.Handler = script
	}
	p.StopOnHandlerError = true
	if err := p.Run(ctx, client); err != nil {
		fmt.Fprintf(cio.Stderr, "Error! Handler failed: %s\n", err)
		return 1
	}
	return 0
}
