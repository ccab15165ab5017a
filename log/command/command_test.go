package command

import (
	"bytes"
	"context"
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
		{Time: 5, ID: RequestID{Proposer: 3, Seq: 4}, Deadline: 7e9, Origin: Origin{Via: ViaHTTP, Node: "client-1", RemoteAddr: "10.0.0.9:51234", Accessor: "e5f3c2a1-0000-4000-8000-000000000001"},
			Body: &CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}},
		{Origin: Origin{Via: ViaAgent, Node: "n1"}, Body: &SessionDestroyBody{ID: "s1"}},
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
		"v3 no origin":    {[]byte{3, 0, byte(TypeKV), 0, 1, 1, 0}, ErrTruncated},
		"v3 empty origin": {[]byte{3, 0, byte(TypeKV), 0, 1, 1, 0, 0, 0, 0, 0}, ErrInvalidCommand},
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
	c, err := Decode([]byte{2, FlagIgnoreUnknown, 0xe8, 0x07, 0x04, 5, 6, 0x10, 1, 2, 3})
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("got %v", err)
	}
	if c.Flags&FlagIgnoreUnknown == 0 || c.Time != 2 || c.ID != (RequestID{5, 6}) || c.Deadline != 8 {
		t.Fatalf("envelope lost: %+v", c)
	}
}

// A version 3 command of a type this build does not know keeps its origin
// too, so a replica that skips it can still say who sent it.
func TestUnknownTypeKeepsOrigin(t *testing.T) {
	c, err := Decode([]byte{3, FlagIgnoreUnknown, 0xe8, 0x07, 0x04, 5, 6, 0x10, 4, 'h', 't', 't', 'p', 2, 'n', '1', 0, 1, 'a', 1, 2, 3})
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("got %v", err)
	}
	if c.Origin != (Origin{Via: "http", Node: "n1", Accessor: "a"}) || c.ID != (RequestID{5, 6}) {
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
		{ID: RequestID{1, 2}, Origin: Origin{Via: ViaHTTP, Node: "n", RemoteAddr: "127.0.0.1:5", Accessor: "a"}, Body: &KVBody{Op: KVOp{Verb: KVDelete, Key: "k"}}},
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

// Encode writes the oldest version that holds the command: version 2
// without an origin, which servers of an older build still read.
func TestEncodeVersionFollowsOrigin(t *testing.T) {
	body := &KVBody{Op: KVOp{Verb: KVSet, Key: "k"}}
	b, _ := Encode(Command{ID: RequestID{1, 1}, Body: body})
	if b[0] != 2 {
		t.Fatalf("no origin: version %d, want 2", b[0])
	}
	b, _ = Encode(Command{ID: RequestID{1, 1}, Origin: Origin{Via: ViaAgent}, Body: body})
	if b[0] != 3 {
		t.Fatalf("with an origin: version %d, want 3", b[0])
	}
}

func TestStampOrigin(t *testing.T) {
	r := NewRequests()
	r.SetNode("client-1")
	body := &KVBody{Op: KVOp{Verb: KVSet, Key: "k"}}

	// An agent's own work: no origin on the context.
	c := r.Stamp(context.Background(), Command{Body: body})
	if c.Origin != (Origin{Via: ViaAgent, Node: "client-1"}) {
		t.Fatalf("background origin %+v", c.Origin)
	}

	// An HTTP request with an identity (acl.WithIdentity names its
	// accessor with WithAccessor): the accessor, never the secret.
	ctx := WithOrigin(context.Background(), Origin{Via: ViaHTTP, RemoteAddr: "10.1.2.3:4567"})
	ctx = WithAccessor(ctx, "acc-1")
	c = r.Stamp(ctx, Command{Body: body})
	want := Origin{Via: ViaHTTP, Node: "client-1", RemoteAddr: "10.1.2.3:4567", Accessor: "acc-1"}
	if c.Origin != want {
		t.Fatalf("http origin %+v, want %+v", c.Origin, want)
	}
	b, _ := Encode(c)
	if bytes.Contains(b, []byte("secret-1")) {
		t.Fatal("the SecretID is in the encoded command")
	}

	// A command stamped elsewhere (a client agent's, forwarded by a
	// server) keeps its origin.
	server := NewRequests()
	server.SetNode("server-1")
	again := server.Stamp(context.Background(), c)
	if again.Origin != want || again.ID != c.ID {
		t.Fatalf("re-stamped: %+v", again)
	}

	// While the gate is closed, commands get no origin and stay version 2.
	gated := NewRequests()
	gated.SetRecordOrigin(func() bool { return false })
	c = gated.Stamp(ctx, Command{Body: body})
	if !c.Origin.IsZero() {
		t.Fatalf("gated origin %+v", c.Origin)
	}
}

type secretBody struct{ KVBody }

func (b *secretBody) Redacted() Body { return &KVBody{Op: KVOp{Key: RedactedText}} }

func TestPrintable(t *testing.T) {
	plain := &KVBody{Op: KVOp{Key: "k"}}
	if Printable(plain) != Body(plain) {
		t.Fatal("a body without secrets changed")
	}
	if got := Printable(&secretBody{}).(*KVBody); got.Op.Key != RedactedText {
		t.Fatalf("not redacted: %+v", got)
	}
	if got := Printable(&RestoreBody{Data: []byte("whole-state")}).(*RestoreBody); string(got.Data) != RedactedText {
		t.Fatalf("restore body printed %q", got.Data)
	}
	ca := &ConnectCASetBody{Root: &event.CARoot{ID: "r", PrivateKey: "-----BEGIN EC PRIVATE KEY-----"}}
	got := Printable(ca).(*ConnectCASetBody)
	if got.Root.PrivateKey != RedactedText || got.Root.ID != "r" || ca.Root.PrivateKey == RedactedText {
		t.Fatalf("connect CA body: printed %+v, original %+v", got.Root, ca.Root)
	}
}
