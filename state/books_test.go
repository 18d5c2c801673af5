package state

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// newBook adds user alice and returns her "contacts" book.
func newBook(t testing.TB, db *DB) AddressBook {
	t.Helper()
	ctx := context.Background()
	if err := db.AddUser(ctx, "alice", "hash-1"); err != nil {
		t.Fatal(err)
	}
	b, err := db.AddressBook(ctx, "alice", DefaultAddressBook)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestServerUsers(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)

		if err := db.AddUser(ctx, "alice", "hash-1"); err != nil {
			t.Fatal(err)
		}
		if err := db.AddUser(ctx, "alice", "hash-2"); !errors.Is(err, ErrExists) {
			t.Fatalf("second AddUser: %v, want ErrExists", err)
		}
		for _, bad := range []string{"", "a/b", "..", "a:b"} {
			if err := db.AddUser(ctx, bad, "h"); err == nil {
				t.Errorf("AddUser(%q) accepted", bad)
			}
		}
		if err := db.AddUser(ctx, "bob", "hash-b"); err != nil {
			t.Fatal(err)
		}
		if h, err := db.UserPasswordHash(ctx, "alice"); err != nil || h != "hash-1" {
			t.Fatalf("UserPasswordHash = %q, %v", h, err)
		}
		if err := db.SetUserPassword(ctx, "alice", "hash-3"); err != nil {
			t.Fatal(err)
		}
		if h, _ := db.UserPasswordHash(ctx, "alice"); h != "hash-3" {
			t.Fatalf("after SetUserPassword: %q", h)
		}
		if err := db.SetUserPassword(ctx, "nobody", "h"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetUserPassword of nobody: %v", err)
		}
		for _, name := range []string{"nobody", "al\x00ice", "al\xffice"} {
			if _, err := db.UserPasswordHash(ctx, name); !errors.Is(err, ErrNotFound) {
				t.Errorf("UserPasswordHash of %q: %v", name, err)
			}
		}
		users, err := db.Users(ctx)
		if err != nil || len(users) != 2 || users[0].Name != "alice" || users[1].Name != "bob" || users[0].Created.IsZero() {
			t.Fatalf("Users = %+v, %v", users, err)
		}

		// A new user has one book, "contacts".
		books, err := db.AddressBooks(ctx, "alice")
		if err != nil || len(books) != 1 || books[0].Name != "contacts" || books[0].User != "alice" || books[0].SyncSeq != 0 {
			t.Fatalf("AddressBooks = %+v, %v", books, err)
		}

		// Remove cascades to books, cards and the change log, and to nobody else's.
		work, err := db.CreateAddressBook(ctx, "alice", "work", "Work", "")
		if err != nil {
			t.Fatal(err)
		}
		bobBook, _ := db.AddressBook(ctx, "bob", "contacts")
		for _, id := range []int64{books[0].ID, work.ID, bobBook.ID} {
			if _, _, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("A"), Precondition{}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.PutCard(ctx, id, "b.vcf", "uid-b", []byte("B"), Precondition{}); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteCard(ctx, id, "b.vcf", Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.RemoveUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
			t.Errorf("second RemoveUser: %v", err)
		}
		if n := countRows(t, db, "addressbooks"); n != 1 {
			t.Errorf("%d address books left, want bob's", n)
		}
		if n := countRows(t, db, "cards"); n != 1 {
			t.Errorf("%d cards left, want bob's", n)
		}
		if n := countRows(t, db, "card_changes"); n != 2 {
			t.Errorf("%d changes left, want bob's 2", n)
		}
		if users, _ := db.Users(ctx); len(users) != 1 || users[0].Name != "bob" {
			t.Errorf("Users after remove = %+v", users)
		}
		// The name can be taken again, with a fresh book.
		if err := db.AddUser(ctx, "alice", "h"); err != nil {
			t.Fatal(err)
		}
		if b, err := db.AddressBook(ctx, "alice", "contacts"); err != nil || b.ID == books[0].ID || b.SyncSeq != 0 {
			t.Errorf("re-added alice's book = %+v, %v", b, err)
		}
	})
}

