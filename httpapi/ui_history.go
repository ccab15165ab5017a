package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
	"github.com/heraldhq/herald/projections"
	"github.com/heraldhq/herald/statemachine"
)

// The UI's history of a key, a service or a node:
// /v1/internal/ui/history/<kind>/<name>[?at=N] (docs/ui.md). A server
// answers from its replicas' retained command history; a client agent asks
// a server (rpc's history verb).

// HistorySource answers a history request with the answer's JSON.
type HistorySource func(ctx context.Context, req rpc.HistoryRequest) ([]byte, error)

// SetHistory gives the server its source of history; without one the
// endpoint answers that it is not available. Call it before the server
// serves its first request.
func (s *Server) SetHistory(h HistorySource) { s.history = h }

// defaultHistoryLimit is how many entries a history page holds unless
// ?limit= says otherwise.
const defaultHistoryLimit = 100

// historyEntry is one command of an object's history.
type historyEntry struct {
	Index      uint64
	Time       string
	Type       string
	Op         string `json:",omitempty"`
	Accessor   string `json:",omitempty"`
	Node       string `json:",omitempty"`
	RemoteAddr string `json:",omitempty"`
	Before     any
	After      any
}

type historyAnswer struct {
	First, Index uint64
	Entries      []historyEntry
}

type historyAtAnswer struct {
	Index uint64
	State any
}

func (s *Server) uiHistory(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	rest := strings.TrimPrefix(r.URL.Path, "/v1/internal/ui/history/")
	kind, name, _ := strings.Cut(rest, "/")
	req := rpc.HistoryRequest{Kind: kind, Name: name, Limit: defaultHistoryLimit}
	res, _, err := req.Resource()
	if err != nil {
		return err
	}
	if name == "" {
		return badRequest("Missing %s name", kind)
	}
	q := r.URL.Query()
	for param, dst := range map[string]*uint64{"at": &req.At, "before": &req.Before} {
		if raw := q.Get(param); raw != "" {
			if *dst, err = strconv.ParseUint(raw, 10, 64); err != nil {
				return badRequest("Invalid %s index", param)
			}
		}
	}
	if raw := q.Get("limit"); raw != "" {
		if req.Limit, err = strconv.Atoi(raw); err != nil || req.Limit <= 0 {
			return badRequest("Invalid limit")
		}
	}
	if err := authorize(r, res, name, acl.Read); err != nil {
		return err
	}
	if s.history == nil {
		return fmt.Errorf("%w: the command history", agenterr.ErrUnavailable)
	}
	body, err := s.history(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(body)
	return err
}

// HistoryReader is a replica's history, as statemachine keeps it.
type HistoryReader interface {
	ObjectHistory(kind, name string) (statemachine.ObjectHistory, error)
	ObjectAt(kind, name string, index uint64) (any, error)
}

// AnswerHistory is the JSON answer to req from a replica's history: what a
// server answers its own API and the client agents that ask it.
func AnswerHistory(src HistoryReader, req rpc.HistoryRequest) ([]byte, error) {
	if req.At != 0 {
		state, err := src.ObjectAt(req.Kind, req.Name, req.At)
		var before *statemachine.ErrOutsideHistory
		if errors.As(err, &before) {
			return nil, agenterr.Mark(agenterr.ErrInvalid, err)
		}
		if err != nil {
			return nil, err
		}
		return json.Marshal(historyAtAnswer{Index: req.At, State: historyShape(state)})
	}
	h, err := src.ObjectHistory(req.Kind, req.Name)
	if err != nil {
		return nil, err
	}
	out := historyAnswer{First: h.First, Index: h.Applied, Entries: []historyEntry{}}
	for i := len(h.Changes) - 1; i >= 0 && (req.Limit <= 0 || len(out.Entries) < req.Limit); i-- {
		c := h.Changes[i]
		if req.Before != 0 && c.Index >= req.Before {
			continue
		}
		out.Entries = append(out.Entries, historyEntry{Index: c.Index,
			Time: time.Unix(0, c.Command.Time).UTC().Format(time.RFC3339Nano),
			Type: c.Command.Type().String(), Op: commandOp(c.Command),
			Accessor: c.Command.Origin.Accessor, Node: c.Command.Origin.Node, RemoteAddr: c.Command.Origin.RemoteAddr,
			Before: historyShape(c.Before), After: historyShape(c.After)})
	}
	return json.Marshal(out)
}

// commandOp is the operation of a KV command (set, cas, delete, ...).
func commandOp(cmd command.Command) string {
	switch b := cmd.Body.(type) {
	case *command.KVBody:
		return b.Op.Verb.String()
	case *command.KVTxnBody:
		return "txn"
	}
	return ""
}

// historyShape is a replayed object in the API's shapes: a KV pair as
// /v1/kv returns it, a service's instances as /v1/catalog/service, a node
// as {Node, Services, Checks}; null when absent.
func historyShape(v any) any {
	switch o := v.(type) {
	case *event.KVEntry:
		if o == nil {
			return nil
		}
		return o
	case []statemachine.ServiceInstance:
		if len(o) == 0 {
			return nil
		}
		out := make([]apiCatalogService, len(o))
		for i, in := range o {
			out[i] = toCatalogService(projections.Instance{Node: in.Node, Service: in.Service})
		}
		return out
	case *statemachine.NodeState:
		if o == nil {
			return nil
		}
		services := make([]apiService, len(o.Services))
		for i, sv := range o.Services {
			services[i] = toService(sv, "")
		}
		return map[string]any{"Node": toNode(o.Node), "Services": services, "Checks": toChecks(o.Checks)}
	}
	return v
}
