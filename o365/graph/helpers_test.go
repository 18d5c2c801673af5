package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// testToken is the bearer token of the tests; it must never show up in
// an error or a log line.
const testToken = "SECRET-token-4f1c9e77"

// fakeTokens is a TokenSource counting its calls.
type fakeTokens struct {
	tok         atomic.Value // string
	calls       atomic.Int32
	invalidated atomic.Int32
}

func newFakeTokens() *fakeTokens {
	f := &fakeTokens{}
	f.tok.Store(testToken)
	return f
}

func (f *fakeTokens) Token(context.Context) (string, error) {
	f.calls.Add(1)
	return f.tok.Load().(string), nil
}

func (f *fakeTokens) Invalidate() { f.invalidated.Add(1) }

// sleeps records the waits a Client asked for (they take no time).
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// fake is an httptest server counting hits.
type fake struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	reqs []*recorded
}

type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

func newFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.hits.Add(1))
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		f.mu.Lock()
		f.reqs = append(f.reqs, &recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: b})
		f.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests() []*recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*recorded(nil), f.reqs...)
}

type env struct {
	c      *Client
	tokens *fakeTokens
	sleeps *sleeps
	logs   *testutil.LockedBuffer
}

// newWith makes a Client with o as mod (nil: none) changes them.
func newWith(t *testing.T, o Options, mod func(o *Options)) *Client {
	t.Helper()
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newClient makes a Client on f with fake sleeps, no jitter (Rand 0) and
// a debug log captured; mod changes the options.
func newClient(t *testing.T, f *fake, mod func(o *Options)) *env {
	t.Helper()
	e := &env{tokens: newFakeTokens(), sleeps: &sleeps{}, logs: &testutil.LockedBuffer{}}
	o := Options{
		BaseURL: f.URL + "/v1.0",
		Mailbox: "me",
		Tokens:  e.tokens,
		Sleep:   e.sleeps.sleep,
		Rand:    func() float64 { return 0 },
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Timeout: 5 * time.Second,
	}
	e.c = newWith(t, o, mod)
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), testToken) {
			t.Errorf("the token reached the log:\n%s", e.logs.String())
		}
	})
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func graphErr(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"request-id": "rid-1", "date": "2026-01-01T00:00:00"}}})
}

// noToken fails when err's text holds the token.
func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("the token reached an error: %v", err)
	}
}
