package statemachine

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// The history of one object (a key, a service, a node) in a running
// replica's retained commands: each command that changed it, with the
// object before and after, and the object as it was at an index. Both are
// one replay of the history over the base image, from a Pebble snapshot,
// with the same apply as the live state machine: the replay writes to an
// in-memory database, never to the replica's.

// Object kinds a history is asked about.
const (
	ObjectKV      = "kv"
	ObjectService = "service"
	ObjectNode    = "node"
)

// ServiceInstance is an instance of a service with its node, as a service's
// history shows it.
type ServiceInstance struct {
	Node    *event.Node
	Service *event.Service
}

// NodeState is a node with what is registered on it, as a node's history
// shows it.
type NodeState struct {
	Node     *event.Node
	Services []*event.Service
	Checks   []*event.Check
}

// ObjectChange is a retained command that changed the object, with the
// object right before and right after it: a *event.KVEntry, a
// []ServiceInstance or a *NodeState, nil (or empty) when absent.
type ObjectChange struct {
	Index   uint64
	Command command.Command
	Before  any
	After   any
}

// ObjectHistory is an object's changes in the retained history, oldest
// first.
type ObjectHistory struct {
	// First is the oldest index the history holds; Applied the newest
	// index applied.
	First, Applied uint64
	Changes        []ObjectChange
}

// ErrOutsideHistory is returned for an index the history cannot replay
// to: older than the retained history (its state survives only folded into
// the base image), or beyond the last applied index.
type ErrOutsideHistory struct{ Index, First, Applied uint64 }

func (e *ErrOutsideHistory) Error() string {
	if e.Index > e.Applied {
		return fmt.Sprintf("index %d is beyond the last applied index %d", e.Index, e.Applied)
	}
	return fmt.Sprintf("index %d is older than the retained history, which starts at %d", e.Index, e.First)
}

// ObjectHistory replays the retained history and returns the commands
// that changed the object kind/name.
func (s *StateMachine) ObjectHistory(kind, name string) (ObjectHistory, error) {
	var h ObjectHistory
	err := s.replayObject(kind, name, 0, func(first, applied uint64) error {
		h.First, h.Applied = first, applied
		return nil
	}, func(c ObjectChange) { h.Changes = append(h.Changes, c) })
	return h, err
}

// ObjectAt is the object kind/name as it was right after index: a
// *event.KVEntry, a []ServiceInstance or a *NodeState (nil or empty when it
// did not exist).
func (s *StateMachine) ObjectAt(kind, name string, index uint64) (any, error) {
	var state any
	err := s.replayObject(kind, name, index, func(first, applied uint64) error {
		if index+1 < first || index > applied {
			return &ErrOutsideHistory{Index: index, First: first, Applied: applied}
		}
		return nil
	}, func(c ObjectChange) { state = c.After })
	return state, err
}

// replaying lets one replay run at a time in the process: each copies a
// replica's base image into memory and applies its whole retained history,
// so pages of the UI opened at once must not multiply that memory.
var replaying sync.Mutex

// replayObject replays the history, up to upto (0: all of it), calling
// bounds with the history's first and applied indexes before it starts
// (an error ends it), and changed for each command that changed the
// object; with upto, changed last gets the object as it is at upto.
func (s *StateMachine) replayObject(kind, name string, upto uint64, bounds func(first, applied uint64) error, changed func(ObjectChange)) error {
	tracker, err := newTracker(kind, name)
	if err != nil {
		return err
	}
	replaying.Lock()
	defer replaying.Unlock()
	snap, err := s.pin()
	if err != nil {
		return err
	}
	defer snap.Close()
	first, err := readU64(snap, keyHistoryFirst)
	if err != nil {
		return err
	}
	first = max(first, 1)
	applied, err := readU64(snap, keyApplied)
	if err != nil {
		return err
	}
	offset, err := readU64(snap, keyIndexOffset)
	if err != nil {
		return err
	}
	if applied > 0 {
		applied += offset
	}
	if err := bounds(first, applied); err != nil {
		return err
	}
	replica, err := baseReplica(snap)
	if err != nil {
		return err
	}
	defer replica.Close()
	batch := replica.NewIndexedBatch()
	defer batch.Close()
	st := baseStores(batch)
	if err := tracker.load(st); err != nil {
		return err
	}
	it := snap.NewIter(&pebble.IterOptions{LowerBound: indexKey(areaHistory, first), UpperBound: areaEnd(areaHistory)})
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		idx := indexOfKey(it.Key())
		if upto > 0 && idx > upto {
			break
		}
		cmd, err := command.Decode(it.Value())
		if err != nil {
			return fmt.Errorf("history entry %d: %w", idx, err)
		}
		before := tracker.state()
		touched := false
		if _, err := apply(st, idx, cmd, func(ev event.Event) { touched = tracker.apply(ev) || touched }); err != nil {
			return err
		}
		if touched && changed != nil {
			changed(ObjectChange{Index: idx, Command: cmd, Before: before, After: tracker.state()})
		}
	}
	if upto > 0 && changed != nil {
		changed(ObjectChange{Index: upto, After: tracker.state()})
	}
	return it.Error()
}

