package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/testutil"
)

// simTokens issues simulator tokens for alice, a fresh one after
// Invalidate.
type simTokens struct {
	s      *graphsim.Server
	mu     sync.Mutex
	tok    string
	issued int
}

func (st *simTokens) Token(context.Context) (string, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tok == "" {
		t, err := st.s.IssueToken("pub", "alice@contoso.example")
		if err != nil {
			return "", err
		}
		st.tok = t
		st.issued++
	}
	return st.tok, nil
}

func (st *simTokens) Invalidate() {
	st.mu.Lock()
	st.tok = ""
	st.mu.Unlock()
}

type simEnv struct {
	s      *graphsim.Server
	ts     *httptest.Server
	alice  *graphsim.Mailbox
	c      *Client
	tokens *simTokens
	sleeps *sleeps
}

func newSim(t *testing.T, so graphsim.Options, mod func(*Options)) *simEnv {
	t.Helper()
	if so.Seed == 0 {
		so.Seed = 7
	}
	s := graphsim.New(so)
	s.AddApp(graphsim.App{ClientID: "pub"})
	alice := s.AddUser(graphsim.User{UPN: "alice@contoso.example", DisplayName: "Alice"})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	e := &simEnv{s: s, ts: ts, alice: alice, tokens: &simTokens{s: s}, sleeps: &sleeps{}}
	o := Options{BaseURL: ts.URL + "/v1.0", Tokens: e.tokens, Sleep: e.sleeps.sleep, Rand: func() float64 { return 0 }, MaxPageSize: 100}
	e.c = newWith(t, o, mod)
	return e
}

