package projections

import (
	"sort"
	"sync"

	"github.com/heraldhq/herald/event"
)

// ConfigEntries is the read model of the config entries (catalog shard):
// every entry by kind and name, and the index of the last change to any of
// them, which is what blocking reads of config entries wait on (Consul's
// config-entries table index).
type ConfigEntries struct {
	mu      sync.RWMutex
	entries map[string]map[string]*event.ConfigEntry // kind -> name
	index   uint64
	watch   notifier
}

// NewConfigEntries returns an empty projection.
func NewConfigEntries() *ConfigEntries {
	return &ConfigEntries{entries: map[string]map[string]*event.ConfigEntry{}, watch: notifier{}}
}

const configEntriesWatch = "config-entries"

// Load replaces the entries with src's, read at index. A source without
// config entries leaves none.
func (c *ConfigEntries) Load(index uint64, src event.Source) error {
	fresh := map[string]map[string]*event.ConfigEntry{}
	if s, ok := src.(event.ConfigEntrySource); ok {
		err := s.ScanConfigEntries(func(e *event.ConfigEntry) error {
			putEntry(fresh, e)
			return nil
		})
		if err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries, c.index = fresh, index
	c.watch.fireAll()
	return nil
}

func putEntry(m map[string]map[string]*event.ConfigEntry, e *event.ConfigEntry) {
	if m[e.Kind] == nil {
		m[e.Kind] = map[string]*event.ConfigEntry{}
	}
	m[e.Kind][e.Name] = e
}

// Apply takes the config entry changes among one index's events.
func (c *ConfigEntries) Apply(index uint64, events []event.Event) {
	for _, ev := range events {
		e := ev.ConfigEntry
		if e == nil || (ev.Type != event.ConfigEntryUpdated && ev.Type != event.ConfigEntryDeleted) {
			continue
		}
		c.mu.Lock()
		if ev.Type == event.ConfigEntryUpdated {
			putEntry(c.entries, e)
		} else {
			delete(c.entries[e.Kind], e.Name)
		}
		c.index = index
		c.watch.fireAll()
		c.mu.Unlock()
	}
}

func (c *ConfigEntries) lock(watch bool) func() {
	if watch {
		c.mu.Lock()
		return c.mu.Unlock
	}
	c.mu.RLock()
	return c.mu.RUnlock
}

func (c *ConfigEntries) watchCh(watch bool) <-chan struct{} {
	if !watch {
		return nil
	}
	return c.watch.watch(configEntriesWatch)
}

// Get returns the entry of kind and name (nil when there is none; never to
// be modified), the index and, with watch, a channel closed at the next
// change of any entry.
func (c *ConfigEntries) Get(kind, name string, watch bool) (*event.ConfigEntry, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	return c.entries[kind][name], nonZero(c.index), c.watchCh(watch)
}

// List returns the entries of kind ("" for every kind), by kind and name.
func (c *ConfigEntries) List(kind string, watch bool) ([]*event.ConfigEntry, uint64, <-chan struct{}) {
	defer c.lock(watch)()
	var out []*event.ConfigEntry
	for k, byName := range c.entries {
		if kind != "" && k != kind {
			continue
		}
		for _, e := range byName {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nonZero(c.index), c.watchCh(watch)
}
