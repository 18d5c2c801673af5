package graph

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/retry"
)

func TestInFlightLimit(t *testing.T) {
	var cur, peak atomic.Int32
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		c := cur.Add(1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		cur.Add(-1)
		writeJSON(w, 200, map[string]any{"id": "x"})
	})
	e := newClient(t, f, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, _, err := e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, nil)
			errs <- err
		})
	}
	deadline := time.Now().Add(3 * time.Second)
	for cur.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a fifth would have arrived by now
	if got := cur.Load(); got != 4 {
		t.Errorf("in flight = %d, want 4", got)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if peak.Load() != 4 {
		t.Errorf("peak in flight = %d, want 4", peak.Load())
	}
	if s := e.c.Stats(); s.Requests != 20 {
		t.Errorf("Stats.Requests = %d, want 20", s.Requests)
	}
}

func TestBatchTakesSlots(t *testing.T) {
	release := make(chan struct{})
	inBatch := make(chan struct{}, 1)
	var gets atomic.Int32
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			inBatch <- struct{}{}
			<-release
			writeJSON(w, 200, map[string]any{"responses": []any{
				map[string]any{"id": "0", "status": 200, "body": map[string]any{}},
				map[string]any{"id": "1", "status": 200, "body": map[string]any{}},
				map[string]any{"id": "2", "status": 200, "body": map[string]any{}},
				map[string]any{"id": "3", "status": 200, "body": map[string]any{}},
				map[string]any{"id": "4", "status": 200, "body": map[string]any{}},
			}})
			return
		}
		gets.Add(1)
		writeJSON(w, 200, map[string]any{})
	})
	e := newClient(t, f, nil)
	done := make(chan []Result)
	go func() {
		done <- e.c.Batch(context.Background(), make5Gets())
	}()
	<-inBatch
	if got := e.c.sem.inFlight(); got != 4 {
		t.Errorf("a batch of 5 takes %d slots, want 4", got)
	}
	getDone := make(chan error)
	go func() {
		_, _, err := e.c.Do(context.Background(), "GET", "contacts/y", nil, nil, nil)
		getDone <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if gets.Load() != 0 {
		t.Error("a GET went out while a batch held every slot")
	}
	close(release)
	for _, r := range <-done {
		if r.Err != nil {
			t.Error(r.Err)
		}
	}
	if err := <-getDone; err != nil {
		t.Fatal(err)
	}
}

func make5Gets() []Op {
	ops := make([]Op, 5)
	for i := range ops {
		ops[i] = Op{Method: "GET", Path: "contacts/c"}
	}
	return ops
}

func TestSemaphoreWeights(t *testing.T) {
	s := newSemaphore(4)
	ctx := context.Background()
	if n, _ := s.acquire(ctx, 3); n != 3 {
		t.Fatal(n)
	}
	// A waiter for 2 blocks; a later waiter for 1 must not jump the line.
	got2 := make(chan struct{})
	go func() {
		if _, err := s.acquire(ctx, 2); err == nil {
			close(got2)
		}
	}()
	time.Sleep(10 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := s.acquire(cctx, 1); err == nil {
		t.Error("a 1-slot waiter jumped the line")
	}
	s.release(3)
	<-got2
	s.release(2)
	if n, _ := s.acquire(ctx, 9); n != 4 || s.inFlight() != 4 {
		t.Errorf("clamp: took %d, in flight %d", n, s.inFlight())
	}
	s.release(4)
}

func Test429RetryAfter(t *testing.T) {
	for _, ra := range []string{"7", time.Now().Add(7 * time.Second).UTC().Format(http.TimeFormat)} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				w.Header().Set("Retry-After", ra)
				graphErr(w, 429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
				return
			}
			writeJSON(w, 200, map[string]any{"id": "c1"})
		})
		e := newClient(t, f, nil)
		var out struct{ ID string }
		if _, _, err := e.c.Do(t.Context(), "GET", "contacts/c1", nil, nil, &out); err != nil {
			t.Fatal(err)
		}
		if out.ID != "c1" || f.hits.Load() != 2 {
			t.Errorf("out=%+v hits=%d", out, f.hits.Load())
		}
		ds := e.sleeps.all()
		if len(ds) != 1 || ds[0] < 5*time.Second || ds[0] > 7*time.Second {
			t.Errorf("Retry-After %q: slept %v, want ~7s", ra, ds)
		}
		if s := e.c.Stats(); s.Throttled != 1 || s.Retries != 1 || s.Waited != ds[0] {
			t.Errorf("stats %+v", s)
		}
	}
}

