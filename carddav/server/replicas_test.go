package server

import (
	"context"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// The tests of this file run several replicas over one state: each a
// handle of its own (*state.DB) and a server of its own (New), as several
// `cardbridge serve` processes sharing one PostgreSQL database (or one
// SQLite file). Whatever a client asks, any replica must answer as the
// one it asked before would have: the database is the only truth.

// newReplicas starts n replicas over a new state on be (users alice and
// bob, added through the first).
func newReplicas(t *testing.T, be pgtest.Backend, n int) []*testServer {
	t.Helper()
	loc := be.Location(t)
	reps := []*testServer{newReplica(t, loc, true, nil)}
	for range n - 1 {
		reps = append(reps, newReplica(t, loc, false, nil))
	}
	return reps
}

// send is one request as alice to a replica; safe from any goroutine (it
// reports errors instead of failing the test).
func send(ts *testServer, method, path string, hdr map[string]string, body string) (int, http.Header, string, error) {
	return sendAs(ts, "alice", "alice-pw", method, path, hdr, body)
}

// sendAs is send as user with password pass.
func sendAs(ts *testServer, user, pass, method, path string, hdr map[string]string, body string) (int, http.Header, string, error) {
	req, err := http.NewRequest(method, ts.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	req.SetBasicAuth(user, pass)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

// syncAnswer is a sync-collection answer: the cards changed with their
// ETags, the cards deleted and the new token.
type syncAnswer struct {
	changed map[string]string
	deleted []string
	token   string
}

// etagRE finds a getetag in a propstat's inner XML (escaped: unescape
// the match).
var etagRE = regexp.MustCompile(`getetag>([^<]*)<`)

// syncFrom asks ts for the changes of alice's book since token.
func syncFrom(t *testing.T, ts *testServer, token string) syncAnswer {
	t.Helper()
	_, b := ts.expect("REPORT", aliceBook, "alice", map[string]string{"Depth": "1"}, syncBody(token, ""), http.StatusMultiStatus)
	d := parseMS(t, b)
	a := syncAnswer{changed: map[string]string{}, token: d.SyncToken}
	for _, r := range d.Responses {
		if strings.Contains(r.Status, "404") {
			a.deleted = append(a.deleted, r.Href)
			continue
		}
		m := etagRE.FindStringSubmatch(r.ok())
		if m == nil {
			t.Fatalf("no ETag for %s in %s", r.Href, b)
		}
		a.changed[r.Href] = html.UnescapeString(m[1])
	}
	slices.Sort(a.deleted)
	return a
}

// bookProps is what a PROPFIND of alice's book (Depth 1) says of it: its
// getctag and sync token, and each card's ETag.
func bookProps(t *testing.T, ts *testServer) (ctag, token string, etags map[string]string) {
	t.Helper()
	body := `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:getetag/><CS:getctag/><D:sync-token/></D:prop></D:propfind>`
	_, b := ts.expect("PROPFIND", aliceBook, "alice", map[string]string{"Depth": "1"}, body, http.StatusMultiStatus)
	etags = map[string]string{}
	for _, r := range parseMS(t, b).Responses {
		in := r.ok()
		if r.Href == aliceBook {
			if m := regexp.MustCompile(`getctag[^>]*>([^<]*)<`).FindStringSubmatch(in); m != nil {
				ctag = html.UnescapeString(m[1])
			}
			if m := regexp.MustCompile(`sync-token>([^<]*)<`).FindStringSubmatch(in); m != nil {
				token = m[1]
			}
			continue
		}
		if m := etagRE.FindStringSubmatch(in); m != nil {
			etags[r.Href] = html.UnescapeString(m[1])
		}
	}
	if ctag == "" || token == "" {
		t.Fatalf("no getctag or sync-token in %s", b)
	}
	return ctag, token, etags
}

// etagOf reads the ETag of card href through ts.
func etagOf(t *testing.T, ts *testServer, href string) string {
	t.Helper()
	resp, _ := ts.expect("GET", aliceBook+href, "alice", nil, "", http.StatusOK)
	return resp.Header.Get("ETag")
}

// sameBook fails unless every replica says the same of alice's book
// (getctag, sync token, the cards and their ETags) and returns it.
func sameBook(t *testing.T, reps []*testServer) (string, map[string]string) {
	t.Helper()
	ctag, token, etags := bookProps(t, reps[0])
	for i, r := range reps[1:] {
		c, tok, e := bookProps(t, r)
		if c != ctag || tok != token || !maps.Equal(e, etags) {
			t.Fatalf("replica %d says getctag %q, token %q, etags %v; replica 0: %q, %q, %v", i+1, c, tok, e, ctag, token, etags)
		}
	}
	return ctag, etags
}

// TestReplicasShareSyncTokens: a sync token handed out by one replica is
// valid on the others, and their sync-collection from it lists exactly
// the writes made after it (on any replica), with the ETags the writer
// gave; getctag, sync-token and getetag agree across replicas.
func TestReplicasShareSyncTokens(t *testing.T) { pgtest.ForBackends(t, testReplicasShareSyncTokens) }

func testReplicasShareSyncTokens(t *testing.T, be pgtest.Backend) {
	reps := newReplicas(t, be, 3)
	a, b, c := reps[0], reps[1], reps[2]
	for _, u := range []string{"c1", "c2", "c3", "c4"} {
		a.putCard("alice", u+".vcf", vcard3(u, "N "+u))
	}
	ctag0, _ := sameBook(t, reps)
	first := syncFrom(t, a, "")
	if len(first.changed) != 4 {
		t.Fatalf("initial sync on A: %+v", first)
	}

	// Later writes on A only: B and C list exactly them from A's token.
	a.expect("PUT", aliceBook+"c2.vcf", "alice", nil, vcard3("c2", "Changed"), http.StatusNoContent)
	a.expect("DELETE", aliceBook+"c3.vcf", "alice", nil, "", http.StatusNoContent)
	a.putCard("alice", "c5.vcf", vcard3("c5", "N c5"))
	want := map[string]string{aliceBook + "c2.vcf": etagOf(t, a, "c2.vcf"), aliceBook + "c5.vcf": etagOf(t, a, "c5.vcf")}
	onA := syncFrom(t, a, first.token)
	for i, r := range reps {
		got := syncFrom(t, r, first.token)
		if !maps.Equal(got.changed, want) || !slices.Equal(got.deleted, []string{aliceBook + "c3.vcf"}) {
			t.Fatalf("replica %d from A's token: changed %v deleted %v; want changed %v deleted [c3]", i, got.changed, got.deleted, want)
		}
		if got.token != onA.token {
			t.Fatalf("replica %d hands out token %q, A %q", i, got.token, onA.token)
		}
	}
	ctag1, etags := sameBook(t, reps)
	if ctag1 == ctag0 {
		t.Fatalf("getctag %q did not change after writes", ctag1)
	}
	for href, e := range want {
		if etags[href] != e {
			t.Fatalf("PROPFIND ETag of %s %q, the writer's %q", href, etags[href], e)
		}
	}

	// A write on C, asked on B from the token B handed out.
	fromB := syncFrom(t, b, onA.token)
	if len(fromB.changed)+len(fromB.deleted) != 0 || fromB.token != onA.token {
		t.Fatalf("nothing changed, yet B answers %+v", fromB)
	}
	c.putCard("alice", "c6.vcf", vcard3("c6", "N c6"))
	got := syncFrom(t, b, fromB.token)
	if want := map[string]string{aliceBook + "c6.vcf": etagOf(t, c, "c6.vcf")}; !maps.Equal(got.changed, want) || len(got.deleted) != 0 {
		t.Fatalf("B from its token after C's write: %+v, want %v", got, want)
	}
	if again := syncFrom(t, a, got.token); len(again.changed)+len(again.deleted) != 0 {
		t.Fatalf("A from B's latest token: %+v", again)
	}
	sameBook(t, reps)
}

// raceRounds is how many times the racing tests race.
const raceRounds = 30

// race sends one request per replica at once (do(i) for replica i) and
// returns the statuses and bodies in replica order.
func race(t *testing.T, n int, do func(i int) (int, http.Header, string, error)) ([]int, []string) {
	t.Helper()
	codes, bodies, errs := make([]int, n), make([]string, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], _, bodies[i], errs[i] = do(i)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	return codes, bodies
}

// TestReplicasRacePutIfMatch: three replicas PUT the same card with the
// same If-Match at once, round after round: exactly one wins (204), the
// others answer 412, and every replica then serves the winner's card.
func TestReplicasRacePutIfMatch(t *testing.T) { pgtest.ForBackends(t, testReplicasRacePutIfMatch) }

func testReplicasRacePutIfMatch(t *testing.T, be pgtest.Backend) {
	reps := newReplicas(t, be, 3)
	reps[0].putCard("alice", "r.vcf", vcard3("r", "Start"))
	for round := range raceRounds {
		etag := etagOf(t, reps[round%3], "r.vcf")
		codes, _ := race(t, len(reps), func(i int) (int, http.Header, string, error) {
			return send(reps[i], "PUT", aliceBook+"r.vcf", map[string]string{"Content-Type": "text/vcard", "If-Match": etag},
				vcard3("r", fmt.Sprintf("Round %d replica %d", round, i)))
		})
		winner := -1
		for i, code := range codes {
			switch code {
			case http.StatusNoContent:
				if winner >= 0 {
					t.Fatalf("round %d: replicas %d and %d both won with If-Match %s (%v)", round, winner, i, etag, codes)
				}
				winner = i
			case http.StatusPreconditionFailed:
			default:
				t.Fatalf("round %d: replica %d answered %d (%v)", round, i, code, codes)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no replica won (%v)", round, codes)
		}
		for i, r := range reps {
			_, body := r.expect("GET", aliceBook+"r.vcf", "alice", nil, "", http.StatusOK)
			if w := fmt.Sprintf("FN:Round %d replica %d", round, winner); !strings.Contains(body, w) {
				t.Fatalf("round %d: replica %d serves %q, want the winner's %q", round, i, body, w)
			}
		}
	}
	sameBook(t, reps)
}

// TestReplicasRaceSameUID: three replicas create a card of one UID under
// three hrefs of one book at once, round after round: exactly one is
// created (201), the others answer 409 no-uid-conflict naming the
// winner's href, and the book never holds two cards of one UID.
func TestReplicasRaceSameUID(t *testing.T) { pgtest.ForBackends(t, testReplicasRaceSameUID) }

func testReplicasRaceSameUID(t *testing.T, be pgtest.Backend) {
	reps := newReplicas(t, be, 3)
	for round := range raceRounds {
		uid := fmt.Sprintf("same-%d", round)
		href := func(i int) string { return fmt.Sprintf("%s-r%d.vcf", uid, i) }
		hdr := map[string]string{"Content-Type": "text/vcard"}
		if round%2 == 0 {
			hdr["If-None-Match"] = "*"
		}
		codes, bodies := race(t, len(reps), func(i int) (int, http.Header, string, error) {
			return send(reps[i], "PUT", aliceBook+href(i), hdr, vcard3(uid, fmt.Sprintf("Replica %d", i)))
		})
		winner := slices.Index(codes, http.StatusCreated)
		if winner < 0 || slices.Index(codes[winner+1:], http.StatusCreated) >= 0 {
			t.Fatalf("round %d: statuses %v, want one 201", round, codes)
		}
		for i, code := range codes {
			if i == winner {
				continue
			}
			if code != http.StatusConflict || !strings.Contains(bodies[i], "no-uid-conflict") || !strings.Contains(bodies[i], aliceBook+href(winner)) {
				t.Fatalf("round %d: replica %d answered %d %s, want 409 no-uid-conflict naming %s", round, i, code, bodies[i], href(winner))
			}
		}
	}
	book, err := reps[1].db.AddressBook(context.Background(), "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	cards, err := reps[2].db.Cards(context.Background(), book.ID)
	if err != nil {
		t.Fatal(err)
	}
	byUID := map[string][]string{}
	for _, c := range cards {
		byUID[c.UID] = append(byUID[c.UID], c.Href)
	}
	if len(cards) != raceRounds || len(byUID) != raceRounds {
		t.Fatalf("%d cards of %d UIDs, want %d of as many: %v", len(cards), len(byUID), raceRounds, byUID)
	}
	sameBook(t, reps)
}

// TestReplicasSeePasswordChanges: every replica keeps its own cache of
// verified passwords (authguard), yet a password changed or a user
// removed through one replica takes effect on every other at the next
// request: the cache is keyed by the hash each request reads from the
// database.
func TestReplicasSeePasswordChanges(t *testing.T) {
	pgtest.ForBackends(t, testReplicasSeePasswordChanges)
}

func testReplicasSeePasswordChanges(t *testing.T, be pgtest.Backend) {
	reps := newReplicas(t, be, 3)
	ctx := context.Background()
	status := func(ts *testServer, user, pass string) int {
		t.Helper()
		code, _, _, err := sendAs(ts, user, pass, "PROPFIND", "/addressbooks/"+user+"/", map[string]string{"Depth": "0"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	for i, r := range reps { // each replica verifies and caches both passwords
		for _, u := range []string{"alice", "bob"} {
			if code := status(r, u, u+"-pw"); code != http.StatusMultiStatus {
				t.Fatalf("replica %d, %s: %d", i, u, code)
			}
		}
	}
	h, err := bcrypt.GenerateFromPassword([]byte("new-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := reps[0].db.SetUserPassword(ctx, "alice", string(h)); err != nil {
		t.Fatal(err)
	}
	if err := reps[0].db.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for i, r := range reps {
		if code := status(r, "alice", "alice-pw"); code != http.StatusUnauthorized {
			t.Errorf("replica %d: alice's old password: %d, want 401", i, code)
		}
		if code := status(r, "alice", "new-pw"); code != http.StatusMultiStatus {
			t.Errorf("replica %d: alice's new password: %d", i, code)
		}
		if code := status(r, "bob", "bob-pw"); code != http.StatusUnauthorized {
			t.Errorf("replica %d: bob, removed: %d, want 401", i, code)
		}
	}
}
