package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/miekg/dns"
	"github.com/nats-io/nats.go"

	"github.com/heraldhq/herald/agent/wan"
	"github.com/heraldhq/herald/dnsserver"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/preparedquery"
)

// Requests for another datacenter (?dc=, DNS names with a datacenter)
// travel as NATS requests: from a server, through its gateway to a server
// of that datacenter; from a client agent, first to a server of its own
// datacenter on the relay subjects, which sends them on.

// relaySubjectHTTP and relaySubjectDNS are where a client agent hands its
// servers a request for a datacenter: subjects of its own datacenter's
// RPC (herald.<dc>.rpc.wan.<verb>), which its credentials may send to.
func relaySubjectHTTP(dc string) string { return "herald." + dc + ".rpc.wan.http" }
func relaySubjectDNS(dc string) string  { return "herald." + dc + ".rpc.wan.dns" }

// errNoServersYet is a client agent's answer before it reaches a server.
var errNoServersYet = errors.New("No known Consul servers")

// Forward answers r, a request for dc, with the answer of a server of dc
// (httpapi.Remote).
func (a *Agent) Forward(w http.ResponseWriter, r *http.Request, dc string) {
	req, err := wan.NewHTTPRequest(r, dc)
	if err != nil {
		wan.Failure(err.Error()).Write(w)
		return
	}
	resp := a.forwardHTTP(r.Context(), req)
	if a.translateWANTo(dc) {
		translateHTTP(r.URL.Path, r.URL.Query().Has("pretty"), resp)
	}
	resp.Write(w)
}

// forwardHTTP sends req to its datacenter, through this agent's servers
// on a client agent.
func (a *Agent) forwardHTTP(ctx context.Context, req *wan.HTTPRequest) *wan.HTTPResponse {
	if a.client != nil {
		nc := a.clientNATS.Load()
		if nc == nil {
			return wan.Failure(errNoServersYet.Error())
		}
		resp, err := wan.Send(ctx, nc, relaySubjectHTTP(a.cfg.Datacenter), req)
		if errors.Is(err, wan.ErrNoPath) {
			return wan.Failure(errNoServersYet.Error())
		}
		if err != nil {
			return wan.Failure(err.Error())
		}
		return resp
	}
	if req.Datacenter == a.cfg.Datacenter {
		return a.replay(ctx, req)
	}
	if a.wan.gateway == nil || !a.knownDatacenter(req.Datacenter) || !a.reachable(req.Datacenter) {
		return wan.Failure(wan.NoPath)
	}
	ctx, stop := a.whileLinked(ctx, req.Datacenter)
	defer stop()
	resp, err := wan.Send(ctx, a.wan.gateway.Conn(), wan.SubjectHTTP(req.Datacenter), req)
	if errors.Is(err, wan.ErrNoPath) || err != nil && linkLost(ctx) {
		return wan.Failure(wan.NoPath)
	}
	if err != nil {
		return wan.Failure(err.Error())
	}
	return resp
}

// replay answers a request for this datacenter with this agent's API.
func (a *Agent) replay(ctx context.Context, req *wan.HTTPRequest) *wan.HTTPResponse {
	api := a.api
	if api == nil {
		return wan.Failure("the server is starting")
	}
	if req.Query != nil {
		ctx = httpapi.WithQueryDefinition(ctx, req.Query)
	}
	return wan.Replay(ctx, api, req)
}

// ExecuteQuery executes q in datacenter dc for a prepared query's
// failover, with r's headers (its token) and ?limit
// (httpapi.QueryExecutor).
func (a *Agent) ExecuteQuery(ctx context.Context, dc string, r *http.Request, q *event.PreparedQuery) (int, []byte) {
	id := q.ID
	if id == "" {
		id = q.Name
	}
	u := url.URL{Path: "/v1/query/" + id + "/execute"}
	if limit := r.URL.Query().Get("limit"); limit != "" {
		u.RawQuery = url.Values{"limit": {limit}}.Encode()
	}
	resp := a.forwardHTTP(ctx, &wan.HTTPRequest{Datacenter: dc, Method: http.MethodGet, URL: u.RequestURI(),
		Header: r.Header.Clone(), Timeout: wan.Timeout(nil), Query: q})
	if a.translateWANTo(dc) {
		translateHTTP(u.Path, false, resp)
	}
	return resp.Status, resp.Body
}

