package robustness

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"
)

// Kind is what an operation does.
type Kind uint8

// The operations clients make. Registers take Get, Put, CAS and Delete;
// locks take Get (which reads the key's Session), Acquire and Release.
const (
	Get Kind = iota
	Put
	CAS
	Delete
	Acquire
	Release
)

func (k Kind) String() string {
	return [...]string{"get", "put", "cas", "delete", "acquire", "release"}[k]
}

// Outcome is what a client learned of its operation.
type Outcome uint8

const (
	// OK: the server answered; the operation took effect as its result
	// says (a CAS or an acquire may answer false).
	OK Outcome = iota
	// Refused: the operation certainly took no effect: the request never
	// reached a server (connection refused), or the server refused it
	// before proposing it (4xx, 500 "No cluster leader", as Consul
	// clients rely on). It is left out of the history, so if it takes
	// effect all the same its value shows up from nowhere.
	Refused
	// Unknown: a timeout, a reset connection or another 5xx: the
	// operation may take effect at any time from its call on, or never.
	// It stays open to the end of the history.
	Unknown
)

func (o Outcome) String() string { return [...]string{"ok", "refused", "unknown"}[o] }

// Op is one operation of one client, with its outcome.
type Op struct {
	Client int
	Kind   Kind
	Key    string
	// Value is what a Put or CAS writes (unique in a run, so a value read
	// names the write that made it); the session of an Acquire or Release.
	Value string
	// Expect is the value a CAS expects, the one its client last read
	// together with Index ("" when the key was absent: ?cas=0).
	Expect string
	Index  uint64
	// Server is the node the request went to.
	Server string
	// Call and Return are nanoseconds since the history began; Return is
	// math.MaxInt64 for an Unknown outcome.
	Call, Return int64
	Outcome      Outcome
	// Result is the server's true/false for writes.
	Result bool
	// Found and Got are what a Get read: the value (registers) or the
	// holding session (locks); GotIndex its ModifyIndex.
	Found    bool
	Got      string
	GotIndex uint64
	Err      string
}

func (o *Op) String() string {
	var s string
	switch o.Kind {
	case Get:
		if o.Found {
			s = fmt.Sprintf("get(%s) -> %q@%d", o.Key, o.Got, o.GotIndex)
		} else {
			s = fmt.Sprintf("get(%s) -> absent", o.Key)
		}
	case Put:
		s = fmt.Sprintf("put(%s, %q)", o.Key, o.Value)
	case CAS:
		s = fmt.Sprintf("cas(%s, %q@%d -> %q) -> %v", o.Key, o.Expect, o.Index, o.Value, o.Result)
	case Delete:
		s = fmt.Sprintf("delete(%s)", o.Key)
	case Acquire, Release:
		s = fmt.Sprintf("%s(%s, %s) -> %v", o.Kind, o.Key, short(o.Value), o.Result)
	}
	if o.Outcome != OK {
		s += " " + o.Outcome.String()
		if o.Err != "" {
			s += " (" + o.Err + ")"
		}
	}
	return fmt.Sprintf("c%d@%s %s", o.Client, o.Server, s)
}

// short is the start of a session ID, enough to tell sessions apart.
func short(id string) string { return id[:min(8, len(id))] }

// History records the operations of every client of one run.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []*Op
}

// NewHistory starts a history now.
func NewHistory() *History { return &History{start: time.Now()} }

// Now is the time since the history began.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// Add records a finished operation; an Unknown one stays open to the end.
func (h *History) Add(op *Op) {
	if op.Outcome == Unknown {
		op.Return = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// Ops returns the recorded operations in call order.
func (h *History) Ops() []*Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	ops := append([]*Op(nil), h.ops...)
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	return ops
}

// Stats counts a history's operations.
type Stats struct {
	Ops, Acked, Refused, Unknown int
	// AckedWrites are writes answered by a server (true or false).
	AckedWrites int
	// Dropped are Unknown writes left out of the check because nobody
	// read their value (see prune).
	Dropped int
}

func (s Stats) String() string {
	return fmt.Sprintf("%d operations: %d acknowledged (%d writes), %d refused, %d unknown (%d never read, left out)",
		s.Ops, s.Acked, s.AckedWrites, s.Refused, s.Unknown, s.Dropped)
}

// prune returns the operations the linearizability check needs: without
// refused operations and failed reads (neither has an effect), and
// without Unknown writes that nothing observed, each of which multiplies
// the checker's work. An Unknown Put, CAS or Acquire is left out when
// nobody read its value (or session) and no CAS or acquire on its key
// answered false after its call (a false answer could be its only
// trace): it could as well have taken effect after everything else, at
// the end of the history, where an Unknown operation may always be
// placed, so leaving it out changes no verdict. Unknown deletes and
// releases are kept: no value names their effect.
func prune(ops []*Op) (kept []*Op, st Stats) {
	read := map[string]bool{} // key + "\x00" + value
	lastFalse := map[string]int64{}
	for _, o := range ops {
		if o.Kind == Get && o.Outcome == OK && o.Found {
			read[o.Key+"\x00"+o.Got] = true
		}
		if o.Kind == CAS && o.Outcome == OK && o.Expect != "" {
			read[o.Key+"\x00"+o.Expect] = true
		}
		if (o.Kind == CAS || o.Kind == Acquire) && o.Outcome == OK && !o.Result {
			lastFalse[o.Key] = max(lastFalse[o.Key], o.Return)
		}
	}
	for _, o := range ops {
		st.Ops++
		switch o.Outcome {
		case OK:
			st.Acked++
			if o.Kind != Get {
				st.AckedWrites++
			}
		case Refused:
			st.Refused++
			continue
		case Unknown:
			st.Unknown++
			if o.Kind == Get {
				continue
			}
			lf, anyFalse := lastFalse[o.Key]
			observed := read[o.Key+"\x00"+o.Value] || anyFalse && lf >= o.Call
			if (o.Kind == Put || o.Kind == CAS || o.Kind == Acquire) && !observed {
				st.Dropped++
				continue
			}
		}
		kept = append(kept, o)
	}
	return kept, st
}
