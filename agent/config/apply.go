package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A source is one layer of user configuration (a file, an -hcl fragment,
// the dev defaults or the flags) decoded into generic values: objects are
// map[string]any, lists []any, numbers int or float64, and strings and
// bools themselves. Keys absent from the map are simply not set, which is
// what lets a later source override only what it mentions.

// loader applies sources, one after the other, to a Config.
type loader struct {
	cfg *Config
	// source names the source being applied ("file /etc/consul.d/a.hcl"),
	// for warnings.
	source string
}

// setter stores one decoded value into the Config.
type setter func(v any) error

// fields maps the keys of one object to where their values go.
type fields map[string]setter

// keyError is an error about the value of one key; path is the key's full
// dotted path ("ports.http", "services[1].port").
type keyError struct {
	path string
	err  error
}

func (e *keyError) Error() string { return e.path + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// apply merges one source into l.cfg.
func (l *loader) apply(source string, m map[string]any) error {
	l.source = source
	if err := l.applyObject("", m, l.topLevel(), false); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}

// topLevel lists every top-level key Herald implements.
func (l *loader) topLevel() fields {
	c := l.cfg
	top := fields{
		"node_name":                  stringField(&c.NodeName),
		"node_id":                    stringField(&c.NodeID),
		"datacenter":                 stringField(&c.Datacenter),
		"data_dir":                   stringField(&c.DataDir),
		"server":                     boolField(&c.Server),
		"bootstrap":                  boolField(&c.Bootstrap),
		"bootstrap_expect":           intField(&c.BootstrapExpect),
		"leave_on_terminate":         optBoolField(&c.leaveOnTerminate),
		"skip_leave_on_interrupt":    optBoolField(&c.skipLeaveOnInterrupt),
		"bind_addr":                  stringField(&c.BindAddr),
		"advertise_addr":             stringField(&c.AdvertiseAddr),
		"client_addr":                stringField(&c.ClientAddr),
		"nats_url":                   stringField(&c.NATSURL),
		"nats_routes":                appendStrings(&c.NATSRoutes),
		"log_level":                  stringField(&c.LogLevel),
		"log_json":                   boolField(&c.LogJSON),
		"ui":                         boolField(&c.UIEnabled), // older spelling of ui_config.enabled, which sorts later and so wins, as in Consul
		"ui_dir":                     stringField(&c.UIDir),
		"ui_content_path":            stringField(&c.UIContentPath),
		"enable_script_checks":       boolField(&c.EnableScriptChecks),
		"enable_local_script_checks": boolField(&c.EnableLocalScriptChecks),
		"enable_debug":               boolField(&c.EnableDebug),
		"start_join":                 appendStrings(&c.StartJoin),
		"retry_join":                 appendStrings(&c.RetryJoin),
		"retry_interval":             durationField(&c.RetryInterval),
		"retry_max":                  intField(&c.RetryMax),
		"domain":                     stringField(&c.Domain),
		"alt_domain":                 stringField(&c.AltDomain),
		"recursor":                   appendStrings(&c.Recursors), // Consul's single-recursor spelling
		"recursors":                  appendStrings(&c.Recursors),
		"node_meta":                  stringMapField(&c.NodeMeta),
		"encrypt":                    stringField(&c.Encrypt),
		"encrypt_verify_incoming":    boolField(&c.EncryptVerifyIncoming),
		"encrypt_verify_outgoing":    boolField(&c.EncryptVerifyOutgoing),
		"disable_keyring_file":       boolField(&c.DisableKeyringFile),
		"pid_file":                   stringField(&c.PidFile),
		"ports": l.block("ports", fields{
			"http":             intField(&c.Ports.HTTP),
			"https":            intField(&c.Ports.HTTPS),
			"dns":              intField(&c.Ports.DNS),
			"server":           intField(&c.Ports.Server),
			"serf_lan":         intField(&c.Ports.SerfLAN),
			"serf_wan":         chosenIntField(&c.Ports.SerfWAN, &c.WAN.SerfPortSet),
			"nats_gateway":     chosenIntField(&c.WAN.GatewayPort, &c.WAN.GatewayPortSet),
			"grpc":             intField(&c.Ports.GRPC),
			"nats":             chosenIntField(&c.Ports.NATS, &c.Ports.NATSSet),
			"nats_cluster":     chosenIntField(&c.Ports.NATSCluster, &c.Ports.NATSClusterSet),
			"sidecar_min_port": intField(&c.Ports.SidecarMin),
			"sidecar_max_port": intField(&c.Ports.SidecarMax),
		}),
		"addresses": l.block("addresses", fields{
			"http":  stringField(&c.Addresses.HTTP),
			"https": stringField(&c.Addresses.HTTPS),
			"dns":   stringField(&c.Addresses.DNS),
			"grpc":  stringField(&c.Addresses.GRPC),
		}),
		"unix_sockets": l.block("unix_sockets", fields{
			"mode":  stringField(&c.UnixSockets.Mode),
			"user":  stringField(&c.UnixSockets.User),
			"group": stringField(&c.UnixSockets.Group),
		}),
		"performance": l.block("performance", fields{
			"raft_multiplier": intField(&c.RaftMultiplier),
		}),
		"limits": l.block("limits", fields{
			"kv_max_value_size": intField(&c.KVMaxValueSize),
			"txn_max_ops":       intField(&c.TxnMaxOps),
		}),
		"history": l.block("history", fields{
			"retain_commands": intField(&c.HistoryRetainCommands),
			"retain_age":      durationField(&c.HistoryRetainAge),
		}),
		"telemetry": l.telemetryFields(),
		"acl":       l.aclFields(),
		// Consul's top-level token keys from before the acl block.
		"acl_token":              l.aclToken("default"),
		"acl_agent_token":        l.aclToken("agent"),
		"acl_agent_master_token": l.aclToken("agent_recovery"),
		"acl_replication_token":  l.aclToken("replication"),
		// The acl block's keys win over these (keys apply in sorted
		// order, so the block's come first).
		"acl_master_token":   l.legacyACLToken("initial_management"),
		"acl_default_policy": unlessSet(&c.ACL.DefaultPolicy, stringField),
		"acl_down_policy":    unlessSet(&c.ACL.DownPolicy, stringField),
		"acl_ttl":            unlessSet(&c.ACL.TokenTTL, durationField),
		// acl.enable_token_replication's name before the acl block.
		"enable_acl_replication": unlessSet(&c.ACL.EnableTokenReplication, boolField),
		"autopilot": l.block("autopilot", fields{
			"cleanup_dead_servers":      boolField(&c.Autopilot.CleanupDeadServers),
			"dead_server_cleanup_after": durationField(&c.Autopilot.DeadServerCleanupAfter),
			"min_quorum":                intField(&c.Autopilot.MinQuorum),
		}),
		"ui_config": l.block("ui_config", fields{
			"enabled":      boolField(&c.UIEnabled),
			"dir":          stringField(&c.UIDir),
			"content_path": stringField(&c.UIContentPath),
		}),
		"dns_config": l.block("dns_config", fields{
			"allow_stale":                     boolField(&c.DNS.AllowStale),
			"max_stale":                       l.maxStale,
			"node_ttl":                        durationField(&c.DNS.NodeTTL),
			"service_ttl":                     durationMapField(&c.DNS.ServiceTTL),
			"enable_truncate":                 boolField(&c.DNS.EnableTruncate),
			"only_passing":                    boolField(&c.DNS.OnlyPassing),
			"udp_answer_limit":                intField(&c.DNS.UDPAnswerLimit),
			"a_record_limit":                  intField(&c.DNS.ARecordLimit),
			"enable_additional_node_meta_txt": boolField(&c.DNS.EnableAdditionalNodeMetaTXT),
			"recursor_timeout":                durationField(&c.DNS.RecursorTimeout),
		}),
		"connect":        l.connectBlock(),
		"config_entries": l.configEntriesBlock(),
		"service":        func(v any) error { return l.addServices("service", v) },
		"services":       func(v any) error { return l.addServices("services", v) },
		"check":          func(v any) error { return l.addChecks("check", v, &c.Checks) },
		"checks":         func(v any) error { return l.addChecks("checks", v, &c.Checks) },
		"watches": func(v any) error {
			objs, err := toObjectList(v)
			if err != nil {
				return err
			}
			for _, o := range objs {
				c.Watches = append(c.Watches, normalizeRaw(o).(map[string]any))
			}
			return nil
		},
	}
	for k, set := range l.legacyTLSFields() {
		top[k] = set
	}
	for k, set := range l.wanFields() {
		top[k] = set
	}
	for k, set := range l.kvReplicationField() {
		top[k] = set
	}
	return top
}

// consulMaxStale is Consul's default dns_config.max_stale, "ten years":
// answers of any age. It is what Herald does, so setting it needs no warning.
const consulMaxStale = 87600 * time.Hour

// maxStale checks dns_config.max_stale and warns when it asks for a bound.
// Consul re-runs a DNS query on the leader when the answering server lags
// it by more than max_stale. Herald cannot: an agent answers from its own
// copy of the catalog and has no measure of how far that copy lags the
// leader. Rather than pretend to a bound, it says what it does instead.
func (l *loader) maxStale(v any) error {
	d, err := toDuration(v)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("cannot be negative (%s)", d)
	}
	if d != consulMaxStale {
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf(
			"config key \"dns_config.max_stale\" = %s is not implemented by Herald and is ignored (%s): "+
				"DNS answers come from this agent's copy of the catalog, whatever its lag behind the leader; "+
				"set dns_config.allow_stale = false to have every answer wait on a read barrier instead",
			d, l.source))
	}
	return nil
}

