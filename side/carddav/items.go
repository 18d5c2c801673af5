package carddav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// maxSyncPages bounds the sync-collection requests of one Changes call
// (servers page long answers with a 507 on the collection).
const maxSyncPages = 1000

// normETag normalises an ETag: surrounding space trimmed, an unquoted
// value quoted, a weak prefix kept ("W/\"x\"").
func normETag(e string) string {
	e = strings.TrimSpace(e)
	if e == "" {
		return ""
	}
	weak := ""
	if strings.HasPrefix(e, "W/") || strings.HasPrefix(e, "w/") {
		weak, e = "W/", strings.TrimSpace(e[2:])
	}
	if len(e) < 2 || e[0] != '"' || e[len(e)-1] != '"' {
		e = `"` + strings.Trim(e, `"`) + `"`
	}
	return weak + e
}

// idURL returns the URL of the card named id.
func (s *Side) idURL(id string) (*url.URL, error) {
	if id == "" {
		return nil, errors.New("carddav: empty id")
	}
	if strings.HasPrefix(id, "/") {
		return s.book.Parse(id)
	}
	return s.book.Parse(url.PathEscape(id))
}

// hrefID returns the id of the card at href, or "" when href is the book
// itself.
func (s *Side) hrefID(href string) (string, bool) {
	u, err := s.book.Parse(href)
	if err != nil {
		return "", false
	}
	p, bp := cleanPath(u), cleanPath(s.book)
	if p == bp {
		return "", false
	}
	if dir, name := path.Split(p); strings.TrimRight(dir, "/") == bp && name != "" {
		return name, true
	}
	return u.EscapedPath(), true
}

// List returns every card of the book (PROPFIND Depth 1 of getetag).
func (s *Side) List(ctx context.Context) ([]engine.Ref, error) {
	_, rs, err := s.propfind(ctx, s.book, "1", propfindBody(davxml.DAV("resourcetype"), davxml.DAV("getetag")))
	if err != nil {
		return nil, err
	}
	refs := make([]engine.Ref, 0, len(rs))
	for _, r := range rs {
		if r.status != http.StatusOK || isCollection(&r.prop) {
			continue
		}
		id, ok := s.hrefID(r.href)
		if !ok {
			continue
		}
		if !r.hasETag {
			s.log.Warn("carddav: card without an ETag skipped", "href", r.href)
			continue
		}
		refs = append(refs, engine.Ref{ID: id, Version: normETag(*r.prop.ETag)})
	}
	return refs, nil
}

// Changes reports the changes since token. An empty token asks for a full
// round. Without sync-collection every round is a full listing and the
// token is "propfind"; any other token is then expired.
func (s *Side) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	if !s.hasSync.Load() {
		if token != "" && token != propfindToken {
			return engine.ChangeSet{}, fmt.Errorf("carddav: token %q from a sync-collection round, but %s has none: %w", token, s.book, engine.ErrTokenExpired)
		}
		return s.fullListing(ctx)
	}
	if token == propfindToken {
		token = ""
	}
	acc := newChangeAcc(token == "")
	s.pre.reset()
	withData := s.prefetchLimit > 0
	for range maxSyncPages {
		rq := request{method: "REPORT", url: s.book, header: map[string]string{"Depth": "1"}, body: syncBody(token, withData)}
		if withData {
			rq.maxBody = s.prefetchLimit
		}
		resp, err := s.do(ctx, rq)
		if withData && errors.Is(err, ErrAnswerTooLarge) {
			// Too many cards for one answer: list this page and the rest
			// without their data (multiget reads them in chunks).
			s.log.Info("carddav: sync-collection answer with the cards' data too large; listing without it", "book", s.book.String(), "limit_bytes", s.prefetchLimit)
			withData = false
			continue
		}
		if err != nil {
			return engine.ChangeSet{}, fmt.Errorf("carddav: sync-collection: %w", err)
		}
		if resp.status != http.StatusMultiStatus {
			if fallBack, err := s.syncRefused(ctx, token, resp); !fallBack {
				return engine.ChangeSet{}, err
			}
			// Advertised but refused: fall back to listings for good.
			s.hasSync.Store(false)
			return s.fullListing(ctx)
		}
		ms, err := parseMultistatus(resp.body)
		if err != nil {
			return engine.ChangeSet{}, fmt.Errorf("carddav: sync-collection: %w", err)
		}
		truncated, err := s.applySyncPage(ctx, acc, ms, withData)
		if err != nil {
			return engine.ChangeSet{}, err
		}
		newTok := strings.TrimSpace(ms.SyncToken)
		if newTok == "" {
			return engine.ChangeSet{}, fmt.Errorf("carddav: sync-collection answer of %s has no sync-token", s.book)
		}
		if !truncated || newTok == token {
			acc.cs.Token = newTok
			break
		}
		token = newTok
	}
	if acc.cs.Token == "" {
		return engine.ChangeSet{}, fmt.Errorf("carddav: sync-collection of %s did not end after %d pages", s.book, maxSyncPages)
	}
	cs := acc.result()
	if cs.Full {
		s.listed.Store(int64(len(cs.Changed)))
	}
	return cs, nil
}