func TestAddressBooks(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		newBook(t, db)

		b, err := db.CreateAddressBook(ctx, "alice", "work", "Work", "colleagues")
		if err != nil {
			t.Fatal(err)
		}
		if b.ID == 0 || b.User != "alice" || b.Name != "work" || b.DisplayName != "Work" || b.Description != "colleagues" || b.Created.IsZero() {
			t.Fatalf("CreateAddressBook = %+v", b)
		}
		if _, err := db.CreateAddressBook(ctx, "alice", "work", "", ""); !errors.Is(err, ErrExists) {
			t.Errorf("second CreateAddressBook: %v, want ErrExists", err)
		}
		if _, err := db.CreateAddressBook(ctx, "nobody", "work", "", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("CreateAddressBook of nobody: %v, want ErrNotFound", err)
		}
		if _, err := db.CreateAddressBook(ctx, "alice", "a/b", "", ""); err == nil {
			t.Error("CreateAddressBook accepted a/b")
		}
		if err := db.UpdateAddressBook(ctx, b.ID, "Job", "d"); err != nil {
			t.Fatal(err)
		}
		got, err := db.AddressBook(ctx, "alice", "work")
		if err != nil {
			t.Fatal(err)
		}
		b.DisplayName, b.Description = "Job", "d"
		if !reflect.DeepEqual(got, b) {
			t.Errorf("AddressBook = %+v, want %+v", got, b)
		}
		if books, _ := db.AddressBooks(ctx, "alice"); len(books) != 2 || books[0].Name != "contacts" || books[1].Name != "work" {
			t.Errorf("AddressBooks = %+v", books)
		}
		if books, err := db.AddressBooks(ctx, "nobody"); len(books) != 0 || err != nil {
			t.Errorf("AddressBooks of nobody = %+v, %v", books, err)
		}
		if _, _, err := db.PutCard(ctx, b.ID, "x.vcf", "x", []byte("X"), Precondition{}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAddressBook(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAddressBook(ctx, b.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteAddressBook: %v", err)
		}
		if err := db.UpdateAddressBook(ctx, b.ID, "", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateAddressBook of a deleted book: %v", err)
		}
		if _, err := db.AddressBook(ctx, "alice", "work"); !errors.Is(err, ErrNotFound) {
			t.Errorf("AddressBook after delete: %v", err)
		}
		if n := countRows(t, db, "cards"); n != 0 {
			t.Errorf("%d cards left after DeleteAddressBook", n)
		}
		if _, _, err := db.PutCard(ctx, b.ID, "x.vcf", "x", []byte("X"), Precondition{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("PutCard into a deleted book: %v", err)
		}
		if _, _, _, err := db.CardChanges(ctx, b.ID, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("CardChanges of a deleted book: %v", err)
		}
	})
}

func TestCardsAndPreconditions(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		book := newBook(t, db)
		id := book.ID

		e1, created, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("A1"), Precondition{IfNoneMatch: true})
		if err != nil || !created || e1 == "" {
			t.Fatalf("PutCard = %q, %v, %v", e1, created, err)
		}
		// Create-only on an existing card.
		if _, _, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("A2"), Precondition{IfNoneMatch: true}); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("IfNoneMatch on an existing card: %v", err)
		}
		// If-Match with a stale etag, and on a missing card.
		if _, _, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("A2"), Precondition{IfMatch: "stale"}); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("stale IfMatch: %v", err)
		}
		if _, _, err := db.PutCard(ctx, id, "b.vcf", "uid-b", []byte("B"), Precondition{IfMatch: "*"}); !errors.Is(err, ErrPreconditionFailed) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("IfMatch * on a missing card: %v", err)
		}
		// The same data written again still gets a new etag.
		e2, created, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("A1"), Precondition{IfMatch: e1})
		if err != nil || created || e2 == e1 {
			t.Fatalf("update = %q, %v, %v (first etag %q)", e2, created, err, e1)
		}
		e3, _, err := db.PutCard(ctx, id, "a.vcf", "uid-a", []byte("A3"), Precondition{IfMatch: "*"})
		if err != nil {
			t.Fatal(err)
		}
		// UID unique per book: another href with the same UID is refused, naming the holder.
		_, _, err = db.PutCard(ctx, id, "other.vcf", "uid-a", []byte("dup"), Precondition{})
		var ue *UIDConflictError
		if !errors.Is(err, ErrUIDConflict) || !errors.As(err, &ue) || ue.Href != "a.vcf" {
			t.Fatalf("duplicate UID: %v", err)
		}
		// ...but another book may hold it, and cards without UID are not constrained.
		work, _ := db.CreateAddressBook(ctx, "alice", "work", "", "")
		if _, _, err := db.PutCard(ctx, work.ID, "other.vcf", "uid-a", []byte("dup"), Precondition{}); err != nil {
			t.Fatalf("same UID in another book: %v", err)
		}
		for _, h := range []string{"n1.vcf", "n2.vcf"} {
			if _, _, err := db.PutCard(ctx, id, h, "", []byte("no uid"), Precondition{}); err != nil {
				t.Fatalf("card without UID: %v", err)
			}
		}
		// A card may change its own UID, freeing the old one.
		if _, _, err := db.PutCard(ctx, id, "a.vcf", "uid-a2", []byte("A4"), Precondition{IfMatch: e3}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.PutCard(ctx, id, "other.vcf", "uid-a", []byte("ok"), Precondition{}); err != nil {
			t.Fatalf("UID freed by a change: %v", err)
		}

		cards, err := db.Cards(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var hrefs []string
		for _, c := range cards {
			hrefs = append(hrefs, c.Href)
		}
		if !reflect.DeepEqual(hrefs, []string{"a.vcf", "n1.vcf", "n2.vcf", "other.vcf"}) {
			t.Fatalf("Cards hrefs = %v", hrefs)
		}
		a := cards[0]
		if a.UID != "uid-a2" || string(a.Data) != "A4" || a.BookID != id || a.Modified.IsZero() || a.Seq == 0 {
			t.Errorf("card a = %+v", a)
		}
		refs, err := db.CardRefs(ctx, id)
		if err != nil || len(refs) != 4 || refs[0].Data != nil || refs[0].ETag != a.ETag || refs[0].Seq != a.Seq {
			t.Errorf("CardRefs = %+v, %v", refs, err)
		}
		got, err := db.GetCards(ctx, id, []string{"a.vcf", "missing.vcf", "n2.vcf"})
		if err != nil || len(got) != 2 || string(got["a.vcf"].Data) != "A4" || got["n2.vcf"].Href != "n2.vcf" {
			t.Errorf("GetCards = %+v, %v", got, err)
		}
		if b, _ := db.AddressBook(ctx, "alice", "contacts"); b.SyncSeq != a.Seq+1 {
			t.Errorf("book seq %d, card a seq %d, other.vcf written after", b.SyncSeq, a.Seq)
		}

		// Delete with preconditions.
		if err := db.DeleteCard(ctx, id, "a.vcf", Precondition{IfMatch: e1}); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("delete with a stale etag: %v", err)
		}
		if err := db.DeleteCard(ctx, id, "a.vcf", Precondition{IfMatch: a.ETag}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteCard(ctx, id, "a.vcf", Precondition{}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if got, _ := db.GetCards(ctx, id, []string{"a.vcf"}); len(got) != 0 {
			t.Errorf("GetCards after delete = %+v", got)
		}
	})
}

