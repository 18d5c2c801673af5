package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// noBackoffGuard is a guard that never throttles: for the tests of what
// wrong credentials are answered, which send many of them.
func noBackoffGuard(t *testing.T, db *state.DB) *authguard.Guard {
	t.Helper()
	g, err := authguard.New(authguard.Options{Hashes: db, FreeFailures: 1 << 30, MaxQueue: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestAuthBackoff: with the default guard, five wrong passwords are
// answered 401, then the client must wait: 429 with Retry-After, and the
// password is not even checked (the right one is refused too). Each
// failure is one log line naming the address, the user and the front end.
func TestAuthBackoff(t *testing.T) { pgtest.ForBackends(t, testAuthBackoff) }

func testAuthBackoff(t *testing.T, be pgtest.Backend) {
	var logs testutil.LockedBuffer
	ts := newTestServer(t, be, func(o *Options) {
		o.Guard = nil // the defaults
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for i := range authguard.DefaultFreeFailures {
		resp, _ := ts.do("PROPFIND", "/addressbooks/alice/", "!alice", map[string]string{"Depth": "0"}, "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i, resp.StatusCode)
		}
	}
	for _, user := range []string{"!alice", "alice"} {
		resp, body := ts.do("PROPFIND", "/addressbooks/alice/", user, map[string]string{"Depth": "0"}, "")
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s after %d failures: %d, want 429", user, authguard.DefaultFreeFailures, resp.StatusCode)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		if strings.Contains(body, "alice") {
			t.Errorf("429 body names the user: %s", body)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != authguard.DefaultFreeFailures+2 {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), authguard.DefaultFreeFailures+2, logs.String())
	}
	for i, l := range lines {
		want := `level=WARN msg="authentication failed" remote=127.0.0.1 user=alice via=carddav reason=password`
		if i >= authguard.DefaultFreeFailures {
			want = strings.Replace(want, "password", "throttled", 1)
		}
		if !strings.HasSuffix(l, want) {
			t.Errorf("line %d: %s\nwant …%s", i, l, want)
		}
	}
}

// TestAuthForwardedFor: the address logged and counted is the peer's,
// unless the peer is a trusted proxy: then X-Forwarded-For's.
func TestAuthForwardedFor(t *testing.T) { pgtest.ForBackends(t, testAuthForwardedFor) }

func testAuthForwardedFor(t *testing.T, be pgtest.Backend) {
	for _, c := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"loopback not trusted by default", nil, "remote=127.0.0.1 "},
		{"trusted loopback proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, "remote=198.51.100.7 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs testutil.LockedBuffer
			ts := newTestServer(t, be, func(o *Options) {
				g, err := authguard.New(authguard.Options{Hashes: o.Store, TrustedProxies: c.trusted,
					Logger: slog.New(slog.NewTextHandler(&logs, nil))})
				if err != nil {
					t.Fatal(err)
				}
				o.Guard = g
			})
			ts.do("PROPFIND", "/addressbooks/alice/", "!alice", map[string]string{"Depth": "0", "X-Forwarded-For": "6.6.6.6, 198.51.100.7"}, "")
			if !strings.Contains(logs.String(), c.want) {
				t.Fatalf("log %q, want %q", logs.String(), c.want)
			}
		})
	}
}

// TestAuthFloodDoesNotHoldUpKnownClients: while 20 clients with wrong
// passwords hold every bcrypt slot and the queue (their compares blocked
// in the injected hook), at most MaxConcurrent compares run, the surplus
// gets 503 with Retry-After at once, and alice, whose password was
// verified a moment ago, is served without a compare.
func TestAuthFloodDoesNotHoldUpKnownClients(t *testing.T) {
	pgtest.ForBackends(t, testAuthFloodDoesNotHoldUpKnownClients)
}

func testAuthFloodDoesNotHoldUpKnownClients(t *testing.T, be pgtest.Backend) {
	var running, peak, calls atomic.Int64
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release()
	ts := newTestServer(t, be, func(o *Options) {
		g, err := authguard.New(authguard.Options{Hashes: o.Store, FreeFailures: 1 << 30, MaxConcurrent: 2, MaxQueue: 4, QueueWait: time.Hour,
			Compare: func(hash, pass []byte) error {
				calls.Add(1)
				n := running.Add(1)
				defer running.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if string(pass) != "alice-pw" {
					<-gate
				}
				return bcrypt.CompareHashAndPassword(hash, pass)
			}})
		if err != nil {
			t.Fatal(err)
		}
		o.Guard = g
	})
	ts.expect("PROPFIND", "/addressbooks/alice/", "alice", map[string]string{"Depth": "0"}, "", http.StatusMultiStatus)
	before := calls.Load()

	codes := make(chan int, 20)
	for i := range 20 {
		go func() {
			req, _ := http.NewRequest("PROPFIND", ts.srv.URL+"/addressbooks/alice/", nil)
			req.SetBasicAuth(fmt.Sprint("user", i), "wrong")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				codes <- -2
				return
			}
			codes <- resp.StatusCode
		}()
	}
	for range 14 { // 2 running + 4 queued; the other 14 are refused at once
		if c := <-codes; c != http.StatusServiceUnavailable {
			t.Fatalf("a surplus bad client got %d, want 503 with Retry-After", c)
		}
	}
	ts.expect("GET", "/addressbooks/alice/", "alice", nil, "", http.StatusOK)
	if calls.Load() != before+2 { // only the two running bad ones were compared since
		t.Errorf("%d compares since alice's first request, want 2 (alice's cached password needs none)", calls.Load()-before)
	}
	release()
	for range 6 {
		if c := <-codes; c != http.StatusUnauthorized {
			t.Fatalf("a waiting bad client got %d, want 401", c)
		}
	}
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d compares at once, want at most 2", p)
	}
}
