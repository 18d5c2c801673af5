package authguard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
)

// fakeHashes is a HashSource of fixed users; a hash of "!err" fails.
type fakeHashes map[string]string

func (f fakeHashes) UserPasswordHash(_ context.Context, user string) (string, error) {
	h, ok := f[user]
	switch {
	case !ok:
		return "", fmt.Errorf("user %s: %w", user, state.ErrNotFound)
	case h == "!err":
		return "", errors.New("disk on fire")
	}
	return h, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// compareCounter is a Compare hook: "hash" h matches password h, it counts
// calls and the most running at once, and blocks while gate is closed.
type compareCounter struct {
	calls, running, peak atomic.Int64
	gate                 chan struct{} // nil: never blocks
	entered              chan struct{} // receives one value per call, when not nil
}

func (c *compareCounter) compare(hash, pass []byte) error {
	c.calls.Add(1)
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if c.entered != nil {
		c.entered <- struct{}{}
	}
	if c.gate != nil {
		<-c.gate
	}
	if string(hash) == "h:"+string(pass) {
		return nil
	}
	return bcrypt.ErrMismatchedHashAndPassword
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func newTestGuard(t *testing.T, o Options) (*Guard, *fakeClock, *compareCounter) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	cc := &compareCounter{}
	if o.Hashes == nil {
		o.Hashes = fakeHashes{"frank": "h:frank-pw", "gina": "h:gina-pw"}
	}
	if o.Compare == nil {
		o.Compare = cc.compare
	}
	o.Now = clk.now
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return g, clk, cc
}

// TestBackoff: FreeFailures wrong passwords are checked, then each attempt
// must wait BaseDelay doubling up to MaxDelay; an early attempt is refused
// unchecked with the time left, even with the right password.
func TestBackoff(t *testing.T) {
	g, clk, cc := newTestGuard(t, Options{FreeFailures: 3, BaseDelay: time.Second, MaxDelay: 8 * time.Second})
	ctx := context.Background()
	a := addr("192.0.2.7")
	for i := range 3 {
		if d := g.Check(ctx, a, "carddav", "frank", fmt.Sprint("guess", i)); d.Outcome != Denied {
			t.Fatalf("free failure %d: %v", i, d.Outcome)
		}
	}
	steps := []struct {
		wait time.Duration // the wait the guard must ask for
	}{{time.Second}, {2 * time.Second}, {4 * time.Second}, {8 * time.Second}, {8 * time.Second}, {8 * time.Second}}
	for i, s := range steps {
		calls := cc.calls.Load()
		d := g.Check(ctx, a, "carddav", "frank", "frank-pw")
		if d.Outcome != Throttled || d.RetryAfter != s.wait {
			t.Fatalf("step %d: %v after %s, want throttled for %s", i, d.Outcome, d.RetryAfter, s.wait)
		}
		if cc.calls.Load() != calls {
			t.Fatalf("step %d: a throttled attempt was compared", i)
		}
		clk.add(s.wait - time.Millisecond)
		if d := g.Check(ctx, a, "carddav", "frank", "x"); d.Outcome != Throttled || d.RetryAfter != time.Millisecond {
			t.Fatalf("step %d: 1 ms early: %+v", i, d)
		}
		clk.add(time.Millisecond)
		if d := g.Check(ctx, a, "carddav", "frank", fmt.Sprint("late", i)); d.Outcome != Denied {
			t.Fatalf("step %d: on time: %v", i, d.Outcome)
		}
	}
	// After Forget without failures the counters are gone.
	clk.add(DefaultForget)
	if d := g.Check(ctx, a, "carddav", "frank", "frank-pw"); !d.OK() {
		t.Fatalf("after Forget: %v", d.Outcome)
	}
}

// TestBackoffPerAddressAndPerUser: failures spread over addresses still
// hold the user back, and failures spread over users still hold the
// address back; a success resets the user's counter.
func TestBackoffPerAddressAndPerUser(t *testing.T) {
	ctx := context.Background()
	t.Run("one user, many addresses", func(t *testing.T) {
		g, _, _ := newTestGuard(t, Options{FreeFailures: 3})
		for i := range 3 {
			g.Check(ctx, addr(fmt.Sprintf("198.51.100.%d", i+1)), "web", "frank", "guess")
		}
		if d := g.Check(ctx, addr("198.51.100.99"), "web", "frank", "frank-pw"); d.Outcome != Throttled {
			t.Fatalf("4th address: %v, want throttled", d.Outcome)
		}
		if d := g.Check(ctx, addr("198.51.100.99"), "web", "gina", "gina-pw"); !d.OK() {
			t.Fatalf("another user from a fresh address: %v", d.Outcome)
		}
	})
	t.Run("one address, many users", func(t *testing.T) {
		g, _, _ := newTestGuard(t, Options{FreeFailures: 3})
		a := addr("203.0.113.5")
		for i := range 3 {
			g.Check(ctx, a, "web", fmt.Sprintf("user%d", i), "guess")
		}
		if d := g.Check(ctx, a, "web", "gina", "gina-pw"); d.Outcome != Throttled {
			t.Fatalf("4th user from the address: %v, want throttled", d.Outcome)
		}
	})
	t.Run("IPv6 counted per /64", func(t *testing.T) {
		g, _, _ := newTestGuard(t, Options{FreeFailures: 3})
		for i := range 3 {
			g.Check(ctx, addr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "web", fmt.Sprint("u", i), "guess")
		}
		if d := g.Check(ctx, addr("2001:db8:1:2:ffff::1"), "web", "gina", "gina-pw"); d.Outcome != Throttled {
			t.Fatalf("same /64: %v, want throttled", d.Outcome)
		}
		if d := g.Check(ctx, addr("2001:db8:1:3::1"), "web", "gina", "gina-pw"); !d.OK() {
			t.Fatalf("another /64: %v", d.Outcome)
		}
	})
	t.Run("success resets the user's own failures", func(t *testing.T) {
		g, clk, _ := newTestGuard(t, Options{FreeFailures: 3})
		home := addr("198.51.100.50")
		for range 2 { // frank mistypes twice at home
			g.Check(ctx, home, "web", "frank", "typo")
		}
		if d := g.Check(ctx, home, "web", "frank", "frank-pw"); !d.OK() {
			t.Fatal(d.Outcome)
		}
		for i := range 3 { // the reset gave the user counter its 3 free failures back
			if d := g.Check(ctx, addr(fmt.Sprintf("198.51.100.%d", i+10)), "web", "frank", "guess"); d.Outcome != Denied {
				t.Fatalf("failure %d after the reset: %v", i, d.Outcome)
			}
		}
		clk.add(time.Second) // let the next guess through the 1 s wait
		if d := g.Check(ctx, addr("198.51.100.20"), "web", "frank", "guess"); d.Outcome != Denied {
			t.Fatal(d.Outcome)
		}
		// frank signs in again from a new device: the guesses made
		// elsewhere stay counted.
		if d := g.Check(ctx, addr("192.0.2.99"), "web", "frank", "frank-pw"); d.Outcome != Throttled {
			t.Fatalf("a new device during the guessing: %v, want throttled", d.Outcome)
		}
		clk.add(2 * time.Second)
		if d := g.Check(ctx, addr("192.0.2.99"), "web", "frank", "frank-pw"); !d.OK() {
			t.Fatal(d.Outcome)
		}
		if d := g.Check(ctx, addr("198.51.100.21"), "web", "frank", "guess"); d.Outcome != Denied {
			t.Fatal(d.Outcome) // the 2 s wait was over
		}
		if d := g.Check(ctx, addr("198.51.100.22"), "web", "frank", "guess"); d.Outcome != Throttled || d.RetryAfter != 4*time.Second {
			t.Fatalf("a guess after frank's new sign-in: %+v, want throttled for 4 s (no fresh free attempts)", d)
		}
	})
}

// TestKnownAddressNotLockedOut: once frank signed in from home, guessing
// his password elsewhere throttles the other addresses but not home.
func TestKnownAddressNotLockedOut(t *testing.T) {
	g, clk, _ := newTestGuard(t, Options{FreeFailures: 3, CacheTTL: time.Minute})
	ctx := context.Background()
	home := addr("192.0.2.10")
	if d := g.Check(ctx, home, "carddav", "frank", "frank-pw"); !d.OK() {
		t.Fatal(d.Outcome)
	}
	for i := range 10 {
		g.Check(ctx, addr(fmt.Sprintf("203.0.113.%d", i+1)), "carddav", "frank", "guess")
	}
	if d := g.Check(ctx, addr("203.0.113.200"), "carddav", "frank", "frank-pw"); d.Outcome != Throttled {
		t.Fatalf("right password from a new address during the attack: %v, want throttled", d.Outcome)
	}
	if d := g.Check(ctx, home, "carddav", "frank", "frank-pw"); !d.OK() {
		t.Fatalf("home, cached: %v", d.Outcome)
	}
	clk.add(2 * time.Minute) // the cached password expired: bcrypt again
	if d := g.Check(ctx, home, "carddav", "frank", "frank-pw"); !d.OK() {
		t.Fatalf("home, after the cache: %v", d.Outcome)
	}
}

// TestCachedPasswordNotAnOracle: while frank is throttled, the right
// password from an unknown address is not recognised from the cache.
func TestCachedPasswordNotAnOracle(t *testing.T) {
	g, _, _ := newTestGuard(t, Options{FreeFailures: 2})
	ctx := context.Background()
	g.Check(ctx, addr("192.0.2.10"), "carddav", "frank", "frank-pw") // cached now
	for i := range 2 {
		g.Check(ctx, addr(fmt.Sprintf("203.0.113.%d", i+1)), "carddav", "frank", "guess")
	}
	if d := g.Check(ctx, addr("203.0.113.99"), "carddav", "frank", "frank-pw"); d.Outcome != Throttled {
		t.Fatalf("%v, want throttled", d.Outcome)
	}
}

// TestParallelGuessesCountedUpFront: 30 parallel guesses for one user get
// at most FreeFailures compares; the rest are throttled.
func TestParallelGuessesCountedUpFront(t *testing.T) {
	g, _, cc := newTestGuard(t, Options{FreeFailures: 4, MaxConcurrent: 30, MaxQueue: 30})
	cc.gate = make(chan struct{})
	var wg sync.WaitGroup
	var throttled atomic.Int64
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := g.Check(context.Background(), addr(fmt.Sprintf("198.51.100.%d", i+1)), "web", "frank", fmt.Sprint("guess", i)); d.Outcome == Throttled {
				throttled.Add(1)
			}
		}()
	}
	testutil.WaitFor(t, hangGuard, "26 throttled and 4 running", func() bool { return throttled.Load() == 26 && cc.running.Load() == 4 })
	close(cc.gate)
	wg.Wait()
	if n := cc.calls.Load(); n != 4 {
		t.Fatalf("%d compares, want 4", n)
	}
}

