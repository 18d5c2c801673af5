package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

// batchFake answers $batch calls in reverse order. Sub-request URLs
// choose the answer: "throttle" (429 the first time), "dep" (424),
// "photo" (a base64 JPEG); anything else echoes method, URL (with root
// turned into /me/) and body.
type batchFake struct {
	*fake
	mu        sync.Mutex
	sizes     []int
	throttled map[string]int
	calls     [][]api.BatchRequest
}

var jpegBytes = []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0xff, 0xd9}

func newBatchFake(t *testing.T, root string) *batchFake {
	bf := &batchFake{throttled: map[string]int{}}
	bf.fake = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.Method != "POST" || r.URL.Path != "/v1.0/$batch" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("not a batch call: %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var b api.Batch
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Error(err)
			w.WriteHeader(400)
			return
		}
		bf.mu.Lock()
		bf.sizes = append(bf.sizes, len(b.Requests))
		bf.calls = append(bf.calls, b.Requests)
		bf.mu.Unlock()
		if len(b.Requests) > api.MaxBatch {
			graphErr(w, 400, "BadRequest", "too many requests in batch")
			return
		}
		ids := map[string]bool{}
		var out []api.BatchResponse
		for _, sr := range slices.Backward(b.Requests) {
			if ids[sr.ID] {
				t.Errorf("duplicate id %s", sr.ID)
			}
			ids[sr.ID] = true
			if sr.Headers["Prefer"] != `IdType="ImmutableId"` {
				t.Errorf("sub-request Prefer %q", sr.Headers["Prefer"])
			}
			if len(sr.Body) > 0 && sr.Headers["Content-Type"] == "" {
				t.Errorf("sub-request body without Content-Type")
			}
			if !strings.HasPrefix(sr.URL, root) {
				t.Errorf("sub-request URL %q", sr.URL)
			}
			sr.URL = "/me/" + strings.TrimPrefix(sr.URL, root)
			switch {
			case strings.Contains(sr.URL, "throttle"):
				bf.mu.Lock()
				bf.throttled[sr.URL]++
				k := bf.throttled[sr.URL]
				bf.mu.Unlock()
				if k == 1 {
					out = append(out, api.BatchResponse{ID: sr.ID, Status: 429, Headers: map[string]string{"Retry-After": "4"},
						Body: json.RawMessage(`{"error":{"code":"ApplicationThrottled","message":"MailboxConcurrency"}}`)})
					continue
				}
			case strings.Contains(sr.URL, "dep"):
				out = append(out, api.BatchResponse{ID: sr.ID, Status: 424,
					Body: json.RawMessage(`{"error":{"code":"FailedDependency","message":"depends on a failed request"}}`)})
				continue
			case sr.Method == "GET" && strings.Contains(sr.URL, "photo"):
				b, _ := json.Marshal(base64.StdEncoding.EncodeToString(jpegBytes))
				out = append(out, api.BatchResponse{ID: sr.ID, Status: 200, Headers: map[string]string{"Content-Type": "image/jpeg"}, Body: b})
				continue
			case strings.Contains(sr.URL, "missing"):
				out = append(out, api.BatchResponse{ID: sr.ID, Status: 404,
					Body: json.RawMessage(`{"error":{"code":"ErrorItemNotFound","message":"not found"}}`)})
				continue
			}
			echo, _ := json.Marshal(map[string]any{"method": sr.Method, "url": sr.URL, "body": sr.Body, "ifMatch": sr.Headers["If-Match"], "ct": sr.Headers["Content-Type"]})
			out = append(out, api.BatchResponse{ID: sr.ID, Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: echo})
		}
		writeJSON(w, 200, api.BatchResult{Responses: out})
	})
	return bf
}

type echo struct {
	Method, URL, IfMatch, CT string
	Body                     json.RawMessage
}

