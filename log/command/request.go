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
	// node is the agent proposing, recorded in each command's Origin.
	node string
	// recordOrigin says whether every server reads envelope version 3; nil
	// is yes. See SetRecordOrigin.
	recordOrigin func() bool
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

// SetNode names the agent these requests come from: the Node of the
// origin of the commands it stamps, unless their context names another.
// Call it before the first Stamp.
func (r *Requests) SetNode(node string) { r.node = node }

// SetRecordOrigin gates the origin: while ok returns false, Stamp leaves
// commands without one, so they are encoded as version 2, which servers of
// an older build still read (a rolling upgrade). Call it before the first
// Stamp.
func (r *Requests) SetRecordOrigin(ok func() bool) { r.recordOrigin = ok }

// Next returns a new request ID.
func (r *Requests) Next() RequestID {
	return RequestID{Proposer: r.proposer, Seq: r.seq.Add(1)}
}

// Stamp gives c a request ID, a deadline and an origin unless it has them:
// the deadline is ctx's, which must have one; the origin is ctx's (see
// WithOrigin), completed with this proposer's node and the accessor of the
// identity ctx carries (acl.IdentityFrom). Stamp a command once, before its
// first attempt, and send every attempt the same bytes: a command stamped
// by a client agent keeps the client's ID, deadline and origin when a
// server proposes it.
func (r *Requests) Stamp(ctx context.Context, c Command) Command {
	if c.ID.IsZero() {
		c.ID = r.Next()
	}
	if c.Origin.IsZero() && (r.recordOrigin == nil || r.recordOrigin()) {
		c.Origin = originOf(ctx, r.node)
	}
	if d, ok := ctx.Deadline(); ok && c.Deadline == 0 {
		c.Deadline = d.UnixNano()
	}
	return c
}
