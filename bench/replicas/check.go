package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/bench/davclient"
)

// The checks, by name: the report lists the violations of each.
const (
	checkLostWrites   = "lost-writes"              // every acknowledged write is in the final state or superseded
	checkDuplicateUID = "duplicate-uids"           // no UID twice in a book or the directory
	checkStreams      = "sync-streams"             // each client's sync-collection deltas replay to the final listing
	checkConverged    = "converged"                // the pair's book and directory hold the same cards
	checkStatuses     = "statuses"                 // no 5xx, no unexpected status, no stray transport error
	checkPairOverlap  = "pair-runs-overlap"        // no two runs of one pair at the same time (the pair lease)
	checkSchedule     = "schedule-once-per-period" // a scheduled pair runs once per period across replicas (leases)
)

// allChecks is the order of the checks in the report.
var allChecks = []string{checkLostWrites, checkDuplicateUID, checkStreams, checkConverged, checkStatuses, checkPairOverlap, checkSchedule}

// Write is one write a client sent: acknowledged (a 2xx), or in doubt
// (no answer, or a 5xx: it may or may not have happened).
type Write struct {
	Client  int    `json:"client"`
	Href    string `json:"href"`
	Op      string `json:"op"`       // put, create or delete
	IfMatch string `json:"if_match"` // "" for a create (If-None-Match: *)
	ETag    string `json:"etag"`     // the new ETag of an acknowledged put or create
	Marker  string `json:"marker"`
	Acked   bool   `json:"acked"`
}

// Card is a card of a final listing (Href: its name in the book).
type Card = davclient.Card

// Delta is one response of a sync-collection answer: the card (Href:
// its name in the book) changed to ETag, or it is gone.
type Delta struct {
	Href    string
	ETag    string
	Deleted bool
}

// Stream is one client's sync-collection history from its first
// (tokenless) sync to its last, after the run.
type Stream struct {
	Client int
	Deltas []Delta
	// Resets counts valid-sync-token refusals: a token one replica gave
	// that another (or the same) refused breaks the stream.
	Resets int
	// Syncs counts the answered sync-collection REPORTs.
	Syncs int
}

// RunRecord is a run of a pair as the state's runs table holds it.
type RunRecord struct {
	Pair     string
	Started  time.Time
	Finished time.Time
	OK       bool
}

// History is everything the checker judges: what the clients wrote and
// read, the final state, and the pairs' runs.
type History struct {
	Writes []Write
	// Book is the final listing of the clients' book; Dir the pair's vCard
	// directory (UID -> marker); OtherBooks the other books' listings.
	Book       []Card
	Dir        map[string]string
	DirDupUIDs []string // UIDs found in two files of the directory
	OtherBooks map[string][]Card
	// Phone is the last marker the "phone" wrote to each UID in the
	// directory, which the pair must have taken to the book.
	Phone   map[string]string
	Streams []Stream
	// Statuses problems counted while running (5xx, unexpected statuses).
	StatusProblems []string
	Runs           []RunRecord
	// Scheduled are the pairs that run on their schedule only (no client
	// writes to their books), with their every.
	Scheduled map[string]time.Duration
	// Window is when the replicas ran: from the first start to the stop.
	WindowStart, WindowEnd time.Time
	// Grace is how late a period's run may be (a killed holder's lease).
	Grace time.Duration
}

// Violations are the failed checks: check name -> what went wrong.
type Violations map[string][]string

func (v Violations) add(check, format string, args ...any) {
	v[check] = append(v[check], fmt.Sprintf(format, args...))
}

// Count is the number of violations of all checks.
func (v Violations) Count() int {
	n := 0
	for _, l := range v {
		n += len(l)
	}
	return n
}

// Check runs every check on h.
func Check(h *History) Violations {
	v := Violations{}
	checkWrites(h, v)
	checkUIDs(h, v)
	checkStreamsOf(h, v)
	checkConvergence(h, v)
	for _, p := range h.StatusProblems {
		v.add(checkStatuses, "%s", p)
	}
	checkRuns(h, v)
	return v
}

