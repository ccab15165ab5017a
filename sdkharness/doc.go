// Package sdkharness checks that Consul's own test harness,
// github.com/hashicorp/consul/sdk/testutil, runs Herald in place of Consul:
// many Go projects of Consul's ecosystem test against "a consul binary on
// $PATH" through it, and pointing that name at Herald must be enough.
//
// The tests build the herald binary (or use $HERALD_BIN), put a `consul`
// link to it first on PATH, and let the harness write its config files,
// start servers and client agents side by side on one host, join them,
// wait for a leader and stop them with SIGINT, as it does for Consul. The
// package has no code of its own beyond the tests.
package sdkharness
