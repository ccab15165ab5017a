package httpapi

import (
	"fmt"
	"github.com/heraldhq/herald/acl"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/health"
)

// LocalAgent is the agent's own services and checks, behind /v1/agent/*.
// Registrations arrive as decoded JSON documents: the agent owns the rules
// for reading them, the same for the API and for config files.
type LocalAgent interface {
	Services() map[string]event.Service
	Service(id string) (event.Service, bool)
	Checks() map[string]event.Check
	// WatchLocal is closed at the next change to the agent's services or
	// checks; take it before reading them.
	WatchLocal() <-chan struct{}
	// RegisterService and RegisterCheck keep token, the request's ACL
	// token, with the registration: the agent's sync writes it to the
	// catalog with that token.
	RegisterService(doc any, replaceExistingChecks bool, token string) error
	DeregisterService(id string) error
	RegisterCheck(doc any, token string) error
	DeregisterCheck(id string) error
	UpdateTTL(id, status, output string) error
	ServiceMaintenance(id string, enable bool, reason string) error
	NodeMaintenance(enable bool, reason string) error
	Reload() error
}

func (s *Server) local() (LocalAgent, error) {
	if s.cfg.Local == nil {
		return nil, &apiError{http.StatusNotImplemented, "this agent has no local services"}
	}
	return s.cfg.Local, nil
}

