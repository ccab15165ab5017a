package httpapi

import "net/http"

// The service mesh's reads of the catalog (Consul's Connect endpoints):
// the instances that accept mesh connections for a service, its proxies
// and its Connect-native instances, in the shapes, filters and blocking of
// /v1/catalog/service and /v1/health/service.

func (s *Server) routeMesh() {
	s.route("/v1/catalog/connect/", s.catalogConnect, "GET")
	s.route("/v1/health/connect/", s.healthConnect, "GET")
}

func (s *Server) catalogConnect(w http.ResponseWriter, r *http.Request) error {
	instances, index, ok, err := s.instancesOf(w, r, "/v1/catalog/connect/", s.cfg.Catalog.ConnectInstances)
	if !ok {
		return err
	}
	return s.writeCatalogInstances(w, r, instances, index)
}

func (s *Server) healthConnect(w http.ResponseWriter, r *http.Request) error {
	instances, index, ok, err := s.instancesOf(w, r, "/v1/health/connect/", s.cfg.Catalog.ConnectInstances)
	if !ok {
		return err
	}
	return s.writeHealthInstances(w, r, instances, index)
}
