package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil"
)

// rotatingIDP is a fake whose refresh grant accepts only the latest refresh
// token and rotates it each time (rt-0 → rt-1 → ...).
type rotatingIDP struct {
	*idp
	mu    sync.Mutex
	n     int
	delay time.Duration
}

func newRotatingIDP(t *testing.T) *rotatingIDP {
	f := &rotatingIDP{idp: newIDP(t)}
	f.token = func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(f.delay)
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Form.Get("grant_type") != "refresh_token" || r.Form.Get("client_id") != testClientID ||
			!strings.Contains(r.Form.Get("scope"), "https://graph.microsoft.com/Contacts.ReadWrite") {
			t.Errorf("refresh form %v", r.Form)
		}
		if r.Form.Get("refresh_token") != fmt.Sprintf("rt-%d", f.n) {
			oauthErr(w, 400, "invalid_grant", "AADSTS70008: The refresh token has expired. Trace ID: 1 Correlation ID: 2")
			return
		}
		f.n++
		tokenOK(w, fmt.Sprintf("at-%d", f.n), fmt.Sprintf("rt-%d", f.n), "")
	}
	return f
}

// loggedInSource is a Source on a rotating IdP answering after delay,
// with a store in which the account is logged in (loggedIn) and the
// clock the Source reads.
func loggedInSource(t *testing.T, delay time.Duration) (*rotatingIDP, *memStore, *testutil.Clock, *Source) {
	t.Helper()
	f := newRotatingIDP(t)
	f.delay = delay
	st, c := newStore(), newClock()
	loggedIn(st, c)
	s, err := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f, st, c, s
}

func loggedIn(st *memStore, c *testutil.Clock) {
	st.toks["work"] = Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: c.Now().Add(-time.Minute),
		User: "alice@contoso.com", Tenant: testTenant, Flow: "device", ClientID: testClientID, Scopes: Endpoints{}.DelegatedScopes()}
}

func TestRefreshRotationStored(t *testing.T) {
	f, st, c, s := loggedInSource(t, 0)
	ctx := context.Background()
	seen := map[string]bool{}
	for i := 1; i <= 3; i++ {
		at, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("at-%d", i); at != want {
			t.Errorf("refresh %d: token %q, want %q", i, at, want)
		}
		// Cached until ~2 minutes before expiry.
		c.Add(57 * time.Minute)
		if again, _ := s.Token(ctx); again != at {
			t.Errorf("refresh %d: cached token %q", i, again)
		}
		c.Add(2 * time.Minute)
		seen[st.get("work").RefreshToken] = true
	}
	if len(st.saves) != 3 || len(seen) != 3 || !seen["rt-3"] {
		t.Errorf("%d saves, stored refresh tokens %v", len(st.saves), seen)
	}
	for _, sv := range st.saves {
		if sv.User != "alice@contoso.com" || sv.Flow != "device" || sv.ClientID != testClientID {
			t.Errorf("save lost the account's fields: %+v", sv)
		}
	}
	if f.count("token") != 3 {
		t.Errorf("%d refreshes", f.count("token"))
	}

	// Invalidate (after a 401): the next Token refreshes although not expired.
	s.Invalidate()
	if at, err := s.Token(ctx); err != nil || at != "at-4" {
		t.Errorf("after Invalidate: %q, %v", at, err)
	}
}

// The rotated refresh token is stored before the access token is handed out;
// when storing fails no token is given, and the next call stores it first.
func TestRefreshSavedBeforeUse(t *testing.T) {
	f, st, _, s := loggedInSource(t, 0)
	st.setFail(errors.New("disk full"))
	at, err := s.Token(context.Background())
	if err == nil || at != "" || !strings.Contains(err.Error(), "storing the new refresh token") || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Token with a failing store = %q, %v", at, err)
	}
	if _, err := s.Token(context.Background()); err == nil {
		t.Fatal("second Token with a failing store succeeded")
	}
	st.setFail(nil)
	at, err = s.Token(context.Background())
	if err != nil || at != "at-1" {
		t.Fatalf("Token after the store recovered = %q, %v", at, err)
	}
	if st.get("work").RefreshToken != "rt-1" || f.count("token") != 1 {
		t.Errorf("stored %q after %d refreshes", st.get("work").RefreshToken, f.count("token"))
	}
}

