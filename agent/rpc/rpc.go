package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	hlog "github.com/heraldhq/herald/log"
	"github.com/heraldhq/herald/log/command"
)

// Raft is what a server answers requests with: its own host.
type Raft interface {
	ProposeTo(ctx context.Context, shard command.Shard, cmd command.Command) (command.Result, error)
	ReadIndex(ctx context.Context, shardID command.Shard) error
	Leader(shardID command.Shard) (replicaID uint64, ok bool)
}

// Reply is the answer to every request.
type Reply struct {
	Value uint64 `json:",omitempty"`
	Data  []byte `json:",omitempty"`
	// Index is the shard's applied index after a read barrier, as the
	// replying server knows it.
	Index uint64 `json:",omitempty"`
	// Leader is the shard's leader as the replying server knows it; Known
	// says whether it knows one.
	Leader        uint64 `json:",omitempty"`
	Known         bool   `json:",omitempty"`
	LeaderAddress string `json:",omitempty"`
	// Error is set when the request failed; NoLeader when it failed for
	// want of a leader.
	Error    string `json:",omitempty"`
	NoLeader bool   `json:",omitempty"`
	// InDoubt marks a write that timed out inside a log: it may have been
	// applied, but never after this answer.
	InDoubt bool `json:",omitempty"`
	// Invalid marks a request refused as malformed (history.go).
	Invalid bool `json:",omitempty"`
	// ACL refusals of a write (acl.go): the token is unknown, or lacks a
	// permission (of a transaction's operation DeniedOp, when set).
	ACLNotFound bool                       `json:",omitempty"`
	Denied      *acl.PermissionDeniedError `json:",omitempty"`
	DeniedOp    *int                       `json:",omitempty"`
}

// QueueGroup is the servers' queue group.
const QueueGroup = "herald-servers"

func subject(dc, shard, verb string) string {
	return fmt.Sprintf("herald.%s.rpc.%s.%s", dc, shard, verb)
}

// Shards is what a server knows of its own replicas.
type Shards interface {
	// AppliedIndex is a shard's applied (logical) index.
	AppliedIndex(shardID command.Shard) uint64
	// Export writes a snapshot stream of a shard.
	Export(shardID command.Shard, w io.Writer) (uint64, error)
	// LeaderAddress is the leader's Raft address, "" if none is known.
	LeaderAddress() string
}

// Serve answers requests for every shard on conn until the returned stop
// function is called.
func Serve(conn *nats.Conn, dc string, raft Raft, shards Shards, logger *slog.Logger) (stop func(), err error) {
	return ServeWithACL(conn, dc, raft, shards, nil, logger)
}

