// Package authguard checks the passwords of the built-in server's users for
// every front end of `cardbridge serve` (CardDAV Basic auth, the web page's
// sign-in, /healthz) and slows and records password guessing:
//
//   - failed attempts back off per client address and per user name:
//     Options.FreeFailures wrong passwords are answered at once, then each
//     further attempt must wait BaseDelay, doubling per failure up to
//     MaxDelay; an attempt made too early is refused unchecked (Throttled,
//     answered 429 with Retry-After). A bcrypt-verified success resets the
//     user's counter of the failures made from that address (the user's own
//     typos; failures from other addresses stay counted, so that the user's
//     devices signing in again do not give a guesser elsewhere a fresh set
//     of free attempts) and makes the address known for the user: a known
//     address is not held back by the user's counter, so guessing a user's
//     password from elsewhere cannot lock out their own devices.
//   - bcrypt compares run MaxConcurrent at a time with at most MaxQueue
//     attempts waiting (QueueWait at most); the rest are refused unchecked
//     (Busy, 503 with Retry-After). A password verified in the last
//     CacheTTL is recognised by its SHA-256 without bcrypt and without
//     waiting, so a flood of wrong passwords does not hold up the clients
//     that know theirs.
//   - CheckDevice (CardDAV Basic auth) also takes any live app password of
//     the user (Options.AppPasswords: random tokens, checked by their
//     SHA-256 without bcrypt). It is checked anew on every attempt, never
//     from the cache of verified passwords, so a revoked one fails at its
//     next use; a wrong one counts as a failure like a wrong password.
//     Check (the web sign-in, /healthz) takes only the password.
//   - every failure is logged once, at WARN, as
//     msg="authentication failed" remote=ADDR user=NAME via=FRONTEND reason=WHY
//     (docs/security.md has a fail2ban filter for it).
//
// Every table (counters, known addresses, verified passwords) is an LRU of
// at most MaxEntries entries, so an attacker rotating names or addresses
// cannot grow memory without bound. The client address is the peer's,
// or, when the peer is one of TrustedProxies, the right-most address of
// X-Forwarded-For that is not a trusted proxy (see ClientAddr). IPv6
// clients are counted per /64.
package authguard

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/state"
)

// Defaults of Options.
const (
	DefaultFreeFailures = 5
	DefaultBaseDelay    = time.Second
	DefaultMaxDelay     = 10 * time.Minute
	DefaultForget       = 24 * time.Hour
	DefaultMaxEntries   = 10000
	DefaultQueueWait    = 5 * time.Second
	DefaultCacheTTL     = 5 * time.Minute
	// MaxPasswordBytes is the longest password bcrypt compares whole;
	// longer ones are refused (bcrypt would ignore the bytes beyond).
	MaxPasswordBytes = 72
)

// dummyHash is compared for unknown users, so that they cost the same time
// as a wrong password.
const dummyHash = "$2a$10$xcBZ8DkhWeivOuoWW654NumeoSECeR8tSJnCBrAL5OkS5DE9E5jLe"

// HashSource gives a user's bcrypt password hash; an error wrapping
// state.ErrNotFound means there is no such user (*state.DB implements it).
type HashSource interface {
	UserPasswordHash(ctx context.Context, user string) (string, error)
}

// AppPasswordSource checks app passwords, the secrets a user gives a
// device instead of their password (*state.DB implements it): true when
// pass is a live app password of user. It answers false without a lookup
// for a pass not shaped like one; an error is the source's trouble, not a
// wrong password.
type AppPasswordSource interface {
	CheckAppPassword(ctx context.Context, user, pass string) (bool, error)
}

