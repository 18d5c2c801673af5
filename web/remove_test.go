package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"golang.org/x/crypto/bcrypt"
)

// addUser adds a server user whose password is name + "-pw".
func (e *env) addUser(name string) {
	e.t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte(name+"-pw"), bcrypt.MinCost)
	if err := e.db.AddUser(context.Background(), name, string(hash)); err != nil {
		e.t.Fatal(err)
	}
}

// connectAndPair connects b's user to graphsim's mailbox and makes a
// pair on a new book; it returns the pair's name.
func (e *env) connectAndPair(b *browser, csrf, user, book string) string {
	e.t.Helper()
	if st, _, body := b.get(e.consent(e.connect(b, csrf), simUser, simPass)); st != http.StatusOK || !strings.Contains(body, "Office 365 connected") {
		e.t.Fatalf("%s: callback %d\n%s", user, st, body)
	}
	if st, loc, body := b.post("/ui/connect/pair", csrf, url.Values{"book": {book}}); st != http.StatusSeeOther {
		e.t.Fatalf("%s: create pair %s: %d %s\n%s", user, book, st, loc, body)
	}
	ps, err := e.db.WebPairs(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ps {
		if p.Addressbook == book {
			return p.Name
		}
	}
	e.t.Fatalf("%s: no pair on %s in %+v", user, book, ps)
	return ""
}

// TestNamesakeAfterRemove: frank connects Office 365 and makes a pair that
// has trash, a conflict and runs; `user remove frank`; a new frank signs
// in: he is not connected, cannot make a pair (import the old mailbox),
// sees no pair, trash or conflict of the old one, and MergePairs runs
// nothing with the old tokens.
func TestNamesakeAfterRemove(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("frank")
	old := e.browser()
	ocsrf := old.signIn("frank")
	pair := e.connectAndPair(old, ocsrf, "frank", "office365")
	card := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Old Franks Secret Contact\r\nEND:VCARD\r\n")
	if err := e.db.AddTrash(ctx, &state.TrashEntry{Pair: pair, Side: "a", UID: "u1", Card: card, Reason: "deleted"}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.UpsertConflict(ctx, &state.Conflict{Pair: pair, UID: "u1", A: card, B: card}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddRun(ctx, &state.Run{Pair: pair, OK: true}); err != nil {
		t.Fatal(err)
	}

	if err := e.db.RemoveUser(ctx, "frank"); err != nil {
		t.Fatal(err)
	}
	if st, loc, _ := old.get("/ui/"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
		t.Fatalf("the removed frank's session still works: %d %s", st, loc)
	}
	e.addUser("frank")
	b := e.browser()
	csrf := b.signIn("frank")
	_, _, dash := b.get("/ui/")
	if strings.Contains(dash, "Office 365 connected") || strings.Contains(dash, simUser) || strings.Contains(dash, pair) {
		t.Errorf("the new frank's dashboard shows the old connection or pair:\n%s", dash)
	}
	if st, _, body := b.post("/ui/connect/pair", csrf, url.Values{"book": {"imported"}}); st != http.StatusBadRequest || !strings.Contains(body, "Not connected") {
		t.Errorf("the new frank made a pair with the old tokens: %d\n%s", st, body)
	}
	for _, page := range []string{"/ui/trash", "/ui/conflicts"} {
		if _, _, body := b.get(page); strings.Contains(body, "Old Franks Secret Contact") {
			t.Errorf("%s shows the old frank's card", page)
		}
	}
	merged, _, err := pairs.Merge(ctx, e.db, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for n, p := range merged.Pairs {
		if p.A.Account == "web-frank" || p.B.User == "frank" {
			t.Errorf("pair %s of frank runs after the removal", n)
		}
	}
	if e.hasToken("web-frank") {
		t.Error("the old frank's tokens are in the state")
	}
}

// TestLeftoverTokensNotInherited: tokens under web-frank that nobody owns
// (left by an older cardbridge's `user remove`) are not the new frank's
// connection, and his own connection replaces them.
func TestLeftoverTokensNotInherited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("frank")
	if err := e.db.SaveToken(ctx, "web-frank", state.AccountToken{AccessToken: "old-at", RefreshToken: "old-rt", User: "old@contoso.example", Flow: "browser", ClientID: simClient}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	csrf := b.signIn("frank")
	if _, _, dash := b.get("/ui/"); strings.Contains(dash, "Office 365 connected") || strings.Contains(dash, "old@contoso.example") {
		t.Errorf("leftover tokens shown as frank's connection:\n%s", dash)
	}
	if st, _, _ := b.post("/ui/connect/pair", csrf, url.Values{"book": {"imported"}}); st != http.StatusBadRequest {
		t.Errorf("a pair on leftover tokens: %d", st)
	}
	pair := e.connectAndPair(b, csrf, "frank", "office365")
	tok, ok, err := e.db.LoadToken(ctx, "web-frank")
	if err != nil || !ok || tok.RefreshToken == "old-rt" || tok.AccessToken == "old-at" {
		t.Fatalf("after frank's own connection: %+v %v %v", tok.User, ok, err)
	}
	if pair != "web-frank:office365" {
		t.Errorf("pair name %q", pair)
	}
}

// TestPairNamesDoNotCollide: gina's book x-y and gina-x's book y make two
// pairs; gina-x sees none of gina's trash and cannot restore it, also
// after gina disconnected (her pair's state is gone with it).
func TestPairNamesDoNotCollide(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("gina")
	e.addUser("gina-x")
	g := e.browser()
	gcsrf := g.signIn("gina")
	gp := e.connectAndPair(g, gcsrf, "gina", "x-y")
	secret := &state.TrashEntry{Pair: gp, Side: "a", UID: "g1", Card: []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:g1\r\nFN:Ginas Deleted Friend\r\nEND:VCARD\r\n"), Reason: "deleted"}
	if err := e.db.AddTrash(ctx, secret); err != nil {
		t.Fatal(err)
	}
	// Disconnecting used to leave the trash under the name.
	if st, _, _ := g.post("/ui/connect/disconnect", gcsrf, nil); st != http.StatusSeeOther {
		t.Fatalf("gina's disconnect: %d", st)
	}
	x := e.browser()
	xcsrf := x.signIn("gina-x")
	xp := e.connectAndPair(x, xcsrf, "gina-x", "y")
	if xp == gp {
		t.Fatalf("gina's and gina-x's pairs are both called %s", xp)
	}
	if _, _, body := x.get("/ui/trash"); strings.Contains(body, "Ginas Deleted Friend") {
		t.Errorf("gina-x sees gina's trash:\n%s", body)
	}
	if st, _, _ := x.post("/ui/trash/"+idText(secret.ID)+"/restore", xcsrf, nil); st != http.StatusNotFound {
		t.Errorf("gina-x restores gina's trash entry: %d", st)
	}
	// gina again, with a pair kept this time: both live side by side.
	gp2 := e.connectAndPair(g, gcsrf, "gina", "x-z")
	if err := e.db.AddTrash(ctx, &state.TrashEntry{Pair: gp2, Side: "a", UID: "g2", Card: []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:g2\r\nFN:Ginas Second Friend\r\nEND:VCARD\r\n"), Reason: "deleted"}); err != nil {
		t.Fatal(err)
	}
	xp2 := e.connectAndPair(x, xcsrf, "gina-x", "z")
	if xp2 == gp2 {
		t.Fatalf("both pairs are %s", xp2)
	}
	if _, _, body := x.get("/ui/trash"); strings.Contains(body, "Ginas Second Friend") {
		t.Errorf("gina-x sees gina's live pair's trash")
	}
	if _, _, body := g.get("/ui/trash"); !strings.Contains(body, "Ginas Second Friend") {
		t.Errorf("gina does not see her own trash")
	}
}

// TestPairNameInjective: distinct (user, book) give distinct names, all
// lower-case (config looks pairs up case-insensitively).
func TestPairNameInjective(t *testing.T) {
	users := []string{"gina", "gina-x", "Gina", "GINA", "g:ina", "gina~2d", "a+b", "a b", "é"}
	books := []string{"x-y", "y", "x", "ina", "office365"}
	seen := map[string][2]string{}
	for _, u := range users {
		for _, bk := range books {
			n := pairName(u, bk)
			if n != strings.ToLower(n) {
				t.Errorf("pairName(%q, %q) = %q is not lower-case", u, bk, n)
			}
			if prev, dup := seen[n]; dup {
				t.Errorf("pairName(%q, %q) = pairName(%q, %q) = %q", u, bk, prev[0], prev[1], n)
			}
			seen[n] = [2]string{u, bk}
		}
	}
}

// TestUnreadableTokensShownNotConnected: tokens sealed with another key
// make the dashboard say "not connected" (not an error page), and
// connecting again replaces them.
func TestUnreadableTokensShownNotConnected(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("frank")
	b := e.browser()
	csrf := b.signIn("frank")
	e.connectAndPair(b, csrf, "frank", "office365")
	other := statetest.Open(t, e.db.Path(), state.Options{TokenKey: bytes.Repeat([]byte{9}, state.TokenKeySize)})
	if err := other.SaveToken(ctx, "web-frank", state.AccountToken{RefreshToken: "sealed-with-another-key"}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	st, _, dash := b.get("/ui/")
	if st != http.StatusOK || strings.Contains(dash, "Office 365 connected") || !strings.Contains(dash, `id="connect"`) {
		t.Fatalf("dashboard with unreadable tokens: %d\n%s", st, dash)
	}
	if st, _, body := b.get(e.consent(e.connect(b, csrf), simUser, simPass)); st != http.StatusOK || !strings.Contains(body, "Office 365 connected") {
		t.Fatalf("connecting again: %d\n%s", st, body)
	}
	if tok, ok, err := e.db.LoadToken(ctx, "web-frank"); err != nil || !ok || tok.RefreshToken == "sealed-with-another-key" {
		t.Fatalf("after connecting again: %v %v", ok, err)
	}
}

// TestCaseVariantUsersDoNotShareAccounts: users Frank and frank get
// different lower-case account and pair names, so the configuration's
// case-insensitive look-ups never give one the other's mailbox; a web pair
// an older cardbridge made with an upper-case account is not run.
func TestCaseVariantUsersDoNotShareAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, u := range []string{"Frank", "frank"} {
		e.addUser(u)
		b := e.browser()
		e.connectAndPair(b, b.signIn(u), u, "office365")
	}
	merged, skipped, err := pairs.Merge(ctx, e.db, e.cfg)
	if err != nil || len(skipped) != 0 {
		t.Fatal(err, skipped)
	}
	accountOf := map[string]string{}
	for _, u := range []string{"Frank", "frank"} {
		p, ok := merged.Pair(pairName(u, "office365"))
		if !ok || p.B.User != u {
			t.Fatalf("pair of %s: %+v %v", u, p, ok)
		}
		acc, ok := merged.Account(p.A.Account)
		if !ok {
			t.Fatalf("account %s of %s's pair not found", p.A.Account, u)
		}
		accountOf[u] = acc.Name
	}
	if accountOf["Frank"] == accountOf["frank"] {
		t.Fatalf("Frank's and frank's pairs use the same account %s", accountOf["frank"])
	}
	// An old-style pair of Frank's (account web-Frank, as before): left out.
	if _, err := e.db.CreateWebPair(ctx, state.WebPair{Name: "web-Frank-old", User: "Frank", Account: "web-Frank", Addressbook: "old", Every: time.Hour}, ""); err != nil {
		t.Fatal(err)
	}
	merged, skipped, _ = pairs.Merge(ctx, e.db, e.cfg)
	if _, ok := merged.Pairs["web-Frank-old"]; ok || len(skipped) != 1 || !strings.Contains(skipped[0], "upper-case") {
		t.Fatalf("old upper-case web pair: skipped %v", skipped)
	}
}
