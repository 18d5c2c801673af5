package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cardbridge/cardbridge/daemon"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// bookView is one of the user's address books on the dashboard.
type bookView struct {
	state.AddressBook
	URL      string // its CardDAV URL
	Contacts int    // how many cards it holds
	Page     string // the UI page of its contacts
}

// pairView is one of the user's pairs on the dashboard.
type pairView struct {
	userPair
	Status    daemon.PairStatus
	Scheduled bool
	LastRun   state.Run
	HasRun    bool
	Counts    string // "a: +1 ~2 -0, b: ..." of the last run
	Errors    []string
	Conflicts int
	Line      string // the short line (pairLine)
	Imported  string // what its first sync imported, for a day (importedText)
	Every     string // its schedule in words, "" for none
	LastWhen  string // when the last run ended, with the zone
}

// dashboardData is the dashboard's content.
type dashboardData struct {
	ServerURL string // the CardDAV server's root
	Principal string // the user's principal URL
	Books     []bookView
	Pairs     []pairView
	Connect   bool // server.connect is set, or server.microsoft_sign_in with contacts
	// SignInContacts: the contacts are connected by signing in with
	// Microsoft (server.microsoft_sign_in.contacts), there being no
	// server.connect for "Connect Office 365".
	SignInContacts bool
	Connected      bool   // the user's account has tokens
	Account        string // its name
	AccountAs      string // who it signed in as
	CanPair        bool   // connected and may make a pair
	DefaultNew     string // suggested name of a new book
}

// dashboard shows the user's books, pairs and Office 365 connection.
func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	d := dashboardData{ServerURL: h.base + "/", Principal: h.base + "/principals/" + s.User + "/", Connect: h.pairsConfigured()}
	d.SignInContacts = d.Connect && !h.o.Config.Server.Connect.Configured()
	books, err := h.o.DB.AddressBooks(ctx, s.User)
	if err != nil {
		h.internal(w, r, s, "listing the address books", err)
		return
	}
	byName := map[string]state.AddressBook{}
	for _, b := range books {
		byName[s.User+"/"+b.Name] = b
		n, err := h.o.DB.CountCards(ctx, b.ID)
		if err != nil {
			h.internal(w, r, s, "counting the contacts", err)
			return
		}
		d.Books = append(d.Books, h.bookView(s, b, n))
	}
	pairs, err := h.userPairs(ctx, s.User)
	if err != nil {
		h.internal(w, r, s, "listing the pairs", err)
		return
	}
	status := map[string]daemon.PairStatus{}
	if h.o.Scheduler != nil {
		for _, st := range h.o.Scheduler.Status() {
			status[st.Pair] = st
		}
	}
	running := false
	for _, p := range pairs {
		pv := pairView{userPair: p}
		pv.Status, pv.Scheduled = status[p.Name]
		if pv.LastRun, pv.HasRun, err = h.o.DB.LastRun(ctx, p.Name); err != nil {
			h.internal(w, r, s, "reading the last run", err)
			return
		}
		if pv.HasRun {
			a, b := sideNames(p.Pair, byName)
			pv.Counts, pv.Errors = summaryText(pv.LastRun.Summary, a, b)
		}
		cs, err := h.o.DB.Conflicts(ctx, p.Name, true)
		if err != nil {
			h.internal(w, r, s, "listing the conflicts", err)
			return
		}
		pv.Conflicts = len(cs)
		items, err := h.o.DB.CountItems(ctx, p.Name)
		if err != nil {
			h.internal(w, r, s, "counting the pair's contacts", err)
			return
		}
		pv.Line = pairLine(pv, byName, items, h.o.Now())
		if pv.HasRun {
			first, ok, err := h.o.DB.FirstRun(ctx, p.Name)
			if err != nil {
				h.internal(w, r, s, "reading the first run", err)
				return
			}
			if ok {
				a, b := sideNames(p.Pair, byName)
				pv.Imported = importedText(first, a, b, h.o.Now())
			}
		}
		pv.Every = everyText(p.Every)
		if pv.HasRun && !pv.LastRun.Finished.IsZero() {
			pv.LastWhen = pv.LastRun.Finished.Local().Format("2006-01-02 15:04:05 MST")
		}
		running = running || pv.Status.Running
		d.Pairs = append(d.Pairs, pv)
	}
	d.Account = AccountName(s.User)
	if d.Connect {
		if t, ok, err := h.connection(ctx, s.User); err != nil {
			h.internal(w, r, s, "reading the Office 365 connection", err)
			return
		} else if ok {
			d.Connected, d.AccountAs, d.CanPair = true, t.User, true
		}
	}
	d.DefaultNew = h.freeBookName(books)
	flash := ""
	if n := r.URL.Query().Get("created"); n != "" {
		flash = "Pair " + n + " created: its first sync is running."
	}
	if f := contactsFlash(r.URL.Query().Get("contacts")); f != "" {
		flash = f
	}
	if n := r.URL.Query().Get("synced"); n != "" {
		flash = "Sync of " + n + " requested."
	}
	if r.URL.Query().Get("disconnected") != "" {
		flash = "Office 365 disconnected: its tokens and pairs are removed; the address books keep their cards."
	}
	v := view{Title: "Dashboard", User: s.User, CSRF: s.CSRF, Flash: flash, Section: "dashboard", Data: d}
	if running || r.URL.Query().Get("synced") != "" || r.URL.Query().Get("created") != "" {
		// Reload while a sync runs (and once after "Sync now", whose run
		// may not have started yet), without JavaScript: the page shows
		// the outcome when it ends.
		v.Refresh = strconv.Itoa(refreshWhileRunning) + "; url=" + Prefix
	}
	h.render(w, http.StatusOK, "dashboard", v)
}