func TestRefreshInvalidGrantNeedsLogin(t *testing.T) {
	f := newRotatingIDP(t)
	st, c := newStore(), newClock()
	loggedIn(st, c)
	tok := st.toks["work"]
	tok.RefreshToken = "rt-revoked"
	st.toks["work"] = tok
	var logs testutil.LockedBuffer
	s, _ := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now, Logger: debugLogger(&logs)})
	for range 3 {
		_, err := s.Token(context.Background())
		nl := asNeedLogin(t, err)
		if want := "account work needs `cardbridge login work`: AADSTS70008: The refresh token has expired."; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if nl.Account != "work" || nl.Reason != "AADSTS70008: The refresh token has expired." {
			t.Errorf("%+v", nl)
		}
	}
	if n := f.count("token"); n != 1 {
		t.Errorf("%d refresh attempts, want 1 (never retried)", n)
	}
	// A new login (another process) is picked up.
	tok.RefreshToken = "rt-0"
	st.SaveToken(context.Background(), "work", tok)
	if at, err := s.Token(context.Background()); err != nil || at != "at-1" {
		t.Errorf("after a new login: %q, %v", at, err)
	}
}

func TestNotLoggedInAndMismatch(t *testing.T) {
	f := newRotatingIDP(t)
	st, c := newStore(), newClock()
	s, _ := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now})
	if nl := asNeedLogin(t, second(s.Token(context.Background()))); nl.Reason != "not logged in" {
		t.Errorf("reason %q", nl.Reason)
	}
	loggedIn(st, c)
	acc := f.account("")
	acc.ClientID = "99999999-2222-3333-4444-555555555555"
	s, _ = NewSourceWith(acc, st, SourceOptions{Now: c.Now})
	if nl := asNeedLogin(t, second(s.Token(context.Background()))); nl.Reason != "the account's client_id or tenant changed" {
		t.Errorf("reason %q", nl.Reason)
	}
	acc = f.account("")
	acc.Tenant = "fabrikam"
	s, _ = NewSourceWith(acc, st, SourceOptions{Now: c.Now})
	if nl := asNeedLogin(t, second(s.Token(context.Background()))); nl.Reason != "the account's client_id or tenant changed" {
		t.Errorf("reason %q", nl.Reason)
	}
	acc = f.account("")
	acc.Cloud = "usgov"
	s, _ = NewSourceWith(acc, st, SourceOptions{Now: c.Now})
	if nl := asNeedLogin(t, second(s.Token(context.Background()))); !strings.Contains(nl.Reason, "cloud") {
		t.Errorf("reason %q", nl.Reason)
	}
	if f.count("token") != 0 {
		t.Errorf("%d token requests", f.count("token"))
	}
	// A browser login serves a device account (both delegated).
	s, _ = NewSourceWith(f.account("browser"), st, SourceOptions{Now: c.Now})
	if _, err := s.Token(context.Background()); err != nil {
		t.Errorf("browser flow with a device token: %v", err)
	}
}

func second(_ string, err error) error { return err }

func TestConcurrentTokenOneRefresh(t *testing.T) {
	f, _, _, s := loggedInSource(t, 30*time.Millisecond)
	var wg sync.WaitGroup
	got := make([]string, 20)
	errs := make([]error, 20)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = s.Token(context.Background()) })
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != "at-1" {
			t.Errorf("caller %d: %q, %v", i, got[i], errs[i])
		}
	}
	if n := f.count("token"); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
}

func TestTokenContextWhileWaiting(t *testing.T) {
	_, _, _, s := loggedInSource(t, 200*time.Millisecond)
	go s.Token(context.Background())
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting Token with an expiring ctx: %v", err)
	}
}

func TestLogoutAndStateStore(t *testing.T) {
	ctx := context.Background()
	db := statetest.Open(t, filepath.Join(t.TempDir(), "s.db"), state.Options{TokenKey: bytes.Repeat([]byte{1}, state.TokenKeySize)})
	defer db.Close()
	st := StateStore{DB: db}
	c := newClock()
	want := Token{AccessToken: "a", RefreshToken: "r", Expiry: c.Now(), User: "u", Tenant: "t", Flow: "device", ClientID: "c", Scopes: Endpoints{}.DelegatedScopes()}
	if err := st.SaveToken(ctx, "work", want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.LoadToken(ctx, "work")
	if !ok || err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("LoadToken = %+v, %v, %v", got, ok, err)
	}
	if err := Logout(ctx, "work", st); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.LoadToken(ctx, "work"); ok {
		t.Error("token kept after Logout")
	}
}

