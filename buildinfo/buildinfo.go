// Package buildinfo reads the version of the cardbridge binary from the
// build information the Go toolchain embeds (runtime/debug.ReadBuildInfo):
// what `cardbridge version` prints and serve's /healthz and web page show.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the version of a build.
type Version struct {
	Version string // module version: v1.2.3, a pseudo-version, or "(devel)" from a source tree
	Commit  string // vcs.revision, with "+dirty" when vcs.modified; "" when unknown
	Date    string // vcs.time: the commit's time; "" when unknown
	Go      string // the Go version that built it
}

// Read reads the build information bi (ok as debug.ReadBuildInfo returns
// it); ldflags is the version set with -ldflags "-X main.version=..."
// ("dev" when not set), which wins over the module's when set.
func Read(ldflags string, bi *debug.BuildInfo, ok bool) Version {
	v := Version{Version: "(devel)", Go: runtime.Version()}
	if ok && bi != nil {
		if bi.Main.Version != "" {
			v.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			v.Go = bi.GoVersion
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.Date = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && v.Commit != "" {
			v.Commit += "+dirty"
		}
	}
	if ldflags != "" && ldflags != "dev" {
		v.Version = ldflags
	}
	return v
}

// Current is the version of the running binary (Read of its own build
// information).
func Current(ldflags string) Version {
	bi, ok := debug.ReadBuildInfo()
	return Read(ldflags, bi, ok)
}

// Short is the one-word version (serve's /healthz and web page).
func (v Version) Short() string {
	if v.Version == "(devel)" && v.Commit != "" {
		return "devel-" + shortCommit(v.Commit)
	}
	return v.Version
}

// String is the text of `cardbridge version`.
func (v Version) String() string {
	var b strings.Builder
	ver := v.Version
	if ver == "(devel)" {
		ver = "(devel: built from a source tree, not a tagged release)"
	}
	fmt.Fprintf(&b, "cardbridge %s\n", ver)
	fmt.Fprintf(&b, "commit:  %s\n", orUnknown(v.Commit))
	fmt.Fprintf(&b, "date:    %s\n", orUnknown(v.Date))
	fmt.Fprintf(&b, "go:      %s\n", v.Go)
	return b.String()
}

func shortCommit(c string) string {
	dirty := strings.HasSuffix(c, "+dirty")
	c = strings.TrimSuffix(c, "+dirty")
	if len(c) > 12 {
		c = c[:12]
	}
	if dirty {
		c += "+dirty"
	}
	return c
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown (not built from a git checkout)"
	}
	return s
}