// block is the setter of a nested object such as ports{}: it merges the
// object's keys into the Config one by one, so blocks in several sources
// combine rather than replace each other.
func (l *loader) block(path string, fs fields) setter {
	return func(v any) error { return l.applyObject(path, v, fs, false) }
}

// applyObject sets every key of the object v that fs knows and warns about
// the others. With fold, keys also match ignoring case and underscores,
// which is how Consul accepts the API's CamelCase in service definitions.
func (l *loader) applyObject(path string, v any, fs fields, fold bool) error {
	obj, err := toObject(v)
	if err != nil {
		return &keyError{path, err}
	}
	for _, key := range sortedKeys(obj) {
		full := joinPath(path, key)
		val := obj[key]
		if val == nil { // JSON null: not set, so nothing to warn about either
			continue
		}
		set, ok := fs[key]
		if !ok && fold {
			set, ok = fs[foldedName(key, fs)]
		}
		if !ok {
			l.warnKey(full)
			continue
		}
		if err := set(val); err != nil {
			var ke *keyError
			if errors.As(err, &ke) {
				return err // already names its full path
			}
			return &keyError{full, err}
		}
	}
	return nil
}

// foldedName returns the name in fs that key spells ignoring case and
// underscores, or "".
func foldedName(key string, fs fields) string {
	want := fold(key)
	for name := range fs {
		if fold(name) == want {
			return name
		}
	}
	return ""
}

