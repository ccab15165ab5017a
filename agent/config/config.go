package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/dnsserver"
)

// Config is the runtime configuration of an agent: every field holds a plain
// value, with defaults filled in. Load builds it from flags and files.
type Config struct {
	// Dev runs a single in-memory server for development (-dev).
	Dev bool
	// Server makes the agent a server: a Raft voter and NATS cluster member.
	Server bool
	// Bootstrap lets a single server elect itself without waiting for peers.
	Bootstrap bool
	// BootstrapExpect is the number of servers to wait for before the first
	// election; 0 means not set.
	BootstrapExpect int

	// LeaveOnTerminate makes SIGTERM leave the cluster gracefully before
	// the agent stops; SkipLeaveOnInterrupt keeps SIGINT from doing so.
	// As in Consul, the defaults depend on the mode: a server stays in
	// the cluster (and in the Raft quorum) on either signal, a client
	// leaves on both.
	LeaveOnTerminate     bool
	SkipLeaveOnInterrupt bool
	// leaveOnTerminate and skipLeaveOnInterrupt are what the sources set,
	// nil when none did; finish resolves them.
	leaveOnTerminate, skipLeaveOnInterrupt *bool

	// NodeName defaults to the host name.
	NodeName string
	// NodeID is a UUID; empty means Herald generates one.
	NodeID string
	// Datacenter is always lower case; default "dc1".
	Datacenter string
	// DataDir holds the agent's state; required unless Dev.
	DataDir string

	// BindAddr is the address for cluster traffic (Raft, Serf); default
	// 0.0.0.0, 127.0.0.1 with Dev.
	BindAddr string
	// AdvertiseAddr is the address other nodes use to reach this one. It
	// defaults to BindAddr, or when that is unspecified (0.0.0.0 or ::) to the
	// host's first private IPv4 address, or 127.0.0.1 if it has none.
	AdvertiseAddr string
	// ClientAddr is where the client listeners (HTTP, HTTPS, DNS, gRPC) bind
	// unless Addresses says otherwise; default 127.0.0.1. As in Consul it may
	// be a space-separated list of addresses.
	ClientAddr string

	// Ports of every listener.
	Ports Ports
	// Addresses are the per-listener bind addresses; each defaults to
	// ClientAddr.
	Addresses Addresses
	// UnixSockets sets the permissions of the unix:// sockets in Addresses.
	UnixSockets UnixSockets

	// NATSURL points at an external NATS cluster; empty means the servers run
	// an embedded one.
	NATSURL string
	// NATSRoutes are the servers' NATS cluster listeners (host:port); with
	// them the servers' embedded NATS servers form one NATS cluster with
	// replicated event streams. Empty (the default): each server runs a
	// NATS server of its own.
	NATSRoutes []string

	// LogLevel is one of trace, debug, info, warn, error (always lower case;
	// Consul's "err" becomes "error"). Default "info", "debug" with Dev.
	LogLevel string
	// LogJSON writes logs as JSON.
	LogJSON bool

	// RaftMultiplier scales Raft timing, 1 (fastest) to 10; default 5 as in
	// Consul, 1 with Dev.
	RaftMultiplier int
	// KVMaxValueSize is the largest KV value in bytes; default 524288.
	KVMaxValueSize int
	// TxnMaxOps is the most operations in one transaction; default 128.
	TxnMaxOps int
	// HistoryRetainCommands is how many commands of history to keep for
	// `herald debug`; default 1000000, 0 means no limit by count.
	HistoryRetainCommands int
	// HistoryRetainAge is how long to keep history; 0 (the default) means no
	// limit by age.
	HistoryRetainAge time.Duration
	// Autopilot is the servers' membership upkeep (Consul's autopilot
	// block).
	Autopilot Autopilot
	// Connect is the connect { } block (connect.go).
	Connect Connect

	// UIEnabled serves the web UI; on with Dev.
	UIEnabled bool
	// UIDir serves the UI from this directory instead of the built-in one.
	UIDir string
	// UIContentPath is the HTTP path of the UI, always with a leading and a
	// trailing slash; default "/ui/".
	UIContentPath string

	// EnableScriptChecks allows script checks from any source, including
	// the HTTP API.
	EnableScriptChecks bool
	// EnableLocalScriptChecks allows script checks from config files only.
	EnableLocalScriptChecks bool
	// EnableDebug serves Go's runtime profiles at /debug/pprof/ on the
	// HTTP API (enable_debug); with ACLs on they are served anyway, to
	// operator:read tokens.
	EnableDebug bool

	// StartJoin lists addresses to join once at start (-join, start_join).
	StartJoin []string
	// RetryJoin lists addresses to join, retrying until one succeeds.
	RetryJoin []string
	// RetryInterval is the wait between join attempts; default 30s.
	RetryInterval time.Duration
	// RetryMax is the number of join attempts; 0 means retry forever.
	RetryMax int

	// Domain is the DNS domain, fully qualified and lower case; default
	// "consul.".
	Domain string
	// AltDomain is an optional second domain, fully qualified and lower case.
	AltDomain string
	// Recursors are upstream DNS servers (IP or IP:port) for other domains.
	Recursors []string
	// DNS tunes DNS answers.
	DNS DNSConfig

	// NodeMeta is this node's metadata.
	NodeMeta map[string]string
	// WAN is federation with other datacenters (wan.go).
	WAN WAN
	// KVReplication are the kv_replication blocks (kvrep.go).
	KVReplication []KVReplication
	// Encrypt is the base64 gossip encryption key; with the other gossip
	// encryption settings, see gossip.go.
	Encrypt               string
	EncryptVerifyIncoming bool
	EncryptVerifyOutgoing bool
	DisableKeyringFile    bool
	// PidFile is where the agent writes its process ID; empty means nowhere.
	PidFile string

	// TLS is the tls block with its defaults and the old top-level keys
	// resolved (tls.go); tls is what the sources set.
	TLS TLS
	tls tlsSources

	// Telemetry and ACL: see observability.go.
	Telemetry Telemetry
	ACL       ACL

	// Services are the services defined in config files.
	Services []ServiceDefinition
	// ConfigEntriesBootstrap are config_entries { bootstrap }: entries
	// the servers write at start where none of the kind and name exists
	// (configentries.go).
	ConfigEntriesBootstrap []api.ConfigEntry
	// Checks are the checks defined in config files, as raw maps (see
	// ServiceDefinition.Checks for their form).
	Checks []map[string]any
	// Watches are the watches defined in config files as raw maps: values
	// normalised as for Checks, keys as written.
	Watches []map[string]any

	// ConfigFiles lists every file that was loaded, in order.
	ConfigFiles []string
	// Warnings has one line per key or flag that was accepted but ignored,
	// and per other oddity worth telling the operator about.
	Warnings []string
}