// ServeWithACL is Serve for servers that enforce ACLs: every write is
// judged by access (nil: none are) with the token its client sent.
func ServeWithACL(conn *nats.Conn, dc string, raft Raft, shards Shards, access *ACL, logger *slog.Logger) (stop func(), err error) {
	if logger == nil {
		logger = slog.Default()
	}
	var subs []*nats.Subscription
	stop = func() {
		for _, s := range subs {
			s.Unsubscribe()
		}
	}
	reply := func(m *nats.Msg, r Reply) {
		b, _ := json.Marshal(r)
		if err := m.Respond(b); err != nil {
			logger.Warn("rpc: cannot reply", "subject", m.Subject, "error", err)
		}
	}
	inflight := make(chan struct{}, maxConcurrent)
	fail := func(m *nats.Msg, err error) {
		reply(m, Reply{Error: err.Error(), NoLeader: errors.Is(err, hlog.ErrNoLeader), InDoubt: errors.Is(err, hlog.ErrInDoubt)})
	}
	for _, id := range command.Shards() {
		shard := id.String()
		handlers := map[string]nats.MsgHandler{
			"propose": func(m *nats.Msg) {
				cmd, err := command.Decode(m.Data)
				if err != nil {
					fail(m, fmt.Errorf("refused an undecodable command: %w", err))
					return
				}
				// A command stamped by the client carries the client's
				// deadline, and Propose waits until then: answering
				// earlier, while an attempt is in doubt, would let the
				// write land after the client's error answer.
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if cmd.Origin.IsZero() {
					// A client agent that recorded no origin (an
					// older build, or its gate was closed): say
					// so, rather than pass it off as this server's
					// own work.
					ctx = command.WithOrigin(ctx, command.Origin{Via: command.ViaRPC})
				}
				if access != nil {
					id, refusal := access.authorize(m, cmd)
					if refusal != nil {
						reply(m, *refusal)
						return
					}
					ctx = acl.WithIdentity(ctx, id)
				}
				if cmd.Deadline == 0 {
					ctx, cancel = context.WithTimeout(ctx, requestTimeout)
				}
				defer cancel()
				res, err := raft.ProposeTo(ctx, id, cmd)
				if err != nil {
					fail(m, err)
					return
				}
				// The index the write is visible at: a client waits for
				// its own copy to get there, to read its own writes.
				value, data := command.EncodeResult(res)
				reply(m, Reply{Value: value, Data: data, Index: shards.AppliedIndex(id)})
			},
			"read": func(m *nats.Msg) {
				ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
				defer cancel()
				if err := raft.ReadIndex(ctx, id); err != nil {
					fail(m, err)
					return
				}
				reply(m, Reply{Index: shards.AppliedIndex(id)})
			},
			"leader": func(m *nats.Msg) {
				leader, known := raft.Leader(id)
				reply(m, Reply{Leader: leader, Known: known, LeaderAddress: shards.LeaderAddress()})
			},
			"history": func(m *nats.Msg) { serveHistory(m, id, shards, access, reply) },

			"snapshot": func(m *nats.Msg) {
				export := func(w io.Writer) (uint64, error) { return shards.Export(id, w) }
				if err := sendSnapshot(conn, m, export, snapshotAckWait); err != nil {
					logger.Warn("rpc: cannot send a snapshot", "shard", shard, "error", err)
				}
			},
		}
		if id == signShard {
			handlers["sign"] = func(m *nats.Msg) { serveSign(m, shards, access, reply) }
		}
		for verb, h := range handlers {
			// NATS calls a subscription's handler for one message at a
			// time; requests are served side by side instead, or every
			// client agent's write would wait for the one before it to
			// commit.
			sub, err := conn.QueueSubscribe(subject(dc, shard, verb), QueueGroup, func(m *nats.Msg) {
				inflight <- struct{}{}
				go func() {
					defer func() { <-inflight }()
					h(m)
				}()
			})
			if err != nil {
				stop()
				return nil, fmt.Errorf("rpc: subscribe %s: %w", subject(dc, shard, verb), err)
			}
			subs = append(subs, sub)
		}
	}
	return stop, conn.Flush()
}

// maxConcurrent bounds the requests a server works on at once; beyond it,
// requests wait in NATS's pending queue.
const maxConcurrent = 1024

// requestTimeout bounds a server's work on one request: Consul's RPC hold
// timeout.
const requestTimeout = 7 * time.Second

// Client sends Raft requests to the servers. It has the methods of a Raft
// host that the HTTP API uses, so a client agent serves the API with it in
// place of a host.
type Client struct {
	conn *nats.Conn
	dc   string
	// requests names this agent's writes: a server forwards the ID and
	// deadline with the command, so a write this client sends again is
	// still applied once.
	requests *command.Requests
}

// NewClient returns a client over conn for datacenter dc.
func NewClient(conn *nats.Conn, dc string) *Client {
	return &Client{conn: conn, dc: dc, requests: command.NewRequests()}
}

// Requests is the source of this client's request IDs, which also stamps
// each command's origin: the agent names itself and gates the origin there
// (command.Requests.SetNode, SetRecordOrigin) before proposing.
func (c *Client) Requests() *command.Requests { return c.requests }

// withRequestTimeout gives ctx the client's deadline unless it has one: a
// little more than a server's, so the server's answer arrives first.
func withRequestTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, requestTimeout+time.Second)
}

// noResponderPatience is how long a write waits for some server to
// subscribe: long enough for NATS to move a client to another server, short
// enough that a datacenter with no server answers "no leader" promptly.
const noResponderPatience = 2 * time.Second

// errNoResponders is a request's error when no server subscribes.
var errNoResponders = fmt.Errorf("%w: no server answers on NATS", hlog.ErrNoLeader)

