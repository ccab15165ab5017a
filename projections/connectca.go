package projections

import (
	"sync"

	"github.com/heraldhq/herald/event"
)

// ConnectCA is the read model of the Connect CA (catalog shard): its state,
// the index of its last change, and the waiters of a change.
type ConnectCA struct {
	mu    sync.RWMutex
	state *event.ConnectCA
	index uint64
	watch notifier
}

// NewConnectCA returns a CA projection with no CA yet.
func NewConnectCA() *ConnectCA { return &ConnectCA{watch: notifier{}} }

const caWatchName = "ca"

// Load replaces the state with src's, read at index. A source of a shard
// that holds no CA (or from a build without one) leaves it empty.
func (c *ConnectCA) Load(index uint64, src event.Source) error {
	var state *event.ConnectCA
	if s, ok := src.(event.ConnectCASource); ok {
		var err error
		if state, err = s.ConnectCA(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state, c.index = state, index
	c.watch.fireAll()
	return nil
}

// Apply takes the CA's changes among one index's events.
func (c *ConnectCA) Apply(index uint64, events []event.Event) {
	for _, ev := range events {
		if ev.Type != event.ConnectCAUpdated || ev.ConnectCA == nil {
			continue
		}
		c.mu.Lock()
		c.state, c.index = ev.ConnectCA, index
		c.watch.fireAll()
		c.mu.Unlock()
	}
}

// State is the CA state (nil when no root was ever created; never to be
// modified), the index of its last change and, with watch, a channel closed
// at the next change.
func (c *ConnectCA) State(watch bool) (*event.ConnectCA, uint64, <-chan struct{}) {
	if watch {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.state, c.index, c.watch.watch(caWatchName)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.state, c.index, nil
}
