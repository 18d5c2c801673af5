package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"github.com/cardbridge/cardbridge/vcard"
)

// TestReadOnlyBook: a read-only book is refused to a side that would
// write it, with an error saying what to do; a side that only reads it
// reads it and cannot write it; the owning system's side (Options.System)
// writes it.
func TestReadOnlyBook(t *testing.T) { pgtest.ForBackends(t, testReadOnlyBook) }

func testReadOnlyBook(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	db := openDB(t, be)
	b, err := db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetAddressBookReadOnly(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err = New(db, "alice", "contacts", Options{})
	if !errors.Is(err, state.ErrReadOnly) || !errors.Is(err, ErrReadOnlyBook) ||
		!strings.Contains(err.Error(), "server side alice/contacts") || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), "a-to-b") {
		t.Fatalf("New of a read-only book for writing: %v", err)
	}
	if _, err := New(db, "alice", "contacts", Options{Create: true}); !errors.Is(err, state.ErrReadOnly) {
		t.Fatalf("New(Create) of a read-only book: %v", err)
	}

	sys, err := New(db, "alice", "contacts", Options{System: true})
	if err != nil {
		t.Fatal(err)
	}
	c := vcard.New(vcard.V30)
	c.SetUID("dir-1")
	c.SetFN("Directory Person")
	ref, err := sys.Create(ctx, c)
	if err != nil {
		t.Fatalf("system create: %v", err)
	}

	ro, err := New(db, "alice", "contacts", Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := ro.List(ctx)
	if err != nil || len(refs) != 1 || refs[0] != ref {
		t.Fatalf("read-only side lists %+v, %v", refs, err)
	}
	items, err := ro.Get(ctx, []string{ref.ID})
	if err != nil || items[0].Err != nil || items[0].Card.FN() != "Directory Person" {
		t.Fatalf("read-only side gets %+v, %v", items, err)
	}
	if cs, err := ro.Changes(ctx, ""); err != nil || len(cs.Changed) != 1 {
		t.Fatalf("read-only side changes %+v, %v", cs, err)
	}
	c2 := vcard.New(vcard.V30)
	c2.SetUID("new")
	c2.SetFN("New")
	if _, err := ro.Create(ctx, c2); !errors.Is(err, state.ErrReadOnly) || errors.Is(err, engine.ErrRefused) {
		t.Errorf("create through a read-only side: %v", err)
	}
	if _, err := ro.Update(ctx, ref, c2); !errors.Is(err, state.ErrReadOnly) {
		t.Errorf("update through a read-only side: %v", err)
	}
	if err := ro.Delete(ctx, ref); !errors.Is(err, state.ErrReadOnly) {
		t.Errorf("delete through a read-only side: %v", err)
	}
	if refs, _ := ro.List(ctx); len(refs) != 1 || refs[0] != ref {
		t.Errorf("after refused writes: %+v", refs)
	}
	if err := sys.Delete(ctx, ref); err != nil {
		t.Errorf("system delete: %v", err)
	}
}
