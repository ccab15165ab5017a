// Package robustness runs real three-server Herald clusters as processes,
// drives them with concurrent clients while a nemesis kills, pauses or
// cuts off servers, and checks what the clients saw: the KV histories for
// linearizability (porcupine, a register model per key), the locks for
// mutual exclusion, and the event stream for each committed change once,
// in order. See README.md for what it runs and the bugs it found.
package robustness
