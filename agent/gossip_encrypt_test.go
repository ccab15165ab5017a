package agent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent"
	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/config"
	"github.com/heraldhq/herald/agent/membership"
	"github.com/heraldhq/herald/testutil/poll"
)

func gossipKey(t *testing.T) string {
	t.Helper()
	k, err := membership.KeyGen()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// lockedBuffer collects an agent's log lines while it writes them.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startNoWait starts an agent on loopback without waiting for a leader
// (servers of a new cluster have one only once they are all up), logging to
// logs when it is not nil.
func startNoWait(t *testing.T, logs *lockedBuffer, args ...string) *agent.Agent {
	t.Helper()
	base := []string{"-bind=127.0.0.1", "-client=127.0.0.1", "-http-port=0", "-dns-port=0", "-serf-wan-port=-1",
		"-hcl", "performance { raft_multiplier = 1 }"}
	cfg, err := config.Load(append(base, args...))
	if err != nil {
		t.Fatal(err)
	}
	var logger *slog.Logger
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	a := agent.New(cfg, logger)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Shutdown)
	return a
}

// allAlive reports whether c's agent sees exactly names, all alive.
func allAlive(c *api.Client, names []string) (bool, string) {
	list, err := c.Agent().Members(false)
	if err != nil {
		return false, err.Error()
	}
	alive := 0
	for _, m := range list {
		if m.Status == 1 && slices.Contains(names, m.Name) {
			alive++
		}
	}
	return alive == len(names) && len(list) == len(names), fmt.Sprint(memberStatuses(list))
}

func memberStatuses(list []*api.AgentMember) map[string]int {
	out := map[string]int{}
	for _, m := range list {
		out[m.Name] = m.Status
	}
	return out
}

func keyringFile(t *testing.T, a *agent.Agent) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(a.DataDir(), membership.KeyringFile))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatalf("keyring file: %v\n%s", err, data)
	}
	return keys
}

// An agent with another key, or with none, cannot join an encrypted
// cluster: the join fails and neither side lists the other.
func TestJoinRefusedWithoutTheClusterKey(t *testing.T) {
	key := gossipKey(t)
	srv := agenttest.Start(t, "-server", "-bootstrap-expect=1", "-data-dir="+t.TempDir(), "-node=srv", "-encrypt="+key)
	sc := agenttest.Client(t, srv.HTTPAddr())
	self := membersOf(t, sc)["srv"]
	target := fmt.Sprintf("%s:%d", self.Addr, self.Port)

	for name, args := range map[string][]string{
		"other-key": {"-encrypt=" + gossipKey(t)},
		"no-key":    nil,
	} {
		joiner := agenttest.Start(t, append([]string{"-dev", "-node=" + name}, args...)...)
		jc := agenttest.Client(t, joiner.HTTPAddr())
		if err := jc.Agent().Join(target, false); err == nil {
			t.Errorf("%s: join succeeded", name)
		}
		if got := memberStatuses(mustMembers(t, sc)); len(got) != 1 {
			t.Errorf("%s: the server lists %v", name, got)
		}
		if got := memberStatuses(mustMembers(t, jc)); len(got) != 1 {
			t.Errorf("%s: the joiner lists %v", name, got)
		}
	}
}

