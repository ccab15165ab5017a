package httpapi

import (
	"net/http"
)

// streamEvents is the events topic of the UI's stream: the live tail of
// the event stream.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	return badRequest("the events topic is not served yet")
}
