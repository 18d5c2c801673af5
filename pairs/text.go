package pairs

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
	"github.com/cardbridge/cardbridge/vcard"
)

// This file holds the CLI's lines about the application layer's results:
// what a run, a purge, a reset, a pair's status and an account are in
// words. Text that comes from cards, servers or the configuration is
// escaped for the terminal (termout) where the line is written whole.

// SummaryLine is the one line `sync` prints per pair (not escaped).
func SummaryLine(r *engine.Result) string {
	var b strings.Builder
	verb := ""
	if r.DryRun {
		verb = " (dry run: would)"
	}
	fmt.Fprintf(&b, "%s%s: a +%d ~%d -%d, b +%d ~%d -%d", r.Pair, verb,
		r.A.Created, r.A.Updated, r.A.Deleted, r.B.Created, r.B.Updated, r.B.Deleted)
	fmt.Fprintf(&b, ", %d conflicts, %d skipped, %d errors (%d ms)", r.Conflicts, len(r.Skipped), len(r.Errors), r.Duration.Milliseconds())
	return b.String()
}

// WritePlan writes every planned action of a dry run of pair (nothing for
// no plan), escaped.
func WritePlan(w io.Writer, pair string, p *engine.Plan) {
	if p == nil {
		return
	}
	fmt.Fprintf(w, "%s: plan (%d actions, nothing written):\n", pair, len(p.Actions))
	for _, act := range p.Actions {
		fmt.Fprintf(w, "  %-28s %s: %s\n", termout.String(strings.Join(act.Ops(), ", ")), termout.String(act.Who()), termout.String(act.Why))
	}
}

// EntriesText is "1 entry", "3 entries".
func EntriesText(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

// PurgedLine is what `trash purge` says of one pair's purge: how much it
// removed, by which limits (older than the retention, over the size cap),
// and how much it kept.
func PurgedLine(d Purged) string {
	var parts []string
	if d.Result.ByAge > 0 {
		parts = append(parts, fmt.Sprintf("%d older than %s", d.Result.ByAge, state.FormatAge(d.Limits.Retention)))
	}
	if d.Result.BySize > 0 {
		parts = append(parts, fmt.Sprintf("%d over the %s cap", d.Result.BySize, state.FormatBytes(d.Limits.MaxBytes)))
	}
	why := ""
	if len(parts) > 0 {
		why = ": " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s: purged %s (%s)%s; kept %d (%s)", d.Pair, EntriesText(d.Result.Entries), state.FormatBytes(d.Result.Bytes),
		why, d.Result.Kept, state.FormatBytes(d.Result.KeptBytes))
}

// ResetLine is what `reset` says of one side's reset of pair, escaped.
func ResetLine(pair string, d SideReset, dryRun bool) string {
	verb := "forgot"
	if dryRun {
		verb = "would forget"
	}
	was := "no recorded target"
	if d.Identity != "" {
		was = "target " + d.Identity
	}
	tok := "no change token"
	if d.Token {
		tok = "its change token"
	}
	return fmt.Sprintf("%s side %s: %s %s, %s and the ids and versions of %d contacts (UIDs and bases kept)",
		termout.String(pair), d.Side, verb, tok, termout.String(was), d.Items)
}

// StatusRows are the rows of `status`'s tables (not escaped; WriteStatus
// escapes them): one per pair (PAIR, A, B, CONTACTS, CONFLICTS, FAILED,
// LAST SYNC) and one per failed item of any pair (PAIR, SIDE, ITEM,
// REASON, ATTEMPTS, FAILING SINCE, NEXT RETRY). Times are relative to now
// ("2 min ago", fields.Ago) or, for those to come and beyond a week,
// the date and time with the zone, in now's location.
func StatusRows(sts []Status, now time.Time) (pairRows, failedRows [][]string) {
	at := func(t time.Time) string { return t.In(now.Location()).Format("2006-01-02 15:04 MST") }
	for _, st := range sts {
		last := "never"
		if st.LastRun != nil {
			last = fields.Ago(now, *st.LastRun)
			if d := now.Sub(*st.LastRun); d >= 45*time.Second && d < 7*24*time.Hour {
				last += " (" + at(*st.LastRun) + ")"
			}
			if st.LastOK {
				last += ", ok"
			} else {
				last += ", with errors"
			}
		}
		pairRows = append(pairRows, []string{st.Pair, st.A, st.B, strconv.Itoa(st.Items), strconv.Itoa(st.Conflicts), strconv.Itoa(len(st.Failed)), last})
		for _, fi := range st.Failed {
			item := fi.ID
			if fi.UID != "" {
				item += " (" + fi.UID + ")"
			}
			failedRows = append(failedRows, []string{st.Pair, fi.Side, item, fi.Reason, strconv.Itoa(fi.Attempts),
				fields.Ago(now, fi.FirstFailed), at(fi.NextRetry)})
		}
	}
	return pairRows, failedRows
}

// WriteStatus writes what `status` prints of sts: a table of the pairs,
// then, when items failed, a table of them (StatusRows), columns aligned
// whatever the width of the names and text from the sides escaped
// (termout.Cell).
func WriteStatus(w io.Writer, sts []Status, now time.Time) error {
	pairRows, failedRows := StatusRows(sts, now)
	table := func(header []string, rows [][]string) error {
		t := termout.NewTable(w, header...)
		for _, r := range rows {
			cells := make([]string, len(r))
			for i, c := range r {
				cells[i] = termout.Cell(c)
			}
			t.Row(cells...)
		}
		return t.Flush()
	}
	if err := table([]string{"PAIR", "A", "B", "CONTACTS", "CONFLICTS", "FAILED", "LAST SYNC"}, pairRows); err != nil {
		return err
	}
	if len(failedRows) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w, "\nItems that failed (read again from their next retry on):"); err != nil {
		return err
	}
	return table([]string{"PAIR", "SIDE", "ITEM", "REASON", "ATTEMPTS", "FAILING SINCE", "NEXT RETRY"}, failedRows)
}

