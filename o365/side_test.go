package o365_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/sync/memside"

	"github.com/cardbridge/cardbridge/o365"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/sync"
	"github.com/cardbridge/cardbridge/sync/synctest"
	"github.com/cardbridge/cardbridge/vcard"
)

const (
	testClient = "22222222-3333-4444-5555-666666666666"
	testUser   = "bob@contoso.example"
)

// staticToken is a token source for a token minted by the simulator.
type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }
func (s staticToken) Invalidate()                           {}

// simSide starts a simulator with an empty mailbox and opens its default
// folder as a side.
func simSide(t *testing.T, opts graphsim.Options) (sync.Side, *graphsim.Server) {
	t.Helper()
	sim := graphsim.New(opts)
	sim.AddApp(graphsim.App{ClientID: testClient, PublicClient: true})
	sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-000000000b0b", UPN: testUser, Password: "bob"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	tok, err := sim.IssueToken(testClient, testUser)
	if err != nil {
		t.Fatal(err)
	}
	c, err := graph.New(graph.Options{BaseURL: srv.URL + "/v1.0", Tokens: staticToken(tok)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := o365.New(context.Background(), o365.Options{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, sim
}

func TestConformance(t *testing.T) {
	synctest.Run(t, func(t *testing.T) sync.Side {
		s, _ := simSide(t, graphsim.Options{})
		return s
	})
}

// TestFirstSyncWithOutlookContactsMakesNoDuplicates: contacts created in
// Outlook (no UID property) and the same contacts in a vCard store
// (typed, with UIDs) are matched and linked on the first sync; nothing is
// created on either side.
func TestFirstSyncWithOutlookContactsMakesNoDuplicates(t *testing.T) {
	side, sim := simSide(t, graphsim.Options{})
	mb := sim.Mailbox(testUser)
	mem := memside.New("b")
	for i := range 20 {
		mb.Put("", []byte(fmt.Sprintf(`{"givenName":"Person","surname":"N%02d","displayName":"Person N%02d","emailAddresses":[{"address":"p%02d@example.com"}],"mobilePhone":"+48 600 000 %03d"}`, i, i, i, i)))
		mem.Put(fmt.Sprintf("p%d.vcf", i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p-%02d\r\nFN:Person N%02d\r\nN:N%02d;Person;;;\r\nEMAIL;TYPE=INTERNET,WORK:p%02d@example.com\r\nTEL;TYPE=CELL:+48 600 000 %03d\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n", i, i, i, i, i)))
	}
	db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pair := sync.Pair{Name: "p", A: side, B: mem, Direction: sync.TwoWay, Policy: sync.PolicyMerge}
	res, err := sync.New(db, nil).Run(context.Background(), pair, sync.Options{})
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("%v %v", err, res)
	}
	if res.A.Created+res.B.Created+res.A.Deleted+res.B.Deleted != 0 || res.B.Updated != 0 {
		t.Fatalf("first sync: %+v", res)
	}
	if mb.Count("") != 20 || len(mem.Snapshot()) != 20 {
		t.Fatalf("counts: %d %d", mb.Count(""), len(mem.Snapshot()))
	}
	for id, raw := range mem.Snapshot() {
		if !strings.Contains(string(raw), "UID:p-") {
			t.Errorf("%s: the vCard's UID was replaced: %s", id, raw)
		}
		if !strings.Contains(string(raw), "X-CUSTOM:kept") || strings.Count(string(raw), "EMAIL") != 1 {
			t.Errorf("%s: %s", id, raw)
		}
	}
	// Office 365 now carries the UIDs; a rerun is quiet.
	res, err = sync.New(db, nil).Run(context.Background(), pair, sync.Options{})
	if err != nil || res.A.Updated+res.B.Updated+res.A.Created+res.B.Created != 0 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
}

// TestCrashBetweenWriteAndCommit: Office 365 takes each write but the run
// dies before recording it (the k-th write of a first export); the next
// run finds the contacts by their UID property and duplicates nothing.
func TestCrashBetweenWriteAndCommit(t *testing.T) {
	for _, k := range []int{1, 7, 20} {
		t.Run(fmt.Sprint("write ", k), func(t *testing.T) {
			side, sim := simSide(t, graphsim.Options{})
			mem := memside.New("b")
			for i := range 30 {
				mem.Put(fmt.Sprintf("c%d.vcf", i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:crash-%02d\r\nFN:Crash %02d\r\nEMAIL:c%02d@example.com\r\nEND:VCARD\r\n", i, i, i)))
			}
			path := filepath.Join(t.TempDir(), "s.db")
			run := func(a sync.Side, cancelAt func()) *sync.Result {
				db, err := state.Open(context.Background(), path, state.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if cancelAt != nil {
					faults := &synctest.Faults{FailAt: k, After: true, Cancel: func() { cancel(); db.Close() }}
					a = faults.Wrap(a)
				}
				res, _ := sync.New(db, nil).Run(ctx, sync.Pair{Name: "p", A: a, B: mem, Direction: sync.TwoWay, Policy: sync.PolicyMerge}, sync.Options{})
				return res
			}
			run(side, func() {})
			// Writes in flight when the run died may or may not have landed;
			// at least the failing one did.
			if n := sim.Mailbox(testUser).Count(""); n < 1 {
				t.Fatalf("the crashed run left %d contacts in Office 365: not a crash in the middle", n)
			}
			res := run(side, nil)
			if res == nil || len(res.Errors) > 0 {
				t.Fatalf("re-run: %+v", res)
			}
			if n := sim.Mailbox(testUser).Count(""); n != 30 {
				t.Fatalf("Office 365 holds %d contacts after the crash and a re-run, want 30", n)
			}
			if res := run(side, nil); res.A.Created+res.A.Updated+res.B.Created+res.B.Updated != 0 {
				t.Fatalf("third run wrote: %+v", res)
			}
		})
	}
}

// TestPhotoUploadedOnlyWhenChanged: an edit of another field uploads no
// photo; a new photo is uploaded once, at full size.
func TestPhotoUploadedOnlyWhenChanged(t *testing.T) {
	sim := graphsim.New(graphsim.Options{})
	sim.AddApp(graphsim.App{ClientID: testClient, PublicClient: true})
	sim.AddUser(graphsim.User{ID: "00000000-0000-0000-0000-000000000b0b", UPN: testUser, Password: "bob"})
	var puts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/photo/$value") {
			puts.Add(1)
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	tok, _ := sim.IssueToken(testClient, testUser)
	open := func() sync.Side {
		c, err := graph.New(graph.Options{BaseURL: srv.URL + "/v1.0", Tokens: staticToken(tok)})
		if err != nil {
			t.Fatal(err)
		}
		s, err := o365.New(context.Background(), o365.Options{Client: c})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	corpus := synctest.GoodCorpus(t)
	withPhoto := corpus["apple-30-labels-photo.vcf"]
	mem := memside.New("b")
	mem.Put("p.vcf", withPhoto.Encode())
	db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run := func() *sync.Result {
		res, err := sync.New(db, nil).Run(context.Background(), sync.Pair{Name: "p", A: open(), B: mem, Direction: sync.TwoWay, Policy: sync.PolicyMerge}, sync.Options{})
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("%v %+v", err, res)
		}
		return res
	}
	run()
	if puts.Load() != 1 {
		t.Fatalf("%d photo uploads on create, want 1", puts.Load())
	}
	ids := sim.Mailbox(testUser).ContactIDs("")
	pp, _ := withPhoto.Get("PHOTO")
	want, err := base64.StdEncoding.DecodeString(pp.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.Mailbox(testUser).Photo(ids[0]); !bytes.Equal(got, want) {
		t.Fatalf("photo stored with %d bytes, want the card's %d bytes unchanged", len(got), len(want))
	}
	// Another field changes on b: no upload.
	c := withPhoto.Clone()
	c.Set(vcard.NewText("TITLE", "Chief Orchardist"))
	mem.Put("p.vcf", c.Encode())
	if res := run(); res.A.Updated != 1 || puts.Load() != 1 {
		t.Fatalf("edit without photo change: %+v, %d uploads", res, puts.Load())
	}
}
