package acl

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ResourceIntention is the access to intentions whose destination is the
// named service (Consul's "intention:read" permission). Rules never name it
// directly: a service or service_prefix rule's "intentions" field sets it,
// and without that field Compile derives it from the service access as
// Consul does (read or write on the service grants intention read, deny
// denies).
const ResourceIntention Resource = "intention"

// Rules is a parsed policy: Consul's rules language, from HCL or JSON.
type Rules struct {
	// Segmented rules, by resource: exact rules (key "a") and prefix rules
	// (key_prefix "a/"). A service rule's explicit "intentions" access is
	// under ResourceIntention, with the service's name.
	Exact  map[Resource]map[string]Access
	Prefix map[Resource]map[string]Access
	// Single holds the one-value resources: operator, acl, keyring, mesh.
	Single map[Resource]Access
}

// ErrNotImplemented marked the parts of this package that were stubs; no
// function returns it any more. It stays so that code written against the
// stubs still builds.
var ErrNotImplemented = errors.New("acl: not implemented")

// Parse reads a policy's rules, in HCL or JSON as Consul accepts them. A
// syntax error or an unknown resource or access names its line and column
// (a *SyntaxError), for the API's 400 answer. Empty rules (nothing, or only
// whitespace and comments) are a valid policy granting nothing. A rule named
// twice in one policy is merged as two policies' rules are (see Compile).
func Parse(src string) (*Rules, error) {
	b := &builder{rules: &Rules{}}
	var err error
	if isJSON(src) {
		err = parseJSON(src, b)
	} else {
		err = parseHCL(src, b)
	}
	if err != nil {
		return nil, err
	}
	return b.rules, nil
}

// isJSON reports whether src is a JSON policy: as HCL decides, one whose
// first non-space character opens an object.
func isJSON(src string) bool {
	s := strings.TrimLeftFunc(src, unicode.IsSpace)
	return strings.HasPrefix(s, "{")
}

// SyntaxError is a policy that cannot be parsed.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string { return e.Msg }

// position is where a token starts: 1-based line, and column counted in
// characters from 1.
type position struct{ line, column int }

// syntaxErrorf is a *SyntaxError at pos whose message ends with the
// position, so that an error passed on as text still names it.
func syntaxErrorf(pos position, format string, args ...any) *SyntaxError {
	line, col := max(pos.line, 1), max(pos.column, 1)
	msg := fmt.Sprintf(format, args...)
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf("%s at line %d, column %d", msg, line, col)}
}

// offsetPosition is the position of byte offset off in src.
func offsetPosition(src string, off int) position {
	off = min(max(off, 0), len(src))
	before := src[:off]
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return position{
		line:   strings.Count(before, "\n") + 1,
		column: utf8.RuneCountInString(before[lineStart:]) + 1,
	}
}

// ruleKind is a segmented resource's exact or prefix rule, as the rules
// language names it.
type ruleKind struct {
	name     string // "key_prefix"
	resource Resource
	prefix   bool
}

// segmentedKinds are the block names of segmented rules, by lower-case name:
// Consul matches rule and field names regardless of case.
var segmentedKinds = func() map[string]ruleKind {
	kinds := map[string]ruleKind{}
	for _, r := range []Resource{ResourceKey, ResourceService, ResourceNode, ResourceSession, ResourceEvent, ResourceQuery, ResourceAgent} {
		kinds[string(r)] = ruleKind{name: string(r), resource: r}
		kinds[string(r)+"_prefix"] = ruleKind{name: string(r) + "_prefix", resource: r, prefix: true}
	}
	return kinds
}()

// peering is Consul's cluster peering rule: accepted and checked, but
// Herald has no peering to guard, so it grants nothing.
const peering = "peering"

// singleKinds are the one-value rules (operator = "read"), by lower-case
// name; peering maps to "".
var singleKinds = map[string]Resource{
	string(ResourceOperator): ResourceOperator,
	string(ResourceACL):      ResourceACL,
	string(ResourceKeyring):  ResourceKeyring,
	string(ResourceMesh):     ResourceMesh,
	peering:                  "",
}

// Field names inside a segmented rule's block.
const (
	fieldPolicy     = "policy"
	fieldIntentions = "intentions"
)

// stringValue is a string in the source and where it starts.
type stringValue struct {
	text string
	pos  position
	set  bool
}

// ruleBody is the block of one segmented rule: key "a" { policy = "read" }.
type ruleBody struct {
	open       position // the block, for an error about what it lacks
	policy     stringValue
	intentions stringValue
}