// TestParallelSameCredentialsShareACheck: a burst of attempts with the same
// right password from one address (a phone's first parallel requests, a
// balancer's after a restart), more than FreeFailures at once, is one
// compare and all OK, not throttled as guesses; a burst of one wrong
// password is one compare, one failure counted, all denied.
func TestParallelSameCredentialsShareACheck(t *testing.T) {
	for _, tc := range []struct {
		pass string
		want Outcome
	}{{"frank-pw", OK}, {"wrong", Denied}} {
		t.Run(tc.pass, func(t *testing.T) {
			g, _, cc := newTestGuard(t, Options{FreeFailures: 4, MaxConcurrent: 30, MaxQueue: 30})
			cc.gate = make(chan struct{})
			cc.entered = make(chan struct{}, 30)
			results := make(chan Outcome, 16)
			for range 16 {
				go func() {
					results <- g.Check(context.Background(), addr("198.51.100.7"), "carddav", "frank", tc.pass).Outcome
				}()
			}
			<-cc.entered // the first compare runs; the others come to wait on it
			testutil.WaitFor(t, hangGuard, "15 waiting on the first compare", func() bool {
				g.mu.Lock()
				defer g.mu.Unlock()
				for _, f := range g.flights {
					return len(g.flights) == 1 && f.waiters == 15
				}
				return false
			})
			close(cc.gate)
			for range 16 {
				if o := <-results; o != tc.want {
					t.Errorf("an attempt: %v, want %v", o, tc.want)
				}
			}
			if n := cc.calls.Load(); n != 1 {
				t.Errorf("%d compares for one password, want 1", n)
			}
			g.mu.Lock()
			c, _ := g.byAddr.get("198.51.100.7", func(counter) bool { return true })
			g.mu.Unlock()
			if want := map[Outcome]int{OK: 0, Denied: 1}[tc.want]; c.failures != want {
				t.Errorf("failures counted for the address: %d", c.failures)
			}
		})
	}
}

