package cli

import (
	"errors"
	"flag"

	"github.com/nats-io/nats.go"
)

// With ACLs enabled, the agents' NATS admits only connections with an ACL
// token (see docs/security.md): `herald events` presents the same token as
// the HTTP commands, from the same flags and variables.

// natsTokenFlags adds -token and -token-file to the events command.
func (c *eventsCmd) natsTokenFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.http.token, "token", "",
		"ACL `token` to present to NATS (and to the agent at -http-addr). Defaults to "+
			"$HERALD_HTTP_TOKEN, then $CONSUL_HTTP_TOKEN. With ACLs this command, which reads the "+
			"shard's JetStream stream, needs a management token; other tokens can follow the subjects "+
			"they may read with any NATS client (nats sub --token).")
	fs.StringVar(&c.http.tokenFile, "token-file", "",
		"Read the ACL token from the file at `path`; takes precedence over -token. Defaults to "+
			"$HERALD_HTTP_TOKEN_FILE, then $CONSUL_HTTP_TOKEN_FILE.")
}

// natsAuth is the connection option presenting the token, if there is one.
func (c *eventsCmd) natsAuth(env func(string) string) ([]nats.Option, error) {
	token, err := c.http.resolveToken(env)
	if err != nil || token == "" {
		return nil, err
	}
	return []nats.Option{nats.Token(token)}, nil
}

// natsAuthHint follows a refused connection's error with what to do.
func natsAuthHint(err error) string {
	if errors.Is(err, nats.ErrAuthorization) {
		return " (ACLs are enabled: give a token with -token or $HERALD_HTTP_TOKEN / $CONSUL_HTTP_TOKEN)"
	}
	return ""
}
