package graphsim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ExpiredCode values for Options.ExpiredCode: the error code of the 410
// answer to an expired delta token.
const (
	CodeSyncStateNotFound = "SyncStateNotFound"
	CodeResyncRequired    = "ResyncRequired"
	CodeSyncStateInvalid  = "SyncStateInvalid"
)

// BirthdayFormat selects how a contact's birthday is returned.
type BirthdayFormat int

const (
	// BirthdayAsGiven returns the stored instant in UTC with its time of
	// day ("2016-10-19T10:37:00Z", or "1980-06-01T22:00:00Z" for a birthday
	// entered in Outlook in CEST), as Graph does (the default).
	BirthdayAsGiven BirthdayFormat = iota
	// BirthdayMidnightUTC returns the UTC date of the stored instant as
	// "YYYY-MM-DDT00:00:00Z".
	BirthdayMidnightUTC
	// BirthdayDateOnly returns "YYYY-MM-DD".
	BirthdayDateOnly
)

// NationalCloud is the Microsoft cloud a Server plays; the Graph rules
// that differ between clouds follow it.
type NationalCloud string

// NationalCloud values.
const (
	// CloudGlobal is the global service (the default).
	CloudGlobal NationalCloud = "global"
	// CloudUSGov is US Government L4/L5 (GCC High, DoD): as global for
	// the rules simulated.
	CloudUSGov NationalCloud = "usgov"
	// CloudChina is Microsoft 365 operated by 21Vianet: v1.0 has no
	// contact delta (the national-cloud table of the contact-delta page);
	// GET .../contacts/delta answers 400 ErrorInvalidIdMalformed "Id is
	// malformed.", "delta" being taken for an item id, as 21Vianet answers
	// v1.0 mailFolders delta (msgraph-sdk-java issue 552).
	CloudChina NationalCloud = "china"
)

// ParseCloud returns the NationalCloud named s ("global", "usgov", "china").
func ParseCloud(s string) (NationalCloud, error) {
	switch c := NationalCloud(strings.ToLower(strings.TrimSpace(s))); c {
	case CloudGlobal, CloudUSGov, CloudChina:
		return c, nil
	}
	return "", fmt.Errorf("graphsim: unknown cloud %q: want global, usgov or china", s)
}

