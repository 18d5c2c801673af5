package termout

import (
	"bytes"
	"strings"
	"testing"
)

// TestProgress: a bar is drawn only on a terminal (never in a pipe or a
// buffer), only for runs of ProgressMin items or more, always at the end,
// and its line is cleared when done.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, "pair", false)
	p.Update(ProgressMin, ProgressMin)
	p.Done()
	if buf.Len() != 0 {
		t.Fatalf("drawn on a buffer: %q", buf.String())
	}
	cases := []struct {
		name  string
		total int
		want  string // "" for nothing drawn
	}{
		{"short run", ProgressMin - 1, ""},
		{"long run", 600, "\rpair [===============               ] 300/600\rpair [==============================] 600/600\r\033[K"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		p := &Progress{w: &buf, label: "pair", on: true} // as on a terminal
		p.Update(tc.total/2, tc.total)
		p.Update(tc.total/2+1, tc.total) // within 100 ms of the last: skipped
		p.Update(tc.total, tc.total)     // the end is always drawn
		p.Done()
		if got := buf.String(); got != tc.want {
			t.Errorf("%s: drew %q, want %q", tc.name, got, tc.want)
		}
		if strings.Count(buf.String(), "\r") > 3 {
			t.Errorf("%s: too many redraws", tc.name)
		}
	}
}