// Use is the USER, TOKEN and LAST SYNC columns of `accounts` (local
// times, not escaped): the signed-in user when the token names one, the
// token's validity, the last sync.
func (in AccountInfo) Use() (user, tok, last string) {
	t := in.Token
	user, tok, last = in.Account.User, "not signed in", "never"
	if in.HasToken {
		if t.User != "" {
			user = t.User
		}
		switch {
		case t.HasRefreshToken:
			tok = "valid until " + t.Expiry.Local().Format("2006-01-02 15:04") + " (refreshable)"
		case !t.Expiry.IsZero():
			tok = "until " + t.Expiry.Local().Format("2006-01-02 15:04")
		}
		if !t.LastSync.IsZero() {
			last = t.LastSync.Local().Format("2006-01-02 15:04")
		}
	} else if AppOnly(in.Account) {
		tok = "app-only, on demand"
	}
	return user, tok, last
}

// From is where an account comes from (`accounts`' FROM column, and the
// description of its completion).
func (in AccountInfo) From() string {
	switch {
	case in.Configured:
		return "config"
	case in.Owner != "":
		return "web page, user " + in.Owner
	}
	return "state only (not configured)"
}

// The tables below are what the list commands print without --json: a
// line saying the list is empty, or a table (termout.Table) whose cells
// from cards, servers and the configuration are escaped.

// WriteAccounts writes the `accounts` table of infos.
func WriteAccounts(w io.Writer, infos []AccountInfo) error {
	if len(infos) == 0 {
		_, err := fmt.Fprintln(w, "no accounts configured")
		return err
	}
	tw := termout.NewTable(w, "ACCOUNT", "USER", "TENANT", "FLOW", "TOKEN", "LAST SYNC", "FROM")
	for _, in := range infos {
		user, tok, last := in.Use()
		tw.Row(termout.Cell(in.Account.Name), termout.Cell(user), termout.Cell(in.Account.Tenant), termout.Cell(in.Account.Flow), tok, last, termout.Cell(in.From()))
	}
	return tw.Flush()
}

// WriteFolders writes the `accounts folders` lines: the default folder,
// then the contact folders fs.
func WriteFolders(w io.Writer, fs []string) error {
	fmt.Fprintln(w, "Contacts (the default folder)")
	for _, f := range fs {
		fmt.Fprintln(w, f)
	}
	return nil
}

// WriteConflicts writes the `conflicts list` table of cs.
func WriteConflicts(w io.Writer, cs []state.Conflict) error {
	if len(cs) == 0 {
		_, err := fmt.Fprintln(w, "no open conflicts")
		return err
	}
	tw := termout.NewTable(w, "ID", "PAIR", "SINCE", "CONTACT", "UID")
	for _, c := range cs {
		tw.Row(fmt.Sprint(c.ID), termout.Cell(c.Pair), c.Created.Format("2006-01-02 15:04"), termout.Cell(CardName(c.A)), termout.Cell(c.UID))
	}
	return tw.Flush()
}

