package membership

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

// syncBuffer is a log sink that tests can read while agents write to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(name string) Config {
	return Config{
		NodeName:   name,
		NodeID:     "00000000-0000-0000-0000-" + fmt.Sprintf("%012x", len(name)*7919+int(name[len(name)-1])),
		Datacenter: "dc1",
		BindAddr:   "127.0.0.1",
		Port:       0,
		Timing:     "local",
	}
}

func start(t *testing.T, cfg Config) *Membership {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start(%s): %v", cfg.NodeName, err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func addr(m *Membership) string {
	l := m.LocalMember()
	return net.JoinHostPort(l.Addr, strconv.Itoa(l.Port))
}

func statuses(m *Membership) map[string]string {
	out := map[string]string{}
	for _, mem := range m.Members() {
		out[mem.Name] = mem.Status
	}
	return out
}

// waitStatus waits until m sees node in status; status "" means absent.
func waitStatus(t *testing.T, m *Membership, node, status string, timeout time.Duration) {
	t.Helper()
	poll.Eventually(t, timeout, fmt.Sprintf("%s to see %s as %q", m.cfg.NodeName, node, status), func() (bool, string) {
		st := statuses(m)
		got, ok := st[node]
		if status == "" {
			return !ok, fmt.Sprint(st)
		}
		return ok && got == status, fmt.Sprint(st)
	})
}

// waitEvent reads m's events until one of type typ for node arrives.
func waitEvent(t *testing.T, m *Membership, typ EventType, node string, timeout time.Duration) Event {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case e := <-m.Events():
			if e.Type == typ && e.Member.Name == node {
				return e
			}
			seen = append(seen, e.Type.String()+":"+e.Member.Name)
		case <-timer.C:
			t.Fatalf("%s: no %s event for %s within %v; saw %v", m.cfg.NodeName, typ, node, timeout, seen)
		}
	}
}

func cluster(t *testing.T, names ...string) []*Membership {
	t.Helper()
	var ms []*Membership
	for _, n := range names {
		ms = append(ms, start(t, testConfig(n)))
	}
	for _, m := range ms[1:] {
		n, err := m.Join([]string{addr(ms[0])})
		if err != nil || n != 1 {
			t.Fatalf("%s join: n=%d err=%v", m.cfg.NodeName, n, err)
		}
	}
	for _, m := range ms {
		for _, n := range names {
			waitStatus(t, m, n, StatusAlive, 10*time.Second)
		}
	}
	return ms
}

func TestThreeMembersJoinAndAllSeeThreeAlive(t *testing.T) {
	ms := cluster(t, "a", "b", "c")
	for _, m := range ms {
		mem := m.Members()
		if len(mem) != 3 {
			t.Fatalf("%s sees %d members, want 3: %v", m.cfg.NodeName, len(mem), statuses(m))
		}
		for _, x := range mem {
			if x.Status != StatusAlive || x.StatusCode() != 1 {
				t.Errorf("%s sees %s as %s (%d), want alive (1)", m.cfg.NodeName, x.Name, x.Status, x.StatusCode())
			}
			if x.Addr != "127.0.0.1" || x.Port == 0 {
				t.Errorf("%s sees %s at %s:%d", m.cfg.NodeName, x.Name, x.Addr, x.Port)
			}
		}
	}
	if got := ms[1].LocalMember(); got.Name != "b" || got.Status != StatusAlive {
		t.Errorf("LocalMember = %+v", got)
	}
}

func TestLeaveShowsAsLeftOnOthers(t *testing.T) {
	ms := cluster(t, "a", "b", "c")
	if err := ms[2].Leave(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ms[0], "c", StatusLeft, 10*time.Second)
	waitStatus(t, ms[1], "c", StatusLeft, 10*time.Second)
	waitEvent(t, ms[0], MemberLeft, "c", 5*time.Second)
	// The others stay alive.
	if st := statuses(ms[0]); st["a"] != StatusAlive || st["b"] != StatusAlive {
		t.Errorf("after c left, a sees %v", st)
	}
	if _, err := ms[2].Join([]string{addr(ms[0])}); err == nil {
		t.Error("Join after Leave succeeded; Serf refuses it")
	}
}

