package log_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"

	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
	"github.com/heraldhq/herald/statemachine"
	"github.com/heraldhq/herald/testutil/poll"
)

// server is one member of an in-process cluster: a real NodeHost with real
// on-disk state machines, reachable over loopback TCP.
type server struct {
	dir, addr string
	id        uint64
	host      *hlog.Host
	kv        *projections.KV
	machines  map[command.Shard]*statemachine.StateMachine
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the server's host and both shards; members empty means join.
func (s *server) start(t *testing.T, members map[uint64]string) {
	t.Helper()
	h, err := hlog.Start(hlog.Config{Dir: filepath.Join(s.dir, "raft"), RaftAddress: s.addr, ReplicaID: s.id,
		RaftMultiplier: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.host, s.kv = h, projections.NewKV()
	s.machines = map[command.Shard]*statemachine.StateMachine{}
	for _, shard := range command.Shards() {
		var sink statemachine.Sink = projections.NewCatalog()
		if shard == command.ShardKV {
			sink = s.kv
		}
		m := statemachine.New(statemachine.Config{Dir: filepath.Join(s.dir, "state", shard.String()),
			Shard: shard.String(), Sink: sink})
		s.machines[shard] = m
		if err := h.StartShard(shard, members, func() sm.IOnDiskStateMachine { return m }); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *server) stop() {
	if s.host != nil {
		s.host.Close()
		s.host = nil
	}
}

func put(ctx context.Context, h *hlog.Host, key, value string) error {
	_, err := h.Propose(ctx, command.Command{Time: time.Now().UnixNano(),
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: key, Value: []byte(value)}}})
	return err
}

func waitValue(t *testing.T, s *server, key, want string) {
	t.Helper()
	poll.Eventually(t, 20*time.Second, fmt.Sprintf("server %s sees %s=%s", s.addr, key, want), func() (bool, string) {
		e, _, _ := s.kv.Get(key, false)
		if e == nil {
			return false, key + " absent"
		}
		return string(e.Value) == want, fmt.Sprintf("%s=%s", key, e.Value)
	})
}

// startCluster starts n servers that form one cluster, stopped when the
// test ends, and returns them with their membership.
func startCluster(t *testing.T, n int) ([]*server, map[uint64]string) {
	t.Helper()
	servers := make([]*server, n)
	members := map[uint64]string{}
	for i := range servers {
		s := &server{dir: t.TempDir(), addr: freeAddr(t), id: hlog.ReplicaIDFor(fmt.Sprintf("node-%d", i))}
		servers[i] = s
		members[s.id] = s.addr
	}
	// WaitReady is off, so the shards of all of them start side by side.
	for _, s := range servers {
		s.start(t, members)
		t.Cleanup(s.stop)
	}
	return servers, members
}

// TestThreeServerCluster: writes replicate to every server; when the
// leader dies a new one takes writes; the dead server restarts and catches
// up; a fourth server added as a voter catches up too.
func TestThreeServerCluster(t *testing.T) {
	servers, members := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := put(ctx, servers[0].host, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		waitValue(t, s, "k", "v1")
	}

	// Kill the kv shard's leader; another server takes the next write.
	leaderID, ok := servers[0].host.Leader(command.ShardKV)
	if !ok {
		t.Fatal("no leader after a committed write")
	}
	var dead *server
	var alive []*server
	for _, s := range servers {
		if s.id == leaderID {
			dead = s
		} else {
			alive = append(alive, s)
		}
	}
	dead.stop()
	start := time.Now()
	if err := put(ctx, alive[0].host, "k", "v2"); err != nil {
		t.Fatalf("write after the leader died: %v", err)
	}
	t.Logf("first write after the leader died took %v", time.Since(start).Round(time.Millisecond))
	waitValue(t, alive[1], "k", "v2")

	// The dead server restarts on its data and catches up.
	dead.start(t, members)
	waitValue(t, dead, "k", "v2")

	// A fourth server joins as a voter of the kv shard.
	fourth := &server{dir: t.TempDir(), addr: freeAddr(t), id: hlog.ReplicaIDFor("node-3")}
	for _, shard := range command.Shards() {
		if err := alive[0].host.AddVoter(ctx, shard, fourth.id, fourth.addr); err != nil {
			t.Fatalf("add voter to %s: %v", shard.String(), err)
		}
	}
	fourth.start(t, nil)
	defer fourth.stop()
	waitValue(t, fourth, "k", "v2")
	m, err := alive[0].host.Membership(ctx, command.ShardKV)
	if err != nil || len(m.Voters) != 4 || m.Voters[fourth.id] != fourth.addr {
		t.Fatalf("membership after adding a voter: %v %v", m, err)
	}
}

// TestRecoverFromQuorumLoss: two of three servers are lost for good; the
// survivor cannot write; exporting its state and importing it as a
// one-voter shard brings it back with every write it had, and a new server
// then joins it.
func TestRecoverFromQuorumLoss(t *testing.T) {
	servers, _ := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 20 {
		if err := put(ctx, servers[0].host, fmt.Sprintf("k%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	survivor := servers[2]
	waitValue(t, survivor, "k19", "v")
	servers[0].stop()
	servers[1].stop()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	err := put(wctx, survivor.host, "lost", "quorum")
	wcancel()
	// The survivor may still lead when the write arrives: then the
	// write sits in its log and may yet commit, and it says so.
	if !errors.Is(err, hlog.ErrNoLeader) {
		t.Fatalf("a write without quorum: %v, want ErrNoLeader", err)
	}

	exported := map[command.Shard]string{}
	for _, shard := range command.Shards() {
		dir, _, err := survivor.host.ExportSnapshot(ctx, shard, filepath.Join(t.TempDir(), shard.String()))
		if err != nil {
			t.Fatal(err)
		}
		exported[shard] = dir
	}
	survivor.stop()
	for _, shard := range command.Shards() {
		cfg := hlog.Config{Dir: filepath.Join(survivor.dir, "raft"), RaftAddress: survivor.addr, ReplicaID: survivor.id}
		if err := hlog.ImportSnapshot(cfg, exported[shard]); err != nil {
			t.Fatal(err)
		}
	}
	survivor.start(t, nil)
	// The lone voter elects itself once its shards are loaded, which on a
	// busy machine can take longer than one write waits for a leader.
	poll.Eventually(t, 30*time.Second, "a write after recovery", func() (bool, string) {
		err := put(ctx, survivor.host, "after", "recovery")
		return err == nil, fmt.Sprint(err)
	})
	waitValue(t, survivor, "k19", "v")
	m, err := survivor.host.Membership(ctx, command.ShardKV)
	if err != nil || len(m.Voters) != 1 || !m.Removed[servers[0].id] {
		t.Fatalf("membership after recovery: %v %v", m, err)
	}

	// The lost servers' IDs are retired; a new server joins under its own.
	if err := survivor.host.AddVoter(ctx, command.ShardKV, servers[0].id, servers[0].addr); err == nil {
		t.Fatal("a lost server's replica ID was accepted again")
	}
	fresh := &server{dir: t.TempDir(), addr: freeAddr(t), id: hlog.ReplicaIDFor("node-new")}
	for _, shard := range command.Shards() {
		if err := survivor.host.AddVoter(ctx, shard, fresh.id, fresh.addr); err != nil {
			t.Fatal(err)
		}
	}
	fresh.start(t, nil)
	defer fresh.stop()
	waitValue(t, fresh, "after", "recovery")
	waitValue(t, fresh, "k0", "v")
}

// TestARequestSentTwiceIsAppliedOnce: a command that reaches the log twice
// under one request ID (a client agent sending it again to another server
// after the first died before answering) takes effect once, and the second
// sending gets the first's answer; a command whose deadline has passed by
// the time it is applied is refused.
func TestARequestSentTwiceIsAppliedOnce(t *testing.T) {
	servers, _ := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := put(ctx, servers[0].host, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	e, _, _ := servers[0].kv.Get("k", false)
	now := time.Now()
	cas := command.Command{Time: now.UnixNano(), ID: command.RequestID{Proposer: 42, Seq: 1}, Deadline: now.Add(20 * time.Second).UnixNano(),
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVCAS, Key: "k", Value: []byte("cas"), Index: e.ModifyIndex}}}
	first, err := servers[0].host.Propose(ctx, cas)
	if err != nil || !first.Succeeded {
		t.Fatalf("CAS: %+v %v", first, err)
	}
	if err := put(ctx, servers[0].host, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	again, err := servers[1].host.Propose(ctx, cas)
	if err != nil || again.Succeeded != first.Succeeded || again.Refusal != first.Refusal {
		t.Fatalf("the CAS sent again answered %+v, %v; want the first answer %+v", again, err, first)
	}
	for _, s := range servers {
		waitValue(t, s, "k", "v2")
	}

	// A proposer whose clock runs 30 s ahead moves the cluster's clock
	// past the next command's deadline: that command is refused when
	// applied, though it reached the log in time by its proposer's clock.
	ahead := command.Command{Time: now.Add(30 * time.Second).UnixNano(),
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "j", Value: []byte("x")}}}
	if _, err := servers[0].host.Propose(ctx, ahead); err != nil {
		t.Fatal(err)
	}
	stale := command.Command{Time: time.Now().UnixNano(), Deadline: now.Add(20 * time.Second).UnixNano(),
		Body: &command.KVBody{Op: command.KVOp{Verb: command.KVSet, Key: "k", Value: []byte("stale")}}}
	res, err := servers[2].host.Propose(ctx, stale)
	if err != nil || res.Succeeded {
		t.Fatalf("a command applied past its deadline answered %+v, %v; want a refusal", res, err)
	}
	if e, _, _ := servers[2].kv.Get("k", false); string(e.Value) != "v2" {
		t.Fatalf("k = %s, want v2", e.Value)
	}
}

// TestAttemptOverBeforeProposedIsRetried: on a stalled machine an
// attempt's time can run out before Dragonboat looks at it, which it
// answers with ErrInvalidDeadline. Nothing was proposed, so the request
// tries again while it has time, and if it runs out the write is not in
// doubt.
func TestAttemptOverBeforeProposedIsRetried(t *testing.T) {
	servers, _ := startCluster(t, 1)
	h := servers[0].host
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	calls := 0
	err := h.Retry(ctx, command.ShardKV, true, func(context.Context) error {
		calls++
		if calls == 1 {
			return dragonboat.ErrInvalidDeadline
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("after one stalled attempt: %v in %d calls, want success in 2", err, calls)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	err = h.Retry(short, command.ShardKV, true, func(context.Context) error { return dragonboat.ErrInvalidDeadline })
	if !errors.Is(err, hlog.ErrNoLeader) || errors.Is(err, hlog.ErrInDoubt) {
		t.Fatalf("a write never proposed: %v, want ErrNoLeader and not in doubt", err)
	}
}
