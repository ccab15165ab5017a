package acl

// Compile merges rules into one authorizer, as Consul merges a token's
// policies: for each rule the most permissive access of the policies
// holding it, except that a deny wins. Whatever no rule decides, fallback
// decides (DenyAll or AllowAll, the default policy); a nil fallback denies.
//
// The authorizer answers as Consul's does: an exact rule on a name beats
// every prefix rule, the longest prefix rule the name starts with beats
// shorter ones, and a rule, once it decides, is final: a deny is not
// overruled by the fallback. Write grants list and read, list (keys only)
// grants read, and read grants neither write nor list.
func Compile(fallback Authorizer, rules ...*Rules) Authorizer {
	if fallback == nil {
		fallback = DenyAll()
	}
	merged := &Rules{}
	for _, r := range rules {
		if r == nil {
			continue
		}
		for res, names := range r.Exact {
			for name, a := range names {
				merged.add(res, name, false, a)
			}
		}
		for res, names := range r.Prefix {
			for name, a := range names {
				merged.add(res, name, true, a)
			}
		}
		for res, a := range r.Single {
			merged.addSingle(res, a)
		}
	}
	deriveIntentions(merged)

	c := &compiled{fallback: fallback, merged: merged}
	for i, res := range segmentedResources {
		var t ruleTree
		hasRules := false
		for name, a := range merged.Exact[res] {
			t.insert(name, false, a)
			hasRules = true
		}
		for name, a := range merged.Prefix[res] {
			t.insert(name, true, a)
			hasRules = true
		}
		if hasRules {
			t.finish()
			c.trees[i] = &t
		}
	}
	for i, res := range singleResources {
		c.single[i] = merged.Single[res]
	}
	return c
}

// deriveIntentions gives every service rule without an explicit intentions
// access the one Consul derives from the merged service access: read or
// write on a service grants reading its intentions, deny denies them.
func deriveIntentions(r *Rules) {
	derive := func(services map[string]Access, prefix bool) {
		for name, a := range services {
			explicit := r.Exact
			if prefix {
				explicit = r.Prefix
			}
			if _, ok := explicit[ResourceIntention][name]; ok {
				continue
			}
			intention := Read
			if a == Deny {
				intention = Deny
			}
			r.add(ResourceIntention, name, prefix, intention)
		}
	}
	derive(r.Exact[ResourceService], false)
	derive(r.Prefix[ResourceService], true)
}

// segmentedResources and singleResources give each resource its slot in a
// compiled authorizer.
var (
	segmentedResources = [...]Resource{ResourceKey, ResourceService, ResourceNode, ResourceSession, ResourceEvent, ResourceQuery, ResourceAgent, ResourceIntention}
	singleResources    = [...]Resource{ResourceOperator, ResourceACL, ResourceKeyring, ResourceMesh}
)

// slot is r's index in segmentedResources (segmented) or singleResources;
// ok is false for a resource the rules language cannot name.
func slot(r Resource) (i int, segmented, ok bool) {
	switch r {
	case ResourceKey:
		return 0, true, true
	case ResourceService:
		return 1, true, true
	case ResourceNode:
		return 2, true, true
	case ResourceSession:
		return 3, true, true
	case ResourceEvent:
		return 4, true, true
	case ResourceQuery:
		return 5, true, true
	case ResourceAgent:
		return 6, true, true
	case ResourceIntention:
		return 7, true, true
	case ResourceOperator:
		return 0, false, true
	case ResourceACL:
		return 1, false, true
	case ResourceKeyring:
		return 2, false, true
	case ResourceMesh:
		return 3, false, true
	}
	return 0, false, false
}

// compiled is the authorizer of a token's merged rules.
type compiled struct {
	fallback Authorizer
	// merged are the rules the trees hold, for MergedRules.
	merged *Rules
	trees  [len(segmentedResources)]*ruleTree
	single [len(singleResources)]Access
}

// rule is the access of the rule deciding name on r, Default if none.
func (c *compiled) rule(r Resource, name string) Access {
	i, segmented, ok := slot(r)
	switch {
	case !ok:
		return Default
	case !segmented:
		return c.single[i]
	case c.trees[i] == nil:
		return Default
	}
	return c.trees[i].decide(name)
}

func (c *compiled) Allowed(r Resource, name string, need Access) bool {
	if a := c.rule(r, name); a != Default {
		return grants(a, need)
	}
	return c.fallback.Allowed(r, name, need)
}

// AllowedPrefix follows Consul's KeyWritePrefix: refused if the longest
// prefix rule covering prefix does not grant need, or if any rule, exact or
// prefix, on a name under prefix does not; granted if that longest prefix
// rule grants it; and otherwise (no prefix rule covers prefix, and every
// rule under it grants need) up to the fallback.
func (c *compiled) AllowedPrefix(r Resource, prefix string, need Access) bool {
	i, segmented, ok := slot(r)
	if !ok || !segmented {
		return c.Allowed(r, prefix, need)
	}
	t := c.trees[i]
	if t == nil {
		return c.fallback.AllowedPrefix(r, prefix, need)
	}
	longest, under := t.decidePrefix(prefix)
	if !under.has(need) {
		return false
	}
	if longest != Default {
		return grants(longest, need)
	}
	return c.fallback.AllowedPrefix(r, prefix, need)
}

// MergedRules returns the rules the authorizer decides by, the token's
// policies merged and the intentions derived, and its fallback: for a
// consumer that must hand a token's whole grant to another system at once.
// The caller must not modify the rules.
func (c *compiled) MergedRules() (*Rules, Authorizer) { return c.merged, c.fallback }
