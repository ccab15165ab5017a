package checks

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/heraldhq/herald/event"
)

// Update is what a check reports: its status and output at the time.
type Update struct {
	CheckID string
	Status  string
	Output  string
}

// Config configures a Runner. The zero value runs every kind of check but
// scripts and aliases and reports nothing.
type Config struct {
	// Notify receives every status transition at once, and output-only
	// changes at most once per OutputUpdateInterval per check, with the
	// latest output. The initial status of a check added with Add is not
	// reported (the caller registers it with the check). Notify is called
	// from the check's own goroutine, so the updates of one check arrive in
	// order; it must not block long, and must not call Add, Remove or Stop
	// (which wait for that goroutine) other than from another goroutine.
	// Status and UpdateTTL of another check are fine.
	Notify func(Update)
	// OutputUpdateInterval is Consul's check_update_interval: how long an
	// output-only change may wait before it is reported, so that a check
	// whose output carries a timestamp does not write to the cluster on
	// every run. 0 reports every output change at once; the agent's
	// configuration defaults it to DefaultOutputUpdateInterval.
	OutputUpdateInterval time.Duration
	// EnableScriptChecks allows script checks from any source.
	EnableScriptChecks bool
	// EnableLocalScriptChecks allows script checks whose Definition.Local
	// is set, i.e. those from the agent's configuration files.
	EnableLocalScriptChecks bool
	// Alias answers alias checks; Add refuses alias checks without it.
	Alias AliasSource
	// DeregisterCritical is called, from a goroutine of its own, when a
	// service check with DeregisterCriticalServiceAfter has been critical
	// for that long without a break; the caller deregisters the service
	// (and Removes its checks). It is called once per critical spell.
	DeregisterCritical func(serviceID, checkID string)
	// NoStagger runs the first probe of a check as soon as it is added.
	// Otherwise it comes after a random delay of up to a second (never more
	// than the interval), so that checks registered together, say at agent
	// start, do not all probe in step; Consul staggers the same way, over
	// the whole interval, but a second is enough to spread the load and
	// keeps a new service from waiting an interval for its first result.
	NoStagger bool
	// Logger receives the runner's logs; nil discards them.
	Logger *slog.Logger
}

// ErrScriptsDisabled is returned by Add for a script check the
// configuration does not allow. The message is Consul's.
var ErrScriptsDisabled = errors.New("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true")

// ErrStopped is returned by Add after Stop.
var ErrStopped = errors.New("check runner is stopped")

// Runner runs checks, each in a goroutine of its own, until they are
// removed or the runner is stopped. Its methods are safe for concurrent use.
type Runner struct {
	cfg Config
	log *slog.Logger

	// ops serializes Add, Remove and Stop: they wait for check goroutines
	// to end, which mu must not be held for (Notify may call Status).
	ops sync.Mutex

	mu      sync.Mutex // guards checks and stopped
	checks  map[string]*check
	stopped bool
}

// NewRunner returns a Runner with no checks.
func NewRunner(cfg Config) *Runner {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, log: log, checks: make(map[string]*check)}
}

// Add validates d and starts running it. A check with the same CheckID is
// replaced: it is stopped first, and the new check takes over its status,
// output and critical time, so that re-registering a check (or reloading
// the configuration) does not make a healthy service flap to critical.
// Script checks are refused with ErrScriptsDisabled unless the Config
// allows them.
func (r *Runner) Add(d Definition) error {
	if err := d.Validate(); err != nil {
		return err
	}
	kind := d.Kind()
	if (kind == KindScript || kind == KindDocker) && !r.cfg.EnableScriptChecks && !(r.cfg.EnableLocalScriptChecks && d.Local) {
		return ErrScriptsDisabled
	}
	if kind == KindAlias && r.cfg.Alias == nil {
		return errors.New("alias checks are not available: the runner has no AliasSource")
	}
	d = d.normalized()

	r.ops.Lock()
	defer r.ops.Unlock()
	r.mu.Lock()
	stopped, old := r.stopped, r.checks[d.CheckID]
	r.mu.Unlock()
	if stopped {
		return ErrStopped
	}
	c := r.newCheck(d)
	if old != nil {
		old.stop()
		c.inherit(old)
	}
	r.mu.Lock()
	r.checks[d.CheckID] = c
	r.mu.Unlock()
	go c.run()
	return nil
}

