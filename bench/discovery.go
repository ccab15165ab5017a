package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// This file speaks the discovery side of Consul's HTTP API: registering
// instances through the catalog, reading a service's health, registering
// services with the local agent.

// InstanceNode is the node an instance i registered by RegisterInstance
// lives on: "n0", "n1", ... Instances of different services with the same
// i share a node.
func InstanceNode(i int) string { return "n" + strconv.Itoa(i) }

// InstanceAddress is the address of InstanceNode(i), a distinct loopback
// address per node (127.0.1.0, 127.0.1.1, ..., 127.0.2.0, ...).
func InstanceAddress(i int) string {
	return fmt.Sprintf("127.0.%d.%d", 1+i/256, i%256)
}

// InstanceID is the service and check ID of instance i of service.
func InstanceID(service string, i int) string { return service + "-" + strconv.Itoa(i) }

// catalogRegistration is the body of PUT /v1/catalog/register for one
// instance with one service check.
type catalogRegistration struct {
	Node    string
	Address string
	Service struct {
		ID      string
		Service string
		Port    int
	}
	Check struct {
		CheckID   string
		Name      string
		ServiceID string
		Status    string
	}
}

// ConsulHTTP is a small client for the setup and verification steps of
// the discovery scenarios; the measured operations use workloads with their
// own connections.
type ConsulHTTP struct {
	base   string // "http://host:port"
	client *http.Client
	// Token, when set, is sent as X-Consul-Token with every request.
	Token string
}

// NewConsulHTTP returns a client for the agent at addr (host:port).
func NewConsulHTTP(addr string) *ConsulHTTP {
	return &ConsulHTTP{base: "http://" + addr, client: newClient(4)}
}

// Close releases idle connections.
func (c *ConsulHTTP) Close() { c.client.CloseIdleConnections() }

func (c *ConsulHTTP) do(ctx context.Context, method, path string, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	setToken(req, c.Token)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	out, err := drain(resp.Body, 64<<20)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, statusError(method+" "+path, resp.StatusCode, out[:min(len(out), 512)])
	}
	return resp, out, nil
}

// RegisterInstance registers instance i of service through the catalog:
// node InstanceNode(i) at InstanceAddress(i), service ID InstanceID(service,
// i) on port 8080, and one check of that ID for the service with status
// (passing, warning or critical). Registering it again with another status
// flips the check.
func (c *ConsulHTTP) RegisterInstance(ctx context.Context, service string, i int, status string) error {
	var r catalogRegistration
	r.Node, r.Address = InstanceNode(i), InstanceAddress(i)
	r.Service.ID, r.Service.Service, r.Service.Port = InstanceID(service, i), service, 8080
	r.Check.CheckID, r.Check.Name, r.Check.ServiceID, r.Check.Status = InstanceID(service, i), service+" health", InstanceID(service, i), status
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, out, err := c.do(ctx, http.MethodPut, "/v1/catalog/register", body)
	if err != nil {
		return err
	}
	if !bytes.Equal(bytes.TrimSpace(out), []byte("true")) {
		return fmt.Errorf("catalog register %s: answer %q, want true", r.Service.ID, out)
	}
	return nil
}

// RegisterInstances registers instances 0..n-1 of service, passing.
func (c *ConsulHTTP) RegisterInstances(ctx context.Context, service string, n int) error {
	for i := range n {
		if err := c.RegisterInstance(ctx, service, i, "passing"); err != nil {
			return err
		}
	}
	return nil
}

// healthEntry is the part of a /v1/health/service entry the checks read.
type healthEntry struct {
	Service struct{ ID string }
	Checks  []struct{ Status string }
}

// HealthService reads /v1/health/service/<service> and returns its
// entries, how many of them have every check passing, and the
// X-Consul-Index.
func (c *ConsulHTTP) HealthService(ctx context.Context, service string) (entries, passing int, index uint64, err error) {
	resp, out, err := c.do(ctx, http.MethodGet, "/v1/health/service/"+service, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	var list []healthEntry
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, 0, 0, fmt.Errorf("health of %s: %w", service, err)
	}
	for _, e := range list {
		ok := true
		for _, ch := range e.Checks {
			ok = ok && ch.Status == "passing"
		}
		if ok {
			passing++
		}
	}
	index, err = consulIndex(resp)
	return len(list), passing, index, err
}

