// Package agenttest starts real Herald agents inside a test process: real
// Raft shards, Pebble, embedded NATS and HTTP listeners on loopback with
// ephemeral ports, stopped when the test ends.
package agenttest
