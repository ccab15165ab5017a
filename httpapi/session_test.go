package httpapi_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

func TestSessionsAndLocks(t *testing.T) {
	c, base := newClient(t)
	se, kv := c.Session(), c.KV()

	s1, _, err := se.Create(&api.SessionEntry{Name: "first", LockDelay: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, _, err := se.Create(&api.SessionEntry{Name: "second", Behavior: api.SessionBehaviorDelete, LockDelay: time.Nanosecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, _, err := se.Info(s1, nil)
	if err != nil || info == nil || info.Name != "first" || info.Behavior != "release" || info.LockDelay != time.Second ||
		len(info.NodeChecks) != 1 || info.NodeChecks[0] != "serfHealth" {
		t.Fatalf("info: %v %+v", err, info)
	}
	list, _, _ := se.List(nil)
	self, _ := c.Agent().NodeName()
	onNode, _, _ := se.Node(self, nil)
	if len(list) != 2 || len(onNode) != 2 {
		t.Fatalf("list %d, on node %d", len(list), len(onNode))
	}

	acquire := func(session, value string) bool {
		t.Helper()
		ok, _, err := kv.Acquire(&api.KVPair{Key: "svc/leader", Value: []byte(value), Session: session}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !acquire(s1, "one") {
		t.Fatal("first acquire failed")
	}
	if acquire(s2, "two") {
		t.Fatal("a second session acquired a held lock")
	}
	p, _, _ := kv.Get("svc/leader", nil)
	if p.Session != s1 || p.LockIndex != 1 || string(p.Value) != "one" {
		t.Fatalf("held key: %+v", p)
	}
	if !acquire(s1, "one again") {
		t.Fatal("the holder could not re-acquire")
	}
	if p, _, _ := kv.Get("svc/leader", nil); p.LockIndex != 1 {
		t.Fatalf("re-acquiring moved LockIndex to %d", p.LockIndex)
	}
	if ok, _, _ := kv.Release(&api.KVPair{Key: "svc/leader", Session: s2}, nil); ok {
		t.Fatal("a non-holder released the lock")
	}
	if ok, _, _ := kv.Release(&api.KVPair{Key: "svc/leader", Session: s1}, nil); !ok {
		t.Fatal("the holder could not release")
	}
	if !acquire(s2, "two") {
		t.Fatal("acquire after a release failed (no lock delay applies to a release)")
	}

	// Destroying s2 (behavior delete) deletes the key it holds.
	if _, err := se.Destroy(s2, nil); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := kv.Get("svc/leader", nil); p != nil {
		t.Fatalf("key of a delete-behavior session survived: %+v", p)
	}

	// Destroying s1 (behavior release) releases, and the lock delay holds
	// off a new holder for a second.
	// s2's lock delay (1ms, the client's smallest) must pass first.
	poll.True(t, 5*time.Second, "acquire by s1 after s2's lock delay", func() bool { return acquire(s1, "x") })
	s3, _, _ := se.Create(&api.SessionEntry{Name: "third"}, nil)
	if _, err := se.Destroy(s1, nil); err != nil {
		t.Fatal(err)
	}
	p, _, _ = kv.Get("svc/leader", nil)
	if p == nil || p.Session != "" || string(p.Value) != "x" {
		t.Fatalf("released key: %+v", p)
	}
	start := time.Now()
	if acquire(s3, "y") {
		t.Fatal("acquired within the lock delay")
	}
	poll.True(t, 5*time.Second, "lock delay ends", func() bool { return acquire(s3, "y") })
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("lock delay ended after %v, want about 1s", took)
	}

	// Txn lock verbs.
	ok, resp, _, err := c.Txn().Txn(api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCheckSession, Key: "svc/leader", Session: s3}},
		{KV: &api.KVTxnOp{Verb: api.KVUnlock, Key: "svc/leader", Session: s3, Value: []byte("free")}},
	}, nil)
	if err != nil || !ok {
		t.Fatalf("txn check-session+unlock: %v %+v", err, resp)
	}

	// Bad input.
	for body, want := range map[string]string{
		`{"Behavior": "explode"}`:  "Invalid Behavior",
		`{"TTL": "1s"}`:            "Invalid Session TTL",
		`{"Checks": ["nothere"]}`:  "Missing check",
		`{"Node": "ghost"}`:        "Missing node",
		`{"LockDelay": "forever"}`: "LockDelay",
	} {
		r := do(t, "PUT", base+"/v1/session/create", body)
		if r.code < 400 || !strings.Contains(r.body, want) {
			t.Errorf("create %s: %d %q, want an error with %q", body, r.code, r.body, want)
		}
	}
	// The client reads Consul's 404 for an unknown session as "no entry".
	if e, _, err := se.Renew("no-such-session", nil); err != nil || e != nil {
		t.Errorf("renewing an unknown session: %+v %v", e, err)
	}
	if r := do(t, "PUT", base+"/v1/session/renew/no-such-session", ""); r.code != 404 {
		t.Errorf("renew of an unknown session: %d", r.code)
	}
	if e, _, err := se.Renew(s3, nil); err != nil || e == nil || e.ID != s3 {
		t.Errorf("renew: %+v %v", e, err)
	}
}

// A session tied to a check is invalidated when the check goes critical,
// and its lock is released.
func TestSessionInvalidatedByCriticalCheck(t *testing.T) {
	c, _ := newClient(t)
	if err := c.Agent().CheckRegister(&api.AgentCheckRegistration{ID: "mem", Name: "memory",
		AgentServiceCheck: api.AgentServiceCheck{TTL: "1m", Status: api.HealthPassing}}); err != nil {
		t.Fatal(err)
	}
	id, _, err := c.Session().Create(&api.SessionEntry{NodeChecks: []string{"serfHealth", "mem"}, LockDelay: time.Nanosecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := c.KV().Acquire(&api.KVPair{Key: "job", Session: id}, nil); !ok {
		t.Fatal("acquire")
	}
	if err := c.Agent().FailTTL("mem", "out of memory"); err != nil {
		t.Fatal(err)
	}
	poll.True(t, 5*time.Second, "session invalidated", func() bool {
		s, _, _ := c.Session().Info(id, nil)
		return s == nil
	})
	if p, _, _ := c.KV().Get("job", nil); p == nil || p.Session != "" {
		t.Fatalf("lock of the invalidated session: %+v", p)
	}
}

// The official client's Lock helper: contenders never hold the lock at once.
func TestLockHelperUnderContention(t *testing.T) {
	c, _ := newClient(t)
	maxHolders, rounds := contend(t, 4, 3, 5*time.Millisecond, func() (acquire, release func() error, err error) {
		lock, err := c.LockOpts(&api.LockOptions{Key: "service/leader", LockWaitTime: time.Second})
		if err != nil {
			return nil, nil, err
		}
		return func() error { _, err := lock.Lock(nil); return err }, lock.Unlock, nil
	})
	if maxHolders != 1 || rounds != 12 {
		t.Fatalf("max holders %d (want 1), rounds %d (want 12)", maxHolders, rounds)
	}
}

// The official client's Semaphore helper: at most Limit holders at once.
func TestSemaphoreHelper(t *testing.T) {
	c, _ := newClient(t)
	maxHolders, rounds := contend(t, 4, 2, 10*time.Millisecond, func() (acquire, release func() error, err error) {
		sem, err := c.SemaphoreOpts(&api.SemaphoreOptions{Prefix: "service/slots", Limit: 2, SemaphoreWaitTime: time.Second})
		if err != nil {
			return nil, nil, err
		}
		return func() error { _, err := sem.Acquire(nil); return err }, sem.Release, nil
	})
	if maxHolders < 1 || maxHolders > 2 || rounds != 8 {
		t.Fatalf("max holders %d (want at most 2), rounds %d (want 8)", maxHolders, rounds)
	}
}

// contend runs workers goroutines that each build a contender with
// newContender, then acquire, hold for hold, and release it, rounds times.
// It returns the most contenders that held at once and the rounds
// completed; an error fails the test and ends that worker.
func contend(t *testing.T, workers, rounds int, hold time.Duration, newContender func() (acquire, release func() error, err error)) (maxHolders, completed int32) {
	t.Helper()
	var holders, most, done atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acquire, release, err := newContender()
			if err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < rounds; j++ {
				if err := acquire(); err != nil {
					t.Error(err)
					return
				}
				n := holders.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(hold) // so that overlaps would show
				holders.Add(-1)
				done.Add(1)
				if err := release(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return most.Load(), done.Load()
}

// A TTL session that is not renewed is invalidated after twice its TTL (as
// in Consul), and its lock is released.
func TestSessionTTLExpiry(t *testing.T) {
	c, _ := newClient(t)
	id, _, err := c.Session().Create(&api.SessionEntry{TTL: "10s", LockDelay: time.Nanosecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := c.KV().Acquire(&api.KVPair{Key: "ttl/lock", Session: id}, nil); !ok {
		t.Fatal("acquire")
	}
	start := time.Now()
	poll.True(t, 30*time.Second, "TTL session invalidated", func() bool {
		s, _, _ := c.Session().Info(id, nil)
		return s == nil
	})
	if took := time.Since(start); took < 19*time.Second {
		t.Fatalf("a 10s TTL session expired after %v, before twice its TTL", took)
	}
	if p, _, _ := c.KV().Get("ttl/lock", nil); p == nil || p.Session != "" {
		t.Fatalf("lock of the expired session: %+v", p)
	}
}
