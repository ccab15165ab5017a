// Package freeport finds ports for servers that tests and benchmarks start
// as separate processes, which must be told a port before they bind it.
//
// Asking the kernel for port 0 and closing the listener leaves a window in
// which the port can be taken again, and on a busy test machine it is: the
// kernel hands the same ephemeral ports to the outgoing connections that
// every other test makes. The ports here are drawn at random from outside the
// ephemeral range instead (above it where there is room, which also keeps
// clear of Consul's test harness), where only another caller of this
// package can collide, and are checked free for TCP and UDP (a DNS
// interface binds both). It is a leaf (standard library only).
package freeport