func TestSimFoldersDeltaAndLists(t *testing.T) {
	e := newSim(t, graphsim.Options{DeltaEmptyPages: 0.3, DeltaDuplicates: true}, nil)
	ctx := t.Context()
	work := e.alice.AddFolder("Work")
	e.alice.Seed(work, 250, 1)
	e.alice.Seed("", 30, 2)
	var child api.ContactFolder
	if _, _, err := e.c.Do(ctx, "POST", "contactFolders/"+work+"/childFolders", nil, []byte(`{"displayName":"Team"}`), &child); err != nil {
		t.Fatal(err)
	}
	fs, err := e.c.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.DisplayName)
	}
	if strings.Join(names, ",") != "Work,Work/Team" || fs[1].ID != child.ID {
		t.Errorf("folders %v", names)
	}

	items, link, err := e.c.Delta(ctx, work, "", []string{"id", "changeKey", "displayName"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, raw := range items {
		var c api.Contact
		_ = json.Unmarshal(raw, &c)
		ids[c.ID] = true
	}
	if len(ids) != 250 || !strings.HasPrefix(link, e.ts.URL) {
		t.Errorf("delta: %d distinct of %d items, link %q", len(ids), len(items), link)
	}
	items, link2, err := e.c.Delta(ctx, work, link, nil)
	if err != nil || len(items) != 0 || link2 == "" {
		t.Errorf("empty round: %v %d %q", err, len(items), link2)
	}
	e.s.ExpireDeltaTokens()
	if _, _, err := e.c.Delta(ctx, work, link2, nil); !IsGone(err) {
		t.Errorf("expired link: %v", err)
	}
	def, _, err := e.c.Delta(ctx, "", "", nil)
	if err != nil || len(def) < 30 {
		t.Errorf("default folder delta: %v %d", err, len(def))
	}
	cs, err := e.c.ListContacts(ctx, work)
	if err != nil || len(cs) != 250 {
		t.Errorf("ListContacts: %v %d", err, len(cs))
	}
}

func TestSimBatchWritesAndUID(t *testing.T) {
	e := newSim(t, graphsim.Options{Latency: 2 * time.Millisecond}, nil)
	ctx := t.Context()
	ops := make([]Op, 45)
	for i := range ops {
		body, _ := json.Marshal(map[string]any{"givenName": fmt.Sprintf("P%d", i), "surname": "Batch",
			"singleValueExtendedProperties": []api.ExtendedProperty{{ID: api.UIDPropertyID, Value: fmt.Sprintf("uid-%d", i)}}})
		ops[i] = Op{Method: "POST", Path: "contacts", Body: body}
	}
	res := e.c.Batch(ctx, ops)
	created := make([]api.Contact, len(res))
	for i, r := range res {
		if r.Err != nil || r.Status != 201 || json.Unmarshal(r.Body, &created[i]) != nil || !strings.HasPrefix(created[i].ID, "AAkALg") {
			t.Fatalf("create %d: %+v %s", i, r, r.Body)
		}
	}
	found, err := e.c.FindByUID(ctx, "", "uid-17")
	if err != nil || len(found) != 1 || found[0].ID != created[17].ID || found[0].SingleValueExtendedProperties[0].Value != "uid-17" {
		t.Fatalf("FindByUID: %v %+v", err, found)
	}
	got, err := e.c.GetContact(ctx, "", created[3].ID)
	if err != nil || len(got.SingleValueExtendedProperties) != 1 || got.SingleValueExtendedProperties[0].Value != "uid-3" {
		t.Errorf("GetContact: %v %+v", err, got)
	}

	// PATCH with a stale change key: 412; with the current one: 200.
	// DELETE of a missing contact: 404.
	p := e.c.FolderPath("") + "/"
	res = e.c.Batch(ctx, []Op{
		{Method: "PATCH", Path: p + created[0].ID, IfMatch: `W/"stale"`, Body: []byte(`{"surname":"X"}`)},
		{Method: "PATCH", Path: p + created[1].ID, IfMatch: `W/"` + created[1].ChangeKey + `"`, Body: []byte(`{"surname":"Y","displayName":"P1 Y"}`)},
		{Method: "DELETE", Path: p + "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A", IfMatch: `W/"x"`},
	})
	if !IsPrecondition(res[0].Err) || res[1].Err != nil || (!IsNotFound(res[2].Err) && res[2].Status != 400) {
		t.Errorf("writes: %v | %v | %v", res[0].Err, res[1].Err, res[2].Err)
	}

	// Photos, directly and through a batch.
	jp := testutil.JPEG(t, 200)
	if err := e.c.PutPhoto(ctx, p+created[2].ID, jp); err != nil {
		t.Fatal(err)
	}
	ph, err := e.c.GetPhoto(ctx, p+created[2].ID)
	if err != nil || !bytes.Equal(ph, jp) {
		t.Errorf("GetPhoto: %v %d bytes", err, len(ph))
	}
	if ph, err := e.c.GetPhoto(ctx, p+created[4].ID); err != nil || ph != nil {
		t.Errorf("no photo: %v %d", err, len(ph))
	}
	res = e.c.Batch(ctx, []Op{
		{Method: "GET", Path: p + created[2].ID + "/photo/$value"},
		{Method: "GET", Path: p + created[4].ID + "/photo/$value"},
		{Method: "PUT", Path: p + created[5].ID + "/photo/$value", Body: jp, ContentType: "image/jpeg"},
	})
	if res[0].Err != nil || !bytes.Equal(res[0].Body, jp) || !IsNotFound(res[1].Err) || res[2].Err != nil {
		t.Errorf("batch photos: %+v | %v | %v", res[0].Err, res[1].Err, res[2].Err)
	}
	if b, ok := e.alice.Photo(created[5].ID); !ok || !bytes.Equal(b, jp) {
		t.Error("batch PUT photo not stored")
	}
}

func TestSimThrottlingAndTokens(t *testing.T) {
	e := newSim(t, graphsim.Options{Latency: 3 * time.Millisecond, Transient412Rate: -1}, nil) // exact retries counted below
	ctx := t.Context()
	e.alice.Seed("", 20, 3)
	ids := e.alice.ContactIDs("")

	// 30 concurrent reads and 3 batches: never more than 4 in flight, so
	// the simulator never throttles.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			if _, err := e.c.GetContact(ctx, "", ids[i%len(ids)]); err != nil {
				t.Error(err)
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			var ops []Op
			for _, id := range ids {
				ops = append(ops, Op{Method: "GET", Path: "contacts/" + id})
			}
			for _, r := range e.c.Batch(ctx, ops) {
				if r.Err != nil {
					t.Error(r.Err)
				}
			}
		})
	}
	wg.Wait()
	st := e.s.Stats()
	if st.Throttled429 != 0 || st.MaxConcurrent > 4 {
		t.Errorf("simulator saw %d throttled, %d concurrent", st.Throttled429, st.MaxConcurrent)
	}

	// Scripted faults: 429 with Retry-After, then 503 without.
	e.s.FailNext(1, 429, 2*time.Second)
	e.s.FailNext(1, 503, 0)
	if _, err := e.c.GetContact(ctx, "", ids[0]); err != nil {
		t.Fatal(err)
	}
	if ds := e.sleeps.all(); len(ds) != 2 || ds[0] != 2*time.Second || ds[1] != time.Second {
		t.Errorf("slept %v", ds)
	}
	// A throttled sub-request goes again alone.
	e.s.FailNext(1, 429, time.Second)
	before := e.s.Stats().Batches
	res := e.c.Batch(ctx, []Op{{Method: "GET", Path: "contacts/" + ids[0]}, {Method: "GET", Path: "contacts/" + ids[1]}})
	if res[0].Err != nil || res[1].Err != nil || e.s.Stats().Batches-before != 2 {
		t.Errorf("batch after a sub 429: %v %v, %d batches", res[0].Err, res[1].Err, e.s.Stats().Batches-before)
	}

	// Expired access tokens: one refresh.
	e.s.ExpireAccessTokens()
	issued := e.tokens.issued
	if _, err := e.c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	e.s.ExpireAccessTokens()
	if r := e.c.Batch(ctx, []Op{{Method: "GET", Path: "contacts/" + ids[0]}}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if e.tokens.issued != issued+2 {
		t.Errorf("tokens issued %d, want %d", e.tokens.issued, issued+2)
	}
	u, err := e.c.Me(ctx)
	if err != nil || u.UserPrincipalName != "alice@contoso.example" {
		t.Errorf("Me: %v %+v", err, u)
	}
}