// localWrite runs a change on the local agent and answers 200 with no body,
// as Consul's agent write endpoints do.
func (s *Server) localWrite(w http.ResponseWriter, change func(LocalAgent) error) error {
	la, err := s.local()
	if err != nil {
		return err
	}
	if err := change(la); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) agentServices(w http.ResponseWriter, r *http.Request) error {
	la, err := s.local()
	if err != nil {
		return err
	}
	out := map[string]apiService{}
	for id, sv := range la.Services() {
		out[id] = toAgentService(&sv, s.cfg.Datacenter)
	}
	if out, err = filterMap(r, out); err != nil {
		return err
	}
	// After ?filter, as Consul: the header tells only of what ACLs hid.
	out = aclFilterMap(w, r, out, func(a acl.Authorizer, _ string, sv apiService) bool {
		return a.Allowed(acl.ResourceService, sv.Service, acl.Read)
	})
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) agentService(w http.ResponseWriter, r *http.Request) error {
	la, err := s.local()
	if err != nil {
		return err
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/")
	// ?hash= blocks until the service's content hash differs from it (or
	// the wait passes), as Consul's hash-based blocking does.
	known := r.URL.Query().Get("hash")
	var timer <-chan time.Time
	token := watchToken(r.Context())
	defer token.stop()
	if known != "" {
		wait := q.wait + rand.N(q.wait/16+1)
		t := time.NewTimer(wait)
		defer t.Stop()
		timer = t.C
	}
	for {
		changed := la.WatchLocal()
		sv, ok := la.Service(id)
		if !ok {
			return &apiError{http.StatusNotFound, fmt.Sprintf("unknown service ID: %s", id)}
		}
		if err := authorize(r, acl.ResourceService, sv.Service, acl.Read); err != nil {
			return err
		}
		hash, err := contentHash(&sv, s.cfg.Datacenter)
		if err != nil {
			return err
		}
		done := known == "" || hash != known
		if !done {
			select {
			case <-changed:
				continue
			case <-token.tick:
				if !token.revoked() {
					continue
				}
				done = true
			case <-timer:
				done = true
			case <-stopping(r.Context()):
				done = true
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}
		if done {
			w.Header().Set("X-Consul-ContentHash", hash)
			out := struct {
				apiService
				ContentHash string
			}{toAgentService(&sv, s.cfg.Datacenter), hash}
			return writeJSON(w, http.StatusOK, out)
		}
	}
}

// decodeDoc reads a JSON body as a generic document.
func decodeDoc(r *http.Request) (any, error) {
	var doc any
	if err := decodeBody(r, &doc); err != nil {
		return nil, err
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, badRequest("Request decode failed: expected a JSON object")
	}
	return doc, nil
}

func (s *Server) agentServiceRegister(w http.ResponseWriter, r *http.Request) error {
	doc, err := decodeDoc(r)
	if err != nil {
		return err
	}
	if err := s.authorizeLocalService(r, doc); err != nil {
		return err
	}
	replace, _ := strconv.ParseBool(r.URL.Query().Get("replace-existing-checks"))
	return s.localWrite(w, func(la LocalAgent) error {
		return la.RegisterService(doc, replace, acl.IdentityFrom(r.Context()).SecretID)
	})
}

func (s *Server) agentServiceDeregister(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/deregister/")
	if err := s.authorizeLocalServiceID(r, id); err != nil {
		return err
	}
	return s.localWrite(w, func(la LocalAgent) error { return la.DeregisterService(id) })
}

func (s *Server) agentChecks(w http.ResponseWriter, r *http.Request) error {
	la, err := s.local()
	if err != nil {
		return err
	}
	checks := aclFilterMap(w, r, la.Checks(), func(a acl.Authorizer, _ string, c event.Check) bool { return canReadCheck(a, &c) })
	out := map[string]apiCheck{}
	for id, c := range checks {
		out[id] = toCheck(&c)
	}
	if out, err = filterMap(r, out); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) agentCheckRegister(w http.ResponseWriter, r *http.Request) error {
	doc, err := decodeDoc(r)
	if err != nil {
		return err
	}
	if err := s.authorizeLocalCheck(r, docString(doc, "serviceid"), ""); err != nil {
		return err
	}
	return s.localWrite(w, func(la LocalAgent) error { return la.RegisterCheck(doc, acl.IdentityFrom(r.Context()).SecretID) })
}

func (s *Server) agentCheckDeregister(w http.ResponseWriter, r *http.Request) error {
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/deregister/")
	if err := s.authorizeLocalCheck(r, "", id); err != nil {
		return err
	}
	return s.localWrite(w, func(la LocalAgent) error { return la.DeregisterCheck(id) })
}

// agentCheckTTL serves /v1/agent/check/pass|warn|fail/:id?note= and
// /v1/agent/check/update/:id with a {Status, Output} body.
func (s *Server) agentCheckTTL(w http.ResponseWriter, r *http.Request) error {
	rest := strings.TrimPrefix(r.URL.Path, "/v1/agent/check/")
	verb, id, _ := strings.Cut(rest, "/")
	var status, output string
	switch verb {
	case "pass":
		status, output = event.HealthPassing, r.URL.Query().Get("note")
	case "warn":
		status, output = event.HealthWarning, r.URL.Query().Get("note")
	case "fail":
		status, output = event.HealthCritical, r.URL.Query().Get("note")
	case "update":
		var body struct{ Status, Output string }
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		switch body.Status {
		case event.HealthPassing, event.HealthWarning, event.HealthCritical:
		default:
			return badRequest("Invalid check status: '%s'", body.Status)
		}
		status, output = body.Status, body.Output
	default:
		return &apiError{http.StatusNotFound, "404 page not found"}
	}
	if err := s.authorizeLocalCheck(r, "", id); err != nil {
		return err
	}
	return s.localWrite(w, func(la LocalAgent) error { return la.UpdateTTL(id, status, output) })
}

func maintenanceParams(r *http.Request) (enable bool, reason string, err error) {
	raw := r.URL.Query().Get("enable")
	if raw == "" {
		return false, "", badRequest("Missing value for enable")
	}
	enable, perr := strconv.ParseBool(raw)
	if perr != nil {
		return false, "", badRequest("Invalid value for enable: %q", raw)
	}
	return enable, r.URL.Query().Get("reason"), nil
}

func (s *Server) agentServiceMaintenance(w http.ResponseWriter, r *http.Request) error {
	enable, reason, err := maintenanceParams(r)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/maintenance/")
	if id == "" {
		return badRequest("Missing service ID")
	}
	if err := s.authorizeLocalServiceID(r, id); err != nil {
		return err
	}
	return s.localWrite(w, func(la LocalAgent) error { return la.ServiceMaintenance(id, enable, reason) })
}

func (s *Server) agentMaintenance(w http.ResponseWriter, r *http.Request) error {
	enable, reason, err := maintenanceParams(r)
	if err != nil {
		return err
	}
	return s.localWrite(w, func(la LocalAgent) error { return la.NodeMaintenance(enable, reason) })
}

func (s *Server) agentReload(w http.ResponseWriter, r *http.Request) error {
	return s.localWrite(w, func(la LocalAgent) error { return la.Reload() })
}

// agentHealthEntry is Consul's answer of /v1/agent/health/service/*.
type agentHealthEntry struct {
	AggregatedStatus string
	Service          apiService
	Checks           []apiCheck
}

// healthCode is the status code Consul gives an aggregated status.
func healthCode(status string) int {
	switch status {
	case event.HealthPassing:
		return http.StatusOK
	case event.HealthWarning:
		return http.StatusTooManyRequests
	}
	return http.StatusServiceUnavailable
}

func (s *Server) localHealth(la LocalAgent, sv event.Service) agentHealthEntry {
	var list []*event.Check
	for _, c := range la.Checks() {
		if c.ServiceID == sv.ID || c.ServiceID == "" {
			c := c
			list = append(list, &c)
		}
	}
	return agentHealthEntry{AggregatedStatus: health.Aggregate(list),
		Service: toAgentService(&sv, s.cfg.Datacenter), Checks: toChecks(list)}
}

func (s *Server) agentHealthByID(w http.ResponseWriter, r *http.Request) error {
	la, err := s.local()
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/agent/health/service/id/")
	sv, ok := la.Service(id)
	if !ok {
		return &apiError{http.StatusNotFound, fmt.Sprintf("ServiceId %s not found", id)}
	}
	if err := authorize(r, acl.ResourceService, sv.Service, acl.Read); err != nil {
		return err
	}
	e := s.localHealth(la, sv)
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(healthCode(e.AggregatedStatus))
		_, err := fmt.Fprint(w, e.AggregatedStatus)
		return err
	}
	return writeJSON(w, healthCode(e.AggregatedStatus), e)
}

func (s *Server) agentHealthByName(w http.ResponseWriter, r *http.Request) error {
	la, err := s.local()
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(r.URL.Path, "/v1/agent/health/service/name/")
	if err := authorize(r, acl.ResourceService, name, acl.Read); err != nil {
		return err
	}
	var out []agentHealthEntry
	worst := event.HealthPassing
	for _, sv := range la.Services() {
		if sv.Service != name {
			continue
		}
		e := s.localHealth(la, sv)
		out = append(out, e)
		if healthCode(e.AggregatedStatus) > healthCode(worst) {
			worst = e.AggregatedStatus
		}
	}
	if len(out) == 0 {
		return &apiError{http.StatusNotFound, fmt.Sprintf("ServiceName %s Not Found", name)}
	}
	if r.URL.Query().Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(healthCode(worst))
		_, err := fmt.Fprint(w, worst)
		return err
	}
	return writeJSON(w, healthCode(worst), out)
}
