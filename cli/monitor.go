package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// monitorCmd is `monitor`: it follows the agent's log.
type monitorCmd struct {
	hf      httpFlags
	level   string
	logJSON bool
}

func (c *monitorCmd) flags() *flag.FlagSet {
	fs := newFlagSet("monitor")
	c.hf.addTo(fs)
	fs.StringVar(&c.level, "log-level", "INFO", "Log level to follow: trace, debug, info, warn or err. It may be lower than the agent's own.")
	fs.BoolVar(&c.logJSON, "log-json", false, "Output logs in JSON format.")
	return fs
}

var monitorHelp = commandHelp("monitor [options]", `
Attaches to the agent and prints its log messages as they are written,
until interrupted. The level may be lower than the one the agent logs at:
an agent logging at INFO still shows a monitor its DEBUG messages.`, new(monitorCmd).flags())

func init() {
	Register(Command{
		Name:     "monitor",
		Synopsis: "Stream logs from an agent",
		Help:     monitorHelp,
		Run: func(args []string, cio IO) int {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return new(monitorCmd).run(ctx, args, cio)
		},
	})
}

// run follows the log until ctx ends (0) or the agent ends the stream (1).
func (c *monitorCmd) run(ctx context.Context, args []string, cio IO) int {
	fs := c.flags()
	if ok, code := parseFlags(fs, args, monitorHelp, cio); !ok {
		return code
	}
	client, ok := c.hf.connect(cio)
	if !ok {
		return 1
	}
	stop := make(chan struct{})
	defer close(stop)
	follow := client.Agent().Monitor
	if c.logJSON {
		follow = client.Agent().MonitorJSON
	}
	lines, err := follow(c.level, stop, c.hf.queryOptions())
	if err != nil {
		fmt.Fprintf(cio.Stderr, "Error starting monitor: %s\n", err)
		return 1
	}
	for {
		select {
		case <-ctx.Done():
			return 0
		case line := <-lines:
			if line == "" { // the client's word for the end of the stream
				fmt.Fprintln(cio.Stdout)
				fmt.Fprintln(cio.Stdout, "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.")
				return 1
			}
			fmt.Fprintln(cio.Stdout, line)
		}
	}
}
