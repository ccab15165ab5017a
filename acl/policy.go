package acl

import "errors"

// Rules is a parsed policy: Consul's rules language, from HCL or JSON.
type Rules struct {
	// Segmented rules, by resource: exact rules (key "a") and prefix rules
	// (key_prefix "a/").
	Exact  map[Resource]map[string]Access
	Prefix map[Resource]map[string]Access
	// Single holds the one-value resources: operator, acl, keyring, mesh.
	Single map[Resource]Access
}

// ErrNotImplemented marks the parts of this contract still to be built.
var ErrNotImplemented = errors.New("acl: not implemented")

// Parse reads a policy's rules, in HCL or JSON as Consul accepts them. A
// syntax error or an unknown resource or access names its line and column
// (a *SyntaxError), for the API's 400 answer.
func Parse(src string) (*Rules, error) {
	return nil, ErrNotImplemented
}

// SyntaxError is a policy that cannot be parsed.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Compile merges rules into one authorizer, as Consul merges a token's
// policies: for each rule the most permissive access of the policies
// holding it, except that a deny wins. Whatever no rule decides, fallback
// decides (DenyAll or AllowAll, the default policy).
func Compile(fallback Authorizer, rules ...*Rules) Authorizer {
	return fallback
}

// ServiceIdentityRules are the rules a service identity grants, as Consul
// synthesises them: write on the service and its "-sidecar-proxy", read on
// every service and node.
func ServiceIdentityRules(serviceName string) *Rules {
	return &Rules{}
}

// NodeIdentityRules are the rules a node identity grants: write on the
// node, read on every service.
func NodeIdentityRules(nodeName string) *Rules {
	return &Rules{}
}
