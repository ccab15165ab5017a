package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
)

// The UI's live stream, /v1/internal/ui/stream?topic=...: server-sent
// events fed by the projections' wake-ups (the channels blocking queries
// wait on), never by polling. A row topic sends the rows it shows, then
// only what changed among them; see docs/ui.md for the topics and the
// messages.

const (
	// coalesceEvery is the least time between two messages of a stream:
	// the changes of a burst go out together.
	coalesceEvery = 100 * time.Millisecond
	// pingEvery is how often an idle stream sends a comment line, so that
	// proxies keep the connection and a dead client is noticed.
	pingEvery = 15 * time.Second
)

// errStreamRevoked ends a stream whose token may no longer read its topic.
var errStreamRevoked = errors.New("the token may no longer read the topic")

// rowsMessage is the data of an `event: rows` message.
type rowsMessage struct {
	Index  uint64
	Reset  bool              `json:",omitempty"`
	Upsert []json.RawMessage `json:",omitempty"`
	Delete []string          `json:",omitempty"`
}

// rowSet is what a row topic shows at an index: each row's JSON by its key.
type rowSet map[string]json.RawMessage

// topicRead reads a row topic's rows as the authorizer a may see them (nil:
// everything), their index, and, when watch is set, the channels of which
// any closes at the next change.
type topicRead func(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error)

func (s *Server) uiStream(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkDC(r); err != nil {
		return err
	}
	topic := r.URL.Query().Get("topic")
	if topic == "events" {
		return s.streamEvents(w, r)
	}
	read, err := s.rowTopic(topic)
	if err != nil {
		return err
	}
	resume, err := resumeIndex(r)
	if err != nil {
		return err
	}
	// A key the token may not read is refused with a status, before the
	// stream begins; lists only leave out what it may not read.
	if key, ok := strings.CutPrefix(topic, "kvkey/"); ok {
		if err := authorize(r, acl.ResourceKey, key, acl.Read); err != nil {
			return err
		}
	}
	a := requestAuthorizer(r)
	rows, index, _, err := read(a, false)
	if err != nil {
		return err
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("the connection cannot stream")
	}
	startStream(w)
	sent := rowSet{}
	// A page that reconnects with the current index holds these rows
	// already; any other starts over.
	reset := resume == 0 || resume != index
	if !reset {
		sent = rows
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	var lastSend time.Time
	for {
		a, err = s.reauthorize(r)
		if err != nil {
			return nil // the token was deleted: the stream ends
		}
		var chans []<-chan struct{}
		rows, index, chans, err = read(a, true)
		if err != nil {
			return nil
		}
		if msg, changed := diffRows(sent, rows, index, reset); changed {
			if err := writeEvent(w, "rows", strconv.FormatUint(index, 10), msg); err != nil {
				return nil
			}
			flusher.Flush()
			sent, lastSend = rows, time.Now()
		}
		reset = false
		if !s.waitChange(w, r, flusher, ping, chans) {
			return nil
		}
		// Coalesce: let the rest of a burst in before the next message.
		if wait := coalesceEvery - time.Since(lastSend); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return nil
			case <-stopping(r.Context()):
				t.Stop()
				return nil
			}
		}
	}
}

// startStream sends the headers of a server-sent event stream.
func startStream(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // a reverse proxy must not hold messages back
	w.WriteHeader(http.StatusOK)
}

// waitChange waits for one of chans to close, pinging while it waits; false
// when the stream must end (the client left, the server stops).
func (s *Server) waitChange(w http.ResponseWriter, r *http.Request, flusher http.Flusher, ping *time.Ticker, chans []<-chan struct{}) bool {
	cases := make([]reflect.SelectCase, 0, len(chans)+3)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.Context().Done())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(stopping(r.Context()))},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ping.C)})
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	for {
		chosen, _, _ := reflect.Select(cases)
		switch chosen {
		case 0, 1:
			return false
		case 2:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return false
			}
			flusher.Flush()
			if _, err := s.reauthorize(r); err != nil {
				return false
			}
		default:
			return true
		}
	}
}

