package wan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/heraldhq/herald/testutil/poll"
)

func startGateway(t *testing.T, name, secret string) *Gateway {
	t.Helper()
	g, err := StartGateway(GatewayConfig{Name: name, Host: "127.0.0.1", Advertise: "127.0.0.1", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Shutdown)
	return g
}

func addr(g *Gateway) string { return fmt.Sprintf("127.0.0.1:%d", g.Port()) }

// remote is g as a remote gateway of a server of datacenter dc.
func remote(g *Gateway, dc string) Remote { return Remote{Addr: addr(g), Datacenter: dc} }

// Two gateways that know of each other link both ways; a request on one
// is answered by a handler on the other, its headers and body kept; a
// subject nobody serves is ErrNoPath at once.
func TestGatewaysCarryRequests(t *testing.T) {
	secret := GatewaySecret("a gossip key")
	g1, g2 := startGateway(t, "s1_dc1", secret), startGateway(t, "s2_dc2", secret)
	// Only g1 is told of g2: g2 learns of g1 when g1 connects.
	if err := g1.SetRemotes(map[string]Remote{"s2_dc2": remote(g2, "dc2"), "s1_dc1": remote(g1, "dc1")}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Second, "the gateways linked both ways", func() (bool, string) {
		return g1.Linked()["s2_dc2"] && g2.Linked()["s1_dc1"], fmt.Sprint(g1.Linked(), g2.Linked())
	})
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Index", "7")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "%s %s token=%s from=%s", r.Method, r.URL.RequestURI(), r.Header.Get("X-Consul-Token"), r.RemoteAddr)
	})
	stop, err := ServeHTTP(g2.Conn(), SubjectHTTP("dc2"), func(req *HTTPRequest) *HTTPResponse {
		return Replay(context.Background(), api, req)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	r := httptest.NewRequest("PUT", "/v1/kv/a?dc=dc2", nil)
	r.Header.Set("X-Consul-Token", "t1")
	r.RemoteAddr = "10.0.0.9:1234"
	req, err := NewHTTPRequest(r, "dc2")
	if err != nil {
		t.Fatal(err)
	}
	var resp *HTTPResponse
	poll.Eventually(t, 10*time.Second, "the request answered by dc2", func() (bool, string) {
		resp, err = Send(context.Background(), g1.Conn(), SubjectHTTP("dc2"), req)
		return err == nil, fmt.Sprint(err)
	})
	want := "PUT /v1/kv/a?dc=dc2 token=t1 from=10.0.0.9:1234"
	if resp.Status != http.StatusCreated || resp.Header.Get("X-Consul-Index") != "7" || string(resp.Body) != want {
		t.Errorf("answer %d %v %q, want 201, index 7, %q", resp.Status, resp.Header, resp.Body, want)
	}
	if _, err := Send(context.Background(), g1.Conn(), SubjectHTTP("dc3"), req); !errors.Is(err, ErrNoPath) {
		t.Errorf("a datacenter nobody serves: %v, want ErrNoPath", err)
	}
}

// A gateway with another secret is not let in: configured with both, a
// gateway links with the one that shares its secret and not the other.
func TestGatewaySecret(t *testing.T) {
	g1, other, same := startGateway(t, "a", GatewaySecret("k1")), startGateway(t, "b", GatewaySecret("k2")),
		startGateway(t, "c", GatewaySecret("k1"))
	if err := g1.SetRemotes(map[string]Remote{"b": remote(other, "dc2"), "c": remote(same, "dc3")}); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Second, "the gateways with the same secret linked", func() (bool, string) {
		return g1.Linked()["c"], fmt.Sprint(g1.Linked())
	})
	if g1.Linked()["b"] || other.Linked()["a"] {
		t.Error("gateways with different gossip keys linked")
	}
	if GatewaySecret("") != "" || GatewaySecret("k1") == GatewaySecret("k2") {
		t.Error("GatewaySecret: empty without a key, different for different keys")
	}
}

func TestTimeout(t *testing.T) {
	for q, want := range map[string]time.Duration{
		"":                     requestTimeout,
		"index=5":              5*time.Minute + 5*time.Minute/16 + 5*time.Second,
		"index=5&wait=10s":     10*time.Second + 10*time.Second/16 + 5*time.Second,
		"index=5&wait=1h":      10*time.Minute + 10*time.Minute/16 + 5*time.Second,
		"wait=10s":             requestTimeout,
		"index=5&wait=garbage": 5*time.Minute + 5*time.Minute/16 + 5*time.Second,
	} {
		v, _ := url.ParseQuery(q)
		if got := Timeout(v); got != want {
			t.Errorf("Timeout(%q) = %v, want %v", q, got, want)
		}
	}
	if got := GatewayName("n1.dc-2 x"); got != "n1_dc-2_x" {
		t.Errorf("GatewayName = %q", got)
	}
}
