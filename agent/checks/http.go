package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/heraldhq/herald/event"
)

// userAgent is what HTTP checks send unless the definition sets one.
// Applications and their access-log filters recognise Consul's health
// checks by it, and Herald replaces Consul.
const userAgent = "Consul Health Check"

// httpProber runs HTTP checks: 2xx is passing, 429 Too Many Requests is
// warning, and any other response, or none, is critical.
type httpProber struct {
	def    Definition
	client *http.Client
}

func newHTTPProber(d Definition) *httpProber {
	tr := &http.Transport{
		DialContext: (&net.Dialer{}).DialContext,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: d.TLSSkipVerify,
			ServerName:         d.TLSServerName,
		},
		// Every probe opens a fresh connection: a kept-alive one would
		// test an old accept, not whether the server still takes new
		// connections.
		DisableKeepAlives: true,
		// Setting TLSClientConfig turns HTTP/2 off unless asked for.
		ForceAttemptHTTP2: true,
		// No proxy from the environment: a check probes the service
		// itself, usually on this host.
	}
	client := &http.Client{Transport: tr}
	if d.DisableRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}
	}
	return &httpProber{def: d, client: client}
}

func (p *httpProber) probe(ctx context.Context) (string, string) {
	var body io.Reader
	if p.def.Body != "" {
		body = strings.NewReader(p.def.Body)
	}
	req, err := http.NewRequestWithContext(ctx, p.def.Method, p.def.HTTP, body)
	if err != nil {
		return event.HealthCritical, err.Error()
	}
	for k, vs := range p.def.Header {
		if http.CanonicalHeaderKey(k) == "Host" {
			// Go sends req.Host, not a Host header.
			if len(vs) > 0 {
				req.Host = vs[0]
			}
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "text/plain, text/*, */*")
	}

	resp, err := p.client.Do(req)
	if err != nil {
		return event.HealthCritical, err.Error()
	}
	defer resp.Body.Close()
	// Whatever arrived before an error or the cap is still worth showing;
	// the status code decides, not the body.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, int64(p.def.OutputMaxSize)))
	output := fmt.Sprintf("HTTP %s %s: %s Output: %s", p.def.Method, p.def.HTTP, resp.Status, b)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return event.HealthPassing, output
	case resp.StatusCode == http.StatusTooManyRequests:
		return event.HealthWarning, output
	default:
		return event.HealthCritical, output
	}
}