func mustMembers(t *testing.T, c *api.Client) []*api.AgentMember {
	t.Helper()
	list, err := c.Agent().Members(false)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A key rotation on a running cluster of three servers and a client agent
// (install the new key, make it primary, remove the old one) keeps every
// member alive throughout, is written to every member's keyring file, and a
// server restarted afterwards, though still configured with the old key,
// rejoins with the keyring it kept.
func TestGossipKeyRotationOnARunningCluster(t *testing.T) {
	oldKey, newKey := gossipKey(t), gossipKey(t)
	names := []string{"s1", "s2", "s3", "c1"}
	serf := make([]int, 3)
	for i := range serf {
		serf[i] = agenttest.FreePort(t)
	}
	join := fmt.Sprintf("-retry-join=127.0.0.1:%d", serf[0])
	serverArgs := make([][]string, 3)
	var agents []*agent.Agent
	for i := range serf {
		serverArgs[i] = []string{"-server", "-bootstrap-expect=3", "-node=" + names[i], "-data-dir=" + t.TempDir(),
			"-encrypt=" + oldKey, join, fmt.Sprintf("-serf-lan-port=%d", serf[i]),
			fmt.Sprintf("-server-port=%d", agenttest.FreePort(t)), fmt.Sprintf("-nats-port=%d", agenttest.FreePort(t))}
		agents = append(agents, startNoWait(t, nil, serverArgs[i]...))
	}
	agents = append(agents, startNoWait(t, nil, "-node=c1", "-data-dir="+t.TempDir(), "-encrypt="+oldKey, join,
		"-serf-lan-port=0", "-nats-port=-1"))
	clients := make([]*api.Client, len(agents))
	for i, a := range agents {
		clients[i] = agenttest.Client(t, a.HTTPAddr())
		poll.Eventually(t, 60*time.Second, names[i]+" sees all four alive", func() (bool, string) {
			return allAlive(clients[i], names)
		})
	}

	// Watch every member from every agent while the keys change.
	stop := make(chan struct{})
	var watched sync.WaitGroup
	var mu sync.Mutex
	var notAlive []string
	for i, c := range clients {
		watched.Add(1)
		go func() {
			defer watched.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				list, err := c.Agent().Members(false)
				mu.Lock()
				if err != nil {
					notAlive = append(notAlive, fmt.Sprintf("%s: %v", names[i], err))
				}
				for _, m := range list {
					if m.Status != 1 {
						notAlive = append(notAlive, fmt.Sprintf("%s saw %s in status %d", names[i], m.Name, m.Status))
					}
				}
				mu.Unlock()
			}
		}()
	}

	// A client agent runs the rotation for the whole cluster. Each step is
	// repeated until every member has answered it, as an operator would:
	// the operations are idempotent, and on a loaded machine some answers
	// come after Serf's query timeout.
	op := clients[3].Operator()
	step := func(what string, run func() error) {
		t.Helper()
		poll.Eventually(t, 60*time.Second, what, func() (bool, string) {
			err := run()
			return err == nil, fmt.Sprint(err)
		})
	}
	list := func(want string, check func(r *api.KeyringResponse) bool) {
		t.Helper()
		poll.Eventually(t, 60*time.Second, "keyring list: "+want, func() (bool, string) {
			l, err := op.KeyringList(nil)
			b, _ := json.Marshal(l)
			return err == nil && len(l) == 1 && l[0].Datacenter == "dc1" && !l[0].WAN && l[0].NumNodes == 4 && check(l[0]),
				fmt.Sprintf("%s %v", b, err)
		})
	}
	list("the old key on all four", func(r *api.KeyringResponse) bool {
		return len(r.Keys) == 1 && r.Keys[oldKey] == 4 && r.PrimaryKeys[oldKey] == 4
	})
	step("install the new key", func() error { return op.KeyringInstall(newKey, nil) })
	list("both keys on all four, the old one primary", func(r *api.KeyringResponse) bool {
		return len(r.Keys) == 2 && r.Keys[oldKey] == 4 && r.Keys[newKey] == 4 && r.PrimaryKeys[oldKey] == 4
	})
	step("use the new key", func() error { return op.KeyringUse(newKey, nil) })
	list("the new key primary on all four", func(r *api.KeyringResponse) bool {
		return len(r.PrimaryKeys) == 1 && r.PrimaryKeys[newKey] == 4
	})
	step("remove the old key", func() error { return op.KeyringRemove(oldKey, nil) })
	list("only the new key", func(r *api.KeyringResponse) bool {
		return len(r.Keys) == 1 && r.Keys[newKey] == 4 && r.PrimaryKeys[newKey] == 4
	})
	close(stop)
	watched.Wait()
	if len(notAlive) > 0 {
		t.Fatalf("members were not all alive during the rotation: %v", notAlive)
	}
	for i, a := range agents {
		if got := keyringFile(t, a); !slices.Equal(got, []string{newKey}) {
			t.Fatalf("%s's keyring file after the rotation: %v", names[i], got)
		}
	}

	// s3 comes back on its data dir, its config still naming the old key.
	agents[2].Shutdown()
	logs := &lockedBuffer{}
	again := startNoWait(t, logs, serverArgs[2]...)
	clients[2] = agenttest.Client(t, again.HTTPAddr())
	for i, c := range clients {
		poll.Eventually(t, 60*time.Second, names[i]+" sees all four alive after s3's restart", func() (bool, string) {
			return allAlive(c, names)
		})
	}
	if !strings.Contains(logs.String(), "keyring doesn't include key provided with -encrypt, using keyring") {
		t.Errorf("the restarted server did not warn about its stale encrypt key:\n%s", logs)
	}
	op = clients[2].Operator()
	list("only the new key, after the restart", func(r *api.KeyringResponse) bool {
		return len(r.Keys) == 1 && r.Keys[newKey] == 4
	})
	self, err := clients[2].Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if enc := self["Stats"]["serf_lan"].(map[string]any)["encrypted"]; enc != "true" ||
		self["DebugConfig"]["EncryptKey"] != "hidden" || self["DebugConfig"]["EncryptVerifyIncoming"] != true {
		t.Errorf("agent/self: serf_lan encrypted=%v, DebugConfig %v", enc, self["DebugConfig"])
	}

	// The pool now speaks the new key only: a member with it joins, one
	// with the old key cannot.
	target := []string{fmt.Sprintf("127.0.0.1:%d", serf[0])}
	for key, canJoin := range map[string]bool{newKey: true, oldKey: false} {
		m, err := membership.Start(membership.Config{NodeName: "probe", BindAddr: "127.0.0.1", EncryptKey: key, Timing: "local"})
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.Join(target)
		if canJoin != (err == nil && n == 1) {
			t.Errorf("joining with the %s key: n=%d err=%v", map[bool]string{true: "new", false: "old"}[canJoin], n, err)
		}
		m.Leave()
		m.Shutdown()
	}
}

