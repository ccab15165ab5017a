package statemachine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cockroachdb/pebble"

	"github.com/heraldhq/herald/event"
)

// kvStore is what KV apply logic reads and writes. The same logic runs over
// the live area, over the history's base image when old commands are folded
// into it, and over an in-memory map when `herald debug replay` rebuilds a
// past state: one implementation of Consul's KV rules, three places.
type kvStore interface {
	get(key string) (*event.KVEntry, error)
	put(e *event.KVEntry) error
	del(key string) error
	// scan calls fn for every entry whose key starts with prefix, in key order.
	scan(prefix string, fn func(*event.KVEntry) error) error
}

// encodeEntry lays out an entry as uvarints and length-prefixed strings; the
// key is the Pebble key's suffix and is not repeated.
func encodeEntry(e *event.KVEntry) []byte {
	b := make([]byte, 0, 16+len(e.Session)+len(e.Value))
	b = binary.AppendUvarint(b, e.CreateIndex)
	b = binary.AppendUvarint(b, e.ModifyIndex)
	b = binary.AppendUvarint(b, e.LockIndex)
	b = binary.AppendUvarint(b, e.Flags)
	b = binary.AppendUvarint(b, uint64(len(e.Session)))
	b = append(b, e.Session...)
	// A nil value and an empty one differ in Consul's JSON (null vs "").
	if e.Value == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = append(b, e.Value...)
	}
	return b
}

var errCorruptEntry = errors.New("statemachine: corrupt KV entry")

func decodeEntry(key string, b []byte) (*event.KVEntry, error) {
	e := &event.KVEntry{Key: key}
	fields := []*uint64{&e.CreateIndex, &e.ModifyIndex, &e.LockIndex, &e.Flags}
	for _, f := range fields {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, errCorruptEntry
		}
		*f, b = v, b[n:]
	}
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l+1 {
		return nil, errCorruptEntry
	}
	b = b[n:]
	e.Session, b = string(b[:l]), b[l:]
	if b[0] == 1 {
		e.Value = append([]byte{}, b[1:]...)
	}
	return e, nil
}

// pebbleKV is a kvStore over one area of an indexed Pebble batch, so reads see
// the writes of earlier entries of the same Update call.
type pebbleKV struct {
	batch *pebble.Batch
	area  byte
}

func newPebbleKV(b *pebble.Batch, area byte) *pebbleKV { return &pebbleKV{batch: b, area: area} }

func (s *pebbleKV) get(key string) (*event.KVEntry, error) {
	v, closer, err := s.batch.Get(areaKey(s.area, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return decodeEntry(key, v)
}

func (s *pebbleKV) put(e *event.KVEntry) error {
	return s.batch.Set(areaKey(s.area, e.Key), encodeEntry(e), nil)
}

func (s *pebbleKV) del(key string) error { return s.batch.Delete(areaKey(s.area, key), nil) }

func (s *pebbleKV) scan(prefix string, fn func(*event.KVEntry) error) error {
	return scanArea(s.batch.NewIter, s.area, prefix, fn)
}

// scanArea iterates the entries of an area whose key starts with prefix.
func scanArea(newIter func(*pebble.IterOptions) *pebble.Iterator, area byte, prefix string, fn func(*event.KVEntry) error) error {
	lower := areaKey(area, prefix)
	upper := prefixEnd(lower)
	if upper == nil {
		upper = areaEnd(area)
	}
	it := newIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		e, err := decodeEntry(string(it.Key()[1:]), it.Value())
		if err != nil {
			return fmt.Errorf("key %q: %w", it.Key()[1:], err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return it.Error()
}

// overlayKV buffers a transaction's writes over another store, so a failing
// operation can drop them all: Consul's transactions are all or nothing.
type overlayKV struct {
	under   kvStore
	pending map[string]*event.KVEntry // nil value: deleted
	order   []string                  // first-write order, for a deterministic flush
}

func newOverlayKV(under kvStore) *overlayKV {
	return &overlayKV{under: under, pending: map[string]*event.KVEntry{}}
}

func (o *overlayKV) get(key string) (*event.KVEntry, error) {
	if e, ok := o.pending[key]; ok {
		return e, nil
	}
	return o.under.get(key)
}

func (o *overlayKV) note(key string, e *event.KVEntry) {
	if _, ok := o.pending[key]; !ok {
		o.order = append(o.order, key)
	}
	o.pending[key] = e
}

func (o *overlayKV) put(e *event.KVEntry) error { o.note(e.Key, e); return nil }
func (o *overlayKV) del(key string) error       { o.note(key, nil); return nil }

func (o *overlayKV) scan(prefix string, fn func(*event.KVEntry) error) error {
	merged := map[string]*event.KVEntry{}
	if err := o.under.scan(prefix, func(e *event.KVEntry) error {
		merged[e.Key] = e
		return nil
	}); err != nil {
		return err
	}
	for k, e := range o.pending {
		if strings.HasPrefix(k, prefix) {
			merged[k] = e
		}
	}
	keys := make([]string, 0, len(merged))
	for k, e := range merged {
		if e != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(merged[k]); err != nil {
			return err
		}
	}
	return nil
}

// flush writes the buffered changes to the store underneath.
func (o *overlayKV) flush() error {
	for _, k := range o.order {
		var err error
		if e := o.pending[k]; e != nil {
			err = o.under.put(e)
		} else {
			err = o.under.del(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// memKV is an in-memory kvStore for replays.
type memKV map[string]*event.KVEntry

func (m memKV) get(key string) (*event.KVEntry, error) { return m[key], nil }
func (m memKV) put(e *event.KVEntry) error             { m[e.Key] = e; return nil }
func (m memKV) del(key string) error                   { delete(m, key); return nil }
func (m memKV) scan(prefix string, fn func(*event.KVEntry) error) error {
	keys := make([]string, 0)
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(m[k]); err != nil {
			return err
		}
	}
	return nil
}