// CatalogCount returns how many instances of service the catalog holds
// (GET /v1/catalog/service/<service>).
func (c *ConsulHTTP) CatalogCount(ctx context.Context, service string) (int, error) {
	_, out, err := c.do(ctx, http.MethodGet, "/v1/catalog/service/"+service, nil)
	if err != nil {
		return 0, err
	}
	var list []struct{ ServiceID string }
	if err := json.Unmarshal(out, &list); err != nil {
		return 0, fmt.Errorf("catalog of %s: %w", service, err)
	}
	return len(list), nil
}

// Ping times one GET /v1/status/leader, the cheapest request an agent
// answers.
func (c *ConsulHTTP) Ping(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	_, _, err := c.do(ctx, http.MethodGet, "/v1/status/leader", nil)
	return time.Since(t0), err
}

// consulIndex reads a response's X-Consul-Index.
func consulIndex(resp *http.Response) (uint64, error) {
	raw := resp.Header.Get("X-Consul-Index")
	i, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || i == 0 {
		return 0, fmt.Errorf("X-Consul-Index %q: want a positive integer", raw)
	}
	return i, nil
}

// HealthWorkload returns a Workload reading /v1/health/service/<service>
// on the agent at addr: each client keeps one keep-alive connection, and an
// answer counts when it is 200 and holds want entries (counted on the raw
// body, without decoding it, to keep the client cheap).
func HealthWorkload(addr, service string, want, concurrency int, duration time.Duration) Workload {
	url := "http://" + addr + "/v1/health/service/" + service
	// Every entry starts with its node object, and nothing else in an
	// entry starts that way.
	marker := []byte(`{"Node":{`)
	return Workload{
		Name:        "health",
		Concurrency: concurrency,
		Duration:    duration,
		NewClient: func(int) (func(context.Context, int) error, func(), error) {
			client := newClient(1)
			var buf bytes.Buffer
			op := func(ctx context.Context, _ int) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					return err
				}
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return statusError("health", resp.StatusCode, buf.Bytes()[:min(buf.Len(), 512)])
				}
				if n := bytes.Count(buf.Bytes(), marker); n != want {
					return fmt.Errorf("health of %s: %d entries, want %d", service, n, want)
				}
				return nil
			}
			return op, client.CloseIdleConnections, nil
		},
	}
}

// registerClients numbers the clients of every RegisterWorkload run in the
// process, so that IDs stay distinct across runs (warm-up, slices).
var registerClients atomic.Int64

// RegisterWorkload returns a Workload registering services with the agent
// at addr (PUT /v1/agent/service/register), each with a distinct ID
// "<name>-<client>-<seq>" (client numbered across every run in the
// process) and a TTL check that starts passing and lasts 10
// minutes, so that it does not expire during a run. Each client keeps one
// keep-alive connection; a registration counts when answered 200.
func RegisterWorkload(addr, name string, concurrency int, duration time.Duration) Workload {
	url := "http://" + addr + "/v1/agent/service/register"
	return Workload{
		Name:        "register",
		Concurrency: concurrency,
		Duration:    duration,
		NewClient: func(int) (func(context.Context, int) error, func(), error) {
			hc := newClient(1)
			prefix := name + "-" + strconv.FormatInt(registerClients.Add(1), 10) + "-"
			var body []byte
			op := func(ctx context.Context, seq int) error {
				id := prefix + strconv.Itoa(seq)
				body = append(body[:0], `{"ID":"`...)
				body = append(body, id...)
				body = append(body, `","Name":"`...)
				body = append(body, name...)
				body = append(body, `","Port":8080,"Check":{"CheckID":"`...)
				body = append(body, id...)
				body = append(body, `-ttl","TTL":"10m","Status":"passing"}}`...)
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
				if err != nil {
					return err
				}
				resp, err := hc.Do(req)
				if err != nil {
					return err
				}
				out, err := drain(resp.Body, 512)
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return statusError("register", resp.StatusCode, out)
				}
				return nil
			}
			return op, hc.CloseIdleConnections, nil
		},
	}
}
