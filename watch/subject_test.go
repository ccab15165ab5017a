package watch

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/heraldhq/herald/event"
)

func TestKeyTokens(t *testing.T) {
	cases := []struct{ key, tokens string }{
		{"", "%"},
		{"a", "a"},
		{"a/b", "a.b"},
		{"a/b.c/", "a.b%2Ec.%"},
		{"/", "%.%"},
		{"/a", "%.a"},
		{"a//b", "a.%.b"},
		{"100%", "100%25"},
		{"%", "%25"},
		{"*", "%2A"},
		{">", "%3E"},
		{"a*b>c", "a%2Ab%3Ec"},
		{"with space", "with%20space"},
		{"tab\there", "tab%09here"},
		{"nl\r\n", "nl%0D%0A"},
		{"nul\x00", "nul%00"},
		{"del\x7f", "del%7F"},
		{"café/naïve", "café.naïve"},
		{"nbsp\u00a0x", "nbsp%C2%A0x"},
		{"nel\u0085", "nel%C2%85"},
		{"ideographic\u3000space", "ideographic%E3%80%80space"},
		{"bad\xffutf8", "bad%FFutf8"},
		{"service/web/config.json", "service.web.config%2Ejson"},
		{"$sys/x", "$sys.x"},
		{"a-b_c~d:e=f", "a-b_c~d:e=f"},
	}
	for _, c := range cases {
		if got := KeyTokens(c.key); got != c.tokens {
			t.Errorf("KeyTokens(%q) = %q, want %q", c.key, got, c.tokens)
		}
		got, err := KeyFromTokens(c.tokens)
		if err != nil || got != c.key {
			t.Errorf("KeyFromTokens(%q) = %q, %v, want %q", c.tokens, got, err, c.key)
		}
	}
}

func TestKeyFromTokensRejects(t *testing.T) {
	for _, tokens := range []string{
		"",        // no token at all
		"a..b",    // empty token
		".a",      // empty token
		"a.",      // empty token
		"a%2",     // cut escape
		"a%",      // escape at end of a longer token
		"a%zz",    // not hex
		"a%2e",    // lower-case hex is not canonical
		"%41",     // escaping what needs none
		"a*",      // wildcard
		">",       // wildcard
		"a b",     // whitespace
		"%%",      // not a lone %
		"x\xff",   // raw invalid UTF-8
		"a.%~abc", // truncation marker
	} {
		if key, err := KeyFromTokens(tokens); err == nil {
			t.Errorf("KeyFromTokens(%q) = %q, want an error", tokens, key)
		}
	}
	if _, err := KeyFromTokens("a.%~0123"); !errors.Is(err, ErrTruncatedKey) {
		t.Errorf("truncated tokens: err = %v, want ErrTruncatedKey", err)
	}
}

func TestSubject(t *testing.T) {
	cases := []struct {
		dc   string
		ev   event.Event
		want string
	}{
		{"dc1", event.Event{Shard: event.ShardKV, Key: "a/b.c/"}, "herald.dc1.kv.a.b%2Ec.%"},
		{"dc1", event.Event{Shard: event.ShardKV, Key: ""}, "herald.dc1.kv.%"},
		{"dc1", event.Event{Shard: event.ShardKV, Key: "web/config"}, "herald.dc1.kv.web.config"},
		{"eu.west", event.Event{Shard: event.ShardKV, Key: "x"}, "herald.eu%2Ewest.kv.x"},
		{"dc1", event.Event{Shard: event.ShardCatalog, Type: event.NodeUpdated, Node: &event.Node{Node: "n1.example"}},
			"herald.dc1.catalog.node.n1%2Eexample"},
		{"dc1", event.Event{Shard: event.ShardCatalog, Type: event.ServiceDeleted, Service: &event.Service{Service: "web", Node: "n1", ID: "web-1"}},
			"herald.dc1.catalog.service.web.n1.web-1"},
		{"dc1", event.Event{Shard: event.ShardCatalog, Type: event.CheckUpdated, Check: &event.Check{Node: "n1", CheckID: "service:web 1"}},
			"herald.dc1.catalog.check.n1.service:web%201"},
		{"dc1", event.Event{Shard: event.ShardCatalog, Type: event.CheckUpdated, Check: &event.Check{Node: "n1", CheckID: ""}},
			"herald.dc1.catalog.check.n1.%"},
		{"dc1", event.Event{Shard: event.ShardCatalog, Key: "other"}, "herald.dc1.catalog.other"},
	}
	for _, c := range cases {
		if got := Subject(c.dc, c.ev); got != c.want {
			t.Errorf("Subject(%q, %+v) = %q, want %q", c.dc, c.ev, got, c.want)
		}
	}
	if got, want := StreamSubjects("dc1", "kv"), "herald.dc1.kv.>"; got != want {
		t.Errorf("StreamSubjects = %q, want %q", got, want)
	}
	if got, want := StreamName("eu.west 1", "kv"), "HERALD_eu_west_1_kv"; got != want {
		t.Errorf("StreamName = %q, want %q", got, want)
	}
}

