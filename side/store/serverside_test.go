package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"github.com/cardbridge/cardbridge/vcard"
)

func newSide(t *testing.T, be pgtest.Backend) (*Side, *state.DB) {
	t.Helper()
	db := openDB(t, be)
	s, err := New(db, "alice", "contacts", Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestNew(t *testing.T) { pgtest.ForBackends(t, testNew) }

func testNew(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	db := openDB(t, be)
	if _, err := New(db, "alice", "work", Options{}); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("New of a missing book: %v, want ErrNotFound", err)
	}
	s, err := New(db, "alice", "work", Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "server alice/work" {
		t.Errorf("Name = %q", s.Name())
	}
	b, err := db.AddressBook(ctx, "alice", "work")
	if err != nil || b.ID != s.BookID() {
		t.Fatalf("created book = %+v, %v", b, err)
	}
	// Create on an existing book opens it.
	if s2, err := New(db, "alice", "work", Options{Create: true}); err != nil || s2.BookID() != s.BookID() {
		t.Fatalf("New(Create) of an existing book: %v", err)
	}
	if _, err := New(db, "nobody", "work", Options{Create: true}); err == nil {
		t.Error("New(Create) for a missing user succeeded")
	}
}

func refIDs(refs []engine.Ref) []string {
	var ids []string
	for _, r := range refs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestChanges(t *testing.T) { pgtest.ForBackends(t, testChanges) }

func testChanges(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	s, db := newSide(t, be)

	cs, err := s.Changes(ctx, "")
	if err != nil || !cs.Full || len(cs.Changed) != 0 || cs.Token == "" {
		t.Fatalf("empty full round = %+v, %v", cs, err)
	}
	empty := cs.Token
	a, _ := s.Create(ctx, sidetest.Card("a", "A"))
	b, _ := s.Create(ctx, sidetest.Card("b", "B"))
	if a.ID != "a.vcf" || b.ID != "b.vcf" {
		t.Errorf("ids %s %s, want UID-based names", a.ID, b.ID)
	}
	cs, err = s.Changes(ctx, empty)
	if err != nil || cs.Full || !slices.Equal(refIDs(cs.Changed), []string{"a.vcf", "b.vcf"}) || len(cs.Deleted) != 0 {
		t.Fatalf("round after 2 creates = %+v, %v", cs, err)
	}
	t1 := cs.Token
	if cs, err := s.Changes(ctx, t1); err != nil || len(cs.Changed)+len(cs.Deleted) != 0 || cs.Token != t1 {
		t.Fatalf("round with nothing new = %+v, %v", cs, err)
	}

	// Many updates of a, delete b, create and delete c: a once, b and c deleted.
	for _, fn := range []string{"A1", "A2", "A3"} {
		if a, err = s.Update(ctx, a, sidetest.Card("a", fn)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Create(ctx, sidetest.Card("c", "C"))
	if err := s.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	cs, err = s.Changes(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(cs.Deleted)
	if len(cs.Changed) != 1 || cs.Changed[0] != a || !slices.Equal(cs.Deleted, []string{"b.vcf", "c.vcf"}) || cs.Full {
		t.Fatalf("incremental round = %+v, want changed [%v] deleted [b.vcf c.vcf]", cs, a)
	}

	// The full round lists what exists, with versions.
	full, err := s.Changes(ctx, "")
	if err != nil || !full.Full || len(full.Changed) != 1 || full.Changed[0] != a || full.Token != cs.Token {
		t.Fatalf("full round = %+v, %v", full, err)
	}

	// Tokens the side cannot answer.
	other, err := New(db, "alice", "other", Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, _ := other.Changes(ctx, "")
	bookID, seq, _ := state.ParseSyncToken(cs.Token)
	for _, tok := range []string{"garbage", otherTok.Token, state.FormatSyncToken(bookID, seq+1)} {
		if _, err := s.Changes(ctx, tok); !errors.Is(err, engine.ErrTokenExpired) {
			t.Errorf("Changes(%q): %v, want ErrTokenExpired", tok, err)
		}
	}
}

func TestUIDUniqueAndPreconditions(t *testing.T) {
	pgtest.ForBackends(t, testUIDUniqueAndPreconditions)
}

func testUIDUniqueAndPreconditions(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	s, db := newSide(t, be)
	r1, err := s.Create(ctx, sidetest.Card("u1", "One"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, sidetest.Card("u1", "Again")); !errors.Is(err, engine.ErrRefused) || !errors.Is(err, state.ErrUIDConflict) {
		t.Fatalf("second create with the same UID: %v, want ErrRefused", err)
	}
	// An update may not take another card's UID.
	r2, _ := s.Create(ctx, sidetest.Card("u2", "Two"))
	if _, err := s.Update(ctx, r2, sidetest.Card("u1", "Thief")); !errors.Is(err, engine.ErrRefused) {
		t.Fatalf("update to a taken UID: %v, want ErrRefused", err)
	}
	// A UID-based name taken by a card with another UID (a client's PUT):
	// Create picks another name and never overwrites.
	if _, _, err := db.PutCard(ctx, s.BookID(), "u3.vcf", "client-uid", sidetest.Card("client-uid", "Client").Encode(), state.Precondition{}); err != nil {
		t.Fatal(err)
	}
	r3, err := s.Create(ctx, sidetest.Card("u3", "Three"))
	if err != nil || r3.ID == "u3.vcf" {
		t.Fatalf("create over a taken name = %+v, %v", r3, err)
	}
	// Unsafe UIDs get a random name.
	r4, err := s.Create(ctx, sidetest.Card("urn:uuid:x/y z", "Four"))
	if err != nil || strings.ContainsAny(r4.ID, ":/ ") || !strings.HasSuffix(r4.ID, ".vcf") {
		t.Fatalf("create with an unsafe UID = %+v, %v", r4, err)
	}
	// Update and delete of a gone card.
	if err := s.Delete(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, r1, sidetest.Card("u1", "Gone")); !errors.Is(err, engine.ErrPrecondition) || !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("update of a deleted card: %v", err)
	}
	if err := s.Delete(ctx, engine.Ref{ID: r2.ID, Version: "stale"}); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("delete with a stale version: %v", err)
	}
}

// A card keeps the vCard version it was written in; an unparsable stored
// card is reported on its item, naming its href.
func TestVersionKeptAndBadCard(t *testing.T) { pgtest.ForBackends(t, testVersionKeptAndBadCard) }

func testVersionKeptAndBadCard(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	s, db := newSide(t, be)
	c4 := vcard.New(vcard.V40)
	c4.SetUID("v4")
	c4.SetFN("Four")
	r, err := s.Create(ctx, c4)
	if err != nil {
		t.Fatal(err)
	}
	cards, _ := db.GetCards(ctx, s.BookID(), []string{r.ID})
	if !strings.Contains(string(cards[r.ID].Data), "VERSION:4.0") {
		t.Errorf("stored %q, want a 4.0 card", cards[r.ID].Data)
	}
	if _, _, err := db.PutCard(ctx, s.BookID(), "bad.vcf", "", []byte("not a vcard"), state.Precondition{}); err != nil {
		t.Fatal(err)
	}
	items, err := s.Get(ctx, []string{"bad.vcf", r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Err == nil || items[0].Card != nil || !strings.Contains(items[0].Err.Error(), "bad.vcf") || errors.Is(items[0].Err, engine.ErrNotFound) {
		t.Errorf("bad card item = %+v", items[0])
	}
	if items[1].Err != nil || items[1].Card.Version != vcard.V40 || items[1].ModTime.IsZero() {
		t.Errorf("v4 card item = %+v", items[1])
	}
}

// TestResolutionOverAChangeFeed: a manual conflict leaves the server side's
// change already consumed, so the next runs see the item "unchanged" with
// the version state holds. Keeping the other side's version must still
// overwrite what the book holds now, in one write, and put exactly that —
// not the older base — in the trash.
func TestResolutionOverAChangeFeed(t *testing.T) {
	pgtest.ForBackends(t, testResolutionOverAChangeFeed)
}

func testResolutionOverAChangeFeed(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	s, db := newSide(t, be)
	m := mem.New("phone")
	card := func(fn string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u-1\r\nFN:" + fn + "\r\nN:;" + fn + ";;;\r\nEND:VCARD\r\n")
	}
	m.Put("u-1.vcf", card("Original"))
	eng := engine.New(db, nil)
	pair := engine.Pair{Name: "p", A: s, B: m, Policy: engine.PolicyManual}
	run := func() *engine.Result {
		t.Helper()
		res, err := eng.Run(ctx, pair, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %v", res.Errors)
		}
		return res
	}
	run()
	cards, err := db.Cards(ctx, s.BookID())
	if err != nil || len(cards) != 1 {
		t.Fatalf("book: %d cards, %v", len(cards), err)
	}
	if _, _, err := db.PutCard(ctx, s.BookID(), cards[0].Href, "u-1", card("From The Server"), state.Precondition{}); err != nil {
		t.Fatal(err)
	}
	m.Put("u-1.vcf", card("From The Phone"))
	if res := run(); res.Conflicts != 1 {
		t.Fatalf("conflicts = %d, want 1", res.Conflicts)
	}
	run() // the server's change feed no longer reports the item
	if tr, _ := db.ListTrash(ctx, "p"); len(tr) != 0 {
		t.Fatalf("trash before the resolution: %d entries", len(tr))
	}
	cs, err := db.Conflicts(ctx, "p", true)
	if err != nil || len(cs) != 1 {
		t.Fatalf("open conflicts: %d, %v", len(cs), err)
	}
	if err := db.ResolveConflict(ctx, cs[0].ID, "b", cs[0].B); err != nil {
		t.Fatal(err)
	}
	if res := run(); res.A.Updated != 1 || res.B.Updated != 0 {
		t.Fatalf("resolution run: a %+v b %+v", res.A, res.B)
	}
	got, _ := db.Cards(ctx, s.BookID())
	if len(got) != 1 || !strings.Contains(string(got[0].Data), "From The Phone") {
		t.Fatalf("book after keeping b: %+v", got)
	}
	trash, err := db.ListTrash(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(trash) != 1 || trash[0].Side != "a" || !strings.Contains(string(trash[0].Card), "From The Server") {
		for _, e := range trash {
			t.Logf("trash: side %s %q", e.Side, e.Card)
		}
		t.Fatalf("trash after keeping b: %d entries, want one holding the server's version", len(trash))
	}
}
