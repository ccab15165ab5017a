package configentry

import (
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/consul/api"
)

// Intentions are the sources of service-intentions entries, seen one by
// one in the shape of Consul's /v1/connect/intentions (api.Intention), as
// Consul answers them since it stores intentions as config entries.

// defaultNamespace is what Consul CE answers as every intention's
// namespace.
const defaultNamespace = "default"

// ToIntentions returns the intentions of an entry whose indexes are
// create and modify, in the entry's order.
func ToIntentions(e *api.ServiceIntentionsConfigEntry, create, modify uint64) []*api.Intention {
	out := make([]*api.Intention, 0, len(e.Sources))
	for _, src := range e.Sources {
		if src == nil {
			continue
		}
		ixn := &api.Intention{ID: src.LegacyID, Description: src.Description,
			SourceNS: defaultNamespace, SourceName: src.Name, DestinationNS: defaultNamespace, DestinationName: e.Name,
			SourcePeer: src.Peer, SourceType: api.IntentionSourceConsul, Action: src.Action, Permissions: src.Permissions,
			Meta: src.LegacyMeta, Precedence: Precedence(src.Name, e.Name), CreateIndex: create, ModifyIndex: modify}
		if src.LegacyCreateTime != nil {
			ixn.CreatedAt = *src.LegacyCreateTime
		}
		if src.LegacyUpdateTime != nil {
			ixn.UpdatedAt = *src.LegacyUpdateTime
		}
		out = append(out, ixn)
	}
	return out
}

// SortIntentions orders intentions as Consul lists and matches them:
// highest precedence first, then by destination and source name.
func SortIntentions(list []*api.Intention) {
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Precedence != b.Precedence {
			return a.Precedence > b.Precedence
		}
		if a.DestinationName != b.DestinationName {
			return a.DestinationName < b.DestinationName
		}
		return a.SourceName < b.SourceName
	})
}

// Matches reports whether an intention's name (a service or "*") applies
// to the service name.
func Matches(pattern, name string) bool { return pattern == wildcard || pattern == name }

// Decide returns the intention that decides a connection from source to
// destination: the matching one of highest precedence (exact beats
// wildcard, destination before source), nil when none matches. list must
// be sorted by SortIntentions.
func Decide(list []*api.Intention, source, destination string) *api.Intention {
	for _, ixn := range list {
		if Matches(ixn.DestinationName, destination) && Matches(ixn.SourceName, source) {
			return ixn
		}
	}
	return nil
}

// Allows reports whether the deciding intention allows a connection: an
// intention with L7 permissions cannot be decided on a connection alone,
// and does not.
func Allows(ixn *api.Intention) bool {
	return len(ixn.Permissions) == 0 && ixn.Action == api.IntentionActionAllow
}

// String is Consul's "source => destination (action)".
func String(ixn *api.Intention) string {
	detail := string(ixn.Action)
	switch n := len(ixn.Permissions); {
	case n == 1:
		detail = "1 permission"
	case n > 1:
		detail = fmt.Sprintf("%d permissions", n)
	}
	return fmt.Sprintf("%s => %s (%s)", ixn.SourceName, ixn.DestinationName, detail)
}

// SourceFromIntention is the source an intention written through
// /v1/connect/intentions becomes in its destination's entry; legacyID is
// kept for the ID-based endpoints ("" for the exact ones).
func SourceFromIntention(ixn *api.Intention, legacyID string, now time.Time) *api.SourceIntention {
	src := &api.SourceIntention{Name: ixn.SourceName, Peer: ixn.SourcePeer, Action: ixn.Action,
		Permissions: ixn.Permissions, Description: ixn.Description, LegacyID: legacyID, LegacyMeta: ixn.Meta}
	if legacyID != "" {
		created := now.UTC()
		if !ixn.CreatedAt.IsZero() {
			created = ixn.CreatedAt
		}
		updated := now.UTC()
		src.LegacyCreateTime, src.LegacyUpdateTime = &created, &updated
	}
	return src
}
