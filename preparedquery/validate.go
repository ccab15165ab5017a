package preparedquery

import (
	"fmt"
	"regexp"
	"time"

	"github.com/heraldhq/herald/event"
)

// RedactedToken is what Consul shows in place of a token it hides; a
// definition that carries it was pasted from such an answer.
const RedactedToken = "<hidden>"

// Validate checks a definition before a create or an update is proposed,
// as Consul does before its Raft apply. The message is Consul's, with its
// "Invalid prepared query: " prefix.
func Validate(q *event.PreparedQuery) error {
	if err := validate(q); err != nil {
		return fmt.Errorf("Invalid prepared query: %v", err)
	}
	return nil
}

func validate(q *event.PreparedQuery) error {
	// An anonymous query lives only as long as its session, unless it is
	// a template (which answers by name prefix, even the empty one).
	if q.Name == "" && q.Template.Type == "" && q.Session == "" {
		return fmt.Errorf("Must be bound to a session")
	}
	if q.Token == RedactedToken {
		return fmt.Errorf("Bad Token '%s', it looks like a query definition with a redacted token was submitted", q.Token)
	}
	sq := &q.Service
	if sq.Service == "" {
		return fmt.Errorf("Must provide a Service name to query")
	}
	if sq.Failover.NearestN < 0 {
		return fmt.Errorf("Bad NearestN '%d', must be >= 0", sq.Failover.NearestN)
	}
	if len(sq.Failover.Targets) > 0 && (sq.Failover.NearestN != 0 || len(sq.Failover.Datacenters) > 0) {
		return fmt.Errorf("Failover.Targets cannot be populated with Failover.NearestN or Failover.Datacenters")
	}
	if sq.SamenessGroup != "" && (sq.Failover.NearestN != 0 || len(sq.Failover.Datacenters) > 0 || len(sq.Failover.Targets) > 0) {
		return fmt.Errorf("Service.Failover cannot be populated with Service.SamenessGroup")
	}
	if err := validateMeta(sq.NodeMeta); err != nil {
		return err
	}
	if q.DNS.TTL != "" {
		ttl, err := time.ParseDuration(q.DNS.TTL)
		if err != nil {
			return fmt.Errorf("Bad DNS TTL '%s': %v", q.DNS.TTL, err)
		}
		if ttl < 0 {
			return fmt.Errorf("DNS TTL '%d', must be >=0", ttl)
		}
	}
	return nil
}

// Consul's limits on node meta filters, as on node meta itself, except
// that a filter may name Consul's own "consul-" keys.
const (
	metaMaxKeyLength   = 128
	metaMaxValueLength = 512
	metaMaxPairs       = 64
)

var metaKeyFormat = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func validateMeta(meta map[string]string) error {
	if len(meta) > metaMaxPairs {
		return fmt.Errorf("Node metadata cannot contain more than %d key/value pairs", metaMaxPairs)
	}
	for k, v := range meta {
		switch {
		case k == "":
			return fmt.Errorf("Key cannot be blank")
		case !metaKeyFormat.MatchString(k):
			return fmt.Errorf("Key contains invalid characters")
		case len(k) > metaMaxKeyLength:
			return fmt.Errorf("Key is too long (limit: %d characters)", metaMaxKeyLength)
		case len(v) > metaMaxValueLength:
			return fmt.Errorf("Value is too long (limit: %d characters)", metaMaxValueLength)
		}
	}
	return nil
}

var uuidFormat = regexp.MustCompile(`(?i)^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$`)

// IsUUID says whether s has the form of a query ID. Names of that form
// could hijack another query's ID, so the state machine refuses them when
// such an ID exists, and lookups try IDs first.
func IsUUID(s string) bool { return len(s) == 36 && uuidFormat.MatchString(s) }
