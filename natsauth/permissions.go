package natsauth

import (
	"slices"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/agent/rpc"
	"github.com/heraldhq/herald/agent/userevent"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/watch"
)

// filters are the subject filters of one direction (publish or subscribe):
// NATS lets a subject through when an allow filter matches it and no deny
// filter does.
type filters struct{ allow, deny []string }

func (f *filters) add(o filters) {
	f.allow = append(f.allow, o.allow...)
	f.deny = append(f.deny, o.deny...)
}

// permission is the filters as NATS takes them: sorted and without
// repeats, so that equal grants compare equal. NATS reads an empty allow
// list as "allow everything" (for subscriptions) and skips a filter it
// finds invalid, so no allow is a deny of everything, and an invalid deny
// (which the escaping of names should make impossible) denies everything
// too rather than be dropped.
func (f filters) permission() *server.SubjectPermission {
	clean := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		return slices.Compact(s)
	}
	allow := slices.DeleteFunc(clean(f.allow), func(s string) bool { return !server.IsValidSubject(s) })
	deny := clean(f.deny)
	if len(allow) == 0 || slices.ContainsFunc(deny, func(s string) bool { return !server.IsValidSubject(s) }) {
		return &server.SubjectPermission{Allow: []string{}, Deny: []string{">"}}
	}
	p := &server.SubjectPermission{Allow: allow}
	if len(deny) > 0 {
		p.Deny = deny
	}
	return p
}

// jetStreamReadAPI are the JetStream API subjects a reader of the streams
// uses (stream info, direct and stored message gets, consumers and their
// acknowledgements and flow control), without those that create, change,
// purge or delete a stream or its messages: nothing but the servers may
// change the event stream.
var jetStreamReadAPI = []string{
	"$JS.API.INFO",
	"$JS.API.STREAM.NAMES",
	"$JS.API.STREAM.LIST",
	"$JS.API.STREAM.INFO.*",
	"$JS.API.STREAM.MSG.GET.*",
	"$JS.API.DIRECT.GET.>",
	"$JS.API.CONSUMER.>",
	"$JS.ACK.>",
	"$JS.FC.>",
}

// inboxes are the reply subjects of nats.go's requests.
const inboxes = "_INBOX.>"

// trustedPermissions are those of a client agent and of a management
// token: every event subject and the stream's replay, the servers' RPC as
// a requester, and user events. Not granted even to them: publishing on a
// shard's subjects (only the servers' own connections publish into the
// event stream), answering RPC requests (only the servers do) and changing
// a stream.
func trustedPermissions(dc string) *server.Permissions {
	pub := filters{allow: append([]string{rpc.SubjectAll(dc), inboxes, userevent.SubjectAll(dc)}, jetStreamReadAPI...)}
	sub := filters{allow: []string{inboxes, userevent.SubjectAll(dc)}}
	for _, shard := range shards {
		sub.allow = append(sub.allow, watch.StreamSubjects(dc, shard))
	}
	return &server.Permissions{Publish: pub.permission(), Subscribe: sub.permission()}
}

// shards are the shards whose event subjects trusted connections read.
var shards = []string{event.ShardKV, event.ShardCatalog, event.ShardSystem}

// userPermissions are those of any other token, from its rules: it may
// subscribe to the events it could read through the HTTP API and fire (and
// hear) the user events its event rules allow; no RPC, no JetStream.
//
// NATS filters match whole tokens only, so a rule that does not end at a
// token boundary (key_prefix "app/conf", service_prefix "web") cannot be
// expressed exactly: the grant then falls short of the rule (never beyond
// it), as described for each part below and in docs/security.md.
func userPermissions(dc string, authz acl.Authorizer) *server.Permissions {
	var sub, pub filters

	kv := pathSpace{base: shardBase(dc, event.ShardKV), truncated: true, exact: func(key string) string {
		return watch.Subject(dc, event.Event{Shard: event.ShardKV, Key: key})
	}}
	keys := pathFilters(authz, acl.ResourceKey, acl.Read, kv)
	// Session events share the KV shard's subjects, one token after the
	// shard (herald.<dc>.kv.<session ID>), where no key with a '/' lands:
	// without read on every session, the whole shard becomes the keys with
	// at least two segments, and single-segment keys are only granted by
	// their own exact rules.
	if root := kv.wildcard(""); slices.Contains(keys.allow, root) && !authz.AllowedPrefix(acl.ResourceSession, "", acl.Read) {
		keys.allow = slices.DeleteFunc(keys.allow, func(s string) bool { return s == root })
		keys.allow = append(keys.allow, kv.base+"*.>")
	}
	sub.add(keys)

	sub.add(catalogFilters(dc, authz))

	if authz.Allowed(acl.ResourceACL, "", acl.Read) {
		sub.allow = append(sub.allow, watch.StreamSubjects(dc, event.ShardSystem))
	}

	events := pathSpace{base: strings.TrimSuffix(userevent.SubjectAll(dc), ">"), exact: func(name string) string {
		return userevent.Subject(dc, name)
	}}
	sub.add(pathFilters(authz, acl.ResourceEvent, acl.Read, events))
	pub.add(pathFilters(authz, acl.ResourceEvent, acl.Write, events))

	return &server.Permissions{Publish: pub.permission(), Subscribe: sub.permission()}
}