func TestPOSTRetriedOn429(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			graphErr(w, 429, "ApplicationThrottled", "slow down")
			return
		}
		writeJSON(w, 201, map[string]any{"id": "new"})
	})
	e := newClient(t, f, nil)
	if _, _, err := e.c.Do(t.Context(), "POST", "contacts", nil, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	if f.hits.Load() != 2 || len(e.sleeps.all()) != 1 || e.sleeps.all()[0] != 2*time.Second {
		t.Errorf("hits %d sleeps %v", f.hits.Load(), e.sleeps.all())
	}
}

func Test503(t *testing.T) {
	cases := []struct {
		name, method, ra string
		hdr              http.Header
		wantHits         int32
		wantSleep        time.Duration
	}{
		{"GET with Retry-After", "GET", "3", nil, 2, 3 * time.Second},
		{"GET without Retry-After backs off", "GET", "", nil, 2, 500 * time.Millisecond},
		{"POST with Retry-After", "POST", "3", nil, 2, 3 * time.Second},
		{"POST without Retry-After is not retried", "POST", "", nil, 1, 0},
		{"DELETE with If-Match", "DELETE", "", http.Header{"If-Match": {`W/"k"`}}, 2, 500 * time.Millisecond},
		{"DELETE without If-Match", "DELETE", "", nil, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if n == 1 {
					if tc.ra != "" {
						w.Header().Set("Retry-After", tc.ra)
					}
					graphErr(w, 503, "ServiceUnavailable", "busy")
					return
				}
				writeJSON(w, 200, map[string]any{})
			})
			e := newClient(t, f, nil)
			var body []byte
			if tc.method == "POST" {
				body = []byte(`{}`)
			}
			_, _, err := e.c.Do(t.Context(), tc.method, "contacts/x", tc.hdr, body, nil)
			if got := f.hits.Load(); got != tc.wantHits {
				t.Errorf("hits = %d, want %d (err %v)", got, tc.wantHits, err)
			}
			if tc.wantHits == 1 {
				if !IsThrottled(err) {
					t.Errorf("err = %v, want a 503", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds := e.sleeps.all(); len(ds) != 1 || ds[0] != tc.wantSleep {
				t.Errorf("slept %v, want %v", ds, tc.wantSleep)
			}
		})
	}
}

func Test500(t *testing.T) {
	cases := []struct {
		method   string
		hdr      http.Header
		wantHits int32
	}{
		{"GET", nil, 2},
		{"POST", nil, 1},
		{"PUT", nil, 2},
		{"PATCH", http.Header{"If-Match": {`W/"k"`}}, 2},
		{"PATCH", nil, 1},
	}
	for _, tc := range cases {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 1 {
				graphErr(w, 500, "InternalServerError", "oops")
				return
			}
			writeJSON(w, 200, map[string]any{})
		})
		e := newClient(t, f, nil)
		_, _, err := e.c.Do(t.Context(), tc.method, "contacts/x", tc.hdr, []byte(`{}`), nil)
		if got := f.hits.Load(); got != tc.wantHits {
			t.Errorf("%s %v: hits = %d, want %d", tc.method, tc.hdr, got, tc.wantHits)
		}
		var ge *Error
		if tc.wantHits == 1 {
			if !errors.As(err, &ge) || ge.Status != 500 || ge.Code != "InternalServerError" || ge.RequestID != "rid-1" {
				t.Errorf("%s: err = %#v", tc.method, err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.method, err)
		}
	}
}

// resetting answers its first n requests by closing the connection.
func resetting(t *testing.T, n int) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, hit int) {
		if hit <= n {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST
			}
			conn.Close()
			return
		}
		writeJSON(w, 200, map[string]any{"id": "ok"})
	})
}

