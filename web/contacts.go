package web

// The contacts of an address book: the list with its search
// (/ui/books/{book}/), a contact's page (/ui/books/{book}/cards/{href})
// and its photo (…/photo), drawn from the card's inline PHOTO only.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	_ "image/gif" // photos a card may hold
	_ "image/png"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/fields"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
	"golang.org/x/image/draw"
)

const (
	// contactsPage is how many contacts a page of the list shows.
	contactsPageSize = 50
	// maxPhotoBytes bounds the decoded PHOTO a card may hold for the page
	// to show it; larger ones are not shown.
	maxPhotoBytes = 2 << 20
	// maxPhotoPixels bounds the width times height of a photo the page
	// decodes (4 megapixels: at most 16 MiB decoded).
	maxPhotoPixels = 2048 * 2048
	// maxPhotoDecodes bounds the photos decoded at once; more requests
	// wait their turn (or their context's end).
	maxPhotoDecodes = 2
	// photoSize is the largest side of the photos the page serves (a
	// thumbnail the list and the contact page scale down further).
	photoSize = 160
)

// contactRow is one contact of the list.
type contactRow struct {
	state.CardSummary
	URL   string       // its page
	Photo string       // its photo's URL, "" when it has none
	Tel   template.URL // tel: link of Phone (digits and +: safe)
}

// pageLink is a link to another page of the list.
type pageLink struct {
	Label, URL string
}

// contactsData is the contacts page's content.
type contactsData struct {
	Book     bookView
	Query    string
	Total    int // contacts that match
	InBook   int // contacts in the book
	From, To int // the rows shown, 1-based
	Rows     []contactRow
	Prev     string // URL of the previous page, "" on the first
	Next     string // URL of the next page, "" on the last
	// PastEnd, when the page asked for is past the end of a non-empty
	// list, is the URL of its first page.
	PastEnd string
}

// userBook reads the {book} of the request's path as one of the user's
// address books; a 404 page when the user has none of that name.
func (h *Handler) userBook(w http.ResponseWriter, r *http.Request, s *session) (state.AddressBook, bool) {
	name := r.PathValue("book")
	b, err := h.o.DB.AddressBook(r.Context(), s.User, name)
	if errors.Is(err, state.ErrNotFound) {
		h.fail(w, r, s, http.StatusNotFound, "Not found", "You have no address book called "+name+".")
		return b, false
	}
	if err != nil {
		h.internal(w, r, s, "reading the address book", err)
		return b, false
	}
	return b, true
}

// bookPath is the UI path of book's contacts list.
func bookPath(book string) string { return Prefix + "books/" + url.PathEscape(book) + "/" }

// cardPath is the UI path of a contact's page.
func cardPath(book, href string) string { return bookPath(book) + "cards/" + url.PathEscape(href) }

// view of a book on the dashboard and the contacts page.
func (h *Handler) bookView(s *session, b state.AddressBook, count int) bookView {
	return bookView{AddressBook: b, URL: h.base + "/addressbooks/" + s.User + "/" + b.Name + "/", Contacts: count, Page: bookPath(b.Name)}
}

// searchText is the search box's text as the page searches and shows it:
// valid UTF-8 without control characters, trimmed, at most
// state.MaxSearchLen bytes.
func searchText(q string) string {
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(q, ""))
	q = strings.TrimSpace(q)
	if len(q) > state.MaxSearchLen {
		q = strings.TrimSpace(strings.ToValidUTF8(q[:state.MaxSearchLen], ""))
	}
	return q
}

// contactsPage lists a page of the contacts of one of the user's books
// that match the search box (?q=), by name (?page=2...).
func (h *Handler) contactsPage(w http.ResponseWriter, r *http.Request, s *session) {
	b, ok := h.userBook(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	q := searchText(r.URL.Query().Get("q"))
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, 1_000_000)
	rows, total, err := h.o.DB.SearchCards(ctx, b.ID, q, (page-1)*contactsPageSize, contactsPageSize)
	if err != nil {
		h.internal(w, r, s, "searching the contacts", err)
		return
	}
	inBook := total
	if q != "" {
		if inBook, err = h.o.DB.CountCards(ctx, b.ID); err != nil {
			h.internal(w, r, s, "counting the contacts", err)
			return
		}
	}
	d := contactsData{Book: h.bookView(s, b, inBook), InBook: inBook, Query: q, Total: total}
	for _, c := range rows {
		row := contactRow{CardSummary: c, URL: cardPath(b.Name, c.Href), Tel: telLink(c.Phone)}
		if c.HasPhoto {
			row.Photo = row.URL + "/photo"
		}
		d.Rows = append(d.Rows, row)
	}
	if len(rows) > 0 {
		d.From = (page-1)*contactsPageSize + 1
		d.To = d.From + len(rows) - 1
	}
	link := func(p int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return bookPath(b.Name)
		}
		return bookPath(b.Name) + "?" + v.Encode()
	}
	if page > 1 {
		d.Prev = link(min(page-1, (total+contactsPageSize-1)/contactsPageSize))
	}
	if len(rows) == 0 && total > 0 {
		d.PastEnd = link(1)
	}
	if page*contactsPageSize < total {
		d.Next = link(page + 1)
	}
	h.render(w, http.StatusOK, "contacts", view{Title: title(b), User: s.User, CSRF: s.CSRF, Section: "dashboard", Data: d})
}

