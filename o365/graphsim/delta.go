package graphsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"time"
)

// deltaState is what a delta or skip token carries (signed, opaque to clients).
type deltaState struct {
	Kind    string `json:"k"`           // "c" contacts, "f" folders
	Mailbox string `json:"m"`           // user id
	Folder  string `json:"f,omitempty"` // folder id
	From    uint64 `json:"a"`           // round starts after this seq (0: initial round)
	To      uint64 `json:"b"`           // round ends at this seq
	After   uint64 `json:"c"`           // delivered up to this seq
	Initial bool   `json:"i,omitempty"`
	Select  string `json:"s,omitempty"`
	Gen     int    `json:"g"`
	SyncGen int    `json:"sg,omitempty"` // folder sync-state generation the round starts from (0: initial round)
	Issued  int64  `json:"t"`
	Empties int    `json:"e,omitempty"`
	Nonce   string `json:"n"`
	// users delta: $expand and the ids of $filter
	Expand string   `json:"x,omitempty"`
	IDs    []string `json:"ids,omitempty"`
}

func (s *Server) encodeToken(st deltaState) string {
	st.Nonce = randToken(6)
	b, _ := json.Marshal(st)
	mac := hmac.New(sha256.New, s.deltaKey)
	mac.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:12])
}

func (s *Server) decodeToken(tok string) (deltaState, bool) {
	var st deltaState
	p, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return st, false
	}
	b, err1 := base64.RawURLEncoding.DecodeString(p)
	want, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return st, false
	}
	mac := hmac.New(sha256.New, s.deltaKey)
	mac.Write(b)
	if !hmac.Equal(mac.Sum(nil)[:12], want) {
		return st, false
	}
	return st, json.Unmarshal(b, &st) == nil
}

// tokenState validates the $deltatoken/$skiptoken of a delta request. It
// returns ok=false after writing the error.
func (g *gctx) tokenState(kind, folderID string) (st deltaState, has, ok bool) {
	q := g.r.URL.Query()
	raw, isSkip := q.Get("$skiptoken"), true
	if raw == "" {
		raw, isSkip = q.Get("$deltatoken"), false
	}
	if raw == "" {
		return st, false, true
	}
	st, valid := g.s.decodeToken(raw)
	if !valid || st.Kind != kind || st.Mailbox != g.m.user.ID || st.Folder != folderID {
		g.fail(400, CodeSyncStateInvalid, "The sync state is invalid or was issued for another folder or mailbox.")
		return st, true, false
	}
	if g.s.expiredToken(g, st, g.s.opts.DeltaTokenTTL) {
		return st, true, false
	}
	if kind == "c" && st.SyncGen > 0 && g.s.opts.SyncStateGenerations > 0 {
		g.m.mu.Lock()
		highest := 0
		if f := g.m.folders[folderID]; f != nil {
			highest = f.syncGen
		}
		g.m.mu.Unlock()
		if keep := g.s.opts.SyncStateGenerations; st.SyncGen <= highest-keep {
			g.fail(410, CodeSyncStateNotFound, "The sync state generation is not found; "+generationMessage(st.SyncGen, highest, keep))
			return st, true, false
		}
	}
	if !isSkip {
		// a deltaLink starts a new round from the old watermark
		g.m.mu.Lock()
		st = deltaState{Kind: kind, Mailbox: st.Mailbox, Folder: st.Folder, From: st.To, To: g.m.seq, After: st.To, Select: st.Select, Gen: st.Gen, SyncGen: st.SyncGen, Issued: st.Issued}
		g.m.mu.Unlock()
	}
	return st, true, true
}

// expiredToken answers 410 (Options.ExpiredCode) and reports true when st
// was issued before ExpireDeltaTokens or longer than ttl ago (0: no TTL).
func (s *Server) expiredToken(g *gctx, st deltaState, ttl time.Duration) bool {
	s.mu.Lock()
	gen := s.deltaGen
	s.mu.Unlock()
	expired := st.Gen != gen
	if ttl > 0 && s.now().Sub(time.Unix(0, st.Issued)) > ttl {
		expired = true
	}
	if !expired {
		return false
	}
	code := s.opts.ExpiredCode
	msg := "The sync state generation is not found; the delta token has expired. Start a new synchronization without a token."
	switch code {
	case CodeResyncRequired:
		msg = "Resync required. Replace any local cached data with the data from a full sync; the delta token has expired."
	case CodeSyncStateInvalid:
		msg = "The sync state is invalid; the delta token has expired."
	}
	g.fail(410, code, msg)
	return true
}