// Ports holds the port of every listener. For HTTP, HTTPS, DNS, GRPC, SerfWAN
// NATS and NATSCluster -1 disables the listener; 0 anywhere asks the operating
// system for a free port.
type Ports struct {
	HTTP        int // default 8500
	HTTPS       int // default -1
	DNS         int // default 8600
	Server      int // Raft and RPC; default 8300
	SerfLAN     int // default 8301
	SerfWAN     int // default 8302
	GRPC        int // default -1
	NATS        int // embedded NATS client port; default 4222
	NATSCluster int // embedded NATS cluster port; default 6222
	// SidecarMin and SidecarMax bound the ports given to sidecar proxies
	// registered without one; defaults 21000 and 21255.
	SidecarMin, SidecarMax int

	// NATSSet and NATSClusterSet say that a flag or a config file chose
	// NATS or NATSCluster. Herald's own ports left at their defaults are a
	// preference: when another process holds one, the agent listens on a
	// port the operating system picks instead and advertises that one (in
	// gossip, /v1/agent/self and the start-up banner). Tools written for
	// Consul know nothing of these ports, and several agents they start on
	// one host must not collide on them. A port the operator chose is
	// strict: taken, the agent does not start.
	NATSSet, NATSClusterSet bool
}

// Addresses are the bind addresses of the client listeners, each defaulting
// to Config.ClientAddr. A value may be a space-separated list, or a
// unix:// socket path as in Consul.
type Addresses struct {
	HTTP  string
	HTTPS string
	DNS   string
	GRPC  string
}

