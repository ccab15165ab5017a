package watch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// EventLog is implemented by the state machine (not by this package): the
// durable, ordered record of the events a shard has emitted. It is the
// publisher's source of truth, so an event committed while NATS is away is
// published when NATS is back.
type EventLog interface {
	// Read returns events with Index > after, oldest first, at most about
	// max of them, never splitting the events of one index between calls.
	Read(after uint64, max int) ([]event.Event, error)
	// Wait returns a channel closed when events are added after the
	// call. Call it before Read: an event added between a Read that found
	// nothing and a later Wait would wake no one.
	Wait() <-chan struct{}
	// Published says events up to index were delivered and the log may
	// drop them. A new Publisher may repeat an index an earlier one
	// reported, so treat it as "at least up to index".
	Published(index uint64)
}

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Datacenter and Shard name the stream and the subjects.
	Datacenter string
	Shard      string
	// Log is the shard's event log.
	Log EventLog
	// Conn is the NATS connection to publish on. The caller owns it:
	// the publisher never closes it.
	Conn *nats.Conn
	// StreamMaxAge and StreamMaxMsgs bound the stream's retention; zero
	// means DefaultStreamMaxAge and DefaultStreamMaxMsgs.
	StreamMaxAge  time.Duration
	StreamMaxMsgs int64
	// Replicas is the stream's replication factor; zero means 1.
	Replicas int
	// Logger receives the publisher's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Tuning. In-flight publishes are bounded so that memory stays bounded while
// NATS is slow, and so that after a failure at most that many messages are
// sent again.
const (
	readBatch    = 512
	maxInFlight  = 512
	ackTimeout   = 10 * time.Second
	setupTimeout = 10 * time.Second
	backoffMin   = 50 * time.Millisecond
	backoffMax   = 5 * time.Second
)

// Publisher publishes every event of one shard exactly once, in index order,
// from the shard's EventLog into the shard's JetStream stream.
//
// Order and exactly-once rest on three things. Every message says what must
// precede it in the stream: the first one after the publisher looked at the
// stream names the stream's last sequence (Nats-Expected-Last-Sequence), and
// each later one also names the Msg-Id of the message sent before it
// (Nats-Expected-Last-Msg-Id). So the stream stores messages only in the
// order they were sent: if one publish fails, every publish pipelined behind
// it is refused rather than stored ahead of it, even if some other message
// took the failed one's place. After any failure (and on start and after
// a reconnect) the publisher reads the stream's last message and resumes
// right after the event it names, so nothing already stored is sent again and
// nothing is skipped. And Nats-Msg-Id lets the stream acknowledge a message
// repeated within DedupWindow as a duplicate, sparing a resync. The same
// checks keep two publishers of one shard (say, around a leader change) from
// interleaving.
type Publisher struct {
	cfg       PublisherConfig
	js        jetstream.JetStream
	streamCfg jetstream.StreamConfig
	log       *slog.Logger

	published atomic.Uint64
	running   atomic.Bool
}

