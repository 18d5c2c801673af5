package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"golang.org/x/crypto/bcrypt"
)

// benchBook makes a store with alice's "contacts" book holding n cards and
// returns the handler and the book.
func benchBook(b *testing.B, n int) (http.Handler, *state.DB, state.AddressBook) {
	b.Helper()
	ctx := context.Background()
	db := statetest.Open(b, filepath.Join(b.TempDir(), "state.db"), state.Options{})
	h, _ := bcrypt.GenerateFromPassword([]byte("alice-pw"), bcrypt.MinCost)
	if err := db.AddUser(ctx, "alice", string(h)); err != nil {
		b.Fatal(err)
	}
	book, err := db.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		uid := fmt.Sprintf("bench-%06d", i)
		if _, _, err := db.PutCard(ctx, book.ID, uid+".vcf", uid, []byte(benchCard(uid, i)), state.Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	handler, err := New(Options{Store: db, FailedLoginDelay: -1})
	if err != nil {
		b.Fatal(err)
	}
	return handler, db, book
}

func benchCard(uid string, i int) string {
	return fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:Bench Person %d\r\nN:Person %d;Bench;;;\r\nEMAIL:p%d@example.com\r\nTEL;TYPE=CELL:+48 600 %06d\r\nEND:VCARD\r\n", uid, i, i, i, i)
}

func serve(h http.Handler, method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.SetBasicAuth("alice", "alice-pw")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// BenchmarkSyncCollection10Changes answers an incremental sync-collection
// REPORT for 10 changes in a 10,000-card book (the handler alone, no
// network).
func BenchmarkSyncCollection10Changes(b *testing.B) {
	h, db, book := benchBook(b, 10_000)
	tok := state.FormatSyncToken(book.ID, book.SyncSeq)
	if cur, err := db.AddressBook(context.Background(), "alice", "contacts"); err == nil {
		tok = state.FormatSyncToken(book.ID, cur.SyncSeq)
	}
	for i := range 10 {
		uid := fmt.Sprintf("bench-%06d", i*997)
		if _, _, err := db.PutCard(context.Background(), book.ID, uid+".vcf", uid, []byte(benchCard(uid, -i)), state.Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	body := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	w := serve(h, "REPORT", "/addressbooks/alice/contacts/", body, map[string]string{"Content-Type": "application/xml", "Depth": "1"})
	if w.Code != http.StatusMultiStatus || strings.Count(w.Body.String(), "<D:response>") != 10 {
		b.Fatalf("REPORT: %d %d responses\n%s", w.Code, strings.Count(w.Body.String(), "<D:response>"), w.Body.String())
	}
	b.ResetTimer()
	for b.Loop() {
		serve(h, "REPORT", "/addressbooks/alice/contacts/", body, map[string]string{"Content-Type": "application/xml", "Depth": "1"})
	}
}

// benchmarkPut PUTs new cards into a book that already holds n.
func benchmarkPut(b *testing.B, n int) {
	h, _, _ := benchBook(b, n)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		uid := fmt.Sprintf("new-%08d", i)
		i++
		w := serve(h, "PUT", "/addressbooks/alice/contacts/"+uid+".vcf", benchCard(uid, i), map[string]string{"Content-Type": "text/vcard", "If-None-Match": "*"})
		if w.Code != http.StatusCreated {
			b.Fatalf("PUT: %d %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkPutInto100 and BenchmarkPutInto10k show that a PUT costs the
// same whatever the book's size.
func BenchmarkPutInto100(b *testing.B) { benchmarkPut(b, 100) }

// BenchmarkPutInto10k: see BenchmarkPutInto100.
func BenchmarkPutInto10k(b *testing.B) { benchmarkPut(b, 10_000) }