func (c *Client) request(ctx context.Context, shardID command.Shard, verb string, body []byte) (Reply, error) {
	ctx, cancel := withRequestTimeout(ctx)
	defer cancel()
	req := &nats.Msg{Subject: subject(c.dc, shardID.String(), verb), Data: body}
	if secret := acl.IdentityFrom(ctx).SecretID; secret != "" && (verb == "propose" || verb == "history" || verb == "sign") {
		req.Header = nats.Header{hdrToken: {secret}}
	}
	msg, err := c.conn.RequestMsgWithContext(ctx, req)
	if errors.Is(err, nats.ErrNoResponders) {
		return Reply{}, errNoResponders
	}
	if err != nil {
		return Reply{}, fmt.Errorf("rpc %s: %w", verb, err)
	}
	var r Reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return Reply{}, fmt.Errorf("rpc %s: bad reply: %w", verb, err)
	}
	if err := r.aclError(); err != nil {
		return r, err
	}
	switch {
	case r.InDoubt:
		return r, fmt.Errorf("%w: %s", hlog.ErrInDoubt, r.Error)
	case r.NoLeader:
		return r, fmt.Errorf("%w: %s", hlog.ErrNoLeader, r.Error)
	case r.Error != "":
		return r, errors.New(r.Error)
	}
	return r, nil
}

