package command

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/heraldhq/herald/event"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt from the current encoder")

// goldenCommands holds one command of every type. Their encodings are
// pinned in testdata/golden.txt: committed logs hold these bytes, so a
// change to an encoding must be a new version or a new type, never an edit.
// Add a line for a new type; never change an existing one.
var goldenCommands = []Command{
	{Time: 1, ID: RequestID{7, 1}, Deadline: 9, Body: &KVBody{Op: KVOp{Verb: KVCAS, Key: "a/b", Value: []byte("v"), Flags: 42, Index: 3, Session: "s"}}},
	{Time: 1, ID: RequestID{7, 2}, Deadline: 9, Body: &KVTxnBody{Ops: []KVOp{{Verb: KVSet, Key: "x"}, {Verb: KVDeleteTree, Key: "p/"}}}},
	{Time: 1, ID: RequestID{7, 3}, Deadline: 9, Body: &CatalogRegisterBody{
		Node:    event.Node{ID: "id", Node: "n1", Address: "10.0.0.1", Datacenter: "dc1", Meta: map[string]string{"rack": "r1"}},
		Service: &event.Service{Node: "n1", ID: "web1", Service: "web", Tags: []string{"a"}, Port: 8080},
		Checks:  []event.Check{{Node: "n1", CheckID: "c1", Name: "http", Status: "passing", ServiceID: "web1"}},
	}},
	{Time: 1, ID: RequestID{7, 4}, Deadline: 9, Body: &CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}},
	{Time: 1, ID: RequestID{7, 5}, Deadline: 9, Body: &CheckStatusBody{Node: "n1", CheckID: "c1", Status: "critical", Output: "down"}},
	{Time: 1, ID: RequestID{7, 6}, Deadline: 9, Body: &SessionCreateBody{Session: event.Session{ID: "s1", Node: "n1", TTL: "10s", Behavior: "release"}}},
	{Time: 1, ID: RequestID{7, 7}, Deadline: 9, Body: &SessionDestroyBody{ID: "s1"}},
	{Time: 1, ID: RequestID{7, 8}, Deadline: 9, Body: &SessionRenewBody{ID: "s1", Deadline: 5}},
	{Time: 1, ID: RequestID{7, 9}, Deadline: 9, Body: &RestoreBody{Data: []byte("snap")}},
	{Time: 1, ID: RequestID{7, 40}, Deadline: 9, Body: &QuerySetBody{Create: true, Query: event.PreparedQuery{
		ID: "8f246b77-f3e1-ff88-5b48-8ec93abf3e05", Name: "geo-", Session: "s1",
		Service: event.ServiceQuery{Service: "${match(1)}", Near: "_agent",
			Failover:       event.QueryFailoverOptions{NearestN: 3, Datacenters: []string{"dc2"}, Targets: []event.QueryFailoverTarget{{Peer: "p", Datacenter: "dc3"}}},
			IgnoreCheckIDs: []string{"c1"}, OnlyPassing: true, Tags: []string{"a", "!b"},
			NodeMeta: map[string]string{"rack": "r1"}, ServiceMeta: map[string]string{"v": "1"}, Connect: true},
		DNS:      event.QueryDNSOptions{TTL: "10s"},
		Template: event.QueryTemplate{Type: "name_prefix_match", Regexp: "^geo-(.*)$", RemoveEmptyTags: true},
	}}},
	{Time: 1, ID: RequestID{7, 41}, Deadline: 9, Body: &QueryDeleteBody{ID: "8f246b77-f3e1-ff88-5b48-8ec93abf3e05"}},
	{Time: 1, ID: RequestID{7, 56}, Deadline: 9, Body: &AutopilotSetBody{Config: event.AutopilotConfig{CleanupDeadServers: true,
		LastContactThreshold: 200e6, MaxTrailingLogs: 250, MinQuorum: 3, ServerStabilizationTime: 10e9,
		RedundancyZoneTag: "zone", UpgradeVersionTag: "build"}, CAS: true, Index: 12}},
	{Time: 1, ID: RequestID{7, 32}, Deadline: 9, Body: &ConnectCASetBody{ExpectActiveRootID: "", ClusterID: "c1", Provider: "consul",
		Config: []byte(`{"LeafCertTTL":"72h"}`), Root: &event.CARoot{ID: "r1", Name: "root", SerialNumber: 5, SigningKeyID: "k",
			NotBefore: 1, NotAfter: 2, RootCert: "cert", IntermediateCerts: []string{"x"}, PrivateKeyType: "ec", PrivateKeyBits: 256, PrivateKey: "key"}}},
	{Time: 1, ID: RequestID{7, 11}, Deadline: 9, Body: &CatalogTxnBody{Ops: []CatalogOp{
		{Kind: CatalogOpNode, Verb: "set", Node: event.Node{Node: "n1", Address: "10.0.0.1"}},
		{Kind: CatalogOpService, Verb: "cas", Node: event.Node{Node: "n1"}, Service: &event.Service{ID: "web1", Service: "web", Port: 80}, Index: 5},
		{Kind: CatalogOpCheck, Verb: "delete", Check: &event.Check{Node: "n1", CheckID: "c1"}},
	}}},
	// Version 3 envelopes, with an origin (pinned as deregister-2, kv-2).
	{Time: 1, ID: RequestID{7, 12}, Deadline: 9, Origin: Origin{Via: ViaHTTP, Node: "client-1", RemoteAddr: "10.0.0.9:51234", Accessor: "acc"},
		Body: &CatalogDeregisterBody{Node: "n1", ServiceID: "web1"}},
	{Time: 1, ID: RequestID{7, 13}, Deadline: 9, Origin: Origin{Via: ViaAgent, Node: "n1"}, Body: &KVBody{Op: KVOp{Verb: KVDelete, Key: "k"}}},
	{Time: 1, ID: RequestID{7, 64}, Deadline: 9, Body: &ACLTokenSetBody{Create: true, SecretID: "s3cr3t", Token: event.ACLToken{
		AccessorID: "a1", Description: "d", Policies: []event.ACLLink{{ID: "p1"}, {Name: "pn"}}, Roles: []event.ACLLink{{Name: "r"}},
		ServiceIdentities: []event.ACLServiceIdentity{{ServiceName: "web", Datacenters: []string{"dc1"}}},
		NodeIdentities:    []event.ACLNodeIdentity{{NodeName: "n1", Datacenter: "dc1"}}, Local: true, ExpirationTime: 5, CreateTime: 2}}},
	{Time: 1, ID: RequestID{7, 65}, Deadline: 9, Body: &ACLTokenDeleteBody{AccessorID: "a1"}},
	{Time: 1, ID: RequestID{7, 66}, Deadline: 9, Body: &ACLPolicySetBody{Create: true, Policy: event.ACLPolicy{
		ID: "p1", Name: "pn", Description: "d", Rules: `key_prefix "" { policy = "read" }`, Datacenters: []string{"dc1"}}}},
	{Time: 1, ID: RequestID{7, 67}, Deadline: 9, Body: &ACLPolicyDeleteBody{ID: "p1"}},
	{Time: 1, ID: RequestID{7, 68}, Deadline: 9, Body: &ACLRoleSetBody{Role: event.ACLRole{ID: "r1", Name: "r", Description: "d",
		Policies: []event.ACLLink{{ID: "p1"}}, ServiceIdentities: []event.ACLServiceIdentity{{ServiceName: "web"}},
		NodeIdentities: []event.ACLNodeIdentity{{NodeName: "n1", Datacenter: "dc1"}}}}},
	{Time: 1, ID: RequestID{7, 69}, Deadline: 9, Body: &ACLRoleDeleteBody{ID: "r1"}},
	{Time: 1, ID: RequestID{7, 70}, Deadline: 9, Body: &ACLBootstrapBody{AccessorID: "a", SecretID: "s", ResetIndex: 4, CreateTime: 2}},
	{Time: 1, ID: RequestID{7, 71}, Deadline: 9, Body: &ACLInitBody{ManagementAccessorID: "a", ManagementSecretID: "s", CreateTime: 2}},
	{Time: 1, ID: RequestID{7, 80}, Deadline: 9, Body: &ACLReplicateBody{
		Policies: []event.ACLPolicy{{ID: "p1", Name: "pn", Description: "d", Rules: `key_prefix "" { policy = "read" }`, Datacenters: []string{"dc2"}}},
		Roles: []event.ACLRole{{ID: "r1", Name: "r", Description: "d", Policies: []event.ACLLink{{ID: "p1"}},
			ServiceIdentities: []event.ACLServiceIdentity{{ServiceName: "web"}}, NodeIdentities: []event.ACLNodeIdentity{{NodeName: "n1", Datacenter: "dc2"}}}},
		Tokens: []ACLReplicatedToken{{SecretID: "s3cr3t", Token: event.ACLToken{AccessorID: "a1", Description: "d",
			Policies: []event.ACLLink{{ID: "p1"}}, Roles: []event.ACLLink{{ID: "r1"}}, ExpirationTime: 5, CreateTime: 2}}},
		DeletePolicies: []string{"p0"}, DeleteRoles: []string{"r0"}, DeleteTokens: []string{"a0"},
		Status: ACLReplicationStatus{SourceDatacenter: "dc1", ReplicationType: "tokens", ReplicatedIndex: 3, ReplicatedRoleIndex: 4,
			ReplicatedTokenIndex: 5, LastSuccess: 6, LastError: 7, LastErrorMessage: "e"}}},
	// A register with the fields of its first extension (pinned as register-2).
	{Time: 1, ID: RequestID{7, 10}, Deadline: 9, Body: &CatalogRegisterBody{
		Node: event.Node{Node: "n1", Address: "10.0.0.1", Locality: &event.Locality{Region: "r", Zone: "z"}},
		Service: &event.Service{Node: "n1", ID: "web1", Service: "web", Port: 8080, SocketPath: "/run/web.sock",
			Ports:    []event.ServicePort{{Name: "http", Port: 8080, Default: true}, {Name: "admin", Port: 9000}},
			Locality: &event.Locality{Region: "r"}},
	}},
	// A register with the mesh fields of its second extension (register-3).
	{Time: 1, ID: RequestID{7, 14}, Deadline: 9, Body: &CatalogRegisterBody{
		Node: event.Node{Node: "n1", Address: "10.0.0.1"},
		Service: &event.Service{Node: "n1", Kind: event.KindConnectProxy, ID: "web-sidecar-proxy", Service: "web-sidecar-proxy", Port: 21000,
			Proxy: &event.ServiceProxy{DestinationServiceName: "web", DestinationServiceID: "web", LocalServiceAddress: "127.0.0.1",
				LocalServicePort: 8080, Mode: "transparent", TransparentProxy: &event.TransparentProxy{OutboundListenerPort: 15001},
				Config:      map[string]any{"protocol": "http", "n": 1.5},
				Upstreams:   []event.Upstream{{DestinationName: "db", LocalBindPort: 9191, MeshGateway: event.MeshGatewayConfig{Mode: "local"}}},
				MeshGateway: event.MeshGatewayConfig{Mode: "remote"},
				Expose:      event.ExposeConfig{Checks: true, Paths: []event.ExposePath{{ListenerPort: 21500, Path: "/health", LocalPathPort: 8080, Protocol: "http"}}},
				AccessLogs:  &event.AccessLogs{Enabled: true, Type: "stdout"}},
			Connect: &event.ServiceConnect{Native: true}},
	}},
	{Time: 1, ID: RequestID{7, 72}, Deadline: 9, Body: &ConfigEntrySetBody{Entry: event.ConfigEntry{Kind: "service-defaults", Name: "web",
		Body: []byte(`{"Kind":"service-defaults","Name":"web","Protocol":"http"}`)}, CAS: true, Index: 4}},
	{Time: 1, ID: RequestID{7, 73}, Deadline: 9, Body: &ConfigEntryDeleteBody{Kind: "service-defaults", Name: "web", CAS: true, Index: 5}},
	{Time: 1, ID: RequestID{7, 88}, Deadline: 9, Body: &RestoreBeginBody{ID: "r1"}},
	{Time: 1, ID: RequestID{7, 89}, Deadline: 9, Body: &RestoreChunkBody{ID: "r1", Seq: 3, Records: []byte("records")}},
	{Time: 1, ID: RequestID{7, 90}, Deadline: 9, Body: &RestoreCommitBody{ID: "r1", Chunks: 4, Index: 1234}},
	{Time: 1, ID: RequestID{7, 91}, Deadline: 9, Body: &RestoreAbortBody{ID: "r1"}},
	// A catalog transaction with a service's extension fields (catalog-txn-2).
	{Time: 1, ID: RequestID{7, 15}, Deadline: 9, Body: &CatalogTxnBody{Ops: []CatalogOp{
		{Kind: CatalogOpNode, Verb: "set", Node: event.Node{Node: "n1", Address: "10.0.0.1"}},
		{Kind: CatalogOpService, Verb: "set", Node: event.Node{Node: "n1"}, Service: &event.Service{ID: "web1", Service: "web", Port: 80, SocketPath: "/s"}},
		{Kind: CatalogOpService, Verb: "set", Node: event.Node{Node: "n1"}, Service: &event.Service{Kind: event.KindMeshGateway, ID: "gw", Service: "gw",
			Proxy: &event.ServiceProxy{Config: map[string]any{"a": "b"}}}},
	}}},
	{Time: 1, ID: RequestID{7, 84}, Deadline: 9, Body: &KVReplicateBody{SourceDatacenter: "dc1", Prefix: "app/", DestinationPrefix: "mirror/app/",
		Expect: 10, Last: 14, Ops: []KVReplicateOp{{Index: 12, Key: "mirror/app/a", Flags: 3, Value: []byte("v")}, {Index: 14, Key: "mirror/app/b", Delete: true}}}},
	{Time: 1, ID: RequestID{7, 92}, Deadline: 9, Body: &ConfigReplicateBody{SourceDatacenter: "dc1", SourceIndex: 17,
		Upserts: []event.ConfigEntry{{Kind: "service-defaults", Name: "web", Body: []byte(`{"Kind":"service-defaults","Name":"web","Protocol":"http"}`)}},
		Deletes: []ConfigEntryRef{{Kind: "service-router", Name: "api"}}}},
	{Time: 1, ID: RequestID{7, 93}, Deadline: 9, Body: &ConfigReplicateBody{SourceDatacenter: "dc1", SourceIndex: 3, Resync: true}},
	{Time: 1, ID: RequestID{7, 94}, Deadline: 9, Body: &ConfigReplicateBody{SourceDatacenter: "dc1", Error: "GET /v1/config/mesh at dc1: 500 No path to datacenter"}},
}

