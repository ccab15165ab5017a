// Package tlsutil turns Consul-style TLS settings into *tls.Config values
// and makes the certificates to go with them.
//
// A Protocol is one section of the agent's tls block (https, internal_rpc,
// grpc) after its inheritance from tls.defaults has been resolved: the CA,
// the agent's own certificate and key, and the verify rules. ServerConfig
// and ClientConfig build the two sides of a connection from it; Validate
// checks a section the way the agent does at start-up, reading every file
// it names.
//
// GenerateCA and GenerateCert are what `herald tls ca create` and
// `herald tls cert create` use: an ECDSA P-256 CA and certificates signed
// by it, with the names Consul gives its server, client and CLI
// certificates (server.<dc>.<domain>, client.<dc>.<domain>,
// cli.<dc>.<domain>, plus localhost and 127.0.0.1).
package tlsutil
