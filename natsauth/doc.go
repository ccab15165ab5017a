// Package natsauth puts Herald's ACLs on the embedded NATS server, when
// ACLs are enabled: every client connection presents a Herald token (as its
// NATS token, or as its password under any user name), which the agent's
// acl.Resolver resolves, and gets NATS subject permissions worked out from
// the token's rules:
//
//   - subscribe to the event subjects of what the token may read: keys by
//     key and key_prefix rules, catalog nodes, services and checks by node
//     and service rules, the ACL (system) shard with acl:read, user events
//     by event rules (and publish them with event:write);
//   - the servers' RPC, the JetStream API for replaying the streams: only
//     client agents (user name "herald-agent:<node>" and a token with
//     node:write on that node) and management tokens (acl:write);
//   - publishing into the event stream and answering RPC: only the server
//     process's own connections, which present a secret that exists only
//     in that process's memory (Authenticator.InternalOption).
//
// NATS matches filters token by token, so a rule whose name ends within a
// subject token cannot be expressed exactly; the permissions then grant
// less than the rule, never more (permissions.go says how, case by case).
//
// An authorizer lists its rules through acl.RuleSource; one that cannot
// gets only whole-resource grants (AllowedPrefix with the prefix "").
// When identities change (acl.ChangeNotifier, else every second) every
// connection's token is resolved again and the connections whose token is
// gone or whose permissions changed are closed; a client that reconnects
// gets its new permissions. docs/security.md, "The event stream", is the
// operator's view.
package natsauth
