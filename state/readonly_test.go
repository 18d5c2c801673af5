package state

import (
	"context"
	"errors"
	"testing"
)

// TestReadOnlyBook: a book marked read-only says so, refuses the card
// writes that are not the system's (changing nothing: cards, sequence,
// change log) and takes the system's; it is writable again once unmarked.
func TestReadOnlyBook(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		b := newBook(t, db)
		if b.ReadOnly {
			t.Fatal("a new book is read-only")
		}
		etag, _, err := db.PutCard(ctx, b.ID, "a.vcf", "a", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:A\r\nEND:VCARD\r\n"), Precondition{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetAddressBookReadOnly(ctx, b.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAddressBookReadOnly(ctx, b.ID+100, true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetAddressBookReadOnly of no book: %v, want ErrNotFound", err)
		}
		got, err := db.AddressBook(ctx, "alice", DefaultAddressBook)
		if err != nil || !got.ReadOnly {
			t.Fatalf("AddressBook after SetAddressBookReadOnly: %+v, %v", got, err)
		}
		if list, err := db.AddressBooks(ctx, "alice"); err != nil || len(list) != 1 || !list[0].ReadOnly {
			t.Fatalf("AddressBooks: %+v, %v", list, err)
		}
		before := got.SyncSeq
		changes := countRows(t, db, "card_changes")
		for name, write := range map[string]func() error{
			"put new": func() error {
				_, _, err := db.PutCard(ctx, b.ID, "b.vcf", "b", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:B\r\nEND:VCARD\r\n"), Precondition{})
				return err
			},
			"put over": func() error {
				_, _, err := db.PutCard(ctx, b.ID, "a.vcf", "a", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:X\r\nEND:VCARD\r\n"), Precondition{IfMatch: etag})
				return err
			},
			"delete": func() error { return db.DeleteCard(ctx, b.ID, "a.vcf", Precondition{}) },
		} {
			if err := write(); !errors.Is(err, ErrReadOnly) {
				t.Errorf("%s: %v, want ErrReadOnly", name, err)
			}
		}
		cards, err := db.Cards(ctx, b.ID)
		if err != nil || len(cards) != 1 || cards[0].ETag != etag {
			t.Fatalf("cards after refused writes: %+v, %v", cards, err)
		}
		if got, _ := db.AddressBook(ctx, "alice", DefaultAddressBook); got.SyncSeq != before {
			t.Fatalf("sequence %d after refused writes, was %d", got.SyncSeq, before)
		}
		if n := countRows(t, db, "card_changes"); n != changes {
			t.Fatalf("%d change rows after refused writes, was %d", n, changes)
		}
		// The owning system writes.
		sys := Precondition{System: true}
		if _, _, err := db.PutCard(ctx, b.ID, "b.vcf", "b", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:B\r\nEND:VCARD\r\n"), sys); err != nil {
			t.Fatalf("system put: %v", err)
		}
		if err := db.DeleteCard(ctx, b.ID, "a.vcf", sys); err != nil {
			t.Fatalf("system delete: %v", err)
		}
		if err := db.SetAddressBookReadOnly(ctx, b.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteCard(ctx, b.ID, "b.vcf", Precondition{}); err != nil {
			t.Fatalf("delete once writable: %v", err)
		}
	})
}
