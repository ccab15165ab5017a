package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Telemetry is Consul's telemetry block, as far as Herald implements it:
// metrics are kept in memory for /v1/agent/metrics and, with a positive
// prometheus_retention_time, in Prometheus form too. The sinks that send
// metrics elsewhere (statsd, statsite, dogstatsd, circonus) are not
// implemented.
type Telemetry struct {
	// MetricsPrefix starts every metric name; default "consul".
	MetricsPrefix string
	// DisableHostname leaves the host name out of gauge names.
	DisableHostname bool
	// PrometheusRetentionTime turns on ?format=prometheus when positive;
	// default 0 (off), as in Consul.
	PrometheusRetentionTime time.Duration
}

// ACL holds Consul's acl block (and its older top-level keys).
type ACL struct {
	// Enabled turns ACLs on; /v1/agent/token and /v1/acl/* answer 401 "ACL
	// support disabled" without it, as Consul does.
	Enabled bool
	// DefaultPolicy decides what no rule of a token decides: "allow" (the
	// default, as in Consul) or "deny".
	DefaultPolicy string
	// DownPolicy is what an agent of a secondary datacenter answers for a
	// token its replicated state lacks when the primary cannot be reached:
	// "allow", "deny", "extend-cache" (the default) or "async-cache"
	// (agent/acldown.go). Within a datacenter every agent holds the whole
	// ACL state, so there is nothing to fall back from.
	DownPolicy string
	// EnableTokenReplication makes a secondary datacenter replicate the
	// primary's global tokens, not only its policies and roles; TokenTTL is
	// how long a secondary keeps the primary's answer for a token it does
	// not hold (default 30s).
	EnableTokenReplication bool
	TokenTTL               time.Duration
	// EnableTokenPersistence keeps the tokens set through the API in the
	// data dir, where they win over the configured ones at the next start.
	EnableTokenPersistence bool
	// Tokens are the agent's tokens by Consul's names: "default", "agent",
	// "agent_recovery", "replication", "config_file_service_registration",
	// "dns", and the servers' "initial_management".
	Tokens map[string]string
}

// ACL default and down policies, as Consul names them.
const (
	ACLPolicyAllow = "allow"
	ACLPolicyDeny  = "deny"
)

// DefaultPolicyOrAllow is the default policy, "allow" when none is set.
func (a ACL) DefaultPolicyOrAllow() string {
	if a.DefaultPolicy == "" {
		return ACLPolicyAllow
	}
	return a.DefaultPolicy
}

// validate checks the policies' names, as Consul does when it builds its
// ACL resolver.
func (a ACL) validate() error {
	switch a.DefaultPolicy {
	case "", ACLPolicyAllow, ACLPolicyDeny:
	default:
		return fmt.Errorf("acl.default_policy must be %q or %q, not %q", ACLPolicyAllow, ACLPolicyDeny, a.DefaultPolicy)
	}
	switch a.DownPolicy {
	case "", ACLPolicyAllow, ACLPolicyDeny, "extend-cache", "async-cache":
	default:
		return fmt.Errorf("invalid ACL down policy %q", a.DownPolicy)
	}
	return nil
}

// telemetryFields are the keys of the telemetry block.
func (l *loader) telemetryFields() setter {
	t := &l.cfg.Telemetry
	return l.block("telemetry", fields{
		"metrics_prefix":            stringField(&t.MetricsPrefix),
		"disable_hostname":          boolField(&t.DisableHostname),
		"prometheus_retention_time": durationField(&t.PrometheusRetentionTime),
	})
}

// aclFields are the keys of the acl block.
func (l *loader) aclFields() setter {
	a := &l.cfg.ACL
	return l.block("acl", fields{
		"enabled":                  boolField(&a.Enabled),
		"enable_token_persistence": boolField(&a.EnableTokenPersistence),
		"default_policy":           stringField(&a.DefaultPolicy),
		"down_policy":              stringField(&a.DownPolicy),
		"enable_token_replication": boolField(&a.EnableTokenReplication),
		"token_ttl":                durationField(&a.TokenTTL),
		"tokens": l.block("acl.tokens", fields{
			"initial_management":               l.aclToken("initial_management"),
			"master":                           l.aclToken("initial_management"), // its name before Consul 1.11
			"default":                          l.aclToken("default"),
			"agent":                            l.aclToken("agent"),
			"agent_recovery":                   l.aclToken("agent_recovery"),
			"agent_master":                     l.aclToken("agent_recovery"), // its name before Consul 1.11
			"replication":                      l.aclToken("replication"),
			"config_file_service_registration": l.aclToken("config_file_service_registration"),
			"dns":                              l.aclToken("dns"),
		}),
	})
}

func (l *loader) aclToken(kind string) setter {
	return func(v any) error {
		s, err := toString(v)
		if err != nil {
			return err
		}
		if l.cfg.ACL.Tokens == nil {
			l.cfg.ACL.Tokens = map[string]string{}
		}
		l.cfg.ACL.Tokens[kind] = s
		return nil
	}
}

// legacyACLToken is aclToken for an older top-level key, which the acl
// block's key wins over.
func (l *loader) legacyACLToken(kind string) setter {
	set := l.aclToken(kind)
	return func(v any) error {
		if l.cfg.ACL.Tokens[kind] != "" {
			return nil
		}
		return set(v)
	}
}

// unlessSet is a field setter for an older key that a newer one, already
// set, wins over.
func unlessSet[T comparable](p *T, field func(*T) setter) setter {
	set := field(p)
	return func(v any) error {
		var zero T
		if *p != zero {
			return nil
		}
		return set(v)
	}
}

func init() {
	for _, k := range []string{
		"telemetry.circonus_api_token", "telemetry.circonus_api_app", "telemetry.circonus_api_url",
		"telemetry.circonus_submission_interval", "telemetry.circonus_submission_url",
		"telemetry.circonus_check_id", "telemetry.circonus_check_force_metric_activation",
		"telemetry.circonus_check_instance_id", "telemetry.circonus_check_search_tag",
		"telemetry.circonus_check_display_name", "telemetry.circonus_check_tags",
		"telemetry.circonus_broker_id", "telemetry.circonus_broker_select_tag",
		"telemetry.disable_compat_1.9", "telemetry.disable_per_tenancy_usage_metrics",
		"telemetry.dogstatsd_addr", "telemetry.dogstatsd_tags", "telemetry.enable_host_metrics",
		"telemetry.filter_default", "telemetry.prefix_filter", "telemetry.retry_failed_connection",
		"telemetry.statsd_address", "telemetry.statsite_address",
		"acl.enable_key_list_policy", "acl.policy_ttl", "acl.role_ttl",
		"acl.msp_disable_bootstrap", "acl.tokens.managed_service_provider",
	} {
		notImplemented[k] = true
	}
}

// ParseLogLevel reads a log level as Consul names them (trace, debug, info,
// warn, err or error; any case). slog has no trace level: trace is debug.
func ParseLogLevel(name string) (slog.Level, bool) {
	switch strings.ToLower(name) {
	case "trace", "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "err", "error":
		return slog.LevelError, true
	}
	return 0, false
}