func TestCardChanges(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		id := newBook(t, db).ID
		put := func(href, data string) {
			t.Helper()
			if _, _, err := db.PutCard(ctx, id, href, "uid-"+href, []byte(data), Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		del := func(href string) {
			t.Helper()
			if err := db.DeleteCard(ctx, id, href, Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		changes := func(since int64) (changed, deleted []string, seq int64) {
			t.Helper()
			changed, deleted, seq, err := db.CardChanges(ctx, id, since)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(changed)
			slices.Sort(deleted)
			return changed, deleted, seq
		}

		if c, d, s := changes(0); len(c)+len(d) != 0 || s != 0 {
			t.Fatalf("empty book: %v %v %d", c, d, s)
		}
		put("a", "1")
		put("b", "1")
		put("c", "1")
		c, d, t1 := changes(0)
		if !reflect.DeepEqual(c, []string{"a", "b", "c"}) || len(d) != 0 || t1 != 3 {
			t.Fatalf("after 3 creates: %v %v %d", c, d, t1)
		}
		if c, d, s := changes(t1); len(c)+len(d) != 0 || s != t1 {
			t.Fatalf("nothing since: %v %v %d", c, d, s)
		}

		// Update, delete, create; a card changed many times is listed once; a
		// card created and deleted since the token is reported deleted.
		put("a", "2")
		put("a", "3")
		put("a", "4")
		del("b")
		put("d", "1")
		put("e", "1")
		del("e")
		c, d, t2 := changes(t1)
		if !reflect.DeepEqual(c, []string{"a", "d"}) || !reflect.DeepEqual(d, []string{"b", "e"}) || t2 != t1+7 {
			t.Fatalf("incremental: changed %v deleted %v seq %d", c, d, t2)
		}
		// A deleted card re-created is changed, not deleted.
		put("b", "again")
		if c, d, _ := changes(t2); !reflect.DeepEqual(c, []string{"b"}) || len(d) != 0 {
			t.Fatalf("re-created: changed %v deleted %v", c, d)
		}
		// The log keeps one row per href.
		if n := countRows(t, db, "card_changes"); n != 5 {
			t.Errorf("%d change rows for 5 hrefs", n)
		}

		// Tokens the book cannot answer.
		_, _, now, _ := db.CardChanges(ctx, id, 0)
		for _, since := range []int64{-1, now + 1} {
			if _, _, _, err := db.CardChanges(ctx, id, since); !errors.Is(err, ErrInvalidSyncToken) {
				t.Errorf("CardChanges since %d: %v, want ErrInvalidSyncToken", since, err)
			}
		}
		if _, err := db.sql.Exec(`UPDATE addressbooks SET min_seq = 5 WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := db.CardChanges(ctx, id, 4); !errors.Is(err, ErrInvalidSyncToken) {
			t.Errorf("CardChanges below min_seq: %v, want ErrInvalidSyncToken", err)
		}
		if _, _, _, err := db.CardChanges(ctx, id, 5); err != nil {
			t.Errorf("CardChanges at min_seq: %v", err)
		}
	})
}

func TestSyncToken(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		tok := FormatSyncToken(12, 345)
		if tok != "cb-sync-12-345" {
			t.Errorf("FormatSyncToken = %q", tok)
		}
		if b, s, err := ParseSyncToken(tok); b != 12 || s != 345 || err != nil {
			t.Errorf("ParseSyncToken = %d, %d, %v", b, s, err)
		}
		if b, s, err := ParseSyncToken(FormatSyncToken(1, 0)); b != 1 || s != 0 || err != nil {
			t.Errorf("ParseSyncToken(seq 0) = %d, %d, %v", b, s, err)
		}
		for _, bad := range []string{"", "garbage", "cb-sync-", "cb-sync-1", "cb-sync-1-", "cb-sync--1-2", "cb-sync-0-1",
			"cb-sync-1--2", "cb-sync-01-2", "cb-sync-1-+2", "cb-sync-1-2-3", "cb-sync-1-2 ", "x-cb-sync-1-2"} {
			if _, _, err := ParseSyncToken(bad); !errors.Is(err, ErrInvalidSyncToken) {
				t.Errorf("ParseSyncToken(%q): %v, want ErrInvalidSyncToken", bad, err)
			}
		}
	})
}

// fillBook stores n cards of about 1 KiB in book id, with their change log,
// in one transaction, as n PutCards would.
func fillBook(b *testing.B, db *DB, id int64, n int) {
	b.Helper()
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1024)
	t := time.Now().UnixNano()
	for i := range n {
		seq := int64(i + 1)
		href := fmt.Sprintf("%08d.vcf", i)
		if _, err := tx.ExecContext(ctx, `INSERT INTO cards (book_id, href, uid, etag, data, version_seq, modified_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, id, href, fmt.Sprintf("uid-%08d", i), makeETag(data, seq), data, seq, t); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_changes (book_id, seq, href) VALUES (?, ?, ?)`, id, seq, href); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE addressbooks SET sync_seq = ? WHERE id = ?`, n, id); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPutCard is one committed PutCard (an If-Match update of an
// existing card, or a create-only new card) in a book of 100 and of 10,000
// cards: the cost must not grow with the book.
func BenchmarkPutCard(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("update/book=%d", n), func(b *testing.B) {
			db, _ := openTest(b)
			benchPutCardUpdate(b, db, n)
		})
		b.Run(fmt.Sprintf("create/book=%d", n), func(b *testing.B) {
			db, _ := openTest(b)
			id := newBook(b, db).ID
			fillBook(b, db, id, n)
			ctx := context.Background()
			data := make([]byte, 1024)
			i := 0
			for b.Loop() {
				if _, _, err := db.PutCard(ctx, id, fmt.Sprintf("new-%d.vcf", i), fmt.Sprintf("new-%d", i), data,
					Precondition{IfNoneMatch: true}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkCardChanges asks for the 10 changes made since a token in a book
// of 10,000 cards (SQLite; BenchmarkCardChangesBook10k runs it on each
// backend).
func BenchmarkCardChanges(b *testing.B) {
	db, _ := openTest(b)
	benchCardChanges(b, db)
}

// TestCardChangesCompaction: however many cards come and go, the change log
// keeps at most about max(MinTombstones, live cards) deletion records; old
// tokens are then refused (the client lists the book again), recent ones
// still answer with the deletions they need, and the live cards are all
// still reported.
func TestCardChangesCompaction(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		id := newBook(t, db).ID
		for i := range 10 {
			if _, _, err := db.PutCard(ctx, id, fmt.Sprintf("live%d", i), "", []byte("x"), Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		_, _, early, err := db.CardChanges(ctx, id, 0)
		if err != nil {
			t.Fatal(err)
		}
		const churn = 3 * MinTombstones
		var recent int64
		maxTombs := 0
		for i := range churn {
			h := fmt.Sprintf("gone%d", i)
			if _, _, err := db.PutCard(ctx, id, h, "", []byte("y"), Precondition{}); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteCard(ctx, id, h, Precondition{}); err != nil {
				t.Fatal(err)
			}
			if i == churn-20 {
				if err := db.sql.QueryRow(`SELECT sync_seq FROM addressbooks WHERE id = ?`, id).Scan(&recent); err != nil {
					t.Fatal(err)
				}
			}
			if i%100 == 0 {
				var n int
				db.sql.QueryRow(`SELECT COUNT(*) FROM card_changes WHERE deleted`).Scan(&n)
				maxTombs = max(maxTombs, n)
			}
		}
		var tombs int
		db.sql.QueryRow(`SELECT COUNT(*) FROM card_changes WHERE deleted`).Scan(&tombs)
		maxTombs = max(maxTombs, tombs)
		if maxTombs > MinTombstones+compactEvery {
			t.Errorf("up to %d deletion records kept after %d deletions, want <= %d", maxTombs, churn, MinTombstones+compactEvery)
		}
		if maxTombs < MinTombstones/2 {
			t.Errorf("only %d deletion records kept: compaction drops too much", maxTombs)
		}
		if _, _, _, err := db.CardChanges(ctx, id, early); !errors.Is(err, ErrInvalidSyncToken) {
			t.Errorf("a token from before the dropped deletions: %v, want ErrInvalidSyncToken", err)
		}
		c, d, _, err := db.CardChanges(ctx, id, recent)
		if err != nil {
			t.Fatalf("a recent token: %v", err)
		}
		if len(c) != 0 || len(d) != 19 {
			t.Errorf("since the recent token: %d changed, %d deleted, want 0 and 19", len(c), len(d))
		}
		refs, err := db.CardRefs(ctx, id)
		if err != nil || len(refs) != 10 {
			t.Fatalf("live cards: %d, %v", len(refs), err)
		}
		// A book whose tombstones stay under the limit is left alone.
		if n, err := db.CompactCardChanges(ctx, id); err != nil || n != 0 {
			t.Errorf("second compaction dropped %d, %v", n, err)
		}
	})
}

// TestEachCard: EachCard and EachCardOf visit what Cards and GetCards
// return, over several batches (rows and bytes), in order, with or
// without data; an error of fn or the end of ctx stops them; and fn may
// write to the database, so no query stays open across calls of fn (the
// store has one connection: a cursor held across fn would deadlock).
func TestEachCard(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		id := newBook(t, db).ID
		n := 2*cardBatchRows + 7
		big := make([]byte, cardBatchBytes/3)
		for i := range big {
			big[i] = 'x'
		}
		for i := range n {
			data := []byte(fmt.Sprintf("card %d", i))
			if i%50 == 0 {
				data = append(data, big...) // a few groups of data per page
			}
			if _, _, err := db.PutCard(ctx, id, fmt.Sprintf("c%04d.vcf", i), "", data, Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		want, err := db.Cards(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, withData := range []bool{true, false} {
			var got []Card
			err := db.EachCard(ctx, id, withData, func(c Card) error {
				if withData != (c.Data != nil) {
					t.Fatalf("withData %v: card %s has data %v", withData, c.Href, c.Data != nil)
				}
				got = append(got, c)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("withData %v: %d cards, want %d", withData, len(got), len(want))
			}
			for i := range want {
				w := want[i]
				if !withData {
					w.Data = nil
				}
				if !reflect.DeepEqual(got[i], w) {
					t.Fatalf("withData %v: card %d = %+v, want %+v", withData, i, got[i].Href, w.Href)
				}
			}
		}

		// EachCardOf: the order asked, duplicates and missing cards included.
		ask := []string{"c0100.vcf", "missing.vcf", "c0000.vcf", "c0100.vcf"}
		for i := n - 1; i >= 0; i -= 3 {
			ask = append(ask, fmt.Sprintf("c%04d.vcf", i))
		}
		byHref, err := db.GetCards(ctx, id, ask)
		if err != nil {
			t.Fatal(err)
		}
		var visited []string
		err = db.EachCardOf(ctx, id, ask, true, func(href string, c Card, found bool) error {
			visited = append(visited, href)
			w, ok := byHref[href]
			if found != ok || (found && !reflect.DeepEqual(c, w)) {
				t.Fatalf("%s: found %v, want %v", href, found, ok)
			}
			return nil
		})
		if err != nil || !slices.Equal(visited, ask) {
			t.Fatalf("EachCardOf visited %v (%v), want %v", visited, err, ask)
		}

		// fn's error stops the walk and comes back as it is; so does ctx's.
		stop := errors.New("stop")
		calls := 0
		if err := db.EachCard(ctx, id, true, func(Card) error { calls++; return stop }); err != stop || calls != 1 {
			t.Errorf("EachCard with a failing fn: %v after %d calls", err, calls)
		}
		calls = 0
		if err := db.EachCardOf(ctx, id, ask, false, func(string, Card, bool) error { calls++; return stop }); err != stop || calls != 1 {
			t.Errorf("EachCardOf with a failing fn: %v after %d calls", err, calls)
		}
		cctx, cancel := context.WithCancel(ctx)
		calls = 0
		err = db.EachCard(cctx, id, true, func(Card) error {
			calls++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls >= n {
			t.Errorf("EachCard after cancel: %v after %d calls", err, calls)
		}

		// A write from fn goes through (watchdog: a held cursor deadlocks).
		done := make(chan error, 1)
		go func() {
			done <- db.EachCard(ctx, id, false, func(c Card) error {
				if c.Href == "c0300.vcf" {
					_, _, err := db.PutCard(ctx, id, "zz-written-during-walk.vcf", "", []byte("w"), Precondition{})
					return err
				}
				return nil
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("a write during EachCard: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("a write during EachCard did not go through: the walk holds the database")
		}
	})
}