func TestBatch45Ops(t *testing.T) {
	bf := newBatchFake(t, "/me/")
	e := newClient(t, bf.fake, nil)
	ops := make([]Op, 45)
	for i := range ops {
		ops[i] = Op{Method: "GET", Path: fmt.Sprintf("contacts/c%d", i)}
	}
	res := e.c.Batch(t.Context(), ops)
	if len(res) != 45 {
		t.Fatalf("%d results", len(res))
	}
	for i, r := range res {
		var got echo
		if r.Err != nil || r.Status != 200 || json.Unmarshal(r.Body, &got) != nil || got.URL != fmt.Sprintf("/me/contacts/c%d", i) {
			t.Errorf("result %d: %+v %s", i, r, r.Body)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("result %d header %v", i, r.Header)
		}
	}
	if !slices.Equal(bf.sizes, []int{20, 20, 5}) || bf.hits.Load() != 3 {
		t.Errorf("batch sizes %v hits %d", bf.sizes, bf.hits.Load())
	}
	if s := e.c.Stats(); s.Requests != 3 || s.SubRequests != 45 || s.Retries != 0 {
		t.Errorf("stats %+v", s)
	}
	if len(e.c.Batch(t.Context(), nil)) != 0 || bf.hits.Load() != 3 {
		t.Error("an empty batch sent something")
	}
}

func TestBatchMixed(t *testing.T) {
	// Every sub-request URL starts with /users/u@x.example/ here.
	bf := newBatchFake(t, "/users/u@x.example/")
	e := newClient(t, bf.fake, func(o *Options) { o.Mailbox = "u@x.example" })
	ops := []Op{
		{Method: "GET", Path: "contacts/a"},
		{Method: "PATCH", Path: "contacts/throttle", IfMatch: `W/"k1"`, Body: []byte(`{"givenName":"A"}`)},
		{Method: "GET", Path: "contacts/dep"},
		{Method: "GET", Path: "contacts/p/photo/$value"},
		{Method: "PUT", Path: "contacts/b/photo/$value", Body: jpegBytes, ContentType: "image/jpeg"},
		{Method: "POST", Path: "contacts", Body: []byte(`{"surname":"B"}`)},
		{Method: "GET", Path: "contacts/missing"},
		{Method: "GET", Path: "contacts?$expand=singleValueExtendedProperties($filter=id eq 'x')"},
		{Method: "POST", Path: "contacts", Body: []byte(`not json`)},
	}
	res := e.c.Batch(t.Context(), ops)

	var got echo
	if res[0].Err != nil || json.Unmarshal(res[0].Body, &got) != nil || got.URL != "/me/contacts/a" {
		t.Errorf("op 0: %+v", res[0])
	}
	if res[1].Err != nil || res[1].Status != 200 || json.Unmarshal(res[1].Body, &got) != nil ||
		got.IfMatch != `W/"k1"` || string(got.Body) != `{"givenName":"A"}` || got.CT != "application/json" {
		t.Errorf("op 1 (throttled once): %+v %s", res[1], res[1].Body)
	}
	if res[2].Status != 424 || res[2].Err == nil {
		t.Errorf("op 2: %+v", res[2])
	}
	var ge *Error
	if !errors.As(res[2].Err, &ge) || ge.Code != "FailedDependency" {
		t.Errorf("op 2 err %v", res[2].Err)
	}
	if res[3].Err != nil || string(res[3].Body) != string(jpegBytes) {
		t.Errorf("op 3 photo: %x", res[3].Body)
	}
	if res[4].Err != nil || json.Unmarshal(res[4].Body, &got) != nil || got.CT != "image/jpeg" {
		t.Errorf("op 4: %+v", res[4])
	} else {
		var s string
		_ = json.Unmarshal(got.Body, &s)
		if b, _ := base64.StdEncoding.DecodeString(s); string(b) != string(jpegBytes) {
			t.Errorf("photo PUT body %s", got.Body)
		}
	}
	if res[5].Err != nil {
		t.Errorf("op 5: %v", res[5].Err)
	}
	if !IsNotFound(res[6].Err) || res[6].Status != 404 {
		t.Errorf("op 6: %+v", res[6])
	}
	if res[7].Err != nil || json.Unmarshal(res[7].Body, &got) != nil || got.URL != "/me/contacts?$expand=singleValueExtendedProperties($filter=id%20eq%20'x')" {
		t.Errorf("op 7: %+v %s", res[7], res[7].Body)
	}
	if res[8].Err == nil || res[8].Status != 0 {
		t.Errorf("op 8 (bad JSON body): %+v", res[8])
	}

	// The throttled op went again alone, after its Retry-After.
	if len(bf.calls) != 2 || len(bf.calls[0]) != 8 || len(bf.calls[1]) != 1 || !strings.Contains(bf.calls[1][0].URL, "throttle") {
		t.Errorf("calls %v", bf.calls)
	}
	if ds := e.sleeps.all(); len(ds) != 1 || ds[0] != 4*time.Second {
		t.Errorf("slept %v, want [4s]", ds)
	}
	if s := e.c.Stats(); s.Throttled != 1 || s.Retries != 1 || s.SubRequests != 9 {
		t.Errorf("stats %+v", s)
	}
}