// reauthorize resolves the stream's token again, so that a changed policy
// shows in the next message and a deleted token ends the stream.
func (s *Server) reauthorize(r *http.Request) (acl.Authorizer, error) {
	ra := aclOf(r.Context())
	if ra == nil {
		return nil, nil
	}
	id, err := s.cfg.ACL.Resolve(ra.secret)
	if err != nil {
		return nil, err
	}
	if id.Authorizer == nil {
		return acl.DenyAll(), nil
	}
	return id.Authorizer, nil
}

// resumeIndex is the index the page already has: the browser's
// Last-Event-ID when it reconnects, or ?index=; 0 for none.
func resumeIndex(r *http.Request) (uint64, error) {
	raw := r.Header.Get("Last-Event-ID")
	if raw == "" {
		raw = r.URL.Query().Get("index")
	}
	if raw == "" {
		return 0, nil
	}
	i, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, badRequest("Invalid index")
	}
	return i, nil
}

// diffRows is the message that takes a page from sent to rows: all of rows
// when reset, else the rows added or changed and the keys removed; changed
// is false when there is nothing to send.
func diffRows(sent, rows rowSet, index uint64, reset bool) (rowsMessage, bool) {
	msg := rowsMessage{Index: index, Reset: reset}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if old, ok := sent[k]; reset || !ok || !bytes.Equal(old, rows[k]) {
			msg.Upsert = append(msg.Upsert, rows[k])
		}
	}
	if !reset {
		for k := range sent {
			if _, ok := rows[k]; !ok {
				msg.Delete = append(msg.Delete, k)
			}
		}
		sort.Strings(msg.Delete)
	}
	if reset && msg.Upsert == nil {
		msg.Upsert = []json.RawMessage{}
	}
	return msg, reset || len(msg.Upsert) > 0 || len(msg.Delete) > 0
}

// writeEvent writes one server-sent event.
func writeEvent(w http.ResponseWriter, name, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", name, id, b)
	return err
}

// rowTopic is the reader of a row topic; a 400 for an unknown topic.
func (s *Server) rowTopic(topic string) (topicRead, error) {
	kind, name, _ := strings.Cut(topic, "/")
	switch {
	case topic == "services":
		return s.servicesTopic, nil
	case topic == "nodes":
		return s.nodesTopic, nil
	case kind == "service" && name != "":
		return func(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
			return s.serviceTopic(name, a, watch)
		}, nil
	case kind == "node" && name != "":
		return func(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
			return s.nodeTopic(name, a, watch)
		}, nil
	case kind == "kv" && (name == "" || strings.HasSuffix(name, "/")):
		return func(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
			return s.kvFolderTopic(name, a, watch)
		}, nil
	case kind == "kvkey" && name != "":
		return func(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
			return s.kvKeyTopic(name, a, watch)
		}, nil
	}
	return nil, badRequest("Unknown topic %q: one of services, service/<name>, nodes, node/<name>, kv/<folder>/, kvkey/<key>, events", topic)
}

// addRow puts a row in the set under key.
func addRow(set rowSet, key string, row any) error {
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	set[key] = b
	return nil
}

