// Package version identifies the switchyard build from what Go records in
// the binary (debug.ReadBuildInfo: the module version and the VCS stamp).
// Every command that reports a version — `switchyard --version`,
// `docker-proxy -v`, `slirp4netns -v` — prints String, so they agree.
package version

import (
	"runtime/debug"
	"strings"
)

// Info is a build's identity.
type Info struct {
	// Module is the main module's version: a tag or pseudo-version for
	// `go install …@version`, "(devel)" for a build from a checkout.
	Module string
	// Revision is the VCS commit the binary was built from ("" unknown).
	Revision string
	// Modified reports uncommitted changes in that checkout.
	Modified bool
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Module: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Module: bi.Main.Version}
	if i.Module == "" {
		i.Module = "unknown"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the version line's text: the module version, then the first
// 12 digits of the commit (with "-dirty" for a modified checkout), e.g.
// "(devel), commit 0123456789ab-dirty".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Module)
	if i.Revision != "" {
		r := i.Revision
		if len(r) > 12 {
			r = r[:12]
		}
		b.WriteString(", commit " + r)
		if i.Modified {
			b.WriteString("-dirty")
		}
	}
	return b.String()
}

// String is Read().String().
func String() string { return Read().String() }
