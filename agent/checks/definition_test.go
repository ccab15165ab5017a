package checks

import (
	"testing"
	"time"
)

func TestKind(t *testing.T) {
	for want, d := range map[string]Definition{
		KindHTTP:   {HTTP: "http://x"},
		KindTCP:    {TCP: "x:1"},
		KindUDP:    {UDP: "x:1"},
		KindGRPC:   {GRPC: "x:1/svc"},
		KindH2Ping: {H2Ping: "x:1"},
		KindTTL:    {TTL: time.Second},
		KindAlias:  {AliasNode: "n"},
		KindScript: {Args: []string{"true"}},
		"":         {Interval: time.Second},
	} {
		if got := d.Kind(); got != want {
			t.Errorf("%+v: Kind() = %q, want %q", d, got, want)
		}
	}
	if got := (Definition{AliasService: "web"}).Kind(); got != KindAlias {
		t.Errorf("alias_service only: Kind() = %q, want alias", got)
	}
}

func TestValidateMessages(t *testing.T) {
	const sec = time.Second
	for _, tc := range []struct {
		name string
		d    Definition
		want string
	}{
		{"no id", Definition{TTL: sec}, "Missing check ID"},
		{"http without interval", Definition{HTTP: "http://x"}, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{"tcp without interval", Definition{TCP: "x:1"}, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{"udp without interval", Definition{UDP: "x:1"}, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{"grpc without interval", Definition{GRPC: "x:1"}, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{"h2ping without interval", Definition{H2Ping: "x:1"}, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{"script without interval", Definition{Args: []string{"true"}}, "Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks"},
		{"ttl with interval", Definition{TTL: sec, Interval: sec}, "Interval and TTL cannot both be specified"},
		{"http with ttl", Definition{HTTP: "http://x", TTL: sec, Interval: sec}, "Interval and TTL cannot both be specified"},
		{"alias with interval", Definition{AliasService: "web", Interval: sec}, "Interval cannot be set for Alias checks"},
		{"alias with ttl", Definition{AliasService: "web", TTL: sec}, "TTL must be not be set for Alias checks"},
		{"nothing", Definition{}, "TTL must be > 0 for TTL checks"},
		{"negative ttl", Definition{TTL: -sec}, "TTL must be > 0 for TTL checks"},
		{"empty args", Definition{Args: []string{}, Interval: sec}, "Args must not be empty for script checks"},
		{"two kinds", Definition{HTTP: "http://x", TCP: "x:1", Interval: sec}, "Only one kind of check may be defined, got http, tcp"},
		{"script and grpc", Definition{Args: []string{"true"}, GRPC: "x:1", Interval: sec}, "Only one kind of check may be defined, got script, grpc"},
		{"negative output size", Definition{TTL: sec, OutputMaxSize: -1}, "MaxOutputMaxSize must be positive"},
		{"negative timeout", Definition{TCP: "x:1", Interval: sec, Timeout: -sec}, "Timeout must not be negative"},
		{"warning after critical", Definition{TCP: "x:1", Interval: sec, FailuresBeforeWarning: 3, FailuresBeforeCritical: 2}, "FailuresBeforeWarning must not be greater than FailuresBeforeCritical"},
		{"negative counter", Definition{TCP: "x:1", Interval: sec, SuccessBeforePassing: -1}, "SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical must not be negative"},
		{"bad status", Definition{TTL: sec, Status: "maintenance"}, `Invalid check status "maintenance": must be passing, warning or critical`},
	} {
		if tc.name != "no id" {
			tc.d.CheckID = "c"
		}
		err := tc.d.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestValidateAcceptsEveryKind(t *testing.T) {
	const sec = time.Second
	for _, d := range []Definition{
		{HTTP: "http://x", Interval: sec},
		{TCP: "x:1", Interval: sec, Timeout: sec, FailuresBeforeWarning: 1, FailuresBeforeCritical: 3, SuccessBeforePassing: 2},
		{UDP: "x:1", Interval: sec},
		{GRPC: "x:1/svc", Interval: sec},
		{H2Ping: "x:1", Interval: sec},
		{TTL: sec, Status: "passing"},
		{AliasNode: "n", AliasService: "web"},
		{Args: []string{"true"}, Interval: sec, Status: "warning"},
	} {
		d.CheckID = "c"
		if err := d.Validate(); err != nil {
			t.Errorf("%s check: Validate() = %v", d.Kind(), err)
		}
	}
}

func TestTimeouts(t *testing.T) {
	const sec = time.Second
	for _, tc := range []struct {
		d    Definition
		want time.Duration
	}{
		{Definition{HTTP: "x", Interval: 30 * sec}, 10 * sec},                 // Consul's default
		{Definition{HTTP: "x", Interval: 3 * sec}, 3 * sec},                   // capped at the interval
		{Definition{TCP: "x", Interval: 30 * sec, Timeout: sec}, sec},         // as set
		{Definition{GRPC: "x", Interval: 2 * sec, Timeout: 5 * sec}, 2 * sec}, // capped
		{Definition{Args: []string{"x"}, Interval: 5 * sec}, 30 * sec},        // scripts: 30s, not capped
		{Definition{Args: []string{"x"}, Interval: 5 * sec, Timeout: sec}, sec},
	} {
		if got := tc.d.timeout(); got != tc.want {
			t.Errorf("%s check, interval %v, timeout %v: effective timeout %v, want %v",
				tc.d.Kind(), tc.d.Interval, tc.d.Timeout, got, tc.want)
		}
	}
}

func TestNormalizedCopiesAndDefaults(t *testing.T) {
	hdr := map[string][]string{"X": {"a"}}
	args := []string{"a", "b"}
	d := Definition{CheckID: "c", HTTP: "http://x", Header: hdr, Args: args}.normalized()
	hdr["X"][0] = "changed"
	args[0] = "changed"
	if d.Header["X"][0] != "a" || d.Args[0] != "a" {
		t.Errorf("normalized shares the caller's header or args: %v %v", d.Header, d.Args)
	}
	if d.Method != "GET" || d.OutputMaxSize != DefaultOutputMaxSize || d.Status != "critical" {
		t.Errorf("defaults: method %q, output max %d, status %q", d.Method, d.OutputMaxSize, d.Status)
	}
}
