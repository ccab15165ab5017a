package httpapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Node, Service and Check operations of /v1/txn, in Consul's TxnOp shapes.
// They go to the catalog shard as one command, all or nothing. KV ops live
// in the kv shard, a separate Raft group, so a transaction mixing the two
// could not be atomic: it is refused.

type txnNodeOp struct {
	Verb string
	Node struct {
		ID              string
		Node            string
		Address         string
		TaggedAddresses map[string]string
		Meta            map[string]string
		ModifyIndex     uint64
	}
}

type txnServiceOp struct {
	Verb    string
	Node    string
	Service struct {
		catalogService
		ModifyIndex uint64
	}
}

type txnCheckOp struct {
	Verb  string
	Check struct {
		catalogCheck
		ModifyIndex uint64
	}
}

// errMixedTxn is the answer to a transaction with both KV and catalog ops.
const errMixedTxn = "A transaction cannot mix KV operations with Node, Service or Check operations in Herald: " +
	"they are kept in separate Raft shards, which cannot commit together atomically; send them as separate transactions"

// catalogTxn answers a transaction of Node, Service and Check ops; handled
// is false for a transaction of KV ops only, which the caller answers.
func (s *Server) catalogTxn(w http.ResponseWriter, r *http.Request, in []txnOp) (handled bool, err error) {
	kv, catalog := 0, 0
	for _, op := range in {
		if op.KV != nil {
			kv++
		}
		if op.Node != nil || op.Service != nil || op.Check != nil {
			catalog++
		}
	}
	switch {
	case catalog == 0:
		return false, nil
	case kv > 0:
		return true, badRequest("%s", errMixedTxn)
	}

	ops := make([]command.CatalogOp, len(in))
	var refused []command.KVTxnError
	verb := func(i int, kind command.CatalogOpKind, v string) {
		if !slices.Contains(command.CatalogVerbs, v) {
			refused = append(refused, command.KVTxnError{OpIndex: i, What: fmt.Sprintf("unknown %s verb %q", kind, v)})
		}
	}
	for i, op := range in {
		switch {
		case op.Node != nil:
			n := op.Node.Node
			verb(i, command.CatalogOpNode, op.Node.Verb)
			ops[i] = command.CatalogOp{Kind: command.CatalogOpNode, Verb: op.Node.Verb, Index: n.ModifyIndex,
				Node: event.Node{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: s.cfg.Datacenter,
					TaggedAddresses: n.TaggedAddresses, Meta: n.Meta}}
		case op.Service != nil:
			verb(i, command.CatalogOpService, op.Service.Verb)
			rec := op.Service.Service.record()
			ops[i] = command.CatalogOp{Kind: command.CatalogOpService, Verb: op.Service.Verb,
				Node: event.Node{Node: op.Service.Node}, Service: &rec, Index: op.Service.Service.ModifyIndex}
		case op.Check != nil:
			verb(i, command.CatalogOpCheck, op.Check.Verb)
			if !validStatus(op.Check.Check.Status) {
				refused = append(refused, command.KVTxnError{OpIndex: i, What: fmt.Sprintf("Invalid check status %q", op.Check.Check.Status)})
			}
			rec := op.Check.Check.record()
			ops[i] = command.CatalogOp{Kind: command.CatalogOpCheck, Verb: op.Check.Verb, Check: &rec,
				Index: op.Check.Check.ModifyIndex}
		default:
			return true, badRequest("Operation %d: no operation specified", i)
		}
	}
	if len(refused) > 0 {
		return true, writeJSON(w, http.StatusConflict, txnResponse{Errors: refused})
	}
	res, err := s.propose(r, command.Command{Body: &command.CatalogTxnBody{Ops: ops}}, refusalIsAnswer)
	if refused, ok := txnRefusal(err); ok {
		return true, writeJSON(w, http.StatusConflict, refused)
	}
	if err != nil {
		return true, err
	}
	if res.Txn == nil {
		// Refused as a whole (its deadline passed), not op by op.
		return true, &apiError{http.StatusInternalServerError, res.Refusal}
	}
	if len(res.Txn.Errors) > 0 {
		return true, writeJSON(w, http.StatusConflict, txnResponse{Errors: res.Txn.Errors})
	}
	out := txnResponse{Results: make([]txnResult, 0, len(res.Txn.Catalog))}
	for _, c := range res.Txn.Catalog {
		var one txnResult
		switch {
		case c.Node != nil:
			n := toNode(c.Node)
			one.Node = &n
		case c.Service != nil:
			sv := toService(c.Service, s.cfg.Datacenter)
			one.Service = &sv
		case c.Check != nil:
			ch := toCheck(c.Check)
			one.Check = &ch
		}
		out.Results = append(out.Results, one)
	}
	return true, writeJSON(w, http.StatusOK, out)
}
