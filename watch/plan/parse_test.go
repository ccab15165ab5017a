package plan_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/watch/plan"
)

func TestParseValid(t *testing.T) {
	for _, tt := range []struct {
		name string
		def  map[string]any
		want plan.Plan
	}{
		{"key with datacenter and token",
			map[string]any{"type": "key", "key": "a/b", "datacenter": "dc2", "token": "t", "stale": true},
			plan.Plan{Type: "key", Key: "a/b", Datacenter: "dc2", Token: "t", Stale: true}},
		{"keyprefix", map[string]any{"type": "keyprefix", "prefix": "a/"},
			plan.Plan{Type: "keyprefix", Prefix: "a/"}},
		{"service, one tag, passingonly as a string",
			map[string]any{"type": "service", "service": "web", "tag": "v1", "passingonly": "true"},
			plan.Plan{Type: "service", Service: "web", Tags: []string{"v1"}, PassingOnly: true}},
		{"service, tag list, filter",
			map[string]any{"type": "service", "service": "web", "tag": []any{"a", "b"}, "filter": `Service.Port == 80`},
			plan.Plan{Type: "service", Service: "web", Tags: []string{"a", "b"}, Filter: `Service.Port == 80`}},
		{"checks by state", map[string]any{"type": "checks", "state": "critical"},
			plan.Plan{Type: "checks", State: "critical"}},
		{"checks by service", map[string]any{"type": "checks", "service": "web"},
			plan.Plan{Type: "checks", Service: "web"}},
		{"event", map[string]any{"type": "event", "name": "deploy"}, plan.Plan{Type: "event", Name: "deploy"}},
		{"services, keys in other spellings", map[string]any{"Type": "services", "DataCenter": "dc1"},
			plan.Plan{Type: "services", Datacenter: "dc1"}},
		{"nodes", map[string]any{"type": "nodes"}, plan.Plan{Type: "nodes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := plan.Parse(tt.def)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*p, tt.want) {
				t.Errorf("got %+v\nwant %+v", *p, tt.want)
			}
		})
	}
}

func TestParseHandlers(t *testing.T) {
	p, err := plan.Parse(map[string]any{"type": "nodes", "handler_type": "script", "args": []any{"/bin/echo", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := p.Handler.(*plan.ScriptHandler); !ok || !reflect.DeepEqual(h.Args, []string{"/bin/echo", "x"}) || h.Script != "" {
		t.Errorf("args handler: %#v", p.Handler)
	}

	p, err = plan.Parse(map[string]any{"type": "nodes", "handler": "echo x | cat"})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := p.Handler.(*plan.ScriptHandler); !ok || h.Script != "echo x | cat" || h.Args != nil {
		t.Errorf("handler line: %#v", p.Handler)
	}

	p, err = plan.Parse(map[string]any{"type": "nodes", "handler_type": "http", "http_handler_config": map[string]any{
		"path": "https://hooks.example/x", "method": "put",
		"header":  map[string]any{"A": []any{"1", "2"}, "B": "3"},
		"timeout": "3s", "tls_skip_verify": true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	h, ok := p.Handler.(*plan.HTTPHandler)
	if !ok {
		t.Fatalf("http handler: %#v", p.Handler)
	}
	wantHeader := http.Header{"A": {"1", "2"}, "B": {"3"}}
	if h.URL != "https://hooks.example/x" || h.Method != "PUT" || h.Timeout != 3*time.Second ||
		!h.TLSSkipVerify || !reflect.DeepEqual(h.Header, wantHeader) {
		t.Errorf("http handler: %+v", h)
	}

	p, err = plan.Parse(map[string]any{"type": "nodes"})
	if err != nil || p.Handler != nil {
		t.Errorf("no handler keys: handler %#v, error %v", p.Handler, err)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tt := range []struct {
		def  map[string]any
		want string
	}{
		{map[string]any{}, "watch type missing"},
		{map[string]any{"type": "kv"}, `unsupported watch type "kv"`},
		{map[string]any{"type": 3}, `"type": must be a string`},
		{map[string]any{"type": "key"}, `requires "key"`},
		{map[string]any{"type": "keyprefix"}, `requires "prefix"`},
		{map[string]any{"type": "service"}, `requires "service"`},
		{map[string]any{"type": "key", "key": "a", "prefix": "b"}, "invalid parameters for the key watch type: prefix"},
		{map[string]any{"type": "services", "service": "x", "bogus": 1}, "invalid parameters for the services watch type: bogus, service"},
		{map[string]any{"type": "event", "filter": "x"}, "invalid parameters for the event watch type: filter"},
		{map[string]any{"type": "checks", "service": "a", "state": "passing"}, `"service" or "state", not both`},
		{map[string]any{"type": "checks", "state": "sad"}, `invalid check state "sad"`},
		{map[string]any{"type": "service", "service": "a", "passingonly": "maybe"}, "must be true or false"},
		{map[string]any{"type": "service", "service": "a", "tag": []any{1}}, "list of strings"},
		{map[string]any{"type": "nodes", "key": "x", "Key": "y"}, "given twice"},
		{map[string]any{"type": "nodes", "handler_type": "email"}, `handler type "email" not recognized`},
		{map[string]any{"type": "nodes", "handler_type": "script"}, `needs "args"`},
		{map[string]any{"type": "nodes", "args": []any{"a"}, "handler": "b"}, "not both"},
		{map[string]any{"type": "nodes", "handler_type": "http"}, "needs http_handler_config"},
		{map[string]any{"type": "nodes", "handler_type": "http", "args": []any{"a"},
			"http_handler_config": map[string]any{"path": "http://x"}}, `not "args"`},
		{map[string]any{"type": "nodes", "args": []any{"a"},
			"http_handler_config": map[string]any{"path": "http://x"}}, `needs handler_type "http"`},
		{map[string]any{"type": "nodes", "handler_type": "http", "http_handler_config": map[string]any{}}, `needs "path"`},
		{map[string]any{"type": "nodes", "handler_type": "http",
			"http_handler_config": map[string]any{"path": "http://x", "timeout": 10}}, "duration"},
		{map[string]any{"type": "nodes", "handler_type": "http",
			"http_handler_config": map[string]any{"path": "http://x", "retries": 1}}, "unknown key"},
	} {
		_, err := plan.Parse(tt.def)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%v) = %v, want an error containing %q", tt.def, err, tt.want)
		}
	}
}

func TestRunRefusesInvalidPlans(t *testing.T) {
	for _, p := range []*plan.Plan{
		{Type: "key"},
		{Type: "nodes"}, // no handler
	} {
		if err := p.Run(t.Context(), nil); err == nil {
			t.Errorf("Run(%+v) = nil, want an error", p)
		}
	}
}
