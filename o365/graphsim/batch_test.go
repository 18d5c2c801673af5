package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

type bresp struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

func (e *testEnv) batch(t *testing.T, tok string, reqs []map[string]any) (int, map[string]bresp, []string) {
	t.Helper()
	r := e.do("POST", "/v1.0/$batch", tok, map[string]any{"requests": reqs})
	if r.status != 200 {
		return r.status, nil, nil
	}
	var out struct {
		Responses []bresp `json:"responses"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	m := map[string]bresp{}
	var order []string
	for _, x := range out.Responses {
		m[x.ID] = x
		order = append(order, x.ID)
	}
	return 200, m, order
}

func TestBatch(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	e.alice.Seed("", 3, 1)
	ids := e.alice.ContactIDs("")
	var reqs []map[string]any
	for i := range 21 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me/contacts/" + ids[i%3]})
	}
	if st, _, _ := e.batch(t, tok, reqs); st != 400 {
		t.Fatalf("21 requests: %d", st)
	}
	st, res, order := e.batch(t, tok, reqs[:20])
	if st != 200 || len(res) != 20 || res["0"].Status != 200 {
		t.Fatalf("20 requests: %d %v", st, res["0"])
	}
	inOrder := true
	for i, id := range order {
		if id != fmt.Sprint(i) {
			inOrder = false
		}
	}
	if inOrder {
		t.Fatal("responses should come shuffled")
	}
	if st := e.s.Stats(); st.SubRequests != 20 || st.Batches != 2 {
		t.Fatalf("stats: %+v", st)
	}
	dup := []map[string]any{{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}}
	if st, _, _ := e.batch(t, tok, dup); st != 400 {
		t.Fatalf("duplicate ids: %d", st)
	}
	noCT := []map[string]any{{"id": "1", "method": "POST", "url": "/me/contacts", "body": map[string]string{"givenName": "x"}}}
	if st, _, _ := e.batch(t, tok, noCT); st != 400 {
		t.Fatalf("body without Content-Type: %d", st)
	}
	// dependsOn: a failure makes dependants 424
	chain := []map[string]any{
		{"id": "a", "method": "POST", "url": "/me/contacts", "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"givenName": "A"}},
		{"id": "b", "method": "PATCH", "url": "/me/contacts/AAkALgnosuchitemnosuchitem", "dependsOn": []string{"a"}, "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"givenName": "B"}},
		{"id": "c", "method": "GET", "url": "me/contacts", "dependsOn": []string{"b"}},
		{"id": "d", "method": "GET", "url": "/me/contacts?$top=1", "dependsOn": []string{"a"}},
	}
	_, res, _ = e.batch(t, tok, chain)
	if res["a"].Status != 201 || res["b"].Status != 404 || res["c"].Status != 424 || res["d"].Status != 200 {
		t.Fatalf("dependsOn: a=%d b=%d c=%d d=%d", res["a"].Status, res["b"].Status, res["c"].Status, res["d"].Status)
	}
	// photo bodies travel base64
	pic := testutil.JPEG(t, 200)
	e.alice.SetPhoto(ids[0], pic)
	_, res, _ = e.batch(t, tok, []map[string]any{
		{"id": "p", "method": "GET", "url": "/me/contacts/" + ids[0] + "/photo/$value"},
		{"id": "q", "method": "PUT", "url": "/me/contacts/" + ids[1] + "/photo/$value", "headers": map[string]string{"Content-Type": "image/jpeg"}, "body": base64.StdEncoding.EncodeToString(pic)},
	})
	var b64 string
	json.Unmarshal(res["p"].Body, &b64)
	got, _ := base64.StdEncoding.DecodeString(b64)
	if res["p"].Status != 200 || !bytes.Equal(got, pic) || res["p"].Headers["Content-Type"] != "image/jpeg" {
		t.Fatalf("photo in batch: %d %s", res["p"].Status, res["p"].Body)
	}
	if p, ok := e.alice.Photo(ids[1]); res["q"].Status != 200 || !ok || !bytes.Equal(p, pic) {
		t.Fatalf("photo PUT in batch: %d %s", res["q"].Status, res["q"].Body)
	}
	// absolute urls are refused per request
	_, res, _ = e.batch(t, tok, []map[string]any{{"id": "x", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}})
	if res["x"].Status != 400 {
		t.Fatalf("absolute url: %d", res["x"].Status)
	}
	if r := e.do("POST", "/v1.0/$batch", tok, []byte(`{"requests":`)); r.status != 400 {
		t.Fatalf("malformed batch: %d", r.status)
	}
}

func TestBatchThrottling(t *testing.T) {
	// scripted 429 inside a batch
	e := newEnv(t, Options{BatchInOrder: true})
	tok := e.tok()
	e.s.FailNext(1, 429, 3*time.Second)
	_, res, order := e.batch(t, tok, []map[string]any{{"id": "1", "method": "GET", "url": "/me"}, {"id": "2", "method": "GET", "url": "/me"}})
	n429 := 0
	for _, r := range res {
		if r.Status == 429 {
			n429++
			if r.Headers["Retry-After"] != "3" {
				t.Fatalf("Retry-After inside batch: %v", r.Headers)
			}
		}
	}
	if n429 != 1 || order[0] != "1" {
		t.Fatalf("FailNext in batch: %v %v", res, order)
	}
	// the rate limit counts each sub-request
	e2 := newEnv(t, Options{RateLimit: 4, RateWindow: time.Minute})
	tok = e2.tok()
	var reqs []map[string]any
	for i := range 6 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me/contacts"})
	}
	_, res, _ = e2.batch(t, tok, reqs)
	ok, thr := 0, 0
	for _, r := range res {
		switch r.Status {
		case 200:
			ok++
		case 429:
			thr++
			if r.Headers["Retry-After"] == "" {
				t.Fatal("429 in batch without Retry-After")
			}
		}
	}
	if ok != 4 || thr != 2 {
		t.Fatalf("rate in batch: %d ok, %d throttled", ok, thr)
	}
	// concurrency: sub-requests run 4 at a time and each holds a slot
	e3 := newEnv(t, Options{ConcurrencyLimit: 2, SubRequestLatency: 150 * time.Millisecond})
	tok = e3.tok()
	reqs = reqs[:4]
	_, res, _ = e3.batch(t, tok, reqs)
	thr = 0
	for _, r := range res {
		if r.Status == 429 {
			thr++
			var body struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(r.Body, &body)
			if body.Error.Code != "ApplicationThrottled" || r.Headers["Retry-After"] != "1" {
				t.Fatalf("concurrency 429: %s %v", r.Body, r.Headers)
			}
		}
	}
	if thr != 2 || e3.s.Stats().MaxConcurrent < 3 {
		t.Fatalf("concurrency in batch: %d throttled, max %d", thr, e3.s.Stats().MaxConcurrent)
	}
}

// TestBatchHoldsSlots: a $batch's sub-requests each hold a slot of their
// mailbox for SubRequestLatency, at most 4 at once (the strict reading of
// the reference: every sub-request counts against the mailbox's 4
// concurrent requests, Outlook runs at most 4 of a batch in parallel), so
// a request of the same mailbox sent while a batch of 20 runs is
// throttled, and the batch never takes more than 4. With
// SubRequestLatency negative (the lenient reading) the batch holds no slot
// while it waits.
func TestBatchHoldsSlots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subLat  time.Duration
		want429 bool
	}{
		{"strict default", 0, true},
		{"lenient", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 200 ms a sub-request: the batch of 20 runs 5 waves, 1 s.
			e := newEnv(t, Options{Latency: 200 * time.Millisecond, SubRequestLatency: tc.subLat, Transient412Rate: -1})
			tok := e.tok()
			var reqs []map[string]any
			for i := range 20 {
				reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me/contacts"})
			}
			done := make(chan map[string]bresp)
			go func() {
				_, res, _ := e.batch(t, tok, reqs)
				done <- res
			}()
			time.Sleep(300 * time.Millisecond) // inside the batch's second wave
			r := e.do("GET", "/v1.0/me/contacts", tok, nil)
			res := <-done
			if got := r.status == 429; got != tc.want429 {
				t.Fatalf("a GET during the batch: %d %s, want 429 %v", r.status, r.body, tc.want429)
			}
			for id, b := range res {
				if b.Status != 200 {
					t.Fatalf("sub-request %s: %d %s", id, b.Status, b.Body)
				}
			}
			if len(res) != 20 {
				t.Fatalf("%d answers", len(res))
			}
			if mc := e.s.Stats().PerMailbox["alice@contoso.example"].MaxConcurrent; tc.want429 && mc != 5 {
				// 4 sub-requests plus the refused GET
				t.Fatalf("MaxConcurrent %d, want 5 (4 sub-requests + the refused GET)", mc)
			}
		})
	}
}