// syncRefused classifies a sync-collection answer that is not a
// multistatus: fallBack is true when the server advertised the report but
// refuses it (the side then lists with PROPFIND for good); otherwise err
// says why the round failed, wrapping ErrTokenExpired when the server
// rejects the token.
func (s *Side) syncRefused(ctx context.Context, token string, resp *response) (fallBack bool, err error) {
	switch {
	case token != "" && (resp.status == http.StatusForbidden || resp.status == http.StatusConflict ||
		resp.status == http.StatusPreconditionFailed || resp.status == http.StatusBadRequest ||
		bytes.Contains(resp.body, []byte("valid-sync-token"))):
		return false, s.statusErr("REPORT sync-collection", resp, engine.ErrTokenExpired)
	case token == "" && (resp.status == http.StatusNotImplemented || resp.status == http.StatusForbidden ||
		resp.status == http.StatusBadRequest || resp.status == http.StatusMethodNotAllowed):
		s.log.Warn("carddav: sync-collection refused, falling back to PROPFIND", "status", resp.status)
		return true, nil
	case token != "" && resp.status == http.StatusInternalServerError && s.healthy(ctx):
		// Some servers (Xandikos 0.2) crash on a token they do not
		// know; the book itself still answers: treat it as expired.
		return false, s.statusErr("REPORT sync-collection", resp, engine.ErrTokenExpired)
	}
	return false, s.statusErr("REPORT sync-collection", resp, nil)
}

// applySyncPage adds one sync-collection page to acc: its changed and
// deleted cards, with their data kept for Get when withData. Cards whose
// ETag the server left out are read with a multiget. truncated reports
// whether the server cut the answer short (a 507 on the collection: the
// next page follows from the page's token).
func (s *Side) applySyncPage(ctx context.Context, acc *changeAcc, ms *davxml.Multistatus, withData bool) (truncated bool, err error) {
	var noETag []string
	for _, r := range resources(ms) {
		id, ok := s.hrefID(r.href)
		if !ok {
			truncated = truncated || r.status == http.StatusInsufficientStorage
			continue
		}
		if r.status == http.StatusNotFound {
			s.pre.drop(id)
			acc.deleted(id)
			continue
		}
		if r.status != http.StatusOK || isCollection(&r.prop) {
			continue
		}
		if !r.hasETag {
			noETag = append(noETag, id)
			continue
		}
		if withData && hasData(&r.prop) {
			s.pre.put(id, r.prop)
		} else {
			s.pre.drop(id) // an earlier page's data is older
		}
		acc.changed(engine.Ref{ID: id, Version: normETag(*r.prop.ETag)})
	}
	if len(noETag) == 0 {
		return truncated, nil
	}
	// Some servers leave the ETag out: read it with a multiget.
	items, err := s.Get(ctx, noETag)
	if err != nil {
		return false, err
	}
	for _, it := range items {
		if errors.Is(it.Err, engine.ErrNotFound) {
			acc.cs.Deleted = append(acc.cs.Deleted, it.ID)
		} else if it.Version != "" {
			acc.changed(it.Ref)
		}
	}
	return truncated, nil
}

// changeAcc gathers the changes of the pages of one sync-collection round:
// a card changed twice is reported once with its last version, a card
// changed and then deleted only as deleted.
type changeAcc struct {
	cs   engine.ChangeSet
	seen map[string]int // id -> index in cs.Changed
}

