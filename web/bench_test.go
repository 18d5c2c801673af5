package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/crypto/bcrypt"
)

// benchUI is a handler over a state whose user alice has n cards, and
// alice's session cookie.
func benchUI(b *testing.B, n, pairCount int) (*Handler, *http.Cookie) {
	b.Helper()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{TokenKey: bytes.Repeat([]byte{1}, state.TokenKeySize)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err := db.AddUser(ctx, "alice", string(hash)); err != nil {
		b.Fatal(err)
	}
	book, _ := db.AddressBook(ctx, "alice", state.DefaultAddressBook)
	for i := range n {
		data := vcf(fmt.Sprintf("UID:u%d", i), fmt.Sprintf("FN:Given%d Family%d", i, i%997), fmt.Sprintf("N:Family%d;Given%d;;;", i%997, i),
			fmt.Sprintf("EMAIL;TYPE=work:person%d@example.com", i), fmt.Sprintf("TEL;TYPE=cell:+49 30 %07d", i*7), fmt.Sprintf("ORG:Company %d", i%50))
		if _, _, err := db.PutCard(ctx, book.ID, fmt.Sprintf("%05d.vcf", i), "", data, state.Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	cfg := &config.Config{State: db.Path(), Accounts: map[string]config.Account{}, Pairs: map[string]config.Pair{}}
	for i := range pairCount {
		name := fmt.Sprintf("p%02d", i)
		cfg.Pairs[name] = config.Pair{Name: name, Every: 15 * time.Minute,
			A: config.Side{Type: config.SideServer, User: "alice", Addressbook: state.DefaultAddressBook},
			B: config.Side{Type: config.SideVdir, Path: filepath.Join(b.TempDir(), name)}}
		for j := range 300 {
			if err := db.PutItem(ctx, &state.Item{Pair: name, UID: fmt.Sprint(j), AID: fmt.Sprint(j), BID: fmt.Sprint(j)}); err != nil {
				b.Fatal(err)
			}
		}
		run := &state.Run{Pair: name, Started: time.Now().Add(-time.Minute), Finished: time.Now(), OK: true,
			Summary: []byte(`{"a":{"created":3},"b":{"updated":1},"conflicts":0,"skipped":1,"errors":[]}`)}
		if err := db.AddRun(ctx, run); err != nil {
			b.Fatal(err)
		}
	}
	runner, err := pairs.New(pairs.Options{DB: db, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Options{DB: db, Config: cfg, Pairs: runner, BaseURL: "http://127.0.0.1:5232", FailedLoginDelay: -1})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:5232/ui/login", strings.NewReader(url.Values{"user": {"alice"}, "password": {"pw"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	cs := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cs) == 0 {
		b.Fatalf("sign in: %d %v", w.Code, cs)
	}
	return h, cs[0]
}

// BenchmarkContactsPage10k renders the contacts page of a 10,000-card
// book, server-side (session check, search, count, template), for a
// blank search, a name, an organisation and phone digits. The issue asks
// ≤ 50 ms per search.
func BenchmarkContactsPage10k(b *testing.B) {
	h, cookie := benchUI(b, 10_000, 0)
	for _, q := range []string{"", "given4242", "company 7", "30 0029"} {
		b.Run("q="+q, func(b *testing.B) {
			target := "http://127.0.0.1:5232/ui/books/contacts/?q=" + url.QueryEscape(q)
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, target, nil)
				r.AddCookie(cookie)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%d", w.Code)
				}
			}
		})
	}
}

// BenchmarkDashboard20Pairs renders the dashboard of a user with 20
// pairs (each with 300 items and a run), server-side. The issue asks
// ≤ 20 ms.
func BenchmarkDashboard20Pairs(b *testing.B) {
	h, cookie := benchUI(b, 300, 20)
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:5232/ui/", nil)
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || strings.Count(w.Body.String(), `class="pair"`) != 20 {
			b.Fatalf("%d, %d pairs", w.Code, strings.Count(w.Body.String(), `class="pair"`))
		}
	}
}
