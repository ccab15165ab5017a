package acl

// An Authorizer only answers questions about one name at a time. A consumer
// that must hand a token's whole grant to another system at once (the NATS
// event stream turns it into subject permissions when a client connects)
// needs the rules themselves, and to hear when they change. The two
// optional interfaces below say how to ask; the Authorizer's answers stay
// the authority on every single name.

// RuleSource is implemented by an Authorizer made from rules, as Compile's
// is: it gives back the rules it decides by and the fallback that decides
// whatever no rule covers.
type RuleSource interface {
	// MergedRules returns the rules after merging the token's policies,
	// roles and identities (one access per resource and name, as Allowed
	// applies them: an exact rule beats a prefix rule, the longest prefix
	// wins) and the fallback for names no rule covers (DenyAll or
	// AllowAll, the default policy). The caller must not modify them.
	MergedRules() (rules *Rules, fallback Authorizer)
}

// MergedRules of a constant authorizer: no rules, and itself decides
// everything.
func (a constAuthorizer) MergedRules() (*Rules, Authorizer) { return &Rules{}, a }

// RulesOf returns the rules and fallback of a, when a is a RuleSource;
// ok is false for an authorizer that cannot list its rules, about which a
// caller can then only ask whole-resource questions (AllowedPrefix with
// the prefix "").
func RulesOf(a Authorizer) (rules *Rules, fallback Authorizer, ok bool) {
	src, isSource := a.(RuleSource)
	if !isSource {
		return nil, nil, false
	}
	rules, fallback = src.MergedRules()
	if rules == nil {
		rules = &Rules{}
	}
	if fallback == nil {
		fallback = DenyAll()
	}
	return rules, fallback, true
}

// ChangeNotifier is implemented by a Resolver that can tell when what a
// secret resolves to may have changed: a token, policy or role written or
// deleted, an ACL snapshot restored. Holders of long-lived sessions (NATS
// connections) resolve their secrets again then, so a revoked token stops
// working without anyone polling.
type ChangeNotifier interface {
	// Changed returns a channel closed at the next such change. Take it
	// before resolving, so that no change in between is missed.
	Changed() <-chan struct{}
}
