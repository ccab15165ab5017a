package statemachine

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// trimHistory drops the oldest retained commands beyond the count and age
// bounds, folding each into the base image first, so that base + history is
// always a complete account of the state. newest is the Time of the newest
// command applied; ages are measured against it rather than the clock, so
// every replica trims identically.
func (s *StateMachine) trimHistory(batch *pebble.Batch, last uint64, newest int64) error {
	base := stores{kv: newPebbleKV(batch, baseOf(areaKV)), sessions: newPebbleSessions(batch, true), catalog: newPebbleCatalog(batch, true),
		queries:  newPebbleQueries(batch, true),
		operator: newOperatorStore(batch, true),
		ca:       newPebbleCA(batch, true),
		acl:      newACLStore(batch, true), config: newConfigEntryStore(batch, true),
		kvrep: newKVReplicationStore(batch, true)}
	folded := 0
	for s.histFirst <= last && folded < foldBatch {
		held := last - s.histFirst + 1
		overCount := s.cfg.RetainCommands > 0 && held > uint64(s.cfg.RetainCommands)
		if !overCount && s.cfg.RetainAge <= 0 {
			break
		}
		raw, closer, err := batch.Get(indexKey(areaHistory, s.histFirst))
		if err != nil {
			return fmt.Errorf("history entry %d: %w", s.histFirst, err)
		}
		cmd, err := command.Decode(raw)
		closer.Close()
		if err != nil {
			return fmt.Errorf("history entry %d: %w", s.histFirst, err)
		}
		if !overCount && newest-cmd.Time <= int64(s.cfg.RetainAge) {
			break
		}
		if _, err := apply(base, s.histFirst, cmd, func(event.Event) {}); err != nil {
			return err
		}
		if err := batch.Delete(indexKey(areaHistory, s.histFirst), nil); err != nil {
			return err
		}
		s.histFirst++
		folded++
	}
	if folded > 0 {
		return batch.Set(keyHistoryFirst, u64Bytes(s.histFirst), nil)
	}
	return nil
}

// HistoryEntry is one retained command.
type HistoryEntry struct {
	Index   uint64
	Command command.Command
	// Err is set when the stored bytes do not decode (a command type newer
	// than this binary).
	Err error
}

// Keys lists the keys a command touches, for `herald debug log`.
func (h HistoryEntry) Keys() []string {
	switch b := h.Command.Body.(type) {
	case *command.KVBody:
		return []string{b.Op.Key}
	case *command.KVTxnBody:
		keys := make([]string, len(b.Ops))
		for i, op := range b.Ops {
			keys[i] = op.Key
		}
		return keys
	}
	return nil
}

// Offline is a read-only view of a stopped replica's state directory, for
// debugging: the retained history and replays of it.
type Offline struct {
	db        *pebble.DB
	applied   uint64
	histFirst uint64
}

// OpenOffline opens the state directory of a stopped server. It fails while
// the server runs, because Pebble locks its directory.
func OpenOffline(dir string) (*Offline, error) {
	opts := pebbleOptions()
	opts.ReadOnly = true
	opts.ErrorIfNotExists = true
	db, err := openPebble(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s (is the server stopped?): %w", dir, err)
	}
	o := &Offline{db: db}
	var offset uint64
	if o.applied, err = readU64(db, keyApplied); err == nil {
		o.histFirst, err = readU64(db, keyHistoryFirst)
	}
	if err == nil {
		offset, err = readU64(db, keyIndexOffset)
	}
	if o.applied > 0 {
		o.applied += offset // the logical index, as the API showed it
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if o.histFirst == 0 {
		o.histFirst = 1
	}
	return o, nil
}

// Close releases the database.
func (o *Offline) Close() error { return o.db.Close() }

// Applied is the last applied index, as the API showed it.
func (o *Offline) Applied() uint64 { return o.applied }

// HistoryFirst is the oldest index still held in the history; the state
// before it survives only as the base image.
func (o *Offline) HistoryFirst() uint64 { return o.histFirst }

// History calls fn for each retained command with from <= index <= to.
func (o *Offline) History(from, to uint64, fn func(HistoryEntry) error) error {
	it := o.db.NewIter(&pebble.IterOptions{
		LowerBound: indexKey(areaHistory, from),
		UpperBound: areaEnd(areaHistory),
	})
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		idx := binary.BigEndian.Uint64(it.Key()[1:])
		if idx > to {
			break
		}
		cmd, err := command.Decode(it.Value())
		if err := fn(HistoryEntry{Index: idx, Command: cmd, Err: err}); err != nil {
			return err
		}
	}
	return it.Error()
}

// ReplayKV rebuilds the KV store as it was right after index was applied:
// the base image plus every retained command up to index, applied with the
// same rules as the live state machine.
func (o *Offline) ReplayKV(index uint64) ([]*event.KVEntry, error) {
	if index+1 < o.histFirst {
		return nil, fmt.Errorf("index %d is older than the retained history, which starts at %d", index, o.histFirst)
	}
	if index > o.applied {
		return nil, fmt.Errorf("index %d is beyond the last applied index %d", index, o.applied)
	}
	state := memKV{}
	if err := scanArea(o.db.NewIter, baseOf(areaKV), "", func(e *event.KVEntry) error {
		return state.put(e)
	}); err != nil {
		return nil, err
	}
	sessions := newMemSessions()
	if err := scanJSON(o.db.NewIter, []byte{baseOf(areaSessions)}, func(s *event.Session) error {
		return sessions.putSession(s)
	}); err != nil {
		return nil, err
	}
	err := o.History(o.histFirst, index, func(h HistoryEntry) error {
		if h.Err != nil {
			return fmt.Errorf("history entry %d: %w", h.Index, h.Err)
		}
		_, err := apply(stores{kv: state, sessions: sessions}, h.Index, h.Command, func(event.Event) {})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*event.KVEntry, 0, len(state))
	for _, e := range state {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// KV returns the live KV entries (the state at Applied).
func (o *Offline) KV() ([]*event.KVEntry, error) {
	var out []*event.KVEntry
	err := dbSource{o.db}.ScanKV("", func(e *event.KVEntry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}
