package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/agent/agenttest"
)

// newClient starts a dev agent and returns the official Consul client for it
// and its base URL.
func newClient(t *testing.T) (*api.Client, string) {
	t.Helper()
	addr := agenttest.StartDev(t)
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	return c, "http://" + addr
}

func mustPut(t *testing.T, kv *api.KV, key, value string) {
	t.Helper()
	if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func TestKVSemantics(t *testing.T) {
	c, _ := newClient(t)
	kv := c.KV()

	// Set, get, flags, indexes.
	if _, err := kv.Put(&api.KVPair{Key: "app/db/url", Value: []byte("pg://x"), Flags: 42}, nil); err != nil {
		t.Fatal(err)
	}
	p, meta, err := kv.Get("app/db/url", nil)
	if err != nil || p == nil {
		t.Fatalf("get: %v %v", p, err)
	}
	if string(p.Value) != "pg://x" || p.Flags != 42 || p.CreateIndex == 0 || p.ModifyIndex != p.CreateIndex || p.LockIndex != 0 {
		t.Fatalf("entry after first put: %+v", p)
	}
	if meta.LastIndex != p.ModifyIndex || !meta.KnownLeader {
		t.Fatalf("meta of a present key: %+v, want index %d", meta, p.ModifyIndex)
	}
	created := p.CreateIndex

	// An update keeps CreateIndex and moves ModifyIndex.
	mustPut(t, kv, "app/db/url", "pg://y")
	p, _, _ = kv.Get("app/db/url", nil)
	if p.CreateIndex != created || p.ModifyIndex <= created || p.Flags != 0 {
		t.Fatalf("entry after update: %+v", p)
	}

	// Missing key: nil entry (404), an index still set.
	missing, meta, err := kv.Get("nope", nil)
	if err != nil || missing != nil || meta.LastIndex == 0 {
		t.Fatalf("missing key: %+v %+v %v", missing, meta, err)
	}

	// CAS with index 0 creates only when absent.
	ok, _, err := kv.CAS(&api.KVPair{Key: "app/lock", Value: []byte("a"), ModifyIndex: 0}, nil)
	if err != nil || !ok {
		t.Fatalf("cas create: %v %v", ok, err)
	}
	ok, _, _ = kv.CAS(&api.KVPair{Key: "app/lock", Value: []byte("b"), ModifyIndex: 0}, nil)
	if ok {
		t.Fatal("cas=0 overwrote an existing key")
	}
	cur, _, _ := kv.Get("app/lock", nil)
	ok, _, _ = kv.CAS(&api.KVPair{Key: "app/lock", Value: []byte("c"), ModifyIndex: cur.ModifyIndex + 1}, nil)
	if ok {
		t.Fatal("cas with a wrong index succeeded")
	}
	ok, _, _ = kv.CAS(&api.KVPair{Key: "app/lock", Value: []byte("c"), ModifyIndex: cur.ModifyIndex}, nil)
	if !ok {
		t.Fatal("cas with the current index failed")
	}
	cur, _, _ = kv.Get("app/lock", nil)
	if string(cur.Value) != "c" {
		t.Fatalf("value after cas: %q", cur.Value)
	}

	// Delete-CAS.
	ok, _, _ = kv.DeleteCAS(&api.KVPair{Key: "app/lock", ModifyIndex: cur.ModifyIndex - 1}, nil)
	if ok {
		t.Fatal("delete-cas with a stale index succeeded")
	}
	ok, _, _ = kv.DeleteCAS(&api.KVPair{Key: "app/lock", ModifyIndex: cur.ModifyIndex}, nil)
	if !ok {
		t.Fatal("delete-cas with the current index failed")
	}
	if p, _, _ := kv.Get("app/lock", nil); p != nil {
		t.Fatal("key survived delete-cas")
	}

	// Recurse and keys with a separator.
	for _, k := range []string{"app/web/a", "app/web/b", "app/web/sub/c", "apple"} {
		mustPut(t, kv, k, k)
	}
	list, _, err := kv.List("app/", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range list {
		got = append(got, p.Key)
	}
	if want := "app/db/url app/web/a app/web/b app/web/sub/c"; strings.Join(got, " ") != want {
		t.Fatalf("list app/: %v, want %s", got, want)
	}
	keys, _, _ := kv.Keys("app/", "/", nil)
	if want := "app/db/ app/web/"; strings.Join(keys, " ") != want {
		t.Fatalf("keys app/ with separator: %v, want %s", keys, want)
	}
	keys, _, _ = kv.Keys("app/web/", "", nil)
	if len(keys) != 3 {
		t.Fatalf("keys without separator: %v", keys)
	}

	// Delete-tree removes the prefix and nothing else.
	if _, err := kv.DeleteTree("app/web/", nil); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := kv.List("app/web/", nil); len(list) != 0 {
		t.Fatalf("delete-tree left %d keys", len(list))
	}
	if p, _, _ := kv.Get("apple", nil); p == nil {
		t.Fatal("delete-tree app/web/ removed apple")
	}

	// A plain delete.
	if _, err := kv.Delete("apple", nil); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := kv.Get("apple", nil); p != nil {
		t.Fatal("apple survived delete")
	}
}

func TestKVValueLimitsAndRaw(t *testing.T) {
	c, base := newClient(t)
	kv := c.KV()

	max := bytes.Repeat([]byte("x"), 512*1024)
	if _, err := kv.Put(&api.KVPair{Key: "big", Value: max}, nil); err != nil {
		t.Fatalf("a 512 KiB value was refused: %v", err)
	}
	_, err := kv.Put(&api.KVPair{Key: "toobig", Value: append(max, 'y')}, nil)
	if err == nil || !strings.Contains(err.Error(), "413") {
		t.Fatalf("a value over 512 KiB: %v, want a 413", err)
	}
	if p, _, _ := kv.Get("toobig", nil); p != nil {
		t.Fatal("an oversized value was partly written")
	}

	// An empty value reads back as null, as in Consul.
	resp := do(t, "PUT", base+"/v1/kv/empty", "")
	if resp.code != 200 {
		t.Fatalf("put empty: %d", resp.code)
	}
	resp = do(t, "GET", base+"/v1/kv/empty", "")
	if !strings.Contains(resp.body, `"Value":null`) {
		t.Fatalf("empty value: %s", resp.body)
	}

	mustPut(t, kv, "greeting", "<b>hi</b>")
	resp = do(t, "GET", base+"/v1/kv/greeting?raw", "")
	if resp.body != "<b>hi</b>" || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/plain") ||
		resp.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("raw: %q %v", resp.body, resp.header)
	}
}

// A body sent without a Content-Length (chunked) is read whole, and the
// limit still holds for it; the answers are JSON true and false, each
// followed by a newline, as an encoder writes them.
func TestKVPutBodiesAndAnswers(t *testing.T) {
	c, base := newClient(t)
	put := func(key string, body io.Reader) response {
		t.Helper()
		req, err := http.NewRequest("PUT", base+"/v1/kv/"+key, body)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return response{res.StatusCode, string(b), res.Header}
	}
	// io.MultiReader hides the length, so the request goes chunked.
	value := strings.Repeat("v", 3000)
	resp := put("chunked", io.MultiReader(strings.NewReader(value)))
	if resp.code != 200 || resp.body != "true\n" || resp.header.Get("Content-Type") != "application/json" {
		t.Fatalf("chunked put: %d %q %v", resp.code, resp.body, resp.header)
	}
	if p, _, err := c.KV().Get("chunked", nil); err != nil || p == nil || string(p.Value) != value {
		t.Fatalf("chunked value read back: %v %v", p, err)
	}
	resp = put("chunked-big", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), 512*1024+1))))
	if resp.code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversized put: %d %q", resp.code, resp.body)
	}
	if p, _, _ := c.KV().Get("chunked-big", nil); p != nil {
		t.Fatal("an oversized chunked value was written")
	}
	// A failed check-and-set answers false.
	resp = put("chunked?cas=1", strings.NewReader("x"))
	if resp.code != 200 || resp.body != "false\n" {
		t.Fatalf("failed cas: %d %q", resp.code, resp.body)
	}
}

