package main

import (
	"runtime"
	"strings"
	"testing"
)

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
