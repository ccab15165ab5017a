package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/projections"
)

// catalogWith returns a catalog holding n passing instances of service,
// one per node, at index 1.
func catalogWith(service string, n int) *projections.Catalog {
	cat := projections.NewCatalog()
	var evs []event.Event
	for i := range n {
		node, id := fmt.Sprintf("n%d", i), fmt.Sprintf("%s-%d", service, i)
		evs = append(evs,
			event.Event{Type: event.NodeUpdated, Node: &event.Node{Node: node, Address: fmt.Sprintf("10.0.1.%d", i+1), Datacenter: "dc1"}},
			event.Event{Type: event.ServiceUpdated, Service: &event.Service{Node: node, ID: id, Service: service, Port: 80}})
		for _, c := range serviceCheck(health.Passing)(node, id) {
			evs = append(evs, event.Event{Type: event.CheckUpdated, Check: c})
		}
	}
	cat.Apply(1, evs)
	return cat
}

// wireGet asks path through a transport that never asks for compression,
// so the bytes on the wire are what the test sees.
func wireGet(t *testing.T, base, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return resp, body
}

// TestCachedAnswerLength: a cached answer goes out with its length, not
// chunked, the same bytes to a first request and to one served from the
// cache; Consul's API client reads it unchanged.
func TestCachedAnswerLength(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Datacenter: "dc1", Catalog: catalogWith("api", 30), Raft: leaderRaft{},
		Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()

	first, body := wireGet(t, srv.URL, "/v1/health/service/api")
	if len(body) < 4096 {
		t.Fatalf("answer of %d bytes: the test needs one larger than the connection's buffer", len(body))
	}
	again, cached := wireGet(t, srv.URL, "/v1/health/service/api?index=0")
	if !bytes.Equal(body, cached) {
		t.Fatal("the answer from the cache differs from the first")
	}
	for _, resp := range []*http.Response{first, again} {
		if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("Content-Length %d, Transfer-Encoding %v, for %d bytes", resp.ContentLength, resp.TransferEncoding, len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
	}

	client, err := api.NewClient(&api.Config{Address: srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	entries, meta, err := client.Health().Service("api", "", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 30 || meta.LastIndex != 1 {
		t.Fatalf("official client: %d entries at index %d, want 30 at 1", len(entries), meta.LastIndex)
	}
}