// shardBase is "herald.<dc>.<shard>.", the start of every subject of a
// shard's events.
func shardBase(dc, shard string) string {
	return strings.TrimSuffix(watch.StreamSubjects(dc, shard), ">")
}

// pathSpace is a family of subjects named by '/'-separated names, one token
// per segment (watch.KeyTokens): the keys of the KV shard, the names of
// user events.
type pathSpace struct {
	base string // the subjects' common start, ending in '.'
	// exact is the subject of one name.
	exact func(name string) string
	// truncated says that long names' subjects are cut short
	// (watch.Subject), which a deny must allow for.
	truncated bool
}

// wildcard is the filter of every name under a token-aligned prefix ("" or
// ending in '/').
func (p pathSpace) wildcard(prefix string) string {
	if prefix == "" {
		return p.base + ">"
	}
	return p.base + watch.KeyTokens(strings.TrimSuffix(prefix, "/")) + ".>"
}

// covering is a filter matching at least the subject of every name that
// starts with prefix, for a deny: the wildcard of prefix when prefix is
// token-aligned, else of the aligned prefix it extends (a filter cannot
// end within a token), and shortened while a subject under it may have been
// cut short of its tokens.
func (p pathSpace) covering(prefix string) string {
	prefix = prefix[:strings.LastIndexByte(prefix, '/')+1]
	if prefix == "" {
		return p.wildcard("")
	}
	tokens := strings.Split(watch.KeyTokens(strings.TrimSuffix(prefix, "/")), ".")
	for p.truncated && len(tokens) > 0 && watch.SubjectMayCut(p.base+strings.Join(tokens, ".")) {
		tokens = tokens[:len(tokens)-1]
	}
	if len(tokens) == 0 {
		return p.wildcard("")
	}
	return p.base + strings.Join(tokens, ".") + ".>"
}

// pathFilters turns the rules of resource r into filters of space p that
// pass the names granted need.
//
// A prefix rule granting need allows its wildcard; one that does not end in
// '/' allows the two token-aligned parts of it that can be named: the name
// itself and everything under name + "/" (key_prefix "app" grants the keys
// "app" and "app/...", not "apple"). A prefix rule refusing need under a
// granting one denies its wildcard, widened to the token-aligned prefix it
// extends; since a deny wins in NATS, names under it that a still more
// specific rule grants are refused too. Exact rules allow or deny their own
// subject. Every exact allow is also checked with authz.Allowed.
func pathFilters(authz acl.Authorizer, r acl.Resource, need acl.Access, p pathSpace) filters {
	rules, fallback, ok := acl.RulesOf(authz)
	if !ok {
		if authz.AllowedPrefix(r, "", need) {
			return filters{allow: []string{p.wildcard("")}}
		}
		return filters{}
	}
	grants := map[string]bool{}
	for name, access := range rules.Prefix[r] {
		grants[name] = access >= need
	}
	if _, ok := grants[""]; !ok {
		grants[""] = fallback.Allowed(r, "", need)
	}
	var f filters
	for prefix, granted := range grants {
		switch {
		case granted && (prefix == "" || strings.HasSuffix(prefix, "/")):
			f.allow = append(f.allow, p.wildcard(prefix))
		case granted:
			if authz.Allowed(r, prefix, need) {
				f.allow = append(f.allow, p.exact(prefix))
			}
			f.allow = append(f.allow, p.wildcard(prefix+"/"))
		case prefix != "" && grants[nearestAncestor(grants, prefix)]:
			// An ancestor that does not grant denies (or leaves out)
			// everything under it already.
			f.deny = append(f.deny, p.covering(prefix))
		}
	}
	for name, access := range rules.Exact[r] {
		switch {
		case access < need:
			f.deny = append(f.deny, p.exact(name))
		case authz.Allowed(r, name, need):
			f.allow = append(f.allow, p.exact(name))
		}
	}
	return f
}

// nearestAncestor is the longest prefix in rules that is a proper prefix of
// name; rules always holds "".
func nearestAncestor(rules map[string]bool, name string) string {
	best := ""
	for prefix := range rules {
		if len(prefix) > len(best) && len(prefix) < len(name) && strings.HasPrefix(name, prefix) {
			best = prefix
		}
	}
	return best
}

