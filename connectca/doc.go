// Package connectca is the built-in Connect CA's cryptography: making a
// root (ECDSA P-256 by default, self-signed, with the cluster's SPIFFE
// trust domain), cross-signing a new root with the old one on rotation, and
// signing service leaf certificates with SPIFFE IDs, in the shapes Consul's
// API shows. It holds no state: the CA's state is replicated through the
// catalog shard (event.ConnectCA), and whoever proposes a change generates
// its keys here.
package connectca