type response struct {
	code   int
	body   string
	header http.Header
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(b), res.Header}
}

func TestKVMalformedInput(t *testing.T) {
	c, base := newClient(t)
	mustPut(t, c.KV(), "k", "v")
	cases := []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"PUT", "/v1/kv/k?cas=abc", "x", 400, "Invalid cas index"},
		{"PUT", "/v1/kv/k?cas=-1", "x", 400, "Invalid cas index"},
		{"PUT", "/v1/kv/k?flags=1.5", "x", 400, "Invalid flags"},
		{"DELETE", "/v1/kv/k?cas=x", "", 400, "Invalid cas index"},
		{"PUT", "/v1/kv/", "x", 400, "Missing key name"},
		{"DELETE", "/v1/kv/", "", 400, "Missing key name"},
		{"GET", "/v1/kv/k?index=x", "", 400, "Invalid index"},
		{"GET", "/v1/kv/k?wait=forever", "", 400, "Invalid wait time"},
		{"GET", "/v1/kv/k?stale&consistent", "", 400, "conflicting semantics"},
		{"GET", "/v1/kv/k?dc=elsewhere", "", 500, "No path to datacenter"},
		{"POST", "/v1/kv/k", "x", 405, "not allowed"},
		{"PUT", "/v1/txn", "[{", 400, "Failed to parse body"},
		{"PUT", "/v1/txn", `{"KV":{}}`, 400, "Failed to parse body"},
		{"GET", "/v1/txn", "", 405, "not allowed"},
		{"GET", "/v1/nothing-here", "", 404, ""},
	}
	for _, tc := range cases {
		r := do(t, tc.method, base+tc.path, tc.body)
		if r.code != tc.code || !strings.Contains(r.body, tc.msg) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, r.code, r.body, tc.code, tc.msg)
		}
		if r.code == 405 && r.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
	// Nothing malformed changed the key.
	p, _, _ := c.KV().Get("k", nil)
	if p == nil || string(p.Value) != "v" {
		t.Fatalf("k after malformed requests: %+v", p)
	}
}