// freeBookName suggests a name for a new book: office365, office365-2...
func (h *Handler) freeBookName(books []state.AddressBook) string {
	taken := map[string]bool{}
	for _, b := range books {
		taken[b.Name] = true
	}
	name := "office365"
	for i := 2; taken[name]; i++ {
		name = "office365-" + strconv.Itoa(i)
	}
	return name
}

// summaryText turns a run's JSON summary into "Office 365: 3 created, …;
// Contacts: …" text and its errors; nameA and nameB name the sides
// (sideNames).
func summaryText(raw []byte, nameA, nameB string) (string, []string) {
	var s struct {
		A, B struct {
			Created, Updated, Deleted int
		}
		Conflicts int
		Skipped   int
		Errors    []string
	}
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", nil
	}
	c := func(side string, n struct{ Created, Updated, Deleted int }) string {
		return side + ": " + strconv.Itoa(n.Created) + " created, " + strconv.Itoa(n.Updated) + " updated, " + strconv.Itoa(n.Deleted) + " deleted"
	}
	text := c(nameA, s.A) + "; " + c(nameB, s.B)
	if s.Conflicts > 0 {
		text += "; " + plural(s.Conflicts, "conflict", "conflicts")
	}
	if s.Skipped > 0 {
		text += "; " + strconv.Itoa(s.Skipped) + " skipped"
	}
	return text, s.Errors
}

// syncNow asks the scheduler to run one of the user's pairs.
func (h *Handler) syncNow(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	owns, err := h.ownsPair(r.Context(), s.User, name)
	if err != nil {
		h.internal(w, r, s, "checking the pair", err)
		return
	}
	if !owns {
		h.fail(w, r, s, http.StatusNotFound, "No such pair", "You have no pair called "+name+".")
		return
	}
	if h.o.Scheduler == nil || !h.o.Scheduler.Trigger(name) {
		h.fail(w, r, s, http.StatusConflict, "Not scheduled", "Pair "+name+" is not run by this server (is it new? restart `cardbridge serve`).")
		return
	}
	http.Redirect(w, r, Prefix+"?synced="+url.QueryEscape(name), http.StatusSeeOther)
}

// ownedItem reads the {id} of the request's path and loads that item
// (a conflict, a trash entry) with get. When the id is not a number, there
// is no such item, or it belongs to a pair that does not involve the user's
// books, it answers 404 with the same page ("You have no what ID") and
// returns false; nothing is changed.
func ownedItem[T any](h *Handler, w http.ResponseWriter, r *http.Request, s *session, what string,
	get func(context.Context, int64) (T, error), pairOf func(T) string) (T, bool) {
	var zero T
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, s, http.StatusNotFound, "Not found", "There is no "+what+" "+raw+".")
		return zero, false
	}
	item, err := get(r.Context(), id)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		h.internal(w, r, s, "reading the "+what, err)
		return zero, false
	}
	owns := false
	if err == nil {
		if owns, err = h.ownsPair(r.Context(), s.User, pairOf(item)); err != nil {
			h.internal(w, r, s, "checking the pair", err)
			return zero, false
		}
	}
	if !owns { // missing or another user's: the same answer
		h.fail(w, r, s, http.StatusNotFound, "Not found", "You have no "+what+" "+raw+".")
		return zero, false
	}
	return item, true
}

