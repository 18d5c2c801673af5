package web

// The dashboard's line of a pair, short and plain: "Office 365 ⇄
// Contacts: synced 2 min ago, 300 contacts, no problems".

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
)

// refreshWhileRunning is how often (seconds) the dashboard reloads
// itself while one of its pairs syncs (a meta refresh: no JavaScript).
const refreshWhileRunning = 3

// sideNames are the names of a pair's sides for a person, by the one
// rule the conflicts page and `cardbridge conflicts show` use too
// (fields.SideNames: "Office 365", the book's display name, "folder
// NAME", "CardDAV HOST"); books holds the address books by "user/name".
func sideNames(p config.Pair, books map[string]state.AddressBook) (a, b string) {
	title := func(s config.Side) string {
		if s.Type != config.SideServer {
			return ""
		}
		return books[s.User+"/"+s.Addressbook].DisplayName
	}
	return fields.SideNames(p.A, p.B, title(p.A), title(p.B))
}

// everyText is a schedule in words: "every minute", "every 15
// minutes", "every 2 hours", "every 90 seconds"; "" for none.
func everyText(d time.Duration) string {
	unit := func(n int64, one, many string) string {
		if n == 1 {
			return "every " + one
		}
		return "every " + strconv.FormatInt(n, 10) + " " + many
	}
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return unit(int64(d/(24*time.Hour)), "day", "days")
	case d%time.Hour == 0:
		return unit(int64(d/time.Hour), "hour", "hours")
	case d%time.Minute == 0:
		return unit(int64(d/time.Minute), "minute", "minutes")
	case d%time.Second == 0:
		return unit(int64(d/time.Second), "second", "seconds")
	}
	return "every " + d.String()
}

// runSummary is what the pair line reads of a run's JSON summary.
type runSummary struct {
	Conflicts int
	Skipped   int
	Errors    []string
}

// plural is "1 contact", "2 contacts".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// pairLine is the pair's line: its two sides, then what happens or
// happened ("syncing now, 120 of 300", "synced 2 min ago", "last sync
// failed 1 hour ago", "not synced yet"), the number of contacts it syncs
// and its problems ("no problems" when there is none).
func pairLine(pv pairView, books map[string]state.AddressBook, items int, now time.Time) string {
	a, b := sideNames(pv.Pair, books)
	head := a + " ⇄ " + b + ": "
	var parts []string
	switch {
	case pv.Status.Running && pv.Status.Total > 0:
		parts = append(parts, "syncing now, "+strconv.Itoa(pv.Status.Done)+" of "+strconv.Itoa(pv.Status.Total))
	case pv.Status.Running:
		parts = append(parts, "syncing now")
	case pv.HasRun && pv.LastRun.OK:
		parts = append(parts, "synced "+fields.Ago(now, pv.LastRun.Finished))
	case pv.HasRun && pv.LastRun.Finished.IsZero():
		parts = append(parts, "last sync did not finish ("+fields.Ago(now, pv.LastRun.Started)+")")
	case pv.HasRun:
		parts = append(parts, "last sync failed "+fields.Ago(now, pv.LastRun.Finished))
	default:
		parts = append(parts, "not synced yet")
	}
	parts = append(parts, plural(items, "contact", "contacts"))
	var problems []string
	if pv.Conflicts > 0 {
		problems = append(problems, plural(pv.Conflicts, "conflict", "conflicts")+" to decide")
	}
	if pv.HasRun {
		var s runSummary
		if json.Unmarshal(pv.LastRun.Summary, &s) == nil {
			if len(s.Errors) > 0 {
				problems = append(problems, plural(len(s.Errors), "error", "errors"))
			}
			if s.Skipped > 0 {
				problems = append(problems, strconv.Itoa(s.Skipped)+" skipped")
			}
		}
		if !pv.LastRun.OK && len(problems) == 0 && !pv.LastRun.Finished.IsZero() {
			problems = append(problems, "see below")
		}
	} else if pv.Status.Error != "" {
		problems = append(problems, "its last run failed")
	}
	if len(problems) == 0 {
		parts = append(parts, "no problems")
	} else {
		parts = append(parts, strings.Join(problems, ", "))
	}
	return head + strings.Join(parts, ", ")
}

// importedFor is how long after a pair's first sync the dashboard says
// what it imported.
const importedFor = 24 * time.Hour

// importedText says what the first sync of a pair copied, for a day
// after it ended: "First sync 2 min ago: 300 contacts imported from
// Office 365 into Contacts (and 2 from Contacts into Office 365)"; ""
// once that is older or when it copied nothing.
func importedText(first state.Run, a, b string, now time.Time) string {
	if first.Finished.IsZero() || now.Sub(first.Finished) > importedFor {
		return ""
	}
	var sum struct {
		A, B struct{ Created int }
	}
	if json.Unmarshal(first.Summary, &sum) != nil || sum.A.Created+sum.B.Created == 0 {
		return ""
	}
	head := "First sync " + fields.Ago(now, first.Finished) + ": "
	toB := plural(sum.B.Created, "contact", "contacts") + " imported from " + a + " into " + b
	toA := plural(sum.A.Created, "contact", "contacts") + " imported from " + b + " into " + a
	switch {
	case sum.A.Created == 0:
		return head + toB
	case sum.B.Created == 0:
		return head + toA
	}
	return head + toB + " (and " + strconv.Itoa(sum.A.Created) + " from " + b + " into " + a + ")"
}