func TestShutdownWithoutLeaveFailsThenForceLeave(t *testing.T) {
	ms := cluster(t, "a", "b", "c")
	if err := ms[2].Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := ms[2].Shutdown(); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	// "local" timing: probe interval 1s, suspicion ~3 probe intervals.
	waitStatus(t, ms[0], "c", StatusFailed, 15*time.Second)
	waitStatus(t, ms[1], "c", StatusFailed, 15*time.Second)
	e := waitEvent(t, ms[1], MemberFailed, "c", 5*time.Second)
	if e.Member.Status != StatusFailed {
		t.Errorf("failed event carries status %q", e.Member.Status)
	}

	if err := ms[0].ForceLeave("nope", false); !errors.Is(err, ErrUnknownMember) {
		t.Errorf("ForceLeave(unknown) = %v, want ErrUnknownMember", err)
	}
	if err := ms[0].ForceLeave("c", false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ms[0], "c", StatusLeft, 5*time.Second)
	waitStatus(t, ms[1], "c", StatusLeft, 10*time.Second)
	waitEvent(t, ms[1], MemberLeft, "c", 5*time.Second)

	if err := ms[0].ForceLeave("c", true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ms[0], "c", "", 5*time.Second)
	waitStatus(t, ms[1], "c", "", 10*time.Second)
	waitEvent(t, ms[1], MemberReaped, "c", 5*time.Second)
	if n := len(ms[0].Members()); n != 2 {
		t.Errorf("after prune a sees %d members: %v", n, statuses(ms[0]))
	}
}

func TestForceLeavePruneRemovesFailedMember(t *testing.T) {
	ms := cluster(t, "a", "b")
	if err := ms[1].Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ms[0], "b", StatusFailed, 15*time.Second)
	if err := ms[0].ForceLeave("b", true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ms[0], "b", "", 5*time.Second)
}

func TestEventsForJoinUpdateAndLeave(t *testing.T) {
	a := start(t, testConfig("a"))
	b := start(t, testConfig("b"))
	if _, err := b.Join([]string{addr(a)}); err != nil {
		t.Fatal(err)
	}
	e := waitEvent(t, a, MemberJoined, "b", 10*time.Second)
	if e.Member.Status != StatusAlive || e.Member.Tags[TagDC] != "dc1" {
		t.Errorf("join event member = %+v", e.Member)
	}
	waitEvent(t, b, MemberJoined, "a", 10*time.Second)

	if err := b.SetTags(map[string]string{"extra": "1"}); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, a, MemberUpdated, "b", 10*time.Second)
	if e.Member.Tags["extra"] != "1" || e.Member.Tags[TagRole] != RoleClient {
		t.Errorf("update event tags = %v", e.Member.Tags)
	}
	if err := b.SetTags(map[string]string{"extra": ""}); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, a, MemberUpdated, "b", 10*time.Second)
	if _, ok := e.Member.Tags["extra"]; ok {
		t.Errorf("tag not deleted: %v", e.Member.Tags)
	}

	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, a, MemberLeft, "b", 10*time.Second)
	if e.Member.Status != StatusLeft {
		t.Errorf("leave event status %q", e.Member.Status)
	}
	if a.DroppedEvents() != 0 {
		t.Errorf("dropped %d events with an attentive consumer", a.DroppedEvents())
	}
}

func TestEventBufferDropsOldest(t *testing.T) {
	m := &Membership{events: make(chan Event, 2), logger: slog.New(slog.DiscardHandler)}
	for i := range 5 {
		m.emit(Event{Type: MemberJoined, Member: Member{Name: fmt.Sprint(i)}})
	}
	if got := m.DroppedEvents(); got != 3 {
		t.Errorf("dropped = %d, want 3", got)
	}
	for _, want := range []string{"3", "4"} {
		if e := <-m.Events(); e.Member.Name != want {
			t.Errorf("got event for %s, want %s", e.Member.Name, want)
		}
	}
}