// TestRefreshScopes: a refresh asks for the delegated scopes with
// MailboxSettings.Read; a token stored by a login from before that scope was
// asked for still refreshes, with its own scopes (no new login needed), and
// anything else stored is a changed configuration.
func TestRefreshScopes(t *testing.T) {
	ep := Endpoints{}
	for _, tc := range []struct {
		name      string
		stored    []string
		wantScope []string // nil: no refresh, a NeedLoginError
	}{
		{"current", ep.DelegatedScopes(), ep.DelegatedScopes()},
		{"signed in before MailboxSettings.Read", ep.contactScopes(), ep.contactScopes()},
		{"no scopes stored", nil, ep.DelegatedScopes()},
		{"other scopes", []string{"https://graph.microsoft.com/Contacts.Read", "offline_access"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newIDP(t)
			var sent []string
			f.token = func(w http.ResponseWriter, r *http.Request) {
				sent = strings.Fields(r.Form.Get("scope"))
				tokenOK(w, "at-1", "rt-1", "")
			}
			st, c := newStore(), newClock()
			loggedIn(st, c)
			tok := st.toks["work"]
			tok.Scopes = tc.stored
			st.toks["work"] = tok
			s, err := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			at, err := s.Token(context.Background())
			if tc.wantScope == nil {
				if nl := asNeedLogin(t, err); !strings.Contains(nl.Reason, "scopes changed") || f.count("token") != 0 {
					t.Errorf("reason %q after %d refreshes", nl.Reason, f.count("token"))
				}
				return
			}
			if err != nil || at != "at-1" {
				t.Fatalf("Token: %q, %v", at, err)
			}
			if !slices.Equal(sent, tc.wantScope) {
				t.Errorf("refresh asked for %v, want %v", sent, tc.wantScope)
			}
			if got := st.get("work").Scopes; !slices.Equal(got, tc.wantScope) {
				t.Errorf("stored scopes %v, want %v", got, tc.wantScope)
			}
		})
	}
}

// TestRotatedRefreshTokenSurvivesACrash: when Token hands out the access
// token of a refresh, the rotated refresh token is already in the state
// database, so a process that dies right after (the Source and its database
// handle dropped without a close) leaves the next one a refresh token the
// identity platform still takes; the old one it would refuse.
func TestRotatedRefreshTokenSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	f := newRotatingIDP(t)
	path := filepath.Join(t.TempDir(), "s.db")
	key := bytes.Repeat([]byte{7}, state.TokenKeySize)
	c := newClock()
	for run := 1; run <= 3; run++ {
		db := statetest.Open(t, path, state.Options{TokenKey: key}) // closed only at the end: each run "crashes" with it open
		st := StateStore{DB: db}
		if run == 1 {
			mem := newStore()
			loggedIn(mem, c)
			if err := st.SaveToken(ctx, "work", mem.toks["work"]); err != nil {
				t.Fatal(err)
			}
		}
		s, err := NewSourceWith(f.account(""), st, SourceOptions{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		at, err := s.Token(ctx)
		if want := fmt.Sprintf("at-%d", run); err != nil || at != want {
			t.Fatalf("run %d: Token %q, %v; want %s", run, at, err, want)
		}
		// Read the database as another process would, at the moment the
		// access token is handed out.
		other := statetest.Open(t, path, state.Options{TokenKey: key})
		got, _, err := StateStore{DB: other}.LoadToken(ctx, "work")
		other.Close()
		if want := fmt.Sprintf("rt-%d", run); err != nil || got.RefreshToken != want {
			t.Fatalf("run %d: stored refresh token %q (%v) when the access token was handed out, want %s", run, got.RefreshToken, err, want)
		}
		c.Add(2 * time.Hour) // "crash": no Close, the next process starts after the token expired
	}
}