// newChangeAcc returns an empty accumulator; full marks a round from no
// token.
func newChangeAcc(full bool) *changeAcc {
	return &changeAcc{cs: engine.ChangeSet{Full: full}, seen: map[string]int{}}
}

// changed records ref as changed, replacing an earlier page's version.
func (a *changeAcc) changed(ref engine.Ref) {
	if i, ok := a.seen[ref.ID]; ok {
		a.cs.Changed[i] = ref
		return
	}
	a.seen[ref.ID] = len(a.cs.Changed)
	a.cs.Changed = append(a.cs.Changed, ref)
}

// deleted records id as deleted, clearing an earlier change of it.
func (a *changeAcc) deleted(id string) {
	if i, ok := a.seen[id]; ok {
		a.cs.Changed[i].ID = "" // changed, then deleted
	}
	delete(a.seen, id)
	a.cs.Deleted = append(a.cs.Deleted, id)
}

// result returns the change set without the entries cleared by later
// deletions; a full round reports no deletions.
func (a *changeAcc) result() engine.ChangeSet {
	cs := a.cs
	out := cs.Changed[:0]
	for _, r := range cs.Changed {
		if r.ID != "" {
			out = append(out, r)
		}
	}
	cs.Changed = out
	if cs.Full {
		cs.Deleted = nil
	}
	return cs
}

// healthy reports whether the book answers a PROPFIND of its sync-token.
func (s *Side) healthy(ctx context.Context) bool {
	_, rs, err := s.propfind(ctx, s.book, "0", propfindBody(davxml.DAV("sync-token")))
	return err == nil && len(rs) > 0
}

// fullListing is a full round made of a PROPFIND listing.
func (s *Side) fullListing(ctx context.Context) (engine.ChangeSet, error) {
	refs, err := s.List(ctx)
	if err != nil {
		return engine.ChangeSet{}, err
	}
	s.listed.Store(int64(len(refs)))
	return engine.ChangeSet{Full: true, Changed: refs, Token: propfindToken}, nil
}

