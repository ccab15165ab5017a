package config

import (
	"fmt"
	"strings"
)

// KVReplication is one kv_replication block (Herald's own; Consul needs the
// separate consul-replicate daemon): the keys under Prefix in
// SourceDatacenter are copied, in order and exactly once, to
// DestinationPrefix (default Prefix) in this datacenter. The block may be
// repeated, one replication each.
type KVReplication struct {
	SourceDatacenter  string
	Prefix            string
	DestinationPrefix string
	// Token is the ACL token the source's events are read with; default
	// acl.tokens.replication, then the agent's default token.
	Token string
}

// kvReplicationField is the kv_replication key.
func (l *loader) kvReplicationField() fields {
	return fields{"kv_replication": func(v any) error {
		objs, err := toObjectList(v)
		if err != nil {
			return err
		}
		for _, o := range objs {
			var r KVReplication
			for k, raw := range normalizeRaw(o).(map[string]any) {
				s, err := toString(raw)
				if err != nil {
					return fmt.Errorf("kv_replication.%s: %w", k, err)
				}
				switch k {
				case "source_datacenter":
					r.SourceDatacenter = strings.ToLower(s)
				case "prefix":
					r.Prefix = s
				case "destination_prefix":
					r.DestinationPrefix = s
				case "token":
					r.Token = s
				default:
					return fmt.Errorf("kv_replication: unknown key %q", k)
				}
			}
			if r.DestinationPrefix == "" {
				r.DestinationPrefix = r.Prefix
			}
			l.cfg.KVReplication = append(l.cfg.KVReplication, r)
		}
		return nil
	}}
}

// validateKVReplication checks the kv_replication blocks: a source other
// than this datacenter, on a server, and destinations that do not overlap
// (two replications writing the same keys would undo each other).
func (c *Config) validateKVReplication() error {
	for i, r := range c.KVReplication {
		switch {
		case r.SourceDatacenter == "":
			return fmt.Errorf("kv_replication: source_datacenter is required")
		case r.SourceDatacenter == c.Datacenter:
			return fmt.Errorf("kv_replication: source_datacenter %q is this datacenter", r.SourceDatacenter)
		case !c.Server && !c.Dev:
			return fmt.Errorf("kv_replication is for servers: the leader of the kv shard replicates")
		}
		for _, o := range c.KVReplication[:i] {
			if strings.HasPrefix(r.DestinationPrefix, o.DestinationPrefix) || strings.HasPrefix(o.DestinationPrefix, r.DestinationPrefix) {
				return fmt.Errorf("kv_replication: destination prefixes %q and %q overlap", o.DestinationPrefix, r.DestinationPrefix)
			}
		}
	}
	return nil
}