func TestBatchThrottledForever(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var b api.Batch
		_ = json.NewDecoder(r.Body).Decode(&b)
		var out []api.BatchResponse
		for _, sr := range b.Requests {
			out = append(out, api.BatchResponse{ID: sr.ID, Status: 429, Headers: map[string]string{"Retry-After": "100"},
				Body: json.RawMessage(`{"error":{"code":"ApplicationThrottled","message":"slow"}}`)})
		}
		writeJSON(w, 200, api.BatchResult{Responses: out})
	})
	e := newClient(t, f, func(o *Options) { o.MaxWait = 250 * time.Second })
	res := e.c.Batch(t.Context(), []Op{{Method: "POST", Path: "contacts", Body: []byte(`{}`)}})
	if !IsThrottled(res[0].Err) || !strings.Contains(res[0].Err.Error(), "throttled by Graph for longer than 4m10s") {
		t.Errorf("err %v", res[0].Err)
	}
	if f.hits.Load() != 3 || len(e.sleeps.all()) != 2 {
		t.Errorf("hits %d sleeps %v", f.hits.Load(), e.sleeps.all())
	}

	e = newClient(t, f, func(o *Options) { o.MaxRetries = 2; o.MaxWait = time.Hour })
	f.hits.Store(0)
	res = e.c.Batch(t.Context(), []Op{{Method: "GET", Path: "contacts/x"}})
	if !IsThrottled(res[0].Err) || f.hits.Load() != 3 {
		t.Errorf("err %v hits %d", res[0].Err, f.hits.Load())
	}
}

func TestBatchOuterFailures(t *testing.T) {
	// A 500 on the batch call: retried when every op is idempotent, not
	// when one is a POST.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n%2 == 1 {
			graphErr(w, 500, "InternalServerError", "boom")
			return
		}
		writeJSON(w, 200, api.BatchResult{Responses: []api.BatchResponse{{ID: "0", Status: 204}, {ID: "1", Status: 204}}})
	})
	e := newClient(t, f, nil)
	res := e.c.Batch(t.Context(), []Op{{Method: "GET", Path: "contacts/a"}, {Method: "DELETE", Path: "contacts/b", IfMatch: "x"}})
	if res[0].Err != nil || res[1].Err != nil || res[1].Status != 204 || f.hits.Load() != 2 {
		t.Errorf("idempotent batch after 500: %+v hits %d", res, f.hits.Load())
	}
	res = e.c.Batch(t.Context(), []Op{{Method: "GET", Path: "contacts/a"}, {Method: "POST", Path: "contacts", Body: []byte(`{}`)}})
	if res[0].Status != 500 || res[1].Status != 500 || res[0].Err == nil || f.hits.Load() != 3 {
		t.Errorf("batch with a POST after 500: %+v hits %d", res, f.hits.Load())
	}
	// A response missing from the answer gives an error for its op.
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, api.BatchResult{Responses: []api.BatchResponse{{ID: "1", Status: 204}, {ID: "99", Status: 200}}})
	})
	e = newClient(t, f, nil)
	res = e.c.Batch(t.Context(), []Op{{Method: "GET", Path: "contacts/a"}, {Method: "GET", Path: "contacts/b"}})
	if res[0].Err == nil || res[1].Err != nil {
		t.Errorf("missing answer: %+v", res)
	}
	// A cancelled context fails every op.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res = e.c.Batch(ctx, []Op{{Method: "GET", Path: "contacts/a"}})
	if !errors.Is(res[0].Err, context.Canceled) {
		t.Errorf("cancelled: %+v", res[0])
	}
}

