// Package cli implements Herald's command line, which is Consul's: the same
// command names, flags, environment variables, output formats and exit codes,
// so that scripts written for `consul` run unchanged against `herald` (or
// against the herald binary installed as `consul` through a symlink).
//
// Each command lives in its own file and registers itself from init with
// Register; Run picks the command from the leading arguments. Commands other
// than `agent` talk to a running agent over its HTTP API through the official
// Consul Go client (github.com/hashicorp/consul/api), exactly as Consul's own
// CLI does, which keeps the CLI honest about API compatibility: if a command
// works here it works against the HTTP API any Consul client sees.
//
// Commands read and write only through the IO they are given, including the
// environment, so tests can run them in-process and in parallel.
package cli
