package statemachine

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Builders for session and lock commands.

func createSession(id, node, behavior string, lockDelay time.Duration) *command.SessionCreateBody {
	return &command.SessionCreateBody{Session: event.Session{ID: id, Node: node, Behavior: behavior, LockDelay: int64(lockDelay)}}
}

func destroySession(id string) *command.SessionDestroyBody {
	return &command.SessionDestroyBody{ID: id}
}

func renewSession(id string, deadline time.Duration) *command.SessionRenewBody {
	return &command.SessionRenewBody{ID: id, Deadline: ruleT0.Add(deadline).UnixNano()}
}

func lock(key, session, value string) *command.KVBody {
	return &command.KVBody{Op: command.KVOp{Verb: command.KVLock, Key: key, Session: session, Value: []byte(value)}}
}

func unlock(key, session, value string) *command.KVBody {
	return &command.KVBody{Op: command.KVOp{Verb: command.KVUnlock, Key: key, Session: session, Value: []byte(value)}}
}

func kvSet(key, value string) *command.KVBody { return &command.KVBody{Op: set(key, value)} }

// Setups: s1 (release, 10 s lock delay) holds "leader"; s2 is another
// session of the same node, holding nothing.
var (
	s1Holds = []command.Body{
		createSession("s1", "n1", "release", 10*time.Second),
		createSession("s2", "n1", "release", 10*time.Second),
		lock("leader", "s1", "a"),
	}
	// s1Destroyed is s1Holds after s1 was destroyed at ruleT0: "leader"
	// was released and is in its lock delay until ruleT0+10s.
	s1Destroyed = then(s1Holds, destroySession("s1"))
)

// s1DestroyedWith is like s1Destroyed, with s1's behavior and lock delay
// as given and s2 without a lock delay of its own.
func s1DestroyedWith(behavior string, lockDelay time.Duration) []command.Body {
	return []command.Body{
		createSession("s1", "n1", behavior, lockDelay),
		createSession("s2", "n1", "release", 0),
		lock("leader", "s1", "a"),
		destroySession("s1"),
	}
}

func TestSessionRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name:   "create: the behavior defaults to release",
		apply:  createSession("s1", "n1", "", 15*time.Second),
		events: []string{"session.updated s1 node=n1 behavior=release delay=15s @1/1"},
	}, {
		// The node and the checks are not looked up here: they are in
		// the catalog shard. The API refuses a session whose node is
		// unknown or whose checks are missing or critical, before
		// proposing it.
		name: "create with node and service checks, on a node the kv shard cannot see",
		apply: &command.SessionCreateBody{Session: event.Session{ID: "s1", Node: "n9", Behavior: "delete",
			NodeChecks: []string{"serfHealth"}, ServiceChecks: []event.ServiceCheck{{ID: "web1-alive"}},
			TTL: "30s", Deadline: ruleT0.Add(60 * time.Second).UnixNano()}},
		events: []string{"session.updated s1 node=n9 behavior=delete delay=0s checks=serfHealth,svc:web1-alive deadline=1m0s @1/1"},
	}, {
		name:    "create needs an ID",
		apply:   createSession("", "n1", "release", 0),
		refused: "Missing session ID",
	}, {
		name:    "create with an ID in use",
		setup:   s1Holds,
		apply:   createSession("s1", "n2", "release", 0),
		refused: `session "s1" already exists`,
	}, {
		// The API refuses behaviors other than release and delete;
		// apply takes any, and destroy treats them as release.
		name:   "create with an unknown behavior",
		apply:  createSession("s1", "n1", "keep", 0),
		events: []string{"session.updated s1 node=n1 behavior=keep delay=0s @1/1"},
	}, {
		name:   "destroy a session holding nothing",
		setup:  s1Holds,
		apply:  destroySession("s2"),
		events: []string{"session.deleted s2 node=n1 behavior=release delay=10s @2/2"},
	}, {
		name:  "destroy releases the session's locks, keeping their values",
		setup: s1Holds,
		apply: destroySession("s1"),
		events: []string{
			"kv.updated leader value=a lock=1 @3/4",
			"session.deleted s1 node=n1 behavior=release delay=10s @1/1",
		},
	}, {
		name: "destroy with behavior delete deletes the session's keys",
		setup: []command.Body{
			createSession("s1", "n1", "delete", 10*time.Second),
			lock("leader", "s1", "a"),
			lock("service/web/leader", "s1", "b"),
		},
		apply: destroySession("s1"),
		events: []string{
			"kv.deleted leader",
			"kv.deleted service/web/leader",
			"session.deleted s1 node=n1 behavior=delete delay=10s @1/1",
		},
	}, {
		name:  "destroy leaves other sessions' locks and plain keys alone",
		setup: then(s1Holds, lock("other", "s2", "x"), kvSet("plain", "p")),
		apply: destroySession("s1"),
		events: []string{
			"kv.updated leader value=a lock=1 @3/6",
			"session.deleted s1 node=n1 behavior=release delay=10s @1/1",
		},
	}, {
		name:   "destroy with an unknown behavior releases",
		setup:  []command.Body{createSession("s1", "n1", "keep", 0), lock("leader", "s1", "a")},
		apply:  destroySession("s1"),
		events: []string{"kv.updated leader value=a lock=1 @2/3", "session.deleted s1 node=n1 behavior=keep delay=0s @1/1"},
	}, {
		name:  "destroy an unknown session is no change",
		setup: s1Holds,
		apply: destroySession("s9"),
	}, {
		// The deadline is the proposer's; the session's ModifyIndex
		// does not move (in Consul a renewal is not even a write).
		name:   "renew moves the deadline",
		setup:  s1Holds,
		apply:  renewSession("s1", 40*time.Second),
		events: []string{"session.updated s1 node=n1 behavior=release delay=10s deadline=40s @1/1"},
	}, {
		// A renewal proposed earlier but applied later moves the
		// deadline back: the newest command wins, not the latest
		// deadline.
		name:   "renew with an earlier deadline moves it back",
		setup:  then(s1Holds, renewSession("s1", 40*time.Second)),
		apply:  renewSession("s1", 20*time.Second),
		events: []string{"session.updated s1 node=n1 behavior=release delay=10s deadline=20s @1/1"},
	}, {
		name:    "renew an unknown session",
		setup:   s1Holds,
		apply:   renewSession("s9", 40*time.Second),
		refused: "Session id 's9' not found",
	}})
}

