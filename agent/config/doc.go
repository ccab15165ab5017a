// Package config turns the command line of `herald agent` and Consul-style
// JSON and HCL configuration files into one runtime Config.
//
// Two representations are kept apart on purpose, as Consul's own agent/config
// does. What users write is sparse: every key is optional, the same key may
// appear in several files, and "not set" must be told apart from "set to the
// zero value" so that a later source overrides only what it actually
// mentions. What the agent runs with is dense: every field holds a plain
// value with its default filled in, so the rest of Herald never has to ask
// whether something was configured. Here the user side is a generic
// map[string]any per source (a file, an -hcl fragment, the flags), in which
// an absent key simply is not set; the runtime side is the Config struct.
//
// Load merges the sources in Consul's order: defaults, then the -dev
// defaults, then config files and directories in the order given on the
// command line, then the flags, then -hcl fragments. Later scalars win,
// lists (services, checks, watches, retry_join, start_join, recursors)
// append, and blocks (ports, addresses, node_meta, dns_config, limits,
// performance, history, ui_config) merge key by key.
//
// Herald accepts every configuration Consul accepts: keys it does not
// implement (acl, tls, connect, telemetry, ...) and keys it does not know are
// reported in Config.Warnings and otherwise ignored, so an existing Consul
// deployment's files load unchanged. Only malformed input (bad syntax, a
// value of the wrong type) is an error, and the error names the file.
package config
