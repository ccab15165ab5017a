package dnsserver

import (
	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/preparedquery"
)

// WithACL returns cat as seen by the authorizer that authorizer returns
// (the agent's default token's, Consul's rule for DNS): a service instance
// resolves only with read on its service and its node, a node only with
// read on it; what cannot be read is NXDOMAIN, as if absent. authorizer is
// asked once per catalog read (one or two per DNS query), so it must be
// cheap: the resolver's cache.
func WithACL(cat Catalog, authorizer func() acl.Authorizer) Catalog {
	return aclCatalog{cat: cat, authorizer: authorizer}
}

type aclCatalog struct {
	cat        Catalog
	authorizer func() acl.Authorizer
}

func instanceReadable(a acl.Authorizer, in *Instance) bool {
	return a.Allowed(acl.ResourceService, in.Service.Service, acl.Read) && a.Allowed(acl.ResourceNode, in.Node.Node, acl.Read)
}

func (c aclCatalog) ServiceInstances(service string) []Instance {
	return c.readable(c.cat.ServiceInstances(service))
}

// readable is list without the instances the token may not read.
func (c aclCatalog) readable(list []Instance) []Instance {
	if len(list) == 0 {
		return list
	}
	a := c.authorizer()
	for i := range list {
		if instanceReadable(a, &list[i]) {
			continue
		}
		// The projection's slice is never written: copy the rest.
		out := append(make([]Instance, 0, len(list)-1), list[:i]...)
		for j := i + 1; j < len(list); j++ {
			if instanceReadable(a, &list[j]) {
				out = append(out, list[j])
			}
		}
		return out
	}
	return list
}

func (c aclCatalog) Node(name string) (*event.Node, bool) {
	n, ok := c.cat.Node(name)
	if !ok || n == nil || !c.authorizer().Allowed(acl.ResourceNode, n.Node, acl.Read) {
		return nil, false
	}
	return n, true
}

// ExecuteQuery runs a prepared query if the wrapped catalog can, keeping
// the answers that may be read.
func (c aclCatalog) ExecuteQuery(idOrName string) (*event.PreparedQuery, []preparedquery.Answer, error) {
	qc, ok := c.cat.(QueryCatalog)
	if !ok {
		return nil, nil, preparedquery.ErrNotFound
	}
	q, answers, err := qc.ExecuteQuery(idOrName)
	if err != nil {
		return q, answers, err
	}
	a := c.authorizer()
	out := answers[:0:0]
	for i := range answers {
		if instanceReadable(a, &answers[i].Instance) {
			out = append(out, answers[i])
		}
	}
	return q, out, nil
}
