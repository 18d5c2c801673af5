package server

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// replicaPreload is how many cards alice's book holds before the
// replica benchmarks measure.
const replicaPreload = 1000

// replicaBench opens n replicas (a handle and a handler each) over a new
// state on be, alice's book holding replicaPreload cards.
func replicaBench(b *testing.B, be pgtest.Backend, n int) []http.Handler {
	b.Helper()
	ctx := context.Background()
	loc := be.Location(b)
	var hs []http.Handler
	var first *state.DB
	for range n {
		db := statetest.Open(b, loc, state.Options{})
		if first == nil {
			first = db
			h, _ := bcrypt.GenerateFromPassword([]byte("alice-pw"), bcrypt.MinCost)
			if err := db.AddUser(ctx, "alice", string(h)); err != nil {
				b.Fatal(err)
			}
		}
		h, err := New(Options{Store: db, FailedLoginDelay: -1})
		if err != nil {
			b.Fatal(err)
		}
		// One sign-in first, as a client's first request: the guard counts
		// uncached passwords as guesses until checked, so that parallel
		// first requests would be throttled (authguard's design).
		if w := serve(h, "PROPFIND", "/addressbooks/alice/", "", map[string]string{"Depth": "0"}); w.Code != http.StatusMultiStatus {
			b.Fatalf("first request: %d %s", w.Code, w.Body.String())
		}
		hs = append(hs, h)
	}
	book, err := first.AddressBook(ctx, "alice", "contacts")
	if err != nil {
		b.Fatal(err)
	}
	for i := range replicaPreload {
		uid := fmt.Sprintf("bench-%06d", i)
		if _, _, err := first.PutCard(ctx, book.ID, uid+".vcf", uid, []byte(benchCard(uid, i)), state.Precondition{}); err != nil {
			b.Fatal(err)
		}
	}
	return hs
}

// replicaSetups are the set-ups BenchmarkReplica compares.
var replicaSetups = []struct {
	name     string
	backend  func() pgtest.Backend
	replicas int
}{
	{"sqlite/1", pgtest.SQLite, 1},
	{"postgres/1", pgtest.Postgres, 1},
	{"postgres/2", pgtest.Postgres, 2},
}

var syncTokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)

// BenchmarkReplica compares one SQLite server with one and two replicas
// over one PostgreSQL database (the handlers alone, no network), in a
// book of replicaPreload cards:
//
//   - put: new cards PUT by 4×GOMAXPROCS clients at once, spread
//     round-robin over the replicas (puts/s is the throughput);
//   - sync: a card written through one replica, then a sync-collection
//     from the previous token on the next replica (ns/op is the latency
//     of the sync-collection alone; each answer names exactly the card).
//
// go test -run '^$' -bench Replica -benchtime=2000x ./carddav/server/
func BenchmarkReplica(b *testing.B) {
	for _, s := range replicaSetups {
		b.Run(s.name+"/put", func(b *testing.B) {
			hs := replicaBench(b, s.backend(), s.replicas)
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					uid := fmt.Sprintf("new-%08d", i)
					w := serve(hs[int(i)%len(hs)], "PUT", "/addressbooks/alice/contacts/"+uid+".vcf", benchCard(uid, int(i)),
						map[string]string{"Content-Type": "text/vcard", "If-None-Match": "*"})
					if w.Code != http.StatusCreated {
						b.Errorf("PUT: %d %s", w.Code, w.Body.String())
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "puts/s")
		})
		b.Run(s.name+"/sync", func(b *testing.B) {
			hs := replicaBench(b, s.backend(), s.replicas)
			tok := ""
			// The first sync (the whole book) gives the token.
			w := serve(hs[0], "REPORT", "/addressbooks/alice/contacts/", syncBody("", ""), map[string]string{"Content-Type": "application/xml", "Depth": "1"})
			if m := syncTokenRE.FindStringSubmatch(w.Body.String()); w.Code == http.StatusMultiStatus && m != nil {
				tok = m[1]
			} else {
				b.Fatalf("first sync: %d %.300s", w.Code, w.Body.String())
			}
			i := 0
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				uid := fmt.Sprintf("bench-%06d", i%replicaPreload)
				if w := serve(hs[i%len(hs)], "PUT", "/addressbooks/alice/contacts/"+uid+".vcf", benchCard(uid, -i), map[string]string{"Content-Type": "text/vcard"}); w.Code != http.StatusNoContent {
					b.Fatalf("PUT: %d %s", w.Code, w.Body.String())
				}
				i++
				b.StartTimer()
				w := serve(hs[i%len(hs)], "REPORT", "/addressbooks/alice/contacts/", syncBody(tok, ""), map[string]string{"Content-Type": "application/xml", "Depth": "1"})
				b.StopTimer()
				m := syncTokenRE.FindStringSubmatch(w.Body.String())
				if w.Code != http.StatusMultiStatus || m == nil || strings.Count(w.Body.String(), "<D:response>") != 1 || !strings.Contains(w.Body.String(), uid+".vcf") {
					b.Fatalf("sync on replica %d from %s: %d\n%s", i%len(hs), tok, w.Code, w.Body.String())
				}
				tok = m[1]
				b.StartTimer()
			}
		})
	}
}
