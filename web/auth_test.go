package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/authguard"
)

// TestSignInBackoff: after the guard's free failures a sign-in is answered
// 429 with Retry-After and not checked (the right password too), each
// failure is logged once with via=web; after the wait the right password
// works again.
func TestSignInBackoff(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for i := range authguard.DefaultFreeFailures {
		if st, _, _ := b.post("/ui/login", "", url.Values{"user": {"alice"}, "password": {"guess" + strconv.Itoa(i)}}); st != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i, st)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.ui.URL+"/ui/login", strings.NewReader(url.Values{"user": {"alice"}, "password": {"alice-pw"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("right password while throttled: %d, Retry-After %q; want 429 with one", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := countSessions(t, e.db); n != 0 {
		t.Fatalf("%d sessions", n)
	}
	n := strings.Count(e.logs.String(), `msg="authentication failed" remote=127.0.0.1 user=alice via=web reason=password`)
	if n != authguard.DefaultFreeFailures || !strings.Contains(e.logs.String(), "via=web reason=throttled") {
		t.Fatalf("%d failure lines, want %d and a throttled one:\n%s", n, authguard.DefaultFreeFailures, e.logs.String())
	}
	e.clock.Add(authguard.DefaultBaseDelay)
	b.signIn("alice")
}

// TestSignInForeignHost: a sign-in whose Host is not this server's (a page
// of another site rebound to this address) is refused with the right
// password; an accepted one is given by AllowHost.
func TestSignInForeignHost(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, host := range []string{"evil.example", "evil.example:" + mustURL(t, e.ui.URL).Port(), "127.0.0.1.evil.example"} {
		req, _ := http.NewRequest(http.MethodPost, e.ui.URL+"/ui/login", strings.NewReader(url.Values{"user": {"alice"}, "password": {"alice-pw"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Host = host
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("Host %s: %d, Set-Cookie %q; want 403 and no cookie", host, resp.StatusCode, resp.Header.Get("Set-Cookie"))
		}
	}
	if n := countSessions(t, e.db); n != 0 {
		t.Fatalf("%d sessions after foreign-Host sign-ins", n)
	}
	b.signIn("alice") // the server's own host
}

// TestSameHost: Host values compared with default ports and case.
func TestSameHost(t *testing.T) {
	for _, c := range []struct {
		a, b, scheme string
		want         bool
	}{
		{"dav.example.com", "dav.example.com", "https", true},
		{"DAV.example.com:443", "dav.example.com", "https", true},
		{"dav.example.com:80", "dav.example.com", "https", false},
		{"dav.example.com", "dav.example.com:80", "http", true},
		{"dav.example.com.", "dav.example.com", "https", true},
		{"[::1]:5232", "[::1]:5232", "http", true},
		{"127.0.0.1:5232", "127.0.0.1:5233", "http", false},
		{"evil.example", "dav.example.com", "https", false},
		{"", "dav.example.com", "https", false},
	} {
		if got := SameHost(c.a, c.b, c.scheme); got != c.want {
			t.Errorf("SameHost(%q, %q, %s) = %v", c.a, c.b, c.scheme, got)
		}
	}
}

// TestSessionLifetime: a session used every hour still ends
// DefaultSessionLifetime after sign-in; one left unused ends after
// DefaultSessionIdle.
func TestSessionLifetime(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	for used := time.Duration(0); used < DefaultSessionLifetime-time.Hour; used += time.Hour {
		e.clock.Add(time.Hour)
		if st, loc, _ := b.get("/ui/"); st != http.StatusOK {
			t.Fatalf("after %s of use: %d %s", used+time.Hour, st, loc)
		}
	}
	e.clock.Add(time.Hour)
	if st, loc, _ := b.get("/ui/"); st != http.StatusSeeOther || !strings.Contains(loc, "m=expired") {
		t.Fatalf("at the lifetime: %d %s, want the sign-in page (expired)", st, loc)
	}

	b2 := e.browser()
	b2.signIn("bob")
	e.clock.Add(DefaultSessionIdle)
	if st, _, _ := b2.get("/ui/"); st != http.StatusSeeOther {
		t.Fatalf("after the idle time: %d", st)
	}
}
