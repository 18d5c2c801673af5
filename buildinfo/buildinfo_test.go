package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestRead: the module version, vcs.revision (+dirty when
// vcs.modified), vcs.time and the Go version come from the build info;
// "(devel)" says it was built from a source tree; -ldflags wins.
func TestRead(t *testing.T) {
	vcs := func(rev, tm, mod string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: mod}}
	}
	cases := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    Version
		short   string
	}{
		{"release", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: vcs("abc123", "2026-01-02T03:04:05Z", "false")},
			true, Version{"v1.4.0", "abc123", "2026-01-02T03:04:05Z", "go1.26.8"}, "v1.4.0"},
		{"dirty tree", "dev", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef0123", "2026-12-07T12:00:00Z", "true")},
			true, Version{"(devel)", "0123456789abcdef0123+dirty", "2026-12-07T12:00:00Z", "go1.27.3"}, "devel-0123456789ab+dirty"},
		{"no vcs", "dev", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}},
			true, Version{"(devel)", "", "", "go1.27.3"}, "(devel)"},
		{"no build info", "dev", nil, false, Version{"(devel)", "", "", runtime.Version()}, "(devel)"},
		{"ldflags", "v2.0.0-rc1", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}},
			true, Version{"v2.0.0-rc1", "", "", "go1.27.3"}, "v2.0.0-rc1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Read(c.ldflags, c.bi, c.ok)
			if got != c.want || got.Short() != c.short {
				t.Errorf("got %+v (short %q), want %+v (short %q)", got, got.Short(), c.want, c.short)
			}
		})
	}
}