func TestConnectionReset(t *testing.T) {
	f := resetting(t, 2)
	e := newClient(t, f, nil)
	var out struct{ ID string }
	if _, _, err := e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.ID != "ok" || len(e.sleeps.all()) < 1 {
		t.Errorf("out %+v sleeps %v", out, e.sleeps.all())
	}

	f = resetting(t, 1)
	e = newClient(t, f, nil)
	_, _, err := e.c.Do(t.Context(), "POST", "contacts", nil, []byte(`{}`), nil)
	if err == nil || f.hits.Load() != 1 {
		t.Errorf("POST after a reset: err %v, hits %d (want an error, 1 hit)", err, f.hits.Load())
	}
	noToken(t, err)
}

func TestPerRequestTimeout(t *testing.T) {
	block := func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, 200, map[string]any{})
	}
	f := newFake(t, block)
	e := newClient(t, f, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	start := time.Now()
	if _, _, err := e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 3*time.Second || f.hits.Load() != 2 {
		t.Errorf("took %v, hits %d", time.Since(start), f.hits.Load())
	}

	f = newFake(t, block)
	e = newClient(t, f, func(o *Options) { o.Timeout = 100 * time.Millisecond })
	_, _, err := e.c.Do(t.Context(), "POST", "contacts", nil, []byte(`{}`), nil)
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") || f.hits.Load() != 1 {
		t.Errorf("POST timeout: err %v hits %d", err, f.hits.Load())
	}
}

func Test401RefreshOnce(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			graphErr(w, 401, "InvalidAuthenticationToken", "Access token has expired.")
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	e := newClient(t, f, nil)
	if _, _, err := e.c.Do(t.Context(), "POST", "contacts", nil, []byte(`{}`), nil); err != nil {
		t.Fatal(err)
	}
	if e.tokens.invalidated.Load() != 1 || e.tokens.calls.Load() != 2 || f.hits.Load() != 2 {
		t.Errorf("invalidated %d, token calls %d, hits %d", e.tokens.invalidated.Load(), e.tokens.calls.Load(), f.hits.Load())
	}
	if len(e.sleeps.all()) != 0 {
		t.Errorf("slept on 401: %v", e.sleeps.all())
	}

	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		graphErr(w, 401, "InvalidAuthenticationToken", "bad token "+r.Header.Get("Authorization"))
	})
	e = newClient(t, f, nil)
	_, _, err := e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, nil)
	var ge *Error
	if !errors.As(err, &ge) || ge.Status != 401 || f.hits.Load() != 2 || e.tokens.invalidated.Load() != 1 {
		t.Errorf("second 401: err %v hits %d invalidated %d", err, f.hits.Load(), e.tokens.invalidated.Load())
	}
	noToken(t, err)
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("echoed token not redacted: %v", err)
	}
}

func TestCancelDuringRetryAfter(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "120")
		graphErr(w, 429, "ApplicationThrottled", "wait")
	})
	e := newClient(t, f, func(o *Options) { o.Sleep = nil }) // the real timer
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := e.c.Do(ctx, "GET", "contacts/x", nil, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v", d)
	}
	if f.hits.Load() != 1 {
		t.Errorf("hits %d", f.hits.Load())
	}
}

func TestCancelWhileWaitingForSlot(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		<-release
		writeJSON(w, 200, map[string]any{})
	})
	defer close(release)
	e := newClient(t, f, func(o *Options) { o.MaxInFlight = 1 })
	go e.c.Do(context.Background(), "GET", "contacts/a", nil, nil, nil)
	for e.c.sem.inFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, _, err := e.c.Do(ctx, "GET", "contacts/b", nil, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestThrottledTooLong(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "3600")
		graphErr(w, 429, "ApplicationThrottled", "wait")
	})
	e := newClient(t, f, nil)
	_, _, err := e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "throttled by Graph for longer than 10m0s") || !IsThrottled(err) {
		t.Errorf("err = %v", err)
	}
	if len(e.sleeps.all()) != 0 || f.hits.Load() != 1 {
		t.Errorf("sleeps %v hits %d", e.sleeps.all(), f.hits.Load())
	}
	var ge *Error
	if !errors.As(err, &ge) || ge.RetryAfter != time.Hour {
		t.Errorf("RetryAfter: %#v", ge)
	}
}

