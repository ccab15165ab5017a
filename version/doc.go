// Package version holds Herald's own version, the Consul version whose API
// and CLI it reproduces, and the build metadata stamped in at link time.
//
// It is a leaf with no dependencies beyond the standard library, so that any
// package (the CLI, the HTTP API's /v1/agent/self, the agent's startup
// banner) can report the same numbers. Revision, BuildDate and Prerelease are
// plain string variables so a release build can set them:
//
//	go build -ldflags "-X github.com/heraldhq/herald/version.Revision=$(git rev-parse --short HEAD) \
//	  -X github.com/heraldhq/herald/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" ./cmd/herald
//
// When they are left empty, the VCS stamp the Go toolchain embeds in every
// binary built from a checkout is used instead.
package version
