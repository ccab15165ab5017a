package dnsserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/heraldhq/herald/telemetry"
)

// Config is the DNS server's configuration, in the terms of Consul's
// domain, alt_domain, recursors and dns_config keys. DefaultConfig holds
// Consul's defaults and is the only place they are written: the agent's
// configuration starts from it. A zero value in a field that has a default
// means that default, so that a Config built by hand needs only a Catalog.
type Config struct {
	// Datacenter is the local datacenter; "" means "dc1".
	Datacenter string
	// Domain is the zone answered from the catalog, "" meaning "consul.".
	// It is made fully qualified and lower case.
	Domain string
	// AltDomain is an optional second zone answered like Domain.
	AltDomain string
	// NodeTTL is dns_config.node_ttl, for node and .addr records.
	NodeTTL time.Duration
	// ServiceTTL is dns_config.service_ttl: exact service names first, then
	// the longest matching "prefix*" key ("*" alone matches every service).
	ServiceTTL map[string]time.Duration
	// OnlyPassing is dns_config.only_passing: leave warning instances out too.
	OnlyPassing bool
	// EnableTruncate is dns_config.enable_truncate: set the TC bit when a UDP
	// response had to be cut, so that clients retry over TCP.
	EnableTruncate bool
	// UDPAnswerLimit is dns_config.udp_answer_limit, the most answers a plain
	// (512-byte) UDP response carries; 0 means Consul's default of 3.
	UDPAnswerLimit int
	// ARecordLimit is dns_config.a_record_limit, the most address answers to
	// a service A/AAAA/ANY query on any transport; 0 means no limit.
	ARecordLimit int
	// DisableNodeMetaTXT is dns_config.enable_additional_node_meta_txt set to
	// false: no node meta TXT records in the additional section of node A/AAAA
	// and service SRV answers (TXT and ANY queries still get them).
	DisableNodeMetaTXT bool
	// Recursors answer names outside the domains, tried in order; each is
	// "ip" or "ip:port" (port 53 by default).
	Recursors []string
	// RecursorTimeout bounds each recursor exchange; 0 means 2s.
	RecursorTimeout time.Duration
	// ReadBarrier, when set, is called before every answer from the
	// catalog and must return once the catalog holds every write
	// acknowledged before the call (a Raft read barrier). It is Consul's
	// dns_config.allow_stale = false: answers are never older than the
	// query, at the cost of a round trip to the leader per query. An error,
	// or no answer within ReadBarrierTimeout, is SERVFAIL. nil (the default,
	// allow_stale = true) answers straight from the catalog.
	ReadBarrier func(ctx context.Context) error
	// ReadBarrierTimeout bounds each ReadBarrier call; 0 means 2s.
	ReadBarrierTimeout time.Duration
	// Catalog is the read model answers come from. Required.
	Catalog Catalog
	// Metrics records every query answered (see ServeDNS); nil records
	// nothing.
	Metrics *telemetry.Registry
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// Remote answers names in other datacenters (remote.go); nil answers
	// them NXDOMAIN.
	Remote RemoteFunc
	// QueryFailover answers prepared queries that found nothing here from
	// their failover datacenters (query_failover.go); nil does not fail
	// over.
	QueryFailover QueryFailoverFunc
}

// The SOA timers Consul uses unless dns_config.soa overrides them (which
// Herald does not implement).
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 86400
	soaMinTTL  = 0
)

// ErrNoCatalog is returned by New when Config.Catalog is nil.
var ErrNoCatalog = errors.New("dnsserver: config has no catalog")

// DefaultConfig returns Consul's defaults; the caller still sets Catalog.
// Fields not named here default to their zero value, which is Consul's
// default too: TTLs 0, only_passing and enable_truncate off, no
// a_record_limit, node meta TXT records in the additional section, no
// recursors, allow_stale on.
func DefaultConfig() Config {
	return Config{
		Datacenter:         "dc1",
		Domain:             "consul.",
		UDPAnswerLimit:     3,
		RecursorTimeout:    2 * time.Second,
		ReadBarrierTimeout: 2 * time.Second,
	}
}

// settings is Config turned into what the handler needs on every query:
// normalized names, TTLs in seconds, recursors with ports.
type settings struct {
	dc             string
	zones          zones
	nodeTTL        uint32
	serviceTTL     ttlTable
	onlyPassing    bool
	enableTruncate bool
	udpAnswerLimit int
	aRecordLimit   int
	nodeMetaTXT    bool
	recursors      []string
	recursorWait   time.Duration
	barrier        func(context.Context) error
	barrierWait    time.Duration
	remote         RemoteFunc
	queryFailover  QueryFailoverFunc
}