// relayDatacenters is a client agent's /v1/catalog/datacenters: its
// servers' list.
func (a *Agent) relayDatacenters(ctx context.Context) ([]string, error) {
	resp := a.forwardHTTP(ctx, &wan.HTTPRequest{Datacenter: a.cfg.Datacenter, Method: http.MethodGet,
		URL: "/v1/catalog/datacenters", Timeout: wan.Timeout(nil)})
	if resp.Status != http.StatusOK {
		return nil, errors.New(string(resp.Body))
	}
	var dcs []string
	if err := json.Unmarshal(resp.Body, &dcs); err != nil {
		return nil, err
	}
	return dcs, nil
}

func (a *Agent) forwardDNS(ctx context.Context, req *wan.DNSRequest) (*dns.Msg, error) {
	if a.client != nil {
		nc := a.clientNATS.Load()
		if nc == nil {
			return nil, errNoServersYet
		}
		return wan.SendDNS(ctx, nc, relaySubjectDNS(a.cfg.Datacenter), req)
	}
	if req.Datacenter == a.cfg.Datacenter {
		return a.answerDNS(req)
	}
	if a.wan.gateway == nil || !a.knownDatacenter(req.Datacenter) || !a.reachable(req.Datacenter) {
		return nil, wan.ErrNoPath
	}
	ctx, stop := a.whileLinked(ctx, req.Datacenter)
	defer stop()
	m, err := wan.SendDNS(ctx, a.wan.gateway.Conn(), wan.SubjectDNS(req.Datacenter), req)
	if err != nil && linkLost(ctx) {
		return nil, wan.ErrNoPath
	}
	return m, err
}

// ForwardDNS answers a DNS query for dc with the answer of a server of dc
// (dnsserver.Config.Remote).
func (a *Agent) ForwardDNS(dc string, req *dns.Msg, tcp bool) (*dns.Msg, error) {
	if a.translateWANTo(dc) {
		req = req.Copy()
		markDNSTranslate(req)
	}
	packed, err := req.Pack()
	if err != nil {
		return nil, err
	}
	m, err := a.forwardDNS(context.Background(), &wan.DNSRequest{Datacenter: dc, Msg: packed, TCP: tcp})
	if err != nil && err.Error() == wan.NoPath {
		return nil, fmt.Errorf("%w: %s", dnsserver.ErrNoPath, dc)
	}
	return m, err
}

// answerDNS answers a query for this datacenter with this agent's DNS
// interface.
func (a *Agent) answerDNS(req *wan.DNSRequest) (*dns.Msg, error) {
	d := a.dns
	if d == nil {
		return nil, errors.New("the DNS interface of the datacenter's server is off")
	}
	m := new(dns.Msg)
	if err := m.Unpack(req.Msg); err != nil {
		return nil, err
	}
	translate := takeDNSTranslate(m)
	if req.Query != nil {
		// Another datacenter's query failing over here: its definition,
		// against this datacenter's catalog.
		cfg := a.wan.dnsConfig
		cfg.Catalog = dnsserver.FromProjectionWithQuery(a.catalog, req.Query)
		if authorizer := a.dnsAuthorizer(); authorizer != nil {
			cfg.Catalog = dnsserver.WithACL(cfg.Catalog, authorizer)
		}
		if translate {
			cfg.Catalog = dnsserver.WithWANAddresses(cfg.Catalog)
		}
		cfg.QueryFailover = nil
		var err error
		if d, err = dnsserver.New(cfg); err != nil {
			return nil, err
		}
	} else if translate {
		var err error
		if d, err = a.translatingDNS(); err != nil {
			return nil, err
		}
	}
	return d.Answer(m, req.TCP), nil
}

