package command

import (
	"errors"
	"reflect"
	"testing"

	"github.com/heraldhq/herald/event"
)

func TestRoundTrip(t *testing.T) {
	cases := []Command{
		{Time: 1700000000000000000, Body: &KVBody{Op: KVOp{Verb: KVSet, Key: "a/b", Value: []byte("v"), Flags: 42}}},
		{Time: -5, Body: &KVBody{Op: KVOp{Verb: KVDeleteCAS, Key: "x", Index: 7}}},
		{Time: 5, ID: RequestID{Proposer: 1 << 63, Seq: 42}, Deadline: 7e9, Body: &KVBody{Op: KVOp{Verb: KVSet, Key: "k"}}},
		{Time: 5, Body: &CatalogRegisterBody{
			Node:           event.Node{ID: "id", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", TaggedAddresses: map[string]string{"lan": "10.0.0.1"}, Meta: map[string]string{"rack": "r1", "a": ""}},
			SkipNodeUpdate: true,
			Service: &event.Service{Node: "n1", ID: "web1", Service: "web", Tags: []string{"a", "b"}, Meta: map[string]string{"v": "1"}, Port: 8080, Address: "10.0.0.2",
				TaggedAddresses: map[string]event.ServiceAddress{"wan": {Address: "1.2.3.4", Port: 80}}, Weights: event.Weights{Passing: 3, Warning: 1}, EnableTagOverride: true},
			Checks: []event.Check{{Node: "n1", CheckID: "c1", Name: "http", Status: "passing", ServiceID: "web1", ServiceName: "web", ServiceTags: []string{"a"}, Type: "http",
				Definition: event.CheckDefinition{HTTP: "http://x/health", Header: map[string][]string{"X": {"1", "2"}}, Interval: "10s", TLSSkipVerify: true}}},
		}},
		{Body: &CatalogRegisterBody{Node: event.Node{Node: "bare"}}},
		{Body: &CatalogRegisterBody{Node: event.Node{Node: "n1", Locality: &event.Locality{Region: "eu", Zone: "a"}}}},
		{Body: &CatalogRegisterBody{Node: event.Node{Node: "n1"}, Service: &event.Service{ID: "s", SocketPath: "/s.sock",
			Ports: []event.ServicePort{{Name: "grpc", Port: 9090, Default: true}}, Locality: &event.Locality{Zone: "b"}},
			Checks: []event.Check{{CheckID: "c"}}}},
		{Body: &CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}},
		{Body: &CheckStatusBody{Node: "n1", CheckID: "c1", Status: "critical", Output: "down"}},
		{Time: 7, Body: &SessionCreateBody{Session: event.Session{ID: "s1", Name: "lock", Node: "n1", LockDelay: 15e9,
			Behavior: "release", TTL: "10s", NodeChecks: []string{"serfHealth"},
			ServiceChecks: []event.ServiceCheck{{ID: "web"}}, Deadline: 99}}},
		{Body: &SessionDestroyBody{ID: "s1"}},
		{Body: &SessionRenewBody{ID: "s1", Deadline: -3}},
		{Flags: FlagIgnoreUnknown, Body: &KVTxnBody{Ops: []KVOp{
			{Verb: KVCAS, Key: "k", Value: []byte{0, 1, 2}, Index: 0},
			{Verb: KVDeleteTree, Key: "p/"},
			{Verb: KVLock, Key: "l", Session: "abc"},
		}}},
	}
	for _, c := range cases {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %x: %v", b, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(Command{Body: &KVBody{Op: KVOp{Verb: KVSet, Key: "k"}}})
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"empty":           {nil, ErrTruncated},
		"version zero":    {append([]byte{0}, good[1:]...), ErrVersion},
		"future version":  {append([]byte{Version + 1}, good[1:]...), ErrVersion},
		"unknown type":    {[]byte{1, 0, 99, 0}, ErrUnknownType},
		"unknown type v2": {[]byte{2, 0, 99, 0, 1, 1, 0}, ErrUnknownType},
		"v2 no deadline":  {[]byte{2, 0, byte(TypeKV), 0, 1, 1}, ErrTruncated},
		"truncated body":  {good[:len(good)-2], ErrTruncated},
		"trailing bytes":  {append(append([]byte(nil), good...), 0), ErrTrailingBytes},
		"bad verb":        {[]byte{1, 0, byte(TypeKV), 0, 0, 0, 0, 0, 0, 0}, ErrInvalidCommand},
		"huge txn count":  {[]byte{1, 0, byte(TypeKVTxn), 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrTruncated},
	}
	for name, c := range cases {
		_, err := Decode(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

func TestUnknownTypeKeepsEnvelope(t *testing.T) {
	c, err := Decode([]byte{Version, FlagIgnoreUnknown, 0xe8, 0x07, 0x04, 5, 6, 0x10, 1, 2, 3})
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("got %v", err)
	}
	if c.Flags&FlagIgnoreUnknown == 0 || c.Time != 2 || c.ID != (RequestID{5, 6}) || c.Deadline != 8 {
		t.Fatalf("envelope lost: %+v", c)
	}
}

func TestVerbNames(t *testing.T) {
	for v := verbInvalid + 1; v < verbEnd; v++ {
		got, ok := ParseVerb(v.String())
		if !ok || got != v {
			t.Fatalf("verb %d: %q parses to %v %v", v, v.String(), got, ok)
		}
	}
	if _, ok := ParseVerb("nope"); ok {
		t.Fatal("unknown verb accepted")
	}
}

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it accepts must survive an encode and a decode unchanged.
func FuzzDecode(f *testing.F) {
	for _, c := range []Command{
		{Body: &KVBody{Op: KVOp{Verb: KVSet, Key: "a", Value: []byte("b")}}},
		{Time: 99, Body: &KVTxnBody{Ops: []KVOp{{Verb: KVGet, Key: "x"}, {Verb: KVDelete, Key: "y"}}}},
		{Body: &CatalogRegisterBody{Node: event.Node{Node: "n", Meta: map[string]string{"k": "v"}},
			Service: &event.Service{ID: "s", Tags: []string{"t"}}, Checks: []event.Check{{CheckID: "c"}}}},
		{Body: &CheckStatusBody{Node: "n", CheckID: "c", Status: "passing"}},
		{Body: &QuerySetBody{Query: event.PreparedQuery{ID: "q", Service: event.ServiceQuery{Service: "s", Tags: []string{"t"},
			Failover: event.QueryFailoverOptions{Targets: []event.QueryFailoverTarget{{Peer: "p"}}}, NodeMeta: map[string]string{"k": "v"}}}}},
	} {
		b, _ := Encode(c)
		f.Add(b)
	}
	f.Add([]byte{Version, 0, 2, 0, 0x80})
	f.Add([]byte{1, 0, 1, 0, 1, 1, 'k', 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Decode(in)
		if err != nil {
			return
		}
		out, err := Encode(c)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		c2, err := Decode(out)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-decode differs: %v\n%+v\n%+v", err, c, c2)
		}
	})
}