func fold(key string) string { return strings.ToLower(strings.ReplaceAll(key, "_", "")) }

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath names element i of a list of n objects: just the key when there
// is one element, so that a JSON object and an HCL block read the same.
func indexPath(key string, i, n int) string {
	if n == 1 {
		return key
	}
	return fmt.Sprintf("%s[%d]", key, i)
}

func (l *loader) warnKey(path string) {
	why := "is unknown"
	if notImplemented[genericPath(path)] {
		why = "is not implemented by Herald"
	}
	l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("config key %q %s and is ignored (%s)", path, why, l.source))
}

// genericPath turns the path of a key inside a list element into the form
// notImplemented uses: "services[2].Connect" becomes "service.connect".
func genericPath(path string) string {
	path = strings.ToLower(path)
	for {
		open := strings.IndexByte(path, '[')
		shut := strings.IndexByte(path, ']')
		if open < 0 || shut < open {
			break
		}
		path = path[:open] + path[shut+1:]
	}
	if strings.HasPrefix(path, "services.") {
		path = "service." + strings.TrimPrefix(path, "services.")
	}
	return path
}

func (l *loader) addServices(key string, v any) error {
	objs, err := toObjectList(v)
	if err != nil {
		return err
	}
	for i, o := range objs {
		path := indexPath(key, i, len(objs))
		s := ServiceDefinition{Weights: Weights{Passing: 1, Warning: 1}}
		err := l.applyObject(path, o, fields{
			"kind":                stringField(&s.Kind),
			"id":                  stringField(&s.ID),
			"name":                stringField(&s.Name),
			"tags":                appendStrings(&s.Tags),
			"address":             stringField(&s.Address),
			"port":                intField(&s.Port),
			"meta":                stringMapField(&s.Meta),
			"enable_tag_override": boolField(&s.EnableTagOverride),
			"token":               stringField(&s.Token),
			"socket_path":         stringField(&s.SocketPath),
			"connect":             func(v any) error { s.Connect = v; return nil },
			"proxy":               func(v any) error { s.Proxy = v; return nil },
			"ports": func(v any) error {
				ports, err := toObjectList(v)
				if err != nil {
					return err
				}
				for j, po := range ports {
					var p ServicePort
					if err := l.applyObject(indexPath(joinPath(path, "ports"), j, len(ports)), po, fields{
						"name":    stringField(&p.Name),
						"port":    intField(&p.Port),
						"default": boolField(&p.Default),
					}, true); err != nil {
						return err
					}
					s.Ports = append(s.Ports, p)
				}
				return nil
			},
			"locality": func(v any) error {
				s.Locality = &Locality{}
				return l.applyObject(joinPath(path, "locality"), v, fields{
					"region": stringField(&s.Locality.Region),
					"zone":   stringField(&s.Locality.Zone),
				}, true)
			},
			"tagged_addresses": func(v any) error {
				return l.addTaggedAddresses(joinPath(path, "tagged_addresses"), v, &s.TaggedAddresses)
			},
			"weights": func(v any) error {
				return l.applyObject(joinPath(path, "weights"), v, fields{
					"passing": intField(&s.Weights.Passing),
					"warning": intField(&s.Weights.Warning),
				}, true)
			},
			"check":  func(v any) error { return l.addChecks(joinPath(path, "check"), v, &s.Checks) },
			"checks": func(v any) error { return l.addChecks(joinPath(path, "checks"), v, &s.Checks) },
		}, true)
		if err != nil {
			return err
		}
		l.cfg.Services = append(l.cfg.Services, s)
	}
	return nil
}