// pin is a snapshot of the replica's database, or ErrClosed.
func (s *StateMachine) pin() (*pebble.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	select {
	case <-s.closing:
		return nil, ErrClosed
	default:
	}
	if s.db == nil {
		return nil, ErrClosed
	}
	return s.db.NewSnapshot(), nil
}

// baseReplica is an in-memory database holding the base image of snap,
// which the replay applies the history to.
func baseReplica(snap *pebble.Snapshot) (*pebble.DB, error) {
	opts := pebbleOptions()
	opts.FS = vfs.NewMem()
	db, err := openPebble("", opts)
	if err != nil {
		return nil, err
	}
	b := db.NewBatch()
	for _, area := range dataAreas {
		it := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{baseOf(area)}, UpperBound: []byte{baseOf(area) + 1}})
		for ok := it.First(); ok; ok = it.Next() {
			if err := b.Set(it.Key(), it.Value(), nil); err != nil {
				it.Close()
				db.Close()
				return nil, err
			}
		}
		if err := it.Close(); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// baseStores are the stores over the base areas of batch, as the trim of
// the history folds commands into them.
func baseStores(batch *pebble.Batch) stores {
	return stores{kv: newPebbleKV(batch, baseOf(areaKV)), sessions: newPebbleSessions(batch, true), catalog: newPebbleCatalog(batch, true),
		queries:  newPebbleQueries(batch, true),
		operator: newOperatorStore(batch, true),
		ca:       newPebbleCA(batch, true),
		acl:      newACLStore(batch, true), config: newConfigEntryStore(batch, true), kvrep: newKVReplicationStore(batch, true)}
}

func indexOfKey(k []byte) uint64 {
	var idx uint64
	for _, b := range k[1:9] {
		idx = idx<<8 | uint64(b)
	}
	return idx
}

// tracker follows one object through the events of a replay.
type tracker interface {
	// load reads the object from the base image.
	load(st stores) error
	// apply folds an event in; true when it concerns the object.
	apply(ev event.Event) bool
	// state is a copy of the object as it is now.
	state() any
}

func newTracker(kind, name string) (tracker, error) {
	if name == "" {
		return nil, fmt.Errorf("missing %s name", kind)
	}
	switch kind {
	case ObjectKV:
		return &kvTracker{key: name}, nil
	case ObjectService:
		return &serviceTracker{name: name, instances: map[string]*event.Service{}, nodes: map[string]*event.Node{}}, nil
	case ObjectNode:
		return &nodeTracker{name: name, services: map[string]*event.Service{}, checks: map[string]*event.Check{}}, nil
	}
	return nil, fmt.Errorf("unknown kind %q: one of kv, service, node", kind)
}

type kvTracker struct {
	key   string
	entry *event.KVEntry
}

func (t *kvTracker) load(st stores) (err error) {
	t.entry, err = st.kv.get(t.key)
	return err
}

func (t *kvTracker) apply(ev event.Event) bool {
	if ev.Key != t.key || (ev.Type != event.KVUpdated && ev.Type != event.KVDeleted) {
		return false
	}
	t.entry = nil
	if ev.Type == event.KVUpdated {
		t.entry = ev.KV.Clone()
	}
	return true
}

func (t *kvTracker) state() any {
	if t.entry == nil {
		return (*event.KVEntry)(nil)
	}
	return t.entry.Clone()
}

type serviceTracker struct {
	name      string
	instances map[string]*event.Service // lower-case node \x00 ID
	nodes     map[string]*event.Node    // lower-case name, of the instances' nodes
}

func instanceID(s *event.Service) string {
	return strings.ToLower(s.Node) + "\x00" + strings.ToLower(s.ID)
}

