package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldhq/herald/agent/wan"
)

// EventFeed answers batches of a datacenter's event stream: this
// datacenter's, or another's through the gateways (agent.FetchEvents).
type EventFeed interface {
	FetchEvents(ctx context.Context, req *wan.EventsRequest) (*wan.EventsResponse, error)
}

// SetEventFeed gives the server the event feed of /v1/agent/event-stream;
// without one, the endpoint answers 404. Call it before the server serves
// its first request.
func (s *Server) SetEventFeed(f EventFeed) { s.eventFeed = f }

// EventStreamPath is Herald's own endpoint of the event feed: the path
// `herald events -datacenter` follows another datacenter's events through.
const EventStreamPath = "/v1/agent/event-stream"

// routeEventFeed registers the event feed. It is not under the route
// table's ACL checks: the datacenter that answers judges the request's
// token, keeping only the events it may read, as its NATS server would
// let it subscribe to them (the token need not exist here).
func (s *Server) routeEventFeed() {
	s.mux.HandleFunc(EventStreamPath, s.measure(EventStreamPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			httpError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
			return
		}
		if err := s.eventStream(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// eventStream answers GET /v1/agent/event-stream?dc=&shard=&after=&prefix=&max=&max-bytes=&wait=
// with one batch (?newest: none, Last the newest index): {"Events": [...], "Last": N} and, when events after
// `after` are gone from the stream, "Gap": {"After", "Next", "Detail"}.
func (s *Server) eventStream(w http.ResponseWriter, r *http.Request) error {
	if s.eventFeed == nil {
		return &apiError{http.StatusNotFound, "no event feed on this agent"}
	}
	q := r.URL.Query()
	req := &wan.EventsRequest{Datacenter: q.Get("dc"), Shard: q.Get("shard"), Prefix: q.Get("prefix"), Token: requestToken(r)}
	if req.Shard == "" {
		req.Shard = "kv"
	}
	var err error
	uint := func(name string) uint64 {
		v := q.Get(name)
		if v == "" || err != nil {
			return 0
		}
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil {
			err = badRequest("invalid ?%s: %q", name, v)
		}
		return n
	}
	req.After = uint("after")
	req.Newest = q.Has("newest")
	req.MaxEvents = int(min(uint("max"), wan.MaxEventsMax))
	req.MaxBytes = int(min(uint("max-bytes"), wan.MaxEventsMaxBytes))
	if err != nil {
		return err
	}
	if v := q.Get("wait"); v != "" {
		if req.Wait, err = time.ParseDuration(v); err != nil {
			return badRequest("invalid ?wait: %q", v)
		}
	}
	resp, err := s.eventFeed.FetchEvents(r.Context(), req)
	if errors.Is(err, wan.ErrNoPath) {
		return &apiError{http.StatusInternalServerError, wan.NoPath}
	}
	if err != nil {
		return err
	}
	if resp.Error != "" {
		status := resp.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return &apiError{status, resp.Error}
	}
	return writeJSON(w, http.StatusOK, resp)
}
