package termout

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
		// 300 done at t=0 (no rate yet), 301 at 50 ms (skipped), 600 at 2 s: 150/s.
		{"long run", 600, "\rpair [===============               ] 300/600\033[K\rpair [==============================] 600/600, 150/s\033[K\r\033[K"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p := &Progress{w: &buf, label: "pair", on: true, now: func() time.Time { return clock }} // as on a terminal
		p.Update(tc.total/2, tc.total)
		clock = clock.Add(50 * time.Millisecond)
		p.Update(tc.total/2+1, tc.total) // within 100 ms of the last: skipped
		clock = clock.Add(1950 * time.Millisecond)
		p.Update(tc.total, tc.total) // the end is always drawn
		p.Done()
		if got := buf.String(); got != tc.want {
			t.Errorf("%s: drew %q, want %q", tc.name, got, tc.want)
		}
		if strings.Count(buf.String(), "\r") > 3 {
			t.Errorf("%s: too many redraws", tc.name)
		}
	}
}

// TestProgressRateAndTimeLeft: once a second has passed the bar says how
// many items a second and how long is left.
func TestProgressRateAndTimeLeft(t *testing.T) {
	cases := []struct {
		name        string
		after       time.Duration
		done, total int
		want        string
	}{
		{"too early", 900 * time.Millisecond, 500, 1000, "] 500/1000\033[K"},
		{"half way", 2 * time.Second, 500, 1000, "] 500/1000, 250/s, 2s left\033[K"},
		{"minutes left", 10 * time.Second, 100, 10000, "] 100/10000, 10/s, 16m30s left\033[K"},
		{"at the end", 4 * time.Second, 1000, 1000, "] 1000/1000, 250/s\033[K"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		p := &Progress{w: &buf, label: "pair", on: true, now: func() time.Time { return clock }}
		p.Update(0, tc.total)
		clock = clock.Add(tc.after)
		buf.Reset()
		p.Update(tc.done, tc.total)
		if got := buf.String(); !strings.HasSuffix(got, tc.want) {
			t.Errorf("%s: drew %q, want it to end in %q", tc.name, got, tc.want)
		}
	}
}