// userCard reads the {book} and {href} of the request's path as one of the
// user's books and a card of it; a 404 page when there is none.
func (h *Handler) userCard(w http.ResponseWriter, r *http.Request, s *session) (state.AddressBook, state.Card, bool) {
	b, ok := h.userBook(w, r, s)
	if !ok {
		return b, state.Card{}, false
	}
	href := r.PathValue("href")
	c, err := h.o.DB.GetCard(r.Context(), b.ID, href)
	if errors.Is(err, state.ErrNotFound) {
		h.fail(w, r, s, http.StatusNotFound, "Not found", "Address book "+b.Name+" has no contact "+href+".")
		return b, c, false
	}
	if err != nil {
		h.internal(w, r, s, "reading the contact", err)
		return b, c, false
	}
	return b, c, true
}

// contactPhoto serves the PHOTO a card holds inline, re-encoded as a JPEG
// of at most photoSize pixels a side. A photo the card names by URL is
// never fetched; one too large, or not a JPEG, PNG or GIF, is not shown
// (404).
func (h *Handler) contactPhoto(w http.ResponseWriter, r *http.Request, s *session) {
	b, c, ok := h.userCard(w, r, s)
	if !ok {
		return
	}
	etag := `"` + c.ETag + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, max-age=60")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	select {
	case h.photoSem <- struct{}{}:
		defer func() { <-h.photoSem }()
	case <-r.Context().Done():
		return
	}
	out, err := thumbnail(c.Data)
	if err != nil {
		h.log.Debug("web: no photo shown", "book", b.Name, "card", c.Href, "why", err)
		w.Header().Del("ETag")
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "no photo", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
}

var (
	errNoPhoto       = errors.New("the card has no inline photo")
	errPhotoTooLarge = errors.New("the photo is too large")
)

// inlinePhoto is the decoded bytes of the first PHOTO of a card held in
// it (ENCODING=b or a data: URI), at most maxPhotoBytes.
func inlinePhoto(data []byte) ([]byte, error) {
	c, err := vcard.Parse(data)
	if err != nil {
		return nil, err
	}
	for _, p := range c.All("PHOTO") {
		v := p.Value
		if len(p.Param("ENCODING")) == 0 {
			low := strings.ToLower(v)
			if !strings.HasPrefix(low, "data:") {
				continue // a URL: never fetched
			}
			comma := strings.IndexByte(v, ',')
			if comma < 0 || !strings.HasSuffix(low[:comma], ";base64") {
				continue
			}
			v = v[comma+1:]
		}
		if base64.StdEncoding.DecodedLen(len(v)) > maxPhotoBytes+3 {
			return nil, errPhotoTooLarge
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, v))
		if err != nil {
			return nil, err
		}
		if len(raw) > maxPhotoBytes {
			return nil, errPhotoTooLarge
		}
		return raw, nil
	}
	return nil, errNoPhoto
}