// WriteTrash writes the `trash list` table of es: each entry's pair,
// side, reason, time, contact and whether it was or will be restored.
func WriteTrash(w io.Writer, es []state.TrashEntry) error {
	if len(es) == 0 {
		_, err := fmt.Fprintln(w, "the trash is empty")
		return err
	}
	tw := termout.NewTable(w, "ID", "PAIR", "SIDE", "WHY", "WHEN", "CONTACT", "STATE")
	for _, e := range es {
		st := "-"
		switch {
		case !e.Restored.IsZero():
			st = "restored " + e.Restored.Format("2006-01-02 15:04")
		case e.RestoreRequested:
			st = "restore at next sync"
		}
		tw.Row(fmt.Sprint(e.ID), termout.Cell(e.Pair), e.Side, e.Reason, e.Created.Format("2006-01-02 15:04"), termout.Cell(CardName(e.Card)), st)
	}
	return tw.Flush()
}

// NoUsersHint says how to add the first user of the built-in server.
const NoUsersHint = "no users yet: add one with `cardbridge user add NAME` (the password is read from a prompt, or from standard input)"

// WriteUsers writes the `user list` table of us: each user, when it was
// made and its address books.
func WriteUsers(w io.Writer, us []UserView) error {
	if len(us) == 0 {
		_, err := fmt.Fprintln(w, NoUsersHint)
		return err
	}
	tw := termout.NewTable(w, "USER", "CREATED", "ADDRESS BOOKS")
	for _, u := range us {
		names := make([]string, len(u.Books))
		for i, b := range u.Books {
			names[i] = termout.Cell(b.Name)
			if b.ReadOnly {
				names[i] += " (read-only)"
			}
		}
		tw.Row(termout.Cell(u.Name), u.Created, strings.Join(names, ", "))
	}
	return tw.Flush()
}

// RestoreLine is what `trash restore` says of entry e, escaped: the
// contact's name ("?" when its card does not parse) and that the next
// sync of its pair brings it back.
func RestoreLine(e state.TrashEntry) string {
	name := "?"
	if c, err := vcard.Parse(e.Card); err == nil {
		name = termout.String(c.FN())
	}
	return fmt.Sprintf("trash entry %d (%s): the next `cardbridge sync %s` brings it back on both sides", e.ID, name, termout.String(e.Pair))
}

// WriteResult writes what `sync` prints of a run of one pair without
// --json: a dry run's plan and the summary line on out (the summary only
// when quiet is false or the run did not succeed), then each skipped item
// and error on errs, escaped.
func WriteResult(out, errs io.Writer, res *engine.Result, quiet bool) {
	if res.DryRun {
		WritePlan(out, res.Pair, res.Plan)
	}
	if !quiet || !res.OK() {
		fmt.Fprintln(out, termout.String(SummaryLine(res)))
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(errs, "%s: skipped %s\n", res.Pair, termout.String(s.String()))
	}
	for _, e := range res.Errors {
		fmt.Fprintf(errs, "%s: error: %s\n", res.Pair, termout.String(e.Error()))
	}
}

// WriteSyncJSON writes the line of `sync --json` for res (SyncReport),
// with the time at when it is not zero (--every).
func WriteSyncJSON(w io.Writer, res *engine.Result, at time.Time) {
	line, _ := SyncReport(res, at)
	fmt.Fprintln(w, termout.JSON(line))
}

// WritePurged writes what `trash purge` says: the line of each pair's
// purge in done (PurgedLine), then, when total, what they removed
// together.
func WritePurged(w io.Writer, done []Purged, total bool) {
	var entries int
	var bytes int64
	for _, d := range done {
		entries += d.Result.Entries
		bytes += d.Result.Bytes
		fmt.Fprintln(w, PurgedLine(d))
	}
	if total {
		fmt.Fprintf(w, "trash: purged %s (%s) from %d pairs\n", EntriesText(entries), state.FormatBytes(bytes), len(done))
	}
}

// ResetSides is the sides `reset --side` names: both for "".
func ResetSides(side string) ([]string, error) {
	switch side {
	case "":
		return []string{"a", "b"}, nil
	case "a", "b":
		return []string{side}, nil
	}
	return nil, fmt.Errorf("--side %q: want a or b", side)
}

// WriteReset writes what `reset` says of pair: each side's reset in done
// (ResetLine), then, when done is the whole of a reset that was not a dry
// run, what the next sync does.
func WriteReset(w io.Writer, pair string, done []SideReset, dryRun, whole bool) {
	for _, d := range done {
		fmt.Fprintln(w, ResetLine(pair, d, dryRun))
	}
	if whole && !dryRun {
		fmt.Fprintf(w, "the next `cardbridge sync %s` links the side's contacts by UID\n", termout.String(pair))
	}
}