func TestSubjectLongKey(t *testing.T) {
	long := strings.Repeat("segment/", 400) + "end" // ~3200 bytes
	e := event.Event{Shard: event.ShardKV, Key: long}
	s := Subject("dc1", e)
	if len(s) > MaxSubjectLen {
		t.Fatalf("subject is %d bytes, over MaxSubjectLen %d", len(s), MaxSubjectLen)
	}
	if !strings.HasPrefix(s, "herald.dc1.kv.segment.segment.") {
		t.Errorf("long key subject lost its leading tokens: %.60q", s)
	}
	if _, err := KeyFromTokens(strings.TrimPrefix(s, "herald.dc1.kv.")); !errors.Is(err, ErrTruncatedKey) {
		t.Errorf("KeyFromTokens of a truncated subject: err = %v, want ErrTruncatedKey", err)
	}
	other := Subject("dc1", event.Event{Shard: event.ShardKV, Key: long + "2"})
	if other == s {
		t.Errorf("two long keys share the subject %q", s)
	}
	// One segment longer than the limit keeps only the marker.
	one := Subject("dc1", event.Event{Shard: event.ShardKV, Key: strings.Repeat("x", 3000)})
	if len(one) > MaxSubjectLen || !strings.HasPrefix(one, "herald.dc1.kv.%~") {
		t.Errorf("single long segment subject = %.40q (%d bytes)", one, len(one))
	}
}

// checkTokens asserts tokens are usable as the tail of a NATS subject.
func checkTokens(t *testing.T, key, tokens string) {
	t.Helper()
	if !utf8.ValidString(tokens) {
		t.Fatalf("KeyTokens(%q) = %q is not valid UTF-8", key, tokens)
	}
	for _, tok := range strings.Split(tokens, ".") {
		if tok == "" {
			t.Fatalf("KeyTokens(%q) = %q has an empty token", key, tokens)
		}
		if strings.ContainsAny(tok, "*> \t\r\n") {
			t.Fatalf("KeyTokens(%q) = %q has a wildcard or whitespace", key, tokens)
		}
		for _, r := range tok {
			if r < ' ' || r == 0x7f {
				t.Fatalf("KeyTokens(%q) = %q has a control character", key, tokens)
			}
		}
	}
}

func FuzzKeyTokens(f *testing.F) {
	for _, s := range []string{"", "/", "a/b.c/", "%", "%2E", "a//b", "*.>", "é\xff\x00", "\u00a0", "%~abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		tokens := KeyTokens(key)
		checkTokens(t, key, tokens)
		got, err := KeyFromTokens(tokens)
		if err != nil {
			t.Fatalf("KeyFromTokens(KeyTokens(%q) = %q): %v", key, tokens, err)
		}
		if got != key {
			t.Fatalf("round trip of %q via %q gave %q", key, tokens, got)
		}
	})
}

// FuzzKeyFromTokens checks the other direction: whatever KeyFromTokens
// accepts is exactly what KeyTokens produces for the key, so one key never has
// two subjects.
func FuzzKeyFromTokens(f *testing.F) {
	for _, s := range []string{"%", "a.b%2Ec.%", "%25", "a%2e", "a..b", "%%", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tokens string) {
		key, err := KeyFromTokens(tokens)
		if err != nil {
			return
		}
		if back := KeyTokens(key); back != tokens {
			t.Fatalf("KeyFromTokens(%q) = %q, whose KeyTokens are %q", tokens, key, back)
		}
	})
}