func newSettings(cfg Config) (settings, error) {
	if cfg.Catalog == nil {
		return settings{}, ErrNoCatalog
	}
	st := settings{
		dc:             strings.ToLower(cfg.Datacenter),
		nodeTTL:        seconds(cfg.NodeTTL),
		serviceTTL:     newTTLTable(cfg.ServiceTTL),
		onlyPassing:    cfg.OnlyPassing,
		enableTruncate: cfg.EnableTruncate,
		udpAnswerLimit: cfg.UDPAnswerLimit,
		aRecordLimit:   cfg.ARecordLimit,
		nodeMetaTXT:    !cfg.DisableNodeMetaTXT,
		recursorWait:   cfg.RecursorTimeout,
		barrier:        cfg.ReadBarrier,
		barrierWait:    cfg.ReadBarrierTimeout,
		remote:         cfg.Remote,
		queryFailover:  cfg.QueryFailover,
	}
	def := DefaultConfig()
	if st.dc == "" {
		st.dc = def.Datacenter
	}
	if _, ok := dns.IsDomainName(st.dc); !ok || strings.Contains(st.dc, ".") {
		return settings{}, fmt.Errorf("dnsserver: datacenter %q is not a DNS label", cfg.Datacenter)
	}
	if st.udpAnswerLimit <= 0 {
		st.udpAnswerLimit = def.UDPAnswerLimit
	}
	if st.aRecordLimit < 0 {
		st.aRecordLimit = 0
	}
	if st.recursorWait <= 0 {
		st.recursorWait = def.RecursorTimeout
	}
	if st.barrierWait <= 0 {
		st.barrierWait = def.ReadBarrierTimeout
	}
	domain := cfg.Domain
	if domain == "" {
		domain = def.Domain
	}
	main, err := zoneName(domain)
	if err != nil {
		return settings{}, err
	}
	st.zones = zones{main}
	if cfg.AltDomain != "" {
		alt, err := zoneName(cfg.AltDomain)
		if err != nil {
			return settings{}, err
		}
		if alt != main {
			st.zones = append(st.zones, alt)
		}
	}
	// Longest first, so that a zone nested in the other one (consul. and
	// dc1.consul.) claims its own names.
	sort.Slice(st.zones, func(i, j int) bool { return len(st.zones[i]) > len(st.zones[j]) })
	for _, r := range cfg.Recursors {
		addr, err := recursorAddr(r)
		if err != nil {
			return settings{}, err
		}
		st.recursors = append(st.recursors, addr)
	}
	return st, nil
}

// zoneName normalizes a configured domain. The root is refused: it would
// swallow every name and leave nothing for the recursors.
func zoneName(d string) (string, error) {
	z := dns.Fqdn(strings.ToLower(strings.TrimSpace(d)))
	if _, ok := dns.IsDomainName(z); !ok || z == "." || strings.ContainsAny(z, `\ `) {
		return "", fmt.Errorf("dnsserver: invalid domain %q", d)
	}
	return z, nil
}

// recursorAddr adds port 53 to a recursor given without one, as Consul does.
func recursorAddr(r string) (string, error) {
	r = strings.TrimSpace(r)
	if ip := net.ParseIP(strings.Trim(r, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), "53"), nil
	}
	if r != "" && !strings.Contains(r, ":") {
		return net.JoinHostPort(r, "53"), nil // a host name
	}
	host, port, err := net.SplitHostPort(r)
	if err != nil || host == "" || port == "" {
		return "", fmt.Errorf("dnsserver: invalid recursor address %q", r)
	}
	return net.JoinHostPort(host, port), nil
}

// seconds turns a duration into a DNS TTL, clamped to what the field holds.
func seconds(d time.Duration) uint32 {
	s := d / time.Second
	switch {
	case s <= 0:
		return 0
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(s)
}

// ttlTable answers service_ttl: exact names win over prefixes, and the
// longest prefix wins among those, the order Consul documents.
type ttlTable struct {
	exact    map[string]uint32
	prefixes []ttlPrefix // longest first
}

type ttlPrefix struct {
	prefix string
	ttl    uint32
}

func newTTLTable(m map[string]time.Duration) ttlTable {
	t := ttlTable{exact: make(map[string]uint32, len(m))}
	for k, d := range m {
		k = strings.ToLower(k)
		if p, ok := strings.CutSuffix(k, "*"); ok {
			t.prefixes = append(t.prefixes, ttlPrefix{p, seconds(d)})
			continue
		}
		t.exact[k] = seconds(d)
	}
	sort.Slice(t.prefixes, func(i, j int) bool { return len(t.prefixes[i].prefix) > len(t.prefixes[j].prefix) })
	return t
}

// lookup returns the TTL for a service name given in lower case.
func (t ttlTable) lookup(service string) uint32 {
	if ttl, ok := t.exact[service]; ok {
		return ttl
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(service, p.prefix) {
			return p.ttl
		}
	}
	return 0
}
