// Command herald is Herald's single binary: the agent (`herald agent`) and
// every client command (`herald kv get`, `herald members`, ...). It is a
// drop-in replacement for the consul binary; installed or symlinked as
// `consul`, it answers to Consul's command lines and reports itself the way
// Consul scripts expect.
//
// All behaviour lives in package cli; main only hands it the process's
// arguments, streams and environment.
package main