// NewPublisher checks the configuration and creates the shard's stream, or
// updates its limits if it exists.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	switch {
	case cfg.Datacenter == "":
		return nil, errors.New("watch: publisher needs a Datacenter")
	case cfg.Shard == "":
		return nil, errors.New("watch: publisher needs a Shard")
	case cfg.Log == nil:
		return nil, errors.New("watch: publisher needs a Log")
	case cfg.Conn == nil:
		return nil, errors.New("watch: publisher needs a NATS Conn")
	case cfg.StreamMaxAge < 0 || cfg.StreamMaxMsgs < 0 || cfg.Replicas < 0:
		return nil, errors.New("watch: publisher stream limits must not be negative")
	}
	if cfg.StreamMaxAge == 0 {
		cfg.StreamMaxAge = DefaultStreamMaxAge
	}
	if cfg.StreamMaxMsgs == 0 {
		cfg.StreamMaxMsgs = DefaultStreamMaxMsgs
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	js, err := jetstream.New(cfg.Conn,
		// Our own bound (maxInFlight) is the one that applies; the
		// library's must never be the tighter one, or it would fail
		// publishes after stalling.
		jetstream.WithPublishAsyncMaxPending(maxInFlight+1),
		// Without a timeout a lost ack would hold the pipeline forever.
		jetstream.WithPublishAsyncTimeout(ackTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("watch: jetstream: %w", err)
	}
	p := &Publisher{
		cfg:       cfg,
		js:        js,
		streamCfg: streamConfig(cfg.Datacenter, cfg.Shard, cfg.StreamMaxAge, cfg.StreamMaxMsgs, cfg.Replicas),
		log:       logger.With("component", "watch.publisher", "dc", cfg.Datacenter, "shard", cfg.Shard),
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := p.ensureStreamRetry(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// ensureStreamRetry is ensureStream, retried while the error is one a
// JetStream cluster gives while it is forming or electing a leader: no meta
// leader yet, or not yet enough servers known to place the replicas.
func (p *Publisher) ensureStreamRetry(ctx context.Context) (jetstream.Stream, error) {
	delay := backoffMin
	for {
		s, err := p.ensureStream(ctx)
		if err == nil || !transientJSError(err) {
			return s, err
		}
		p.log.Debug("event stream not created yet; retrying", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// JetStream API error codes that a forming cluster returns (nats-server's
// JSClusterNoPeersErrF, JSClusterNotAvailErr, JSInsufficientResourcesErr).
const (
	jsErrNoPeers              jetstream.ErrorCode = 10005
	jsErrClusterNotAvail      jetstream.ErrorCode = 10008
	jsErrInsufficientResource jetstream.ErrorCode = 10023
)

func transientJSError(err error) bool {
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jsErrNoPeers, jsErrClusterNotAvail, jsErrInsufficientResource:
			return true
		}
	}
	return false
}

func (p *Publisher) ensureStream(ctx context.Context) (jetstream.Stream, error) {
	s, err := p.js.CreateOrUpdateStream(ctx, p.streamCfg)
	if err != nil {
		return nil, fmt.Errorf("watch: create or update stream %s: %w", p.streamCfg.Name, err)
	}
	return s, nil
}

// PublishedIndex is the highest index whose events have all been delivered
// to the stream and acknowledged by it.
func (p *Publisher) PublishedIndex() uint64 {
	return p.published.Load()
}

// StreamName is the name of the publisher's stream.
func (p *Publisher) StreamName() string {
	return p.streamCfg.Name
}

// Run publishes until ctx is done, then returns nil. NATS and stream errors
// are retried with backoff, so it returns early only if Run is already
// running or the connection was closed for good.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("watch: Publisher.Run is already running")
	}
	defer p.running.Store(false)
	// Connection changes wake the publisher even while it is idle: after a
	// reconnect it must look at the stream again, and a closed connection
	// ends Run.
	status := p.cfg.Conn.StatusChanged(nats.CONNECTED, nats.CLOSED)
	defer p.cfg.Conn.RemoveStatusListener(status)

	delay := backoffMin
	for {
		if ctx.Err() != nil {
			return nil
		}
		if p.cfg.Conn.IsClosed() {
			return errors.New("watch: publisher's NATS connection is closed")
		}
		progressed := false
		cur, err := p.resync(ctx)
		if err == nil {
			err = p.pump(ctx, cur, status, &progressed)
		}
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			delay = backoffMin
		}
		p.log.Warn("event publishing interrupted; resuming from the stream's last message",
			"err", err, "retry_in", delay, "published_index", p.PublishedIndex())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(2*delay, backoffMax)
	}
}

// Catchup reads the stream's last message and tells the log that what the
// stream holds is published, without publishing anything: for a server
// whose events some other server publishes into a shared stream.
func (p *Publisher) Catchup(ctx context.Context) error {
	_, err := p.resync(ctx)
	return err
}

// cursor is where publishing resumes, as established by resync.
type cursor struct {
	// lastSeq is the stream's last sequence: the expected last sequence of
	// the next message.
	lastSeq uint64
	// after: every event with Index <= after is in the stream.
	after uint64
	// partial, when not zero, is an index whose first skip events are in
	// the stream but not the rest (the publisher stopped mid-index).
	partial     uint64
	skip        int
	partialPrev uint64
	partialHas  bool
	// prev is the Herald-Prev-Index of the next index to start.
	prev    uint64
	hasPrev bool
	// lastID is the Msg-Id of the message sent last since the cursor was
	// made, "" before the first.
	lastID string
}

// resync establishes the cursor from the stream's last Herald message, and
// tells the log what the stream already holds.
func (p *Publisher) resync(ctx context.Context) (*cursor, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cur := &cursor{}
	s, err := p.js.Stream(ctx, p.streamCfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Deleted by an operator: make it again rather than stop
		// publishing for good.
		p.log.Warn("event stream is missing; creating it again", "stream", p.streamCfg.Name)
		s, err = p.ensureStream(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("watch: stream %s: %w", p.streamCfg.Name, err)
	}
	info := s.CachedInfo()
	state := info.State
	cur.lastSeq = state.LastSeq
	// The last message must be read from the stream leader, like the state
	// above. A direct get may be answered by any replica, and one that
	// lags (say, just after the leader moved) would name an older last
	// event: the publisher would then send again what is already stored.
	// This handle is resync's own, so turning direct gets off for it
	// changes nothing else.
	info.Config.AllowDirect = false

	var last *msgInfo
	if state.Msgs > 0 {
		last, err = p.lastHeraldMsg(ctx, s, state.FirstSeq)
		if err != nil {
			return nil, err
		}
	}

	done := p.published.Load()
	switch {
	case last != nil && last.index > done:
		// The stream is ahead of what this publisher saw acknowledged:
		// it is restarting, an ack was lost, or another publisher ran.
		if last.lastOfIndex() {
			cur.after, cur.prev, cur.hasPrev = last.index, last.index, true
			done = last.index
		} else {
			cur.after = last.index - 1
			cur.partial, cur.skip = last.index, last.pos+1
			cur.partialPrev, cur.partialHas = last.prev, last.hasPrev
			cur.prev, cur.hasPrev = last.index, true
			if last.hasPrev {
				done = max(done, last.prev)
			}
		}
	default:
		// Empty stream (everything expired) or one that lost its tail to
		// an operator: what was acknowledged is not sent again.
		cur.after = done
		cur.prev, cur.hasPrev = done, done > 0
	}
	if done > p.published.Load() {
		p.published.Store(done)
		p.cfg.Log.Published(done)
	}
	p.log.Debug("publisher cursor",
		"stream_last_seq", cur.lastSeq, "after", cur.after, "partial_index", cur.partial, "skip", cur.skip)
	return cur, nil
}

// lastHeraldMsg returns the headers of the stream's last message published by
// Herald, stepping back over any message someone else published onto a
// Herald subject. It returns nil if there is none.
func (p *Publisher) lastHeraldMsg(ctx context.Context, s jetstream.Stream, firstSeq uint64) (*msgInfo, error) {
	m, err := s.GetLastMsgForSubject(ctx, p.streamCfg.Subjects[0])
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("watch: last message of stream %s: %w", p.streamCfg.Name, err)
	}
	for {
		mi, perr := parseMsgInfo(m.Header)
		if perr == nil {
			return &mi, nil
		}
		p.log.Warn("skipping a message on the event stream that Herald did not publish",
			"stream_seq", m.Sequence, "subject", m.Subject, "err", perr)
		for {
			if m.Sequence <= firstSeq || m.Sequence <= 1 {
				return nil, nil
			}
			seq := m.Sequence - 1
			m, err = s.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				// A deleted message: keep stepping back.
				m = &jetstream.RawStreamMsg{Sequence: seq}
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("watch: message %d of stream %s: %w", seq, p.streamCfg.Name, err)
			}
			break
		}
	}
}

// outMsg is one event ready to be sent, with its place in its index.
type outMsg struct {
	ev      event.Event
	pos     int
	count   int
	prev    uint64
	hasPrev bool
}

// inflight is one sent message awaiting its ack.
type inflight struct {
	fut       jetstream.PubAckFuture
	index     uint64
	pos       int
	seq       uint64 // the stream sequence it must get
	endsIndex bool
}

func connChanged(st nats.Status) error {
	if st == nats.CLOSED {
		return errors.New("watch: NATS connection closed")
	}
	return errors.New("watch: NATS connection was re-established")
}

// pump reads the log and publishes from cur until an error or ctx is done.
// It sets *progressed once an index has been acknowledged.
func (p *Publisher) pump(ctx context.Context, cur *cursor, status <-chan nats.Status, progressed *bool) (err error) {
	queue := make([]inflight, 0, maxInFlight)
	defer func() {
		// Let every outstanding publish resolve before the caller
		// resyncs, so none lands after the cursor was re-established.
		// (The closure sees queue as it is at return.)
		p.drain(ctx, queue)
	}()

	var pending []outMsg
	var wake <-chan struct{} // set when the log had nothing more
	for {
		// Take acks that have arrived, without waiting.
		for len(queue) > 0 {
			var ack *jetstream.PubAck
			var perr error
			select {
			case ack = <-queue[0].fut.Ok():
			case perr = <-queue[0].fut.Err():
			default:
			}
			if ack == nil && perr == nil {
				break
			}
			// Pop before handling: a result is received only once, and
			// drain must not wait for it again.
			head := queue[0]
			queue = queue[1:]
			if err := p.acked(head, ack, perr, progressed); err != nil {
				return err
			}
		}

		select {
		case st := <-status:
			return connChanged(st)
		default:
		}

		if len(pending) == 0 && wake == nil {
			// Ask for the wake-up before reading: an event applied
			// between an empty read and the ask would otherwise wait
			// for the next write, which may never come.
			next := p.cfg.Log.Wait()
			pending, err = p.read(cur)
			if err != nil {
				return err
			}
			if len(pending) == 0 {
				wake = next
			}
		}

		// Send while the pipeline has room.
		sent := false
		for len(pending) > 0 && len(queue) < maxInFlight {
			f, err := p.send(cur, pending[0])
			if err != nil {
				return err
			}
			queue = append(queue, f)
			pending = pending[1:]
			sent = true
		}
		if sent {
			continue
		}

		// Nothing to do until an ack, new events or the end.
		var okc <-chan *jetstream.PubAck
		var errc <-chan error
		if len(queue) > 0 {
			okc, errc = queue[0].fut.Ok(), queue[0].fut.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ack := <-okc:
			head := queue[0]
			queue = queue[1:]
			if err := p.acked(head, ack, nil, progressed); err != nil {
				return err
			}
		case perr := <-errc:
			head := queue[0]
			queue = queue[1:]
			return p.acked(head, nil, perr, progressed)
		case <-wake:
			wake = nil
		case st := <-status:
			return connChanged(st)
		}
	}
}

// acked handles the result of the oldest in-flight publish.
func (p *Publisher) acked(f inflight, ack *jetstream.PubAck, err error, progressed *bool) error {
	if err != nil {
		return fmt.Errorf("watch: publish of %s: %w", msgID(p.cfg.Shard, f.index, f.pos), err)
	}
	// A duplicate was stored before (within the dedup window) at another
	// sequence; the event is delivered, and if that breaks the sequence
	// chain the next publish is refused and the publisher resyncs.
	if !ack.Duplicate && ack.Sequence != f.seq {
		return fmt.Errorf("watch: %s stored at stream sequence %d, expected %d",
			msgID(p.cfg.Shard, f.index, f.pos), ack.Sequence, f.seq)
	}
	if f.endsIndex {
		p.published.Store(f.index)
		p.cfg.Log.Published(f.index)
		*progressed = true
	}
	return nil
}

// drain waits, boundedly, for the outstanding publishes to resolve.
func (p *Publisher) drain(ctx context.Context, queue []inflight) {
	if len(queue) == 0 {
		return
	}
	t := time.NewTimer(ackTimeout + time.Second)
	defer t.Stop()
	for _, f := range queue {
		select {
		case <-f.fut.Ok():
		case <-f.fut.Err():
		case <-ctx.Done():
			return
		case <-t.C:
			return
		}
	}
}

// read takes the next events from the log and advances cur past them.
func (p *Publisher) read(cur *cursor) ([]outMsg, error) {
	after := cur.after
	if cur.partial != 0 {
		after = cur.partial - 1
	}
	evs, err := p.cfg.Log.Read(after, readBatch)
	if err != nil {
		return nil, fmt.Errorf("watch: read event log after %d: %w", after, err)
	}
	out := make([]outMsg, 0, len(evs))
	for i := 0; i < len(evs); {
		idx := evs[i].Index
		j := i + 1
		for j < len(evs) && evs[j].Index == idx {
			j++
		}
		group := evs[i:j]
		i = j
		if idx <= after {
			p.log.Error("event log returned an event at or before the requested index; skipped",
				"index", idx, "after", after)
			continue
		}
		start, prev, hasPrev := 0, cur.prev, cur.hasPrev
		if cur.partial != 0 {
			if idx == cur.partial {
				start = min(cur.skip, len(group))
				prev, hasPrev = cur.partialPrev, cur.partialHas
			} else {
				p.log.Error("the rest of a partly published index is no longer in the event log",
					"index", cur.partial, "published_events", cur.skip)
			}
			cur.partial = 0
		}
		for k := start; k < len(group); k++ {
			out = append(out, outMsg{ev: group[k], pos: k, count: len(group), prev: prev, hasPrev: hasPrev})
		}
		cur.after = idx
		cur.prev, cur.hasPrev = idx, true
		after = idx
	}
	return out, nil
}

// send publishes one event asynchronously.
func (p *Publisher) send(cur *cursor, m outMsg) (inflight, error) {
	ev := m.ev
	if ev.Shard == "" {
		ev.Shard = p.cfg.Shard
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return inflight{}, fmt.Errorf("watch: encode event %s: %w", msgID(p.cfg.Shard, ev.Index, m.pos), err)
	}
	// The subject always uses the publisher's shard: a subject outside the
	// stream would never be acknowledged and would stall the shard.
	subjEv := ev
	subjEv.Shard = p.cfg.Shard
	msg := &nats.Msg{
		Subject: Subject(p.cfg.Datacenter, subjEv),
		Data:    data,
		Header:  p.headers(ev, m, cur.lastSeq, cur.lastID),
	}
	fut, err := p.js.PublishMsgAsync(msg)
	if err != nil {
		return inflight{}, fmt.Errorf("watch: publish %s: %w", msgID(p.cfg.Shard, ev.Index, m.pos), err)
	}
	cur.lastSeq++
	cur.lastID = msg.Header.Get(jetstream.MsgIDHeader)
	return inflight{fut: fut, index: ev.Index, pos: m.pos, seq: cur.lastSeq, endsIndex: m.pos == m.count-1}, nil
}

// headers builds the message headers. Keys are set directly, not with Set,
// because NATS headers are case-sensitive on the wire and these are the
// documented spellings. The values share one backing array and the map is
// sized for all of them: every event gets its own headers, and building
// them was a tenth of the publisher's allocations.
func (p *Publisher) headers(ev event.Event, m outMsg, lastSeq uint64, lastID string) nats.Header {
	vals := make([]string, 0, maxHeaders)
	one := func(v string) []string {
		vals = append(vals, v)
		return vals[len(vals)-1 : len(vals) : len(vals)]
	}
	h := make(nats.Header, maxHeaders)
	h[jetstream.MsgIDHeader] = one(msgID(p.cfg.Shard, ev.Index, m.pos))
	h[jetstream.ExpectedLastSeqHeader] = one(strconv.FormatUint(lastSeq, 10))
	h[HeaderIndex] = one(strconv.FormatUint(ev.Index, 10))
	h[HeaderType] = one(string(ev.Type))
	h[HeaderShard] = one(p.cfg.Shard)
	h[HeaderCount] = one(strconv.Itoa(m.count))
	if lastID != "" && p.cfg.Replicas == 1 {
		// A sequence alone does not say which message holds it. A
		// replicated stream cannot take this check: a replica catching up
		// after a restart checks it again against a message ID it no
		// longer remembers, and fails. There the stream relies on the
		// sequences and on every publisher sending the same events in the
		// same order; a foreign message on the stream's subjects can then
		// cost an event, which subscribers see as a gap (Herald-Prev-Index).
		h[jetstream.ExpectedLastMsgIDHeader] = one(lastID)
	}
	if m.hasPrev {
		h[HeaderPrevIndex] = one(strconv.FormatUint(m.prev, 10))
	}
	return h
}

// maxHeaders is how many headers headers may set.
const maxHeaders = 8