func TestKVHeaders(t *testing.T) {
	c, base := newClient(t)
	mustPut(t, c.KV(), "h", "v")
	for query, mode := range map[string]string{"": "leader", "?stale": "stale", "?consistent": "consistent"} {
		r := do(t, "GET", base+"/v1/kv/h"+query, "")
		h := r.header
		if r.code != 200 || h.Get("X-Consul-Index") == "" || h.Get("X-Consul-KnownLeader") != "true" ||
			h.Get("X-Consul-LastContact") == "" || h.Get("X-Consul-Effective-Consistency") != mode {
			t.Errorf("GET %q: %d %v", query, r.code, h)
		}
	}
}

func TestBlockingQueriesWakeOnlyForTheirData(t *testing.T) {
	c, _ := newClient(t)
	kv := c.KV()
	mustPut(t, kv, "watched", "1")
	mustPut(t, kv, "other", "1")
	_, meta, _ := kv.Get("watched", nil)

	type result struct {
		p   *api.KVPair
		idx uint64
		err error
	}
	results := make(chan result, 1)
	go func() {
		p, m, err := kv.Get("watched", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		results <- result{p, m.LastIndex, err}
	}()
	// Writes to another key must not answer the query.
	for i := 0; i < 5; i++ {
		mustPut(t, kv, "other", fmt.Sprint(i))
	}
	select {
	case r := <-results:
		t.Fatalf("blocking query on 'watched' returned after writes to 'other': %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	mustPut(t, kv, "watched", "2")
	select {
	case r := <-results:
		if r.err != nil || string(r.p.Value) != "2" || r.idx <= meta.LastIndex {
			t.Fatalf("woken query: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query did not wake on its key")
	}

	// A recursive query wakes for any key under its prefix. (The prefix
	// holds a key first: the index of an empty prefix is, as in Consul, the
	// whole tree's, which any write moves.)
	mustPut(t, kv, "dir/first", "x")
	_, meta, _ = kv.List("dir/", nil)
	done := make(chan []*api.KVPair, 1)
	go func() {
		l, _, _ := kv.List("dir/", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		done <- l
	}()
	mustPut(t, kv, "dirt", "not under dir/")
	mustPut(t, kv, "dir/deep/key", "x")
	select {
	case l := <-done:
		if len(l) != 2 || l[0].Key != "dir/deep/key" {
			t.Fatalf("recursive query woke with %v", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("recursive blocking query did not wake")
	}

	// With nothing changing, the query answers once wait has passed.
	start := time.Now()
	_, m, err := kv.Get("watched", &api.QueryOptions{WaitIndex: currentIndex(t, kv, "watched"), WaitTime: 200 * time.Millisecond})
	if err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("timed-out query: %v after %v", err, time.Since(start))
	}
	if m.LastIndex == 0 {
		t.Fatal("timed-out query without an index")
	}
}

func currentIndex(t *testing.T, kv *api.KV, key string) uint64 {
	t.Helper()
	_, m, err := kv.Get(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m.LastIndex
}

func TestDeletedKeyWakesItsWaiters(t *testing.T) {
	c, _ := newClient(t)
	kv := c.KV()
	mustPut(t, kv, "gone", "1")
	p, _, _ := kv.Get("gone", nil)
	done := make(chan *api.KVPair, 1)
	go func() {
		p, _, _ := kv.Get("gone", &api.QueryOptions{WaitIndex: p.ModifyIndex, WaitTime: time.Minute})
		done <- p
	}()
	if _, err := kv.Delete("gone", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-done:
		if p != nil {
			t.Fatalf("woken after delete with %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("delete did not wake the key's waiter")
	}
}
