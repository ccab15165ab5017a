package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// txnOp is one element of a /v1/txn request body: a KV op, or a Node,
// Service or Check op (txn_catalog.go).
type txnOp struct {
	KV      *txnKVOp
	Node    *txnNodeOp
	Service *txnServiceOp
	Check   *txnCheckOp
}

type txnKVOp struct {
	Verb    string
	Key     string
	Value   []byte
	Flags   uint64
	Index   uint64
	Session string
}

type txnResult struct {
	KV      *event.KVEntry `json:",omitempty"`
	Node    *apiNode       `json:",omitempty"`
	Service *apiService    `json:",omitempty"`
	Check   *apiCheck      `json:",omitempty"`
}

type txnResponse struct {
	Results []txnResult
	Errors  []command.KVTxnError
}

// maxTxnBody bounds a transaction's body: every op may carry a value of the
// maximum size, base64-encoded, plus its envelope.
func (s *Server) maxTxnBody() int64 {
	return int64(s.cfg.TxnMaxOps) * (int64(s.cfg.KVMaxValueSize)*4/3 + 1024)
}

func (s *Server) txn(w http.ResponseWriter, r *http.Request) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	limit := s.maxTxnBody()
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return badRequest("Failed to read body: %v", err)
	}
	if int64(len(body)) > limit {
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body too large, max size: %d bytes.", limit)}
	}
	var in []txnOp
	if err := json.Unmarshal(body, &in); err != nil {
		return badRequest("Failed to parse body: %v", err)
	}
	if len(in) > s.cfg.TxnMaxOps {
		return &apiError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Transaction contains too many operations (%d > %d)", len(in), s.cfg.TxnMaxOps)}
	}

	if handled, err := s.catalogTxn(w, r, in); handled {
		return err
	}

	ops := make([]command.KVOp, len(in))
	var refused []command.KVTxnError
	writes := false
	for i, op := range in {
		if op.KV == nil {
			return badRequest("Operation %d: no operation specified", i)
		}
		verb, ok := command.ParseVerb(op.KV.Verb)
		if !ok {
			refused = append(refused, command.KVTxnError{OpIndex: i, What: fmt.Sprintf("unknown KV verb %q", op.KV.Verb)})
			continue
		}
		if int64(len(op.KV.Value)) > int64(s.cfg.KVMaxValueSize) {
			return &apiError{http.StatusRequestEntityTooLarge,
				fmt.Sprintf("Operation %d: value of %d bytes exceeds the %d byte limit", i, len(op.KV.Value), s.cfg.KVMaxValueSize)}
		}
		writes = writes || verb.IsWrite()
		ops[i] = command.KVOp{Verb: verb, Key: op.KV.Key, Value: op.KV.Value, Flags: op.KV.Flags, Index: op.KV.Index, Session: op.KV.Session}
	}
	if len(refused) > 0 {
		return writeJSON(w, http.StatusConflict, txnResponse{Errors: refused})
	}

	var out command.KVTxnResult
	cmd := command.Command{Body: &command.KVTxnBody{Ops: ops}}
	if writes {
		res, err := s.propose(r, cmd, refusalIsAnswer)
		if refused, ok := txnRefusal(err); ok {
			return writeJSON(w, http.StatusConflict, refused)
		}
		if err != nil {
			return err
		}
		if res.Txn == nil {
			// Refused as a whole (its deadline passed), not op by op.
			return &apiError{http.StatusInternalServerError, res.Refusal}
		}
		out = *res.Txn
	} else {
		// A read-only transaction is answered from the projection, as
		// Consul answers it without Raft.
		if refused, ok := txnRefusal(s.authorizeCommand(r, cmd)); ok {
			return writeJSON(w, http.StatusConflict, refused)
		}
		if err := s.prepareRead(r, q, command.ShardKV); err != nil {
			return err
		}
		var index uint64
		out, index = s.readTxn(ops)
		s.setMeta(w, q, command.ShardKV, index)
	}
	out.Results = aclFilter(w, r, out.Results, canReadKey)
	if len(out.Errors) > 0 {
		return writeJSON(w, http.StatusConflict, txnResponse{Errors: out.Errors})
	}
	resp := txnResponse{Results: make([]txnResult, len(out.Results))}
	for i, e := range out.Results {
		resp.Results[i] = txnResult{KV: e}
	}
	return writeJSON(w, http.StatusOK, resp)
}

// readTxn evaluates read-only operations against the projection, with the
// state machine's rules and messages.
func (s *Server) readTxn(ops []command.KVOp) (command.KVTxnResult, uint64) {
	var out command.KVTxnResult
	index := s.cfg.KV.Index()
	fail := func(i int, format string, args ...any) {
		out.Errors = append(out.Errors, command.KVTxnError{OpIndex: i, What: fmt.Sprintf(format, args...)})
	}
	for i, op := range ops {
		switch op.Verb {
		case command.KVGet, command.KVCheckIndex, command.KVCheckNotExists:
			e, _, _ := s.cfg.KV.Get(op.Key, false)
			switch {
			case op.Verb == command.KVCheckNotExists && e != nil:
				fail(i, "key %q exists", op.Key)
			case op.Verb == command.KVCheckNotExists:
			case e == nil:
				fail(i, "key %q doesn't exist", op.Key)
			case op.Verb == command.KVCheckIndex && e.ModifyIndex != op.Index:
				fail(i, "current modify index %d != %d", e.ModifyIndex, op.Index)
			case op.Verb == command.KVCheckIndex:
				c := *e
				c.Value = nil
				out.Results = append(out.Results, &c)
			default:
				out.Results = append(out.Results, e)
			}
		case command.KVGetTree:
			list, _, _ := s.cfg.KV.List(op.Key, false)
			out.Results = append(out.Results, list...)
		case command.KVCheckSession:
			// The state machine's rule: the key exists and op.Session holds it.
			e, _, _ := s.cfg.KV.Get(op.Key, false)
			switch {
			case e == nil:
				fail(i, "key %q doesn't exist", op.Key)
			case e.Session != op.Session:
				fail(i, "failed session check for key %q, current session %q != %q", op.Key, e.Session, op.Session)
			default:
				c := *e
				c.Value = nil
				out.Results = append(out.Results, &c)
			}
		}
	}
	if len(out.Errors) > 0 {
		out.Results = nil
	}
	return out, index
}