const goldenFile = "testdata/golden.txt"

func TestGoldenEncodings(t *testing.T) {
	var lines []string
	seen := map[Type]int{}
	for _, c := range goldenCommands {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		seen[c.Type()]++
		name := c.Type().String()
		if n := seen[c.Type()]; n > 1 {
			name = fmt.Sprintf("%s-%d", name, n)
		}
		lines = append(lines, fmt.Sprintf("%s %x", name, b))
	}
	for typ := range types {
		if seen[typ] == 0 {
			t.Errorf("type %v has no golden command: add one", typ)
		}
	}
	if *update {
		if err := os.WriteFile(goldenFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update once to create it)", err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, hexBytes, _ := strings.Cut(sc.Text(), " ")
		want[name] = hexBytes
	}
	for i, line := range lines {
		name, got, _ := strings.Cut(line, " ")
		if want[name] != got {
			t.Errorf("encoding of %s changed:\n got %s\nwant %s", name, got, want[name])
			continue
		}
		// The pinned bytes also decode to the same command.
		b, _ := hex.DecodeString(want[name])
		c, err := Decode(b)
		if err != nil || !reflect.DeepEqual(c, goldenCommands[i]) {
			t.Errorf("golden %s decodes to %+v, %v", name, c, err)
		}
	}
}

// A version 1 command, as logs written before request IDs hold it, still
// decodes, with no ID and no deadline.
func TestDecodeVersion1(t *testing.T) {
	b, _ := hex.DecodeString("0100010201016100000000")
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	kv, ok := c.Body.(*KVBody)
	if !ok || kv.Op.Key != "a" || !c.ID.IsZero() || c.Deadline != 0 || c.Time != 1 {
		t.Fatalf("decoded %+v %+v", c, c.Body)
	}
}

// A version 2 command, as logs written before origins hold it, still
// decodes, with its ID and no origin.
func TestDecodeVersion2(t *testing.T) {
	b, _ := hex.DecodeString("02000402070412026e31047765623100")
	c, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := c.Body.(*CatalogDeregisterBody)
	if !ok || d.ServiceID != "web1" || c.ID != (RequestID{7, 4}) || c.Deadline != 9 || !c.Origin.IsZero() {
		t.Fatalf("decoded %+v %+v", c, c.Body)
	}
}
