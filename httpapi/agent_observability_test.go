package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/heraldhq/herald/agent/agenttest"
	"github.com/heraldhq/herald/agent/tokens"
	"github.com/heraldhq/herald/testutil/poll"
)

// TestAgentMetrics checks both formats of /v1/agent/metrics after some
// requests: Consul's MetricsInfo through the official client, and the
// Prometheus text format, parsed as Prometheus parses it.
func TestAgentMetrics(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-hcl", `telemetry { prometheus_retention_time = "1m" disable_hostname = true }`)
	c := agenttest.Client(t, a.HTTPAddr())
	if _, err := c.KV().Put(&api.KVPair{Key: "metrics/a", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, meta, err := c.KV().Get("metrics/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A blocking query that waits until the agent stops.
	go c.KV().Get("metrics/a", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})

	poll.Eventually(t, 20*time.Second, "Prometheus metrics of the KV requests", func() (bool, string) {
		fams, err := prometheusMetrics(a.HTTPAddr())
		if err != nil {
			return false, err.Error()
		}
		put := findMetric(fams, "consul_api_http", map[string]string{"method": "PUT", "path": "v1.kv._", "code": "200"})
		apply := findMetric(fams, "consul_raft_apply", map[string]string{"shard": "kv"})
		entries := findMetric(fams, "consul_state_kv_entries", nil)
		fsm := findMetric(fams, "consul_raft_fsm_apply", map[string]string{"shard": "kv"})
		blocking := findMetric(fams, "herald_http_blocking_queries", nil)
		watched := findMetric(fams, "herald_projections_watched", map[string]string{"projection": "kv"})
		lag := findMetric(fams, "herald_events_publish_lag", map[string]string{"shard": "kv"})
		switch {
		case blocking == nil || blocking.GetGauge().GetValue() < 1:
			return false, "no herald_http_blocking_queries gauge of at least 1"
		case watched == nil || watched.GetGauge().GetValue() < 1:
			return false, "no herald_projections_watched gauge of at least 1 for kv"
		case lag == nil:
			return false, "no herald_events_publish_lag gauge for kv"
		case fsm == nil || fsm.GetSummary().GetSampleCount() < 1:
			return false, "no consul_raft_fsm_apply summary for the kv shard"
		case put == nil || put.GetSummary().GetSampleCount() < 1:
			return false, "no consul_api_http summary for PUT v1.kv._ 200"
		case apply == nil || apply.GetCounter().GetValue() < 1:
			return false, "no consul_raft_apply count for the kv shard"
		case entries == nil || entries.GetGauge().GetValue() < 1:
			return false, "no consul_state_kv_entries gauge of at least 1"
		}
		return true, ""
	})

	// The in-memory sink answers from its last finished 10 s interval:
	// a GET in each try, so that every interval has one.
	poll.Eventually(t, 30*time.Second, "MetricsInfo with the KV requests", func() (bool, string) {
		if _, _, err := c.KV().Get("metrics/a", nil); err != nil {
			return false, err.Error()
		}
		info, err := c.Agent().Metrics()
		if err != nil {
			return false, err.Error()
		}
		var get, entries bool
		for _, s := range info.Samples {
			if s.Name == "consul.api.http" && s.Labels["method"] == "GET" && s.Labels["path"] == "v1.kv._" && s.Count >= 1 {
				get = true
			}
		}
		for _, g := range info.Gauges {
			if g.Name == "consul.state.kv_entries" && g.Value >= 1 {
				entries = true
			}
		}
		if info.Timestamp == "" || !get || !entries {
			return false, fmt.Sprintf("timestamp %q, GET sample %v, kv_entries gauge %v", info.Timestamp, get, entries)
		}
		return true, ""
	})
}

func prometheusMetrics(addr string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + addr + "/v1/agent/metrics?format=prometheus")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// findMetric returns the family's metric that has all the labels.
func findMetric(fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// TestAgentObservabilityDefaults covers an agent with Consul's defaults:
// no Prometheus format, no ACLs, and the monitor and host endpoints.
func TestAgentObservabilityDefaults(t *testing.T) {
	a := agenttest.Start(t, "-dev")
	c := agenttest.Client(t, a.HTTPAddr())

	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/agent/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(body), "Prometheus is not enabled since its retention time is not positive") {
		t.Errorf("prometheus format off: %s %q", resp.Status, body)
	}

	_, err = c.Agent().UpdateDefaultACLToken("secret", nil)
	if se, ok := err.(api.StatusError); !ok || se.Code != http.StatusUnauthorized || !strings.Contains(se.Body, "ACL support disabled") {
		t.Errorf("token update without ACLs: %v", err)
	}

	host, err := c.Agent().Host()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Memory", "CPU", "Host", "Disk", "CollectionTime", "Errors"} {
		if _, ok := host[k]; !ok {
			t.Errorf("host info has no %s: %v", k, host)
		}
	}
	if h, _ := host["Host"].(map[string]any); h != nil {
		if name, _ := os.Hostname(); h["hostname"] != name {
			t.Errorf("Host.hostname = %v, want %q", h["hostname"], name)
		}
	} else if errs, _ := host["Errors"].([]any); len(errs) == 0 {
		t.Errorf("no Host section and no error saying why: %v", host)
	}

	if _, err := c.Agent().Monitor("bogus", nil, nil); err == nil || !strings.Contains(err.Error(), "Unknown log level: bogus") {
		t.Errorf("monitor with a bad level: %v", err)
	}
}

// TestAgentMonitor follows the log in text and in JSON while the agent
// logs a token update.
func TestAgentMonitor(t *testing.T) {
	a := agenttest.Start(t, "-dev", "-hcl", `acl { enabled = true }`)
	c := agenttest.Client(t, a.HTTPAddr())

	stop := make(chan struct{})
	defer close(stop)
	text, err := c.Agent().Monitor("info", stop, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopJSON := make(chan struct{})
	defer close(stopJSON)
	js, err := c.Agent().MonitorJSON("info", stopJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The subscriptions exist once the answers' headers arrived, which
	// Monitor waits for; anything logged from now on reaches them.
	if _, err := c.Agent().UpdateAgentACLToken("agent-secret", nil); err != nil {
		t.Fatal(err)
	}
	waitLine(t, text, "text", func(line string) bool {
		return strings.Contains(line, `msg="Updated agent's ACL token"`) && strings.Contains(line, "token=agent")
	})
	waitLine(t, js, "JSON", func(line string) bool {
		var rec map[string]any
		return json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "Updated agent's ACL token" && rec["level"] == "INFO"
	})
}

func waitLine(t *testing.T, lines chan string, what string, match func(string) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("%s monitor stream ended without the line", what)
			}
			if match(line) {
				return
			}
		case <-deadline:
			t.Fatalf("%s monitor: no matching line within 20s", what)
		}
	}
}