// TestBoundedCompares: at most MaxConcurrent compares run at once, at most
// MaxQueue attempts wait, the others are refused as Busy at once; the
// waiting ones are compared when slots free.
func TestBoundedCompares(t *testing.T) {
	g, _, cc := newTestGuard(t, Options{MaxConcurrent: 2, MaxQueue: 3, QueueWait: time.Hour})
	cc.gate = make(chan struct{})
	results := make(chan Outcome, 10)
	for i := range 10 {
		go func() {
			// distinct users and addresses: no backoff in play
			d := g.Check(context.Background(), addr(fmt.Sprintf("198.51.100.%d", i+1)), "carddav", fmt.Sprint("user", i), "guess")
			results <- d.Outcome
		}()
	}
	busy := 0
	for range 5 {
		if o := <-results; o != Busy {
			t.Fatalf("got %v before any compare ended, want busy", o)
		}
		busy++
	}
	testutil.WaitFor(t, hangGuard, "3 waiting and 2 running", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.waiting == 3 && cc.running.Load() == 2
	})
	close(cc.gate)
	for range 5 {
		if o := <-results; o != Denied {
			t.Fatalf("a waiting attempt: %v, want denied", o)
		}
	}
	if p := cc.peak.Load(); p > 2 {
		t.Fatalf("%d compares ran at once, want at most 2", p)
	}
	if n := cc.calls.Load(); n != 5 {
		t.Fatalf("%d compares, want 5", n)
	}
}

