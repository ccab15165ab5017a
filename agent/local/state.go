package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/agent/checks"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Writer applies catalog commands; a refused command comes back as an
// error carrying the refusal's message.
type Writer interface {
	ApplyCatalog(ctx context.Context, body command.Body) error
}

// Source says where a definition came from: config files may hold script
// checks under enable_local_script_checks, the API only under
// enable_script_checks, and a reload replaces only what came from files.
type Source int

const (
	SourceAPI Source = iota
	SourceConfig
	// SourceInternal marks what the agent registers for itself (the
	// "consul" service of a server): in the catalog, but not among the
	// agent's services, as in Consul.
	SourceInternal
)

// Config describes the node the state belongs to and its policies.
type Config struct {
	NodeName, NodeID, Address, Datacenter string
	NodeMeta                              map[string]string
	TaggedAddresses                       map[string]string
	Writer                                Writer
	EnableScriptChecks                    bool
	EnableLocalScriptChecks               bool
	// OutputUpdateInterval coalesces output-only check changes (Consul's
	// check_update_interval, default 5m).
	OutputUpdateInterval time.Duration
	// SyncInterval is how often a full anti-entropy pass runs even when
	// nothing changed locally (default 1m).
	SyncInterval time.Duration
	Alias        checks.AliasSource
	Logger       *slog.Logger
	// SidecarMinPort and SidecarMaxPort are the range of the ports given
	// to sidecars registered without one (sidecar.go).
	SidecarMinPort, SidecarMaxPort int
}

// Errors the API turns into status codes.
var (
	ErrUnknownService = errors.New("unknown service")
	ErrUnknownCheck   = errors.New("unknown check")
	ErrScriptsOff     = errors.New("Scripts are disabled on this agent; to enable, configure 'enable_script_checks' to true")
)

type service struct {
	def     ServiceDefinition
	record  event.Service
	source  Source
	inSync  bool
	deleted bool
	// sidecarOf is the ID of the service whose Connect.SidecarService
	// this is: it goes with that service.
	sidecarOf string
}

type check struct {
	def    CheckDefinition
	record event.Check
	source Source
	runner bool // driven by the check runner (not maintenance or serfHealth)
	inSync bool // registration (definition) is in the catalog
	// statusDirty: the status or output changed since the catalog last
	// heard; sent as a check-status command, not a whole registration.
	statusDirty bool
	deleted     bool
}

// State is the agent's own services and checks.
type State struct {
	cfg    Config
	log    *slog.Logger
	runner *checks.Runner

	mu       sync.Mutex
	services map[string]*service
	checks   map[string]*check
	nodeSync bool // the node itself is registered
	// unsynced holds the IDs of the services and checks that may be out
	// of sync: every change adds its ID, and a sync pass looks at these
	// alone (and forgets those it finds in sync) instead of at every
	// service and check, which made each registration cost O(services).
	unsyncedServices, unsyncedChecks map[string]struct{}
	// checksOf holds the IDs of each service's checks (putCheck,
	// dropCheck), so that removing a service does not visit every check.
	checksOf map[string]map[string]struct{}

	syncMu sync.Mutex // one sync pass at a time
	// changes counts local changes; synced is the count the last
	// successful pass started from. Callers of SyncChanges that queue
	// behind a running pass are often covered by it (a group commit).
	changes atomic.Uint64
	synced  atomic.Uint64
	started atomic.Bool
	trigger chan struct{}
	stop    chan struct{}
	done    chan struct{}

	// watch is closed (and replaced) at every local change, for blocking
	// reads of the agent's own services (?hash=).
	watchMu sync.Mutex
	watch   chan struct{}
}

// New returns the state; Start begins syncing it to the catalog.
func New(cfg Config) *State {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = time.Minute
	}
	if cfg.OutputUpdateInterval == 0 {
		cfg.OutputUpdateInterval = checks.DefaultOutputUpdateInterval
	}
	s := &State{cfg: cfg, log: cfg.Logger.With("component", "local"),
		services: map[string]*service{}, checks: map[string]*check{},
		unsyncedServices: map[string]struct{}{}, unsyncedChecks: map[string]struct{}{}, checksOf: map[string]map[string]struct{}{},
		trigger: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	s.runner = checks.NewRunner(checks.Config{
		Notify:                  s.checkChanged,
		DeregisterCritical:      s.deregisterCritical,
		OutputUpdateInterval:    cfg.OutputUpdateInterval,
		EnableScriptChecks:      cfg.EnableScriptChecks,
		EnableLocalScriptChecks: cfg.EnableLocalScriptChecks,
		Alias:                   cfg.Alias,
		Logger:                  cfg.Logger,
	})
	return s
}

