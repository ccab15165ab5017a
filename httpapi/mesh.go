package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/projections"
)

// The service mesh's reads of the catalog (Consul's Connect endpoints):
// the instances that accept mesh connections for a service, its proxies
// and its Connect-native instances, in the shapes, filters and blocking of
// /v1/catalog/service and /v1/health/service.

func (s *Server) routeMesh() {
	s.route("/v1/catalog/connect/", s.catalogConnect, "GET")
	s.route("/v1/health/connect/", s.healthConnect, "GET")
	s.routeGateways()
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

// routeGateways routes the reads that join the catalog with the gateways'
// config entries.
func (s *Server) routeGateways() {
	if s.cfg.ConfigEntries == nil {
		return
	}
	s.route("/v1/catalog/gateway-services/", s.catalogGatewayServices, "GET")
	s.route("/v1/health/ingress/", s.healthIngress, "GET")
}

// apiGatewayService is an element of /v1/catalog/gateway-services/:gateway
// (Consul's api.GatewayService).
type apiGatewayService struct {
	Gateway      apiCompoundName
	Service      apiCompoundName
	GatewayKind  string
	Port         int      `json:",omitempty"`
	Protocol     string   `json:",omitempty"`
	Hosts        []string `json:",omitempty"`
	CAFile       string   `json:",omitempty"`
	CertFile     string   `json:",omitempty"`
	KeyFile      string   `json:",omitempty"`
	SNI          string   `json:",omitempty"`
	FromWildcard bool     `json:",omitempty"`
}

type apiCompoundName struct {
	Name string
}

func (s *Server) catalogGatewayServices(w http.ResponseWriter, r *http.Request) error {
	gateway := strings.TrimPrefix(r.URL.Path, "/v1/catalog/gateway-services/")
	if gateway == "" {
		return badRequest("Missing gateway name")
	}
	if err := authorize(r, acl.ResourceService, gateway, acl.Read); err != nil {
		return err
	}
	list, ok, err := readCatalog(s, w, r, func(watch bool) ([]projections.GatewayService, uint64, <-chan struct{}) {
		_, entriesIndex, entriesCh := s.cfg.ConfigEntries.List("", watch)
		_, servicesIndex, servicesCh := s.cfg.Catalog.Services(watch)
		list := s.cfg.ConfigEntries.GatewayServices(gateway, s.cfg.Catalog.TypicalServices())
		return list, max(entriesIndex, servicesIndex), anyOf(r.Context(), entriesCh, servicesCh)
	})
	if !ok {
		return err
	}
	list = aclFilter(w, r, list, func(a acl.Authorizer, g projections.GatewayService) bool {
		return a.Allowed(acl.ResourceService, g.Service, acl.Read)
	})
	out := make([]apiGatewayService, 0, len(list))
	for _, g := range list {
		out = append(out, apiGatewayService{Gateway: apiCompoundName{g.Gateway}, Service: apiCompoundName{g.Service},
			GatewayKind: g.GatewayKind, Port: g.Port, Protocol: g.Protocol, Hosts: g.Hosts, CAFile: g.CAFile,
			CertFile: g.CertFile, KeyFile: g.KeyFile, SNI: g.SNI, FromWildcard: g.FromWildcard})
	}
	return writeFiltered(w, r, out)
}

// healthIngress answers the ingress gateways that route to a service, as
// /v1/health/service answers instances.
func (s *Server) healthIngress(w http.ResponseWriter, r *http.Request) error {
	lookup := func(name string, watch bool) ([]projections.Instance, uint64, <-chan struct{}) {
		_, index, entriesCh := s.cfg.ConfigEntries.List(event.KindIngressGateway, watch)
		chans := []<-chan struct{}{entriesCh}
		var out []projections.Instance
		for _, gw := range s.cfg.ConfigEntries.IngressGatewaysFor(name) {
			instances, i, ch := s.cfg.Catalog.ServiceInstances(gw, watch)
			index, chans = max(index, i), append(chans, ch)
			for _, in := range instances {
				if in.Service.Kind == event.KindIngressGateway {
					out = append(out, in)
				}
			}
		}
		return out, index, anyOf(r.Context(), chans...)
	}
	instances, index, ok, err := s.instancesOf(w, r, "/v1/health/ingress/", lookup)
	if !ok {
		return err
	}
	return s.writeHealthInstances(w, r, instances, index)
}

// anyOf is a channel closed when any of chans is (nil ones never are), or
// nil when all are nil. Its goroutine ends with ctx, the request's.
func anyOf(ctx context.Context, chans ...<-chan struct{}) <-chan struct{} {
	var live []<-chan struct{}
	for _, ch := range chans {
		if ch != nil {
			live = append(live, ch)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	out := make(chan struct{})
	cases := make([]reflect.SelectCase, 0, len(live)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, ch := range live {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	go func() {
		if i, _, _ := reflect.Select(cases); i > 0 {
			close(out)
		}
	}()
	return out
}
