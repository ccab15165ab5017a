package projections

import (
	"bytes"
	"sort"
	"strings"
	"sync"

	"github.com/google/btree"

	"github.com/heraldhq/herald/event"
)

// maxTombstones bounds the memory of deleted keys kept for prefix indexes.
// When it is exceeded they are dropped and their highest index becomes a
// floor for every prefix's index: a waiter may then wake once for nothing,
// which blocking-query clients handle, but never miss a change.
const maxTombstones = 100_000

type tombstone struct {
	key   string
	index uint64
}

// KV is the key/value tree of the kv shard.
type KV struct {
	mu         sync.RWMutex
	entries    *btree.BTreeG[*event.KVEntry]
	tombstones *btree.BTreeG[tombstone]
	tombFloor  uint64
	// index is the kvs table's index in Consul's sense: the last Raft index
	// at which any key changed (or the shard's index when loaded).
	index     uint64
	keyWatch  notifier
	treeWatch notifier // by prefix, "" for the whole tree

	// Sessions live in the kv shard with the locks they hold.
	sessions      map[string]*event.Session
	sessionsIndex uint64
	sessionWatch  notifier // one name: "sessions"
}

// NewKV returns an empty tree.
func NewKV() *KV {
	return &KV{
		entries:      btree.NewG(32, func(a, b *event.KVEntry) bool { return a.Key < b.Key }),
		tombstones:   btree.NewG(32, func(a, b tombstone) bool { return a.key < b.key }),
		keyWatch:     notifier{},
		treeWatch:    notifier{},
		sessions:     map[string]*event.Session{},
		sessionWatch: notifier{},
	}
}

// Load replaces the tree with the state in src, read at index.
//
// The old tree serves reads until the new one is whole, so both are alive
// meanwhile; an entry the new state holds unchanged (a restore of this
// cluster's own recent snapshot, a reload at start-up of what was loaded)
// is taken over from the old tree instead of held twice: entries in the
// tree are never changed in place (Apply replaces them), so sharing one
// is safe. That keeps a reload's live heap near one tree's, not two.
func (kv *KV) Load(index uint64, src event.Source) error {
	kv.mu.Lock()
	old := kv.entries.Clone() // copy-on-write: Apply may go on with kv.entries
	kv.mu.Unlock()
	entries := btree.NewG(32, func(a, b *event.KVEntry) bool { return a.Key < b.Key })
	err := src.ScanKV("", func(e *event.KVEntry) error {
		if prev, ok := old.Get(e); ok && sameEntry(prev, e) {
			e = prev
		}
		entries.ReplaceOrInsert(e)
		return nil
	})
	if err != nil {
		return err
	}
	sessions := map[string]*event.Session{}
	if err := src.ScanSessions(func(s *event.Session) error {
		sessions[s.ID] = s
		return nil
	}); err != nil {
		return err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.sessions, kv.sessionsIndex = sessions, index
	kv.sessionWatch.fireAll()
	kv.entries = entries
	kv.tombstones.Clear(false)
	kv.tombFloor = index
	kv.index = index
	kv.keyWatch.fireAll()
	kv.treeWatch.fireAll()
	return nil
}

// sameEntry reports whether a and b hold the same key, value (nil and
// empty apart, as Consul's API tells them apart), indexes, flags and
// session.
func sameEntry(a, b *event.KVEntry) bool {
	return a.Key == b.Key && a.CreateIndex == b.CreateIndex && a.ModifyIndex == b.ModifyIndex &&
		a.LockIndex == b.LockIndex && a.Flags == b.Flags && a.Session == b.Session &&
		(a.Value == nil) == (b.Value == nil) && bytes.Equal(a.Value, b.Value)
}

// Apply folds the events of one Raft index into the tree and wakes the
// waiters of exactly the keys and prefixes they touched.
func (kv *KV) Apply(index uint64, events []event.Event) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	changed := false
	for _, ev := range events {
		switch ev.Type {
		case event.KVUpdated:
			kv.entries.ReplaceOrInsert(ev.KV)
			kv.tombstones.Delete(tombstone{key: ev.Key})
		case event.KVDeleted:
			kv.entries.Delete(&event.KVEntry{Key: ev.Key})
			kv.tombstones.ReplaceOrInsert(tombstone{key: ev.Key, index: index})
		case event.SessionUpdated, event.SessionDeleted:
			if ev.Type == event.SessionUpdated {
				kv.sessions[ev.Session.ID] = ev.Session
			} else {
				delete(kv.sessions, ev.Session.ID)
			}
			kv.sessionsIndex = index
			kv.sessionWatch.fire("sessions")
			continue
		default:
			continue
		}
		changed = true
		kv.fire(ev.Key)
	}
	if changed {
		kv.index = index
	}
	if kv.tombstones.Len() > maxTombstones {
		kv.tombstones.Clear(false)
		kv.tombFloor = index
	}
}

