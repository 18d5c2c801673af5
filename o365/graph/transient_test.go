package graph

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

// transient answers a request with status (and Microsoft's code for it).
func transient(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusPreconditionFailed:
		graphErr(w, status, "ErrorIrresolvableConflict", "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.")
	case http.StatusServiceUnavailable:
		graphErr(w, status, "ServiceUnavailable", "busy")
	default:
		graphErr(w, status, "UnknownError", "gateway timeout")
	}
}

// TestReadRetriesTransient: a read (GET without If-Match) answered 412
// ErrorIrresolvableConflict, 503 or 504 N times and then 200 succeeds
// after N+1 requests; more failures than the bound give an error naming
// the contact and Microsoft's code.
func TestReadRetriesTransient(t *testing.T) {
	const bound = 3
	for _, st := range []int{412, 503, 504} {
		for _, failures := range []int{1, bound, bound + 1} {
			t.Run(http.StatusText(st)+"/"+string(rune('0'+failures)), func(t *testing.T) {
				f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
					if n <= failures {
						transient(w, st)
						return
					}
					writeJSON(w, 200, map[string]any{"id": "AAMk-c1", "changeKey": "k1"})
				})
				e := newClient(t, f, func(o *Options) { o.MaxRetries = bound; o.MaxReadConflictRetries = bound })
				ct, err := e.c.GetContact(t.Context(), "", "AAMk-c1")
				noToken(t, err)
				hits := int(f.hits.Load())
				if failures <= bound {
					if err != nil {
						t.Fatalf("GetContact after %d transient %d: %v", failures, st, err)
					}
					if ct.ID != "AAMk-c1" || hits != failures+1 {
						t.Errorf("got %q after %d requests, want AAMk-c1 after %d", ct.ID, hits, failures+1)
					}
					if got := len(e.sleeps.all()); got != failures {
						t.Errorf("%d waits, want %d (one back-off per retry)", got, failures)
					}
					return
				}
				if err == nil {
					t.Fatalf("GetContact after %d transient %d: no error", failures, st)
				}
				if hits != bound+1 {
					t.Errorf("%d requests, want %d (the bound)", hits, bound+1)
				}
				code := map[int]string{412: "ErrorIrresolvableConflict", 503: "ServiceUnavailable", 504: "504"}[st]
				if !strings.Contains(err.Error(), "AAMk-c1") || !strings.Contains(err.Error(), code) {
					t.Errorf("error %q does not name the contact AAMk-c1 and %s", err, code)
				}
				var ae *Error
				if !errors.As(err, &ae) || ae.Status != st {
					t.Errorf("error %v does not wrap the %d answer", err, st)
				}
			})
		}
	}
}