func chans(chs ...<-chan struct{}) []<-chan struct{} {
	out := chs[:0]
	for _, ch := range chs {
		if ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

func (s *Server) servicesTopic(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
	index, ch := s.cfg.Catalog.Changes(watch)
	set, err := s.summaries.serviceRows(s.cfg.Catalog, s.cfg.Datacenter, a)
	return set, index, chans(ch), err
}

func (s *Server) nodesTopic(a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
	index, ch := s.cfg.Catalog.Changes(watch)
	list, _ := nodeDump(s.cfg.Catalog, a)
	set := make(rowSet, len(list))
	for _, n := range list {
		if err := addRow(set, n.Node, n); err != nil {
			return nil, 0, nil, err
		}
	}
	return set, index, chans(ch), nil
}

func (s *Server) serviceTopic(name string, a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
	instances, index, ch := s.cfg.Catalog.ServiceInstances(name, watch)
	set := make(rowSet, len(instances))
	for _, in := range instances {
		if a != nil && !canReadInstance(a, in) {
			continue
		}
		row := apiServiceEntry{Node: toNode(in.Node), Service: toService(in.Service, ""), Checks: toChecks(in.Checks)}
		if err := addRow(set, in.Node.Node+"/"+in.Service.ID, row); err != nil {
			return nil, 0, nil, err
		}
	}
	return set, index, chans(ch), nil
}

// uiNodeDetail is the row of a node/<name> topic.
type uiNodeDetail struct {
	Node     apiNode
	Services []apiService
	Checks   []apiCheck
	Sessions []uiSession
}

// uiSession is a session with the keys it holds.
type uiSession struct {
	apiSession
	Locks []string
}

func (s *Server) nodeTopic(name string, a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
	info, index, nodeCh := s.cfg.Catalog.Node(name, watch)
	set := rowSet{}
	if info == nil || (a != nil && !canReadNode(a, info.Node)) {
		return set, index, chans(nodeCh), nil
	}
	onNode := func(sess *event.Session) bool {
		return strings.EqualFold(sess.Node, info.Node.Node) && (a == nil || a.Allowed(acl.ResourceSession, sess.Node, acl.Read))
	}
	sessions, sessIndex, sessCh := s.cfg.KV.Sessions(onNode, watch)
	index = max(index, sessIndex)
	var keysCh <-chan struct{}
	held := map[string]bool{}
	for _, sess := range sessions {
		held[sess.ID] = true
	}
	locks := map[string][]string{}
	if len(held) > 0 {
		// Locks are taken and released by writes to keys: hear of them.
		var kvIndex uint64
		kvIndex, keysCh = s.cfg.KV.PrefixChanges("", watch)
		index = max(index, kvIndex)
		locks = s.cfg.KV.Locks(held)
	}
	row, _ := toUINode(info, a)
	detail := uiNodeDetail{Node: toNode(info.Node), Services: row.Services, Checks: row.Checks, Sessions: []uiSession{}}
	for _, sess := range sessions {
		keys := []string{}
		for _, k := range locks[sess.ID] {
			if a == nil || a.Allowed(acl.ResourceKey, k, acl.Read) {
				keys = append(keys, k)
			}
		}
		detail.Sessions = append(detail.Sessions, uiSession{apiSession: toSession(sess), Locks: keys})
	}
	if err := addRow(set, info.Node.Node, detail); err != nil {
		return nil, 0, nil, err
	}
	return set, index, chans(nodeCh, sessCh, keysCh), nil
}

// uiKVChild is a row of a kv/<folder>/ topic: a key, or a folder (a key
// prefix ending in / with keys under it).
type uiKVChild struct {
	Key         string
	Folder      bool `json:",omitempty"`
	Flags       uint64
	ModifyIndex uint64
}

func (s *Server) kvFolderTopic(prefix string, a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
	entries, index, ch := s.cfg.KV.List(prefix, watch)
	children := map[string]*uiKVChild{}
	for _, e := range entries {
		if a != nil && !canReadKey(a, e) {
			continue
		}
		rest := e.Key[len(prefix):]
		if i := strings.Index(rest, "/"); i >= 0 {
			folder := prefix + rest[:i+1]
			c := children[folder]
			if c == nil {
				c = &uiKVChild{Key: folder, Folder: true}
				children[folder] = c
			}
			c.ModifyIndex = max(c.ModifyIndex, e.ModifyIndex)
			continue
		}
		children[e.Key] = &uiKVChild{Key: e.Key, Flags: e.Flags, ModifyIndex: e.ModifyIndex}
	}
	set := make(rowSet, len(children))
	for key, c := range children {
		if err := addRow(set, key, c); err != nil {
			return nil, 0, nil, err
		}
	}
	return set, index, chans(ch), nil
}

func (s *Server) kvKeyTopic(key string, a acl.Authorizer, watch bool) (rowSet, uint64, []<-chan struct{}, error) {
	if a != nil && !a.Allowed(acl.ResourceKey, key, acl.Read) {
		return nil, 0, nil, errStreamRevoked
	}
	e, index, ch := s.cfg.KV.Get(key, watch)
	set := rowSet{}
	if e != nil {
		if err := addRow(set, e.Key, e); err != nil {
			return nil, 0, nil, err
		}
	}
	return set, index, chans(ch), nil
}