// Get reads the cards ids: those the last Changes received with their
// data from that answer, the others with addressbook-multiget in chunks,
// up to the in-flight cap at once. A card the server reports missing has
// Err wrapping engine.ErrNotFound.
func (s *Side) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	all := make([]engine.Item, len(ids))
	var rest []int // the indexes of all still to read
	for i, id := range ids {
		all[i].ID = id
		if p, ok := s.pre.take(id); ok {
			fill(&all[i], p)
			continue
		}
		rest = append(rest, i)
	}
	if len(rest) == 0 {
		return all, nil
	}
	out := make([]engine.Item, len(rest))
	for k, i := range rest {
		out[k].ID = ids[i]
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for start := 0; start < len(ids); start += s.chunk {
		end := min(start+s.chunk, len(ids))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.getChunk(ctx, out[start:end]); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for k, i := range rest {
		all[i] = out[k]
	}
	return all, nil
}

// getChunk fills items (ids set) with one multiget, falling back to GETs
// when the server refuses the report.
func (s *Side) getChunk(ctx context.Context, items []engine.Item) error {
	hrefs := make([]string, 0, len(items))
	byPath := map[string][]int{}
	for i := range items {
		u, err := s.idURL(items[i].ID)
		if err != nil {
			items[i].Err = fmt.Errorf("carddav: %w", err)
			continue
		}
		hrefs = append(hrefs, u.EscapedPath())
		byPath[cleanPath(u)] = append(byPath[cleanPath(u)], i)
	}
	if len(hrefs) == 0 {
		return nil
	}
	resp, err := s.do(ctx, request{method: "REPORT", url: s.book, header: map[string]string{"Depth": "1"}, body: multigetBody(hrefs)})
	if err != nil {
		return fmt.Errorf("carddav: addressbook-multiget: %w", err)
	}
	if resp.status != http.StatusMultiStatus {
		if resp.status == http.StatusUnauthorized || resp.status >= 500 {
			return s.statusErr("REPORT addressbook-multiget", resp, nil)
		}
		s.log.Debug("carddav: multiget refused, reading cards one by one", "status", resp.status)
		for i := range items {
			if items[i].Err == nil {
				s.getOne(ctx, &items[i])
			}
		}
		return nil
	}
	ms, err := parseMultistatus(resp.body)
	if err != nil {
		return fmt.Errorf("carddav: addressbook-multiget: %w", err)
	}
	done := map[int]bool{}
	for _, r := range resources(ms) {
		u, err := s.book.Parse(r.href)
		if err != nil {
			continue
		}
		for _, i := range byPath[cleanPath(u)] {
			done[i] = true
			it := &items[i]
			switch {
			case r.status == http.StatusNotFound:
				it.Err = fmt.Errorf("carddav: %s: %w", it.ID, engine.ErrNotFound)
			case r.status != http.StatusOK:
				it.Err = fmt.Errorf("carddav: %s: status %d", it.ID, r.status)
			case !hasData(&r.prop):
				// Address data left out: read the card itself.
				s.getOne(ctx, it)
			default:
				fill(it, r.prop)
			}
		}
	}
	for i := range items {
		if !done[i] && items[i].Err == nil {
			items[i].Err = fmt.Errorf("carddav: %s: not in the multiget answer: %w", items[i].ID, engine.ErrNotFound)
		}
	}
	return nil
}

// fill sets it's card, version and time from the properties p.
func fill(it *engine.Item, p davxml.Prop) {
	if p.ETag != nil {
		it.Version = normETag(*p.ETag)
	}
	if p.LastModified != nil {
		if t, err := http.ParseTime(strings.TrimSpace(*p.LastModified)); err == nil {
			it.ModTime = t
		}
	}
	c, err := vcard.Parse([]byte(*p.AddressData))
	if err != nil {
		it.Err = fmt.Errorf("carddav: %s: %w", it.ID, err)
		return
	}
	it.Card = c
}

// getOne reads one card with a GET.
func (s *Side) getOne(ctx context.Context, it *engine.Item) {
	u, err := s.idURL(it.ID)
	if err != nil {
		it.Err = err
		return
	}
	resp, err := s.do(ctx, request{method: http.MethodGet, url: u, header: map[string]string{"Accept": "text/vcard"}})
	if err != nil {
		it.Err = fmt.Errorf("carddav: %w", err)
		return
	}
	switch resp.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		it.Err = fmt.Errorf("carddav: %s: %w", it.ID, engine.ErrNotFound)
		return
	default:
		it.Err = s.statusErr("GET", resp, nil)
		return
	}
	data := string(resp.body)
	lm := resp.header.Get("Last-Modified")
	etag := resp.header.Get("ETag")
	if etag == "" {
		if r, err := s.stat(ctx, u); err == nil {
			etag = r
		}
	}
	fill(it, davxml.Prop{ETag: &etag, LastModified: &lm, AddressData: &data})
}

// stat reads the ETag of u (PROPFIND Depth 0); ErrNotFound when u is gone.
func (s *Side) stat(ctx context.Context, u *url.URL) (string, error) {
	resp, err := s.do(ctx, request{method: "PROPFIND", url: u, header: map[string]string{"Depth": "0"}, body: propfindBody(davxml.DAV("getetag"))})
	if err != nil {
		return "", fmt.Errorf("carddav: %w", err)
	}
	if resp.status == http.StatusNotFound || resp.status == http.StatusGone {
		return "", fmt.Errorf("carddav: %s: %w", u, engine.ErrNotFound)
	}
	if resp.status != http.StatusMultiStatus {
		return "", s.statusErr("PROPFIND", resp, nil)
	}
	ms, err := parseMultistatus(resp.body)
	if err != nil {
		return "", err
	}
	for _, r := range resources(ms) {
		if r.status == http.StatusNotFound {
			return "", fmt.Errorf("carddav: %s: %w", u, engine.ErrNotFound)
		}
		if r.hasETag {
			return normETag(*r.prop.ETag), nil
		}
	}
	return "", fmt.Errorf("carddav: %s has no ETag", u)
}

// writeErr maps the status of a failed write to the sync errors.
func (s *Side) writeErr(method string, resp *response) error {
	switch resp.status {
	case http.StatusPreconditionFailed:
		return s.statusErr(method, resp, engine.ErrPrecondition)
	case http.StatusForbidden, http.StatusConflict, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusInsufficientStorage:
		return s.statusErr(method, resp, engine.ErrRefused)
	case http.StatusNotFound:
		if method == http.MethodPut {
			return s.statusErr(method, resp, engine.ErrRefused)
		}
	}
	return s.statusErr(method, resp, nil)
}

