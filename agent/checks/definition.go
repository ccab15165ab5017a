package checks

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald/event"
)

// Kinds of check, as Definition.Kind returns them. They are the values of
// the Type field of Consul's api.HealthCheck.
const (
	KindHTTP   = "http"
	KindTCP    = "tcp"
	KindUDP    = "udp"
	KindGRPC   = "grpc"
	KindH2Ping = "h2ping"
	KindTTL    = "ttl"
	KindAlias  = "alias"
	KindScript = "script"
	KindDocker = "docker"
)

// Defaults, as Consul documents them.
const (
	// DefaultNetworkTimeout bounds one HTTP, TCP, UDP, gRPC or H2PING probe
	// when the definition sets no timeout.
	DefaultNetworkTimeout = 10 * time.Second
	// DefaultScriptTimeout bounds one run of a script check.
	DefaultScriptTimeout = 30 * time.Second
	// DefaultOutputMaxSize caps the output a check keeps (Consul's
	// check_output_max_size).
	DefaultOutputMaxSize = 4096
	// DefaultOutputUpdateInterval is Consul's default check_update_interval.
	// Config.OutputUpdateInterval does not default to it by itself (there 0
	// means "report every output change", as in Consul's configuration), so
	// whoever builds the Config from the agent's configuration applies it.
	DefaultOutputUpdateInterval = 5 * time.Minute
)

// Definition is one check as the agent runs it: the check's identity, what
// to probe and how often. Exactly one kind must be set: HTTP, TCP, UDP,
// GRPC, H2Ping, TTL, AliasNode/AliasService or Args.
type Definition struct {
	// CheckID identifies the check on this agent; adding a definition with
	// the ID of a running check replaces it.
	CheckID string
	// Name is the check's human-readable name; the runner only logs it.
	Name string
	// ServiceID is the service the check belongs to, empty for a node check.
	ServiceID string

	// HTTP is the URL an HTTP check requests.
	HTTP string
	// Method is the HTTP method, GET if empty.
	Method string
	// Header holds extra request headers; a "Host" entry sets the request's
	// Host.
	Header map[string][]string
	// Body is sent as the request body.
	Body string
	// TLSSkipVerify turns off certificate verification for HTTP, gRPC and
	// H2PING checks over TLS.
	TLSSkipVerify bool
	// TLSServerName overrides the name used for SNI and for verifying the
	// server's certificate.
	TLSServerName string
	// DisableRedirects makes an HTTP check judge a redirect response itself
	// (critical, being no 2xx) instead of following it.
	DisableRedirects bool

	// TCP is the host:port a TCP check connects to.
	TCP string
	// UDP is the host:port a UDP check sends a datagram to.
	UDP string

	// GRPC is the host:port of a gRPC server implementing grpc.health.v1,
	// optionally followed by "/service" to ask about one service.
	GRPC string
	// GRPCUseTLS makes a gRPC check connect over TLS.
	GRPCUseTLS bool

	// H2Ping is the host:port an H2PING check sends an HTTP/2 PING to.
	H2Ping string
	// H2PingUseTLS makes an H2PING check use TLS; without it the check
	// speaks HTTP/2 in clear text (h2c with prior knowledge). Callers that
	// decode Consul definitions must default it to true, as Consul does.
	H2PingUseTLS bool

	// TTL makes a TTL check: critical unless UpdateTTL is called at least
	// once per TTL.
	TTL time.Duration

	// AliasNode and AliasService make an alias check mirroring the health of
	// a node, or of a service instance (on AliasNode, or on this agent's own
	// node if AliasNode is empty).
	AliasNode, AliasService string

	// Args is the command a script check runs, executed directly (no shell):
	// Args[0] is the program. With DockerContainerID, it runs in that
	// container instead.
	Args []string
	// DockerContainerID makes a docker check: Args run, on the interval,
	// inside this container through the Docker Engine API (DOCKER_HOST, or
	// the local daemon's socket), judged by exit code like a script.
	DockerContainerID string
	// Shell is Consul's docker check shell; Herald's docker checks run Args
	// directly, as Consul does when Args are given, so it is only kept.
	Shell string
	// Local marks a definition from the agent's own configuration files
	// rather than from the HTTP API; with Config.EnableLocalScriptChecks
	// only such script checks are allowed.
	Local bool

	// Interval is how often an HTTP, TCP, UDP, gRPC, H2PING or script check
	// runs; those kinds require it and the others forbid it.
	Interval time.Duration
	// Timeout bounds one run. Zero means DefaultNetworkTimeout (network
	// checks) or DefaultScriptTimeout (scripts); a network check's timeout
	// is also capped at its interval, so that one run ends before the next
	// is due.
	Timeout time.Duration

	// SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical
	// are the consecutive-result thresholds of Consul's flap prevention; see
	// counters.go. FailuresBeforeWarning defaults to FailuresBeforeCritical.
	SuccessBeforePassing, FailuresBeforeWarning, FailuresBeforeCritical int

	// DeregisterCriticalServiceAfter, for a service check, is how long the
	// check may stay critical before Config.DeregisterCritical is called.
	// Consul enforces a minimum of one minute; the runner does not, so that
	// whoever decodes user definitions applies Consul's minimum and tests
	// can use short values.
	DeregisterCriticalServiceAfter time.Duration

	// OutputMaxSize caps the output kept for the check, in bytes; 0 means
	// DefaultOutputMaxSize.
	OutputMaxSize int

	// Status is the check's initial status: passing, warning or critical;
	// empty means critical, so that a new service is not sent traffic before
	// its checks have vouched for it.
	Status string
}