// UnixSockets is Consul's unix_sockets block: the mode (octal, "0770"),
// owner and group (names or IDs) given to each unix socket the agent
// creates; empty leaves what the process's defaults gave.
type UnixSockets struct {
	Mode  string
	User  string
	Group string
}

// DNSConfig tunes the DNS interface (Consul's dns_config block). Its
// defaults are the DNS server's own (dnsserver.DefaultConfig), written there
// once.
type DNSConfig struct {
	// AllowStale answers from this agent's copy of the catalog without
	// asking the leader; default true. False makes every answer wait on a
	// Raft read barrier of the catalog shard first: a round trip to its
	// leader (through a server, on a client agent) per query, and SERVFAIL
	// while there is no leader. dns_config.max_stale is not implemented:
	// Herald has no measure of how far a copy lags the leader (see apply.go).
	AllowStale bool
	// NodeTTL is the TTL of node lookups; default 0.
	NodeTTL time.Duration
	// ServiceTTL maps a service name, or a prefix ending in "*" ("*" alone
	// for all services), to the TTL of its answers.
	ServiceTTL map[string]time.Duration
	// EnableTruncate sets the TC bit when a UDP answer was cut short.
	EnableTruncate bool
	// OnlyPassing leaves out instances whose checks are warning.
	OnlyPassing bool
	// UDPAnswerLimit caps the records in a UDP answer; default 3.
	UDPAnswerLimit int
	// ARecordLimit caps A/AAAA records per answer; 0 (default) means none.
	ARecordLimit int
	// EnableAdditionalNodeMetaTXT adds a node's meta as TXT records to the
	// additional section of node A/AAAA and service SRV answers; default
	// true. TXT and ANY queries for a node get its meta either way.
	EnableAdditionalNodeMetaTXT bool
	// RecursorTimeout bounds a query to a recursor; default 2s.
	RecursorTimeout time.Duration
}

// ServiceDefinition is a service{} block or an element of services[]. Keys
// are matched as Consul matches them: the documented snake_case names, and
// the API's CamelCase spellings ("ID", "EnableTagOverride") too.
type ServiceDefinition struct {
	Kind              string
	ID                string
	Name              string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress
	Meta              map[string]string
	Port              int
	Ports             []ServicePort
	SocketPath        string
	Weights           Weights
	EnableTagOverride bool
	Token             string
	Locality          *Locality
	// Connect and Proxy are the service's connect{} and proxy{} blocks as
	// decoded (HCL's blocks as lists of one object); the agent reads them
	// as it reads the API's registrations.
	Connect, Proxy any
	// Checks holds the service's check{} followed by its checks[], as raw
	// maps: keys renamed to Consul's snake_case names (so "HTTP" and
	// "DeregisterCriticalServiceAfter" arrive as "http" and
	// "deregister_critical_service_after", "CheckID" as "id", "ScriptArgs"
	// as "args"), numbers as int or float64, lists as []any, nested blocks
	// as map[string]any. Durations stay strings such as "10s"; the check
	// runner interprets them.
	Checks []map[string]any
}

// ServicePort is one entry of a service's ports (Consul's multi-port
// services).
type ServicePort struct {
	Name    string
	Port    int
	Default bool
}

