package projections

import "github.com/heraldhq/herald/acl"

// ACLState answers what authorizing a command reads of the state
// (acl.CommandState) from the projections: the names behind the IDs a
// command gives. Either projection may be nil: what it holds is then
// unknown.
type ACLState struct {
	Catalog *Catalog
	KV      *KV
}

var _ acl.CommandState = ACLState{}

func (s ACLState) NodeService(node, serviceID string) (string, bool) {
	if s.Catalog == nil {
		return "", false
	}
	defer s.Catalog.lock(false)()
	if sv := s.Catalog.services[lower(node)][lower(serviceID)]; sv != nil {
		return sv.Service, true
	}
	return "", false
}

func (s ACLState) NodeCheck(node, checkID string) (string, bool) {
	if s.Catalog == nil {
		return "", false
	}
	defer s.Catalog.lock(false)()
	if c := s.Catalog.checks[lower(node)][lower(checkID)]; c != nil {
		return c.ServiceName, true
	}
	return "", false
}

func (s ACLState) SessionNode(id string) (string, bool) {
	if s.KV == nil {
		return "", false
	}
	if sess := s.KV.Session(id); sess != nil {
		return sess.Node, true
	}
	return "", false
}

func (s ACLState) QueryName(id string) (string, bool) {
	if s.Catalog == nil {
		return "", false
	}
	q, _, _ := s.Catalog.Query(id, false)
	if q == nil {
		return "", false
	}
	return q.Name, true
}
