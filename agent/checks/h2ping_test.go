package checks

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// h2cServer serves HTTP/2 in clear text (prior knowledge) on l.
func h2cServer(l net.Listener) *http.Server {
	srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(l)
	return srv
}

func TestH2PingFlips(t *testing.T) {
	const interval = 100 * time.Millisecond
	l := listenOn(t, "tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	srv := h2cServer(l)
	r, rec := newTestRunner(t, Config{})
	if err := r.Add(Definition{CheckID: "h2", H2Ping: addr, Interval: interval}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "h2", "passing", interval+slack); out != "HTTP2 ping was successful" {
		t.Errorf("passing output %q", out)
	}
	srv.Close()
	waitStatus(t, r, "h2", "critical", interval+slack)
	srv = h2cServer(listenOn(t, "tcp", addr))
	defer srv.Close()
	waitStatus(t, r, "h2", "passing", interval+slack)
	r.Remove("h2")
	if got := strings.Join(rec.transitions("h2"), " "); got != "passing critical passing" {
		t.Errorf("reported %s", got)
	}
}

// TestH2PingNeedsHTTP2: a server speaking only HTTP/1.1 fails the check.
func TestH2PingNeedsHTTP2(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	r, _ := newTestRunner(t, Config{})
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := r.Add(Definition{CheckID: "h1", H2Ping: addr, Interval: 100 * time.Millisecond, Status: "passing"}); err != nil {
		t.Fatal(err)
	}
	if out := waitStatus(t, r, "h1", "critical", slack); !strings.Contains(out, "HTTP2 ping to "+addr+" failed") {
		t.Errorf("output %q", out)
	}
}

func TestH2PingTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing checks' handshakes
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	r, _ := newTestRunner(t, Config{})
	for _, d := range []Definition{
		{CheckID: "skip", H2Ping: addr, H2PingUseTLS: true, TLSSkipVerify: true, Interval: time.Second},
		{CheckID: "verify", H2Ping: addr, H2PingUseTLS: true, Interval: time.Second, Status: "passing"},
		{CheckID: "h2c-to-tls", H2Ping: addr, Interval: time.Second, Timeout: 200 * time.Millisecond, Status: "passing"},
	} {
		if err := r.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, r, "skip", "passing", slack)
	if out := waitStatus(t, r, "verify", "critical", slack); !strings.Contains(out, "certificate") {
		t.Errorf("verification failure output %q", out)
	}
	waitStatus(t, r, "h2c-to-tls", "critical", slack)
}