// Locality is a service's locality { region, zone }.
type Locality struct {
	Region string
	Zone   string
}

// ServiceAddress is one entry of a service's tagged_addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// Weights are a service's DNS SRV weights by health; both default to 1.
type Weights struct {
	Passing int
	Warning int
}

// DefaultConfig returns the configuration an agent gets from no flags and no
// files. It is not valid as it is: a non-dev agent needs a DataDir.
func DefaultConfig() *Config {
	c := defaults()
	c.finish()
	return c
}

// defaults are Consul's defaults (and Herald's for its own keys), before
// anything derived from other fields is filled in by finish.
func defaults() *Config {
	hostname, _ := os.Hostname() // an empty node name is reported by Validate
	dns := dnsserver.DefaultConfig()
	return &Config{
		NodeName:   hostname,
		Datacenter: "dc1",
		BindAddr:   "0.0.0.0",
		ClientAddr: "127.0.0.1",
		Ports: Ports{
			HTTP: 8500, HTTPS: -1, DNS: 8600, Server: 8300, SerfLAN: 8301,
			SerfWAN: 8302, GRPC: -1, NATS: 4222, NATSCluster: 6222,
			SidecarMin: 21000, SidecarMax: 21255,
		},
		WAN:                   WAN{GatewayPort: DefaultGatewayPort},
		LogLevel:              "info",
		RaftMultiplier:        5,
		KVMaxValueSize:        512 * 1024,
		TxnMaxOps:             128,
		HistoryRetainCommands: 1000000,
		Autopilot:             Autopilot{CleanupDeadServers: true, DeadServerCleanupAfter: time.Minute},
		UIContentPath:         "/ui/",
		RetryInterval:         30 * time.Second,
		Domain:                dns.Domain,
		DNS: DNSConfig{
			AllowStale:                  dns.ReadBarrier == nil, // no barrier: answers from the local copy
			NodeTTL:                     dns.NodeTTL,
			ServiceTTL:                  map[string]time.Duration{},
			EnableTruncate:              dns.EnableTruncate,
			OnlyPassing:                 dns.OnlyPassing,
			UDPAnswerLimit:              dns.UDPAnswerLimit,
			ARecordLimit:                dns.ARecordLimit,
			EnableAdditionalNodeMetaTXT: !dns.DisableNodeMetaTXT,
			RecursorTimeout:             dns.RecursorTimeout,
		},
		NodeMeta: map[string]string{},
		Connect:  Connect{Enabled: true},
		// Consul's defaults: once there is a key, gossip is encrypted both ways.
		EncryptVerifyIncoming: true,
		EncryptVerifyOutgoing: true,
	}
}

// Autopilot says when the leader removes servers from the Raft voters.
type Autopilot struct {
	// CleanupDeadServers removes a server that gossip has declared failed
	// for DeadServerCleanupAfter; default true, as in Consul.
	CleanupDeadServers bool
	// DeadServerCleanupAfter is how long a server must have been failed
	// before it is removed; default 1m. A server that comes back after
	// that rejoins as a new voter and receives the state again.
	DeadServerCleanupAfter time.Duration
	// MinQuorum is the fewest voters cleanup leaves; default 0 (no floor).
	MinQuorum int
}

// devDefaults is what -dev changes, as a source applied before any file so
// that files and flags can still override it.
func devDefaults() map[string]any {
	return map[string]any{
		"server":      true,
		"bootstrap":   true,
		"bind_addr":   "127.0.0.1",
		"client_addr": "127.0.0.1",
		"log_level":   "debug",
		"ui_config":   map[string]any{"enabled": true},
		// Fast elections, as Consul's dev mode has.
		"performance": map[string]any{"raft_multiplier": 1},
		// As in Consul's dev mode: its data dir goes away with it anyway.
		"disable_keyring_file": true,
	}
}

