package watch

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers on every event message. Nats-Msg-Id (jetstream.MsgIDHeader) is
// "<shard>:<index>:<n>", n being the event's position among the events of
// its index, from 0.
const (
	// HeaderIndex is the Raft index of the command that caused the event.
	HeaderIndex = "Herald-Index"
	// HeaderType is the event's type, e.g. kv.updated.
	HeaderType = "Herald-Type"
	// HeaderShard is the shard the event belongs to.
	HeaderShard = "Herald-Shard"
	// HeaderCount is how many events the index caused. With the position in
	// Nats-Msg-Id it tells a consumer when an index is complete, so it can
	// apply a transaction at once, and when the end of one went missing.
	HeaderCount = "Herald-Count"
	// HeaderPrevIndex is the index of the shard's previous event-carrying
	// index. Raft indexes that caused no event leave holes in the numbering,
	// so only this link lets a consumer tell a hole from a lost index. It is
	// absent when the publisher could not know it (its first index on an
	// empty stream).
	HeaderPrevIndex = "Herald-Prev-Index"
)

// Stream defaults and fixed settings.
const (
	// DefaultStreamMaxAge is how long events are kept when
	// PublisherConfig.StreamMaxAge is zero.
	DefaultStreamMaxAge = 24 * time.Hour
	// DefaultStreamMaxMsgs is how many events are kept when
	// PublisherConfig.StreamMaxMsgs is zero.
	DefaultStreamMaxMsgs = 1_000_000
	// DedupWindow is how long the stream remembers Nats-Msg-Ids: a publish
	// repeated within it is acknowledged as a duplicate instead of being
	// checked against the expected last sequence. Exactly-once does not
	// rest on it: every message names the sequence it must follow, and the
	// publisher sends again only after it read the stream's last message
	// (see Publisher), so a repeat of a stored message is refused whatever
	// the window. The window only spares a resync (a few milliseconds) when
	// a repeat races its original, as when two publishers around a leader
	// change send the same event, each right after reading the stream: a
	// few seconds is plenty. The stream keeps every ID for the whole
	// window, one per event, at about 300 bytes of its heap each: at 2,500
	// events/s, 90 MB for a 2-minute window, 4 MB for this.
	DedupWindow = 5 * time.Second
)

// StreamName is the name of the JetStream stream that holds a shard's events:
// HERALD_<dc>_<shard>, with characters outside [A-Za-z0-9_-] replaced by '_'
// because stream names become subject tokens of the JetStream API.
func StreamName(dc, shard string) string {
	return "HERALD_" + sanitizeName(dc) + "_" + sanitizeName(shard)
}

func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, s)
}

// msgID is the Nats-Msg-Id of the n-th event of index in shard.
func msgID(shard string, index uint64, n int) string {
	return shard + ":" + strconv.FormatUint(index, 10) + ":" + strconv.Itoa(n)
}

// streamConfig is the stream a publisher creates for its shard.
func streamConfig(dc, shard string, maxAge time.Duration, maxMsgs int64, replicas int) jetstream.StreamConfig {
	// The server refuses a dedup window longer than the retention.
	dup := min(DedupWindow, maxAge)
	return jetstream.StreamConfig{
		Name:        StreamName(dc, shard),
		Description: fmt.Sprintf("Herald events of shard %s in datacenter %s", shard, dc),
		Subjects:    []string{StreamSubjects(dc, shard)},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		MaxAge:      maxAge,
		MaxMsgs:     maxMsgs,
		Duplicates:  dup,
		Replicas:    replicas,
		// Direct gets serve Subscribe's binary search and the publisher's
		// look at the last message without going through the API leader.
		AllowDirect: true,
	}
}

// msgInfo is what the Herald headers of one stored event say.
type msgInfo struct {
	index   uint64
	pos     int // position among the events of index, from 0
	count   int // events of index; 0 when the header is absent
	prev    uint64
	hasPrev bool
}

// parseMsgInfo reads the Herald headers of a message. It fails for messages
// that were not published by a Herald publisher.
func parseMsgInfo(h nats.Header) (msgInfo, error) {
	var mi msgInfo
	v := h.Get(HeaderIndex)
	if v == "" {
		return mi, fmt.Errorf("no %s header", HeaderIndex)
	}
	idx, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return mi, fmt.Errorf("bad %s header %q", HeaderIndex, v)
	}
	mi.index = idx
	id := h.Get(jetstream.MsgIDHeader)
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return mi, fmt.Errorf("bad %s header %q", jetstream.MsgIDHeader, id)
	}
	pos, err := strconv.Atoi(id[i+1:])
	if err != nil || pos < 0 {
		return mi, fmt.Errorf("bad %s header %q", jetstream.MsgIDHeader, id)
	}
	mi.pos = pos
	if v := h.Get(HeaderCount); v != "" {
		c, err := strconv.Atoi(v)
		if err != nil || c <= pos {
			return mi, fmt.Errorf("bad %s header %q for position %d", HeaderCount, v, pos)
		}
		mi.count = c
	}
	if v := h.Get(HeaderPrevIndex); v != "" {
		p, err := strconv.ParseUint(v, 10, 64)
		if err != nil || p >= idx {
			return mi, fmt.Errorf("bad %s header %q for index %d", HeaderPrevIndex, v, idx)
		}
		mi.prev, mi.hasPrev = p, true
	}
	return mi, nil
}

// lastOfIndex reports whether the message is the last event of its index.
// Without a count header (which Herald always writes) it assumes so.
func (mi msgInfo) lastOfIndex() bool {
	return mi.count == 0 || mi.pos+1 >= mi.count
}
