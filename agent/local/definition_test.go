package local

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func doc(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Consul accepts the API's CamelCase, config files' snake_case and any
// case in between; all must decode to the same definition.
func TestDecodeCheckSpellings(t *testing.T) {
	want, err := DecodeCheck(doc(t, `{"CheckID": "c1", "Name": "web", "HTTP": "http://x/health", "Interval": "10s",
		"Timeout": "2s", "DeregisterCriticalServiceAfter": "90s", "Header": {"X-Token": ["a"]}, "FailuresBeforeCritical": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`{"id": "c1", "name": "web", "http": "http://x/health", "interval": "10s", "timeout": "2s",
		  "deregister_critical_service_after": "90s", "header": {"X-Token": ["a"]}, "failures_before_critical": 3}`,
		`{"check_id": "c1", "name": "web", "http": "http://x/health", "interval": 10000000000, "timeout": "2s",
		  "deregistercriticalserviceafter": "90s", "Header": {"X-Token": ["a"]}, "FAILURES_BEFORE_CRITICAL": 3}`,
	} {
		got, err := DecodeCheck(doc(t, s))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s\n got %+v\nwant %+v", s, got, want)
		}
	}
	if time.Duration(want.Interval) != 10*time.Second || want.Header["X-Token"][0] != "a" {
		t.Fatalf("decoded: %+v", want)
	}
}

func TestDecodeServiceAndDefaults(t *testing.T) {
	s, err := DecodeService(doc(t, `{"name": "web", "port": 80, "meta": {"Team_Name": "x"},
		"checks": [{"h2ping": "localhost:443", "interval": "5s"}, {"args": ["/bin/true"], "interval": "5s"}],
		"script_args_unused": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "web" || s.Port != 80 || s.Meta["Team_Name"] != "x" || len(s.Checks) != 2 {
		t.Fatalf("service: %+v", s)
	}
	if !s.Checks[0].H2PingUseTLS {
		t.Fatal("h2ping checks default to TLS, as in Consul")
	}
	if _, err := DecodeCheck(doc(t, `{"ttl": "a while"}`)); err == nil {
		t.Fatal("a malformed duration was accepted")
	}
	if err := (&ServiceDefinition{Port: 1}).Validate(); err == nil {
		t.Fatal("a service without a name was valid")
	}
	bad := &ServiceDefinition{Name: "x", Check: &CheckDefinition{HTTP: "http://x"}}
	if err := bad.Validate(); err == nil {
		t.Fatal("an HTTP check without an interval was valid")
	}
}