// finish fills the fields whose defaults depend on other fields, and puts
// values into their canonical form, once all sources have been applied.
func (c *Config) finish() {
	if c.NodeName == "" {
		c.NodeName, _ = os.Hostname()
	}
	c.Datacenter = strings.ToLower(c.Datacenter)
	c.LogLevel = strings.ToLower(c.LogLevel)
	if c.LogLevel == "err" {
		c.LogLevel = "error"
	}
	c.Domain = fqdn(c.Domain)
	c.AltDomain = fqdn(c.AltDomain)
	c.UIContentPath = "/" + strings.Trim(c.UIContentPath, "/") + "/"
	if c.UIContentPath == "//" {
		c.UIContentPath = "/"
	}
	c.TLS = c.tls.resolve()
	if c.AdvertiseAddr == "" {
		c.AdvertiseAddr = advertiseFor(c.BindAddr)
	}
	c.finishWAN()
	server := c.Server || c.Dev
	c.LeaveOnTerminate, c.SkipLeaveOnInterrupt = !server, server
	if c.leaveOnTerminate != nil {
		c.LeaveOnTerminate = *c.leaveOnTerminate
	}
	if c.skipLeaveOnInterrupt != nil {
		c.SkipLeaveOnInterrupt = *c.skipLeaveOnInterrupt
	}
	for _, a := range []*string{&c.Addresses.HTTP, &c.Addresses.HTTPS, &c.Addresses.DNS, &c.Addresses.GRPC} {
		if *a == "" {
			*a = c.ClientAddr
		}
	}
	c.warnRemoteScriptChecks()
	c.warnHTTPSWithoutCert()
	// As in Consul, expecting one server is the same as bootstrapping.
	if c.BootstrapExpect == 1 && c.Server && !c.Bootstrap && !c.Dev {
		c.BootstrapExpect = 0
		c.Bootstrap = true
		c.Warnings = append(c.Warnings, "bootstrap_expect = 1 is the same as bootstrap = true; bootstrapping")
	}
	if c.BootstrapExpect > 0 && c.BootstrapExpect%2 == 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf(
			"bootstrap_expect = %d is even: an odd number of servers tolerates the same failures with fewer servers",
			c.BootstrapExpect))
	}
}

// fqdn makes a DNS domain lower case and fully qualified; empty stays empty.
func fqdn(domain string) string {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" || strings.HasSuffix(domain, ".") {
		return domain
	}
	return domain + "."
}

// advertiseFor picks the address to advertise for a bind address: the bind
// address itself unless it listens everywhere, because "everywhere" is not an
// address another node can connect to.
func advertiseFor(bind string) string {
	ip := net.ParseIP(bind)
	if ip == nil || !ip.IsUnspecified() {
		return bind
	}
	if ip := firstPrivateIPv4(); ip != "" {
		return ip
	}
	return "127.0.0.1"
}

// firstPrivateIPv4 returns the host's first private IPv4 address, or "".
func firstPrivateIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if ok && n.IP.To4() != nil && n.IP.IsPrivate() {
			return n.IP.String()
		}
	}
	return ""
}

