package state

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// benchBackends runs bench once per backend (sub-benchmarks sqlite and
// postgres; postgres is skipped without TEST_POSTGRES_URL), each on a
// fresh state.
func benchBackends(b *testing.B, bench func(b *testing.B, db *DB)) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			db, _ := be.openTest(b)
			bench(b, db)
		})
	}
}

// BenchmarkCopy10k copies a SQLite state of 10,000 items with 1 KiB bases
// (and 1,000 of another pair) into an empty state of each backend, verified.
func BenchmarkCopy10k(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			srcPath := filepath.Join(b.TempDir(), "src.db")
			src := backends[0].openAt(b, srcPath, Options{})
			fill(b, src, "work", 10_000)
			fill(b, src, "other", 1_000)
			src.Close()
			src = backends[0].openAt(b, srcPath, Options{ReadOnly: true})
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				dst := be.openAt(b, be.location(b), Options{})
				b.StartTimer()
				if _, err := Copy(ctx, src, dst); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				dst.Close()
				b.StartTimer()
			}
		})
	}
}

// fill stores n items of pair with a 1 KiB base each, in one transaction.
func fill(b *testing.B, db *DB, pair string, n int) []int64 {
	b.Helper()
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	base := bytes.Repeat([]byte("x"), 1024)
	ids := make([]int64, 0, n)
	for i := range n {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO items (pair, uid, a_id, a_version, b_id, b_version, base_hash, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, pair, fmt.Sprintf("uid-%08d@example.com", i),
			fmt.Sprintf("AAMkAGI2TG93AAA%020d=", i), fmt.Sprintf("EQAAABYAAAA%012d", i),
			fmt.Sprintf("/dav/alice/contacts/%08d.vcf", i), fmt.Sprintf(`"%016x"`, i),
			fmt.Sprintf("%064x", i), int64(i)).Scan(&id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bases (item_id, card) VALUES (?, ?)`, id, base); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkItems10k loads the 10,000 items of a pair (without bases).
func BenchmarkItems10k(b *testing.B) { benchBackends(b, benchItems10k) }

func benchItems10k(b *testing.B, db *DB) {
	fill(b, db, "work", 10_000)
	fill(b, db, "other", 1_000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		items, err := db.Items(ctx, "work")
		if err != nil || len(items) != 10_000 {
			b.Fatal(len(items), err)
		}
	}
}

// BenchmarkBases10k loads the bases of 10,000 items.
func BenchmarkBases10k(b *testing.B) { benchBackends(b, benchBases10k) }

func benchBases10k(b *testing.B, db *DB) {
	ids := fill(b, db, "work", 10_000)
	ctx := context.Background()
	for b.Loop() {
		m, err := db.Bases(ctx, ids)
		if err != nil || len(m) != 10_000 {
			b.Fatal(len(m), err)
		}
	}
}

// BenchmarkPutItem is one committed update of an item with its new base: what
// a sync does after each applied write, in a state of 10,000 items.
func BenchmarkPutItem(b *testing.B) {
	base := bytes.Repeat([]byte("y"), 1024)
	benchPutItem(b, func(it *Item, i int) {
		it.AVersion, it.BVersion, it.BaseHash, it.Base = fmt.Sprint(i), fmt.Sprint(i), fmt.Sprintf("%064x", i), base
	})
}

// BenchmarkPutItemNewIDs is one committed update that changes an item's ids
// (the slower path, which rewrites index entries).
func BenchmarkPutItemNewIDs(b *testing.B) {
	benchPutItem(b, func(it *Item, i int) {
		it.AID, it.BID, it.AVersion = fmt.Sprint("a", i), fmt.Sprint("b", i), fmt.Sprint(i)
	})
}

// BenchmarkPutItemNoBase is one committed update of an item's versions only.
func BenchmarkPutItemNoBase(b *testing.B) {
	benchPutItem(b, func(it *Item, i int) {
		it.AVersion, it.BVersion = fmt.Sprint(i), fmt.Sprint(i)
	})
}

// benchPutItem times one committed PutItem per loop in a state of 10,000
// items, the i-th loop's item changed by edit first.
func benchPutItem(b *testing.B, edit func(it *Item, i int)) {
	benchBackends(b, func(b *testing.B, db *DB) { benchPutItemOn(b, db, edit) })
}

func benchPutItemOn(b *testing.B, db *DB, edit func(it *Item, i int)) {
	fill(b, db, "work", 10_000)
	ctx := context.Background()
	items, _ := db.Items(ctx, "work")
	i := 0
	for b.Loop() {
		it := items[i%len(items)]
		edit(&it, i)
		if err := db.PutItem(ctx, &it); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPutItemInsert is one committed insert of a new item with its base.
func BenchmarkPutItemInsert(b *testing.B) { benchBackends(b, benchPutItemInsert) }

func benchPutItemInsert(b *testing.B, db *DB) {
	ctx := context.Background()
	base := bytes.Repeat([]byte("z"), 1024)
	for b.Loop() {
		it := Item{Pair: "work", UID: "uid", AID: "a", AVersion: "1", BID: "b", BVersion: "v", BaseHash: "h", Base: base}
		if err := db.PutItem(ctx, &it); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate200Inserts is one committed group of 200 new items, each
// with a 1 KiB base: what a sync commits after each batch of writes.
func BenchmarkUpdate200Inserts(b *testing.B) { benchBackends(b, benchUpdate200Inserts) }

func benchUpdate200Inserts(b *testing.B, db *DB) {
	fill(b, db, "work", 10_000)
	ctx := context.Background()
	base := bytes.Repeat([]byte("z"), 1024)
	items := make([]Item, 200)
	n := 0
	for b.Loop() {
		err := db.Update(ctx, func(tx *Tx) error {
			for i := range items {
				n++
				items[i] = Item{Pair: "work", UID: fmt.Sprint("new-", n), AID: fmt.Sprint("a", n), AVersion: "1",
					BID: fmt.Sprint("b", n), BVersion: "v", BaseHash: "h", Base: base}
				if err := tx.PutItem(&items[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/item")
}

// BenchmarkPutCardBook10k is one committed If-Match update of a card in a
// book of 10,000 cards (what a client's PUT costs the state), on each
// backend.
func BenchmarkPutCardBook10k(b *testing.B) {
	benchBackends(b, func(b *testing.B, db *DB) { benchPutCardUpdate(b, db, 10_000) })
}

// benchPutCardUpdate fills a book of db with n cards and times committed
// If-Match updates of them, one card after another.
func benchPutCardUpdate(b *testing.B, db *DB, n int) {
	id := newBook(b, db).ID
	fillBook(b, db, id, n)
	ctx := context.Background()
	refs, err := db.CardRefs(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 1024)
	i := 0
	for b.Loop() {
		r := &refs[i%len(refs)]
		data[0] = byte(i)
		etag, _, err := db.PutCard(ctx, id, r.Href, r.UID, data, Precondition{IfMatch: r.ETag})
		if err != nil {
			b.Fatal(err)
		}
		r.ETag = etag
		i++
	}
}

// BenchmarkCardChangesBook10k asks for the 10 changes made since a token
// in a book of 10,000 cards (a client's sync-collection), on each backend.
func BenchmarkCardChangesBook10k(b *testing.B) {
	benchBackends(b, benchCardChanges)
}

// benchCardChanges fills a book of db with 10,000 cards, changes 10 of
// them and times asking for those 10 changes since the token before.
func benchCardChanges(b *testing.B, db *DB) {
	id := newBook(b, db).ID
	fillBook(b, db, id, 10_000)
	ctx := context.Background()
	_, _, since, err := db.CardChanges(ctx, id, 0)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		href := fmt.Sprintf("%08d.vcf", i*997)
		if _, _, err := db.PutCard(ctx, id, href, fmt.Sprintf("uid-%08d", i*997), []byte("changed"), Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		changed, deleted, _, err := db.CardChanges(ctx, id, since)
		if err != nil || len(changed) != 10 || len(deleted) != 0 {
			b.Fatal(len(changed), len(deleted), err)
		}
	}
}
