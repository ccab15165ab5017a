package httpapi

import (
	"context"

	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/configentry"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Consul's intentions (/v1/connect/intentions) and the agent's connection
// authorization, over the service-intentions config entries: each
// intention is one source of its destination's entry, as Consul keeps them
// since 1.9. A write reads the destination's entry, changes it and writes
// it back with a CAS on its index, again when another write came between.

func (s *Server) routeIntentions() {
	if s.cfg.ConfigEntries == nil {
		return
	}
	s.route("/v1/connect/intentions", s.intentionsRoot, "GET", "POST")
	s.route("/v1/connect/intentions/", s.intentionsSub, "GET", "PUT", "DELETE")
	s.route("/v1/agent/connect/authorize", s.agentConnectAuthorize, "POST")
}

// allIntentions reads every intention, sorted by precedence.
func (s *Server) allIntentions(watch bool) ([]*api.Intention, uint64, <-chan struct{}) {
	entries, index, ch := s.cfg.ConfigEntries.List(api.ServiceIntentions, watch)
	var out []*api.Intention
	for _, e := range entries {
		if x, ok := decodeIntentions(e); ok {
			out = append(out, configentry.ToIntentions(x, e.CreateIndex, e.ModifyIndex)...)
		}
	}
	configentry.SortIntentions(out)
	return out, index, ch
}

func decodeIntentions(e *event.ConfigEntry) (*api.ServiceIntentionsConfigEntry, bool) {
	if e == nil {
		return nil, false
	}
	d, err := configentry.Decode(e.Body)
	x, ok := d.(*api.ServiceIntentionsConfigEntry)
	return x, err == nil && ok
}

func canReadIntention(a acl.Authorizer, ixn *api.Intention) bool {
	return a.Allowed(acl.ResourceIntention, ixn.DestinationName, acl.Read)
}

func (s *Server) intentionsRoot(w http.ResponseWriter, r *http.Request) error {
	if s.forwardConfigWrite(w, r) {
		return nil
	}
	if r.Method == http.MethodPost {
		return s.intentionCreate(w, r)
	}
	list, ok, err := readCatalog(s, w, r, s.allIntentions)
	if !ok {
		return err
	}
	list = aclFilter(w, r, list, canReadIntention)
	if list == nil {
		list = []*api.Intention{}
	}
	return writeFiltered(w, r, list)
}

func (s *Server) intentionsSub(w http.ResponseWriter, r *http.Request) error {
	if s.forwardConfigWrite(w, r) {
		return nil
	}
	switch rest := strings.TrimPrefix(r.URL.Path, "/v1/connect/intentions/"); {
	case rest == "exact":
		return s.intentionExact(w, r)
	case rest == "match" && r.Method == http.MethodGet:
		return s.intentionMatch(w, r)
	case rest == "check" && r.Method == http.MethodGet:
		return s.intentionCheck(w, r)
	case rest == "" || strings.Contains(rest, "/"):
		return &apiError{http.StatusNotFound, "Intention not found"}
	default:
		return s.intentionByID(w, r, rest)
	}
}

// requiredParam is a query parameter that must be set, with Consul's
// message.
func requiredParam(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return "", badRequest("required query parameter '%s' not set", name)
	}
	return v, nil
}