func (t *serviceTracker) load(st stores) error {
	pc, ok := st.catalog.(*pebbleCatalog)
	if !ok {
		return fmt.Errorf("replay: unexpected catalog store %T", st.catalog)
	}
	var nodes []string
	err := scanJSON(pc.batch.NewIter, []byte{pc.serviceArea}, func(s *event.Service) error {
		if strings.EqualFold(s.Service, t.name) {
			t.instances[instanceID(s)] = s
			nodes = append(nodes, s.Node)
		}
		return nil
	})
	for _, n := range nodes {
		if err != nil {
			break
		}
		var node *event.Node
		if node, err = st.catalog.node(n); node != nil {
			t.nodes[strings.ToLower(n)] = node
		}
	}
	return err
}

func (t *serviceTracker) apply(ev event.Event) bool {
	switch ev.Type {
	case event.ServiceUpdated, event.ServiceDeleted:
		id := instanceID(ev.Service)
		_, had := t.instances[id]
		mine := strings.EqualFold(ev.Service.Service, t.name)
		if ev.Type == event.ServiceUpdated && mine {
			t.instances[id] = ev.Service
			return true
		}
		delete(t.instances, id) // deleted, or renamed to another service
		return had
	case event.NodeUpdated, event.NodeDeleted:
		key := strings.ToLower(ev.Node.Node)
		if ev.Type == event.NodeUpdated {
			t.nodes[key] = ev.Node
		} else {
			delete(t.nodes, key)
		}
		for id := range t.instances {
			if strings.HasPrefix(id, key+"\x00") {
				return true
			}
		}
	}
	return false
}

func (t *serviceTracker) state() any {
	out := make([]ServiceInstance, 0, len(t.instances))
	for _, s := range t.instances {
		node := t.nodes[strings.ToLower(s.Node)]
		if node == nil {
			node = &event.Node{Node: s.Node}
		}
		out = append(out, ServiceInstance{Node: node, Service: s})
	}
	sort.Slice(out, func(i, j int) bool { return instanceID(out[i].Service) < instanceID(out[j].Service) })
	return out
}

type nodeTracker struct {
	name     string
	node     *event.Node
	services map[string]*event.Service // lower-case ID
	checks   map[string]*event.Check   // lower-case ID
}

func (t *nodeTracker) load(st stores) error {
	var err error
	if t.node, err = st.catalog.node(t.name); err != nil {
		return err
	}
	if err := st.catalog.services(t.name, func(s *event.Service) error {
		t.services[strings.ToLower(s.ID)] = s
		return nil
	}); err != nil {
		return err
	}
	return st.catalog.checks(t.name, func(c *event.Check) error {
		t.checks[strings.ToLower(c.CheckID)] = c
		return nil
	})
}

func (t *nodeTracker) apply(ev event.Event) bool {
	switch {
	case ev.Node != nil && strings.EqualFold(ev.Node.Node, t.name):
		if ev.Type == event.NodeDeleted {
			t.node = nil
			clear(t.services)
			clear(t.checks)
		} else {
			t.node = ev.Node
		}
	case ev.Service != nil && strings.EqualFold(ev.Service.Node, t.name):
		if ev.Type == event.ServiceDeleted {
			delete(t.services, strings.ToLower(ev.Service.ID))
		} else {
			t.services[strings.ToLower(ev.Service.ID)] = ev.Service
		}
	case ev.Check != nil && strings.EqualFold(ev.Check.Node, t.name):
		if ev.Type == event.CheckDeleted {
			delete(t.checks, strings.ToLower(ev.Check.CheckID))
		} else {
			t.checks[strings.ToLower(ev.Check.CheckID)] = ev.Check
		}
	default:
		return false
	}
	return true
}

func (t *nodeTracker) state() any {
	if t.node == nil {
		return (*NodeState)(nil)
	}
	out := &NodeState{Node: t.node, Services: []*event.Service{}, Checks: []*event.Check{}}
	for _, s := range t.services {
		out.Services = append(out.Services, s)
	}
	for _, c := range t.checks {
		out.Checks = append(out.Checks, c)
	}
	sort.Slice(out.Services, func(i, j int) bool { return out.Services[i].ID < out.Services[j].ID })
	sort.Slice(out.Checks, func(i, j int) bool { return out.Checks[i].CheckID < out.Checks[j].CheckID })
	return out
}