// put sends card to u with the precondition header and returns the new
// version.
func (s *Side) put(ctx context.Context, u *url.URL, hdr map[string]string, card *vcard.Card) (string, *response, error) {
	resp, err := s.do(ctx, request{method: http.MethodPut, url: u, header: hdr, body: card.Encode()})
	if err != nil {
		return "", nil, fmt.Errorf("carddav: %w", err)
	}
	if resp.status < 200 || resp.status > 299 {
		return "", resp, s.writeErr(http.MethodPut, resp)
	}
	if e := resp.header.Get("ETag"); e != "" {
		return normETag(e), resp, nil
	}
	e, err := s.stat(ctx, u)
	return e, resp, err
}

// safeName returns uid + ".vcf" when uid is a safe file name, else a
// random name.
func safeName(uid string) string {
	if name := vcard.UIDName(uid, 64, "+"); name != "" {
		return name
	}
	return vcard.RandomName()
}

// randomName returns a random card name.
// Create stores card under a new name (If-None-Match: *): the UID when it
// is a safe name and free, else a random one.
func (s *Side) Create(ctx context.Context, card *vcard.Card) (engine.Ref, error) {
	name := safeName(card.UID())
	for attempt := 0; ; attempt++ {
		s.pre.drop(name) // a re-read after a 412 must reach the server
		u, err := s.idURL(name)
		if err != nil {
			return engine.Ref{}, err
		}
		etag, resp, err := s.put(ctx, u, map[string]string{"If-None-Match": "*"}, card)
		if err == nil {
			return engine.Ref{ID: name, Version: etag}, nil
		}
		if resp == nil || resp.status != http.StatusPreconditionFailed || attempt >= 2 {
			return engine.Ref{}, err
		}
		if resp.tries > 1 {
			// A retried create may have succeeded before (the answer was
			// lost to a reset or a restart): is it ours?
			items, gerr := s.Get(ctx, []string{name})
			if gerr == nil && len(items) == 1 && items[0].Card != nil {
				got := items[0]
				if got.Card.Hash() == card.Hash() {
					return got.Ref, nil
				}
				if got.Card.UID() == card.UID() && got.Version != "" {
					// Our card as the server rewrote it (Radicale re-encodes
					// every card): make sure it holds exactly ours rather
					// than creating a second card with the same UID.
					return s.Update(ctx, got.Ref, card)
				}
			}
		}
		name = vcard.RandomName()
	}
}

// Update replaces the card ref.ID if its ETag is still ref.Version.
func (s *Side) Update(ctx context.Context, ref engine.Ref, card *vcard.Card) (engine.Ref, error) {
	s.pre.drop(ref.ID)
	u, err := s.idURL(ref.ID)
	if err != nil {
		return engine.Ref{}, err
	}
	if ref.Version == "" {
		return engine.Ref{}, fmt.Errorf("carddav: update of %s without a version", ref.ID)
	}
	etag, _, err := s.put(ctx, u, map[string]string{"If-Match": ref.Version}, card)
	if err != nil {
		return engine.Ref{}, err
	}
	return engine.Ref{ID: ref.ID, Version: etag}, nil
}

// Delete removes the card ref.ID if its ETag is still ref.Version. A card
// already gone is not an error.
func (s *Side) Delete(ctx context.Context, ref engine.Ref) error {
	s.pre.drop(ref.ID)
	u, err := s.idURL(ref.ID)
	if err != nil {
		return err
	}
	hdr := map[string]string{}
	if ref.Version != "" {
		hdr["If-Match"] = ref.Version
	}
	resp, err := s.do(ctx, request{method: http.MethodDelete, url: u, header: hdr})
	if err != nil {
		return fmt.Errorf("carddav: %w", err)
	}
	switch {
	case resp.status >= 200 && resp.status <= 299, resp.status == http.StatusNotFound, resp.status == http.StatusGone:
		return nil
	case resp.status == http.StatusPreconditionFailed:
		// Some servers answer 412 to If-Match on a missing resource.
		if _, serr := s.stat(ctx, u); errors.Is(serr, engine.ErrNotFound) {
			return nil
		}
	}
	return s.writeErr(http.MethodDelete, resp)
}
