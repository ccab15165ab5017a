package httpapi

import "net/http"

// Writes a secondary datacenter sends on to the primary, as Consul's
// secondaries forward them: the primary answers, and what it wrote reaches
// this datacenter's reads once replicated. Reads stay local. Which writes
// are the primary's is each caller's rule: here config entries and the
// intentions kept in them (forwardConfigWrite); the ACL writes have theirs
// in acl_replication.go.

// forwardConfigWrite sends a write of config entries (or of intentions,
// which live in service-intentions entries) to the primary datacenter when
// this one is a secondary, and reports whether it did.
func (s *Server) forwardConfigWrite(w http.ResponseWriter, r *http.Request) bool {
	primary := s.cfg.PrimaryDatacenter
	if primary == "" || primary == s.cfg.Datacenter || s.cfg.Remote == nil || r.Method == http.MethodGet {
		return false
	}
	s.sendToPrimary(w, r, primary)
	return true
}

// sendToPrimary answers r with primary's answer to it. The request
// names the primary as its datacenter: one that named this datacenter
// (?dc=) would otherwise be sent straight back here by the primary.
func (s *Server) sendToPrimary(w http.ResponseWriter, r *http.Request, primary string) {
	q := r.URL.Query()
	if q.Has("dc") {
		q.Set("dc", primary)
		u := *r.URL
		u.RawQuery = q.Encode()
		r = r.Clone(r.Context())
		r.URL = &u
	}
	s.cfg.Remote.Forward(w, r, primary)
}