// kinds lists every kind the definition sets, in a fixed order.
func (d Definition) kinds() []string {
	var ks []string
	switch {
	case d.DockerContainerID != "":
		ks = append(ks, KindDocker)
	case d.Args != nil:
		ks = append(ks, KindScript)
	}
	if d.HTTP != "" {
		ks = append(ks, KindHTTP)
	}
	if d.TCP != "" {
		ks = append(ks, KindTCP)
	}
	if d.UDP != "" {
		ks = append(ks, KindUDP)
	}
	if d.GRPC != "" {
		ks = append(ks, KindGRPC)
	}
	if d.H2Ping != "" {
		ks = append(ks, KindH2Ping)
	}
	if d.TTL != 0 {
		ks = append(ks, KindTTL)
	}
	if d.AliasNode != "" || d.AliasService != "" {
		ks = append(ks, KindAlias)
	}
	return ks
}

// Kind names the kind of check: KindHTTP, KindTCP, KindUDP, KindGRPC,
// KindH2Ping, KindTTL, KindAlias or KindScript. It is "" when no kind is set,
// and the first in that order of preference (script first) when several
// are, which Validate rejects.
func (d Definition) Kind() string {
	if ks := d.kinds(); len(ks) > 0 {
		return ks[0]
	}
	return ""
}

// intervalKind reports kinds that probe on an interval.
func intervalKind(kind string) bool {
	switch kind {
	case KindHTTP, KindTCP, KindUDP, KindGRPC, KindH2Ping, KindScript, KindDocker:
		return true
	}
	return false
}

// Validate reports a definition the runner cannot run. Where Consul rejects
// the same definition, the message is Consul's, since clients of the HTTP
// API see it.
func (d Definition) Validate() error {
	if d.CheckID == "" {
		return errors.New("Missing check ID")
	}
	ks := d.kinds()
	interval := slices.ContainsFunc(ks, intervalKind)
	alias := slices.Contains(ks, KindAlias)
	switch {
	case d.Interval > 0 && d.TTL > 0:
		return errors.New("Interval and TTL cannot both be specified")
	case d.DockerContainerID != "" && len(d.Args) == 0:
		return errors.New("Args must be set for Docker checks")
	case d.Args != nil && len(d.Args) == 0:
		// Consul cannot tell an empty args list from none and ends up
		// calling this a TTL check without a TTL; say what is wrong instead.
		return errors.New("Args must not be empty for script checks")
	case interval && d.Interval <= 0:
		return errors.New("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks")
	case alias && d.Interval != 0:
		return errors.New("Interval cannot be set for Alias checks")
	case alias && d.TTL != 0:
		return errors.New("TTL must be not be set for Alias checks")
	case !interval && !alias && d.TTL <= 0:
		return errors.New("TTL must be > 0 for TTL checks")
	case len(ks) > 1:
		return fmt.Errorf("Only one kind of check may be defined, got %s", strings.Join(ks, ", "))
	case d.OutputMaxSize < 0:
		return errors.New("MaxOutputMaxSize must be positive")
	case d.Timeout < 0:
		return errors.New("Timeout must not be negative")
	case d.DeregisterCriticalServiceAfter < 0:
		return errors.New("DeregisterCriticalServiceAfter must not be negative")
	case d.SuccessBeforePassing < 0 || d.FailuresBeforeWarning < 0 || d.FailuresBeforeCritical < 0:
		return errors.New("SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical must not be negative")
	case d.FailuresBeforeWarning > d.FailuresBeforeCritical:
		return errors.New("FailuresBeforeWarning must not be greater than FailuresBeforeCritical")
	}
	switch d.Status {
	case "", event.HealthPassing, event.HealthWarning, event.HealthCritical:
	default:
		return fmt.Errorf("Invalid check status %q: must be passing, warning or critical", d.Status)
	}
	return nil
}

// normalized returns a copy with defaults filled in and the reference
// fields (Header, Args) copied, so that the caller may reuse its own.
func (d Definition) normalized() Definition {
	d.Header = maps.Clone(d.Header)
	for k, v := range d.Header {
		d.Header[k] = slices.Clone(v)
	}
	d.Args = slices.Clone(d.Args)
	if d.Method == "" {
		d.Method = "GET"
	}
	if d.OutputMaxSize == 0 {
		d.OutputMaxSize = DefaultOutputMaxSize
	}
	if d.Status == "" {
		d.Status = event.HealthCritical
	}
	return d
}

// timeout is how long one run of the check may take.
func (d Definition) timeout() time.Duration {
	if k := d.Kind(); k == KindScript || k == KindDocker {
		// Runs do not overlap, so a script slower than its interval only
		// delays the next run; Consul does not cap it either.
		if d.Timeout > 0 {
			return d.Timeout
		}
		return DefaultScriptTimeout
	}
	t := d.Timeout
	if t <= 0 {
		t = DefaultNetworkTimeout
	}
	// A probe slower than the interval would make the check fall behind
	// its schedule; Consul caps the timeout at the interval for the same
	// reason.
	if d.Interval > 0 && t > d.Interval {
		t = d.Interval
	}
	return t
}
