package o365_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/o365"
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
func simSide(t *testing.T, opts graphsim.Options) (engine.Side, *graphsim.Server) {
	t.Helper()
	return simSideVia(t, opts, nil)
}

// simSideVia is simSide with the simulator behind wrap (nil: none).
func simSideVia(t *testing.T, opts graphsim.Options, wrap func(http.Handler) http.Handler) (engine.Side, *graphsim.Server) {
	t.Helper()
	sim, _ := newSim(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	url, tok := serveSim(t, sim, h)
	return openSide(t, newClient(t, url, tok, graph.Options{}), o365.Options{}), sim
}

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	sims := map[engine.Side]*graphsim.Server{}
	sidetest.Run(t, func(t *testing.T) engine.Side {
		s, sim := simSide(t, graphsim.Options{})
		mu.Lock()
		sims[s] = sim
		mu.Unlock()
		return s
	}, sidetest.Options{
		MayRefuse: map[string]string{
			"apple-30-group.vcf": "a contact group is not an Office 365 contact",
			"v4-group.vcf":       "a contact group is not an Office 365 contact",
		},
		ExpireToken: func(s engine.Side, token string) string {
			mu.Lock()
			defer mu.Unlock()
			sims[s].ExpireDeltaTokens()
			return token
		},
	})
}