// nameSet is what a token may read of a resource whose names are one
// subject token each (services, nodes): either every name but those in
// deny (all), or only those in allow.
type nameSet struct {
	all         bool
	allow, deny []string // names, not yet escaped
	allUndenied bool     // all, and deny is empty
}

// readableNames works out the nameSet of r. "All" needs the rule for
// every name (key_prefix "" or the default policy) to grant read, with
// no prefix rule refusing it underneath, since a filter cannot match the
// names starting with "web": service_prefix "" read with service_prefix
// "secret-" deny grants only the services named by rules of their own.
func readableNames(authz acl.Authorizer, r acl.Resource) nameSet {
	var set nameSet
	rules, fallback, ok := acl.RulesOf(authz)
	if !ok {
		set.all = authz.AllowedPrefix(r, "", acl.Read)
		set.allUndenied = set.all
		return set
	}
	root, ok := rules.Prefix[r][""]
	set.all = (ok && root >= acl.Read) || (!ok && fallback.Allowed(r, "", acl.Read))
	for prefix, access := range rules.Prefix[r] {
		if prefix != "" && access < acl.Read {
			set.all = false
		}
	}
	if set.all {
		for name, access := range rules.Exact[r] {
			if access < acl.Read {
				set.deny = append(set.deny, name)
			}
		}
		set.allUndenied = len(set.deny) == 0
		return set
	}
	for name := range rules.Exact[r] {
		if authz.Allowed(r, name, acl.Read) {
			set.allow = append(set.allow, name)
		}
	}
	for name := range rules.Prefix[r] {
		if name != "" && authz.Allowed(r, name, acl.Read) {
			set.allow = append(set.allow, name)
		}
	}
	return set
}

// tokens are the set's allowed names as tokens, "*" for all.
func (s nameSet) tokens() []string {
	if s.all {
		return []string{"*"}
	}
	out := make([]string, 0, len(s.allow))
	for _, n := range s.allow {
		out = append(out, watch.NameToken(n))
	}
	return out
}

// catalogFilters are the catalog shard's subjects a token may read:
//
//   - a node's events with node read on it;
//   - a service instance's events with service read on the service and
//     node read on its node, as the catalog endpoints ask;
//   - a check's events with node read on its node and service read on
//     every service (the subject does not name a service check's service);
//   - prepared queries with query read on every query (the subject names
//     the query's ID, not its name);
//   - the autopilot configuration with operator read;
//   - never the Connect CA, whose events carry its private keys.
//
// A filter ends in '>' only where every name it may stand for is granted:
// a subject cut short (watch.Subject) hides the names after the cut, so
// elsewhere the filter names each token (catalog.service.web.*.* rather
// than catalog.service.web.>, when only some nodes may be read).
func catalogFilters(dc string, authz acl.Authorizer) filters {
	base := shardBase(dc, event.ShardCatalog)
	nodes := readableNames(authz, acl.ResourceNode)
	services := readableNames(authz, acl.ResourceService)
	var f filters

	switch {
	case nodes.allUndenied:
		f.allow = append(f.allow, base+"node.>")
	default:
		for _, n := range nodes.tokens() {
			f.allow = append(f.allow, base+"node."+n)
		}
	}

	switch {
	case nodes.allUndenied && services.allUndenied:
		f.allow = append(f.allow, base+"service.>")
	case nodes.allUndenied:
		for _, s := range services.tokens() {
			f.allow = append(f.allow, base+"service."+s+".>")
		}
	default:
		for _, s := range services.tokens() {
			for _, n := range nodes.tokens() {
				f.allow = append(f.allow, base+"service."+s+"."+n+".*")
			}
		}
	}

	switch {
	case !services.allUndenied:
	case nodes.allUndenied:
		f.allow = append(f.allow, base+"check.>")
	default:
		for _, n := range nodes.tokens() {
			f.allow = append(f.allow, base+"check."+n+".>")
		}
	}

	for _, name := range nodes.deny {
		n := watch.NameToken(name)
		f.deny = append(f.deny,
			watch.Subject(dc, event.Event{Shard: event.ShardCatalog, Node: &event.Node{Node: name}}),
			base+"service.*."+n+".>", base+"check."+n+".>")
	}
	for _, name := range services.deny {
		f.deny = append(f.deny, base+"service."+watch.NameToken(name)+".>")
	}

	if authz.AllowedPrefix(acl.ResourceQuery, "", acl.Read) {
		f.allow = append(f.allow, base+"query.*")
	}
	if authz.Allowed(acl.ResourceOperator, "", acl.Read) {
		f.allow = append(f.allow, watch.Subject(dc, event.Event{Shard: event.ShardCatalog, Key: event.AutopilotKey}))
	}
	return f
}
