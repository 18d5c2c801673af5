package state

import (
	"context"
	"errors"
	"testing"
)

// PutCards writes a batch in one transaction, each put checked as PutCard
// checks it: those failing their checks get their error and write nothing,
// the rest are written with their change and index row.
func TestPutCards(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		id := newBook(t, db).ID
		e1, _, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nUID:uid-a\r\nEND:VCARD\r\n"), Precondition{IfNoneMatch: true})
		if err != nil {
			t.Fatal(err)
		}
		seq0 := bookSeq(t, db, id)
		puts := []CardPut{
			{Href: "b.vcf", UID: "uid-b", Data: []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Batch\r\nUID:uid-b\r\nEND:VCARD\r\n"), Pre: Precondition{IfNoneMatch: true}},
			{Href: "a.vcf", UID: "uid-a", Data: []byte("A2"), Pre: Precondition{IfNoneMatch: true}}, // exists
			{Href: "c.vcf", UID: "uid-b", Data: []byte("C"), Pre: Precondition{IfNoneMatch: true}},  // b's UID, written just before in the batch
			{Href: "a.vcf", UID: "uid-a", Data: []byte("A3"), Pre: Precondition{IfMatch: "stale"}},  // stale etag
			{Href: "a.vcf", UID: "uid-a", Data: []byte("A4"), Pre: Precondition{IfMatch: e1}},
			{Href: "", Data: []byte("X")},
		}
		res, err := db.PutCards(ctx, id, puts)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != len(puts) {
			t.Fatalf("%d results for %d puts", len(res), len(puts))
		}
		if r := res[0]; r.Err != nil || !r.Created || r.ETag == "" {
			t.Errorf("new card: %+v", r)
		}
		if r := res[1]; !errors.Is(r.Err, ErrPreconditionFailed) {
			t.Errorf("create-only on an existing card: %+v", r)
		}
		if r := res[2]; !errors.Is(r.Err, ErrUIDConflict) {
			t.Errorf("UID held by a card of the same batch: %+v", r)
		}
		if r := res[3]; !errors.Is(r.Err, ErrPreconditionFailed) {
			t.Errorf("stale If-Match: %+v", r)
		}
		if r := res[4]; r.Err != nil || r.Created || r.ETag == "" || r.ETag == e1 {
			t.Errorf("update: %+v", r)
		}
		if r := res[5]; r.Err == nil {
			t.Errorf("empty href: %+v", r)
		}
		cards, err := db.GetCards(ctx, id, []string{"a.vcf", "b.vcf", "c.vcf"})
		if err != nil {
			t.Fatal(err)
		}
		if len(cards) != 2 || string(cards["a.vcf"].Data) != "A4" || cards["a.vcf"].ETag != res[4].ETag || cards["b.vcf"].ETag != res[0].ETag {
			t.Errorf("stored cards: %+v", cards)
		}
		if got := bookSeq(t, db, id); got != seq0+2 {
			t.Errorf("sync seq %d after the batch, want %d (two writes)", got, seq0+2)
		}
		changed, _, _, err := db.CardChanges(ctx, id, seq0)
		if err != nil || len(changed) != 2 {
			t.Errorf("changes since the batch: %v, %v; want a.vcf and b.vcf", changed, err)
		}
		if n := countRows(t, db, "card_index"); n != 2 {
			t.Errorf("%d index rows, want 2", n)
		}
		// A book that does not exist: every put fails on its own.
		res, err = db.PutCards(ctx, id+1000, puts[:1])
		if err != nil || !errors.Is(res[0].Err, ErrNotFound) {
			t.Errorf("missing book: %+v, %v", res, err)
		}
	})
}

// bookSeq is the book's change number.
func bookSeq(t *testing.T, db *DB, id int64) int64 {
	t.Helper()
	var seq int64
	if err := db.sql.QueryRow(`SELECT sync_seq FROM addressbooks WHERE id = ?`, id).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}
