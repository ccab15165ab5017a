package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/heraldhq/herald/event"
)

// A single-key read is the most frequent request of all, and its answer a
// one-entry list of a fixed shape: writeKVEntry appends that JSON by hand
// into a pooled buffer, byte for byte what encoding/json makes of
// []*event.KVEntry (kv_encode_internal_test.go holds it to that), and
// sends it with its length, without reflection or an encoder per request.

var kvAnswerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledKVAnswer keeps buffers grown by large values out of the pool.
const maxPooledKVAnswer = 64 << 10

func writeKVEntry(w http.ResponseWriter, e *event.KVEntry) error {
	bp := kvAnswerBuffers.Get().(*[]byte)
	b := appendKVEntry((*bp)[:0], e)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	if cap(b) <= maxPooledKVAnswer {
		*bp = b
		kvAnswerBuffers.Put(bp)
	}
	return err
}

// appendKVEntry appends the answer to a single-key read of e: a JSON list
// holding the entry, and the newline json.Encoder ends with.
func appendKVEntry(b []byte, e *event.KVEntry) []byte {
	b = append(b, `[{"Key":`...)
	b = appendJSONString(b, e.Key)
	b = append(b, `,"CreateIndex":`...)
	b = strconv.AppendUint(b, e.CreateIndex, 10)
	b = append(b, `,"ModifyIndex":`...)
	b = strconv.AppendUint(b, e.ModifyIndex, 10)
	b = append(b, `,"LockIndex":`...)
	b = strconv.AppendUint(b, e.LockIndex, 10)
	b = append(b, `,"Flags":`...)
	b = strconv.AppendUint(b, e.Flags, 10)
	b = append(b, `,"Value":`...)
	if e.Value == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, e.Value)
		b = append(b, '"')
	}
	if e.Session != "" {
		b = append(b, `,"Session":`...)
		b = appendJSONString(b, e.Session)
	}
	return append(b, "}]\n"...)
}

// appendJSONString appends s as encoding/json writes a string: quoted
// as is when every byte is printable ASCII that needs no escape, through
// encoding/json itself (with its HTML and Unicode escapes) otherwise.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b, quoted...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
