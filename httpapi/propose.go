package httpapi

import (
	"net/http"

	"github.com/heraldhq/herald/log/command"
)

// withOrigin puts on r's context where the request came from, which every
// command proposed while serving it records (command.Requests.Stamp adds
// the node and the token's accessor): the audit trail of `herald debug log`.
func withOrigin(r *http.Request) *http.Request {
	return r.WithContext(command.WithOrigin(r.Context(), command.Origin{Via: command.ViaHTTP, RemoteAddr: r.RemoteAddr}))
}

// refusalIsAnswer is propose's refusedAs for endpoints that answer a
// refusal in their body (KV's false, a transaction's errors), not with a
// status code.
const refusalIsAnswer = 0

// propose writes cmd (at the server's time unless it has one), if the
// request's token may (acl.AuthorizeCommand: the one home of write rules,
// which servers apply again to client agents' writes), and maps the
// state machine's refusal once: to the status code refusedAs with the
// refusal's message, which is how Consul answers a refused catalog write
// (400), session create (500) or renew of an unknown session (404).
func (s *Server) propose(r *http.Request, cmd command.Command, refusedAs int) (command.Result, error) {
	if err := s.authorizeCommand(r, cmd); err != nil {
		return command.Result{}, err
	}
	if cmd.Time == 0 {
		cmd.Time = s.cfg.Now().UnixNano()
	}
	res, err := s.cfg.Raft.Propose(r.Context(), cmd)
	if err == nil && !res.Succeeded && refusedAs != refusalIsAnswer {
		return res, &apiError{refusedAs, res.Refusal}
	}
	return res, err
}
