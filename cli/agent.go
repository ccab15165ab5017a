package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/version"
)

func init() {
	Register(Command{
		Name:     "agent",
		Synopsis: "Runs a Herald agent",
		Help: `Usage: {{prog}} agent [options]

  Starts a Herald agent and runs until an interrupt is received. The flags
  and configuration files are Consul's (-dev, -server, -bootstrap-expect,
  -data-dir, -node, -bind, -client, -config-file, -config-dir, ...); keys
  Herald does not implement are accepted with a warning.

  -dev                 One in-memory server, leader at once, nothing kept.
  -server              Run as a server (Raft voter).
  -bootstrap-expect=N  Servers to wait for before electing a leader.
  -data-dir=DIR        Where state is kept (required unless -dev).
  -node=NAME           Node name (default: the host name).
  -bind=ADDR           Address for cluster traffic.
  -client=ADDR         Address for the HTTP, DNS and NATS listeners.
  -http-port=N, -dns-port=N, -server-port=N, -nats-port=N
  -config-file=FILE, -config-dir=DIR (repeatable), -log-level=LEVEL
  -nats-url=URL        Publish events to an existing NATS instead of the
                       embedded server.`,
		Run: runAgent,
	})
}

func runAgent(args []string, cio IO) int {
	cfg, err := config.Load(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(cio.Stdout, "Usage: %s agent [options]\n\n%s\n", Prog(cio), config.Usage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(cio.Stderr, "==> %v\n", err)
		return 1
	}
	logger := newLogger(cfg, cio)
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	fmt.Fprintln(cio.Stdout, "==> Starting Herald agent...")
	a := agent.New(cfg, logger)
	a.SetReload(func() (*config.Config, error) { return config.Load(args) })
	if err := a.Start(); err != nil {
		fmt.Fprintf(cio.Stderr, "==> Error starting agent: %v\n", err)
		return 1
	}
	if cfg.PidFile != "" {
		if err := os.WriteFile(cfg.PidFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			logger.Error("cannot write pid file", "path", cfg.PidFile, "error", err)
		}
		defer os.Remove(cfg.PidFile)
	}
	printBanner(cio, cfg, a)

	// Signals before waiting for a leader, so Ctrl+C works at once.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	leader := make(chan error, 1)
	go func() { leader <- a.WaitLeader(context.Background()) }()

	for {
		select {
		case <-a.Done():
			fmt.Fprintln(cio.Stdout, "==> Left the cluster gracefully; shutting down")
			return shutdown(a, signals, cio, false)
		case <-a.RestartRequested():
			fmt.Fprintln(cio.Stdout, "==> Removed from the cluster: restarting to join it again as a new voter")
			if code := shutdown(a, signals, cio, false); code != 0 {
				return code
			}
			return restartProcess(cio)
		case err := <-leader:
			if err != nil {
				logger.Warn("no cluster leader yet", "error", err)
				go func() { leader <- a.WaitLeader(context.Background()) }()
				continue
			}
			logger.Info("cluster leadership acquired")
		case sig := <-signals:
			fmt.Fprintf(cio.Stdout, "==> Caught signal: %v\n", sig)
			if sig == syscall.SIGHUP {
				if err := a.Reload(); err != nil {
					logger.Error("reload failed", "error", err)
				} else {
					logger.Info("reloaded services and checks from the configuration")
				}
				continue
			}
			if leaveOnSignal(cfg, sig) {
				fmt.Fprintln(cio.Stdout, "==> Gracefully shutting down agent: leaving the cluster first...")
				return shutdown(a, signals, cio, true)
			}
			fmt.Fprintln(cio.Stdout, "==> Shutting down agent without leaving the cluster...")
			return shutdown(a, signals, cio, false)
		}
	}
}

// leaveOnSignal tells whether a signal makes the agent leave the cluster
// gracefully before it stops, as Consul decides it: SIGINT unless
// skip_leave_on_interrupt, SIGTERM if leave_on_terminate (by default a
// server stays, a client leaves).
func leaveOnSignal(cfg *config.Config, sig os.Signal) bool {
	switch sig {
	case os.Interrupt:
		return !cfg.SkipLeaveOnInterrupt
	case syscall.SIGTERM:
		return cfg.LeaveOnTerminate
	}
	return false
}

// restartProcess replaces this process with a new run of the same command
// line, so that the agent starts over under the same PID (a supervisor
// sees no exit).
func restartProcess(cio IO) int {
	exe, err := os.Executable()
	if err == nil {
		err = syscall.Exec(exe, os.Args, os.Environ())
	}
	fmt.Fprintf(cio.Stderr, "==> Cannot restart: %v\n", err)
	return 1
}

// shutdown stops the agent, first leaving the cluster gracefully if leave
// is set; a second interrupt, or a shutdown that takes too long, exits
// without waiting. Signals that arrive within a second of the first are the
// same request delivered twice (to the process and its group) and are
// ignored.
func shutdown(a *agent.Agent, signals <-chan os.Signal, cio IO, leave bool) int {
	done := make(chan struct{})
	go func() {
		if leave {
			if err := a.Leave(); err != nil {
				fmt.Fprintf(cio.Stderr, "==> Error leaving the cluster: %v\n", err)
			}
		}
		a.Shutdown()
		close(done)
	}()
	patience := time.After(time.Second)
	for {
		select {
		case <-done:
			return 0
		case <-signals:
			select {
			case <-patience:
				fmt.Fprintln(cio.Stdout, "==> Second signal: exiting at once")
				return 1
			default:
			}
		case <-time.After(15 * time.Second):
			fmt.Fprintln(cio.Stdout, "==> Shutdown timed out")
			return 1
		}
	}
}

func newLogger(cfg *config.Config, cio IO) *slog.Logger {
	level, _ := config.ParseLogLevel(cfg.LogLevel) // Validate has checked it
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(cio.Stdout, opts))
	}
	return slog.New(slog.NewTextHandler(cio.Stdout, opts))
}