// dnsQueryFailover answers a prepared query's DNS question from the
// datacenters the query fails over to, in preparedquery.FailoverTargets'
// order (dnsserver.Config.QueryFailover).
func (a *Agent) dnsQueryFailover(q *event.PreparedQuery, question dns.Question) (*dns.Msg, bool) {
	ctx := context.Background()
	known, err := a.Datacenters(ctx)
	if err != nil {
		a.log.Warn("prepared query failover: no datacenters", "query", q.Name, "error", err)
	}
	req := new(dns.Msg)
	req.SetQuestion(question.Name, question.Qtype)
	packed, err := req.Pack()
	if err != nil {
		return nil, false
	}
	for _, dc := range preparedquery.FailoverTargets(q, a.cfg.Datacenter, known) {
		msg := packed
		if a.translateWANTo(dc) {
			marked := req.Copy()
			markDNSTranslate(marked)
			if msg, err = marked.Pack(); err != nil {
				return nil, false
			}
		}
		// Over "TCP", so that the other datacenter leaves the answer
		// whole: this one's DNS interface fits it to its client.
		m, err := a.forwardDNS(ctx, &wan.DNSRequest{Datacenter: dc, Msg: msg, TCP: true, Query: q})
		if err != nil {
			a.log.Warn("prepared query failover: no answer", "query", q.Name, "datacenter", dc, "error", err)
			continue
		}
		if len(m.Answer) > 0 {
			return m, true
		}
	}
	return nil, false
}

func dnsResponse(m *dns.Msg, err error) *wan.DNSResponse {
	if err != nil {
		return &wan.DNSResponse{Error: err.Error()}
	}
	packed, err := m.Pack()
	if err != nil {
		return &wan.DNSResponse{Error: err.Error()}
	}
	return &wan.DNSResponse{Msg: packed}
}

// serveWAN answers the other datacenters' requests for this one, on the
// gateway.
func (a *Agent) serveWAN() (func(), error) {
	conn := a.wan.gateway.Conn()
	stopHTTP, err := wan.ServeHTTP(conn, wan.SubjectHTTP(a.cfg.Datacenter), func(req *wan.HTTPRequest) *wan.HTTPResponse {
		return a.replay(context.Background(), req)
	}, a.log)
	if err != nil {
		return nil, err
	}
	stopDNS, err := wan.ServeDNS(conn, wan.SubjectDNS(a.cfg.Datacenter), func(req *wan.DNSRequest) *wan.DNSResponse {
		return dnsResponse(a.answerDNS(req))
	}, a.log)
	if err != nil {
		stopHTTP()
		return nil, err
	}
	stopEvents, err := a.serveEvents(conn, wan.SubjectEvents(a.cfg.Datacenter))
	if err != nil {
		stopHTTP()
		stopDNS()
		return nil, err
	}
	return func() { stopHTTP(); stopDNS(); stopEvents() }, nil
}

// serveRelay answers the client agents' requests for any datacenter, on
// this server's NATS.
func (a *Agent) serveRelay() (func(), error) {
	conn := a.natsConn
	if conn == nil {
		return func() {}, nil
	}
	return serveRelayOn(conn, a)
}

func serveRelayOn(conn *nats.Conn, a *Agent) (func(), error) {
	stopHTTP, err := wan.ServeHTTP(conn, relaySubjectHTTP(a.cfg.Datacenter), func(req *wan.HTTPRequest) *wan.HTTPResponse {
		return a.forwardHTTP(context.Background(), req)
	}, a.log)
	if err != nil {
		return nil, err
	}
	stopDNS, err := wan.ServeDNS(conn, relaySubjectDNS(a.cfg.Datacenter), func(req *wan.DNSRequest) *wan.DNSResponse {
		return dnsResponse(a.forwardDNS(context.Background(), req))
	}, a.log)
	if err != nil {
		stopHTTP()
		return nil, err
	}
	stopEvents, err := a.serveEvents(conn, relaySubjectEvents(a.cfg.Datacenter))
	if err != nil {
		stopHTTP()
		stopDNS()
		return nil, err
	}
	return func() { stopHTTP(); stopDNS(); stopEvents() }, nil
}