func TestBoundedRetries(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Retry-After", "1")
		graphErr(w, 429, "ApplicationThrottled", "wait")
	})
	e := newClient(t, f, func(o *Options) { o.MaxRetries = 3 })
	_, _, err := e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, nil)
	if !IsThrottled(err) || f.hits.Load() != 4 || len(e.sleeps.all()) != 3 {
		t.Errorf("err %v hits %d sleeps %v", err, f.hits.Load(), e.sleeps.all())
	}

	// The back-off without Retry-After grows, and the total wait is capped.
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		graphErr(w, 500, "InternalServerError", "down")
	})
	e = newClient(t, f, func(o *Options) { o.MaxWait = 10 * time.Second })
	_, _, err = e.c.Do(t.Context(), "GET", "contacts/x", nil, nil, nil)
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}
	if got := e.sleeps.all(); len(got) != len(want) || got[3] != want[3] || got[0] != want[0] {
		t.Errorf("back-off %v, want %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "longer than 10s") {
		t.Errorf("err = %v", err)
	}
}

func TestJitter(t *testing.T) {
	c := &Client{rand: func() float64 { return 0.999 }}
	if d := c.backoff(0); d < 999*time.Millisecond || d > time.Second {
		t.Errorf("backoff(0) = %v", d)
	}
	if d := c.backoff(40); d > time.Minute {
		t.Errorf("backoff(40) = %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"5":                             5 * time.Second,
		" 0 ":                           0,
		"1.5":                           1500 * time.Millisecond,
		"-3":                            0,
		"Thu, 01 Jan 2026 12:00:30 GMT": 30 * time.Second,
		"Thu, 01 Jan 2026 11:00:00 GMT": 0,
	} {
		if got, ok := retry.After(v, now); !ok || got != want {
			t.Errorf("%q: %v %v, want %v", v, got, ok, want)
		}
	}
	if _, ok := retry.After("soon", now); ok {
		t.Error("soon parsed")
	}
}

func TestPreferAndPaths(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		writeJSON(w, 200, map[string]any{"id": "u1", "userPrincipalName": "a@b.example"})
	})
	e := newClient(t, f, func(o *Options) { o.Mailbox = "a@b.example" })
	if e.c.Mailbox() != "a@b.example" {
		t.Error(e.c.Mailbox())
	}
	u, err := e.c.Me(t.Context())
	if err != nil || u.ID != "u1" {
		t.Fatal(u, err)
	}
	_, _, _ = e.c.Do(t.Context(), "GET", "contacts?$filter=a eq 'b'", http.Header{"Prefer": {"odata.maxpagesize=5"}, "Authorization": {"Bearer evil"}}, nil, nil)
	_, _, _ = e.c.Do(t.Context(), "GET", "/$metadata", nil, nil, nil)
	rs := f.requests()
	wantPaths := []string{"/v1.0/users/a@b.example", "/v1.0/users/a@b.example/contacts", "/v1.0/$metadata"}
	for i, r := range rs {
		if r.Path != wantPaths[i] {
			t.Errorf("path %q, want %q", r.Path, wantPaths[i])
		}
		if !strings.Contains(r.Header.Get("Prefer"), `IdType="ImmutableId"`) {
			t.Errorf("Prefer = %q", r.Header.Get("Prefer"))
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("Authorization not the token source's")
		}
	}
	if rs[1].Query != "$filter=a%20eq%20'b'" || rs[1].Header.Get("Prefer") != `IdType="ImmutableId", odata.maxpagesize=5` {
		t.Errorf("query %q prefer %q", rs[1].Query, rs[1].Header.Get("Prefer"))
	}
}

func TestNewChecks(t *testing.T) {
	for _, o := range []Options{
		{BaseURL: "https://graph.microsoft.com/v1.0"},
		{Tokens: newFakeTokens()},
		{Tokens: newFakeTokens(), BaseURL: "ftp://x/v1.0"},
		{Tokens: newFakeTokens(), BaseURL: "https://graph.microsoft.com/v1.0?x=1"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	c, err := New(Options{Tokens: newFakeTokens(), BaseURL: "https://graph.microsoft.com/v1.0/"})
	if err != nil || c.Mailbox() != "me" || c.maxIn != 4 || c.pageSize != 500 || c.timeout != time.Minute || c.retries != 8 {
		t.Errorf("defaults: %+v %v", c, err)
	}
}