// deltaLinkPath is the request path with a folder addressed in OData key
// syntax, as Graph's own links are.
func (g *gctx) deltaLinkPath() string {
	segs, _ := pathSegments(g.r)
	var b strings.Builder
	for i := 0; i < len(segs); i++ {
		b.WriteByte('/')
		s := segs[i]
		if (s == "contactFolders" || s == "contactfolders" || s == "childFolders" || s == "childfolders") && i+1 < len(segs) && segs[i+1] != "delta" {
			b.WriteString(s + "('" + url.PathEscape(segs[i+1]) + "')")
			i++
			continue
		}
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (g *gctx) contactDelta(f *folder) {
	q := g.r.URL.Query()
	for k := range q {
		switch k {
		case "$select", "$deltatoken", "$skiptoken":
		case "$top":
			g.fail(400, "ErrorInvalidUrlQuery", "The query parameter '$top' is not supported with delta; use Prefer: odata.maxpagesize.")
			return
		default:
			if strings.HasPrefix(k, "$") {
				g.fail(400, "ErrorInvalidUrlQuery", "The query parameter '"+k+"' is not supported with delta.")
				return
			}
		}
	}
	st, has, ok := g.tokenState("c", f.id)
	if !ok {
		return
	}
	m := g.m
	if !has {
		if _, err := parseSelect(q.Get("$select")); err != nil {
			g.fail(400, "BadRequest", err.Error())
			return
		}
		g.s.mu.Lock()
		gen := g.s.deltaGen
		g.s.mu.Unlock()
		m.mu.Lock()
		st = deltaState{Kind: "c", Mailbox: m.user.ID, Folder: f.id, From: 0, To: m.seq, After: 0, Initial: true, Select: q.Get("$select"), Gen: gen}
		m.mu.Unlock()
	}
	st.Issued = g.s.now().UnixNano()
	sel, _ := parseSelect(st.Select)
	size := g.s.opts.DefaultPageSize
	if g.maxPage > 0 {
		size = min(g.maxPage, g.s.opts.MaxPageSize)
		g.applied = append(g.applied, "odata.maxpagesize="+itoa(size))
		g.w.Header().Set("Preference-Applied", strings.Join(g.applied, ", "))
	}
	size = min(size, g.s.opts.MaxPageSize)
	if c := g.s.opts.ContactDeltaPageCap; c > 0 {
		size = min(size, c)
	}

	m.mu.Lock()
	if f.deleted {
		m.mu.Unlock()
		g.fail(404, "ErrorItemNotFound", "The specified folder was not found in the store.")
		return
	}
	ro := m.renderOpts(g.immutable, nil, nil)
	ro.selectSet, ro.delta = sel, true
	var page []json.RawMessage
	empty := g.s.opts.DeltaEmptyPages > 0 && st.Empties < 3 && g.s.randFloat() < g.s.opts.DeltaEmptyPages
	more := false
	last := st.After
	if !empty {
		st.Empties = 0
		i := sort.Search(len(f.log), func(i int) bool { return f.log[i].seq > st.After })
		for ; i < len(f.log) && f.log[i].seq <= st.To; i++ {
			e := f.log[i]
			if !current(e) || (e.removed && st.Initial) {
				continue
			}
			if len(page) >= size {
				more = true
				break
			}
			page = append(page, renderEntry(m, e, ro))
			last = e.seq
		}
		if g.s.opts.DeltaDuplicates && len(page) > 0 {
			// replay one item already delivered in this round, or repeat one of this page
			if g.s.randInt(3) == 0 {
				var cands []logEntry
				j := sort.Search(len(f.log), func(i int) bool { return f.log[i].seq > st.From })
				for ; j < len(f.log) && f.log[j].seq <= st.After; j++ {
					if current(f.log[j]) && !(f.log[j].removed && st.Initial) {
						cands = append(cands, f.log[j])
					}
				}
				if len(cands) > 0 {
					page = append(page, renderEntry(m, cands[g.s.randInt(len(cands))], ro))
				}
			}
			if g.s.randInt(4) == 0 {
				page = append(page, page[g.s.randInt(len(page))])
			}
		}
	} else {
		st.Empties++
		more = true
	}
	m.mu.Unlock()
	st.After = last
	out := map[string]any{"@odata.context": g.base() + "/$metadata#Collection(contact)"}
	if page == nil {
		page = []json.RawMessage{}
	}
	out["value"] = page
	link := g.base() + g.deltaLinkPath()
	if more {
		out["@odata.nextLink"] = link + "?$skiptoken=" + g.s.encodeToken(st)
	} else {
		st.Initial = false
		m.mu.Lock()
		f.syncGen++
		st.SyncGen = f.syncGen
		m.mu.Unlock()
		out["@odata.deltaLink"] = link + "?$deltatoken=" + g.s.encodeToken(st)
	}
	writeJSON(g.w, 200, out)
}

// generationMessage is the tail of Exchange's SyncStateNotFound message:
// the generation asked for and the ones kept, highest first, then the
// others ascending ("generation=518;[highest=523][523][521][522]").
func generationMessage(asked, highest, keep int) string {
	var b strings.Builder
	b.WriteString("generation=" + itoa(asked) + ";[highest=" + itoa(highest) + "][" + itoa(highest) + "]")
	for g := max(highest-keep+1, 1); g < highest; g++ {
		b.WriteString("[" + itoa(g) + "]")
	}
	return b.String()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func current(e logEntry) bool { return e.removed || e.c.seq == e.seq }

func renderEntry(m *Mailbox, e logEntry, ro renderOpts) json.RawMessage {
	if e.removed {
		var b bytes.Buffer
		b.WriteString(`{"@odata.type":"#microsoft.graph.contact","id":`)
		id, _ := json.Marshal(m.contactID(e.c, ro.immutable))
		b.Write(id)
		b.WriteString(`,"@removed":{"reason":"deleted"}}`)
		return b.Bytes()
	}
	return e.c.render(m, ro)
}

// folderDelta serves /contactFolders/delta (one page per round).
func (g *gctx) folderDelta() {
	if g.r.Method != "GET" {
		g.methodNotAllowed()
		return
	}
	st, has, ok := g.tokenState("f", "")
	if !ok {
		return
	}
	m := g.m
	g.s.mu.Lock()
	gen := g.s.deltaGen
	g.s.mu.Unlock()
	m.mu.Lock()
	if !has {
		st = deltaState{Kind: "f", Mailbox: m.user.ID, From: 0, Initial: true, Gen: gen}
	}
	st.To = m.seq
	var vals []any
	seen := map[*folder]bool{}
	for i := len(m.flog) - 1; i >= 0; i-- {
		e := m.flog[i]
		if e.seq <= st.From || seen[e.f] {
			continue
		}
		seen[e.f] = true
		if e.f.deleted {
			if !st.Initial {
				vals = append(vals, map[string]any{"@odata.type": "#microsoft.graph.contactFolder", "id": e.f.id, "@removed": map[string]string{"reason": "deleted"}})
			}
			continue
		}
		fj := g.folderJSON(e.f)
		fj["@odata.type"] = "#microsoft.graph.contactFolder"
		vals = append(vals, fj)
	}
	m.mu.Unlock()
	if vals == nil {
		vals = []any{}
	}
	st.Issued = g.s.now().UnixNano()
	st.Initial = false
	writeJSON(g.w, 200, map[string]any{
		"@odata.context":   g.base() + "/$metadata#Collection(contactFolder)",
		"value":            vals,
		"@odata.deltaLink": g.base() + "/" + g.root + "/contactFolders/delta?$deltatoken=" + g.s.encodeToken(st),
	})
}
