package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/telemetry"
)

// Sink receives the state a shard's projections are built from. Load is
// called when the whole state must be read again (at Open and after a
// snapshot was recovered); Apply after each committed batch, with the events
// of one Raft index, in index order. Both are called from Dragonboat's apply
// goroutine, never concurrently; Apply must not block for long, since the
// shard applies nothing else meanwhile.
type Sink interface {
	Load(index uint64, src event.Source) error
	Apply(index uint64, events []event.Event)
}

// Config is what a shard's state machine needs.
type Config struct {
	// Dir holds the replica's Pebble database.
	Dir string
	// Shard is the shard's name, for logs and errors.
	Shard string
	// RetainCommands bounds the command history by count (0: keep all).
	RetainCommands int
	// RetainAge bounds it by age, judged by the commands' own timestamps
	// (0: no bound).
	RetainAge time.Duration
	// Sink is fed the shard's changes; nil discards them.
	Sink Sink
	// Metrics records each applied batch (metrics.go); nil records nothing.
	Metrics *telemetry.Registry
	Logger  *slog.Logger
}

// foldBatch bounds how many history entries one Update folds into the base
// image, so that a large retention change never stalls a single apply.
const foldBatch = 1024

// StateMachine implements Dragonboat's IOnDiskStateMachine for one shard
// replica. Create it with New and return it from the factory given to
// Dragonboat; the same value also serves the shard's outbox (see EventLog).
type StateMachine struct {
	cfg Config
	log *slog.Logger

	// mu guards db: Lookup and the outbox may be called concurrently with
	// Update and even after Close (Dragonboat allows it), so readers hold it
	// shared and Close holds it exclusively.
	mu      sync.RWMutex
	db      *pebble.DB
	applied atomic.Uint64
	// appliedLogical is applied as the API shows it (plus the offset), for
	// readers on other goroutines.
	appliedLogical atomic.Uint64
	histFirst      uint64 // only touched on the apply goroutine
	clock          int64  // the replicated clock (requests.go); apply goroutine only
	// offset turns Raft indexes into the logical indexes that Herald shows
	// (X-Consul-Index, CreateIndex, event indexes): it is zero until a
	// snapshot restore carries the state, and the indexes, of another
	// cluster forward, as Consul's restore does.
	offset uint64

	outboxTrimmed atomic.Uint64 // highest index the outbox deleted
	tail          outboxTail    // the newest outbox events, in memory

	wakeMu sync.Mutex
	wake   chan struct{} // closed when new events reach the outbox

	opened     chan struct{} // closed when Open has succeeded
	openedOnce sync.Once

	// closing (guarded by mu) is closed when Close begins: exports in
	// flight stop, and Close waits for them (exports) before it closes the
	// database, whose iterators they hold. Open makes a new one: Dragonboat
	// may open a state machine again after closing it.
	closing chan struct{}
	exports sync.WaitGroup

	// swapHook, set by tests, may stop a restore's swap after a step as a
	// crash would (restore_staged.go).
	swapHook func(swapStepName) error
}

var _ sm.IOnDiskStateMachine = (*StateMachine)(nil)

// ErrClosed is returned by reads after Close.
var ErrClosed = errors.New("statemachine: closed")

// New returns a state machine that opens its database when Dragonboat calls
// Open.
func New(cfg Config) *StateMachine {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Sink == nil {
		cfg.Sink = discardSink{}
	}
	return &StateMachine{cfg: cfg, log: cfg.Logger.With("shard", cfg.Shard),
		wake: make(chan struct{}), opened: make(chan struct{}), closing: make(chan struct{})}
}

type discardSink struct{}

func (discardSink) Load(uint64, event.Source) error { return nil }
func (discardSink) Apply(uint64, []event.Event)     {}

// pebbleOptions are the options of every database of a state machine,
// without a block cache: openPebble gives each open database its own.
func pebbleOptions() *pebble.Options {
	opts := &pebble.Options{
		// Small memtables keep an idle agent's memory low; the write path is
		// bounded by Raft's fsync, not by Pebble.
		MemTableSize: 8 << 20,
		Logger:       quietPebbleLogger{},
	}
	// Apply looks up every key it writes, most of them new: bloom filters
	// answer "absent" without reading a block of every level.
	opts.Levels = make([]pebble.LevelOptions, 7)
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		opts.Levels[i].FilterType = pebble.TableFilter
	}
	return opts
}

// openPebble opens a database with a block cache of its own. The cache
// fills only as blocks are read, so it costs an idle agent nothing. Pebble
// takes a reference to the cache it is given; the one NewCache handed us is
// dropped here, so that closing the database frees the cache (it used to
// stay allocated after every close and every history replay).
func openPebble(dir string, opts *pebble.Options) (*pebble.DB, error) {
	cache := pebble.NewCache(32 << 20)
	defer cache.Unref()
	opts.Cache = cache
	return pebble.Open(dir, opts)
}