// Options configure a Server. The zero value is a realistic default.
type Options struct {
	// Latency is added to every HTTP request. It is spent while the
	// request holds its mailbox concurrency slot. A $batch's time is its
	// sub-requests' (SubRequestLatency): the envelope adds none of its
	// own unless it is refused before they run.
	Latency time.Duration
	// SubRequestLatency is how long each $batch sub-request holds its
	// mailbox slot. 0 means Latency, the strict reading of the reference:
	// every sub-request counts against the mailbox's 4 concurrent
	// requests on its own and Outlook runs at most 4 of a batch in
	// parallel, so a batch of 20 takes 5 × Latency and fills its
	// mailbox's 4 slots meanwhile. Negative is none: a batch answers after one
	// Latency, its sub-requests taking no time (the lenient reading, and
	// graphsim's before 2026-12-08).
	SubRequestLatency time.Duration
	// ConcurrencyLimit is the number of simultaneous requests per app and
	// mailbox, shared by every token (delegated or app-only, /me or
	// /users/{id|upn}), connection and $batch of that app; 0 means 4,
	// -1 unlimited.
	ConcurrencyLimit int
	// RateLimit requests per RateWindow per app and mailbox (each $batch
	// sub-request counts); 0 means 10000 per 10 minutes, -1 unlimited.
	RateLimit  int
	RateWindow time.Duration
	// MaxPageSize caps the page size of lists and delta (default 1000).
	MaxPageSize int
	// ContactDeltaPageCap caps contact delta pages below what Prefer:
	// odata.maxpagesize asks, as Exchange does (about 200, MS Q&A
	// 2276060): smaller asks are honoured, larger ones get pages of the
	// cap while Preference-Applied still echoes the ask. 0 means 200,
	// -1 no cap (only MaxPageSize).
	ContactDeltaPageCap int
	// DefaultPageSize is the page size without $top or Prefer
	// odata.maxpagesize (default 10).
	DefaultPageSize int
	// TokenLifetime of access tokens (default 1h).
	TokenLifetime time.Duration
	// RefreshTokenLifetime of refresh tokens (default 90 days).
	RefreshTokenLifetime time.Duration
	// RefreshReuse keeps a rotated-away refresh token working; with
	// RefreshReuseGrace > 0 only for that long after its first use.
	// False (the default): a used refresh token is rejected (invalid_grant).
	RefreshReuse      bool
	RefreshReuseGrace time.Duration
	// AuthCodeLifetime (default 10 min).
	AuthCodeLifetime time.Duration
	// DeviceCodeLifetime (default 15 min) and DeviceCodeInterval (default 5 s).
	DeviceCodeLifetime time.Duration
	DeviceCodeInterval time.Duration
	// AutoApprove lets /authorize with login_hint=<known upn> redirect with a
	// code immediately, and lets the /devicelogin page approve without a
	// password.
	AutoApprove bool
	// AssertionClockSkew tolerated on client assertion nbf/exp (default 5 min).
	AssertionClockSkew time.Duration

	// IgnoreIfMatch makes PATCH and DELETE ignore If-Match (no 412).
	IgnoreIfMatch bool
	// Transient412Rate is the probability (0..1) that a GET under a
	// mailbox (item, list, delta page or photo; in or out of a $batch)
	// sent without If-Match answers a transient 412
	// ErrorIrresolvableConflict, as Exchange does (MS Q&A 271870: ~3.5% of
	// plain GETs; DavMail issue 491). 0 is DefaultTransient412Rate; a
	// negative rate is none.
	Transient412Rate float64
	// NoDisplayNameRegeneration keeps displayName as last written even when
	// givenName/middleName/surname/generation change without it.
	NoDisplayNameRegeneration bool
	// Birthday selects the birthday format in responses.
	Birthday BirthdayFormat
	// EmailNameAsGiven returns e-mail names as written; by default an
	// address written without a name comes back with name = address.
	EmailNameAsGiven bool

	// DeltaTokenTTL: delta and skip tokens older than this answer 410
	// (0 = never).
	DeltaTokenTTL time.Duration
	// ExpiredCode is the 410 error code (default SyncStateNotFound).
	ExpiredCode string
	// SyncStateGenerations is how many sync-state generations of a folder
	// stay valid, as Exchange keeps only the last few (microsoft-graph-docs
	// issues 2162, 2350, 2877): every completed contact delta round makes a
	// new generation, and a deltaLink (or a nextLink of a round started
	// from one) older than the last SyncStateGenerations answers 410
	// SyncStateNotFound "generation=G;[highest=H][H][H-2][H-1]".
	// 0 means 3, -1 unlimited.
	SyncStateGenerations int
	// DirectoryDeltaTokenTTL: users delta tokens older than this answer
	// 410 (Options.ExpiredCode); 0 means DefaultDirectoryDeltaTTL (7 days),
	// -1 never.
	DirectoryDeltaTokenTTL time.Duration
	// DeltaDuplicates repeats some already delivered items later in a round.
	DeltaDuplicates bool
	// DeltaEmptyPages is the probability (0..1) that a delta page is served
	// empty with a nextLink.
	DeltaEmptyPages float64
	// AcceptAnyPhoto stores any bytes PUT as a photo; by default a body
	// that does not decode as JPEG, PNG or GIF answers 400.
	AcceptAnyPhoto bool
	// UntrackedOutlookPhotos makes Mailbox.SetPhoto (a photo changed in
	// Outlook) leave changeKey and delta alone; by default it moves them.
	UntrackedOutlookPhotos bool
	// BatchInOrder answers $batch responses in request order (default shuffled).
	BatchInOrder bool
	// BatchParallelism is how many sub-requests of one $batch run at once
	// (default 4).
	BatchParallelism int

	// Cloud is the national cloud simulated (default CloudGlobal); New
	// panics on a value ParseCloud refuses.
	Cloud NationalCloud

	// Seed makes the random choices (shuffles, duplicates, empty pages)
	// deterministic; 0 picks one.
	Seed uint64
	// Tenant is the directory (tenant) id, default
	// "9188040d-6c67-4c5b-b112-36a304b66dad"-like fixed GUID; TenantDomain its
	// verified domain (default "contoso.example").
	Tenant       string
	TenantDomain string
	// Clock is the time source (default time.Now). Latency always uses real time.
	Clock  func() time.Time
	Logger *slog.Logger
}

