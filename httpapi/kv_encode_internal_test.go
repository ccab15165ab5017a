package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/heraldhq/herald/event"
)

// TestAppendKVEntryMatchesEncoder holds the hand-made answer of a
// single-key read to what encoding/json writes for the same entry, on
// keys and sessions that need escaping and on values absent, empty and
// binary.
func TestAppendKVEntryMatchesEncoder(t *testing.T) {
	entries := []*event.KVEntry{
		{Key: "plain/key", CreateIndex: 1, ModifyIndex: 2, LockIndex: 3, Flags: 4, Value: []byte("value")},
		{Key: "no-value"},
		{Key: "empty-value", Value: []byte{}},
		{Key: "binary", Value: []byte{0, 1, 2, 0xff, 0xfe, '"', '\\'}, Flags: math.MaxUint64, ModifyIndex: math.MaxUint64},
		{Key: `quote"back\slash`, Session: "5f2f1c4e-9d1b-4e5a-8f0e-1d2c3b4a5968"},
		{Key: "html <script>&amp;", Session: "<&>"},
		{Key: "tab\tnewline\ncontrol\x01", Value: []byte("v")},
		{Key: "ünïcödé/ключ/键", Value: []byte("ünïcödé")},
		{Key: "invalid utf-8 \xff\xfe", Session: "line\u2028sep\u2029"},
		{Key: "del\x7f"},
		{Key: ""},
	}
	for _, e := range entries {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode([]*event.KVEntry{e}); err != nil {
			t.Fatal(err)
		}
		if got := appendKVEntry(nil, e); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("key %q:\n got %s\nwant %s", e.Key, got, want.Bytes())
		}
	}
}
