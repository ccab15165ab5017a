// Package plan runs Consul's watches: a view of the catalog, the health of
// services, the KV store or user events, followed with blocking queries, and
// a handler run once with the current data and then once for every change.
//
// A Plan is what Consul calls a watch plan. It is built from a watch
// definition, the map the agent's "watches" configuration block and the
// `watch` command both produce (Parse), and run with the official API client
// (Run):
//
//	p, err := plan.Parse(map[string]any{
//		"type": "key", "key": "app/config",
//		"handler_type": "script", "args": []string{"/usr/local/bin/reload"},
//	})
//	...
//	err = p.Run(ctx, client)
//
// # Types
//
//	type       parameters                    data handed to the handler
//	key        key                           the entry (*api.KVPair), null when missing
//	keyprefix  prefix                        the entries under it (api.KVPairs)
//	services   -                             service names and their tags
//	nodes      -                             the catalog's nodes
//	service    service, tag, passingonly     the instances with their checks
//	checks     service or state              health checks
//	event      name                          the user events fired since the last run
//
// Every type also takes datacenter, token, stale and (for the catalog and
// health types) filter.
//
// # When the handler runs
//
// Once when the plan starts, with the data as it is, and then once for every
// answer of the blocking query that differs from the last one handed out.
// Answers are compared by their JSON, so a wake-up whose index did not move,
// or whose index moved while the data stayed the same (another service
// changed, a check changed in a state the plan does not look at), runs
// nothing. For the key type the entry's ModifyIndex is part of the data, so
// writing the same value again does run the handler, as with Consul. If the
// index goes backwards (the servers' state was restored from a snapshot) the
// plan starts over from index 0 and hands out the data if it differs.
//
// The event type hands out only the events that arrived since the last run,
// found by the ID of the last event seen, and runs the handler only when
// there are some (and once at the start, with every event the agent holds).
//
// # Handlers
//
// A script handler (ScriptHandler) runs a program, either args as given or a
// command line through the shell, with the JSON on its standard input and
// CONSUL_INDEX set to the index of the answer. An HTTP handler (HTTPHandler)
// sends the JSON as the body of a request (POST unless configured), with the
// configured headers, X-Consul-Index and a timeout (10 seconds unless
// configured). A Go program may set Plan.Handler to anything that implements
// Handler.
package plan