type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...interface{}) {}
func (quietPebbleLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}

// Open opens (or creates) the database and hands the state to the sink.
func (s *StateMachine) Open(stopc <-chan struct{}) (uint64, error) {
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return 0, err
	}
	db, err := openPebble(s.cfg.Dir, pebbleOptions())
	if err != nil {
		return 0, fmt.Errorf("open state of shard %s: %w", s.cfg.Shard, err)
	}
	applied, err := readU64(db, keyApplied)
	if err == nil {
		s.histFirst, err = readU64(db, keyHistoryFirst)
	}
	if err == nil {
		s.offset, err = readU64(db, keyIndexOffset)
	}
	if err == nil {
		var clock uint64
		clock, err = readU64(db, keyClock)
		s.clock = int64(clock)
	}
	if err != nil {
		db.Close()
		return 0, err
	}
	if s.histFirst == 0 {
		s.histFirst = 1
	}
	if err := s.cfg.Sink.Load(s.logical(applied), dbSource{db}); err != nil {
		db.Close()
		return 0, fmt.Errorf("load projections of shard %s: %w", s.cfg.Shard, err)
	}
	s.mu.Lock()
	s.db = db
	s.closing = make(chan struct{})
	s.mu.Unlock()
	s.storeApplied(applied)
	s.tail.reset(s.logical(applied) + 1)
	s.openedOnce.Do(func() { close(s.opened) })
	s.log.Debug("state opened", "applied", applied, "history_first", s.histFirst)
	return applied, nil
}

func readU64(r interface {
	Get([]byte) ([]byte, io.Closer, error)
}, key []byte) (uint64, error) {
	v, c, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return u64(v), nil
}

// logical is the index Herald shows for a Raft index.
func (s *StateMachine) logical(raftIndex uint64) uint64 {
	if raftIndex == 0 {
		return 0
	}
	return raftIndex + s.offset
}