// Validate reports the first inconsistency in c, in words an operator can
// act on. Load calls it; call it again after changing a Config by hand.
func (c *Config) Validate() error {
	switch {
	case c.Dev && c.BootstrapExpect != 0:
		return errors.New("bootstrap_expect cannot be used in -dev mode: a dev agent is always a single bootstrapped server")
	case c.BootstrapExpect < 0:
		return fmt.Errorf("bootstrap_expect cannot be %d: it must be 0 (not set) or more", c.BootstrapExpect)
	case c.Bootstrap && c.BootstrapExpect > 0:
		return fmt.Errorf("bootstrap = true and bootstrap_expect = %d are mutually exclusive: use one or the other", c.BootstrapExpect)
	case c.BootstrapExpect > 0 && !c.Server:
		return fmt.Errorf("bootstrap_expect = %d requires server = true (-server)", c.BootstrapExpect)
	case c.Bootstrap && !c.Server:
		return errors.New("bootstrap = true requires server = true (-server)")
	case c.DataDir == "" && !c.Dev:
		return errors.New("data_dir is required: set -data-dir or data_dir (only -dev runs without one)")
	case c.NodeName == "":
		return errors.New("node_name is empty and the host name is unknown: set -node or node_name")
	case c.NodeID != "" && !isUUID(c.NodeID):
		return fmt.Errorf("node_id %q is not a UUID such as 0f6c7a34-5d3e-4c2a-9b1e-2f4d5c6b7a89", c.NodeID)
	case !validDatacenter(c.Datacenter):
		return fmt.Errorf("datacenter %q is invalid: use only a-z, 0-9, '-' and '_'", c.Datacenter)
	case c.Telemetry.PrometheusRetentionTime < 0:
		return fmt.Errorf("telemetry.prometheus_retention_time cannot be %s: it must be 0 (off) or positive", c.Telemetry.PrometheusRetentionTime)
	case !validLogLevel(c.LogLevel):
		return fmt.Errorf("log_level %q is invalid: use trace, debug, info, warn or error", c.LogLevel)
	case c.RaftMultiplier < 1 || c.RaftMultiplier > 10:
		return fmt.Errorf("performance.raft_multiplier cannot be %d: it must be between 1 and 10", c.RaftMultiplier)
	case c.KVMaxValueSize < 1:
		return fmt.Errorf("limits.kv_max_value_size cannot be %d: it must be at least 1", c.KVMaxValueSize)
	case c.TxnMaxOps < 1:
		return fmt.Errorf("limits.txn_max_ops cannot be %d: it must be at least 1", c.TxnMaxOps)
	case c.HistoryRetainCommands < 0:
		return fmt.Errorf("history.retain_commands cannot be %d: it must be 0 (no limit) or more", c.HistoryRetainCommands)
	case c.Autopilot.DeadServerCleanupAfter <= 0:
		return fmt.Errorf("autopilot.dead_server_cleanup_after cannot be %s: it must be positive", c.Autopilot.DeadServerCleanupAfter)
	case c.HistoryRetainAge < 0:
		return fmt.Errorf("history.retain_age cannot be %s: it must be 0 (no limit) or more", c.HistoryRetainAge)
	case c.RetryInterval <= 0:
		return fmt.Errorf("retry_interval cannot be %s: it must be positive", c.RetryInterval)
	case c.RetryMax < 0:
		return fmt.Errorf("retry_max cannot be %d: it must be 0 (retry forever) or more", c.RetryMax)
	case c.Domain == "":
		return errors.New("domain cannot be empty")
	}
	if err := c.validateAddresses(); err != nil {
		return err
	}
	if err := c.ACL.validate(); err != nil {
		return err
	}
	if err := c.Ports.validate(); err != nil {
		return err
	}
	if err := c.DNS.validate(); err != nil {
		return err
	}
	if err := c.TLS.validate(c.Ports); err != nil {
		return err
	}
	if err := c.validateEncrypt(); err != nil {
		return err
	}
	if err := c.validateKVReplication(); err != nil {
		return err
	}
	if err := c.validateWAN(); err != nil {
		return err
	}
	for i, s := range c.Services {
		if s.Name == "" {
			return fmt.Errorf("service %d (id %q) has no name", i+1, s.ID)
		}
		if s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("service %q: port %d is out of range 0..65535", s.Name, s.Port)
		}
	}
	return nil
}