// fire wakes the key's waiters and those of every prefix of it.
func (kv *KV) fire(key string) {
	kv.keyWatch.fire(key)
	if len(kv.treeWatch) == 0 {
		return
	}
	for i := 0; i <= len(key); i++ {
		kv.treeWatch.fire(key[:i])
	}
}

// Index is the last index at which any key changed.
func (kv *KV) Index() uint64 {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return nonZero(kv.index)
}

// nonZero keeps index 0 out of answers: a client that blocks on index 0
// would not block at all.
func nonZero(i uint64) uint64 {
	if i == 0 {
		return 1
	}
	return i
}

// lock takes the lock a read needs: shared for a plain read, exclusive for
// one that registers a wake-up channel. It returns the unlock function.
func (kv *KV) lock(watch bool) func() {
	if watch {
		kv.mu.Lock()
		return kv.mu.Unlock
	}
	kv.mu.RLock()
	return kv.mu.RUnlock
}

// Get returns the key's entry (nil if absent), the index to answer with,
// and, when watch is set, a channel closed when the key changes. As in
// Consul, the index of a present key is its ModifyIndex, and of an absent
// one the tree's index.
func (kv *KV) Get(key string, watch bool) (*event.KVEntry, uint64, <-chan struct{}) {
	defer kv.lock(watch)()
	var ch <-chan struct{}
	if watch {
		ch = kv.keyWatch.watch(key)
	}
	if e, ok := kv.entries.Get(&event.KVEntry{Key: key}); ok {
		return e, nonZero(e.ModifyIndex), ch
	}
	return nil, nonZero(kv.index), ch
}

// List returns the entries under prefix in key order, the index to answer
// with (the highest change under the prefix, deletions included), and, when
// watch is set, a channel closed when anything under the prefix changes.
func (kv *KV) List(prefix string, watch bool) ([]*event.KVEntry, uint64, <-chan struct{}) {
	defer kv.lock(watch)()
	var out []*event.KVEntry
	var index uint64
	kv.ascendPrefix(prefix, func(e *event.KVEntry) {
		out = append(out, e)
		index = max(index, e.ModifyIndex)
	})
	return out, kv.prefixIndex(prefix, index), kv.watchPrefix(prefix, watch)
}

func (kv *KV) watchPrefix(prefix string, watch bool) <-chan struct{} {
	if !watch {
		return nil
	}
	return kv.treeWatch.watch(prefix)
}

// Keys returns the keys under prefix, cut after the first separator that
// follows the prefix (Consul's ?keys&separator=), without duplicates.
func (kv *KV) Keys(prefix, separator string, watch bool) ([]string, uint64, <-chan struct{}) {
	defer kv.lock(watch)()
	var out []string
	var index uint64
	kv.ascendPrefix(prefix, func(e *event.KVEntry) {
		index = max(index, e.ModifyIndex)
		k := e.Key
		if separator != "" {
			if i := strings.Index(k[len(prefix):], separator); i >= 0 {
				k = k[:len(prefix)+i+len(separator)]
			}
		}
		if len(out) == 0 || out[len(out)-1] != k {
			out = append(out, k)
		}
	})
	return out, kv.prefixIndex(prefix, index), kv.watchPrefix(prefix, watch)
}

func (kv *KV) ascendPrefix(prefix string, fn func(*event.KVEntry)) {
	kv.entries.AscendGreaterOrEqual(&event.KVEntry{Key: prefix}, func(e *event.KVEntry) bool {
		if !strings.HasPrefix(e.Key, prefix) {
			return false
		}
		fn(e)
		return true
	})
}

// prefixIndex follows Consul: the highest index among the entries and the
// deletions under the prefix, or the tree's index when that is zero or the
// prefix is empty.
func (kv *KV) prefixIndex(prefix string, entriesIndex uint64) uint64 {
	if prefix == "" {
		return nonZero(kv.index)
	}
	index := max(entriesIndex, kv.tombFloor)
	kv.tombstones.AscendGreaterOrEqual(tombstone{key: prefix}, func(t tombstone) bool {
		if !strings.HasPrefix(t.key, prefix) {
			return false
		}
		index = max(index, t.index)
		return true
	})
	if index == 0 {
		return nonZero(kv.index)
	}
	return index
}

// Sessions returns the sessions that keep returns true for (all of them
// when keep is nil), sorted by ID, with the sessions' index.
func (kv *KV) Sessions(keep func(*event.Session) bool, watch bool) ([]*event.Session, uint64, <-chan struct{}) {
	defer kv.lock(watch)()
	out := []*event.Session{}
	for _, s := range kv.sessions {
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	var ch <-chan struct{}
	if watch {
		ch = kv.sessionWatch.watch("sessions")
	}
	return out, nonZero(max(kv.sessionsIndex, kv.index)), ch
}

// Session returns one session, nil if there is none.
func (kv *KV) Session(id string) *event.Session {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return kv.sessions[id]
}