// TestWrite412NotRetried: a 412 on a write with If-Match is a real
// precondition failure (the engine re-reads and merges): one request.
// A read with If-Match is not retried on 412 either.
func TestWrite412NotRetried(t *testing.T) {
	cases := []struct {
		name, method string
		hdr          http.Header
		body         []byte
	}{
		{"PATCH with If-Match", "PATCH", http.Header{"If-Match": {`W/"k0"`}}, []byte(`{}`)},
		{"DELETE with If-Match", "DELETE", http.Header{"If-Match": {`W/"k0"`}}, nil},
		{"GET with If-Match", "GET", http.Header{"If-Match": {`W/"k0"`}}, nil},
		{"POST", "POST", nil, []byte(`{}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { transient(w, 412) })
			e := newClient(t, f, nil)
			_, _, err := e.c.Do(t.Context(), tc.method, "contacts/AAMk-c1", tc.hdr, tc.body, nil)
			if !IsPrecondition(err) {
				t.Errorf("err = %v, want a 412", err)
			}
			if got := f.hits.Load(); got != 1 {
				t.Errorf("%d requests, want 1 (a write's 412 is not retried)", got)
			}
		})
	}
}

// TestBatchRetriesTransientReads: inside $batch, a GET answered 412, 503
// or 504 is sent again alone (the others are not), within the bound; a
// PATCH with If-Match answered 412 is returned at once.
func TestBatchRetriesTransientReads(t *testing.T) {
	const bound = 3
	for _, st := range []int{412, 503, 504} {
		t.Run(http.StatusText(st), func(t *testing.T) {
			var fails map[string]int // sub-request URL → failures to give
			left := map[string]int{}
			var subs atomic.Int32
			f := fakeBatch(t, func(sr api.BatchRequest, n int) api.BatchResponse {
				subs.Add(1)
				if left[sr.URL] > 0 {
					left[sr.URL]--
					code := map[int]string{412: "ErrorIrresolvableConflict", 503: "ServiceUnavailable", 504: "GatewayTimeout"}[st]
					return api.BatchResponse{ID: sr.ID, Status: st, Body: json.RawMessage(`{"error":{"code":"` + code + `","message":"transient"}}`)}
				}
				return api.BatchResponse{ID: sr.ID, Status: 200, Headers: map[string]string{"Content-Type": "application/json"},
					Body: json.RawMessage(`{"id":"` + sr.URL + `"}`)}
			})
			fails = map[string]int{"/me/contacts/ok": 0, "/me/contacts/flaky": 2, "/me/contacts/broken": bound + 1}
			for k, v := range fails {
				left[k] = v
			}
			if st == 412 {
				left["/me/contacts/stale"] = 5 // PATCH with If-Match: a real precondition failure
			}
			e := newClient(t, f, func(o *Options) { o.MaxRetries = bound; o.MaxReadConflictRetries = bound })
			ops := []Op{{Method: "GET", Path: "contacts/ok"}, {Method: "GET", Path: "contacts/flaky"}, {Method: "GET", Path: "contacts/broken"}}
			if st == 412 {
				ops = append(ops, Op{Method: "PATCH", Path: "contacts/stale", IfMatch: `W/"k0"`, Body: []byte(`{}`)})
			}
			res := e.c.Batch(t.Context(), ops)
			if res[0].Err != nil || res[1].Err != nil {
				t.Fatalf("ok: %v, flaky: %v", res[0].Err, res[1].Err)
			}
			if err := res[2].Err; err == nil || !strings.Contains(err.Error(), "contacts/broken") {
				t.Errorf("broken: err %v, want the error of contacts/broken", err)
			} else if ae, ok := asError(err); !ok || ae.Status != st {
				t.Errorf("broken: err %v, want the %d answer", err, st)
			}
			// ok once, flaky 3 times, broken 1+bound times, stale once.
			want := int32(1 + 3 + bound + 1)
			if st == 412 {
				want++
				if !IsPrecondition(res[3].Err) {
					t.Errorf("stale: err %v, want a 412", res[3].Err)
				}
				if left["/me/contacts/stale"] != 4 {
					t.Errorf("the PATCH with If-Match was sent %d times, want 1", 5-left["/me/contacts/stale"])
				}
			}
			if got := subs.Load(); got != want {
				t.Errorf("%d sub-requests, want %d", got, want)
			}
		})
	}
}

// TestTransient412RetriesSoon: a read's transient 412 (Exchange's own
// write conflict) is retried after 50–100 ms, doubling, not after the
// second a 503 or 504 waits, alone and inside $batch, so one such answer
// does not stall a delta round's chain of pages for a second.
func TestTransient412RetriesSoon(t *testing.T) {
	for _, tc := range []struct {
		status   int
		min, max []time.Duration // bounds of each wait
	}{
		{412, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{503, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
	} {
		check := func(t *testing.T, waits []time.Duration) {
			t.Helper()
			if len(waits) != 3 {
				t.Fatalf("%d waits %v, want 3", len(waits), waits)
			}
			for i, w := range waits {
				if w < tc.min[i] || w > tc.max[i] {
					t.Errorf("wait %d after a %d: %v, want %v..%v", i+1, tc.status, w, tc.min[i], tc.max[i])
				}
			}
		}
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n <= 3 {
					transient(w, tc.status)
					return
				}
				writeJSON(w, 200, map[string]any{"id": "AAMk-c1", "changeKey": "k1"})
			})
			e := newClient(t, f, func(o *Options) { o.MaxRetries = 5; o.MaxReadConflictRetries = 5 })
			if _, err := e.c.GetContact(t.Context(), "", "AAMk-c1"); err != nil {
				t.Fatal(err)
			}
			check(t, e.sleeps.all())
		})
		t.Run(http.StatusText(tc.status)+" in $batch", func(t *testing.T) {
			f := fakeBatch(t, func(sr api.BatchRequest, n int) api.BatchResponse {
				if n <= 3 {
					return api.BatchResponse{ID: sr.ID, Status: tc.status, Body: json.RawMessage(`{"error":{"code":"ErrorIrresolvableConflict","message":"transient"}}`)}
				}
				return api.BatchResponse{ID: sr.ID, Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: json.RawMessage(`{"id":"x"}`)}
			})
			e := newClient(t, f, func(o *Options) { o.MaxRetries = 5; o.MaxReadConflictRetries = 5 })
			if res := e.c.Batch(t.Context(), []Op{{Method: "GET", Path: "contacts/x"}}); res[0].Err != nil {
				t.Fatal(res[0].Err)
			}
			check(t, e.sleeps.all())
		})
	}
}

// fakeBatch is a Graph that answers each $batch (the n-th request) with
// answer's response to each of its sub-requests.
func fakeBatch(t *testing.T, answer func(sr api.BatchRequest, n int) api.BatchResponse) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		var b api.Batch
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			t.Error(err)
			return
		}
		out := make([]api.BatchResponse, 0, len(b.Requests))
		for _, sr := range b.Requests {
			out = append(out, answer(sr, n))
		}
		writeJSON(w, 200, api.BatchResult{Responses: out})
	})
}
