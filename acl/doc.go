// Package acl is Consul's ACL model, the one home of every access rule in
// Herald: the rules language of policies, the authorizer that compiles a
// token's policies, roles and identities into answers (exact rules beat
// prefix rules, the longest prefix wins, deny wins at equal specificity),
// the errors Consul answers with, and the identity a request carries through
// a context.
//
// The package knows no storage and no transport: the ACL state lives in the
// system shard and its projection, which implements Resolver; the HTTP API,
// DNS, the NATS event stream and the servers' RPC consult a Resolver and
// ask the Authorizer it returns.
package acl
