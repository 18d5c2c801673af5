package termout

import (
	"strings"
	"testing"
	"time"
)

// TestTable: columns two spaces apart as wide as their widest cell,
// whatever the width of the names (non-ASCII included); an empty cell is
// "-" and a hostile one escaped, tabs included, so it cannot break the
// columns.
func TestTable(t *testing.T) {
	var b strings.Builder
	tb := NewTable(&b, "ID", "NAME", "UID")
	tb.Row("1", Cell("Zoë Ünal"), Cell(""))
	tb.Row("12", Cell("a\tb\x1b[2J"), Cell("u"))
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "ID  NAME         UID\n" +
		"1   Zoë Ünal     -\n" +
		"12  a\\tb\\x1b[2J  u\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestStampWriter: every line begins with the time it was started,
// however the writes split the lines.
func TestStampWriter(t *testing.T) {
	var b strings.Builder
	tick := time.Date(2026, 12, 7, 13, 0, 0, 0, time.FixedZone("CET", 3600))
	sw := NewStampWriter(&b, func() time.Time { tick = tick.Add(time.Second); return tick })
	for _, p := range []string{"one\ntw", "o\n", "three\nfour\n"} {
		if n, err := sw.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	want := "2026-12-07T13:00:01+01:00 one\n2026-12-07T13:00:02+01:00 two\n2026-12-07T13:00:03+01:00 three\n2026-12-07T13:00:04+01:00 four\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