// slot is where the value of the body's field name goes, refusing an
// unknown or repeated field; keyPos is where the field's name is.
func (body *ruleBody) slot(kind ruleKind, name string, keyPos position) (*stringValue, error) {
	var dst *stringValue
	switch strings.ToLower(name) {
	case fieldPolicy:
		dst = &body.policy
	case fieldIntentions:
		if kind.resource == ResourceService {
			dst = &body.intentions
		}
	}
	if dst == nil {
		return nil, syntaxErrorf(keyPos, "Failed to parse ACL rules: unknown field %q in a %s rule (want %s)", name, kind.name, kindFields(kind))
	}
	if dst.set {
		return nil, syntaxErrorf(keyPos, "Failed to parse ACL rules: the field %q of a %s rule is set twice", name, kind.name)
	}
	return dst, nil
}

func kindFields(kind ruleKind) string {
	if kind.resource == ResourceService {
		return "policy or intentions"
	}
	return "policy"
}

// builder collects the rules a parser reads, checking each as it comes:
// the one home of the rules language's meaning, shared by the HCL and the
// JSON reader.
type builder struct {
	rules *Rules
}

// accesses are the names an access is written with.
var accesses = map[string]Access{
	"deny":  Deny,
	"read":  Read,
	"list":  List,
	"write": Write,
}

// parseAccess reads v as the access of a rule of kindName ("key_prefix",
// "service intentions", "operator") naming name (empty for a one-value
// rule); list is allowed only where allowList.
func parseAccess(kindName, name string, named bool, v stringValue, allowList bool) (Access, error) {
	a, ok := accesses[strings.ToLower(v.text)]
	if ok && (a != List || allowList) {
		return a, nil
	}
	want := "read, write or deny"
	if allowList {
		want = "read, write, list or deny"
	}
	if named {
		return Default, syntaxErrorf(v.pos, "Invalid %s policy: %q for %q (want %s)", kindName, v.text, name, want)
	}
	return Default, syntaxErrorf(v.pos, "Invalid %s policy: %q (want %s)", kindName, v.text, want)
}

// segmented adds the rule kind name { body }.
func (b *builder) segmented(kind ruleKind, name string, body ruleBody) error {
	if !body.policy.set {
		return syntaxErrorf(body.open, "Invalid %s policy: no policy for %q", kind.name, name)
	}
	a, err := parseAccess(kind.name, name, true, body.policy, kind.resource == ResourceKey)
	if err != nil {
		return err
	}
	b.rules.add(kind.resource, name, kind.prefix, a)
	if body.intentions.set {
		ia, err := parseAccess(kind.name+" intentions", name, true, body.intentions, false)
		if err != nil {
			return err
		}
		b.rules.add(ResourceIntention, name, kind.prefix, ia)
	}
	return nil
}

// single adds the one-value rule name = v; lowerName is a key of
// singleKinds.
func (b *builder) single(lowerName string, v stringValue) error {
	a, err := parseAccess(lowerName, "", false, v, false)
	if err != nil {
		return err
	}
	if r := singleKinds[lowerName]; r != "" {
		b.rules.addSingle(r, a)
	}
	return nil
}

// errUnknownRule is the error for a top-level name that is no rule.
func errUnknownRule(name string, pos position) error {
	return syntaxErrorf(pos, "Failed to parse ACL rules: unknown rule %q", name)
}

// merge is Consul's merge of two accesses to the same thing: deny wins,
// otherwise the greater access.
func merge(a, b Access) Access {
	if a == Deny || b == Deny {
		return Deny
	}
	return max(a, b)
}

// add merges access a to the exact or prefix rule on name.
func (r *Rules) add(res Resource, name string, prefix bool, a Access) {
	m := &r.Exact
	if prefix {
		m = &r.Prefix
	}
	if *m == nil {
		*m = map[Resource]map[string]Access{}
	}
	names := (*m)[res]
	if names == nil {
		names = map[string]Access{}
		(*m)[res] = names
	}
	names[name] = merge(names[name], a)
}

// addSingle merges access a to the one-value resource res.
func (r *Rules) addSingle(res Resource, a Access) {
	if r.Single == nil {
		r.Single = map[Resource]Access{}
	}
	r.Single[res] = merge(r.Single[res], a)
}

// ServiceIdentityRules are the rules a service identity grants, as Consul
// synthesises them: write on the service and its "-sidecar-proxy", read on
// every service and node.
func ServiceIdentityRules(serviceName string) *Rules {
	r := &Rules{}
	r.add(ResourceService, serviceName, false, Write)
	r.add(ResourceService, serviceName+"-sidecar-proxy", false, Write)
	r.add(ResourceService, "", true, Read)
	r.add(ResourceNode, "", true, Read)
	return r
}

// NodeIdentityRules are the rules a node identity grants: write on the
// node, read on every service.
func NodeIdentityRules(nodeName string) *Rules {
	r := &Rules{}
	r.add(ResourceNode, nodeName, false, Write)
	r.add(ResourceService, "", true, Read)
	return r
}