// resolveConflict records keep a / b / merged for one of the user's
// conflicts and asks for a sync of its pair.
func (h *Handler) resolveConflict(w http.ResponseWriter, r *http.Request, s *session) {
	c, ok := ownedItem(h, w, r, s, "conflict", h.o.DB.GetConflict, func(c state.Conflict) string { return c.Pair })
	if !ok {
		return
	}
	id := strconv.FormatInt(c.ID, 10)
	keep := r.PostForm.Get("keep")
	if err := h.o.Pairs.Resolve(r.Context(), c, keep); err != nil {
		switch {
		case errors.Is(err, pairs.ErrBadKeep):
			h.fail(w, r, s, http.StatusBadRequest, "Bad choice", "Keep "+keep+"? Choose a, b or merged.")
		case errors.Is(err, pairs.ErrApplied), errors.Is(err, state.ErrConflictApplied):
			h.fail(w, r, s, http.StatusConflict, "Already resolved", "Conflict "+id+" was resolved and applied already.")
		default:
			h.fail(w, r, s, http.StatusUnprocessableEntity, "Could not resolve", err.Error())
		}
		return
	}
	if h.o.Scheduler != nil {
		h.o.Scheduler.Trigger(c.Pair)
	}
	http.Redirect(w, r, Prefix+"conflicts?resolved="+id+"&keep="+keep, http.StatusSeeOther)
}

// trashView is one trash entry on the trash page.
type trashView struct {
	state.TrashEntry
	Name string
	// SideName names the side it was removed from (sideNames).
	SideName string
}

// trashPage lists the trash of the user's pairs, newest first.
func (h *Handler) trashPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	pairs, err := h.userPairs(ctx, s.User)
	if err != nil {
		h.internal(w, r, s, "listing the pairs", err)
		return
	}
	titles := &bookTitles{h: h}
	var list []trashView
	for _, p := range pairs {
		es, err := h.o.DB.ListTrash(ctx, p.Name)
		if err != nil {
			h.internal(w, r, s, "listing the trash", err)
			return
		}
		nameA, nameB := titles.names(ctx, p.Pair)
		for _, e := range es {
			v := trashView{TrashEntry: e, Name: fnOf(e.Card), SideName: nameA}
			if e.Side == "b" {
				v.SideName = nameB
			}
			list = append(list, v)
		}
	}
	flash := ""
	if id := r.URL.Query().Get("restored"); id != "" {
		flash = "Trash entry " + id + " will be back on both sides after the next sync (requested now)."
	}
	h.render(w, http.StatusOK, "trash", view{Title: "Trash", User: s.User, CSRF: s.CSRF, Flash: flash, Section: "trash", Data: list})
}

// restoreTrash asks for one of the user's trash entries to come back.
func (h *Handler) restoreTrash(w http.ResponseWriter, r *http.Request, s *session) {
	e, ok := ownedItem(h, w, r, s, "trash entry", h.o.DB.GetTrash, func(e state.TrashEntry) string { return e.Pair })
	if !ok {
		return
	}
	if err := h.o.Pairs.Restore(r.Context(), e); err != nil {
		h.internal(w, r, s, "restoring", err)
		return
	}
	if h.o.Scheduler != nil {
		h.o.Scheduler.Trigger(e.Pair)
	}
	http.Redirect(w, r, Prefix+"trash?restored="+strconv.FormatInt(e.ID, 10), http.StatusSeeOther)
}

// fnOf is a card's FN, "?" when it cannot be read.
func fnOf(raw []byte) string {
	c, err := vcard.Parse(raw)
	if err != nil {
		return "?"
	}
	if fn := c.FN(); fn != "" {
		return fn
	}
	return "(no name)"
}
