package wan

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/event"
)

// SubjectEvents is the subject dc's servers answer EventsRequests on, in
// the queue group QueueGroup: the datacenter's event feed.
func SubjectEvents(dc string) string { return "herald." + dc + ".rpc.events" }

// EventsRequest asks a datacenter for one batch of a shard's events from
// its event stream: those after index After, at most MaxEvents of them or
// MaxBytes of their JSON (never splitting an index), waiting up to Wait for
// the first one. It is a pull: the answering server keeps nothing between
// batches, and the next batch is asked for with After = the answer's Last.
type EventsRequest struct {
	Datacenter string
	Shard      string
	After      uint64
	// Prefix keeps only the KV events of keys that start with it (kv
	// shard); "" keeps every event.
	Prefix    string `json:",omitempty"`
	MaxEvents int    `json:",omitempty"`
	MaxBytes  int    `json:",omitempty"`
	Wait      time.Duration
	// Snapshot asks, instead of events, for the KV entries under Prefix
	// as the answering server has them, and Last the index they are at:
	// where to follow the events from (a replication's first copy, or its
	// new start after a gap).
	Snapshot bool `json:",omitempty"`
	// Newest asks for no events, only the index of the newest event in
	// the stream as Last: where to follow from to get only new ones.
	Newest bool `json:",omitempty"`
	// Token is the ACL token the events are read with: the answering
	// datacenter keeps only the events whose subjects the token could
	// subscribe to on its NATS server.
	Token string `json:",omitempty"`
}

// EventsResponse is one batch: Events, and Last, the index it covers up
// to. Gap is set when events after After are no longer in the stream;
// Error (with Status, an HTTP status) when the request was refused.
type EventsResponse struct {
	Events []event.Event `json:",omitempty"`
	// KV are the entries a Snapshot request asked for.
	KV     []*event.KVEntry `json:",omitempty"`
	Last   uint64
	Gap    *EventsGap `json:",omitempty"`
	Error  string     `json:",omitempty"`
	Status int        `json:",omitempty"`
}

// EventsGap says which events are missing: those after After, up to
// Next, the first index the stream still holds.
type EventsGap struct {
	After, Next uint64
	Detail      string
}

// Feed limits: what one answer may carry between datacenters, and how
// long an answering server waits for a first event.
const (
	DefaultEventsMax      = 1000
	MaxEventsMax          = 10_000
	DefaultEventsMaxBytes = 1 << 20
	MaxEventsMaxBytes     = 4 << 20
	MaxEventsWait         = 5 * time.Minute
)

// Bounded is req with its limits defaulted and capped.
func (req EventsRequest) Bounded() EventsRequest {
	if req.MaxEvents <= 0 {
		req.MaxEvents = DefaultEventsMax
	}
	req.MaxEvents = min(req.MaxEvents, MaxEventsMax)
	if req.MaxBytes <= 0 {
		req.MaxBytes = DefaultEventsMaxBytes
	}
	req.MaxBytes = min(req.MaxBytes, MaxEventsMaxBytes)
	req.Wait = max(min(req.Wait, MaxEventsWait), 0)
	return req
}

// SendEvents sends req on conn to subject and waits for the answer: the
// request's wait and a margin.
func SendEvents(ctx context.Context, conn *nats.Conn, subject string, req *EventsRequest) (*EventsResponse, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, req.Wait+10*time.Second)
	defer cancel()
	msg, err := conn.RequestWithContext(ctx, subject, data)
	if err != nil {
		return nil, requestError(err)
	}
	var resp EventsResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("wan: undecodable answer: %w", err)
	}
	return &resp, nil
}

// ServeEvents answers the EventsRequests on subject with answer.
func ServeEvents(conn *nats.Conn, subject string, answer func(*EventsRequest) *EventsResponse, logger *slog.Logger) (func(), error) {
	return serve(conn, subject, logger, func(data []byte) any {
		var req EventsRequest
		if err := json.Unmarshal(data, &req); err != nil {
			return &EventsResponse{Error: "undecodable request", Status: 400}
		}
		return answer(&req)
	})
}
