package cli_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/statemachine"
)

// logLine is a line of `debug log -format=json`.
type logLine struct {
	Index                           uint64
	Time                            time.Time
	Type, Op, Key, Subject          string
	Via, Node, RemoteAddr, Accessor string
	Body                            json.RawMessage
}

// debugLogJSON runs `debug log -format=json args...` and parses its lines.
func debugLogJSON(t *testing.T, args ...string) []logLine {
	t.Helper()
	out, errOut, code := runCLI(append([]string{"debug", "log", "-format=json"}, args...)...)
	if code != 0 {
		t.Fatalf("debug log %v: exit %d: %s", args, code, errOut)
	}
	var lines []logLine
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		if s == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("line %q: %v", s, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// Writes through the HTTP API of a client agent are recorded, on the
// servers, with the client agent's name and the HTTP client's address;
// those of the server's own API with the server's; an agent's own work
// (its anti-entropy) as such.
func TestDebugLogShowsWhoCausedEachCommand(t *testing.T) {
	dir := t.TempDir()
	// Client agents find a server's NATS through its gossip tag, which an
	// ephemeral NATS port leaves out.
	server := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+dir, "-node=audit-server",
		fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t)))
	sc := agenttest.Client(t, server.HTTPAddr())
	members, err := sc.Agent().Members(false)
	if err != nil || len(members) != 1 {
		t.Fatalf("members %v %v", members, err)
	}
	client := agenttest.Start(t, "-data-dir="+t.TempDir(), "-node=audit-client",
		fmt.Sprintf("-retry-join=%s:%d", members[0].Addr, members[0].Port))
	cc := agenttest.Client(t, client.HTTPAddr())

	if _, err := cc.Catalog().Register(&api.CatalogRegistration{Node: "ext", Address: "10.1.1.1",
		Service: &api.AgentService{ID: "web-1", Service: "web", Port: 80}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Catalog().Deregister(&api.CatalogDeregistration{Node: "ext", ServiceID: "web-1"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.KV().Put(&api.KVPair{Key: "from/client"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.KV().Put(&api.KVPair{Key: "from/server"}, nil); err != nil {
		t.Fatal(err)
	}
	client.Shutdown()
	server.Shutdown()

	lines := debugLogJSON(t, "-data-dir="+dir, "-shard=catalog", "-service=web-1")
	if len(lines) != 2 || lines[0].Type != "register" || lines[1].Type != "deregister" {
		t.Fatalf("-service=web-1 printed %+v", lines)
	}
	for _, l := range lines {
		if l.Via != command.ViaHTTP || l.Node != "audit-client" || !strings.HasPrefix(l.RemoteAddr, "127.0.0.1:") || l.Accessor != "" {
			t.Errorf("%s of web-1 recorded as caused by %+v", l.Type, l)
		}
	}
	if lines[1].Subject != "node ext service web-1" {
		t.Errorf("deregister's subject %q", lines[1].Subject)
	}

	keys := map[string]logLine{}
	for _, l := range debugLogJSON(t, "-data-dir="+dir, "-shard=kv", "-key=from/") {
		keys[l.Key] = l
	}
	if len(keys) != 2 || keys["from/client"].Node != "audit-client" || keys["from/server"].Node != "audit-server" ||
		!strings.HasPrefix(keys["from/server"].RemoteAddr, "127.0.0.1:") {
		t.Fatalf("-key=from/ printed %+v", keys)
	}
	if lines := debugLogJSON(t, "-data-dir="+dir, "-shard=kv", "-node=audit-server"); len(lines) != 1 || lines[0].Key != "from/server" {
		t.Fatalf("-node=audit-server printed %+v", lines)
	}

	// The agents' own anti-entropy registered their nodes.
	out, errOut, code := runCLI("debug", "log", "-data-dir="+dir, "-shard=catalog", "-node=audit-client")
	if code != 0 {
		t.Fatalf("debug log: %d %s", code, errOut)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "node audit-client - audit-client (agent)") {
		t.Errorf("the client agent's own registration is not in the table:\n%s", out)
	}
}

// writeState applies commands to a fresh state directory of a shard under
// dataDir, as a server would have, and closes it.
func writeState(t *testing.T, dataDir string, shard command.Shard, cmds ...command.Command) {
	t.Helper()
	m := statemachine.New(statemachine.Config{Dir: filepath.Join(dataDir, "state", shard.String()), Shard: shard.String()})
	if _, err := m.Open(nil); err != nil {
		t.Fatal(err)
	}
	var entries []sm.Entry
	for i, c := range cmds {
		b, err := command.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, sm.Entry{Index: uint64(i + 1), Cmd: b})
	}
	if _, err := m.Update(entries); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDebugLogFiltersByAccessorAndTime(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 6, 3, 12, 0, 0, time.UTC)
	set := func(at time.Time, accessor, key string) command.Command {
		c := command.Command{Time: at.UnixNano(), ID: command.RequestID{Proposer: 1, Seq: uint64(at.Unix())},
			Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: key}}}
		if accessor != "" {
			c.Origin = command.Origin{Via: command.ViaHTTP, Node: "n1", RemoteAddr: "10.0.0.5:1234", Accessor: accessor}
		}
		return c
	}
	writeState(t, dir, command.ShardKV,
		set(t0, "acc-a", "app/1"),
		set(t0.Add(time.Minute), "acc-b", "app/2"),
		set(t0.Add(2*time.Minute), "", "other")) // version 2: no origin

	keysOf := func(args ...string) string {
		var keys []string
		for _, l := range debugLogJSON(t, append([]string{"-data-dir=" + dir, "-shard=kv"}, args...)...) {
			keys = append(keys, l.Key)
		}
		return strings.Join(keys, ",")
	}
	cases := map[string][]string{
		"app/1":             {"-accessor=acc-a"},
		"app/2":             {"-since=2026-12-06T03:12:30Z", "-until=2026-12-06T03:13:30Z"},
		"app/1,app/2":       {"-key=app/"},
		"other":             {"-since=2026-12-06T03:14:00Z"},
		"app/1,app/2,other": {},
		"":                  {"-accessor=acc-a", "-key=other"},
	}
	for want, args := range cases {
		if got := keysOf(args...); got != want {
			t.Errorf("%v printed keys %q, want %q", args, got, want)
		}
	}
	out, errOut, code := runCLI("debug", "log", "-data-dir="+dir, "-accessor=acc-b")
	if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), "set app/2 acc-b n1 10.0.0.5:1234") {
		t.Errorf("table for acc-b: %d %s\n%s", code, errOut, out)
	}
	if _, errOut, code := runCLI("debug", "log", "-data-dir="+dir, "-since=yesterday"); code == 0 || !strings.Contains(errOut, "RFC 3339") {
		t.Errorf("a bad -since: %d %q", code, errOut)
	}
}

