package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestReadBuildVersion: the module version, vcs.revision (+dirty when
// vcs.modified), vcs.time and the Go version come from the build info;
// "(devel)" says it was built from a source tree; -X main.version wins.
func TestReadBuildVersion(t *testing.T) {
	vcs := func(rev, tm, mod string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: tm}, {Key: "vcs.modified", Value: mod}}
	}
	cases := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		ok      bool
		want    buildVersion
		short   string
	}{
		{"release", "dev", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: vcs("abc123", "2026-01-02T03:04:05Z", "false")},
			true, buildVersion{"v1.4.0", "abc123", "2026-01-02T03:04:05Z", "go1.26.8"}, "v1.4.0"},
		{"dirty tree", "dev", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef0123", "2026-12-07T12:00:00Z", "true")},
			true, buildVersion{"(devel)", "0123456789abcdef0123+dirty", "2026-12-07T12:00:00Z", "go1.27.3"}, "devel-0123456789ab+dirty"},
		{"no vcs", "dev", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}},
			true, buildVersion{"(devel)", "", "", "go1.27.3"}, "(devel)"},
		{"no build info", "dev", nil, false, buildVersion{"(devel)", "", "", runtime.Version()}, "(devel)"},
		{"ldflags", "v2.0.0-rc1", &debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "(devel)"}},
			true, buildVersion{"v2.0.0-rc1", "", "", "go1.27.3"}, "v2.0.0-rc1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := readBuildVersion(c.ldflags, c.bi, c.ok)
			if got != c.want || got.short() != c.short {
				t.Errorf("got %+v (short %q), want %+v (short %q)", got, got.short(), c.want, c.short)
			}
		})
	}
}

// TestVersionCommandAndFlag: `version` and `--version` print the same
// four lines: version, commit, date and the Go version that built it.
func TestVersionCommandAndFlag(t *testing.T) {
	v := cb(t, nil, "version")
	f := cb(t, nil, "--version")
	if v.code != 0 || f.code != 0 || v.stdout != f.stdout {
		t.Fatalf("version: %+v\n--version: %+v", v, f)
	}
	lines := strings.Split(strings.TrimSuffix(v.stdout, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "cardbridge ") || !strings.HasPrefix(lines[1], "commit:") ||
		!strings.HasPrefix(lines[2], "date:") || lines[3] != "go:      "+runtime.Version() {
		t.Errorf("version output:\n%s", v.stdout)
	}
}