// ProposeTo sends a command for a shard to the servers and returns its
// result and an index at which the write is applied.
//
// It sends the same bytes again, to whichever server takes them, while no
// server subscribes (for up to noResponderPatience: they are restarting,
// or NATS moves this agent to another) and when a server does not answer
// within a try (it died holding the request; tries double from firstTry).
// The request ID stamped here makes every repeat harmless. A request whose
// tries ran out with one unanswered is in doubt, and says so.
func (c *Client) ProposeTo(ctx context.Context, shardID command.Shard, cmd command.Command) (command.Result, uint64, error) {
	ctx, cancel := withRequestTimeout(ctx)
	defer cancel()
	data, err := command.Encode(c.requests.Stamp(ctx, cmd))
	if err != nil {
		return command.Result{}, 0, err
	}
	backoff := 10 * time.Millisecond
	patience := time.Now().Add(noResponderPatience)
	try := firstTry
	inDoubt := false
	for {
		tctx, tcancel := context.WithTimeout(ctx, try)
		r, err := c.request(tctx, shardID, "propose", data)
		tcancel()
		if err == nil {
			res, err := command.DecodeResult(r.Value, r.Data)
			return res, r.Index, err
		}
		unanswered := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		inDoubt = inDoubt || unanswered
		switch {
		case ctx.Err() != nil && inDoubt:
			return command.Result{}, 0, fmt.Errorf("%w: %v", hlog.ErrInDoubt, err)
		case ctx.Err() != nil:
			return command.Result{}, 0, err
		case unanswered:
			try *= 2
			continue
		case !errors.Is(err, errNoResponders) || time.Now().After(patience):
			return command.Result{}, 0, err
		}
		select {
		case <-ctx.Done():
			return command.Result{}, 0, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// firstTry is how long a client agent waits for a server's answer to a
// write before it sends the write again: a server that died holding it
// never answers, and the others can take it at once.
const firstTry = 2 * time.Second

// ReadBarrier asks a server for a linearizable read barrier and returns the
// index the shard had applied there; a client's projection must reach it
// before a consistent read is answered.
func (c *Client) ReadBarrier(ctx context.Context, shardID command.Shard) (uint64, error) {
	r, err := c.request(ctx, shardID, "read", nil)
	return r.Index, err
}

// Leader asks a server which replica leads the shard.
func (c *Client) Leader(shardID command.Shard) (uint64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, err := c.request(ctx, shardID, "leader", nil)
	return r.Leader, err == nil && r.Known
}

// LeaderAddress asks a server for the leader's Raft address.
func (c *Client) LeaderAddress() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r, _ := c.request(ctx, command.ShardCatalog, "leader", nil)
	return r.LeaderAddress
}

// A shard's snapshot can be larger than a NATS message may be, so it goes
// back in chunks, all from the one server that took the request, to the
// requester's inbox (the request's reply subject). The protocol, which
// agents of different versions must keep speaking:
//
//   - The request goes to herald.<dc>.rpc.<shard>.snapshot with an empty
//     body. A requester that acknowledges chunks says so with the header
//     Herald-Snapshot-Window: the number of chunks the server may send
//     ahead of its acknowledgements (at least 1).
//   - Every chunk carries Herald-Snapshot-Offset (the chunk's offset in the
//     stream); the last one (which may be empty) also carries
//     Herald-Snapshot-Last and Herald-Snapshot-Index (the snapshot's
//     index). The server sends chunks as it exports the shard, so a
//     failure, one message with Herald-Error, may come after some chunks.
//   - When the request had a window, every chunk also carries
//     Herald-Snapshot-Ack, a subject of the server's. The requester
//     publishes to it, after each chunk it has taken, an empty message
//     with Herald-Snapshot-Offset set to the bytes it has received so far.
//     The server sends a chunk only while fewer than the window's chunks
//     are unacknowledged, and gives up on a requester that acknowledges
//     nothing for snapshotAckWait.
//   - Without a window (a requester from before acknowledgements) the
//     server sends every chunk at once; a chunk without Herald-Snapshot-Ack
//     (a server from before them) is not acknowledged.
//
// So the requester never holds more than a window of chunks it has not
// taken, however slowly it reads, and the transfer has no deadline as a
// whole: the requester gives up only when the server has sent nothing for
// a while (snapshotFirstWait before the first chunk, then snapshotIdle
// between chunks), which is how a server that died mid-transfer shows.
const (
	snapshotChunk  = 512 << 10 // well under NATS's default 1 MiB payload
	snapshotWindow = 4
	hdrIndex       = "Herald-Snapshot-Index"
	hdrOffset      = "Herald-Snapshot-Offset"
	hdrLast        = "Herald-Snapshot-Last"
	hdrWindow      = "Herald-Snapshot-Window"
	hdrAck         = "Herald-Snapshot-Ack"
	hdrError       = "Herald-Error"
	natsStatus     = "Status"
	natsNoResponse = "503"
)

// How long the requester of a snapshot waits for the server (variables for
// the tests).
var (
	// snapshotFirstWait bounds the wait for the first chunk, as long as
	// any other request may take to be answered.
	snapshotFirstWait = requestTimeout + time.Second
	// snapshotIdle bounds the wait for each further chunk.
	snapshotIdle = 5 * time.Second
)

// snapshotAckWait bounds a server's wait for an acknowledgement. It is
// longer than snapshotIdle: a requester that waits for a chunk has given up
// by its own clock before the server gives up on it.
const snapshotAckWait = 10 * time.Second

// sendSnapshot sends the snapshot that export writes to the requester of
// req, in chunks as export goes, within the window the request asked for,
// waiting at most ackWait for each acknowledgement it needs. A failure
// reaches the requester as an error message.
func sendSnapshot(conn *nats.Conn, req *nats.Msg, export func(io.Writer) (uint64, error), ackWait time.Duration) error {
	if req.Reply == "" {
		return errors.New("snapshot request without a reply subject")
	}
	s := &snapshotSender{conn: conn, inbox: req.Reply, ackWait: ackWait, buf: make([]byte, 0, snapshotChunk)}
	if req.Header != nil {
		if w, err := strconv.Atoi(req.Header.Get(hdrWindow)); err == nil && w > 0 {
			s.window = w
		}
	}
	if s.window > 0 {
		var err error
		if s.acks, err = conn.SubscribeSync(conn.NewInbox()); err != nil {
			return err
		}
		defer s.acks.Unsubscribe()
		s.acks.SetPendingLimits(-1, -1) // small, and at most one per chunk
	}
	index, err := export(s)
	if err == nil {
		err = s.send(index, true)
	}
	if err != nil {
		h := nats.Header{}
		h.Set(hdrError, err.Error())
		conn.PublishMsg(&nats.Msg{Subject: s.inbox, Header: h})
	}
	return err
}

// snapshotSender is the writer a server exports a snapshot to: it sends
// every full chunk, once the window has room for it.
type snapshotSender struct {
	conn    *nats.Conn
	inbox   string
	window  int                // chunks ahead of acknowledgements; 0: no acknowledgements
	acks    *nats.Subscription // where acknowledgements arrive, with a window
	ackWait time.Duration
	buf     []byte // the chunk being filled
	sent    int    // bytes sent
	acked   int    // bytes acknowledged
}

func (s *snapshotSender) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(snapshotChunk-len(s.buf), len(p))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == snapshotChunk {
			if err := s.send(0, false); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// send sends the chunk in buf; the last one carries the snapshot's index.
func (s *snapshotSender) send(index uint64, last bool) error {
	for s.acks != nil && s.sent-s.acked >= s.window*snapshotChunk {
		m, err := s.acks.NextMsg(s.ackWait)
		if err != nil {
			return fmt.Errorf("no acknowledgement after %d bytes sent: %w", s.sent, err)
		}
		if n, err := strconv.Atoi(m.Header.Get(hdrOffset)); err == nil && n > s.acked {
			s.acked = n
		}
	}
	h := nats.Header{}
	h.Set(hdrOffset, strconv.Itoa(s.sent))
	if s.acks != nil {
		h.Set(hdrAck, s.acks.Subject)
	}
	if last {
		h.Set(hdrIndex, strconv.FormatUint(index, 10))
		h.Set(hdrLast, "1")
	}
	if err := s.conn.PublishMsg(&nats.Msg{Subject: s.inbox, Header: h, Data: s.buf}); err != nil {
		return err
	}
	s.sent += len(s.buf)
	s.buf = s.buf[:0]
	return nil
}

// Snapshot fetches a shard's snapshot stream and its index from a server.
// ctx may cancel it, but it needs no deadline: it fails by itself when the
// server stops sending (see snapshotIdle).
func (c *Client) Snapshot(ctx context.Context, shardID command.Shard) (uint64, []byte, error) {
	inbox := c.conn.NewRespInbox()
	sub, err := c.conn.SubscribeSync(inbox)
	if err != nil {
		return 0, nil, fmt.Errorf("rpc snapshot: %w", err)
	}
	defer sub.Unsubscribe()
	// A server from before acknowledgements sends every chunk at once;
	// none may be dropped for a slow consumer.
	sub.SetPendingLimits(-1, -1)
	req := &nats.Msg{Subject: subject(c.dc, shardID.String(), "snapshot"), Reply: inbox, Header: nats.Header{}}
	req.Header.Set(hdrWindow, strconv.Itoa(snapshotWindow))
	if err := c.conn.PublishMsg(req); err != nil {
		return 0, nil, fmt.Errorf("rpc snapshot: %w", err)
	}
	var data []byte
	wait := snapshotFirstWait
	for {
		mctx, cancel := context.WithTimeout(ctx, wait)
		m, err := sub.NextMsgWithContext(mctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return 0, nil, fmt.Errorf("rpc snapshot: the server sent nothing for %v after %d bytes (it may have stopped)", wait, len(data))
			}
			return 0, nil, fmt.Errorf("rpc snapshot: %w after %d bytes", err, len(data))
		}
		wait = snapshotIdle
		if m.Header.Get(natsStatus) == natsNoResponse && len(m.Data) == 0 {
			return 0, nil, fmt.Errorf("%w: no server answers on NATS", hlog.ErrNoLeader)
		}
		if e := m.Header.Get(hdrError); e != "" {
			return 0, nil, errors.New(e)
		}
		if off, err := strconv.Atoi(m.Header.Get(hdrOffset)); err != nil || off != len(data) {
			return 0, nil, fmt.Errorf("rpc snapshot: chunk at offset %q, want %d", m.Header.Get(hdrOffset), len(data))
		}
		data = append(data, m.Data...)
		if m.Header.Get(hdrLast) != "" {
			index, err := strconv.ParseUint(m.Header.Get(hdrIndex), 10, 64)
			if err != nil {
				return 0, nil, fmt.Errorf("rpc snapshot: bad index %q", m.Header.Get(hdrIndex))
			}
			return index, data, nil
		}
		if ack := m.Header.Get(hdrAck); ack != "" {
			h := nats.Header{}
			h.Set(hdrOffset, strconv.Itoa(len(data)))
			if err := c.conn.PublishMsg(&nats.Msg{Subject: ack, Header: h}); err != nil {
				return 0, nil, fmt.Errorf("rpc snapshot: acknowledge: %w", err)
			}
		}
	}
}
