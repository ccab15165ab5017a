package local

import "context"

type tokenKey struct{}

// WithToken returns ctx naming the ACL token (a SecretID) that a service or
// check was registered with: the sync writes it to the catalog with that
// token, as Consul's agent does, so that the servers judge the write as
// they would have judged the registration. "" leaves ctx as it is: the
// agent's own token then applies.
func WithToken(ctx context.Context, secret string) context.Context {
	if secret == "" {
		return ctx
	}
	return context.WithValue(ctx, tokenKey{}, secret)
}

// TokenFrom is the token WithToken put on ctx, "" for none.
func TokenFrom(ctx context.Context) string {
	s, _ := ctx.Value(tokenKey{}).(string)
	return s
}