func TestLaggingConsumerNeverBlocksSerf(t *testing.T) {
	cfg := testConfig("a")
	cfg.EventBuffer = 1
	a := start(t, cfg)
	b := start(t, testConfig("b"))
	c := start(t, testConfig("c"))
	for _, m := range []*Membership{b, c} {
		if _, err := m.Join([]string{addr(a)}); err != nil {
			t.Fatal(err)
		}
	}
	// Nobody reads a's events: a joined itself, b and c, so at least two
	// were dropped, and gossip carried on regardless.
	for _, n := range []string{"a", "b", "c"} {
		waitStatus(t, a, n, StatusAlive, 10*time.Second)
		waitStatus(t, c, n, StatusAlive, 10*time.Second)
	}
	poll.Eventually(t, 5*time.Second, "dropped events", func() (bool, string) {
		return a.DroppedEvents() >= 2, fmt.Sprint(a.DroppedEvents())
	})
	if err := b.SetTags(map[string]string{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, "a to see b's new tag", func() (bool, string) {
		for _, m := range a.Members() {
			if m.Name == "b" {
				return m.Tags["x"] == "y", fmt.Sprint(m.Tags)
			}
		}
		return false, "b missing"
	})
}

func TestEncryption(t *testing.T) {
	key1, err := KeyGen()
	if err != nil {
		t.Fatal(err)
	}
	key2, err := KeyGen()
	if err != nil {
		t.Fatal(err)
	}
	ca, cb, cc := testConfig("a"), testConfig("b"), testConfig("c")
	ca.EncryptKey, cb.EncryptKey, cc.EncryptKey = key1, key1, key2
	a, b, c := start(t, ca), start(t, cb), start(t, cc)
	plain := start(t, testConfig("plain"))
	if !a.EncryptionEnabled() || plain.EncryptionEnabled() {
		t.Fatalf("EncryptionEnabled: a=%v plain=%v", a.EncryptionEnabled(), plain.EncryptionEnabled())
	}

	if n, err := b.Join([]string{addr(a)}); err != nil || n != 1 {
		t.Fatalf("same key join: n=%d err=%v", n, err)
	}
	waitStatus(t, a, "b", StatusAlive, 10*time.Second)
	waitStatus(t, b, "a", StatusAlive, 10*time.Second)

	if n, err := c.Join([]string{addr(a)}); err == nil || n != 0 {
		t.Errorf("different key join: n=%d err=%v; want a failure", n, err)
	}
	if n, err := plain.Join([]string{addr(a)}); err == nil || n != 0 {
		t.Errorf("unencrypted join to encrypted pool: n=%d err=%v; want a failure", n, err)
	}
	for _, m := range []*Membership{a, b} {
		st := statuses(m)
		if _, ok := st["c"]; ok {
			t.Errorf("%s knows c, which has another key: %v", m.cfg.NodeName, st)
		}
		if _, ok := st["plain"]; ok {
			t.Errorf("%s knows the unencrypted member: %v", m.cfg.NodeName, st)
		}
	}
	if len(c.Members()) != 1 {
		t.Errorf("c sees %v", statuses(c))
	}
}

func TestBadConfigIsRejected(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("0123456789"))
	for name, mut := range map[string]func(*Config){
		"no name":    func(c *Config) { c.NodeName = "" },
		"short key":  func(c *Config) { c.EncryptKey = short },
		"not base64": func(c *Config) { c.EncryptKey = "%%%not-base64%%%" },
		"timing":     func(c *Config) { c.Timing = "wan-ish" },
		"bind addr":  func(c *Config) { c.BindAddr = "localhost" },
		"port":       func(c *Config) { c.Port = 70000 },
		"advertise":  func(c *Config) { c.AdvertiseAddr = "nohost" },
	} {
		cfg := testConfig("x")
		mut(&cfg)
		if m, err := Start(cfg); err == nil {
			_ = m.Shutdown()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

func TestKeyGen(t *testing.T) {
	k1, err := KeyGen()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := KeyGen()
	if k1 == k2 {
		t.Error("two keys are equal")
	}
	raw, err := base64.StdEncoding.DecodeString(k1)
	if err != nil || len(raw) != 32 {
		t.Fatalf("key %q: %d bytes, err %v", k1, len(raw), err)
	}
	if _, err := DecodeKey(k1); err != nil {
		t.Error(err)
	}
	k16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	if _, err := DecodeKey(k16); err != nil {
		t.Errorf("16-byte key rejected: %v", err)
	}
}

// freePort finds a port free for both TCP and UDP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func TestRetryJoinWaitsForALaterAddress(t *testing.T) {
	logs := &syncBuffer{}
	cb := testConfig("b")
	cb.Logger = slog.New(slog.NewTextHandler(logs, nil))
	b := start(t, cb)

	port := freePort(t)
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	done := make(chan error, 1)
	go func() {
		done <- RetryJoin(context.Background(), b, []string{target}, 50*time.Millisecond, 0)
	}()
	// Let it fail at least twice before the address comes up.
	poll.Eventually(t, 10*time.Second, "two failed attempts", func() (bool, string) {
		n := strings.Count(logs.String(), "retry-join: join failed")
		return n >= 2, fmt.Sprint(n)
	})
	select {
	case err := <-done:
		t.Fatalf("RetryJoin returned early: %v", err)
	default:
	}

	ca := testConfig("a")
	ca.Port = port
	a := start(t, ca)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RetryJoin: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RetryJoin did not return after the address came up")
	}
	waitStatus(t, a, "b", StatusAlive, 10*time.Second)
	waitStatus(t, b, "a", StatusAlive, 10*time.Second)
}

func TestRetryJoinGivesUp(t *testing.T) {
	b := start(t, testConfig("b"))
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))

	err := RetryJoin(context.Background(), b, []string{target}, 10*time.Millisecond, 3)
	if err == nil || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("max attempts: err = %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = RetryJoin(ctx, b, []string{target}, 20*time.Millisecond, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context: err = %v", err)
	}

	go func() { _ = b.Shutdown() }()
	err = RetryJoin(context.Background(), b, []string{target}, 20*time.Millisecond, 0)
	if err == nil {
		t.Error("RetryJoin on a shut-down member succeeded")
	}
}

