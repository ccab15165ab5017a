package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/agenterr"
	"github.com/heraldhq/herald/log/command"
)

// The history verb: a client agent, which holds no replica and so no
// command history, asks a server for the history of one object (the web
// UI's history view, docs/ui.md). The server judges the request by the
// caller's token, which travels as a write's does (hdrToken).

// HistoryRequest asks for the retained history of one object, or (with
// At) for the object as it was at an index.
type HistoryRequest struct {
	// Kind is "kv", "service" or "node"; Name the key or the name.
	Kind, Name string
	// At, when not zero, asks for the object right after that index.
	At uint64 `json:",omitempty"`
	// Limit bounds the entries (newest first); Before keeps only those
	// older than that index (0: all).
	Limit  int    `json:",omitempty"`
	Before uint64 `json:",omitempty"`
}

// Resource is the ACL resource the object is read as, and the shard that
// holds its history; an unknown kind is invalid.
func (r HistoryRequest) Resource() (acl.Resource, command.Shard, error) {
	switch r.Kind {
	case "kv":
		return acl.ResourceKey, command.ShardKV, nil
	case "service":
		return acl.ResourceService, command.ShardCatalog, nil
	case "node":
		return acl.ResourceNode, command.ShardCatalog, nil
	}
	return "", 0, agenterr.Mark(agenterr.ErrInvalid, fmt.Errorf("unknown kind %q: one of kv, service, node", r.Kind))
}

// HistoryShards is what a server answers history requests with: the
// answer's JSON for a request, from its replica of the request's shard.
// Servers whose Shards do not implement it leave the verb unanswered.
type HistoryShards interface {
	History(req HistoryRequest) ([]byte, error)
}

// serveHistory answers a history request for shard id.
func serveHistory(m *nats.Msg, id command.Shard, shards Shards, access *ACL, reply func(*nats.Msg, Reply)) {
	hs, ok := shards.(HistoryShards)
	if !ok {
		reply(m, Reply{Error: "this server keeps no history"})
		return
	}
	var req HistoryRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		reply(m, Reply{Error: fmt.Sprintf("bad history request: %v", err), Invalid: true})
		return
	}
	res, shard, err := req.Resource()
	if err != nil || shard != id {
		reply(m, Reply{Error: fmt.Sprintf("no history of kind %q in shard %s", req.Kind, id), Invalid: true})
		return
	}
	if access != nil {
		if refusal := access.authorizeRead(m, res, req.Name); refusal != nil {
			reply(m, *refusal)
			return
		}
	}
	data, err := hs.History(req)
	if err != nil {
		reply(m, Reply{Error: err.Error(), Invalid: errors.Is(err, agenterr.ErrInvalid)})
		return
	}
	reply(m, Reply{Data: data})
}

// History asks a server for the history of one object, acting with the
// token of ctx's identity, and returns the answer's JSON.
func (c *Client) History(ctx context.Context, req HistoryRequest) ([]byte, error) {
	_, shard, err := req.Resource()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := c.request(ctx, shard, "history", body)
	if err != nil && r.Invalid {
		return nil, agenterr.Mark(agenterr.ErrInvalid, err)
	}
	return r.Data, err
}