// Stats counts what a Server saw since New or ResetStats.
type Stats struct {
	Requests      int // HTTP requests (a $batch counts once)
	GraphRequests int // HTTP requests under /v1.0, plus sub-requests
	SubRequests   int // $batch sub-requests
	Batches       int
	TokenRequests int
	Throttled429  int // throttling answers (concurrency or rate), in or out of batches
	Injected      int // answers produced by FailNext
	Transient412  int // transient 412s of Options.Transient412Rate
	MaxConcurrent int // highest number of simultaneous requests seen for one mailbox (attempts, including refused ones)
	Status        map[int]int
	PerMailbox    map[string]MailboxStats // by user principal name
}

// MailboxStats are Stats for one mailbox.
type MailboxStats struct {
	Requests      int
	Writes        int // POST/PATCH/PUT/DELETE
	Throttled429  int
	MaxConcurrent int
}

// Server is the simulator. Create it with New; it is safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	rng       *mrand.Rand
	apps      map[string]*App
	users     map[string]*Mailbox // by lower-case id and upn (live users)
	tenants   []*tenant           // the default tenant first
	userList  []*Mailbox
	access    map[string]*accessToken
	refresh   map[string]*refreshToken
	codes     map[string]*authCode
	devices   map[string]*deviceCode // by device_code
	userCodes map[string]*deviceCode // by user_code
	sessions  map[string]*authSession
	jtis      map[string]time.Time
	userGen   map[string]int // revocation generation per user id

	deltaGen  int
	deltaKey  []byte
	fail      []fault
	inflight  map[string]int
	rateLog   map[string][]time.Time
	stats     Stats
	tokenFail int
}

type fault struct {
	status     int
	retryAfter time.Duration
}

// New returns a Server with no apps and no users.
// DefaultTransient412Rate is the share of plain GETs answered a transient
// 412 when Options.Transient412Rate is 0: the rate reported for Exchange.
const DefaultTransient412Rate = 0.035

func New(opts Options) *Server {
	if opts.ConcurrencyLimit == 0 {
		opts.ConcurrencyLimit = 4
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = 10000
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 10 * time.Minute
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 1000
	}
	if opts.Cloud == "" {
		opts.Cloud = CloudGlobal
	}
	if _, err := ParseCloud(string(opts.Cloud)); err != nil {
		panic(err)
	}
	if opts.ContactDeltaPageCap == 0 {
		opts.ContactDeltaPageCap = 200
	}
	if opts.Transient412Rate == 0 {
		opts.Transient412Rate = DefaultTransient412Rate
	}
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = 10
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.RefreshTokenLifetime <= 0 {
		opts.RefreshTokenLifetime = 90 * 24 * time.Hour
	}
	if opts.AuthCodeLifetime <= 0 {
		opts.AuthCodeLifetime = 10 * time.Minute
	}
	if opts.DeviceCodeLifetime <= 0 {
		opts.DeviceCodeLifetime = 15 * time.Minute
	}
	if opts.DeviceCodeInterval <= 0 {
		opts.DeviceCodeInterval = 5 * time.Second
	}
	if opts.AssertionClockSkew <= 0 {
		opts.AssertionClockSkew = 5 * time.Minute
	}
	if opts.SyncStateGenerations == 0 {
		opts.SyncStateGenerations = 3
	}
	if opts.ExpiredCode == "" {
		opts.ExpiredCode = CodeSyncStateNotFound
	}
	if opts.BatchParallelism <= 0 {
		opts.BatchParallelism = 4
	}
	if opts.SubRequestLatency == 0 {
		opts.SubRequestLatency = opts.Latency
	}
	if opts.Tenant == "" {
		opts.Tenant = "7a1c5e0b-3f2d-4c8e-9b61-0d4e2f8a9c13"
	}
	if opts.TenantDomain == "" {
		opts.TenantDomain = "contoso.example"
	}
	if opts.DirectoryDeltaTokenTTL == 0 {
		opts.DirectoryDeltaTokenTTL = DefaultDirectoryDeltaTTL
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	seed := opts.Seed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &Server{
		opts:      opts,
		log:       opts.Logger,
		rng:       mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		apps:      map[string]*App{},
		users:     map[string]*Mailbox{},
		tenants:   []*tenant{newTenant(opts.Tenant, opts.TenantDomain)},
		access:    map[string]*accessToken{},
		refresh:   map[string]*refreshToken{},
		codes:     map[string]*authCode{},
		devices:   map[string]*deviceCode{},
		userCodes: map[string]*deviceCode{},
		sessions:  map[string]*authSession{},
		jtis:      map[string]time.Time{},
		userGen:   map[string]int{},
		deltaKey:  key,
		inflight:  map[string]int{},
		rateLog:   map[string][]time.Time{},
		stats:     Stats{Status: map[int]int{}, PerMailbox: map[string]MailboxStats{}},
	}
}

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Handler returns the Server as an http.Handler.
func (s *Server) Handler() http.Handler { return s }

func (s *Server) now() time.Time { return s.opts.Clock() }

// randInt returns a random int in [0,n) from the server's seeded source.
func (s *Server) randInt(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

func (s *Server) randFloat() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64()
}

// FailNext makes the next n Graph requests (each $batch sub-request
// counts; the $batch envelope itself does not) answer status with a Graph
// error body, and a Retry-After header (whole seconds, rounded up) when
// retryAfter > 0. Calls queue up.
func (s *Server) FailNext(n int, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, fault{status, retryAfter})
	}
}

