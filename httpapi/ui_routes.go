package httpapi

import (
	"net/http"
)

// The web UI's part of the API: the endpoints under /v1/internal/ui/ that
// the page reads besides the public /v1 ones (docs/ui.md), and the serving
// of the page itself, which the agent hands over when the UI is on.

// routeUI registers the /v1/internal/ui/ endpoints.
func (s *Server) routeUI() {
	s.route("/v1/internal/ui/services", s.uiServices, "GET")
	s.route("/v1/internal/ui/nodes", s.uiNodes, "GET")
	s.route("/v1/internal/ui/stream", s.uiStream, "GET")
	s.route("/v1/internal/ui/history/", s.uiHistory, "GET")
}

// ServeUI serves the web UI (page) under contentPath, and redirects / to
// it as Consul does; without a call, / and the content path answer 404.
// Call it before the server serves its first request.
func (s *Server) ServeUI(contentPath string, page http.Handler) {
	if contentPath == "/" {
		s.mux.Handle("/", page)
		return
	}
	s.mux.Handle(contentPath, page)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, contentPath, http.StatusMovedPermanently)
	})
}