// checkWrites: an acknowledged put or create is lost unless the final
// card has its ETag or some write (acknowledged or in doubt) was made
// against that ETag; an acknowledged delete's card must be gone; two
// writes acknowledged against one ETag (or two creates of one href) mean
// one of them overwrote the other unseen. The phone's last edit of each
// card must be in the book.
func checkWrites(h *History, v Violations) {
	final := map[string]Card{}
	for _, c := range h.Book {
		final[c.Href] = c
	}
	basedOn := map[string]map[string]bool{} // href -> ETags some write was made against
	ackedOn := map[string]map[string]Write{}
	for _, w := range h.Writes {
		if basedOn[w.Href] == nil {
			basedOn[w.Href], ackedOn[w.Href] = map[string]bool{}, map[string]Write{}
		}
		if w.IfMatch != "" {
			basedOn[w.Href][w.IfMatch] = true
		}
		if !w.Acked {
			continue
		}
		key := w.IfMatch
		if w.Op == "create" {
			key = "create"
		}
		if prev, dup := ackedOn[w.Href][key]; dup {
			v.add(checkLostWrites, "%s: client %d's %s (%s) and client %d's %s (%s) were both acknowledged against %s",
				w.Href, prev.Client, prev.Op, prev.Marker, w.Client, w.Op, w.Marker, orCreate(w.IfMatch))
		}
		ackedOn[w.Href][key] = w
	}
	for _, w := range h.Writes {
		if !w.Acked {
			continue
		}
		c, present := final[w.Href]
		switch {
		case w.Op == "delete":
			if present {
				v.add(checkLostWrites, "%s: client %d's acknowledged DELETE (against %s) but the card is there (%s)", w.Href, w.Client, w.IfMatch, c.Marker)
			}
		case w.ETag == "":
			v.add(checkLostWrites, "%s: client %d's acknowledged %s (%s) had no ETag", w.Href, w.Client, w.Op, w.Marker)
		case present && c.ETag == w.ETag:
		case basedOn[w.Href][w.ETag]:
		case present:
			v.add(checkLostWrites, "%s: client %d's acknowledged %s %q (ETag %s) was lost: the card holds %q (ETag %s) and no write was made against %s",
				w.Href, w.Client, w.Op, w.Marker, w.ETag, c.Marker, c.ETag, w.ETag)
		default:
			v.add(checkLostWrites, "%s: client %d's acknowledged %s %q (ETag %s) was lost: the card is gone and no write was made against %s",
				w.Href, w.Client, w.Op, w.Marker, w.ETag, w.ETag)
		}
	}
	byUID := map[string]Card{}
	for _, c := range h.Book {
		byUID[c.UID] = c
	}
	for _, uid := range sortedKeys(h.Phone) {
		if got := byUID[uid].Marker; got != h.Phone[uid] {
			v.add(checkLostWrites, "the phone's edit %q of %s in the directory is not in the book (it holds %q)", h.Phone[uid], uid, got)
		}
	}
}

func orCreate(ifMatch string) string {
	if ifMatch == "" {
		return "If-None-Match: *"
	}
	return ifMatch
}

// checkUIDs: no UID at two hrefs of one book, nor in two files.
func checkUIDs(h *History, v Violations) {
	books := map[string][]Card{"the clients' book": h.Book}
	for name, cards := range h.OtherBooks {
		books[name] = cards
	}
	for _, name := range sortedKeys(books) {
		hrefs := map[string][]string{}
		for _, c := range books[name] {
			hrefs[c.UID] = append(hrefs[c.UID], c.Href)
		}
		for _, uid := range sortedKeys(hrefs) {
			if len(hrefs[uid]) > 1 {
				sort.Strings(hrefs[uid])
				v.add(checkDuplicateUID, "%s: UID %s at %d hrefs: %s", name, uid, len(hrefs[uid]), strings.Join(hrefs[uid], ", "))
			}
		}
	}
	for _, uid := range h.DirDupUIDs {
		v.add(checkDuplicateUID, "the directory: UID %s in two files", uid)
	}
}

// checkStreamsOf replays each client's deltas from nothing: the result
// must be the book's final listing, href by href and ETag by ETag, and no
// token may have been refused.
func checkStreamsOf(h *History, v Violations) {
	final := map[string]string{}
	for _, c := range h.Book {
		final[c.Href] = c.ETag
	}
	for _, s := range h.Streams {
		if s.Resets > 0 {
			v.add(checkStreams, "client %d: %d sync tokens refused (valid-sync-token): its stream is broken", s.Client, s.Resets)
		}
		if s.Syncs < 2 {
			v.add(checkStreams, "client %d: %d sync-collection answers, want its first and its last at least", s.Client, s.Syncs)
			continue
		}
		got := map[string]string{}
		for _, d := range s.Deltas {
			if d.Deleted {
				delete(got, d.Href)
			} else {
				got[d.Href] = d.ETag
			}
		}
		if diff := diffListing(got, final); diff != "" {
			v.add(checkStreams, "client %d: its deltas replayed differ from the final listing: %s", s.Client, diff)
		}
	}
}

