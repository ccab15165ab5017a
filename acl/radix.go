package acl

import "strings"

// ruleTree holds one resource's rules by name, exact and prefix rules side
// by side, as a radix tree: finding the rule that decides a name walks the
// name once, comparing bytes, and allocates nothing. It is built once, by
// Compile, and only read afterwards, so it needs no lock.
type ruleTree struct {
	root ruleNode
}

// ruleNode is the name spelled by the labels from the root down to it.
type ruleNode struct {
	// label is what this node adds to its parent's name; never empty
	// below the root.
	label string
	// exact and prefix are the rules on this name; Default for none.
	exact, prefix Access
	// children, by the first byte of their labels, which all differ.
	children []*ruleNode
	// everyRuleGrants is the set of needs that every rule in this subtree
	// grants (all of them in a subtree without rules): what AllowedPrefix
	// asks of the names under a prefix.
	everyRuleGrants needSet
}

// needSet is a set of needs (Read, List, Write), one bit each.
type needSet uint8

const allNeeds = needSet(1<<Read | 1<<List | 1<<Write)

// granted is the set of needs a rule of access a grants: write grants
// everything, list grants list and read, read only read, deny nothing.
func granted(a Access) needSet {
	switch a {
	case Write:
		return allNeeds
	case List:
		return 1<<Read | 1<<List
	case Read:
		return 1 << Read
	}
	return 0
}

func (s needSet) has(need Access) bool { return need < 8 && s&(1<<need) != 0 }

// grants reports whether a rule of access a grants need.
func grants(a Access, need Access) bool { return granted(a).has(need) }

// child is n's child whose label starts with b, or nil, and the index it
// has or would have.
func (n *ruleNode) child(b byte) (*ruleNode, int) {
	lo, hi := 0, len(n.children)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if n.children[mid].label[0] < b {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(n.children) && n.children[lo].label[0] == b {
		return n.children[lo], lo
	}
	return nil, lo
}

// insert sets the exact or prefix rule on name to a.
func (t *ruleTree) insert(name string, prefix bool, a Access) {
	n, rest := &t.root, name
	for rest != "" {
		c, i := n.child(rest[0])
		if c == nil {
			c = &ruleNode{label: rest}
			n.children = append(n.children, nil)
			copy(n.children[i+1:], n.children[i:])
			n.children[i] = c
			n, rest = c, ""
			break
		}
		common := commonPrefixLen(rest, c.label)
		if common < len(c.label) {
			// name leaves c's label part way: split the label there.
			mid := &ruleNode{label: c.label[:common], children: []*ruleNode{c}}
			c.label = c.label[common:]
			n.children[i] = mid
			c = mid
		}
		n, rest = c, rest[common:]
	}
	if prefix {
		n.prefix = a
	} else {
		n.exact = a
	}
}

func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// finish computes everyRuleGrants, once every rule is in.
func (t *ruleTree) finish() { t.root.finish() }

func (n *ruleNode) finish() needSet {
	s := allNeeds
	if n.exact != Default {
		s &= granted(n.exact)
	}
	if n.prefix != Default {
		s &= granted(n.prefix)
	}
	for _, c := range n.children {
		s &= c.finish()
	}
	n.everyRuleGrants = s
	return s
}

// decide is the access of the rule that decides name, Default if none
// does: an exact rule on name, or else the longest prefix rule that name
// starts with.
func (t *ruleTree) decide(name string) Access {
	n, rest := &t.root, name
	longest := Default
	for {
		if n.prefix != Default {
			longest = n.prefix
		}
		if rest == "" {
			if n.exact != Default {
				return n.exact
			}
			return longest
		}
		c, _ := n.child(rest[0])
		if c == nil || !strings.HasPrefix(rest, c.label) {
			return longest
		}
		n, rest = c, rest[len(c.label):]
	}
}

// decidePrefix is what AllowedPrefix needs to know of prefix: the longest
// prefix rule that prefix itself starts with (Default if none), and the
// needs granted by every rule, exact or prefix, on a name starting with
// prefix.
func (t *ruleTree) decidePrefix(prefix string) (longest Access, under needSet) {
	n, rest := &t.root, prefix
	for {
		if n.prefix != Default {
			longest = n.prefix
		}
		if rest == "" {
			return longest, n.everyRuleGrants
		}
		c, _ := n.child(rest[0])
		switch {
		case c == nil:
			return longest, allNeeds
		case strings.HasPrefix(rest, c.label):
			n, rest = c, rest[len(c.label):]
		case strings.HasPrefix(c.label, rest):
			// prefix ends inside c's label: every name in c's subtree
			// starts with prefix, and none of them is prefix itself.
			return longest, c.everyRuleGrants
		default:
			return longest, allNeeds
		}
	}
}