// Remove stops the check checkID, if it runs; once Remove returns, the
// check reports nothing more.
func (r *Runner) Remove(checkID string) {
	r.ops.Lock()
	defer r.ops.Unlock()
	r.mu.Lock()
	c := r.checks[checkID]
	delete(r.checks, checkID)
	r.mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// Status returns the current status and output of the check checkID, with
// ok false if it does not run.
func (r *Runner) Status(checkID string) (status, output string, ok bool) {
	r.mu.Lock()
	c := r.checks[checkID]
	r.mu.Unlock()
	if c == nil {
		return "", "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.output, true
}

// Stop stops every check and waits for them; Add fails afterwards.
func (r *Runner) Stop() {
	r.ops.Lock()
	defer r.ops.Unlock()
	r.mu.Lock()
	r.stopped = true
	all := r.checks
	r.checks = make(map[string]*check)
	r.mu.Unlock()
	for _, c := range all {
		c.cancel()
	}
	for _, c := range all {
		<-c.done
	}
}

// firstDelay is how long a new probing check waits before its first run.
func (r *Runner) firstDelay(interval time.Duration) time.Duration {
	if r.cfg.NoStagger {
		return 0
	}
	return rand.N(min(interval, time.Second))
}

// prober runs one probe of an interval check. ctx carries the run's
// timeout; status is the raw result, before the thresholds.
type prober interface {
	probe(ctx context.Context) (status, output string)
}

// check is one running check. The fields after mu are owned by the check's
// goroutine (run), which is the only one to change status and output and
// to call Notify, so that a check's updates are reported in order.
type check struct {
	r    *Runner
	def  Definition
	kind string
	log  *slog.Logger

	prober     prober         // interval kinds
	th         *thresholds    // interval kinds
	ttlUpdates chan ttlUpdate // TTL checks

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu            sync.Mutex // guards the three below, read by Status
	status        string
	output        string
	criticalSince time.Time // when status last became critical

	reported string      // output of the last report (or the initial one)
	flush    *time.Timer // pending report of an output-only change
	dereg    *time.Timer // pending DeregisterCritical
}

func (r *Runner) newCheck(d Definition) *check {
	ctx, cancel := context.WithCancel(context.Background())
	c := &check{
		r:      r,
		def:    d,
		kind:   d.Kind(),
		log:    r.log.With("check", d.CheckID),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
		status: d.Status,
	}
	if c.status == event.HealthCritical {
		c.criticalSince = time.Now()
	}
	switch c.kind {
	case KindTTL:
		c.ttlUpdates = make(chan ttlUpdate)
	case KindAlias:
	default:
		c.prober = newProber(d)
		c.th = newThresholds(d)
	}
	return c
}

// newProber builds the prober of an interval check.
func newProber(d Definition) prober {
	switch d.Kind() {
	case KindHTTP:
		return newHTTPProber(d)
	case KindTCP:
		return tcpProber{addr: d.TCP}
	case KindUDP:
		return udpProber{addr: d.UDP}
	case KindGRPC:
		return newGRPCProber(d)
	case KindH2Ping:
		return newH2PingProber(d)
	case KindScript:
		return scriptProber{args: d.Args, timeout: d.timeout(), maxOutput: d.OutputMaxSize}
	case KindDocker:
		return newDockerProber(d)
	}
	panic("checks: no prober for kind " + d.Kind())
}

// inherit takes over the state of the check c replaces, which has stopped.
func (c *check) inherit(old *check) {
	old.mu.Lock()
	c.status, c.output, c.criticalSince = old.status, old.output, old.criticalSince
	old.mu.Unlock()
	c.reported = old.reported
}

// stop ends the check and waits for its goroutine.
func (c *check) stop() {
	c.cancel()
	<-c.done
}

// run is the check's goroutine.
func (c *check) run() {
	defer close(c.done)
	defer func() {
		if c.flush != nil {
			c.flush.Stop()
		}
		if c.dereg != nil {
			c.dereg.Stop()
		}
	}()
	// A replaced check may hand over an unreported output, and a critical
	// status whose deregistration clock is already running.
	if c.output != c.reported {
		c.outputChanged()
	}
	c.armDereg()
	switch c.kind {
	case KindTTL:
		c.runTTL()
	case KindAlias:
		c.runAlias()
	default:
		c.runProbes()
	}
}

// runProbes runs an interval check: the first probe soon, then one every
// Interval (measured from start to start, so a slow probe does not push the
// schedule back).
func (c *check) runProbes() {
	next := time.NewTimer(c.r.firstDelay(c.def.Interval))
	defer next.Stop()
	timeout := c.def.timeout()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-timerC(c.flush):
			c.flushOutput()
		case <-timerC(c.dereg):
			c.deregDue()
		case <-next.C:
			start := time.Now()
			ctx, cancel := context.WithTimeout(c.ctx, timeout)
			result, output := c.prober.probe(ctx)
			cancel()
			if c.ctx.Err() != nil {
				// Removed mid-probe: the result is moot and must not be
				// reported after Remove returns.
				return
			}
			if status, ok := c.th.observe(result); ok {
				c.set(status, output)
			} else {
				c.log.Debug("check result below threshold, status kept", "result", result, "output", output)
			}
			next.Reset(max(0, c.def.Interval-time.Since(start)))
		}
	}
}