// A body with a secret prints through its Redacted form, in either format.
func TestDebugLogRedactsSecrets(t *testing.T) {
	dir := t.TempDir()
	const secret = "-----BEGIN EC PRIVATE KEY----- not-for-your-eyes"
	writeState(t, dir, command.ShardCatalog, command.Command{Time: 1, ID: command.RequestID{Proposer: 1, Seq: 1},
		Origin: command.Origin{Via: command.ViaAgent, Node: "n1"},
		Body: &command.ConnectCASetBody{ClusterID: "c1", Provider: "consul",
			Root: &event.CARoot{ID: "r1", Name: "root", RootCert: "cert", PrivateKey: secret, NotAfter: 2}}})
	lines := debugLogJSON(t, "-data-dir="+dir, "-shard=catalog")
	if len(lines) != 1 || lines[0].Type != "connect-ca-set" {
		t.Fatalf("printed %+v", lines)
	}
	var body command.ConnectCASetBody
	if err := json.Unmarshal(lines[0].Body, &body); err != nil || body.Root == nil {
		t.Fatalf("body %s: %v", lines[0].Body, err)
	}
	if body.Root.PrivateKey != command.RedactedText || body.Root.ID != "r1" {
		t.Errorf("printed root %+v", body.Root)
	}
	for _, format := range []string{"json", "table"} {
		out, _, _ := runCLI("debug", "log", "-data-dir="+dir, "-shard=catalog", "-format="+format)
		if strings.Contains(out, "not-for-your-eyes") {
			t.Errorf("-format=%s printed the private key:\n%s", format, out)
		}
	}
}