// Backoff of the sync loop after a failed pass.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// Start runs the sync loop: a pass whenever something changed, and a full
// anti-entropy pass every SyncInterval.
func (s *State) Start() {
	s.started.Store(true)
	go func() {
		defer close(s.done)
		tick := time.NewTicker(s.cfg.SyncInterval)
		defer tick.Stop()
		retry := retryMin
		for {
			select {
			case <-s.stop:
				return
			case <-s.trigger:
			case <-tick.C:
				s.mu.Lock()
				s.markAllOutOfSync()
				s.mu.Unlock()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.Sync(ctx); err != nil {
				s.log.Warn("catalog sync failed; will retry", "error", err, "in", retry)
				// Retry soon rather than at the next periodic pass: a
				// leader may only just be on its way.
				time.AfterFunc(retry, s.kick)
				retry = min(2*retry, retryMax)
			} else {
				retry = retryMin
			}
			cancel()
		}
	}()
}

// Stop ends the sync loop, if Start ran, and the check runners.
func (s *State) Stop() {
	if s.started.Load() {
		close(s.stop)
		<-s.done
	}
	s.runner.Stop()
}

// Watch returns a channel closed at the next change to the agent's services
// or checks. Take it before reading, so no change in between is missed.
func (s *State) Watch() <-chan struct{} {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watch == nil {
		s.watch = make(chan struct{})
	}
	return s.watch
}

// kick follows every local change: it wakes the watchers and the sync loop.
func (s *State) kick() {
	s.watchMu.Lock()
	if s.watch != nil {
		close(s.watch)
		s.watch = nil
	}
	s.watchMu.Unlock()
	s.changes.Add(1)
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Resync marks everything out of sync and starts a pass: for when the
// catalog was replaced (a snapshot restore) and may lack what it had.
func (s *State) Resync() {
	s.mu.Lock()
	s.markAllOutOfSync()
	s.mu.Unlock()
	s.kick()
}

func (s *State) markAllOutOfSync() {
	s.nodeSync = false
	for id, sv := range s.services {
		sv.inSync = false
		s.noteService(id)
	}
	for id, c := range s.checks {
		c.inSync = false
		s.noteCheck(id)
	}
}

// putCheck and dropCheck add a check under its ID and remove it, keeping
// checksOf; callers hold s.mu.
func (s *State) putCheck(id string, c *check) {
	s.dropCheck(id)
	s.checks[id] = c
	if s.checksOf[c.record.ServiceID] == nil {
		s.checksOf[c.record.ServiceID] = map[string]struct{}{}
	}
	s.checksOf[c.record.ServiceID][id] = struct{}{}
}

func (s *State) dropCheck(id string) {
	old := s.checks[id]
	if old == nil {
		return
	}
	delete(s.checks, id)
	delete(s.checksOf[old.record.ServiceID], id)
	if len(s.checksOf[old.record.ServiceID]) == 0 {
		delete(s.checksOf, old.record.ServiceID)
	}
}

// serviceChecks lists the IDs of the checks of service id; callers hold
// s.mu.
func (s *State) serviceChecks(id string) []string {
	out := make([]string, 0, len(s.checksOf[id]))
	for cid := range s.checksOf[id] {
		out = append(out, cid)
	}
	return out
}

// noteService and noteCheck note that the service or check id changed
// and may be out of sync; callers hold s.mu.
func (s *State) noteService(id string) { s.unsyncedServices[id] = struct{}{} }
func (s *State) noteCheck(id string)   { s.unsyncedChecks[id] = struct{}{} }

// AddService registers a service with its checks, replacing a service of
// the same ID. With replaceChecks, checks of the service that the new
// definition lacks are removed (Consul's ?replace-existing-checks).
func (s *State) AddService(def ServiceDefinition, source Source, replaceChecks bool) error {
	if err := def.Validate(); err != nil {
		return err
	}
	if def.ID == "" {
		def.ID = def.Name
	}
	if err := s.addService(def, source, replaceChecks, ""); err != nil {
		return err
	}
	return s.addSidecar(&def, source, replaceChecks)
}

// addService registers one service; sidecarOf names the parent of a
// sidecar.
func (s *State) addService(def ServiceDefinition, source Source, replaceChecks bool, sidecarOf string) error {
	if sidecarOf != "" {
		if err := def.Validate(); err != nil {
			return err
		}
	}
	defs := def.allChecks()
	for i := range defs {
		c := &defs[i]
		c.ServiceID = def.ID
		if c.ID == "" {
			c.ID = "service:" + def.ID
			if len(defs) > 1 {
				c.ID = fmt.Sprintf("service:%s:%d", def.ID, i+1)
			}
		}
		if c.Name == "" {
			c.Name = fmt.Sprintf("Service '%s' check", def.Name)
		}
		if c.Token == "" {
			c.Token = def.Token
		}
		if err := s.allowed(c, source); err != nil {
			return err
		}
	}
	weights := event.Weights{Passing: 1, Warning: 1}
	if def.Weights != nil {
		weights = *def.Weights
	}
	rec := event.Service{Node: s.cfg.NodeName, Kind: def.Kind, ID: def.ID, Service: def.Name, Tags: def.Tags,
		Meta: def.Meta, Port: def.Port, Ports: def.Ports, Address: def.Address, SocketPath: def.SocketPath,
		TaggedAddresses: def.TaggedAddresses, Weights: weights, EnableTagOverride: def.EnableTagOverride,
		Locality: def.Locality, Proxy: event.KeptProxy(def.Kind, def.Proxy),
		Connect: event.KeptConnect(def.Connect != nil && def.Connect.Native)}

	s.mu.Lock()
	if replaceChecks {
		keep := map[string]bool{}
		for _, c := range defs {
			keep[c.ID] = true
		}
		for _, id := range s.serviceChecks(def.ID) {
			if !keep[id] && s.checks[id].runner {
				s.removeCheckLocked(id)
			}
		}
	}
	s.services[def.ID] = &service{def: def, record: rec, source: source, sidecarOf: sidecarOf}
	s.noteService(def.ID)
	s.mu.Unlock()

	for _, c := range defs {
		if err := s.addCheck(c, source); err != nil {
			return err
		}
	}
	s.kick()
	return nil
}

// allowed applies the script-check policy.
func (s *State) allowed(c *CheckDefinition, source Source) error {
	if len(c.Args) == 0 {
		return nil
	}
	if s.cfg.EnableScriptChecks || (source == SourceConfig && s.cfg.EnableLocalScriptChecks) {
		return nil
	}
	return ErrScriptsOff
}

// RemoveService deregisters a service and its checks.
func (s *State) RemoveService(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.services[id]
	if !ok || sv.deleted {
		return fmt.Errorf("%w: Unknown service ID %q. Ensure that the service ID is passed, not the service name.", ErrUnknownService, id)
	}
	for _, cid := range s.serviceChecks(id) {
		s.removeCheckLocked(cid)
	}
	sv.deleted, sv.inSync = true, false
	s.noteService(id)
	if side, ok := s.services[id+SidecarSuffix]; ok && !side.deleted && side.sidecarOf == id {
		for _, cid := range s.serviceChecks(id + SidecarSuffix) {
			s.removeCheckLocked(cid)
		}
		side.deleted, side.inSync = true, false
		s.noteService(id + SidecarSuffix)
	}
	s.kick()
	return nil
}

// AddCheck registers a check, on the node or on one of this agent's services.
func (s *State) AddCheck(def CheckDefinition, source Source) error {
	if def.ID == "" {
		def.ID = def.Name
	}
	if err := def.validate(false); err != nil {
		return err
	}
	if err := s.allowed(&def, source); err != nil {
		return err
	}
	if def.ServiceID != "" {
		s.mu.Lock()
		sv, ok := s.services[def.ServiceID]
		s.mu.Unlock()
		if !ok || sv.deleted {
			return fmt.Errorf("%w: ServiceID %q does not exist", ErrUnknownService, def.ServiceID)
		}
	}
	if err := s.addCheck(def, source); err != nil {
		return err
	}
	s.kick()
	return nil
}

func (s *State) addCheck(def CheckDefinition, source Source) error {
	status := def.Status
	if status == "" {
		status = event.HealthCritical
	}
	rec := event.Check{Node: s.cfg.NodeName, CheckID: def.ID, Name: def.Name, Notes: def.Notes, Status: status,
		ServiceID: def.ServiceID, Type: def.runnerDefinition().Kind(), Definition: definitionRecord(def)}
	s.mu.Lock()
	if old, ok := s.checks[def.ID]; ok && !old.deleted {
		// Keep the observed status over a re-registration, as Consul does
		// when the definition does not set one.
		if def.Status == "" {
			rec.Status, rec.Output = old.record.Status, old.record.Output
		}
	}
	if def.ServiceID != "" {
		if sv := s.services[def.ServiceID]; sv != nil {
			rec.ServiceName, rec.ServiceTags = sv.record.Service, sv.record.Tags
		}
	}
	c := &check{def: def, record: rec, source: source, runner: true}
	s.putCheck(def.ID, c)
	s.noteCheck(def.ID)
	s.mu.Unlock()
	rd := def.runnerDefinition()
	rd.Local = source != SourceAPI
	if err := s.runner.Add(rd); err != nil {
		s.mu.Lock()
		s.dropCheck(def.ID)
		s.mu.Unlock()
		return err
	}
	return nil
}

func definitionRecord(d CheckDefinition) event.CheckDefinition {
	return event.CheckDefinition{HTTP: d.HTTP, Header: d.Header, Method: d.Method, Body: d.Body,
		TLSServerName: d.TLSServerName, TLSSkipVerify: d.TLSSkipVerify, TCP: d.TCP, UDP: d.UDP, GRPC: d.GRPC,
		GRPCUseTLS: d.GRPCUseTLS, Interval: d.Interval.String(), Timeout: d.Timeout.String(),
		DeregisterCriticalServiceAfter: d.DeregisterCriticalServiceAfter.String()}
}

// RemoveCheck deregisters a check.
func (s *State) RemoveCheck(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checks[id]
	if !ok || c.deleted {
		return fmt.Errorf("%w: Unknown check ID %q. Ensure that the check ID is passed, not the check name.", ErrUnknownCheck, id)
	}
	s.removeCheckLocked(id)
	s.kick()
	return nil
}

func (s *State) removeCheckLocked(id string) {
	c := s.checks[id]
	if c.runner {
		s.runner.Remove(id)
	}
	c.deleted, c.inSync = true, false
	s.noteCheck(id)
}

// UpdateTTL sets a TTL check's status (pass, warn, fail, update).
func (s *State) UpdateTTL(id, status, output string) error {
	s.mu.Lock()
	c, ok := s.checks[id]
	s.mu.Unlock()
	if !ok || c.deleted {
		return fmt.Errorf("%w: Unknown check ID %q. Ensure that the check ID is passed, not the check name.", ErrUnknownCheck, id)
	}
	return s.runner.UpdateTTL(id, status, output)
}

// checkChanged receives the runner's transitions and coalesced outputs.
func (s *State) checkChanged(u checks.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checks[u.CheckID]
	if !ok || c.deleted {
		return
	}
	c.record.Status, c.record.Output = u.Status, u.Output
	c.statusDirty = true
	s.noteCheck(u.CheckID)
	s.kick()
}

// deregisterCritical is the runner's word that a service check has been
// critical for its DeregisterCriticalServiceAfter: the service goes.
func (s *State) deregisterCritical(serviceID, checkID string) {
	s.log.Info("deregistering service: check critical for too long", "service", serviceID, "check", checkID)
	if err := s.RemoveService(serviceID); err != nil && !errors.Is(err, ErrUnknownService) {
		s.log.Warn("cannot deregister critical service", "service", serviceID, "error", err)
	}
}

// SetSpecialCheck adds or updates a check the agent itself owns, with no
// runner: serfHealth and the maintenance checks.
func (s *State) SetSpecialCheck(rec event.Check) {
	rec.Node = s.cfg.NodeName
	s.mu.Lock()
	if rec.ServiceID != "" {
		if sv := s.services[rec.ServiceID]; sv != nil {
			rec.ServiceName, rec.ServiceTags = sv.record.Service, sv.record.Tags
		}
	}
	s.putCheck(rec.CheckID, &check{def: CheckDefinition{ID: rec.CheckID, Name: rec.Name, ServiceID: rec.ServiceID}, record: rec})
	s.noteCheck(rec.CheckID)
	s.mu.Unlock()
	s.kick()
}

// RemoveSpecialCheck removes a check set by SetSpecialCheck; it reports
// whether there was one.
func (s *State) RemoveSpecialCheck(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.checks[id]
	if !ok || c.deleted || c.runner {
		return false
	}
	c.deleted, c.inSync = true, false
	s.noteCheck(id)
	s.kick()
	return true
}

// Services returns the live services, by ID.
func (s *State) Services() map[string]event.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]event.Service{}
	for id, sv := range s.services {
		if !sv.deleted && sv.source != SourceInternal {
			out[id] = sv.record
		}
	}
	return out
}

