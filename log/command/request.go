package command

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// RequestID names one request to the log, whichever attempt carries it:
// Proposer is chosen at random when a process starts proposing, Seq counts
// that proposer's requests. The state machine applies each ID at most once
// and answers a repeat with the first application's result.
type RequestID struct {
	Proposer uint64
	Seq      uint64
}

// IsZero reports whether the ID is unset (a version 1 command).
func (id RequestID) IsZero() bool { return id.Proposer == 0 }

// Requests hands out request IDs for one proposer. Its zero value is not
// usable; create one with NewRequests.
type Requests struct {
	proposer uint64
	seq      atomic.Uint64
}

// NewRequests returns a source of request IDs under a fresh random proposer
// ID. 64 random bits make a collision with another live proposer
// negligible; a restarted process is a new proposer, so its sequence may
// start again at one.
func NewRequests() *Requests {
	var b [8]byte
	for {
		rand.Read(b[:])
		if p := binary.LittleEndian.Uint64(b[:]); p != 0 {
			return &Requests{proposer: p}
		}
	}
}

// Next returns a new request ID.
func (r *Requests) Next() RequestID {
	return RequestID{Proposer: r.proposer, Seq: r.seq.Add(1)}
}

// Stamp gives c a request ID and a deadline unless it has them: the
// deadline is ctx's, which must have one. Stamp a command once, before its
// first attempt, and send every attempt the same bytes.
func (r *Requests) Stamp(ctx context.Context, c Command) Command {
	if c.ID.IsZero() {
		c.ID = r.Next()
	}
	if d, ok := ctx.Deadline(); ok && c.Deadline == 0 {
		c.Deadline = d.UnixNano()
	}
	return c
}
