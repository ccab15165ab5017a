package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// kv serves /v1/kv/<key>.
func (s *Server) kv(w http.ResponseWriter, r *http.Request) error {
	key := strings.TrimPrefix(r.URL.Path, "/v1/kv/")
	switch r.Method {
	case http.MethodGet:
		return s.kvGet(w, r, key)
	case http.MethodPut:
		return s.kvPut(w, r, key)
	default:
		return s.kvDelete(w, r, key)
	}
}

func (s *Server) kvGet(w http.ResponseWriter, r *http.Request, key string) error {
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	if err := s.prepareRead(r, q, command.ShardKV); err != nil {
		return err
	}
	params := q.params
	_, keys := params["keys"]
	_, recurse := params["recurse"]
	_, raw := params["raw"]
	if key == "" && !keys && !recurse {
		return badRequest("Missing key name")
	}

	switch {
	case keys:
		sep := params.Get("separator")
		list, index := blocking(r.Context(), q, func(watch bool) ([]string, uint64, <-chan struct{}) {
			return s.cfg.KV.Keys(key, sep, watch)
		})
		s.setMeta(w, q, command.ShardKV, index)
		list = aclFilter(w, r, list, canRead(acl.ResourceKey))
		if len(list) == 0 {
			w.WriteHeader(http.StatusNotFound)
			return nil
		}
		return writeJSON(w, http.StatusOK, list)

	case recurse:
		list, index := blocking(r.Context(), q, func(watch bool) ([]*event.KVEntry, uint64, <-chan struct{}) {
			return s.cfg.KV.List(key, watch)
		})
		s.setMeta(w, q, command.ShardKV, index)
		list = aclFilter(w, r, list, canReadKey)
		if len(list) == 0 {
			w.WriteHeader(http.StatusNotFound)
			return nil
		}
		return writeJSON(w, http.StatusOK, list)
	}
	if err := authorize(r, acl.ResourceKey, key, acl.Read); err != nil {
		return err
	}

	entry, index := blocking(r.Context(), q, func(watch bool) (*event.KVEntry, uint64, <-chan struct{}) {
		return s.cfg.KV.Get(key, watch)
	})
	s.setMeta(w, q, command.ShardKV, index)
	if entry == nil {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	if raw {
		// text/plain with nosniff, as Consul does, so a stored value can
		// never be rendered as HTML by a browser.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(entry.Value)
		return err
	}
	return writeKVEntry(w, entry)
}

// uintParam parses an optional unsigned query parameter; Consul answers a
// malformed one with 400 and the message given.
func uintParam(r *http.Request, name, msg string) (uint64, bool, error) {
	raw, present := queryOf(r)[name]
	if !present {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(raw[0], 10, 64)
	if err != nil {
		return 0, true, badRequest("%s", msg)
	}
	return v, true, nil
}

func (s *Server) kvPut(w http.ResponseWriter, r *http.Request, key string) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	if key == "" {
		return badRequest("Missing key name")
	}
	params := queryOf(r)
	op := command.KVOp{Verb: command.KVSet, Key: key}
	var err error
	if op.Flags, _, err = uintParam(r, "flags", "Invalid flags"); err != nil {
		return err
	}
	cas, hasCAS, err := uintParam(r, "cas", "Invalid cas index")
	if err != nil {
		return err
	}
	if hasCAS {
		op.Verb, op.Index = command.KVCAS, cas
	}
	acquire, release := params.Get("acquire"), params.Get("release")
	switch {
	case acquire != "" && release != "":
		return badRequest("Conflicting flags: acquire and release")
	case acquire != "":
		op.Verb, op.Session = command.KVLock, acquire
	case release != "":
		op.Verb, op.Session = command.KVUnlock, release
	}
	if hasCAS && op.Session != "" {
		return badRequest("Conflicting flags: cas and acquire/release")
	}

	value, err := s.readValue(r)
	if err != nil {
		return err
	}
	op.Value = value
	res, err := s.propose(r, command.Command{Body: &command.KVBody{Op: op}}, refusalIsAnswer)
	if err != nil {
		return err
	}
	if op.Verb == command.KVLock && res.Refusal == command.InvalidSession(op.Session) {
		// Consul's state store errs here rather than answering false.
		return &apiError{http.StatusInternalServerError, res.Refusal}
	}
	return writeBool(w, res.Succeeded)
}

// The bodies writeJSON gives a bool, written without an encoder: every KV
// write answers one, and on the write path the encoder was a tenth of the
// handler's allocations.
var (
	trueBody  = []byte("true\n")
	falseBody = []byte("false\n")
)

// writeBool answers 200 with a JSON true or false, byte for byte what
// writeJSON writes.
func writeBool(w http.ResponseWriter, v bool) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	body := falseBody
	if v {
		body = trueBody
	}
	_, err := w.Write(body)
	return err
}

// readValue reads a request body up to the value size limit; a larger one
// is Consul's 413, and nothing is written.
func (s *Server) readValue(r *http.Request) ([]byte, error) {
	limit := int64(s.cfg.KVMaxValueSize)
	tooLarge := &apiError{http.StatusRequestEntityTooLarge,
		fmt.Sprintf("Request body(%d bytes) too large, max size: %d bytes.", r.ContentLength, limit)}
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	if r.ContentLength >= 0 {
		// A body with a Content-Length has exactly that many bytes
		// (net/http cuts it there, and fails a shorter one): read it into
		// one buffer of its size rather than growing one.
		if r.ContentLength == 0 {
			return nil, nil
		}
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, badRequest("Failed to read body: %v", err)
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, badRequest("Failed to read body: %v", err)
	}
	if int64(len(body)) > limit {
		tooLarge.msg = fmt.Sprintf("Request body too large, max size: %d bytes.", limit)
		return nil, tooLarge
	}
	if len(body) == 0 {
		return nil, nil
	}
	return body, nil
}

func (s *Server) kvDelete(w http.ResponseWriter, r *http.Request, key string) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	op := command.KVOp{Verb: command.KVDelete, Key: key}
	if _, recurse := queryOf(r)["recurse"]; recurse {
		op.Verb = command.KVDeleteTree
	} else if key == "" {
		return badRequest("Missing key name")
	}
	cas, hasCAS, err := uintParam(r, "cas", "Invalid cas index")
	if err != nil {
		return err
	}
	if hasCAS {
		if op.Verb == command.KVDeleteTree {
			return badRequest("Conflicting flags: cas and recurse")
		}
		op.Verb, op.Index = command.KVDeleteCAS, cas
	}
	res, err := s.propose(r, command.Command{Body: &command.KVBody{Op: op}}, refusalIsAnswer)
	if err != nil {
		return err
	}
	return writeBool(w, res.Succeeded)
}