func (c *Config) validateAddresses() error {
	if err := checkIP("bind_addr", c.BindAddr); err != nil {
		return err
	}
	if err := checkIP("advertise_addr", c.AdvertiseAddr); err != nil {
		return err
	}
	if net.ParseIP(c.AdvertiseAddr).IsUnspecified() {
		return fmt.Errorf("advertise_addr cannot be %s: other nodes could not reach this one", c.AdvertiseAddr)
	}
	listeners := []struct{ key, value string }{
		{"client_addr", c.ClientAddr},
		{"addresses.http", c.Addresses.HTTP},
		{"addresses.https", c.Addresses.HTTPS},
		{"addresses.dns", c.Addresses.DNS},
		{"addresses.grpc", c.Addresses.GRPC},
	}
	for _, l := range listeners {
		fields := strings.Fields(l.value)
		if len(fields) == 0 {
			return fmt.Errorf("%s cannot be empty", l.key)
		}
		for _, f := range fields {
			if strings.HasPrefix(f, "unix://") {
				continue
			}
			if err := checkIP(l.key, f); err != nil {
				return err
			}
		}
	}
	for _, r := range c.Recursors {
		host := r
		if h, _, err := net.SplitHostPort(r); err == nil {
			host = h
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.IsUnspecified() {
			return fmt.Errorf("recursor %q is not a usable IP address or IP:port", r)
		}
	}
	return nil
}

// checkIP reports an address that is not a literal IP. Consul also accepts
// go-sockaddr templates here; Herald does not evaluate them yet, so it says
// so rather than failing later with a confusing bind error.
func checkIP(key, value string) error {
	if net.ParseIP(value) != nil {
		return nil
	}
	if strings.Contains(value, "{{") {
		return fmt.Errorf("%s %q: go-sockaddr templates are not supported by Herald; give an IP address", key, value)
	}
	return fmt.Errorf("%s %q is not an IP address", key, value)
}

func (p Ports) validate() error {
	ports := []struct {
		key        string
		value      int
		canDisable bool
	}{
		{"http", p.HTTP, true},
		{"https", p.HTTPS, true},
		{"dns", p.DNS, true},
		{"server", p.Server, false},
		{"serf_lan", p.SerfLAN, false},
		{"serf_wan", p.SerfWAN, true},
		{"grpc", p.GRPC, true},
		{"nats", p.NATS, true},
		{"nats_cluster", p.NATSCluster, true},
	}
	for _, port := range ports {
		if port.value == -1 && port.canDisable {
			continue
		}
		if port.value < 0 || port.value > 65535 {
			if port.canDisable {
				return fmt.Errorf("ports.%s cannot be %d: it must be between 0 and 65535, or -1 to disable", port.key, port.value)
			}
			return fmt.Errorf("ports.%s cannot be %d: it must be between 0 and 65535", port.key, port.value)
		}
	}
	return nil
}

func (d DNSConfig) validate() error {
	switch {
	case d.NodeTTL < 0:
		return fmt.Errorf("dns_config.node_ttl cannot be negative (%s)", d.NodeTTL)
	case d.UDPAnswerLimit < 1:
		return fmt.Errorf("dns_config.udp_answer_limit cannot be %d: it must be at least 1", d.UDPAnswerLimit)
	case d.ARecordLimit < 0:
		return fmt.Errorf("dns_config.a_record_limit cannot be %d: it must be 0 (no limit) or more", d.ARecordLimit)
	case d.RecursorTimeout <= 0:
		return fmt.Errorf("dns_config.recursor_timeout cannot be %s: it must be positive", d.RecursorTimeout)
	}
	for name, ttl := range d.ServiceTTL {
		if ttl < 0 {
			return fmt.Errorf("dns_config.service_ttl[%q] cannot be negative (%s)", name, ttl)
		}
	}
	return nil
}

func validLogLevel(level string) bool {
	switch level {
	case "trace", "debug", "info", "warn", "error":
		return true
	}
	return false
}

func validDatacenter(dc string) bool {
	if dc == "" {
		return false
	}
	for _, r := range dc {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// isUUID reports whether s has the 8-4-4-4-12 hexadecimal form Consul
// requires of node IDs.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
			continue
		}
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}
