package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/heraldhq/herald/acl"
	"github.com/heraldhq/herald/configentry"
	"github.com/heraldhq/herald/event"
	"github.com/heraldhq/herald/log/command"
)

// Consul's /v1/config: the service mesh's config entries, kept in the
// catalog shard, read from this agent's projection with the catalog
// shard's blocking and consistency.

func (s *Server) routeConfigEntries() {
	if s.cfg.ConfigEntries == nil {
		return
	}
	s.route("/v1/config", s.configApply, "PUT")
	s.route("/v1/config/", s.configEntry, "GET", "DELETE")
}

// configApply writes an entry; with ?cas only if its ModifyIndex is the
// given one, answering whether it was written.
func (s *Server) configApply(w http.ResponseWriter, r *http.Request) error {
	if s.forwardConfigWrite(w, r) {
		return nil
	}
	var raw map[string]any
	if err := decodeBody(r, &raw); err != nil {
		return err
	}
	entry, err := configentry.DecodeMap(raw)
	if err != nil {
		return badRequest("Request decoding failed: %v", err)
	}
	configentry.Normalize(entry)
	if err := configentry.Validate(entry); err != nil {
		return badRequest("%v", err)
	}
	body, err := configentry.Body(entry)
	if err != nil {
		return badRequest("Request decoding failed: %v", err)
	}
	cas, hasCAS, err := uintParam(r, "cas", "Invalid cas index")
	if err != nil {
		return err
	}
	cmd := command.Command{Body: &command.ConfigEntrySetBody{
		Entry: event.ConfigEntry{Kind: entry.GetKind(), Name: entry.GetName(), Body: body}, CAS: hasCAS, Index: cas}}
	res, err := s.propose(withOrigin(r), cmd, refusalIsAnswer)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res.Succeeded)
}

// configEntry answers /v1/config/:kind (a list) and /v1/config/:kind/:name
// (one entry, or its deletion).
func (s *Server) configEntry(w http.ResponseWriter, r *http.Request) error {
	kind, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/config/"), "/")
	if kind == "" {
		return badRequest("Must provide a kind")
	}
	if !configentry.KnownKind(kind) {
		return badRequest("invalid config entry kind: %s", kind)
	}
	if r.Method == http.MethodDelete {
		if name == "" {
			return badRequest("Must provide a name")
		}
		if s.forwardConfigWrite(w, r) {
			return nil
		}
		return s.configDelete(w, r, kind, name)
	}
	if name == "" {
		return s.configList(w, r, kind)
	}
	e, ok, err := readCatalog(s, w, r, func(watch bool) (*event.ConfigEntry, uint64, <-chan struct{}) {
		return s.cfg.ConfigEntries.Get(kind, name, watch)
	})
	if !ok {
		return err
	}
	if err := authorizeConfigRead(r, kind, name); err != nil {
		return err
	}
	if e == nil {
		return &apiError{http.StatusNotFound, fmt.Sprintf("Config entry not found for %q / %q", kind, name)}
	}
	out, err := configentry.WithIndexes(e.Body, e.CreateIndex, e.ModifyIndex)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) configList(w http.ResponseWriter, r *http.Request, kind string) error {
	list, ok, err := readCatalog(s, w, r, func(watch bool) ([]*event.ConfigEntry, uint64, <-chan struct{}) {
		return s.cfg.ConfigEntries.List(kind, watch)
	})
	if !ok {
		return err
	}
	list = aclFilter(w, r, list, func(a acl.Authorizer, e *event.ConfigEntry) bool {
		return acl.CanReadConfigEntry(a, e.Kind, e.Name)
	})
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, err := configentry.WithIndexes(e.Body, e.CreateIndex, e.ModifyIndex)
		if err != nil {
			return err
		}
		out = append(out, m)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) configDelete(w http.ResponseWriter, r *http.Request, kind, name string) error {
	if kind == "proxy-defaults" && name != "global" {
		return badRequest("invalid name (%q), only %q is supported", name, "global")
	}
	cas, hasCAS, err := uintParam(r, "cas", "Invalid cas index")
	if err != nil {
		return err
	}
	res, err := s.propose(withOrigin(r), command.Command{Body: &command.ConfigEntryDeleteBody{
		Kind: kind, Name: name, CAS: hasCAS, Index: cas}}, refusalIsAnswer)
	if err != nil {
		return err
	}
	if hasCAS {
		return writeJSON(w, http.StatusOK, res.Succeeded)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"Deleted": true})
}

// authorizeConfigRead refuses a token that may not read the entry.
func authorizeConfigRead(r *http.Request, kind, name string) error {
	if aclOf(r.Context()) == nil {
		return nil
	}
	id := acl.IdentityFrom(r.Context())
	if acl.CanReadConfigEntry(id.Authorizer, kind, name) {
		return nil
	}
	res, resName, _ := acl.ConfigEntryResource(kind, name)
	if kind == "ingress-gateway" || kind == "terminating-gateway" {
		res, resName = acl.ResourceService, name
	}
	return id.Check(res, resName, acl.Read)
}