// Options configure New. Zero values take the defaults.
type Options struct {
	// Hashes gives the users' password hashes. Required.
	Hashes HashSource
	// AppPasswords, when set, lets CheckDevice accept a user's app
	// passwords as well as their password (nil: it accepts only the
	// password, as Check).
	AppPasswords AppPasswordSource
	// Logger receives one WARN line per failed attempt; nil discards.
	Logger *slog.Logger
	// FreeFailures is how many failures (per address, per user) are
	// answered without delay (default DefaultFreeFailures).
	FreeFailures int
	// BaseDelay is the wait after the first failure beyond FreeFailures,
	// doubled for each further one (default DefaultBaseDelay).
	BaseDelay time.Duration
	// MaxDelay caps the wait (default DefaultMaxDelay).
	MaxDelay time.Duration
	// Forget is how long after its last failure a counter is dropped
	// (default DefaultForget).
	Forget time.Duration
	// MaxEntries bounds each table: counters per address, per user, known
	// addresses, verified passwords (default DefaultMaxEntries).
	MaxEntries int
	// MaxConcurrent is how many bcrypt compares run at once (default
	// max(1, NumCPU/2)).
	MaxConcurrent int
	// MaxQueue is how many attempts may wait for a compare (default
	// 8 × MaxConcurrent); beyond, attempts are refused as Busy.
	MaxQueue int
	// QueueWait is the longest an attempt waits for a compare (default
	// DefaultQueueWait).
	QueueWait time.Duration
	// CacheTTL is how long a verified password spares bcrypt (default
	// DefaultCacheTTL).
	CacheTTL time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (none by default; loopback is not trusted unless listed).
	TrustedProxies []netip.Prefix
	// Compare checks a password against a bcrypt hash (default
	// bcrypt.CompareHashAndPassword); tests count calls through it.
	Compare func(hash, pass []byte) error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Outcome is what Check decided.
type Outcome int

const (
	// OK: the password is the user's.
	OK Outcome = iota
	// Denied: wrong password or unknown user (401).
	Denied
	// Throttled: too many recent failures from this address or for this
	// user; the password was not checked (429, Retry-After).
	Throttled
	// Busy: too many compares running and waiting; the password was not
	// checked (503, Retry-After).
	Busy
	// Unavailable: the user's hash could not be read (503).
	Unavailable
)

// String names the outcome (the reason= of the log line).
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Denied:
		return "password"
	case Throttled:
		return "throttled"
	case Busy:
		return "busy"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Decision is Check's answer.
type Decision struct {
	Outcome Outcome
	// RetryAfter is when the client may try again (Throttled, Busy,
	// Unavailable).
	RetryAfter time.Duration
}

// OK reports whether the password was right.
func (d Decision) OK() bool { return d.Outcome == OK }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1:
// the value of a Retry-After header.
func (d Decision) RetryAfterSeconds() int {
	s := int((d.RetryAfter + time.Second - 1) / time.Second)
	return max(1, s)
}

// Guard checks passwords; see the package comment. It is safe for
// concurrent use.
type Guard struct {
	o     Options
	log   *slog.Logger
	slots chan struct{}

	mu      sync.Mutex
	waiting int
	byAddr  *lru[counter]
	byUser  *lru[counter]
	byPair  *lru[counter]   // user + "\x00" + address key → that address's failures for the user
	known   *lru[time.Time] // user + "\x00" + address key → last success
	cache   *lru[verified]  // user + "\x00" + hash → verified password
	// flights are the compares running, by user, hash and password sum:
	// an attempt with the same credentials as one being checked waits for
	// its answer instead of counting as one more guess (one per request
	// running, so bounded as they are).
	flights map[string]*flight
}

// flight is one compare that attempts with the same credentials share.
type flight struct {
	done    chan struct{} // closed when d is set
	d       Decision
	waiters int // attempts that came to wait on it (g.mu)
}

type counter struct {
	failures int
	last     time.Time
}

type verified struct {
	sum     [32]byte
	expires time.Time
}

// New returns a Guard.
func New(o Options) (*Guard, error) {
	if o.Hashes == nil {
		return nil, errors.New("authguard: no password hashes")
	}
	if o.FreeFailures <= 0 {
		o.FreeFailures = DefaultFreeFailures
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = DefaultBaseDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxDelay < o.BaseDelay {
		return nil, fmt.Errorf("authguard: max delay %s is shorter than the base delay %s", o.MaxDelay, o.BaseDelay)
	}
	if o.Forget <= 0 {
		o.Forget = DefaultForget
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = max(1, runtime.NumCPU()/2)
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 8 * o.MaxConcurrent
	}
	if o.QueueWait <= 0 {
		o.QueueWait = DefaultQueueWait
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Compare == nil {
		o.Compare = bcrypt.CompareHashAndPassword
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	g := &Guard{o: o, log: o.Logger, slots: make(chan struct{}, o.MaxConcurrent),
		byAddr: newLRU[counter](o.MaxEntries), byUser: newLRU[counter](o.MaxEntries), byPair: newLRU[counter](o.MaxEntries),
		known: newLRU[time.Time](o.MaxEntries), cache: newLRU[verified](o.MaxEntries), flights: map[string]*flight{}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// addrKey is the counter key of a client address: the address itself for
// IPv4, its /64 for IPv6 (one host usually holds a whole /64).
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Check reports whether pass is user's password, for an attempt from
// client through via ("carddav", "web", "healthz"). Every failed attempt
// (Denied, Throttled, Busy) is logged once at WARN; Unavailable is the
// server's trouble, logged at ERROR, not the client's failure.
func (g *Guard) Check(ctx context.Context, client netip.Addr, via, user, pass string) Decision {
	d := g.check(ctx, client, user, pass)
	if d.Outcome != OK && d.Outcome != Unavailable {
		g.log.Warn("authentication failed", "remote", client.Unmap().String(), "user", user, "via", via, "reason", d.Outcome.String())
	}
	return d
}

// CheckDevice is Check for the front ends devices use (CardDAV Basic
// auth): pass may also be any live app password of user (Options.
// AppPasswords). The backoff applies alike: a throttled attempt is refused
// unchecked, and a wrong app password counts as one failure. An app
// password is checked against the state on every attempt, never from the
// cache of verified passwords, so one revoked fails at its next use. A
// pass that is no live app password is then checked as the user's
// password (which may look like a token).
func (g *Guard) CheckDevice(ctx context.Context, client netip.Addr, via, user, pass string) Decision {
	if g.o.AppPasswords == nil {
		return g.Check(ctx, client, via, user, pass)
	}
	ak := addrKey(client)
	uk := user + "\x00" + ak
	now := g.o.Now()
	if d, ok := g.throttled(user, ak, uk, now); !ok {
		g.log.Warn("authentication failed", "remote", client.Unmap().String(), "user", user, "via", via, "reason", d.Outcome.String())
		return d
	}
	ok, err := g.o.AppPasswords.CheckAppPassword(ctx, user, pass)
	if err != nil {
		g.log.Error("authguard: checking an app password", "user", user, "err", err)
		return Decision{Outcome: Unavailable, RetryAfter: 5 * time.Second}
	}
	if !ok {
		return g.Check(ctx, client, via, user, pass)
	}
	now = g.o.Now()
	g.mu.Lock()
	g.succeeded(user, ak, uk, now)
	g.mu.Unlock()
	return Decision{Outcome: OK}
}

// throttled reports whether an attempt for user from address key ak (uk:
// both) may be checked at now; when not, the Throttled decision.
func (g *Guard) throttled(user, ak, uk string, now time.Time) (Decision, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.throttledLocked(user, ak, uk, now)
}

// throttledLocked is throttled with g.mu held.
func (g *Guard) throttledLocked(user, ak, uk string, now time.Time) (Decision, bool) {
	_, known := g.known.get(uk, func(t time.Time) bool { return now.Sub(t) < g.o.Forget })
	if wait := g.wait(g.byAddr, ak, now); wait > 0 {
		return Decision{Outcome: Throttled, RetryAfter: wait}, false
	}
	if wait := g.wait(g.byUser, user, now); wait > 0 && !known {
		return Decision{Outcome: Throttled, RetryAfter: wait}, false
	}
	return Decision{}, true
}

// succeeded records a verified attempt: the user's failures from that
// address are forgiven and the address becomes known. g.mu is held.
func (g *Guard) succeeded(user, ak, uk string, now time.Time) {
	own, _ := g.byPair.get(uk, func(counter) bool { return true })
	g.byPair.remove(uk)
	g.count(g.byUser, user, now, -own.failures)
	g.known.put(uk, now)
}

func (g *Guard) check(ctx context.Context, client netip.Addr, user, pass string) Decision {
	ak := addrKey(client)
	uk := user + "\x00" + ak
	now := g.o.Now()

	if d, ok := g.throttled(user, ak, uk, now); !ok {
		return d
	}

	hash, err := g.o.Hashes.UserPasswordHash(ctx, user)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		g.log.Error("authguard: reading the password hash", "user", user, "err", err)
		return Decision{Outcome: Unavailable, RetryAfter: 5 * time.Second}
	}
	found := err == nil
	sum := sha256.Sum256([]byte(pass))
	ck := user + "\x00" + hash
	if found {
		g.mu.Lock()
		v, ok := g.cache.get(ck, func(v verified) bool { return now.Before(v.expires) })
		g.mu.Unlock()
		if ok && subtle.ConstantTimeCompare(v.sum[:], sum[:]) == 1 {
			return Decision{Outcome: OK}
		}
		// The same credentials being checked already (a phone's parallel
		// first requests, a balancer's burst after a restart): share that
		// answer. Without this each would count as a guess before its
		// compare, and a burst larger than FreeFailures would throttle the
		// right password.
		key := ck + "\x00" + string(sum[:])
		g.mu.Lock()
		if f, ok := g.flights[key]; ok {
			f.waiters++
			g.mu.Unlock()
			select {
			case <-f.done:
				return f.d
			case <-ctx.Done():
				return Decision{Outcome: Busy, RetryAfter: time.Second}
			}
		}
		f := &flight{done: make(chan struct{})}
		g.flights[key] = f
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			delete(g.flights, key)
			g.mu.Unlock()
			close(f.done)
		}()
		f.d = g.guess(ctx, attempt{now: now, addr: ak, pair: uk, cache: ck, user: user, pass: pass, hash: hash, found: true, sum: sum})
		return f.d
	}
	return g.guess(ctx, attempt{now: now, addr: ak, pair: uk, cache: ck, user: user, pass: pass})
}

// attempt is one sign-in attempt as check keys it.
type attempt struct {
	now               time.Time
	addr, pair, cache string // counter keys: address, user+address, user+hash
	user, pass, hash  string
	found             bool // user exists, with hash
	sum               [32]byte
}

// guess counts and checks an attempt whose password is not in the cache.
func (g *Guard) guess(ctx context.Context, a attempt) Decision {
	now, ak, uk, ck, user, pass, hash, found, sum := a.now, a.addr, a.pair, a.cache, a.user, a.pass, a.hash, a.found, a.sum

	// A guess from here on: counted before it is checked, so that parallel
	// attempts cannot all slip in under the free failures. The back-off is
	// looked at again under the same lock as the count: attempts that
	// passed check's first look together are let through only as far as
	// the free failures go.
	g.mu.Lock()
	if d, ok := g.throttledLocked(user, ak, uk, now); !ok {
		g.mu.Unlock()
		return d
	}
	g.count(g.byAddr, ak, now, 1)
	g.count(g.byUser, user, now, 1)
	g.count(g.byPair, uk, now, 1)
	g.mu.Unlock()

	if len(pass) > MaxPasswordBytes {
		return Decision{Outcome: Denied}
	}
	if !g.acquire(ctx) {
		g.mu.Lock()
		g.count(g.byAddr, ak, now, -1)
		g.count(g.byUser, user, now, -1)
		g.count(g.byPair, uk, now, -1)
		g.mu.Unlock()
		return Decision{Outcome: Busy, RetryAfter: time.Second}
	}
	h := hash
	if !found {
		h = dummyHash
	}
	cerr := g.o.Compare([]byte(h), []byte(pass))
	<-g.slots
	if !found || cerr != nil {
		return Decision{Outcome: Denied}
	}

	now = g.o.Now()
	g.mu.Lock()
	g.count(g.byAddr, ak, now, -1)
	g.succeeded(user, ak, uk, now) // this attempt's and the address's earlier failures
	g.cache.put(ck, verified{sum: sum, expires: now.Add(g.o.CacheTTL)})
	g.mu.Unlock()
	return Decision{Outcome: OK}
}

// wait is how long key of table must still wait at now (0: it may try).
// g.mu is held.
func (g *Guard) wait(table *lru[counter], key string, now time.Time) time.Duration {
	c, ok := table.get(key, func(c counter) bool { return now.Sub(c.last) < g.o.Forget })
	if !ok || c.failures < g.o.FreeFailures {
		return 0
	}
	d := g.o.BaseDelay
	for i := g.o.FreeFailures; i < c.failures && d < g.o.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, g.o.MaxDelay)
	if left := c.last.Add(d).Sub(now); left > 0 {
		return left
	}
	return 0
}

// count adds n to key's failures; a positive n also dates the counter at
// now. g.mu is held.
func (g *Guard) count(table *lru[counter], key string, now time.Time, n int) {
	c, ok := table.get(key, func(c counter) bool { return now.Sub(c.last) < g.o.Forget })
	if !ok {
		c = counter{}
	}
	c.failures = max(0, c.failures+n)
	if n > 0 {
		c.last = now
	}
	if c.failures == 0 && c.last.IsZero() {
		return
	}
	table.put(key, c)
}

// acquire takes a compare slot, waiting in the bounded queue; false when
// the queue is full, the wait too long or ctx ended.
func (g *Guard) acquire(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	g.mu.Lock()
	if g.waiting >= g.o.MaxQueue {
		g.mu.Unlock()
		return false
	}
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	t := time.NewTimer(g.o.QueueWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