// Service returns one live service.
func (s *State) Service(id string) (event.Service, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, ok := s.services[id]
	if !ok || sv.deleted || sv.source == SourceInternal {
		return event.Service{}, false
	}
	return sv.record, true
}

// Checks returns the live checks, by ID, with their current status.
func (s *State) Checks() map[string]event.Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]event.Check{}
	for id, c := range s.checks {
		if !c.deleted {
			out[id] = c.record
		}
	}
	return out
}

// ServiceSources lists the IDs of live services from a source.
func (s *State) ServiceSources(src Source) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, sv := range s.services {
		if !sv.deleted && sv.source == src && sv.sidecarOf == "" { // a sidecar goes with its parent
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// CheckSources lists the IDs of live node-level runner checks from a source.
func (s *State) CheckSources(src Source) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, c := range s.checks {
		if !c.deleted && c.runner && c.source == src && c.record.ServiceID == "" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Sync writes every change the catalog lacks: the node, services and checks
// registered or removed, and check statuses. It is what the sync loop runs;
// API calls run it too, so that a registration is in the catalog when the
// call returns. Only what is out of sync is written.
func (s *State) Sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.syncLocked(ctx)
}

// SyncChanges returns once every local change made before the call is in
// the catalog, running a pass only if no pass that started after those
// changes has completed meanwhile.
func (s *State) SyncChanges(ctx context.Context) error {
	want := s.changes.Load()
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced.Load() >= want {
		return nil
	}
	return s.syncLocked(ctx)
}

func (s *State) syncLocked(ctx context.Context) (err error) {
	start := s.changes.Load()
	defer func() {
		if err == nil {
			s.synced.Store(start)
		}
	}()

	s.mu.Lock()
	nodeSync := s.nodeSync
	s.mu.Unlock()
	node := event.Node{ID: s.cfg.NodeID, Node: s.cfg.NodeName, Address: s.cfg.Address, Datacenter: s.cfg.Datacenter,
		TaggedAddresses: s.cfg.TaggedAddresses, Meta: s.cfg.NodeMeta}
	if !nodeSync {
		if err := s.cfg.Writer.ApplyCatalog(ctx, &command.CatalogRegisterBody{Node: node}); err != nil {
			return fmt.Errorf("register node: %w", err)
		}
		s.mu.Lock()
		s.nodeSync = true
		s.mu.Unlock()
	}

	// Each write below is independent of the others in its phase, so they
	// go out together: Raft commits concurrent proposals in one fsync.
	// Services (with their checks) go first, since a check of a service
	// needs the service in the catalog.
	var (
		errMu sync.Mutex
		errs  []error
	)
	fail := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	pending := s.pendingServiceChecks()
	parallel(s.outOfSyncServices(), func(id string) {
		if err := s.syncService(ctx, node, id, pending[id]); err != nil {
			fail(fmt.Errorf("service %s: %w", id, err))
		}
	})
	parallel(s.outOfSyncChecks(), func(id string) {
		if err := s.syncCheck(ctx, node, id); err != nil {
			fail(fmt.Errorf("check %s: %w", id, err))
		}
	})
	return errors.Join(errs...)
}

// syncParallelism bounds the writes one sync pass has in flight.
const syncParallelism = 32

func parallel(ids []string, fn func(string)) {
	sem := make(chan struct{}, syncParallelism)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(id)
		}()
	}
	wg.Wait()
}