// TestCachedDoesNotWait: with every compare slot taken and the queue full,
// a client whose password was verified recently is answered from the
// cache, and a busy attempt does not count as a failure.
func TestCachedDoesNotWait(t *testing.T) {
	g, _, cc := newTestGuard(t, Options{MaxConcurrent: 1, MaxQueue: 1, QueueWait: time.Hour, FreeFailures: 1})
	ctx := context.Background()
	home := addr("192.0.2.10")
	if d := g.Check(ctx, home, "carddav", "frank", "frank-pw"); !d.OK() {
		t.Fatal(d.Outcome)
	}
	cc.gate = make(chan struct{})
	done := make(chan Outcome, 2)
	go func() { done <- g.Check(ctx, addr("203.0.113.1"), "carddav", "x1", "guess").Outcome }()
	testutil.WaitFor(t, hangGuard, "one running", func() bool { return cc.running.Load() == 1 })
	go func() { done <- g.Check(ctx, addr("203.0.113.2"), "carddav", "x2", "guess").Outcome }()
	testutil.WaitFor(t, hangGuard, "one waiting", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.waiting == 1 })
	if d := g.Check(ctx, addr("203.0.113.3"), "carddav", "gina", "guess"); d.Outcome != Busy {
		t.Fatalf("with the queue full: %v, want busy", d.Outcome)
	}
	cached := make(chan Outcome, 1)
	go func() { cached <- g.Check(ctx, home, "carddav", "frank", "frank-pw").Outcome }()
	select {
	case o := <-cached:
		if o != OK {
			t.Fatalf("cached: %v", o)
		}
	case <-time.After(30 * time.Second): // a watchdog, not a timing bound: it would wait an hour
		t.Fatal("the cached password waited for a compare slot")
	}
	close(cc.gate)
	<-done
	<-done
	// gina's busy attempt was not a failure: her first wrong password is.
	if d := g.Check(ctx, addr("203.0.113.50"), "carddav", "gina", "gina-pw"); !d.OK() {
		t.Fatalf("gina after a busy refusal: %v", d.Outcome)
	}
}

// TestTablesBounded: 20,000 attempts rotating users and addresses keep
// every table at MaxEntries.
func TestTablesBounded(t *testing.T) {
	hashes := fakeHashes{}
	for i := range 300 {
		hashes[fmt.Sprint("u", i)] = fmt.Sprint("h:pw", i)
	}
	g, _, _ := newTestGuard(t, Options{Hashes: hashes, MaxEntries: 100})
	ctx := context.Background()
	for i := range 20000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		pass := "guess"
		if i%2 == 0 {
			pass = fmt.Sprint("pw", i%300)
		}
		g.Check(ctx, a, "carddav", fmt.Sprint("u", i%300), pass)
		g.Check(ctx, a, "carddav", fmt.Sprintf("nobody%d", i), "guess")
	}
	for name, n := range map[string]int{"by address": g.byAddr.len(), "by user": g.byUser.len(), "by pair": g.byPair.len(), "known": g.known.len(), "cache": g.cache.len()} {
		if n > 100 {
			t.Errorf("%s: %d entries, want at most 100", name, n)
		}
	}
}

