package projections

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/event"
)

func put(kv *KV, index uint64, key string) {
	kv.Apply(index, []event.Event{{Type: event.KVUpdated, Shard: event.ShardKV, Index: index, Key: key,
		KV: &event.KVEntry{Key: key, CreateIndex: index, ModifyIndex: index}}})
}

func del(kv *KV, index uint64, key string) {
	kv.Apply(index, []event.Event{{Type: event.KVDeleted, Shard: event.ShardKV, Index: index, Key: key,
		KV: &event.KVEntry{Key: key, ModifyIndex: index}}})
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWakeupsAreScoped(t *testing.T) {
	kv := NewKV()
	put(kv, 1, "a/b")
	_, _, keyAB := kv.Get("a/b", true)
	_, _, keyABC := kv.Get("a/b/c", true) // absent key
	_, _, treeA := kv.List("a/", true)
	_, _, treeX := kv.List("x/", true)
	_, _, treeAll := kv.Keys("", "/", true)

	put(kv, 2, "a/b/c")
	if closed(keyAB) {
		t.Error("a change to a/b/c woke the waiter of a/b")
	}
	if !closed(keyABC) || !closed(treeA) || !closed(treeAll) {
		t.Error("a change to a/b/c did not wake its own key, a/ or the whole tree")
	}
	if closed(treeX) {
		t.Error("a change under a/ woke the waiter of x/")
	}
	del(kv, 3, "a/b")
	if !closed(keyAB) {
		t.Error("deleting a/b did not wake its waiter")
	}
}

func TestIndexesFollowConsul(t *testing.T) {
	kv := NewKV()
	put(kv, 5, "app/x")
	put(kv, 6, "other")
	if e, idx, _ := kv.Get("app/x", false); e == nil || idx != 5 {
		t.Fatalf("present key: index %d, want its ModifyIndex 5", idx)
	}
	if _, idx, _ := kv.Get("missing", false); idx != 6 {
		t.Fatalf("missing key: index %d, want the tree's 6", idx)
	}
	if _, idx, _ := kv.List("app/", false); idx != 5 {
		t.Fatalf("prefix: index %d, want 5", idx)
	}
	del(kv, 7, "app/x")
	put(kv, 8, "other")
	if list, idx, _ := kv.List("app/", false); len(list) != 0 || idx != 7 {
		t.Fatalf("prefix after delete: %d entries, index %d, want 0 and 7 (the deletion)", len(list), idx)
	}
	if _, idx, _ := kv.List("", false); idx != 8 {
		t.Fatalf("whole tree: index %d, want 8", idx)
	}
	if _, idx, _ := kv.List("nothing/", false); idx != 8 {
		t.Fatalf("empty prefix: index %d, want the tree's 8", idx)
	}
}

func TestKeysWithSeparator(t *testing.T) {
	kv := NewKV()
	for i, k := range []string{"a/1", "a/2/x", "a/2/y", "a/3/", "ab", "b"} {
		put(kv, uint64(i+1), k)
	}
	cases := []struct{ prefix, sep, want string }{
		{"", "/", "a/ ab b"},
		{"a/", "/", "a/1 a/2/ a/3/"},
		{"a/2/", "/", "a/2/x a/2/y"},
		{"a", "", "a/1 a/2/x a/2/y a/3/ ab"},
		{"a/", "2", "a/1 a/2 a/3/"},
	}
	for _, c := range cases {
		got, _, _ := kv.Keys(c.prefix, c.sep, false)
		if strings.Join(got, " ") != c.want {
			t.Errorf("keys %q sep %q: %v, want %s", c.prefix, c.sep, got, c.want)
		}
	}
}

// kvSource is a Source holding only KV entries, in key order.
type kvSource []*event.KVEntry

func (s kvSource) ScanKV(prefix string, fn func(*event.KVEntry) error) error {
	for _, e := range s {
		if strings.HasPrefix(e.Key, prefix) {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}
func (kvSource) ScanCatalog(func(*event.Node) error, func(*event.Service) error, func(*event.Check) error) error {
	return nil
}
func (kvSource) ScanSessions(func(*event.Session) error) error      { return nil }
func (kvSource) ScanQueries(func(*event.PreparedQuery) error) error { return nil }

// A reload keeps the old tree's entry for a key whose entry is unchanged
// (so a reload does not hold it twice) and takes the new one for every
// other: a changed value, index, flag or session, or nil against empty.
func TestLoadTakesOverUnchangedEntries(t *testing.T) {
	entry := func(key string, value []byte, modify uint64) *event.KVEntry {
		return &event.KVEntry{Key: key, Value: value, CreateIndex: 1, ModifyIndex: modify}
	}
	kv := NewKV()
	first := kvSource{entry("a", []byte("1"), 2), entry("b", []byte("1"), 2), entry("c", []byte("1"), 2),
		entry("d", nil, 2), entry("e", []byte("1"), 2)}
	if err := kv.Load(2, first); err != nil {
		t.Fatal(err)
	}
	flagged := entry("e", []byte("1"), 2)
	flagged.Flags = 7
	second := kvSource{entry("a", []byte("1"), 2), entry("b", []byte("2"), 2), entry("c", []byte("1"), 3),
		entry("d", []byte{}, 2), flagged, entry("f", []byte("1"), 2)}
	if err := kv.Load(3, second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []*event.KVEntry{first[0], second[1], second[2], second[3], second[4], second[5]} {
		if got, _, _ := kv.Get(want.Key, false); got != want {
			t.Errorf("key %s: got %+v (%p), want the entry %p", want.Key, got, got, want)
		}
	}
}