// diffListing says how replayed (href -> ETag) differs from final, "" when
// it does not.
func diffListing(got, final map[string]string) string {
	var d []string
	for _, href := range sortedKeys(final) {
		g, ok := got[href]
		switch {
		case !ok:
			d = append(d, href+" missing")
		case g != final[href]:
			d = append(d, fmt.Sprintf("%s at %s, the book has %s", href, g, final[href]))
		}
	}
	for _, href := range sortedKeys(got) {
		if _, ok := final[href]; !ok {
			d = append(d, href+" is gone from the book")
		}
	}
	if len(d) > 5 {
		d = append(d[:5], fmt.Sprintf("… %d more", len(d)-5))
	}
	return strings.Join(d, "; ")
}

// checkConvergence: the book and the directory hold the same cards
// (UID -> marker) once the pair has run after the clients stopped.
func checkConvergence(h *History, v Violations) {
	if h.Dir == nil {
		return
	}
	book := map[string]string{}
	for _, c := range h.Book {
		book[c.UID] = c.Marker
	}
	var d []string
	for _, uid := range sortedKeys(book) {
		if m, ok := h.Dir[uid]; !ok {
			d = append(d, uid+" only in the book")
		} else if m != book[uid] {
			d = append(d, fmt.Sprintf("%s: book %q, directory %q", uid, book[uid], m))
		}
	}
	for _, uid := range sortedKeys(h.Dir) {
		if _, ok := book[uid]; !ok {
			d = append(d, uid+" only in the directory")
		}
	}
	if len(d) > 0 {
		if len(d) > 5 {
			d = append(d[:5], fmt.Sprintf("… %d more", len(d)-5))
		}
		v.add(checkConverged, "%d cards in the book, %d in the directory: %s", len(book), len(h.Dir), strings.Join(d, "; "))
	}
}

// checkRuns: no pair's runs overlap; a scheduled pair's runs start at
// least one period (less a tolerance) apart, the first within Grace of the
// window's start, and no gap between runs (or before the window's end)
// longer than a period and Grace.
func checkRuns(h *History, v Violations) {
	byPair := map[string][]RunRecord{}
	for _, r := range h.Runs {
		byPair[r.Pair] = append(byPair[r.Pair], r)
	}
	for _, pair := range sortedKeys(byPair) {
		runs := byPair[pair]
		sort.Slice(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
		for i := 1; i < len(runs); i++ {
			if runs[i].Started.Before(runs[i-1].Finished) {
				v.add(checkPairOverlap, "pair %s: a run started at %s while the one of %s ran until %s", pair,
					stamp(runs[i].Started), stamp(runs[i-1].Started), stamp(runs[i-1].Finished))
			}
		}
	}
	for _, pair := range sortedKeys(h.Scheduled) {
		every := h.Scheduled[pair]
		runs := byPair[pair]
		tol := every / 10
		if len(runs) == 0 {
			v.add(checkSchedule, "pair %s (every %s): no run at all", pair, every)
			continue
		}
		if late := runs[0].Started.Sub(h.WindowStart); late > h.Grace {
			v.add(checkSchedule, "pair %s (every %s): its first run started %s after the replicas did", pair, every, late.Round(time.Millisecond))
		}
		for i := 1; i < len(runs); i++ {
			gap := runs[i].Started.Sub(runs[i-1].Started)
			if gap < every-tol {
				v.add(checkSchedule, "pair %s (every %s): two runs in one period, started at %s and %s (%s apart)", pair, every,
					stamp(runs[i-1].Started), stamp(runs[i].Started), gap.Round(time.Millisecond))
			}
			if gap > every+h.Grace {
				v.add(checkSchedule, "pair %s (every %s): no run for %s after the one of %s", pair, every, gap.Round(time.Millisecond), stamp(runs[i-1].Started))
			}
		}
		if gap := h.WindowEnd.Sub(runs[len(runs)-1].Started); gap > every+h.Grace {
			v.add(checkSchedule, "pair %s (every %s): no run in the last %s before the replicas stopped", pair, every, gap.Round(time.Millisecond))
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