// TestBatchAcross: BatchAcross sends up to parallel $batch calls at once
// (each one slot of the client's in-flight limit), Batch one after
// another (each takes the mailbox's 4); both answer every op in order,
// and a sub-request answered 429 goes again in a later call.
func TestBatchAcross(t *testing.T) {
	for _, tc := range []struct {
		name   string
		across bool
		want   int32 // calls in flight at most
	}{
		{"Batch", false, 1},
		{"BatchAcross", true, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cur, peak atomic.Int32
			full := make(chan struct{})
			var fullOnce sync.Once
			var throttled atomic.Bool
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				now := cur.Add(1)
				defer cur.Add(-1)
				for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
				}
				if now == 4 {
					fullOnce.Do(func() { close(full) })
				}
				select { // hold the call until 4 are in flight (or a while)
				case <-full:
				case <-time.After(100 * time.Millisecond):
				}
				answerBatch(t, w, r, "/users/u7/photo/$value", &throttled, func(u string) string { return `{"url":"` + u + `"}` })
			})
			e := newClient(t, f, nil)
			var ops []Op
			for i := range 8 * api.MaxBatch {
				ops = append(ops, Op{Method: http.MethodGet, Path: fmt.Sprintf("/users/u%d/photo/$value", i)})
			}
			var res []Result
			if tc.across {
				res = e.c.BatchAcross(t.Context(), ops, 4)
			} else {
				res = e.c.Batch(t.Context(), ops)
			}
			for i, r := range res {
				if want := fmt.Sprintf(`{"url":"/users/u%d/photo/$value"}`, i); r.Err != nil || string(r.Body) != want {
					t.Fatalf("op %d: %s %v, want %s", i, r.Body, r.Err, want)
				}
			}
			if got := peak.Load(); got != tc.want {
				t.Errorf("at most %d $batch calls in flight, want %d", got, tc.want)
			}
			if n := f.hits.Load(); n != 9 { // 8 calls and the throttled op's again
				t.Errorf("%d calls, want 9", n)
			}
		})
	}
}

// TestBatchRetryWaitCountsFromTheAnswer: a sub-request's Retry-After runs
// from its answer, so when the round's later calls took longer than it,
// the retry goes without another wait (on the real clock: no Options.Sleep).
func TestBatchRetryWaitCountsFromTheAnswer(t *testing.T) {
	var throttled atomic.Bool
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 2 {
			time.Sleep(1200 * time.Millisecond) // the second call outlasts the first's Retry-After: 1
		}
		answerBatch(t, w, r, "/users/u0", &throttled, func(string) string { return `{}` })
	})
	e := newClient(t, f, func(o *Options) { o.Sleep = nil }) // the real clock
	var ops []Op
	for i := range 2 * api.MaxBatch {
		ops = append(ops, Op{Method: http.MethodGet, Path: fmt.Sprintf("/users/u%d", i)})
	}
	for i, r := range e.c.Batch(t.Context(), ops) {
		if r.Err != nil {
			t.Fatalf("op %d: %v", i, r.Err)
		}
	}
	if st := e.c.Stats(); st.Retries != 1 || st.Waited != 0 || f.hits.Load() != 3 {
		t.Fatalf("stats %+v after %d calls: want the throttled op sent again at once in a third call", st, f.hits.Load())
	}
}

// answerBatch answers a $batch call of a fake: 200 with okBody(url) for
// every sub-request, except 429 (Retry-After: 1) the first time
// throttleURL comes (throttled records that it came).
func answerBatch(t *testing.T, w http.ResponseWriter, r *http.Request, throttleURL string, throttled *atomic.Bool, okBody func(url string) string) {
	var b api.Batch
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		t.Error(err)
	}
	var out api.BatchResult
	for _, q := range b.Requests {
		if q.URL == throttleURL && throttled.CompareAndSwap(false, true) {
			out.Responses = append(out.Responses, api.BatchResponse{ID: q.ID, Status: 429, Headers: map[string]string{"Retry-After": "1"},
				Body: json.RawMessage(`{"error":{"code":"ApplicationThrottled","message":"over"}}`)})
			continue
		}
		out.Responses = append(out.Responses, api.BatchResponse{ID: q.ID, Status: 200, Headers: map[string]string{"Content-Type": "application/json"},
			Body: json.RawMessage(okBody(q.URL))})
	}
	writeJSON(w, 200, out)
}