// FailNextToken makes the next n token-endpoint requests answer 503
// temporarily_unavailable (AADSTS50196-style).
func (s *Server) FailNextToken(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFail += n
}

// ExpireDeltaTokens makes every delta and skip token issued so far answer
// 410 (Options.ExpiredCode).
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deltaGen++
}

// ExpireAccessTokens makes every access token issued so far answer 401
// InvalidAuthenticationToken (as after their lifetime).
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for _, t := range s.access {
		t.expires = past
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Status = make(map[int]int, len(s.stats.Status))
	for k, v := range s.stats.Status {
		st.Status[k] = v
	}
	st.PerMailbox = make(map[string]MailboxStats, len(s.stats.PerMailbox))
	for k, v := range s.stats.PerMailbox {
		st.PerMailbox[k] = v
	}
	return st
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{Status: map[int]int{}, PerMailbox: map[string]MailboxStats{}}
}

// ServeHTTP serves the login paths (/{tenant}/oauth2/v2.0/..., /devicelogin)
// and the Graph paths (/v1.0/..., /v1.0/$batch).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("graphsim: panic", "path", r.URL.Path, "panic", v)
			graphError(w, r, http.StatusInternalServerError, "InternalServerError", fmt.Sprint("internal error: ", v))
		}
	}()
	sw := &statusWriter{ResponseWriter: w}
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	s.route(sw, r)
	s.mu.Lock()
	s.stats.Status[sw.code()]++
	s.mu.Unlock()
	s.log.Debug("graphsim", "method", r.Method, "path", r.URL.Path, "status", sw.code())
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/v1.0" || strings.HasPrefix(p, "/v1.0/"):
		s.serveGraph(w, r)
	case p == "/devicelogin":
		s.sleepLatency(r.Context())
		s.serveDeviceLogin(w, r)
	case strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration") || strings.HasSuffix(p, "/discovery/v2.0/keys"):
		s.sleepLatency(r.Context())
		s.serveOIDC(w, r)
	case strings.Contains(p, "/oauth2/"):
		s.sleepLatency(r.Context())
		s.serveLogin(w, r)
	case p == "/" || p == "":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "graphsim: Microsoft Graph contacts + identity platform simulator. Graph at /v1.0, login at /{tenant}/oauth2/v2.0/.")
	default:
		if seg := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)[0]; strings.HasPrefix(seg, "v") || strings.HasPrefix(seg, "beta") {
			graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid version: "+seg)
			return
		}
		graphError(w, r, http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment '"+strings.TrimPrefix(p, "/")+"'.")
	}
}