func (l *loader) addTaggedAddresses(path string, v any, dst *map[string]ServiceAddress) error {
	obj, err := toObject(v)
	if err != nil {
		return err
	}
	if *dst == nil {
		*dst = map[string]ServiceAddress{}
	}
	for _, tag := range sortedKeys(obj) {
		var a ServiceAddress
		err := l.applyObject(joinPath(path, tag), obj[tag], fields{
			"address": stringField(&a.Address),
			"port":    intField(&a.Port),
		}, true)
		if err != nil {
			return err
		}
		(*dst)[tag] = a
	}
	return nil
}

// addChecks appends check definitions as raw maps with canonical keys.
// Checks stay raw because their many type-specific fields are interpreted by
// the check runners; here they only get one spelling per key, and keys
// Herald cannot act on are dropped with a warning.
func (l *loader) addChecks(key string, v any, dst *[]map[string]any) error {
	objs, err := toObjectList(v)
	if err != nil {
		return err
	}
	for i, o := range objs {
		path := indexPath(key, i, len(objs))
		check := map[string]any{}
		for _, k := range sortedKeys(o) {
			name, known := checkKeys[fold(k)]
			switch {
			case !known:
				l.warnKey(joinPath(path, k))
			case checkKeysNotImplemented[name]:
				l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf(
					"config key %q is not implemented by Herald and is ignored (%s)", joinPath(path, k), l.source))
			case o[k] != nil:
				check[name] = normalizeRaw(o[k])
			}
		}
		*dst = append(*dst, check)
	}
	return nil
}

// checkKeys maps the folded spelling (lower case, no underscores) of every
// check definition key Consul accepts to its canonical snake_case name.
var checkKeys = func() map[string]string {
	names := []string{
		"id", "name", "notes", "service_id", "token", "status",
		"args", "http", "header", "method", "body", "disable_redirects",
		"tcp", "tcp_use_tls", "udp", "grpc", "grpc_use_tls", "h2ping", "h2ping_use_tls",
		"tls_server_name", "tls_skip_verify", "alias_node", "alias_service",
		"interval", "timeout", "ttl", "success_before_passing",
		"failures_before_warning", "failures_before_critical",
		"deregister_critical_service_after", "output_max_size",
		"docker_container_id", "shell", "os_service",
	}
	m := map[string]string{"checkid": "id", "scriptargs": "args"} // the API's spellings
	for _, n := range names {
		m[fold(n)] = n
	}
	return m
}()

// checkKeysNotImplemented are check keys Consul has that Herald ignores.
var checkKeysNotImplemented = map[string]bool{
	"os_service": true,
}