// thumbnail is the card's inline photo as a JPEG of at most photoSize
// pixels a side, on white where it was transparent. Decoding it again
// means the browser never gets the card's bytes as they were.
func thumbnail(data []byte) ([]byte, error) {
	raw, err := inlinePhoto(data)
	if err != nil {
		return nil, err
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if format != "jpeg" && format != "png" && format != "gif" {
		return nil, errors.New("photo format " + format + " is not shown")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > maxPhotoPixels {
		return nil, errPhotoTooLarge
	}
	src, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	wd, ht := cfg.Width, cfg.Height
	if wd > photoSize || ht > photoSize {
		if wd >= ht {
			wd, ht = photoSize, max(1, ht*photoSize/wd)
		} else {
			wd, ht = max(1, wd*photoSize/ht), photoSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, wd, ht))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// originView says where a contact came from: the pair that syncs it
// (with the other side named), or that none does.
type originView struct {
	Pair    string
	Other   string // the pair's other side, in words
	Synced  string // when the pair last wrote or saw it, relative
	Changed bool   // changed here since (by a CardDAV client)
}

// historyView is one earlier version of the contact, in the trash.
type historyView struct {
	state.TrashEntry
	Name     string // the contact's name in that version
	Where    string // the side it was removed from, in words
	When     string // relative
	Fields   int    // how many fields it had
	Restored string // relative, "" when never
}

// contactData is the contact page's content.
type contactData struct {
	Book     bookView
	Name     string
	Photo    string // the photo's URL, "" for none
	Fields   []field
	Other    int    // fields not shown
	Modified string // when the card was last written here, relative
	Broken   bool   // the card does not parse
	Origins  []originView
	History  []historyView
}

// contactPage shows a contact of one of the user's books: its fields in
// words, which pair syncs it and its earlier versions in the trash.
func (h *Handler) contactPage(w http.ResponseWriter, r *http.Request, s *session) {
	b, c, ok := h.userCard(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	now := h.o.Now()
	count, err := h.o.DB.CountCards(ctx, b.ID)
	if err != nil {
		h.internal(w, r, s, "counting the contacts", err)
		return
	}
	d := contactData{Book: h.bookView(s, b, count), Modified: fields.Ago(now, c.Modified)}
	card, perr := vcard.Parse(c.Data)
	if perr != nil {
		d.Broken, d.Name = true, "(unreadable contact)"
	} else {
		d.Name = strings.TrimSpace(card.FN())
		d.Fields, d.Other = contactFields(card)
		if _, err := inlinePhoto(c.Data); err == nil {
			d.Photo = cardPath(b.Name, c.Href) + "/photo"
		}
	}
	if d.Name == "" {
		d.Name = "(no name)"
	}
	uid := c.UID
	if uid == "" && card != nil {
		uid = card.UID()
	}
	pairs, err := h.userPairs(ctx, s.User)
	if err != nil {
		h.internal(w, r, s, "listing the pairs", err)
		return
	}
	titles := &bookTitles{h: h}
	for _, p := range pairs {
		nameA, nameB := titles.names(ctx, p.Pair)
		for _, side := range []string{"a", "b"} {
			here, otherName := p.A, nameB
			if side == "b" {
				here, otherName = p.B, nameA
			}
			if here.Type != config.SideServer || here.User != s.User || here.Addressbook != b.Name {
				continue
			}
			it, found, err := h.o.DB.ItemBySideID(ctx, p.Name, side, c.Href)
			if err != nil {
				h.internal(w, r, s, "reading the pair's state", err)
				return
			}
			if !found {
				continue
			}
			version := it.AVersion
			if side == "b" {
				version = it.BVersion
			}
			d.Origins = append(d.Origins, originView{Pair: p.Name, Other: otherName, Synced: fields.Ago(now, it.Updated), Changed: version != c.ETag})
		}
		es, err := h.o.DB.TrashOfUID(ctx, p.Name, uid)
		if err != nil {
			h.internal(w, r, s, "reading the trash", err)
			return
		}
		for _, e := range es {
			hv := historyView{TrashEntry: e, Name: fnOf(e.Card), When: fields.Ago(now, e.Created), Where: nameA}
			if e.Side == "b" {
				hv.Where = nameB
			}
			if !e.Restored.IsZero() {
				hv.Restored = fields.Ago(now, e.Restored)
			}
			if old, err := vcard.Parse(e.Card); err == nil {
				fs, _ := contactFields(old)
				hv.Fields = len(fs)
			}
			d.History = append(d.History, hv)
		}
	}
	h.render(w, http.StatusOK, "contact", view{Title: d.Name, User: s.User, CSRF: s.CSRF, Section: "dashboard", Data: d})
}

// initial is the first letter of name (else of email), upper-cased, for
// the list's placeholder of a contact without a photo.
func initial(name, email string) string {
	for _, s := range []string{name, email} {
		for _, r := range s {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return string(unicode.ToUpper(r))
			}
		}
	}
	return "?"
}

// reasonText says in words why a version is in the trash.
func reasonText(reason string) string {
	switch reason {
	case "deleted":
		return "deleted by a sync"
	case "overwritten":
		return "replaced by a newer version"
	case "conflict-loser":
		return "lost a conflict"
	}
	return reason
}