// TestFirstSyncWithOutlookContactsMakesNoDuplicates: contacts created in
// Outlook (no UID property) and the same contacts in a vCard store
// (typed, with UIDs) are matched and linked on the first sync; nothing is
// created on either side.
func TestFirstSyncWithOutlookContactsMakesNoDuplicates(t *testing.T) {
	side, sim := simSide(t, graphsim.Options{})
	mb := sim.Mailbox(testUser)
	mem := mem.New("b")
	for i := range 20 {
		mb.Put("", []byte(fmt.Sprintf(`{"givenName":"Person","surname":"N%02d","displayName":"Person N%02d","emailAddresses":[{"address":"p%02d@example.com"}],"mobilePhone":"+48 600 000 %03d"}`, i, i, i, i)))
		mem.Put(fmt.Sprintf("p%d.vcf", i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p-%02d\r\nFN:Person N%02d\r\nN:N%02d;Person;;;\r\nEMAIL;TYPE=INTERNET,WORK:p%02d@example.com\r\nTEL;TYPE=CELL:+48 600 000 %03d\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n", i, i, i, i, i)))
	}
	db := tempState(t)
	pair := engine.Pair{Name: "p", A: side, B: mem, Direction: engine.TwoWay, Policy: engine.PolicyMerge}
	res, err := engine.New(db, nil).Run(context.Background(), pair, engine.Options{})
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
	res, err = engine.New(db, nil).Run(context.Background(), pair, engine.Options{})
	if err != nil || res.A.Updated+res.B.Updated+res.A.Created+res.B.Created != 0 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
}

// crashOnFirstBatch makes the run die (crash is called) when the first
// $batch reaches Office 365, which takes that $batch's writes 300ms
// later: a crash while creates are on their way. A run that ends before
// they are answered lets the next run read the folder without them.
func crashOnFirstBatch(crash func()) func(http.Handler) http.Handler {
	var first atomic.Bool
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") && first.CompareAndSwap(false, true) {
				crash()
				time.Sleep(300 * time.Millisecond)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestCrashBetweenWriteAndCommit: Office 365 takes each write but the run
// dies before recording it (at the k-th write of a first export, or,
// k = 0, while the first $batch of creates is on its way); the next run
// finds the contacts by their UID property and duplicates nothing. A run
// must not end before the writes it sent are answered, else the next run
// lists the folder before they land and creates them again.
func TestCrashBetweenWriteAndCommit(t *testing.T) {
	for _, k := range []int{1, 7, 20, 0} {
		name := fmt.Sprint("write ", k)
		if k == 0 {
			name = "batch on its way"
		}
		t.Run(name, func(t *testing.T) {
			var crash atomic.Pointer[func()]
			side, sim := simSideVia(t, graphsim.Options{}, crashOnFirstBatch(func() {
				if f := crash.Load(); f != nil {
					(*f)()
				}
			}))
			mem := mem.New("b")
			for i := range 30 {
				mem.Put(fmt.Sprintf("c%d.vcf", i), []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:crash-%02d\r\nFN:Crash %02d\r\nEMAIL:c%02d@example.com\r\nEND:VCARD\r\n", i, i, i)))
			}
			path := filepath.Join(t.TempDir(), "s.db")
			run := func(a engine.Side, crashes bool) *engine.Result {
				db := statetest.Open(t, path, state.Options{})
				defer db.Close()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				die := func() { cancel(); db.Close() }
				switch {
				case crashes && k > 0:
					faults := &sidetest.Faults{FailAt: k, After: true, Cancel: die}
					a = faults.Wrap(a)
				case crashes:
					crash.Store(&die)
					defer crash.Store(nil)
				}
				res, _ := engine.New(db, nil).Run(ctx, engine.Pair{Name: "p", A: a, B: mem, Direction: engine.TwoWay, Policy: engine.PolicyMerge}, engine.Options{})
				return res
			}
			run(side, true)
			// The writes sent before the run died have been answered (the
			// run waits for them); at least one landed.
			n := sim.Mailbox(testUser).Count("")
			if n < 1 && k == 0 {
				// Go on: the re-run shows what an early end costs.
				t.Errorf("the crashed run ended before Office 365 answered the $batch it had sent (%d contacts yet)", n)
			} else if n < 1 {
				t.Fatalf("the crashed run left %d contacts in Office 365: not a crash in the middle", n)
			}
			res := run(side, false)
			if res == nil || len(res.Errors) > 0 {
				t.Fatalf("re-run: %+v", res)
			}
			if got := sim.Mailbox(testUser).Count(""); got != 30 {
				t.Fatalf("Office 365 holds %d contacts after the crash (%d then) and a re-run that created %d, want 30", got, n, res.A.Created)
			}
			if res := run(side, false); res.A.Created+res.A.Updated+res.B.Created+res.B.Updated != 0 {
				t.Fatalf("third run wrote: %+v", res)
			}
			if got := sim.Mailbox(testUser).Count(""); got != 30 {
				t.Fatalf("Office 365 holds %d contacts after a third run, want 30", got)
			}
		})
	}
}

// TestWriteInFlightIsReported: a write whose $batch is on its way when the
// caller's context ends is reported as Office 365 answered it (the
// contact's id), not as the cancellation; a write asked for with an ended
// context is not sent.
func TestWriteInFlightIsReported(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	side, sim := simSideVia(t, graphsim.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") {
				select {
				case arrived <- struct{}{}:
				default:
				}
				<-release
			}
			h.ServeHTTP(w, r)
		})
	})
	card := func(uid string) *vcard.Card {
		c, err := vcard.Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:In Flight\r\nEND:VCARD\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithCancel(context.Background())
	type answer struct {
		ref engine.Ref
		err error
	}
	done := make(chan answer, 1)
	go func() {
		ref, err := side.Create(ctx, card("in-flight-1"))
		done <- answer{ref, err}
	}()
	<-arrived // the $batch of the create is at Office 365
	cancel()
	select {
	case a := <-done:
		close(release)
		time.Sleep(50 * time.Millisecond) // the abandoned write lands
		t.Fatalf("Create returned (%+v, %v) while its write was on its way; Office 365 then holds %d contacts", a.ref, a.err, sim.Mailbox(testUser).Count(""))
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	a := <-done
	if a.err != nil || a.ref.ID == "" {
		t.Fatalf("Create of a write Office 365 did: (%+v, %v), want its id", a.ref, a.err)
	}
	if ids := sim.Mailbox(testUser).ContactIDs(""); len(ids) != 1 || ids[0] != a.ref.ID {
		t.Fatalf("Office 365 holds %v, want just %s", ids, a.ref.ID)
	}
	// Not sent: the context ended before the write was asked for.
	if _, err := side.Create(ctx, card("in-flight-2")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with an ended context: %v, want context.Canceled", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := sim.Mailbox(testUser).Count(""); n != 1 {
		t.Fatalf("Office 365 holds %d contacts after a create with an ended context, want 1", n)
	}
}

// TestPhotoUploadedOnlyWhenChanged: an edit of another field uploads no
// photo; a new photo is uploaded once, at full size.
func TestPhotoUploadedOnlyWhenChanged(t *testing.T) {
	sim, _ := newSim(graphsim.Options{})
	var puts atomic.Int32
	url, tok := serveSim(t, sim, countPhotoPuts(sim, &puts))
	open := func() engine.Side { return openSide(t, newClient(t, url, tok, graph.Options{}), o365.Options{}) }
	corpus := sidetest.GoodCorpus(t)
	withPhoto := corpus["apple-30-labels-photo.vcf"]
	mem := mem.New("b")
	mem.Put("p.vcf", withPhoto.Encode())
	db := tempState(t)
	run := func() *engine.Result {
		res, err := engine.New(db, nil).Run(context.Background(), engine.Pair{Name: "p", A: open(), B: mem, Direction: engine.TwoWay, Policy: engine.PolicyMerge}, engine.Options{})
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

// pairRunner returns a fresh state file and a function that runs the pair
// a ⇄ b once against it, with sim's statistics reset first, failing the test on
// any error; it logs what each run cost.
func pairRunner(t *testing.T, sim *graphsim.Server, a, b engine.Side) (*state.DB, func(what string) *engine.Result) {
	t.Helper()
	db := tempState(t)
	pair := engine.Pair{Name: "p", A: a, B: b, Direction: engine.TwoWay, Policy: engine.PolicyMerge}
	return db, func(what string) *engine.Result {
		t.Helper()
		sim.ResetStats()
		res, err := engine.New(db, nil).Run(context.Background(), pair, engine.Options{})
		if err != nil || len(res.Errors) > 0 {
			t.Fatalf("%s: %v %+v", what, err, res)
		}
		st := sim.Stats()
		t.Logf("%s: %d HTTP requests (%d Graph requests incl. sub-requests), %+v", what, st.Requests, st.GraphRequests, res)
		return res
	}
}