// notImplemented lists Consul configuration keys that Herald accepts but
// ignores, so that the warning can say so rather than call them unknown.
var notImplemented = func() map[string]bool {
	keys := []string{
		"acl_datacenter", "acl_enable_key_list_policy",
		"advertise_addr_ipv4", "advertise_addr_ipv6",
		"advertise_addr_wan_ipv4", "advertise_addr_wan_ipv6", "advertise_reconnect_timeout",
		"audit", "auto_config", "auto_encrypt", "auto_reload_config",
		"check_output_max_size", "check_update_interval",
		"client_addr_ipv4", "cloud", "connect.enable_mesh_gateway_wan_federation",
		"default_query_time", "disable_anonymous_signature", "disable_coordinates",
		"disable_host_node_id", "disable_http_unprintable_char_filter",
		"disable_remote_exec", "disable_update_check",
		"discard_check_output", "discovery_max_stale",
		"enable_agent_tls_for_checks", "enable_central_service_config",
		"enable_syslog",
		"experiments", "gossip_lan", "gossip_wan", "http_config",
		"license_path", "locality", "log_file",
		"log_rotate_bytes", "log_rotate_duration", "log_rotate_max_files",
		"max_query_time", "non_voting_server", "peering",
		"primary_gateways", "primary_gateways_retry_interval", "raft_boltdb",
		"raft_logstore", "raft_protocol", "raft_snapshot_interval",
		"raft_snapshot_threshold", "raft_trailing_logs", "read_replica",
		"reconnect_timeout", "reconnect_timeout_wan", "rejoin_after_leave",
		"reporting",
		"rpc", "rpc_max_conns_per_client", "segment", "segments", "serf_lan",
		"serf_wan", "server_name", "server_rejoin_age_max", "session_ttl_min",
		"syslog_facility",
		"use_streaming_backend", "xds", "tls.grpc.use_auto_cert",
		// Consul's sdk/testutil writes these: the Consul version it found,
		// and the enterprise admin partition.
		"version", "version_prerelease", "version_metadata", "partition",
		"addresses.grpc_tls", "autopilot.last_contact_threshold", "autopilot.max_trailing_logs",
		"autopilot.server_stabilization_time", "autopilot.redundancy_zone_tag",
		"autopilot.disable_upgrade_migration", "autopilot.upgrade_version_tag",
		"ports.grpc_tls",
		"ports.proxy_min_port", "ports.proxy_max_port",
		"ports.expose_min_port", "ports.expose_max_port",
		"performance.leave_drain_time", "performance.rpc_hold_timeout",
		"limits.http_max_conns_per_client", "limits.https_handshake_timeout",
		"limits.request_limits", "limits.rpc_client_timeout",
		"limits.rpc_handshake_timeout", "limits.rpc_max_burst",
		"limits.rpc_max_conns_per_client", "limits.rpc_rate", "limits.txn_max_req_len",
		"dns_config.cache_max_age", "dns_config.disable_compression",
		"dns_config.prefer_namespace",
		"dns_config.recursor_strategy", "dns_config.soa", "dns_config.use_cache",
		"ui_config.metrics_provider", "ui_config.metrics_provider_files",
		"ui_config.metrics_provider_options_json", "ui_config.metrics_proxy",
		"ui_config.dashboard_url_templates",
		"service.namespace", "service.partition",
	}
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}()

func stringField(p *string) setter {
	return func(v any) (err error) { *p, err = toString(v); return err }
}

func intField(p *int) setter {
	return func(v any) (err error) { *p, err = toInt(v); return err }
}

func boolField(p *bool) setter {
	return func(v any) (err error) { *p, err = toBool(v); return err }
}

// chosenIntField is intField for a key whose default is only a preference:
// it also records that a source chose the value.
func chosenIntField(p *int, chosen *bool) setter {
	return func(v any) (err error) {
		if *p, err = toInt(v); err == nil {
			*chosen = true
		}
		return err
	}
}

// optBoolField is boolField for a key whose default depends on others.
func optBoolField(p **bool) setter {
	return func(v any) error {
		b, err := toBool(v)
		if err == nil {
			*p = &b
		}
		return err
	}
}

func durationField(p *time.Duration) setter {
	return func(v any) (err error) { *p, err = toDuration(v); return err }
}

func appendStrings(p *[]string) setter {
	return func(v any) error {
		list, err := toStrings(v)
		*p = append(*p, list...)
		return err
	}
}