// TestAgentTokens sets tokens through the official client with ACLs on and
// persistence asked for, and finds them in the data dir's token file.
func TestAgentTokens(t *testing.T) {
	dir := t.TempDir()
	// The requests carry the agent recovery token, which stays valid
	// while the others are set to secrets no token has; it is changed
	// last.
	a := agenttest.Start(t, "-server", "-bootstrap", "-data-dir="+dir,
		"-hcl", `acl { enabled = true enable_token_persistence = true tokens { agent_recovery = "rec" } }`)
	c, err := api.NewClient(&api.Config{Address: a.HTTPAddr(), Token: "rec"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agent().UpdateDefaultACLToken("d-secret", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Agent().UpdateReplicationACLToken("p-secret", nil); err != nil {
		t.Fatal(err)
	}
	// Consul's pre-1.4 name of the agent token.
	if _, err := c.Raw().Write("/v1/agent/token/acl_agent_token", &api.AgentToken{Token: "a-secret"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Raw().Write("/v1/agent/token/nope", &api.AgentToken{Token: "x"}, nil, nil)
	if se, ok := err.(api.StatusError); !ok || se.Code != http.StatusNotFound || !strings.Contains(se.Body, `Token "nope" is unknown`) {
		t.Errorf("unknown token type: %v", err)
	}
	if _, err := c.Agent().UpdateAgentRecoveryACLToken("r-secret", nil); err != nil {
		t.Fatal(err)
	}
	if a.Token(tokens.Agent) != "a-secret" || a.Token(tokens.Default) != "d-secret" {
		t.Errorf("agent tokens: agent %q default %q", a.Token(tokens.Agent), a.Token(tokens.Default))
	}
	b, err := os.ReadFile(filepath.Join(dir, tokens.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var saved map[string]string
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"default": "d-secret", "agent": "a-secret", "agent_recovery": "r-secret", "replication": "p-secret"}
	for k, v := range want {
		if saved[k] != v {
			t.Errorf("persisted %s = %q, want %q (file %s)", k, saved[k], v, b)
		}
	}
}