func TestTagsRoundTrip(t *testing.T) {
	cs := testConfig("srv")
	cs.NodeID = "11111111-2222-3333-4444-555555555555"
	cs.Server = true
	cs.ServerPort = 8300
	cs.HTTPPort = 8500
	cs.NATSPort = 4222
	cs.BootstrapExpect = 3
	srv := start(t, cs)

	cc := testConfig("cli")
	cc.NodeID = "66666666-2222-3333-4444-555555555555"
	cc.Datacenter = "east"
	cc.HTTPPort = 18500
	cli := start(t, cc)

	cb := testConfig("boot")
	cb.Server, cb.Bootstrap, cb.ServerPort = true, true, 9300
	boot := start(t, cb)

	for _, m := range []*Membership{cli, boot} {
		if _, err := m.Join([]string{addr(srv)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"srv", "cli", "boot"} {
		waitStatus(t, cli, n, StatusAlive, 10*time.Second)
	}
	seen := map[string]Member{}
	for _, m := range cli.Members() {
		seen[m.Name] = m
	}

	s := seen["srv"].Tags
	wantSrv := map[string]string{
		TagRole: RoleServer, TagDC: "dc1", TagID: cs.NodeID, TagPort: "8300",
		TagExpect: "3", TagHTTPPort: "8500", TagNATSPort: "4222",
		TagVsn: "2", TagVsnMin: "2", TagVsnMax: "3", TagRaftVsn: "3",
	}
	for k, v := range wantSrv {
		if s[k] != v {
			t.Errorf("server tag %s = %q, want %q (all: %v)", k, s[k], v, s)
		}
	}
	if _, ok := s[TagBootstrap]; ok {
		t.Errorf("server without -bootstrap has bootstrap tag: %v", s)
	}
	if !strings.HasPrefix(s[TagBuild], "1.20.0:") {
		t.Errorf("build tag %q", s[TagBuild])
	}
	if !seen["srv"].IsServer() || seen["cli"].IsServer() {
		t.Error("IsServer wrong")
	}

	c := seen["cli"].Tags
	if c[TagRole] != RoleClient || c[TagDC] != "east" || c[TagID] != cc.NodeID || c[TagHTTPPort] != "18500" {
		t.Errorf("client tags %v", c)
	}
	for _, k := range []string{TagPort, TagExpect, TagBootstrap, TagNATSPort, TagRaftVsn} {
		if _, ok := c[k]; ok {
			t.Errorf("client has %s tag: %v", k, c)
		}
	}
	if b := seen["boot"].Tags; b[TagBootstrap] != "1" || b[TagPort] != "9300" {
		t.Errorf("bootstrap server tags %v", b)
	}
	if got := srv.LocalMember().Tags; got[TagExpect] != "3" {
		t.Errorf("local tags %v", got)
	}
	// Members returns copies: changing one does not change Serf's view.
	seen["srv"].Tags[TagRole] = "mutated"
	for _, m := range cli.Members() {
		if m.Name == "srv" && m.Tags[TagRole] != RoleServer {
			t.Error("Members shares its tag maps")
		}
	}
}

func TestLogWriterLevels(t *testing.T) {
	logs := &syncBuffer{}
	w := &logWriter{logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	fmt.Fprintln(w, "[WARN] memberlist: something odd")
	fmt.Fprintln(w, "[DEBUG] serf: detail")
	fmt.Fprintln(w, "[ERR] memberlist: broken")
	out := logs.String()
	for _, want := range []string{`level=WARN msg="memberlist: something odd"`, `level=DEBUG msg="serf: detail"`, `level=ERROR msg="memberlist: broken"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log missing %s:\n%s", want, out)
		}
	}
}