func TestLockRules(t *testing.T) {
	runRules(t, []ruleCase{{
		name:   "a session takes a free key",
		setup:  s1Holds,
		apply:  lock("job", "s2", "me"),
		events: []string{"kv.updated job value=me session=s2 lock=1 @4/4"},
	}, {
		name:   "a session takes an existing key that nobody holds",
		setup:  then(s1Holds, kvSet("job", "old")),
		apply:  lock("job", "s2", "me"),
		events: []string{"kv.updated job value=me session=s2 lock=1 @4/5"},
	}, {
		// As in Consul, a TTL session is invalid only once it has been
		// destroyed (by the kv leader's reaper, here): a lock taken
		// after its deadline but before that succeeds.
		name: "a session past its TTL deadline takes locks until it is destroyed",
		setup: []command.Body{&command.SessionCreateBody{Session: event.Session{ID: "s1", Node: "n1", TTL: "10s",
			Deadline: ruleT0.Add(20 * time.Second).UnixNano()}}},
		after:  time.Minute,
		apply:  lock("job", "s1", "late"),
		events: []string{"kv.updated job value=late session=s1 lock=1 @2/2"},
	}, {
		name:    "an unknown session takes nothing",
		setup:   s1Holds,
		apply:   lock("job", "s9", "me"),
		refused: `invalid session "s9"`,
	}, {
		name:    "a lock needs a session",
		setup:   s1Holds,
		apply:   lock("job", "", "me"),
		refused: `invalid session ""`,
	}, {
		name:   "the holder acquires again: the value changes, the lock index does not",
		setup:  s1Holds,
		apply:  lock("leader", "s1", "a2"),
		events: []string{"kv.updated leader value=a2 session=s1 lock=1 @3/4"},
	}, {
		name:    "another session cannot take a held key",
		setup:   s1Holds,
		apply:   lock("leader", "s2", "b"),
		refused: `failed to lock key "leader", lock is already held`,
	}, {
		// As in Consul: a write that is not a lock keeps the holder.
		name:   "a plain write to a held key keeps the lock",
		setup:  s1Holds,
		apply:  kvSet("leader", "overwritten"),
		events: []string{"kv.updated leader value=overwritten session=s1 lock=1 @3/4"},
	}, {
		name:   "the holder unlocks: the session goes, the lock index stays",
		setup:  s1Holds,
		apply:  unlock("leader", "s1", "bye"),
		events: []string{"kv.updated leader value=bye lock=1 @3/4"},
	}, {
		name:    "another session cannot unlock",
		setup:   s1Holds,
		apply:   unlock("leader", "s2", ""),
		refused: `failed to unlock key "leader", lock isn't held, or is held by another session`,
	}, {
		name:    "unlocking a key nobody holds",
		setup:   then(s1Holds, kvSet("job", "x")),
		apply:   unlock("job", "s1", ""),
		refused: `failed to unlock key "job", lock isn't held, or is held by another session`,
	}, {
		name:    "unlocking a missing key",
		setup:   s1Holds,
		apply:   unlock("job", "s1", ""),
		refused: `failed to unlock key "job", lock isn't held, or is held by another session`,
	}, {
		// As in Consul: the lock delay follows an invalidated session,
		// not a voluntary release.
		name:   "after an unlock, another session takes the key at once",
		setup:  then(s1Holds, unlock("leader", "s1", "")),
		apply:  lock("leader", "s2", "b"),
		events: []string{"kv.updated leader value=b session=s2 lock=2 @3/5"},
	}, {
		name:    "after a destroy, the released key is in its lock delay",
		setup:   s1Destroyed,
		after:   5 * time.Second,
		apply:   lock("leader", "s2", "b"),
		refused: `failed to lock key "leader", lock delay in effect`,
	}, {
		name:    "the lock delay lasts until its last nanosecond",
		setup:   s1Destroyed,
		after:   10*time.Second - 1,
		apply:   lock("leader", "s2", "b"),
		refused: `failed to lock key "leader", lock delay in effect`,
	}, {
		name:   "the lock delay ends at destroy time plus the session's delay",
		setup:  s1Destroyed,
		after:  10 * time.Second,
		apply:  lock("leader", "s2", "b"),
		events: []string{"kv.updated leader value=b session=s2 lock=2 @3/5"},
	}, {
		name:   "the lock delay holds only the keys the session held",
		setup:  s1Destroyed,
		after:  time.Second,
		apply:  lock("job", "s2", "b"),
		events: []string{"kv.updated job value=b session=s2 lock=1 @5/5"},
	}, {
		// The delay is judged by the lock command's own Time: one
		// proposed before the destroy is refused too, whenever it is
		// applied.
		name:    "a lock proposed before the destroy is in the delay as well",
		setup:   s1Destroyed,
		after:   -time.Second,
		apply:   lock("leader", "s2", "b"),
		refused: `failed to lock key "leader", lock delay in effect`,
	}, {
		name:    "a deleted key is in its lock delay too",
		setup:   s1DestroyedWith("delete", 10*time.Second),
		after:   5 * time.Second,
		apply:   lock("leader", "s2", "b"),
		refused: `failed to lock key "leader", lock delay in effect`,
	}, {
		name:   "after its lock delay, a deleted key is taken anew",
		setup:  s1DestroyedWith("delete", 10*time.Second),
		after:  10 * time.Second,
		apply:  lock("leader", "s2", "b"),
		events: []string{"kv.updated leader value=b session=s2 lock=1 @5/5"},
	}, {
		name:   "a session without a lock delay leaves none",
		setup:  s1DestroyedWith("release", 0),
		apply:  lock("leader", "s2", "b"),
		events: []string{"kv.updated leader value=b session=s2 lock=2 @3/5"},
	}, {
		// The API caps the lock delay at 60 s, as Consul does; apply
		// enforces whatever the session says.
		name:    "apply does not cap the lock delay",
		setup:   s1DestroyedWith("release", 5*time.Minute),
		after:   2 * time.Minute,
		apply:   lock("leader", "s2", "b"),
		refused: `failed to lock key "leader", lock delay in effect`,
	}})
}