// set records a new status and output, reporting a transition at once and
// an output-only change according to OutputUpdateInterval.
func (c *check) set(status, output string) {
	c.mu.Lock()
	prev := c.status
	c.status, c.output = status, output
	if status != prev {
		c.criticalSince = time.Time{}
		if status == event.HealthCritical {
			c.criticalSince = time.Now()
		}
	}
	c.mu.Unlock()

	if status == prev {
		c.outputChanged()
		return
	}
	c.log.Info("check status changed", "from", prev, "to", status, "output", output)
	// The transition carries the latest output, so a pending output-only
	// report has nothing left to say.
	c.stopFlush()
	c.reported = output
	c.armDereg()
	c.notify(status, output)
}

// outputChanged handles an output that may differ from the last one
// reported while the status stayed the same.
func (c *check) outputChanged() {
	c.mu.Lock()
	status, output := c.status, c.output
	c.mu.Unlock()
	switch {
	case output == c.reported:
		// Changed and changed back before anyone heard: nothing to say.
		c.stopFlush()
	case c.r.cfg.OutputUpdateInterval <= 0:
		c.reported = output
		c.notify(status, output)
	case c.flush == nil:
		// Report after the interval, with whatever the output is then;
		// further changes until then ride on the same report.
		c.flush = time.NewTimer(c.r.cfg.OutputUpdateInterval)
	}
}

// flushOutput reports a coalesced output-only change.
func (c *check) flushOutput() {
	c.flush = nil
	c.mu.Lock()
	status, output := c.status, c.output
	c.mu.Unlock()
	if output != c.reported {
		c.reported = output
		c.notify(status, output)
	}
}

func (c *check) stopFlush() {
	if c.flush != nil {
		c.flush.Stop()
		c.flush = nil
	}
}

// armDereg starts the DeregisterCriticalServiceAfter clock if the check is
// critical (counting from when it became critical) and stops it otherwise.
func (c *check) armDereg() {
	if c.dereg != nil {
		c.dereg.Stop()
		c.dereg = nil
	}
	after := c.def.DeregisterCriticalServiceAfter
	if after <= 0 || c.def.ServiceID == "" {
		return
	}
	c.mu.Lock()
	since := c.criticalSince
	c.mu.Unlock()
	if since.IsZero() {
		return
	}
	c.dereg = time.NewTimer(max(0, after-time.Since(since)))
}

// deregDue asks for the check's service to be deregistered. The callback
// runs in a goroutine of its own because it is expected to Remove this
// check, which waits for this goroutine.
func (c *check) deregDue() {
	c.dereg = nil
	c.log.Warn("check critical for too long, deregistering its service",
		"service", c.def.ServiceID, "after", c.def.DeregisterCriticalServiceAfter)
	if f := c.r.cfg.DeregisterCritical; f != nil {
		go f(c.def.ServiceID, c.def.CheckID)
	}
}

func (c *check) notify(status, output string) {
	if f := c.r.cfg.Notify; f != nil {
		f(Update{CheckID: c.def.CheckID, Status: status, Output: output})
	}
}

// timerC is t's channel, or nil (which never fires) when there is no timer.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}
