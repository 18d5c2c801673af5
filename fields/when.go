package fields

import (
	"strconv"
	"time"
)

// Ago is t relative to now in words ("just now", "2 min ago", "3 hours
// ago", "yesterday"); beyond a week, the date and time with the zone
// (local time); "never" for the zero time. The web page and the CLI
// say when things happened with it.
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return strconv.Itoa(n) + " " + unit + "s ago"
	}
	switch {
	case d < -time.Minute:
		return t.Local().Format("2 Jan 2006 15:04 MST")
	case d < 45*time.Second:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(max(1, int(d.Round(time.Minute)/time.Minute))) + " min ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 48*time.Hour:
		return "yesterday"
	case d < 7*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	}
	return t.Local().Format("2 Jan 2006 15:04 MST")
}
