// Package userevent carries Consul's user events (`consul event`,
// /v1/event/fire and /v1/event/list) between Herald agents.
//
// Consul spreads user events by Serf gossip; Herald publishes them with core
// NATS (no JetStream: like Consul's, they are best-effort and not persisted)
// on
//
//	herald.<dc>.event.<name tokens>
//
// the name escaped by watch.KeyTokens, so that `nats sub 'herald.dc1.event.>'`
// shows them next to the rest of the event stream. The message body is the
// event's JSON, in Consul's UserEvent shape.
//
// Every agent subscribes to all of its datacenter's user events and keeps
// the last 256 that pass its filters (a regexp on the node name, a regexp on
// the name or ID of one of its services and, with it, on one of that
// service's tags), as Consul's agents do, in the order they arrived. An
// event is kept once however often it arrives: events are de-duplicated by
// ID.
//
// The X-Consul-Index of /v1/event/list is, as in Consul, a hash of the last
// listed event's ID (ListIndex), not a counter: Consul's watches
// (`consul watch -type=event`, the Go client's Event().IDToIndex) prune the
// events they have already handled by comparing that hash with the IDs.
// Because it does not grow, a blocking list waits while the index is equal
// to the one the client sent, and Events hands out a channel closed by the
// next event kept.
package userevent
