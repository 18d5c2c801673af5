package fields

import (
	"strings"
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 2 * time.Minute: "2 min ago", 59 * time.Minute: "59 min ago", time.Hour: "1 hour ago",
		5 * time.Hour: "5 hours ago", 30 * time.Hour: "yesterday", 3 * 24 * time.Hour: "3 days ago",
	} {
		if got := Ago(now, now.Add(-d)); got != want {
			t.Errorf("Ago(-%v) = %q, want %q", d, got, want)
		}
	}
	old := now.Add(-30 * 24 * time.Hour)
	if got := Ago(now, old); got != old.Local().Format("2 Jan 2006 15:04 MST") || !strings.Contains(got, old.Local().Format("MST")) {
		t.Errorf("a month ago: %q (want the date with the zone)", got)
	}
	if Ago(now, time.Time{}) != "never" {
		t.Error("zero time is not never")
	}
}
