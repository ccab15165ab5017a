package statemachine

import (
	"errors"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Config entries (catalog shard): one JSON record per kind and name.
// Names are kept as written and compared exactly, as Consul's state store
// does.

const areaConfigEntries byte = 0x20 // kind \x00 name -> JSON event.ConfigEntry

// configEntryEventKey is the Key of config entry events: their subject on
// the event stream is herald.<dc>.catalog.config.<kind>.<name>.
func configEntryEventKey(kind, name string) string { return "config/" + kind + "/" + name }

type configEntryStore struct {
	batch *pebble.Batch
	area  byte
	// replication is the area of the replication status (cfgrep.go).
	replication byte
}

func newConfigEntryStore(b *pebble.Batch, base bool) configEntryStore {
	if base {
		return configEntryStore{batch: b, area: baseOf(areaConfigEntries), replication: baseOf(areaConfigReplication)}
	}
	return configEntryStore{batch: b, area: areaConfigEntries, replication: areaConfigReplication}
}

func configEntryKey(area byte, kind, name string) []byte { return areaKey(area, kind+"\x00"+name) }

func (st configEntryStore) get(kind, name string) (*event.ConfigEntry, error) {
	return getJSON[event.ConfigEntry](st.batch, configEntryKey(st.area, kind, name))
}

// applyConfigEntry applies the config entry commands; ok is false for any
// other command. A failed CAS comparison is a refusal, which the API
// answers as false.
func applyConfigEntry(st configEntryStore, idx uint64, cmd command.Command, emit func(event.Event)) (res command.Result, ok bool, err error) {
	switch body := cmd.Body.(type) {
	case *command.ConfigEntrySetBody:
		err = applyConfigEntrySet(st, idx, body, emit)
	case *command.ConfigEntryDeleteBody:
		err = applyConfigEntryDelete(st, idx, body, emit)
	case *command.ConfigReplicateBody:
		err = applyConfigReplicate(st, idx, cmd.Time, body, emit)
	default:
		return command.Result{}, false, nil
	}
	var refused *refusedError
	if errors.As(err, &refused) {
		return command.Refused(refused.what), true, nil
	}
	if err != nil {
		return command.Result{}, true, err
	}
	return command.Succeeded, true, nil
}

func applyConfigEntrySet(st configEntryStore, idx uint64, b *command.ConfigEntrySetBody, emit func(event.Event)) error {
	e := b.Entry
	if e.Kind == "" || e.Name == "" {
		return failed("config entry needs a kind and a name")
	}
	old, err := st.get(e.Kind, e.Name)
	if err != nil {
		return err
	}
	if b.CAS && modifyIndex(old) != b.Index {
		return failed("CAS failed: the entry's index is %d, not %d", modifyIndex(old), b.Index)
	}
	e.CreateIndex, e.ModifyIndex = idx, idx
	if old != nil {
		if string(old.Body) == string(e.Body) {
			return nil // the same entry: no change, no index
		}
		e.CreateIndex = old.CreateIndex
	}
	if err := putJSON(st.batch, configEntryKey(st.area, e.Kind, e.Name), &e); err != nil {
		return err
	}
	emit(event.Event{Type: event.ConfigEntryUpdated, Key: configEntryEventKey(e.Kind, e.Name), ConfigEntry: &e})
	return nil
}

func applyConfigEntryDelete(st configEntryStore, idx uint64, b *command.ConfigEntryDeleteBody, emit func(event.Event)) error {
	old, err := st.get(b.Kind, b.Name)
	if err != nil {
		return err
	}
	if b.CAS && modifyIndex(old) != b.Index {
		return failed("CAS failed: the entry's index is %d, not %d", modifyIndex(old), b.Index)
	}
	if old == nil {
		return nil
	}
	if err := st.batch.Delete(configEntryKey(st.area, b.Kind, b.Name), nil); err != nil {
		return err
	}
	old.ModifyIndex = idx
	emit(event.Event{Type: event.ConfigEntryDeleted, Key: configEntryEventKey(b.Kind, b.Name), ConfigEntry: old})
	return nil
}

func modifyIndex(e *event.ConfigEntry) uint64 {
	if e == nil {
		return 0
	}
	return e.ModifyIndex
}

func (d dbSource) ScanConfigEntries(fn func(*event.ConfigEntry) error) error {
	return scanJSON(d.r.NewIter, []byte{areaConfigEntries}, fn)
}

func (m *memSource) ScanConfigEntries(fn func(*event.ConfigEntry) error) error {
	for _, e := range m.configEntries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}
