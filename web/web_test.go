package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
)

// TestSignInSessionAndSignOut: wrong credentials are refused; a sign-in
// sets a HttpOnly, SameSite=Lax cookie on /ui/ holding ≥32 random bytes
// that the state keeps only hashed; a forged or idle-expired cookie sends
// the browser to the sign-in page with a message; sign-out deletes the
// session.
func TestSignInSessionAndSignOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if st, loc, _ := b.get("/ui/"); st != http.StatusSeeOther || loc != "/ui/login" {
		t.Fatalf("signed out dashboard: %d %s", st, loc)
	}
	for _, form := range []url.Values{
		{"user": {"alice"}, "password": {"wrong"}},
		{"user": {"nobody"}, "password": {"alice-pw"}},
		{"user": {"alice"}, "password": {""}},
	} {
		st, _, body := b.post("/ui/login", "", form)
		if st != http.StatusUnauthorized || !strings.Contains(body, "Wrong user name or password") {
			t.Fatalf("sign-in with %v: %d\n%s", form, st, body)
		}
	}
	// A sign-in form posted from another site (login CSRF).
	req, _ := http.NewRequest(http.MethodPost, e.ui.URL+"/ui/login", strings.NewReader(url.Values{"user": {"alice"}, "password": {"alice-pw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if n := countSessions(t, e.db); n != 0 {
		t.Fatalf("%d sessions after failed sign-ins", n)
	}
	// The same form from this server's own page is fine.
	req, _ = http.NewRequest(http.MethodPost, e.ui.URL+"/ui/login", strings.NewReader(url.Values{"user": {"alice"}, "password": {"alice-pw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.ui.URL)
	if resp, err := e.browser().c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin sign-in: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}

	st, loc, _ := b.post("/ui/login", "", url.Values{"user": {"alice"}, "password": {"alice-pw"}})
	if st != http.StatusSeeOther || loc != "/ui/" {
		t.Fatalf("sign-in: %d %s", st, loc)
	}
	cookies := b.c.Jar.Cookies(mustURL(t, e.ui.URL+"/ui/"))
	if len(cookies) != 1 || len(cookies[0].Value) < 43 {
		t.Fatalf("cookies %+v", cookies)
	}
	value := cookies[0].Value
	if b.c.Jar.Cookies(mustURL(t, e.ui.URL+"/addressbooks/")) != nil {
		t.Fatal("the session cookie is sent outside /ui/")
	}
	// The Set-Cookie attributes, read from a fresh sign-in.
	raw := rawSignIn(t, e, "alice")
	for _, attr := range []string{"Path=/ui/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(raw, attr) {
			t.Errorf("Set-Cookie %q lacks %s", raw, attr)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Set-Cookie %q is Secure without TLS", raw)
	}
	ctx := context.Background()
	if _, err := e.db.WebSession(ctx, hashToken(value), e.clock.Now()); err != nil {
		t.Fatalf("session not stored under its hash: %v", err)
	}
	if _, err := e.db.WebSession(ctx, value, e.clock.Now()); err == nil {
		t.Fatal("the cookie value itself is a key of the sessions table")
	}

	st, _, body := b.get("/ui/")
	if st != http.StatusOK || !strings.Contains(body, e.ui.URL+"/addressbooks/alice/contacts/") || !strings.Contains(body, "alice-p") {
		t.Fatalf("dashboard: %d\n%s", st, body)
	}

	// A forged cookie.
	fb := []byte(value)
	fb[0] = otherChar(fb[0])
	forged := string(fb)
	f := e.browser()
	f.c.Jar.SetCookies(mustURL(t, e.ui.URL+"/ui/"), []*http.Cookie{{Name: cookieName, Value: forged, Path: "/ui/"}})
	if st, loc, _ := f.get("/ui/"); st != http.StatusSeeOther || loc != "/ui/login?m=expired" {
		t.Fatalf("forged cookie: %d %s", st, loc)
	}
	if st, _, body := f.get("/ui/login?m=expired"); st != http.StatusOK || !strings.Contains(body, "Your session has ended") {
		t.Fatalf("sign-in page after expiry: %d\n%s", st, body)
	}
	if n := len(f.c.Jar.Cookies(mustURL(t, e.ui.URL+"/ui/"))); n != 0 {
		t.Fatalf("the forged cookie was not cleared (%d cookies)", n)
	}
	f.c.Jar.SetCookies(mustURL(t, e.ui.URL+"/ui/"), []*http.Cookie{{Name: cookieName, Value: forged, Path: "/ui/"}})
	if st, loc, _ := f.post("/ui/pairs/alice-p/sync", "x", nil); st != http.StatusSeeOther || loc != "/ui/login?m=expired" {
		t.Fatalf("POST with a forged cookie: %d %s", st, loc)
	}

	// Idle expiry: used within 12 h it lasts; 12 h unused it ends.
	e.clock.Add(11 * time.Hour)
	if st, _, _ := b.get("/ui/"); st != http.StatusOK {
		t.Fatalf("after 11 h: %d", st)
	}
	e.clock.Add(11 * time.Hour)
	if st, _, _ := b.get("/ui/"); st != http.StatusOK {
		t.Fatalf("11 h after the last use: %d", st)
	}
	e.clock.Add(12*time.Hour + time.Second)
	if st, loc, _ := b.get("/ui/"); st != http.StatusSeeOther || loc != "/ui/login?m=expired" {
		t.Fatalf("after 12 h idle: %d %s", st, loc)
	}

	// Sign out.
	b = e.browser()
	csrf := b.signIn("alice")
	before := countSessions(t, e.db)
	if st, loc, _ := b.post("/ui/logout", csrf, nil); st != http.StatusSeeOther || loc != "/ui/login?m=signedout" {
		t.Fatalf("sign out: %d %s", st, loc)
	}
	if n := countSessions(t, e.db); n != before-1 {
		t.Fatalf("sessions %d → %d after sign-out", before, n)
	}
}

// TestSecureCookieUnderTLS: with Secure set the cookie is Secure.
func TestSecureCookieUnderTLS(t *testing.T) {
	e := newEnv(t)
	h, err := New(Options{DB: e.db, Config: e.cfg, Pairs: e.pairs, Guard: e.guard,
		BaseURL: "https://dav.example.com", Secure: true, FailedLoginDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	w := newRecorder()
	r := formRequest("https://dav.example.com/ui/login", url.Values{"user": {"alice"}, "password": {"alice-pw"}})
	h.ServeHTTP(w, r)
	if c := w.Header().Get("Set-Cookie"); !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("Set-Cookie %q", c)
	}
}

// TestCSRF: a POST without the session's token, with a wrong one or with
// another session's is refused with 403 and changes nothing.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.browser(), e.browser()
	csrf := alice.signIn("alice")
	bobCSRF := bob.signIn("bob")
	wrong := []byte(csrf)
	wrong[len(wrong)-1] = otherChar(wrong[len(wrong)-1])
	for name, tok := range map[string]string{"missing": "", "wrong": string(wrong), "bob's": bobCSRF} {
		st, _, body := alice.post("/ui/pairs/alice-p/sync", tok, nil)
		if st != http.StatusForbidden || !strings.Contains(body, "CSRF token does not match") {
			t.Fatalf("%s token: %d\n%s", name, st, body)
		}
		if st, _, _ := alice.post("/ui/logout", tok, nil); st != http.StatusForbidden {
			t.Fatalf("%s token, sign-out: %d", name, st)
		}
	}
	if got := e.sched.triggered(); len(got) != 0 {
		t.Fatalf("triggered %v with bad tokens", got)
	}
	if st, loc, _ := alice.post("/ui/pairs/alice-p/sync", csrf, nil); st != http.StatusSeeOther || loc != "/ui/?synced=alice-p" {
		t.Fatalf("sync now: %d %s", st, loc)
	}
	if got := e.sched.triggered(); !slices.Equal(got, []string{"alice-p"}) {
		t.Fatalf("triggered %v", got)
	}
}

// TestIsolation: alice sees her own books, pairs, conflicts and trash
// only, and every POST with bob's (or an unknown) id is a 404 that
// changes nothing; her own ids work.
func TestIsolation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	card := func(fn string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u-" + fn + "\r\nFN:" + fn + "\r\nEND:VCARD\r\n")
	}
	conflicts := map[string]*state.Conflict{}
	trash := map[string]*state.TrashEntry{}
	for _, p := range []string{"alice-p", "bob-p", "other"} {
		c := &state.Conflict{Pair: p, UID: "u-" + p, A: card("A of " + p), B: card("B of " + p)}
		if err := e.db.UpsertConflict(ctx, c); err != nil {
			t.Fatal(err)
		}
		conflicts[p] = c
		te := &state.TrashEntry{Pair: p, Side: "a", UID: "t-" + p, Card: card("Trashed of " + p), Reason: "deleted"}
		if err := e.db.AddTrash(ctx, te); err != nil {
			t.Fatal(err)
		}
		trash[p] = te
	}
	if _, err := e.db.CreateAddressBook(ctx, "bob", "secret-book", "Bob's secret", ""); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := b.signIn("alice")

	_, _, dash := b.get("/ui/")
	_, _, cpage := b.get("/ui/conflicts")
	_, _, tpage := b.get("/ui/trash")
	for _, p := range []string{"bob-p", "other"} {
		for page, body := range map[string]string{"dashboard": dash, "conflicts": cpage, "trash": tpage} {
			if strings.Contains(body, p) {
				t.Errorf("alice's %s shows pair %s", page, p)
			}
		}
	}
	if strings.Contains(dash, "secret-book") || strings.Contains(dash, "/addressbooks/bob/") {
		t.Error("alice's dashboard shows bob's book")
	}
	if !strings.Contains(cpage, "A of alice-p") || !strings.Contains(tpage, "Trashed of alice-p") || !strings.Contains(dash, "alice-p") {
		t.Fatalf("alice does not see her own pair's items:\n%s\n%s", cpage, tpage)
	}

	for _, p := range []string{"bob-p", "other"} {
		id := idText(conflicts[p].ID)
		for _, keep := range []string{"a", "b", "merged"} {
			if st, _, _ := b.post("/ui/conflicts/"+id+"/resolve", csrf, url.Values{"keep": {keep}}); st != http.StatusNotFound {
				t.Errorf("resolve %s's conflict: %d", p, st)
			}
		}
		if st, _, _ := b.post("/ui/trash/"+idText(trash[p].ID)+"/restore", csrf, nil); st != http.StatusNotFound {
			t.Errorf("restore %s's trash: %d", p, st)
		}
		if st, _, _ := b.post("/ui/pairs/"+p+"/sync", csrf, nil); st != http.StatusNotFound {
			t.Errorf("sync %s: %d", p, st)
		}
		c, _ := e.db.GetConflict(ctx, conflicts[p].ID)
		te, _ := e.db.GetTrash(ctx, trash[p].ID)
		if c.Keep != "" || te.RestoreRequested {
			t.Errorf("%s changed by alice: conflict keep %q, restore %v", p, c.Keep, te.RestoreRequested)
		}
	}
	for _, path := range []string{"/ui/conflicts/99999/resolve", "/ui/conflicts/x/resolve", "/ui/trash/99999/restore", "/ui/trash/-1/restore", "/ui/pairs/nope/sync"} {
		if st, _, _ := b.post(path, csrf, url.Values{"keep": {"a"}}); st != http.StatusNotFound {
			t.Errorf("%s: %d", path, st)
		}
	}
	if got := e.sched.triggered(); len(got) != 0 {
		t.Fatalf("triggered %v", got)
	}

	// Her own.
	own := idText(conflicts["alice-p"].ID)
	if st, _, _ := b.post("/ui/conflicts/"+own+"/resolve", csrf, url.Values{"keep": {"sideways"}}); st != http.StatusBadRequest {
		t.Errorf("keep sideways: %d", st)
	}
	if st, loc, _ := b.post("/ui/conflicts/"+own+"/resolve", csrf, url.Values{"keep": {"b"}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/conflicts?resolved="+own) {
		t.Fatalf("resolve own: %d %s", st, loc)
	}
	if c, _ := e.db.GetConflict(ctx, conflicts["alice-p"].ID); c.Keep != "b" || string(c.Merged) != string(conflicts["alice-p"].B) {
		t.Fatalf("own conflict after keep b: %+v", c)
	}
	if st, loc, _ := b.post("/ui/trash/"+idText(trash["alice-p"].ID)+"/restore", csrf, nil); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/trash?restored=") {
		t.Fatalf("restore own: %d %s", st, loc)
	}
	if te, _ := e.db.GetTrash(ctx, trash["alice-p"].ID); !te.RestoreRequested {
		t.Fatal("own restore not requested")
	}
	if got := e.sched.triggered(); !slices.Equal(got, []string{"alice-p", "alice-p"}) {
		t.Fatalf("triggered %v, want alice-p after each action", got)
	}
	// Bob still sees his own, untouched.
	bb := e.browser()
	bb.signIn("bob")
	if _, _, body := bb.get("/ui/conflicts"); !strings.Contains(body, "A of bob-p") || strings.Contains(body, "alice-p") {
		t.Fatalf("bob's conflicts page:\n%s", body)
	}
}

// TestConnectFlow: connect through graphsim's consent page (PKCE S256,
// the callback under the base URL), the tokens land with alice's web
// account, the pair is created with its book and scheduled, MergePairs
// sees it, and disconnect removes tokens and pair but keeps the book.
func TestConnectFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.browser()
	csrf := b.signIn("alice")
	if _, _, body := b.get("/ui/"); !strings.Contains(body, `id="connect"`) {
		t.Fatalf("no connect button:\n%s", body)
	}
	authz := e.connect(b, csrf)
	q := mustURL(t, authz).Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("redirect_uri") != e.ui.URL+"/ui/connect/callback" ||
		len(q.Get("state")) < 32 || q.Get("client_id") != simClient || !strings.Contains(q.Get("scope"), "offline_access") {
		t.Fatalf("authorize URL %s", authz)
	}
	cb := e.consent(authz, simUser, simPass)
	if !strings.HasPrefix(cb, e.ui.URL+"/ui/connect/callback?") {
		t.Fatalf("graphsim redirected to %s", cb)
	}
	st, _, body := b.get(cb)
	if st != http.StatusOK || !strings.Contains(body, "Office 365 connected") || !strings.Contains(body, `id="create-pair"`) {
		t.Fatalf("callback: %d\n%s", st, body)
	}
	tok, ok, _ := e.db.LoadToken(ctx, "web-alice")
	if !ok || tok.RefreshToken == "" || tok.AccessToken == "" || tok.Flow != "browser" || tok.ClientID != simClient {
		t.Fatalf("stored token of %q, flow %q, client %q (%v)", tok.User, tok.Flow, tok.ClientID, ok)
	}
	if strings.Contains(body, tok.AccessToken) || strings.Contains(body, tok.RefreshToken) {
		t.Fatal("a token is on the page")
	}
	// The same callback again: its state was used.
	if st, _, body := b.get(cb); st != http.StatusBadRequest || !strings.Contains(body, "state mismatch") {
		t.Fatalf("replayed callback: %d\n%s", st, body)
	}

	for _, bad := range []string{"../x", "Upper", "", "a b", strings.Repeat("x", 64)} {
		if st, _, _ := b.post("/ui/connect/pair", csrf, url.Values{"book": {bad}}); st != http.StatusBadRequest {
			t.Errorf("book %q: %d", bad, st)
		}
	}
	if st, _, _ := b.post("/ui/connect/pair", csrf, url.Values{"book": {"contacts"}}); st != http.StatusConflict {
		t.Errorf("an existing book: %d", st)
	}
	if ps, _ := e.db.WebPairs(ctx, ""); len(ps) != 0 {
		t.Fatalf("refused forms made pairs: %+v", ps)
	}
	if st, _, _ := b.post("/ui/connect/pair", csrf, url.Values{"book": {"office365"}, "conflict": {"a-wins"}}); st != http.StatusBadRequest {
		t.Errorf("conflict a-wins: %d", st)
	}
	st, loc, _ := b.post("/ui/connect/pair", csrf, url.Values{"book": {"office365"}, "display": {"Work contacts"}, "conflict": {"manual"}})
	if st != http.StatusSeeOther || loc != "/ui/?created="+url.QueryEscape("web-alice:office365") {
		t.Fatalf("create pair: %d %s", st, loc)
	}
	book, err := e.db.AddressBook(ctx, "alice", "office365")
	if err != nil || book.DisplayName != "Work contacts" {
		t.Fatalf("book %+v, %v", book, err)
	}
	if !slices.Equal(e.sched.added, []string{"web-alice:office365"}) || e.sched.every["web-alice:office365"] != DefaultEvery ||
		!slices.Equal(e.sched.books["web-alice:office365"], []string{"alice/office365"}) {
		t.Fatalf("scheduler: added %v every %v books %v", e.sched.added, e.sched.every, e.sched.books)
	}
	merged, skipped, err := pairs.Merge(ctx, e.db, e.cfg)
	if err != nil || len(skipped) != 0 {
		t.Fatal(err, skipped)
	}
	p, ok := merged.Pair("web-alice:office365")
	acc, okAcc := merged.Account("web-alice")
	if !ok || !okAcc || p.A.Type != "o365" || p.A.Account != "web-alice" || p.B.User != "alice" || p.B.Addressbook != "office365" || p.Conflict != "manual" ||
		acc.ClientID != simClient || acc.Flow != "browser" || acc.LoginURL != e.simTS.URL {
		t.Fatalf("merged pair %+v account %+v", p, acc)
	}
	if _, ok := e.cfg.Pair("web-alice:office365"); ok {
		t.Fatal("MergePairs changed the configuration it was given")
	}
	_, _, dash := b.get("/ui/")
	if !strings.Contains(dash, "web-alice:office365") || !strings.Contains(dash, "Office 365 connected") {
		t.Fatalf("dashboard after the pair:\n%s", dash)
	}
	// bob cannot sync alice's web pair, nor disconnect it.
	bb := e.browser()
	bcsrf := bb.signIn("bob")
	if st, _, _ := bb.post("/ui/pairs/web-alice:office365/sync", bcsrf, nil); st != http.StatusNotFound {
		t.Fatalf("bob syncs alice's web pair: %d", st)
	}
	bb.post("/ui/connect/disconnect", bcsrf, nil)
	if !e.hasToken("web-alice") {
		t.Fatal("bob's disconnect removed alice's tokens")
	}

	if st, loc, _ := b.post("/ui/connect/disconnect", csrf, nil); st != http.StatusSeeOther || loc != "/ui/?disconnected=1" {
		t.Fatalf("disconnect: %d %s", st, loc)
	}
	if e.hasToken("web-alice") {
		t.Fatal("tokens kept after disconnect")
	}
	if ps, _ := e.db.WebPairs(ctx, "alice"); len(ps) != 0 {
		t.Fatalf("pairs kept after disconnect: %+v", ps)
	}
	if !slices.Contains(e.sched.removed, "web-alice:office365") {
		t.Fatalf("scheduler not told: removed %v", e.sched.removed)
	}
	if _, err := e.db.AddressBook(ctx, "alice", "office365"); err != nil {
		t.Fatalf("the book went with the disconnect: %v", err)
	}
	if st, _, _ := b.post("/ui/connect/pair", csrf, url.Values{"book": {"again"}}); st != http.StatusBadRequest {
		t.Fatalf("a pair without a connection: %d", st)
	}
}

// TestConnectBadInput: a forged state, another session's state, an error
// from the authorize endpoint (shown escaped) and a replayed code each give
// a clear page and store nothing.
func TestConnectBadInput(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn("alice")
	cbURL := "/ui/connect/callback?"

	// No state started at all / a forged one.
	for _, q := range []string{"code=abc", "code=abc&state=forged", "error=access_denied&state="} {
		st, _, body := b.get(cbURL + q)
		if st != http.StatusBadRequest || !strings.Contains(body, "state mismatch") {
			t.Fatalf("%s: %d\n%s", q, st, body)
		}
	}
	// Bob's state, used with alice's session.
	bb := e.browser()
	bobState := mustURL(t, e.connect(bb, bb.signIn("bob"))).Query().Get("state")
	if st, _, body := b.get(cbURL + "code=abc&state=" + url.QueryEscape(bobState)); st != http.StatusBadRequest || !strings.Contains(body, "state mismatch") {
		t.Fatalf("bob's state: %d\n%s", st, body)
	}

	// An error from the authorize endpoint, with markup in it.
	st1 := mustURL(t, e.connect(b, csrf)).Query().Get("state")
	desc := `AADSTS65004: User declined to consent <script>alert("x")</script>. Trace ID: 1`
	st, _, body := b.get(cbURL + url.Values{"error": {"access_denied"}, "error_description": {desc}, "state": {st1}}.Encode())
	if st != http.StatusBadRequest || !strings.Contains(body, "access_denied") || !strings.Contains(body, "AADSTS65004") ||
		strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("authorize error: %d\n%s", st, body)
	}

	// The declined consent through graphsim itself.
	authz := e.connect(b, csrf)
	page := e.browser()
	_, _, form := page.get(authz)
	sess := strings.SplitN(strings.SplitN(form, `name="session" value="`, 2)[1], `"`, 2)[0]
	u := mustURL(t, authz)
	u.RawQuery = ""
	_, loc, _ := page.do(http.MethodPost, u.String(), url.Values{"session": {sess}, "consent": {"decline"}})
	if st, _, body := b.get(loc); st != http.StatusBadRequest || !strings.Contains(body, "access_denied") || !strings.Contains(body, "AADSTS65004") ||
		!strings.Contains(body, "To fix: "+auth.Hint("AADSTS65004")) {
		t.Fatalf("declined: %d\n%s", st, body)
	}

	// A replayed code: redeemed once (connected), then delivered again with
	// a fresh state after a disconnect.
	cb := e.consent(e.connect(b, csrf), simUser, simPass)
	code := mustURL(t, cb).Query().Get("code")
	if st, _, _ := b.get(cb); st != http.StatusOK || !e.hasToken("web-alice") {
		t.Fatalf("first redemption: %d", st)
	}
	b.post("/ui/connect/disconnect", csrf, nil)
	st2 := mustURL(t, e.connect(b, csrf)).Query().Get("state")
	st, _, body = b.get(cbURL + url.Values{"code": {code}, "state": {st2}}.Encode())
	if st != http.StatusBadGateway || !strings.Contains(body, "AADSTS54005") || strings.Contains(body, code) {
		t.Fatalf("replayed code: %d\n%s", st, body)
	}
	if e.hasToken("web-alice") || e.hasToken("web-bob") {
		t.Fatal("a failed connection stored tokens")
	}

	// An expired session at the callback goes to the sign-in page.
	st3 := mustURL(t, e.connect(b, csrf)).Query().Get("state")
	e.clock.Add(13 * time.Hour)
	if st, loc, _ := b.get(cbURL + "code=abc&state=" + url.QueryEscape(st3)); st != http.StatusSeeOther || loc != "/ui/login?m=expired" {
		t.Fatalf("expired session at the callback: %d %s", st, loc)
	}
}

// TestConnectNotConfigured: without server.connect there is no button and
// the routes answer 404.
func TestConnectNotConfigured(t *testing.T) {
	e := newEnv(t)
	e.cfg.Server.Connect = config.Connect{}
	b := e.browser()
	csrf := b.signIn("alice")
	if _, _, body := b.get("/ui/"); strings.Contains(body, `id="connect"`) || !strings.Contains(body, "server.connect") {
		t.Fatalf("dashboard:\n%s", body)
	}
	if st, _, _ := b.post("/ui/connect", csrf, nil); st != http.StatusNotFound {
		t.Fatalf("connect: %d", st)
	}
}

// TestWantsUI: only a browser's GET of / is sent to the UI.
func TestWantsUI(t *testing.T) {
	for _, c := range []struct {
		method, path, accept string
		want                 bool
	}{
		{"GET", "/", "text/html,application/xhtml+xml,*/*;q=0.8", true},
		{"GET", "/", "*/*", false},
		{"GET", "/", "", false},
		{"PROPFIND", "/", "text/html", false},
		{"GET", "/addressbooks/", "text/html", false},
		{"OPTIONS", "/", "text/html", false},
	} {
		r, _ := http.NewRequest(c.method, "http://x"+c.path, nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		if got := WantsUI(r); got != c.want {
			t.Errorf("%s %s Accept %q: %v", c.method, c.path, c.accept, got)
		}
	}
}

// TestStaticAndNotFound: the stylesheet is served; unknown pages are 404.
func TestStaticAndNotFound(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if st, _, body := b.get("/ui/static/style.css"); st != http.StatusOK || !strings.Contains(body, "--accent") {
		t.Fatalf("style.css: %d", st)
	}
	if st, _, _ := b.get("/ui/nope"); st != http.StatusNotFound {
		t.Fatalf("/ui/nope: %d", st)
	}
}

// otherChar is a base64url character other than c.
func otherChar(c byte) byte {
	if c == 'a' {
		return 'b'
	}
	return 'a'
}
