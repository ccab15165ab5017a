package version

import (
	"runtime/debug"
	"time"
)

// Version is Herald's own release number.
const Version = "0.1.0"

// ConsulCompat is the Consul release whose HTTP API, DNS interface, CLI and
// configuration Herald reproduces. It is what Herald reports wherever a
// Consul client or script expects Consul's version: `consul version`, the
// agent's self description, member tags.
const ConsulCompat = "1.20.0"

// Link-time metadata, set with -ldflags -X; empty in a plain `go build`.
var (
	// Revision is the VCS revision the binary was built from.
	Revision string
	// BuildDate is when the binary was built, in RFC 3339 form.
	BuildDate string
	// Prerelease marks a pre-release build ("dev", "rc1"); empty for releases.
	Prerelease string
)

// Info is the build description that commands and endpoints report.
type Info struct {
	Version    string
	Prerelease string
	Revision   string
	BuildDate  time.Time
}

// Human is the version as people write it: "0.1.0", or "0.1.0-dev" for a
// pre-release.
func (i Info) Human() string {
	if i.Prerelease == "" {
		return i.Version
	}
	return i.Version + "-" + i.Prerelease
}

// epoch stands in for an unknown build date; Consul's own unstamped builds
// report a moment just after the Unix epoch too, so tools parsing the date
// still get a valid timestamp.
var epoch = time.Unix(1, 0).UTC()

// Get returns Herald's build description, falling back to the toolchain's
// VCS stamp for anything the linker did not set.
func Get() Info {
	info := Info{Version: Version, Prerelease: Prerelease, Revision: Revision, BuildDate: epoch}
	vcsRevision, vcsTime := vcsStamp()
	if info.Revision == "" {
		info.Revision = vcsRevision
	}
	switch {
	case BuildDate != "":
		if t, err := time.Parse(time.RFC3339, BuildDate); err == nil {
			info.BuildDate = t.UTC()
		}
	case vcsTime != "":
		if t, err := time.Parse(time.RFC3339, vcsTime); err == nil {
			info.BuildDate = t.UTC()
		}
	}
	return info
}

// vcsStamp reads the revision and commit time that `go build` records when it
// builds from a repository checkout.
func vcsStamp() (revision, commitTime string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			commitTime = s.Value
		}
	}
	return revision, commitTime
}