// stringMapField merges an object of strings into *p key by key.
func stringMapField(p *map[string]string) setter { return mapField(p, toString) }

// durationMapField merges an object of durations into *p key by key.
func durationMapField(p *map[string]time.Duration) setter { return mapField(p, toDuration) }

// mapField merges an object into *p key by key, converting each value.
func mapField[V any](p *map[string]V, convert func(any) (V, error)) setter {
	return func(v any) error {
		obj, err := toObject(v)
		if err != nil {
			return err
		}
		if *p == nil {
			*p = map[string]V{}
		}
		for _, k := range sortedKeys(obj) {
			val, err := convert(obj[k])
			if err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
			(*p)[k] = val
		}
		return nil
	}
}

func toString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("expected a string, got %s", describe(v))
}

// toInt accepts numbers, and numeric strings such as "8500" since Consul
// users write ports both ways.
func toInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		// The bounds keep the conversion exact and away from overflow.
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("expected a whole number, got %s", describe(v))
}

func toBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("expected true or false, got %s", describe(v))
}

// toDuration accepts Go duration strings ("10s", "1h30m"), as Consul does.
// A bare number is refused: it is unclear whether it means seconds or
// nanoseconds.
func toDuration(v any) (time.Duration, error) {
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err == nil {
			return d, nil
		}
	}
	return 0, fmt.Errorf("expected a duration such as \"10s\", got %s", describe(v))
}

// toStrings accepts a list of strings, or one string as a list of one.
func toStrings(v any) ([]string, error) {
	if s, ok := v.(string); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("expected a list of strings, got %s", describe(v))
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("expected a list of strings, got an element %s", describe(e))
		}
		out = append(out, s)
	}
	return out, nil
}

// toObject accepts an object, or a non-empty list of objects merged in
// order: HCL decodes every block, and repeated blocks, as a list of objects.
func toObject(v any) (map[string]any, error) {
	if m, ok := v.(map[string]any); ok {
		return m, nil
	}
	list, ok := objectList(v)
	if !ok {
		return nil, fmt.Errorf("expected an object, got %s", describe(v))
	}
	merged := map[string]any{}
	for _, m := range list {
		for k, e := range m {
			merged[k] = e
		}
	}
	return merged, nil
}

// toObjectList accepts a list of objects, or one object as a list of one:
// a JSON "service": {...} and an HCL service {...} mean the same.
func toObjectList(v any) ([]map[string]any, error) {
	if m, ok := v.(map[string]any); ok {
		return []map[string]any{m}, nil
	}
	if list, ok := objectList(v); ok {
		return list, nil
	}
	if list, ok := v.([]any); ok && len(list) == 0 {
		return nil, nil
	}
	return nil, fmt.Errorf("expected an object or a list of objects, got %s", describe(v))
}

// objectList returns v as a list of objects if it is a non-empty list whose
// elements are all objects.
func objectList(v any) ([]map[string]any, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := make([]map[string]any, len(list))
	for i, e := range list {
		if out[i], ok = e.(map[string]any); !ok {
			return nil, false
		}
	}
	return out, true
}

// normalizeRaw prepares a value kept as a raw map (checks, watches): a list
// of objects becomes one merged object at every level, undoing HCL's
// block-as-list so that `header { ... }` in HCL and "header": {...} in JSON
// give the same map. No key in a check or watch definition holds a list of
// objects, so nothing is lost.
func normalizeRaw(v any) any {
	if _, ok := objectList(v); ok {
		merged, _ := toObject(v)
		return normalizeRaw(merged)
	}
	return mapElements(v, normalizeRaw)
}

// normalize converts what a decoder produced into a source's generic
// values: encoding/json's json.Number becomes int or float64 and hcl's
// []map[string]interface{} becomes []any, so that JSON and HCL decode to
// identical values. A number too large for float64 becomes ±Inf, which every
// numeric key then rejects with a clear message.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 0); err == nil {
			return int(n)
		}
		f, _ := strconv.ParseFloat(string(x), 64) // valid JSON always parses, at worst to ±Inf
		return f
	case int64:
		return int(x)
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return mapElements(v, normalize)
}

// mapElements returns a copy of an object or a list with f applied to each
// of its elements, and any other value as it is.
func mapElements(v any, f func(any) any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = f(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = f(e)
		}
		return out
	}
	return v
}

// describe names a value's kind (and a short form of it) for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case int, float64:
		return fmt.Sprintf("number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
