package vcard

import (
	"regexp"
	"strings"
	"testing"
)

// TestUIDName: a UID of the safe bytes (and of extra) within the length
// names its card; an empty, long, dot-first or otherwise unsafe one does not.
func TestUIDName(t *testing.T) {
	tests := []struct {
		uid, extra string
		maxLen     int
		want       string
	}{
		{"abc-123@example.org", "", 200, "abc-123@example.org.vcf"},
		{"A_b.C", "", 200, "A_b.C.vcf"},
		{"", "", 200, ""},
		{".hidden", "", 200, ""},
		{"a+b", "", 200, ""},
		{"a+b", "+", 200, "a+b.vcf"},
		{"a/b", "+", 200, ""},
		{"a b", "", 200, ""},
		{"..", "", 200, ""},
		{"é", "", 200, ""},
		{strings.Repeat("x", 128), "", 128, strings.Repeat("x", 128) + ".vcf"},
		{strings.Repeat("x", 129), "", 128, ""},
	}
	for _, tt := range tests {
		if got := UIDName(tt.uid, tt.maxLen, tt.extra); got != tt.want {
			t.Errorf("UIDName(%q, %d, %q) = %q, want %q", tt.uid, tt.maxLen, tt.extra, got, tt.want)
		}
	}
}

// TestRandomName: 32 hex digits and .vcf, a new one each call.
func TestRandomName(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{32}\.vcf$`)
	a, b := RandomName(), RandomName()
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Fatalf("RandomName gave %q and %q", a, b)
	}
}