// TestLongPasswordRefused: bcrypt compares 72 bytes only; a longer
// password is refused without a compare even when its first 72 bytes are
// right.
func TestLongPasswordRefused(t *testing.T) {
	pw := strings.Repeat("p", 72)
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pw+"anything")) != nil {
		t.Fatal("bcrypt itself no longer ignores bytes beyond 72: this test's premise changed")
	}
	g, err := New(Options{Hashes: fakeHashes{"frank": string(hash)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if d := g.Check(ctx, addr("192.0.2.1"), "web", "frank", pw+"anything"); d.Outcome != Denied {
		t.Fatalf("73+ bytes: %v, want denied", d.Outcome)
	}
	if d := g.Check(ctx, addr("192.0.2.1"), "web", "frank", pw); !d.OK() {
		t.Fatalf("exactly 72 bytes: %v", d.Outcome)
	}
}

// TestUnavailable: a hash that cannot be read is not a failure of the user
// (not counted, not in the failure log fail2ban reads).
func TestUnavailable(t *testing.T) {
	var buf bytes.Buffer
	g, _, cc := newTestGuard(t, Options{Hashes: fakeHashes{"frank": "!err"}, FreeFailures: 1, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	for range 3 {
		if d := g.Check(context.Background(), addr("192.0.2.1"), "web", "frank", "x"); d.Outcome != Unavailable || d.RetryAfterSeconds() < 1 {
			t.Fatalf("%+v, want unavailable with a retry", d)
		}
	}
	if cc.calls.Load() != 0 {
		t.Fatal("compared without a hash")
	}
	if strings.Contains(buf.String(), "authentication failed") || !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("log:\n%s", buf.String())
	}
}

// TestLogLine: each failure is one WARN line in the documented format
// (the fail2ban filter of docs/security.md matches it), successes none,
// and a hostile user name cannot forge the address.
func TestLogLine(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	g, _, _ := newTestGuard(t, Options{Logger: log, FreeFailures: 2})
	ctx := context.Background()
	g.Check(ctx, addr("192.0.2.7"), "carddav", "frank", "frank-pw")
	g.Check(ctx, addr("192.0.2.7"), "carddav", "frank", "wrong")
	g.Check(ctx, addr("::ffff:198.51.100.1"), "web", "x remote=6.6.6.6\nlevel=WARN", "wrong")
	g.Check(ctx, addr("192.0.2.7"), "healthz", "nobody", "wrong")
	g.Check(ctx, addr("192.0.2.7"), "carddav", "frank", "wrong")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="authentication failed" remote=192.0.2.7 user=frank via=carddav reason=password`,
		`level=WARN msg="authentication failed" remote=198.51.100.1 user="x remote=6.6.6.6\nlevel=WARN" via=web reason=password`,
		`level=WARN msg="authentication failed" remote=192.0.2.7 user=nobody via=healthz reason=password`,
		`level=WARN msg="authentication failed" remote=192.0.2.7 user=frank via=carddav reason=throttled`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	// the filter of docs/security.md: failregex = msg="authentication failed" remote=<HOST> (fail2ban's <HOST> ~ an address)
	filter := regexp.MustCompile(`^time=\S+ level=WARN msg="authentication failed" remote=([0-9a-fA-F.:]+) `)
	for i, l := range lines {
		if !strings.HasSuffix(l, want[i]) {
			t.Errorf("line %d:\n got %s\nwant …%s", i, l, want[i])
		}
		m := filter.FindStringSubmatch(l)
		if m == nil || (m[1] != "192.0.2.7" && m[1] != "198.51.100.1") {
			t.Errorf("line %d does not match the fail2ban filter with the right address: %s", i, l)
		}
	}
}

// TestNewRefusesBadOptions: no hashes, or a cap below the base delay.
func TestNewRefusesBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Hashes: fakeHashes{}, BaseDelay: time.Minute, MaxDelay: time.Second}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// hangGuard bounds the waits for a state the guard reaches: a guard
// against a hang, not a timing bound.
const hangGuard = 30 * time.Second