// Update applies committed entries in one Pebble batch together with the new
// applied index, then feeds the events to the sink and the outbox's readers.
func (s *StateMachine) Update(entries []sm.Entry) ([]sm.Entry, error) {
	start := time.Now()
	batch := s.db.NewIndexedBatch()
	defer batch.Close()
	live := stores{kv: newPebbleKV(batch, areaKV), sessions: newPebbleSessions(batch, false), catalog: newPebbleCatalog(batch, false),
		queries:  newPebbleQueries(batch, false),
		operator: newOperatorStore(batch, false),
		ca:       newPebbleCA(batch, false),
		acl:      newACLStore(batch, false), config: newConfigEntryStore(batch, false),
		kvrep: newKVReplicationStore(batch, false)}

	var changes []indexEvents
	reqs := requests{batch: batch, clock: s.clock}
	restored := false
	// rest are the entries after a restore commit that is not first: they
	// go to a later Update (applyRestoreCommit needs the first place).
	var rest []sm.Entry
	for i := range entries {
		e := &entries[i]
		cmd, err := command.Decode(e.Cmd)
		if _, commit := cmd.Body.(*command.RestoreCommitBody); commit && i > 0 {
			entries, rest = entries[:i], entries[i:]
			break
		}
		if err != nil {
			if errors.Is(err, command.ErrUnknownType) && cmd.Flags&command.FlagIgnoreUnknown != 0 {
				s.log.Warn("skipping command of unknown type", "index", e.Index, "error", err)
				e.Result = sm.Result{Value: command.ResultFailed}
				continue
			}
			// Stop loudly: applying anything after an entry we cannot read
			// would make this replica's state differ from the others'.
			return nil, fmt.Errorf("shard %s: committed entry %d cannot be decoded (upgrade this server?): %w",
				s.cfg.Shard, e.Index, err)
		}
		var events []event.Event
		answer, done, err := reqs.admit(cmd)
		if err != nil {
			return nil, fmt.Errorf("shard %s: entry %d: %w", s.cfg.Shard, e.Index, err)
		}
		if done {
			// Refused or already applied: nothing changes, and the
			// history holds only commands that took effect.
			e.Result = answer
			continue
		}
		var res command.Result
		if home := cmd.Type().Shard(); home != command.ShardAny && home.String() != s.cfg.Shard {
			// Proposed to the wrong log: a bug of the proposer, refused
			// alike by every replica rather than applied to the wrong data.
			res = command.Refused(fmt.Sprintf("a %v command belongs to shard %v, not %s", cmd.Type(), home, s.cfg.Shard))
		} else if rb, ok := cmd.Body.(*command.RestoreBody); ok {
			res, events, err = s.applyRestore(batch, e.Index, rb)
			restored = restored || res.Succeeded
		} else if handled, rres, revents, rerr := s.applyStagedRestore(batch, e.Index, cmd.Body); handled {
			res, events, err = rres, revents, rerr
			restored = restored || (res.Succeeded && len(events) > 0)
		} else {
			res, err = apply(live, s.logical(e.Index), cmd, func(ev event.Event) { events = append(events, ev) })
			if err == nil {
				err = batch.Set(indexKey(areaHistory, s.logical(e.Index)), e.Cmd, nil)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("shard %s: apply entry %d: %w", s.cfg.Shard, e.Index, err)
		}
		e.Result.Value, e.Result.Data = command.EncodeResult(res)
		if err := reqs.record(cmd, e.Result); err != nil {
			return nil, fmt.Errorf("shard %s: apply entry %d: %w", s.cfg.Shard, e.Index, err)
		}
		if len(events) > 0 {
			for i := range events {
				events[i].Accessor = cmd.Origin.Accessor
			}
			payload, err := json.Marshal(events)
			if err != nil {
				return nil, err
			}
			if err := batch.Set(indexKey(areaOutbox, s.logical(e.Index)), payload, nil); err != nil {
				return nil, err
			}
			changes = append(changes, indexEvents{s.logical(e.Index), events})
		}
	}
	last := entries[len(entries)-1].Index
	if err := reqs.finish(s.clock); err != nil {
		return nil, fmt.Errorf("shard %s: %w", s.cfg.Shard, err)
	}
	if err := s.trimHistory(batch, s.logical(last), reqs.clock); err != nil {
		return nil, fmt.Errorf("shard %s: trim history: %w", s.cfg.Shard, err)
	}
	if err := batch.Set(keyApplied, u64Bytes(last), nil); err != nil {
		return nil, err
	}
	// No fsync: the Raft log is already durable, and after a crash Open
	// returns the last index Pebble kept, from which Dragonboat re-applies.
	if err := batch.Commit(pebble.NoSync); err != nil {
		return nil, fmt.Errorf("shard %s: commit: %w", s.cfg.Shard, err)
	}
	s.storeApplied(last)
	s.clock = reqs.clock
	if restored {
		// The whole state was replaced: projections start over from it.
		if err := s.reloadAfterRestore(s.logical(last)); err != nil {
			return nil, fmt.Errorf("shard %s: reload projections after a restore: %w", s.cfg.Shard, err)
		}
	} else {
		for _, c := range changes {
			s.cfg.Sink.Apply(c.index, c.events)
		}
	}
	if len(changes) > 0 {
		s.tail.append(changes)
		s.notifyOutbox()
	}
	s.measureApply(start, len(entries))
	if len(rest) > 0 {
		if _, err := s.Update(rest); err != nil {
			return nil, err
		}
		entries = entries[:len(entries)+len(rest)]
	}
	return entries, nil
}

// stores are the views of the state that apply logic writes through.
type stores struct {
	kv       kvStore
	sessions sessionStore
	catalog  catalogStore
	queries  queryStore
	operator operatorStore
	ca       caStore
	acl      aclStore
	config   configEntryStore
	kvrep    kvReplicationStore
}

// apply dispatches one command to the rules of its type. A refused command
// (Consul's rules said no) is a result, not an error: the error return is
// for faults of the replica itself.
func apply(st stores, idx uint64, cmd command.Command, emit func(event.Event)) (command.Result, error) {
	if res, ok, err := applyACL(st.acl, idx, cmd, emit); ok {
		return res, err
	}
	if res, ok, err := applyConfigEntry(st.config, idx, cmd, emit); ok {
		return res, err
	}
	var err error
	switch body := cmd.Body.(type) {
	case *command.KVBody:
		_, err = applyKVOp(st.kv, st.sessions, idx, cmd.Time, &body.Op, emit)
	case *command.KVTxnBody:
		return applyKVTxn(st.kv, st.sessions, idx, cmd.Time, body.Ops, emit)
	case *command.SessionCreateBody:
		err = applySessionCreate(st.sessions, idx, body, emit)
	case *command.SessionDestroyBody:
		err = applySessionDestroy(st.kv, st.sessions, idx, cmd.Time, body.ID, emit)
	case *command.SessionRenewBody:
		err = applySessionRenew(st.sessions, idx, body, emit)
	case *command.CatalogRegisterBody:
		err = applyRegister(st.catalog, idx, body, emit)
	case *command.CatalogDeregisterBody:
		err = applyDeregister(st.catalog, idx, body, emit)
	case *command.CheckStatusBody:
		err = applyCheckStatus(st.catalog, idx, body, emit)
	case *command.QuerySetBody:
		err = applyQuerySet(st.queries, idx, body, emit)
	case *command.QueryDeleteBody:
		err = applyQueryDelete(st.queries, idx, body, emit)
	case *command.AutopilotSetBody:
		err = applyAutopilotSet(st.operator, idx, body, emit)
	case *command.ConnectCASetBody:
		err = applyConnectCASet(st.ca, idx, cmd.Time, body, emit)
	case *command.CatalogTxnBody:
		return applyCatalogTxn(st.catalog, idx, body.Ops, emit)
	case *command.KVReplicateBody:
		err = applyKVReplicate(st.kvrep, st.kv, st.sessions, idx, cmd.Time, body, emit)
	default:
		return command.Result{}, fmt.Errorf("no apply rule for command type %v", cmd.Type())
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		return command.Refused(refused.what), nil
	}
	if err != nil {
		return command.Result{}, err
	}
	return command.Succeeded, nil
}

// applyKVTxn applies every operation or none. Like Consul, it runs all the
// operations even after one failed, so the client learns every reason at once.
func applyKVTxn(kv kvStore, sessions sessionStore, idx uint64, now int64, ops []command.KVOp, emit func(event.Event)) (command.Result, error) {
	tx := newOverlayKV(kv)
	out := &command.KVTxnResult{}
	var events []event.Event
	for i := range ops {
		entries, err := applyKVOp(tx, sessions, idx, now, &ops[i], func(ev event.Event) { events = append(events, ev) })
		var refused *refusedError
		if errors.As(err, &refused) {
			out.Errors = append(out.Errors, command.KVTxnError{OpIndex: i, What: refused.what})
			continue
		}
		if err != nil {
			return command.Result{}, err
		}
		out.Results = append(out.Results, entries...)
	}
	if len(out.Errors) > 0 {
		out.Results = nil
		return command.Result{Txn: out}, nil
	}
	if err := tx.flush(); err != nil {
		return command.Result{}, err
	}
	for _, ev := range events {
		emit(ev)
	}
	return command.Result{Succeeded: true, Txn: out}, nil
}

// Lookup answers Dragonboat's SyncRead. Herald reads its data from the
// projections, so the only question asked here is the applied index, which a
// linearizable read waits for.
func (s *StateMachine) Lookup(query interface{}) (interface{}, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	return s.applied.Load(), nil
}

// Opened is closed once Dragonboat has opened the state machine; the
// outbox can be read from then on.
func (s *StateMachine) Opened() <-chan struct{} { return s.opened }

// Applied is the Raft index of the last applied entry.
func (s *StateMachine) Applied() uint64 { return s.applied.Load() }

// AppliedIndex is the last applied entry's index as the API shows it
// (X-Consul-Index).
func (s *StateMachine) AppliedIndex() uint64 { return s.appliedLogical.Load() }

// storeApplied records the applied Raft index; called on the apply
// goroutine, after s.offset is current.
func (s *StateMachine) storeApplied(raftIndex uint64) {
	s.applied.Store(raftIndex)
	s.appliedLogical.Store(s.logical(raftIndex))
}

// Sync makes everything applied so far durable.
func (s *StateMachine) Sync() error {
	return s.db.LogData(nil, pebble.Sync)
}

// Close closes the database. Reads after it return ErrClosed; exports in
// flight end with an error first.
func (s *StateMachine) Close() error {
	// Every export that saw closing still open has registered by the time
	// the lock is free; then wait for them to stop.
	s.mu.Lock()
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	s.mu.Unlock()
	s.exports.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// dbSource reads the live KV area of a database or snapshot.
type dbSource struct {
	r interface {
		NewIter(*pebble.IterOptions) *pebble.Iterator
	}
}

func (d dbSource) ScanKV(prefix string, fn func(*event.KVEntry) error) error {
	return scanArea(d.r.NewIter, areaKV, prefix, fn)
}

func (d dbSource) ScanSessions(fn func(*event.Session) error) error {
	return scanJSON(d.r.NewIter, []byte{areaSessions}, fn)
}

func (d dbSource) ScanCatalog(node func(*event.Node) error, service func(*event.Service) error, check func(*event.Check) error) error {
	if node != nil {
		if err := scanJSON(d.r.NewIter, []byte{areaNodes}, node); err != nil {
			return err
		}
	}
	if service != nil {
		if err := scanJSON(d.r.NewIter, []byte{areaServices}, service); err != nil {
			return err
		}
	}
	if check != nil {
		return scanJSON(d.r.NewIter, []byte{areaChecks}, check)
	}
	return nil
}