// printBanner tells the operator what runs where, in the layout of Consul's
// start-up banner, which people and scripts look for.
func printBanner(cio IO, cfg *config.Config, a *agent.Agent) {
	w := cio.Stdout
	fmt.Fprintln(w, "==> Herald agent running!")
	fmt.Fprintf(w, "           Version: '%s' (Consul API %s)\n", version.Get().Human(), version.ConsulCompat)
	fmt.Fprintf(w, "         Node name: '%s'\n", cfg.NodeName)
	fmt.Fprintf(w, "        Datacenter: '%s'\n", cfg.Datacenter)
	fmt.Fprintf(w, "            Server: %v (Bootstrap: %v)\n", cfg.Server || cfg.Dev, cfg.Bootstrap || cfg.BootstrapExpect == 1 || cfg.Dev)
	fmt.Fprintf(w, "       Client Addr: [%s] (HTTP: %s, DNS: %s)\n", cfg.ClientAddr, a.HTTPAddr(), a.DNSAddr())
	fmt.Fprintf(w, "      Cluster Addr: %s (Raft: %d)\n", cfg.AdvertiseAddr, cfg.Ports.Server)
	stream := a.NATSURL() // the port bound, which a taken default changes
	switch {
	case stream == "" && !cfg.Server && !cfg.Dev:
		stream = "the servers' NATS, found through gossip"
	case stream == "":
		stream = "off"
	}
	fmt.Fprintf(w, "      Event stream: %s (subjects herald.%s.>)\n", stream, cfg.Datacenter)
	fmt.Fprintf(w, "          Data dir: %s\n", a.DataDir())
	fmt.Fprintln(w)
	fmt.Fprintln(w, "==> Log data will now stream in as it occurs:")
	fmt.Fprintln(w)
}
