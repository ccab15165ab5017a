package statemachine

import (
	"reflect"
	"testing"

	"github.com/heraldhq/herald/event"
)

func TestEntryRoundTrip(t *testing.T) {
	for _, e := range []*event.KVEntry{
		{Key: "k", CreateIndex: 1, ModifyIndex: 2, LockIndex: 3, Flags: 42, Value: []byte("v"), Session: "s"},
		{Key: "nil value", CreateIndex: 7, ModifyIndex: 7},
		{Key: "empty value", Value: []byte{}},
	} {
		got, err := decodeEntry(e.Key, encodeEntry(e))
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip of %+v: %+v %v", e, got, err)
		}
	}
}

// FuzzDecodeEntry: stored bytes that are corrupt must give an error, never a
// panic, and whatever decodes must encode back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(&event.KVEntry{Key: "k", CreateIndex: 1, ModifyIndex: 2, Value: []byte("v"), Session: "s"}))
	f.Add(encodeEntry(&event.KVEntry{Key: "k"}))
	f.Add([]byte{1, 2, 3, 4, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry("k", b)
		if err != nil {
			return
		}
		again, err := decodeEntry("k", encodeEntry(e))
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("re-decode of %+v: %+v %v", e, again, err)
		}
	})
}