func (s *Server) intentionExact(w http.ResponseWriter, r *http.Request) error {
	source, err := requiredParam(r, "source")
	if err != nil {
		return err
	}
	destination, err := requiredParam(r, "destination")
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodPut:
		var ixn api.Intention
		if err := decodeBody(r, &ixn); err != nil {
			return err
		}
		ixn.SourceName, ixn.DestinationName = source, destination
		err := s.changeIntentions(r, destination, func(e *api.ServiceIntentionsConfigEntry) error {
			src := configentry.SourceFromIntention(&ixn, "", s.cfg.Now())
			if i := sourceIndex(e, source); i >= 0 {
				src.LegacyID, src.LegacyCreateTime = e.Sources[i].LegacyID, e.Sources[i].LegacyCreateTime
				e.Sources[i] = src
			} else {
				e.Sources = append(e.Sources, src)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, true)
	case http.MethodDelete:
		err := s.changeIntentions(r, destination, func(e *api.ServiceIntentionsConfigEntry) error {
			if i := sourceIndex(e, source); i >= 0 {
				e.Sources = append(e.Sources[:i], e.Sources[i+1:]...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, true)
	}
	list, ok, err := readCatalog(s, w, r, s.allIntentions)
	if !ok {
		return err
	}
	if err := authorize(r, acl.ResourceIntention, destination, acl.Read); err != nil {
		return err
	}
	for _, ixn := range list {
		if ixn.SourceName == source && ixn.DestinationName == destination {
			return writeJSON(w, http.StatusOK, ixn)
		}
	}
	return &apiError{http.StatusNotFound, "Intention not found"}
}

func sourceIndex(e *api.ServiceIntentionsConfigEntry, name string) int {
	for i, src := range e.Sources {
		if src != nil && src.Name == name {
			return i
		}
	}
	return -1
}

// intentionCreate is the legacy create: a new intention with an ID, a
// conflict when its source and destination have one already.
func (s *Server) intentionCreate(w http.ResponseWriter, r *http.Request) error {
	var ixn api.Intention
	if err := decodeBody(r, &ixn); err != nil {
		return err
	}
	if ixn.ID != "" {
		return badRequest("ID must be empty")
	}
	if ixn.SourceName == "" || ixn.DestinationName == "" {
		return badRequest("Intention source and destination names are required")
	}
	id := event.NewUUID()
	err := s.changeIntentions(r, ixn.DestinationName, func(e *api.ServiceIntentionsConfigEntry) error {
		if i := sourceIndex(e, ixn.SourceName); i >= 0 {
			existing := configentry.ToIntentions(&api.ServiceIntentionsConfigEntry{Name: e.Name, Sources: e.Sources[i : i+1]}, 0, 0)[0]
			return &apiError{http.StatusInternalServerError, "duplicate intention found: " + configentry.String(existing)}
		}
		e.Sources = append(e.Sources, configentry.SourceFromIntention(&ixn, id, s.cfg.Now()))
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"ID": id})
}

// intentionByID serves the legacy endpoints of an intention by its ID.
func (s *Server) intentionByID(w http.ResponseWriter, r *http.Request, id string) error {
	list, ok, err := readCatalog(s, w, r, s.allIntentions)
	if !ok {
		return err
	}
	var found *api.Intention
	for _, ixn := range list {
		if ixn.ID != "" && strings.EqualFold(ixn.ID, id) {
			found = ixn
		}
	}
	if found == nil {
		return &apiError{http.StatusNotFound, "Intention not found"}
	}
	switch r.Method {
	case http.MethodGet:
		if err := authorize(r, acl.ResourceIntention, found.DestinationName, acl.Read); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, found)
	case http.MethodDelete:
		err := s.changeIntentions(r, found.DestinationName, func(e *api.ServiceIntentionsConfigEntry) error {
			if i := sourceIndex(e, found.SourceName); i >= 0 {
				e.Sources = append(e.Sources[:i], e.Sources[i+1:]...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, true)
	}
	var ixn api.Intention
	if err := decodeBody(r, &ixn); err != nil {
		return err
	}
	if ixn.SourceName != found.SourceName || ixn.DestinationName != found.DestinationName {
		return badRequest("Cannot modify Source or Destination of an intention")
	}
	err = s.changeIntentions(r, found.DestinationName, func(e *api.ServiceIntentionsConfigEntry) error {
		i := sourceIndex(e, found.SourceName)
		if i < 0 {
			return &apiError{http.StatusNotFound, "Intention not found"}
		}
		src := configentry.SourceFromIntention(&ixn, found.ID, s.cfg.Now())
		src.LegacyCreateTime = e.Sources[i].LegacyCreateTime
		e.Sources[i] = src
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, true)
}

// changeIntentions applies change to the destination's service-intentions
// entry (a new one when it has none) and writes it back, deleting it when
// no source is left, with a CAS on the index it was read at; when another
// write came between, it reads the entry again, up to a few times.
func (s *Server) changeIntentions(r *http.Request, destination string, change func(*api.ServiceIntentionsConfigEntry) error) error {
	for attempt := 0; ; attempt++ {
		stored, _, changed := s.cfg.ConfigEntries.Get(api.ServiceIntentions, destination, true)
		e, ok := decodeIntentions(stored)
		if !ok {
			e = &api.ServiceIntentionsConfigEntry{Kind: api.ServiceIntentions, Name: destination}
		}
		if err := change(e); err != nil {
			return err
		}
		var cmd command.Command
		var index uint64
		if stored != nil {
			index = stored.ModifyIndex
		}
		if len(e.Sources) == 0 {
			cmd.Body = &command.ConfigEntryDeleteBody{Kind: api.ServiceIntentions, Name: destination, CAS: true, Index: index}
		} else {
			configentry.Normalize(e)
			if err := configentry.Validate(e); err != nil {
				return badRequest("%v", err)
			}
			body, err := configentry.Body(e)
			if err != nil {
				return badRequest("%v", err)
			}
			cmd.Body = &command.ConfigEntrySetBody{CAS: true, Index: index,
				Entry: event.ConfigEntry{Kind: api.ServiceIntentions, Name: destination, Body: body}}
		}
		res, err := s.propose(withOrigin(r), cmd, refusalIsAnswer)
		if err != nil || res.Succeeded {
			return err
		}
		if attempt == 4 {
			return &apiError{http.StatusInternalServerError, "intention write conflicted with other writes; try again"}
		}
		// Another write came between: wait until this agent has seen it.
		select {
		case <-changed:
		case <-time.After(time.Second):
		case <-r.Context().Done():
			return context.Canceled
		}
	}
}

func (s *Server) intentionMatch(w http.ResponseWriter, r *http.Request) error {
	by, err := requiredParam(r, "by")
	if err != nil {
		return err
	}
	if by != string(api.IntentionMatchSource) && by != string(api.IntentionMatchDestination) {
		return badRequest("'by' parameter must be one of 'source' or 'destination'")
	}
	names := r.URL.Query()["name"]
	if len(names) == 0 {
		return badRequest("required query parameter 'name' not set")
	}
	list, ok, err := readCatalog(s, w, r, s.allIntentions)
	if !ok {
		return err
	}
	out := map[string][]*api.Intention{}
	for _, name := range names {
		if by == string(api.IntentionMatchDestination) {
			if err := authorize(r, acl.ResourceIntention, name, acl.Read); err != nil {
				return err
			}
		}
		matched := []*api.Intention{}
		for _, ixn := range list {
			pattern := ixn.DestinationName
			if by == string(api.IntentionMatchSource) {
				pattern = ixn.SourceName
			}
			if configentry.Matches(pattern, name) {
				matched = append(matched, ixn)
			}
		}
		if by == string(api.IntentionMatchSource) {
			matched = aclFilter(w, r, matched, canReadIntention)
		}
		out[name] = matched
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) intentionCheck(w http.ResponseWriter, r *http.Request) error {
	source, err := requiredParam(r, "source")
	if err != nil {
		return err
	}
	destination, err := requiredParam(r, "destination")
	if err != nil {
		return err
	}
	if err := authorize(r, acl.ResourceService, destination, acl.Read); err != nil {
		return err
	}
	list, ok, err := readCatalog(s, w, r, s.allIntentions)
	if !ok {
		return err
	}
	allowed, _ := s.decideConnection(list, source, destination)
	return writeJSON(w, http.StatusOK, struct{ Allowed bool }{allowed})
}

// decideConnection decides a connection from source to destination by the
// intentions, and without one by the ACL default policy (allow with ACLs
// off), saying why as Consul's authorize does.
func (s *Server) decideConnection(list []*api.Intention, source, destination string) (bool, string) {
	if ixn := configentry.Decide(list, source, destination); ixn != nil {
		if len(ixn.Permissions) > 0 {
			return false, "Matched L7 intention: " + configentry.String(ixn) + "; L7 permissions are not evaluated by authorize"
		}
		return configentry.Allows(ixn), "Matched L4 intention: " + configentry.String(ixn)
	}
	if s.cfg.ACL == nil {
		return true, "ACLs disabled, access is allowed by default"
	}
	return s.defaultACLPolicy() == "allow", "Default behavior configured by ACLs"
}

// agentConnectAuthorize answers whether the client of a certificate (its
// SPIFFE ID's service) may connect to Target.
func (s *Server) agentConnectAuthorize(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Target           string
		ClientCertURI    string
		ClientCertSerial string
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Target == "" {
		return badRequest("Target service must be specified")
	}
	if req.ClientCertURI == "" {
		return badRequest("ClientCertURI must be specified")
	}
	if err := authorize(r, acl.ResourceService, req.Target, acl.Write); err != nil {
		return err
	}
	trustDomain, source, err := spiffeService(req.ClientCertURI)
	if err != nil {
		return err
	}
	if s.cfg.ConnectCA != nil {
		if ca, _, _ := s.cfg.ConnectCA.State(false); ca != nil && !strings.EqualFold(trustDomain, ca.TrustDomain()) {
			return writeJSON(w, http.StatusOK, api.AgentAuthorize{Authorized: false,
				Reason: fmt.Sprintf("Connect Service with trust domain %q is not authorized to connect to a service in trust domain %q", trustDomain, ca.TrustDomain())})
		}
	}
	list, _, _ := s.allIntentions(false)
	allowed, reason := s.decideConnection(list, source, req.Target)
	return writeJSON(w, http.StatusOK, api.AgentAuthorize{Authorized: allowed, Reason: reason})
}

// spiffeService reads a service's SPIFFE ID,
// spiffe://<trust domain>/ns/<ns>/dc/<dc>/svc/<service>.
func spiffeService(raw string) (trustDomain, service string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || u.Scheme != "spiffe" || u.Host == "" {
		return "", "", badRequest("ClientCertURI not a valid Connect identifier")
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 6 || parts[0] != "ns" || parts[2] != "dc" || parts[4] != "svc" || parts[5] == "" {
		return "", "", badRequest("ClientCertURI must be a valid service identifier")
	}
	return u.Host, parts[5], nil
}