// pendingServiceChecks maps each service ID to its checks that the catalog
// lacks, found in one scan for the whole pass.
func (s *State) pendingServiceChecks() map[string][]*check {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]*check{}
	for id := range s.unsyncedChecks {
		c := s.checks[id]
		if c != nil && c.record.ServiceID != "" && !c.deleted && !c.inSync {
			out[c.record.ServiceID] = append(out[c.record.ServiceID], c)
		}
	}
	return out
}

// syncService registers a service together with those of its checks the
// catalog lacks (pending), in one command, or deregisters it.
func (s *State) syncService(ctx context.Context, node event.Node, id string, pending []*check) error {
	s.mu.Lock()
	sv := s.services[id]
	deleted, rec := sv.deleted, sv.record
	type sent struct {
		c   *check
		rec event.Check
	}
	var withChecks []sent
	if !deleted {
		for _, c := range pending {
			if s.checks[c.record.CheckID] == c && !c.deleted && !c.inSync {
				withChecks = append(withChecks, sent{c, c.record})
			}
		}
	}
	s.mu.Unlock()

	ctx = WithToken(ctx, sv.def.Token)
	var err error
	if deleted {
		err = s.cfg.Writer.ApplyCatalog(ctx, &command.CatalogDeregisterBody{Node: s.cfg.NodeName, ServiceID: id})
	} else {
		body := &command.CatalogRegisterBody{Node: node, SkipNodeUpdate: true, Service: &rec}
		for _, w := range withChecks {
			body.Checks = append(body.Checks, w.rec)
		}
		err = s.cfg.Writer.ApplyCatalog(ctx, body)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.services[id]; cur == sv && cur.deleted == deleted {
		if deleted {
			delete(s.services, id)
		} else {
			cur.inSync = true
		}
	}
	for _, w := range withChecks {
		s.checkSent(w.c, w.rec, false)
	}
	return nil
}

// syncCheck writes one check's registration, status or removal.
func (s *State) syncCheck(ctx context.Context, node event.Node, id string) error {
	s.mu.Lock()
	c := s.checks[id]
	if c == nil { // sent with its service meanwhile
		s.mu.Unlock()
		return nil
	}
	deleted, rec, registered, dirty := c.deleted, c.record, c.inSync, c.statusDirty
	s.mu.Unlock()
	if registered && !deleted && !dirty {
		return nil
	}
	ctx = WithToken(ctx, c.def.Token)
	var err error
	switch {
	case deleted:
		err = s.cfg.Writer.ApplyCatalog(ctx, &command.CatalogDeregisterBody{Node: s.cfg.NodeName, CheckID: id})
	case registered:
		err = s.cfg.Writer.ApplyCatalog(ctx, &command.CheckStatusBody{Node: s.cfg.NodeName, CheckID: id, Status: rec.Status, Output: rec.Output})
	default:
		err = s.cfg.Writer.ApplyCatalog(ctx, &command.CatalogRegisterBody{Node: node, SkipNodeUpdate: true, Checks: []event.Check{rec}})
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkSent(c, rec, deleted)
	return nil
}

// checkSent records that rec, a copy of c's record, reached the catalog;
// callers hold s.mu. A status that changed meanwhile stays dirty for the
// next pass.
func (s *State) checkSent(c *check, rec event.Check, deleted bool) {
	cur := s.checks[rec.CheckID]
	if cur != c || cur.deleted != deleted {
		return
	}
	switch {
	case deleted:
		s.dropCheck(rec.CheckID)
	case cur.record.Status == rec.Status && cur.record.Output == rec.Output:
		cur.inSync, cur.statusDirty = true, false
	default:
		cur.inSync = true
	}
}

func (s *State) outOfSyncServices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.unsyncedServices {
		if sv := s.services[id]; sv != nil && !sv.inSync {
			out = append(out, id)
		} else {
			delete(s.unsyncedServices, id)
		}
	}
	sort.Strings(out)
	return out
}

// outOfSyncChecks lists checks whose registration or status the catalog
// lacks.
func (s *State) outOfSyncChecks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.unsyncedChecks {
		if c := s.checks[id]; c != nil && (!c.inSync || c.statusDirty) {
			out = append(out, id)
		} else {
			delete(s.unsyncedChecks, id)
		}
	}
	sort.Strings(out)
	return out
}

// NodeName is the node this state belongs to.
func (s *State) NodeName() string { return s.cfg.NodeName }