// With encrypt_verify_incoming and _outgoing off (the first step of turning
// encryption on in a running cluster), an agent with a key and one without
// gossip together.
func TestGossipPlaintextAllowedWhileMovingToEncryption(t *testing.T) {
	key := gossipKey(t)
	moving := agenttest.Start(t, "-dev", "-node=moving", "-encrypt="+key,
		"-hcl", "encrypt_verify_incoming = false\nencrypt_verify_outgoing = false")
	plain := agenttest.Start(t, "-dev", "-node=plain")
	mc, pc := agenttest.Client(t, moving.HTTPAddr()), agenttest.Client(t, plain.HTTPAddr())
	self := membersOf(t, mc)["moving"]
	if err := pc.Agent().Join(fmt.Sprintf("%s:%d", self.Addr, self.Port), false); err != nil {
		t.Fatalf("join: %v", err)
	}
	for _, c := range []*api.Client{mc, pc} {
		poll.Eventually(t, 15*time.Second, "both see both alive", func() (bool, string) {
			return allAlive(c, []string{"moving", "plain"})
		})
	}
}

// /v1/operator/keyring answers Consul's JSON shape, and Consul's errors
// for its parameters and for what the members refuse.
func TestKeyringEndpoint(t *testing.T) {
	key := gossipKey(t)
	a := agenttest.Start(t, "-dev", "-node=kr", "-encrypt="+key)
	do := func(method, query, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+"/v1/operator/keyring"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := do("GET", "?relay-factor=3&local-only=true", "")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 1 {
		t.Fatalf("list: %d %s %v", code, body, err)
	}
	fields := slices.Sorted(maps.Keys(list[0]))
	if want := []string{"Datacenter", "Keys", "NumNodes", "PrimaryKeys", "Segment", "WAN"}; !slices.Equal(fields, want) {
		t.Errorf("list fields %v, want %v", fields, want)
	}
	if list[0]["Keys"].(map[string]any)[key] != 1.0 || list[0]["PrimaryKeys"].(map[string]any)[key] != 1.0 ||
		list[0]["NumNodes"] != 1.0 || list[0]["Segment"] != "" || list[0]["WAN"] != false {
		t.Errorf("list: %s", body)
	}

	for _, c := range []struct {
		method, query, body string
		code                int
		want                string
	}{
		{"GET", "?relay-factor=6", "", 400, "Invalid relay-factor: Relay factor must be in range: [0, 5]\n"},
		{"GET", "?relay-factor=x", "", 400, `Error parsing relay factor: strconv.Atoi: parsing "x": invalid syntax` + "\n"},
		{"GET", "?local-only=maybe", "", 400, `Error parsing local-only: strconv.ParseBool: parsing "maybe": invalid syntax` + "\n"},
		{"POST", "?local-only=true", `{"Key": "` + key + `"}`, 400, "Invalid use of local-only: local-only can only be set for list requests\n"},
		{"DELETE", "", `{"Key": "` + key + `"}`, 500,
			"2 errors occurred:\n\t* dc1 (LAN) error: 1/1 nodes reported failure\n\t* kr: removing the primary key is not allowed\n\n"},
		{"PUT", "", `{"Key": "` + gossipKey(t) + `"}`, 500,
			"2 errors occurred:\n\t* dc1 (LAN) error: 1/1 nodes reported failure\n\t* kr: requested key is not in the keyring\n\n"},
		{"POST", "", `{"Key": "not base64"}`, 500, "1 error occurred:\n\t* dc1 (LAN) error: illegal base64 data at input byte 3\n\n"},
	} {
		if code, body := do(c.method, c.query, c.body); code != c.code || body != c.want {
			t.Errorf("%s %s %s: %d %q, want %d %q", c.method, c.query, c.body, code, body, c.code, c.want)
		}
	}
}
