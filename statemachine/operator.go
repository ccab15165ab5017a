package statemachine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// areaOperator holds the operator's replicated settings, one key each:
// today the autopilot configuration.
const areaOperator byte = 0x1B

// keyAutopilot is the autopilot configuration's key in areaOperator.
const keyAutopilot = "autopilot"

// operatorStore is what operator rules read and write.
type operatorStore struct {
	batch *pebble.Batch
	area  byte
}

func newOperatorStore(b *pebble.Batch, base bool) operatorStore {
	if base {
		return operatorStore{b, baseOf(areaOperator)}
	}
	return operatorStore{b, areaOperator}
}

func (o operatorStore) autopilot() (*event.AutopilotConfig, error) {
	return getJSON[event.AutopilotConfig](o.batch, areaKey(o.area, keyAutopilot))
}

func (o operatorStore) putAutopilot(c *event.AutopilotConfig) error {
	return putJSON(o.batch, areaKey(o.area, keyAutopilot), c)
}

// applyAutopilotSet writes the autopilot configuration, refused when a CAS
// names another ModifyIndex than the stored one (0 when none is stored),
// as Consul's autopilot CAS is.
func applyAutopilotSet(st operatorStore, idx uint64, b *command.AutopilotSetBody, emit func(event.Event)) error {
	old, err := st.autopilot()
	if err != nil {
		return err
	}
	if b.CAS {
		current := uint64(0)
		if old != nil {
			current = old.ModifyIndex
		}
		if current != b.Index {
			return failed("the autopilot configuration's index is %d, not %d", current, b.Index)
		}
	}
	c := b.Config
	c.CreateIndex, c.ModifyIndex = idx, idx
	if old != nil {
		c.CreateIndex = old.CreateIndex
	}
	if err := st.putAutopilot(&c); err != nil {
		return err
	}
	emit(event.Event{Type: event.AutopilotUpdated, Shard: event.ShardCatalog, Index: idx, Key: event.AutopilotKey, Autopilot: &c})
	return nil
}

// AutopilotConfig is the autopilot configuration this replica has
// applied, nil when none was ever written (autopilot then follows the
// agent's configuration file).
func (s *StateMachine) AutopilotConfig() (*event.AutopilotConfig, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	v, closer, err := s.db.Get(areaKey(areaOperator, keyAutopilot))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	c := new(event.AutopilotConfig)
	if err := json.Unmarshal(v, c); err != nil {
		return nil, fmt.Errorf("corrupt autopilot configuration: %w", err)
	}
	return c, nil
}
