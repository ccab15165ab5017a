package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/projections"
	"github.com/heraldhq/herald/testutil/poll"
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

// TestCachedAnswerGzipped: a client that accepts gzip, as Go's HTTP client
// and so the official Consul client do by default, gets a large cached
// answer gzipped, with its length and Vary: Accept-Encoding, and the same
// JSON once decompressed, first and from the cache; a client that does not
// (no header, or gzip;q=0) gets it plain; a small answer is never gzipped.
func TestCachedAnswerGzipped(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Datacenter: "dc1", Catalog: catalogWith("api", 30), Raft: leaderRaft{},
		Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	get := func(path, acceptEncoding string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
		}
		return resp, body
	}
	_, plain := get("/v1/health/service/api", "")
	for _, path := range []string{"/v1/health/service/api", "/v1/health/service/api?index=0"} {
		resp, body := get(path, "deflate, gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != int64(len(body)) ||
			!slices.Contains(resp.Header.Values("Vary"), "Accept-Encoding") {
			t.Fatalf("%s with gzip accepted: Content-Encoding %q, Content-Length %d for %d bytes, Vary %q",
				path, resp.Header.Get("Content-Encoding"), resp.ContentLength, len(body), resp.Header.Values("Vary"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(unzipped, plain) {
			t.Fatalf("%s: gunzipped answer differs from the plain one (%v)", path, err)
		}
		if len(body) >= len(plain)/2 {
			t.Errorf("%s: gzipped %d bytes of %d", path, len(body), len(plain))
		}
	}
	for _, refused := range []string{"", "identity", "gzip;q=0", "br"} {
		if resp, body := get("/v1/health/service/api", refused); resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, plain) {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", refused, resp.Header.Get("Content-Encoding"))
		}
	}
	if resp, _ := get("/v1/catalog/services", "gzip"); resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("a small answer gzipped")
	}

	client, err := api.NewClient(&api.Config{Address: srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	entries, _, err := client.Health().Service("api", "", true, nil)
	if err != nil || len(entries) != 30 {
		t.Fatalf("official client (gzip accepted by default): %d entries, %v", len(entries), err)
	}
}

// TestCachedAnswerFollowsTokenView: an answer cached for a token is not
// served to it once its rights changed, even when the data's index did
// not move: the cache is keyed on the token's view (its authorizer), as
// the DNS answer cache is, not on its accessor alone.
func TestCachedAnswerFollowsTokenView(t *testing.T) {
	a, table := startACLAgent(t)
	admin := aclClient(t, a, managementSecret)
	for _, name := range []string{"web", "api"} {
		if _, err := admin.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.0.0.1",
			Service: &api.AgentService{ID: name, Service: name, Port: 80}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	app := aclClient(t, a, appSecret)
	var index uint64
	poll.Eventually(t, 10*time.Second, "app sees web alone", func() (bool, string) {
		services, meta, err := app.Catalog().Services(nil)
		if err != nil {
			return false, err.Error()
		}
		if _, ok := services["web"]; !ok || len(services) != 1 {
			return false, fmt.Sprintf("services %v", services)
		}
		index = meta.LastIndex
		return true, ""
	})

	// The app token is granted every service; the catalog does not change.
	table.mu.Lock()
	id := table.ids[appSecret]
	id.Authorizer = prefixRulesAuthorizer{acl.ResourceService: {"": acl.Read}, acl.ResourceNode: {"": acl.Read}}
	table.ids[appSecret] = id
	table.mu.Unlock()

	services, meta, err := app.Catalog().Services(nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta.LastIndex != index {
		t.Fatalf("the catalog moved from %d to %d: the test needs it still", index, meta.LastIndex)
	}
	if _, ok := services["api"]; !ok {
		t.Fatalf("after the grant the token still gets the answer cached for its old rights: %v", services)
	}

	// And back: a right taken away takes what it showed out of the answer.
	table.mu.Lock()
	id.Authorizer = prefixRulesAuthorizer{acl.ResourceService: {"web": acl.Read}, acl.ResourceNode: {"": acl.Read}}
	table.ids[appSecret] = id
	table.mu.Unlock()
	if services, _, err = app.Catalog().Services(nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := services["api"]; ok {
		t.Fatalf("after the right was taken away the token still sees api: %v", services)
	}
}
