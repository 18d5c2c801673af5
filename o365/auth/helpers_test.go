package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/testutil"
)

const (
	testTenant   = "contoso"
	testClientID = "11111111-2222-3333-4444-555555555555"
)

// idp is a fake identity platform: handlers by endpoint name.
type idp struct {
	srv        *httptest.Server
	mu         sync.Mutex
	calls      map[string]int
	token      func(w http.ResponseWriter, r *http.Request)
	devicecode func(w http.ResponseWriter, r *http.Request)
	authorize  func(w http.ResponseWriter, r *http.Request)
	polls      []time.Time // when the device code polls arrived
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	f := &idp{calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := "/" + testTenant + "/oauth2/v2.0/"
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			t.Errorf("request to %s", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("%s: Content-Type %q", name, ct)
			}
			r.ParseForm()
		}
		f.mu.Lock()
		f.calls[name]++
		h := map[string]func(http.ResponseWriter, *http.Request){"token": f.token, "devicecode": f.devicecode, "authorize": f.authorize}[name]
		f.mu.Unlock()
		if h == nil {
			t.Errorf("unexpected call to %s", name)
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *idp) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// account is a delegated account of the fake.
func (f *idp) account(flow string) config.Account {
	return config.Account{Name: "work", Tenant: testTenant, ClientID: testClientID, Flow: flow, LoginURL: f.srv.URL + "/"}
}

func (f *idp) tokenURL() string { return f.srv.URL + "/" + testTenant + "/oauth2/v2.0/token" }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{70008},
		"trace_id": "0c1d2e3f-0000-1111-2222-333344445555", "correlation_id": "aaaa-bbbb"})
}

func tokenOK(w http.ResponseWriter, at, rt, idToken string) {
	m := map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": at, "scope": "x"}
	if rt != "" {
		m["refresh_token"] = rt
	}
	if idToken != "" {
		m["id_token"] = idToken
	}
	writeJSON(w, http.StatusOK, m)
}

// fakeJWT is an unsigned JWT with claims.
func fakeJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString(b) + ".sig"
}

// memStore is an in-memory Store recording every save.
type memStore struct {
	mu      sync.Mutex
	toks    map[string]Token
	saves   []Token
	failErr error
}

func newStore() *memStore { return &memStore{toks: map[string]Token{}} }

func (m *memStore) LoadToken(_ context.Context, a string) (Token, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.toks[a]
	t.Scopes = slices.Clone(t.Scopes)
	return t, ok, nil
}

func (m *memStore) SaveToken(_ context.Context, a string, t Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failErr != nil {
		return m.failErr
	}
	m.toks[a] = t
	m.saves = append(m.saves, t)
	return nil
}

func (m *memStore) DeleteToken(_ context.Context, a string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.toks, a)
	return nil
}

func (m *memStore) get(a string) Token {
	t, _, _ := m.LoadToken(context.Background(), a)
	return t
}

func (m *memStore) setFail(err error) {
	m.mu.Lock()
	m.failErr = err
	m.mu.Unlock()
}

// newClock is a settable clock at a fixed start.
func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC))
}

// debugLogger is a debug-level slog logger writing to w.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// asNeedLogin returns err as a *NeedLoginError or fails.
func asNeedLogin(t *testing.T, err error) *NeedLoginError {
	t.Helper()
	var nl *NeedLoginError
	if !errors.As(err, &nl) {
		t.Fatalf("error %v (%T), want a *NeedLoginError", err, err)
	}
	return nl
}

// handlerTransport runs requests through an http.Handler in the calling
// goroutine: no network, so a testing/synctest bubble's fake clock moves on
// while golang.org/x/oauth2 waits between device code polls.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// inproc is a client that talks to the fake in process (see handlerTransport).
func (f *idp) inproc() *http.Client {
	return &http.Client{Transport: handlerTransport{f.srv.Config.Handler}}
}
