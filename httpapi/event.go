package httpapi

import (
	"errors"
	"github.com/heraldhq/herald/acl"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/agent/userevent"
)

// UserEvents is the agent's user-event buffer, behind /v1/event/*.
type UserEvents interface {
	// Fire sends an event to the datacenter's agents and returns it; a
	// *userevent.Error refuses the event for what it holds.
	Fire(name string, payload []byte, f userevent.Filters) (userevent.Event, error)
	// Events are the events this agent kept, oldest first, and a channel
	// closed when it keeps another.
	Events() ([]userevent.Event, <-chan struct{})
}

// eventFire is PUT /v1/event/fire/:name?node=&service=&tag= with the
// payload as the body.
func (s *Server) eventFire(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	if s.cfg.Events == nil {
		return &apiError{http.StatusInternalServerError, "user events are not available on this agent"}
	}
	name := strings.TrimPrefix(r.URL.Path, "/v1/event/fire/")
	if name == "" {
		return badRequest("Missing name")
	}
	if err := authorize(r, acl.ResourceEvent, name, acl.Write); err != nil {
		return err
	}
	v := r.URL.Query()
	f := userevent.Filters{Node: v.Get("node"), Service: v.Get("service"), Tag: v.Get("tag")}
	var payload []byte
	if r.ContentLength != 0 {
		// One byte more than any event can hold is enough to refuse it.
		body, err := io.ReadAll(io.LimitReader(r.Body, userevent.MaxSize+1))
		if err != nil {
			return badRequest("Failed to read body: %v", err)
		}
		if len(body) > 0 {
			payload = body
		}
	}
	e, err := s.cfg.Events.Fire(name, payload, f)
	var refused *userevent.Error
	switch {
	case errors.As(err, &refused) && refused.TooLarge:
		// Consul answers an event its gossip cannot carry with a 500.
		return &apiError{http.StatusInternalServerError, refused.Msg}
	case errors.As(err, &refused):
		return badRequest("%s", refused.Msg)
	case err != nil:
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

// eventList is GET /v1/event/list?name=, a blocking query. As in Consul, the
// index is the hash of the last event's ID (userevent.ListIndex), which does
// not grow: a request with ?index=N waits while the index is still N.
func (s *Server) eventList(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if s.cfg.Events == nil {
		return &apiError{http.StatusInternalServerError, "user events are not available on this agent"}
	}
	name := r.URL.Query().Get("name")
	read := func() ([]userevent.Event, uint64, <-chan struct{}) {
		all, changed := s.cfg.Events.Events()
		list := make([]userevent.Event, 0, len(all))
		for _, e := range all {
			if name == "" || e.Name == name {
				list = append(list, e)
			}
		}
		return list, userevent.ListIndex(list), changed
	}
	list, index, changed := read()
	if q.index != 0 && index == q.index {
		wait := q.wait
		if wait > 0 {
			wait += rand.N(wait/16 + 1)
		}
		timer := time.NewTimer(wait)
		defer timer.Stop()
		stop := stopping(r.Context())
		token := watchToken(r.Context())
		defer token.stop()
	loop:
		for index == q.index {
			select {
			case <-changed:
				list, index, changed = read()
			case <-token.tick:
				if token.revoked() {
					break loop
				}
			case <-timer.C:
				break loop
			case <-stop:
				break loop
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}
	}
	// Consul sets no X-Consul-KnownLeader or LastContact here: user events
	// do not go through the servers.
	w.Header().Set("X-Consul-Index", strconv.FormatUint(index, 10))
	list = aclFilter(w, r, list, func(a acl.Authorizer, e userevent.Event) bool {
		return a.Allowed(acl.ResourceEvent, e.Name, acl.Read)
	})
	return writeJSON(w, http.StatusOK, list)
}
