//go:build unix

package robustness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/testutil/poll"
)

// Workload says what the clients do.
type Workload struct {
	Clients   int           // concurrent clients, each one operation at a time
	Registers int           // register keys
	Locks     int           // lock keys (0: no lock operations)
	Pace      time.Duration // each client's pause between operations
}

// client is one simulated user: it sends each operation to a server
// chosen at random, and remembers what it last read of each key (for
// CAS) and which locks its session holds.
type client struct {
	id      int
	c       *Cluster
	h       *History
	rng     *rand.Rand
	w       Workload
	session string
	n       int             // operations made, for unique values
	seen    map[string]*Op  // the last successful read of each register
	holding map[string]bool // locks this client's session holds
	keys    []string        // registers, then locks
}

func registerKey(i int) string { return fmt.Sprintf("%s%d", registerPrefix, i) }
func lockKey(i int) string     { return fmt.Sprintf("%s%d", lockPrefix, i) }

// newClient makes client id; with locks it creates the client's session,
// one without health checks, so that only its client ends its holds (a
// session tied to a server's serfHealth is invalidated, its locks freed,
// when the nemesis kills that server, which the lock model would see as
// a lock vanishing).
func newClient(c *Cluster, h *History, w Workload, id int, seed uint64) (*client, error) {
	cl := &client{id: id, c: c, h: h, w: w, rng: rand.New(rand.NewPCG(seed, uint64(id))),
		seen: map[string]*Op{}, holding: map[string]bool{}}
	for i := range w.Registers {
		cl.keys = append(cl.keys, registerKey(i))
	}
	for i := range w.Locks {
		cl.keys = append(cl.keys, lockKey(i))
	}
	if w.Locks > 0 {
		// A session names a node, which the catalog must hold: a
		// server registers itself shortly after it sees a leader.
		state, ok := poll.Until(20*time.Second, func() (bool, string) {
			var err error
			cl.session, _, err = c.Client(id%c.N()).Session().CreateNoChecks(
				&api.SessionEntry{Name: fmt.Sprintf("robustness-client-%d", id)}, nil)
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		if !ok {
			return nil, fmt.Errorf("client %d: create a session: %s", id, state)
		}
	}
	return cl, nil
}

// run makes operations until ctx is done.
func (cl *client) run(ctx context.Context) {
	for ctx.Err() == nil {
		key := cl.keys[cl.rng.IntN(len(cl.keys))]
		if isLock(key) {
			cl.lockOp(ctx, key)
		} else {
			cl.registerOp(ctx, key)
		}
		if cl.w.Pace > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(cl.w.Pace):
			}
		}
	}
}

func (cl *client) value() string {
	cl.n++
	return fmt.Sprintf("c%d.%d", cl.id, cl.n)
}

func (cl *client) registerOp(ctx context.Context, key string) {
	switch r := cl.rng.IntN(100); {
	case r < 40:
		cl.Get(ctx, key)
	case r < 65:
		cl.do(ctx, &Op{Kind: Put, Key: key, Value: cl.value()})
	case r < 92:
		// CAS from what this client last read, or read first.
		last := cl.seen[key]
		if last == nil {
			cl.Get(ctx, key)
			return
		}
		op := &Op{Kind: CAS, Key: key, Value: cl.value()}
		if last.Found {
			op.Expect, op.Index = last.Got, last.GotIndex
		}
		cl.do(ctx, op)
		delete(cl.seen, key) // read again before the next CAS
	default:
		cl.do(ctx, &Op{Kind: Delete, Key: key})
	}
}

func (cl *client) lockOp(ctx context.Context, key string) {
	switch r := cl.rng.IntN(100); {
	case r < 40:
		cl.Get(ctx, key)
	case cl.holding[key]:
		op := cl.do(ctx, &Op{Kind: Release, Key: key, Value: cl.session})
		// Unknown: read the key to learn whether it is still held.
		if op.Outcome == OK || (op.Outcome == Unknown && cl.stillHeld(ctx, key) == 0) {
			cl.holding[key] = false
		}
	default:
		op := cl.do(ctx, &Op{Kind: Acquire, Key: key, Value: cl.session})
		if (op.Outcome == OK && op.Result) || (op.Outcome == Unknown && cl.stillHeld(ctx, key) == 1) {
			cl.holding[key] = true
		}
	}
}

// stillHeld reads a lock after an operation on it whose outcome is
// unknown: 1 if this client's session holds it, 0 if not, -1 if it could
// not tell.
func (cl *client) stillHeld(ctx context.Context, key string) int {
	for range 5 {
		if ctx.Err() != nil {
			break
		}
		op := cl.Get(ctx, key)
		if op.Outcome == OK {
			if op.Got == cl.session {
				return 1
			}
			return 0
		}
	}
	return -1
}

// Get makes a ?consistent read and records it.
func (cl *client) Get(ctx context.Context, key string) *Op {
	op := cl.do(ctx, &Op{Kind: Get, Key: key})
	if op.Outcome == OK && !isLock(key) {
		cl.seen[key] = op
	}
	return op
}

// do sends op to a random server and records it with its outcome.
func (cl *client) do(ctx context.Context, op *Op) *Op {
	i := cl.rng.IntN(cl.c.N())
	kv := cl.c.Client(i).KV()
	op.Client, op.Server = cl.id, cl.c.Name(i)
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	w := (&api.WriteOptions{}).WithContext(rctx)
	op.Call = cl.h.Now()
	var err error
	switch op.Kind {
	case Get:
		var p *api.KVPair
		p, _, err = kv.Get(op.Key, (&api.QueryOptions{RequireConsistent: true}).WithContext(rctx))
		if err == nil && p != nil {
			op.Found, op.GotIndex = true, p.ModifyIndex
			if isLock(op.Key) {
				op.Got = p.Session
			} else {
				op.Got = string(p.Value)
			}
		}
	case Put:
		_, err = kv.Put(&api.KVPair{Key: op.Key, Value: []byte(op.Value)}, w)
		op.Result = err == nil
	case CAS:
		op.Result, _, err = kv.CAS(&api.KVPair{Key: op.Key, Value: []byte(op.Value), ModifyIndex: op.Index}, w)
	case Delete:
		_, err = kv.Delete(op.Key, w)
		op.Result = err == nil
	case Acquire:
		op.Result, _, err = kv.Acquire(&api.KVPair{Key: op.Key, Session: op.Value}, w)
	case Release:
		op.Result, _, err = kv.Release(&api.KVPair{Key: op.Key, Session: op.Value}, w)
	}
	op.Return = cl.h.Now()
	if err != nil {
		op.Outcome, op.Err = classify(err)
		op.Result = false
	}
	if ctx.Err() != nil && op.Outcome != OK {
		// Cut short by the end of the run, not by the cluster.
		op.Outcome = Unknown
	}
	cl.h.Add(op)
	return op
}

// classify tells a request that certainly took no effect (Refused) from
// one that may have (Unknown), and shortens the error for the record.
func classify(err error) (Outcome, string) {
	var se api.StatusError
	if errors.As(err, &se) {
		msg := fmt.Sprintf("%d %s", se.Code, strings.TrimSpace(se.Body))
		// "No cluster leader" alone means the write never reached a
		// log; with "may have been applied" it timed out in one.
		if se.Code >= 400 && se.Code < 500 || strings.Contains(se.Body, "No cluster leader") && !strings.Contains(se.Body, "may have been applied") {
			return Refused, msg
		}
		return Unknown, msg
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return Refused, "connection refused"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return Unknown, msg
}
