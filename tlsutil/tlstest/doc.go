// Package tlstest makes CAs and certificates in a test's temporary
// directory, with the same code `herald tls ca create` and
// `herald tls cert create` run.
package tlstest