func (s *Server) sleepLatency(ctx context.Context) { s.sleep(ctx, s.opts.Latency) }

// sleep waits d (nothing when d ≤ 0) or until ctx ends.
func (s *Server) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// takeFault pops one scripted fault, if any.
func (s *Server) takeFault() (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fail) == 0 {
		return fault{}, false
	}
	f := s.fail[0]
	s.fail = s.fail[1:]
	s.stats.Injected++
	return f, true
}

// acquire takes a concurrency slot and a rate-window entry for key (app +
// mailbox). It returns a release func, or the Retry-After and message of a
// 429.
func (s *Server) acquire(key, upn string, write bool) (release func(), retry time.Duration, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.stats.PerMailbox[upn]
	ms.Requests++
	if write {
		ms.Writes++
	}
	s.inflight[key]++
	n := s.inflight[key]
	if n > ms.MaxConcurrent {
		ms.MaxConcurrent = n
	}
	if n > s.stats.MaxConcurrent {
		s.stats.MaxConcurrent = n
	}
	defer func() { s.stats.PerMailbox[upn] = ms }()
	if s.opts.ConcurrencyLimit > 0 && n > s.opts.ConcurrencyLimit {
		s.inflight[key]--
		ms.Throttled429++
		s.stats.Throttled429++
		return nil, time.Second, "Application is over its MailboxConcurrency limit."
	}
	if s.opts.RateLimit > 0 {
		now := s.now()
		log := s.rateLog[key]
		cut := 0
		for cut < len(log) && !log[cut].After(now.Add(-s.opts.RateWindow)) {
			cut++
		}
		log = log[cut:]
		if len(log) >= s.opts.RateLimit {
			s.rateLog[key] = log
			s.inflight[key]--
			ms.Throttled429++
			s.stats.Throttled429++
			wait := log[0].Add(s.opts.RateWindow).Sub(now)
			if wait < time.Second {
				wait = time.Second
			}
			return nil, wait, "Application is over its MailboxRequests limit (" + strconv.Itoa(s.opts.RateLimit) + " requests per " + s.opts.RateWindow.String() + ")."
		}
		s.rateLog[key] = append(log, now)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.inflight[key]--
			s.mu.Unlock()
		})
	}, 0, ""
}

// ---- helpers ----

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(c int) {
	if w.status == 0 {
		w.status = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return 200
	}
	return w.status
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func randToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// stableGUID derives a GUID from a string (for deterministic seeded ids).
func stableGUID(s string) string {
	b := sha256.Sum256([]byte(s))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case json.RawMessage:
		b = x
	default:
		var err error
		b, err = json.Marshal(v)
		if err != nil {
			b = []byte(`{"error":{"code":"InternalServerError","message":"marshal"}}`)
			status = 500
		}
	}
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// graphError writes Graph's error envelope.
func graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	reqID := w.Header().Get("request-id")
	if reqID == "" {
		reqID = newGUID()
		w.Header().Set("request-id", reqID)
	}
	inner := map[string]string{
		"date":       time.Now().UTC().Format("2006-01-02T15:04:05"),
		"request-id": reqID,
	}
	if c := r.Header.Get("client-request-id"); c != "" {
		inner["client-request-id"] = c
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": inner}})
}

func retryAfterHeader(w http.ResponseWriter, d time.Duration) {
	if d <= 0 {
		return
	}
	secs := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// AdvanceSyncStates advances the contact sync-state generation of every
// folder of every mailbox by n, as n delta rounds completed by other
// writers (other devices syncing the folder) would: a deltaLink issued
// before answers 410 SyncStateNotFound once n reaches
// Options.SyncStateGenerations.
func (s *Server) AdvanceSyncStates(n int) {
	s.mu.Lock()
	mbs := append([]*Mailbox(nil), s.userList...)
	s.mu.Unlock()
	for _, m := range mbs {
		m.mu.Lock()
		for _, f := range m.folders {
			f.syncGen += n
		}
		m.mu.Unlock()
	}
}
