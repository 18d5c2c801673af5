// Package daemon runs the pairs of `cardbridge serve` in the background:
// each pair on its `every` schedule, and soon after a CardDAV client
// changes an address book the pair uses.
//
// The package knows nothing of the engine, the configuration or the HTTP
// server: it calls a Runner with a pair's name, and is told of changed
// address books through Scheduler.Changed. Replicas sharing one state
// keep each other apart through a Coordinator (the pairs' leases and
// shared schedules, which serve makes of the state).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// Runner syncs one pair once. Its error is logged by the scheduler and
// recorded in the pair's status; it does not stop the other pairs.
//
// The context it gets is not cancelled when the scheduler is asked to
// stop, only once the grace period (SchedulerOptions.Grace) has passed
// since: a run may finish, and when it takes longer the engine stops at
// its next batch boundary and commits the writes already made.
type Runner func(ctx context.Context, pair string) error

// Defaults of SchedulerOptions.
const (
	// DefaultDebounce is how long after the last change of a book its
	// pairs run.
	DefaultDebounce = 3 * time.Second
	// DefaultGrace is how long running syncs may go on once the scheduler
	// is stopped before their context is cancelled.
	DefaultGrace = 10 * time.Second
	// DefaultHousekeepingEvery is how often Housekeeping runs: daily.
	DefaultHousekeepingEvery = 24 * time.Hour
	// maxDebounceFactor caps the delay under a steady stream of changes:
	// the pairs run at the latest this many Debounce periods after the
	// first change of a burst.
	maxDebounceFactor = 4
)

// SchedulerOptions configure NewScheduler.
type SchedulerOptions struct {
	// Every is the schedule of each pair that has one: the pair runs when
	// the scheduler starts and then every Every (measured from the start
	// of its previous run; a run that took longer is followed at once by
	// the next). Pairs with a zero duration run only when triggered.
	Every map[string]time.Duration
	// BookPairs maps "user/book" of the built-in server's store to the
	// pairs that have a side {type: server, user, addressbook} on it.
	BookPairs map[string][]string
	// Run syncs one pair. Required.
	Run Runner
	// Debounce is how long after the last Changed of a book its pairs run
	// (default DefaultDebounce): a client that writes 100 cards in a row
	// causes one run, not 100.
	Debounce time.Duration
	// Grace is how long running syncs may go on once Run's context ends
	// before their own context is cancelled (default DefaultGrace;
	// negative: cancelled at once).
	Grace time.Duration
	// Logger receives one line per run; nil discards.
	Logger *slog.Logger
	// Housekeeping, when set, runs when the scheduler starts and then
	// every HousekeepingEvery (default DefaultHousekeepingEvery), by Now
	// and After, alongside the pairs: serve purges the trash with it. Its
	// error is logged; its context is that of the runs (see Runner).
	Housekeeping      func(ctx context.Context) error
	HousekeepingEvery time.Duration
	// Coordinator, when set, keeps the replicas sharing one state from
	// running a pair twice: each run holds the pair's lease, and a
	// scheduled run happens only on the replica that claims the period
	// (see Coordinator). nil: this process is alone.
	Coordinator Coordinator
	// LeaseRetry is how soon a scheduled pair whose lease another
	// replica holds is looked at again (default DefaultLeaseRetry, at
	// most the pair's every).
	LeaseRetry time.Duration
	// Now and After replace time.Now and time.After (tests).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// DefaultLeaseRetry is SchedulerOptions.LeaseRetry's default.
const DefaultLeaseRetry = 5 * time.Second

// Coordinator is what the replicas of serve share to run each pair on one
// replica at a time and each period of a schedule once (state's leases
// and pair schedules, through serve).
type Coordinator interface {
	// Lease takes the lease of pair for a run; held is false (and err
	// nil) when another process holds it. markPending then asks that
	// holder for one more run after its own (a change it may not have
	// seen).
	Lease(ctx context.Context, pair string, markPending bool) (l Lease, held bool, err error)
	// ClaimPeriod claims the period of pair's schedule due now: 0 when
	// this call won it, otherwise how long until the next one is due.
	ClaimPeriod(ctx context.Context, pair string, every time.Duration) (time.Duration, error)
}

// Lease is a held lease of a pair (Coordinator.Lease).
type Lease interface {
	// Context is the run's context: cancelled when the lease is lost.
	Context() context.Context
	// Finish ends the run: again (the lease kept) when another replica
	// asked for one more run meanwhile, else the lease is released.
	Finish() (again bool, err error)
}

// PairStatus is what the scheduler knows of one pair (for /healthz).
type PairStatus struct {
	Pair  string        `json:"pair"`
	Every time.Duration `json:"-"`
	// EveryText is Every as text ("15m0s"), "" when the pair has no
	// schedule.
	EveryText string `json:"every,omitempty"`
	// Running says a run is in progress.
	Running bool `json:"running"`
	// Done and Total are the running run's progress, as reported through
	// Progress (0 and 0 before its first report and when none runs).
	Done  int `json:"done,omitempty"`
	Total int `json:"total,omitempty"`
	// Runs counts the finished runs since the start.
	Runs int `json:"runs"`
	// LastStart and LastEnd bound the last finished run (zero before).
	LastStart time.Time `json:"last_start,omitzero"`
	LastEnd   time.Time `json:"last_end,omitzero"`
	// OK says the last finished run succeeded (false before the first).
	OK bool `json:"ok"`
	// Error is the last finished run's error ("" when it succeeded).
	Error string `json:"error,omitempty"`
	// Next is when the next scheduled run is due (zero without a
	// schedule); a pending change may run it sooner.
	Next time.Time `json:"next,omitzero"`
}

// Scheduler runs pairs on their schedule and after changes; see Run.
// Its methods are safe for concurrent use.
type Scheduler struct {
	o   SchedulerOptions
	log *slog.Logger

	mu        sync.Mutex
	pairs     map[string]*pairState
	names     []string            // sorted
	bookPairs map[string][]string // "user/book" -> pairs (o.BookPairs plus Add's)
	started   bool
	stopping  bool
	// While Run runs: its context, the runs' context and the workers.
	ctx, runCtx context.Context
	wg          sync.WaitGroup
}

// pairState is one pair's worker state.
type pairState struct {
	name  string
	every time.Duration
	// stop ends this pair's worker and debouncer (Remove); nil until
	// started.
	stop context.CancelFunc
	// trigger holds at most one pending run request: a trigger during a
	// run queues exactly one more run.
	trigger chan struct{}
	// changed holds at most one pending change notice for the debouncer.
	changed chan struct{}

	mu     sync.Mutex
	status PairStatus
}

// NewScheduler returns a scheduler for the pairs named in o.Every and
// o.BookPairs. It does nothing until Run.
func NewScheduler(o SchedulerOptions) *Scheduler {
	if o.Debounce <= 0 {
		o.Debounce = DefaultDebounce
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.LeaseRetry <= 0 {
		o.LeaseRetry = DefaultLeaseRetry
	}
	if o.HousekeepingEvery <= 0 {
		o.HousekeepingEvery = DefaultHousekeepingEvery
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{o: o, log: log, pairs: map[string]*pairState{}, bookPairs: map[string][]string{}}
	for name, every := range o.Every {
		s.addLocked(name).setEvery(every)
	}
	for book, names := range o.BookPairs {
		for _, name := range names {
			s.addLocked(name)
		}
		s.bookPairs[book] = slices.Clone(names)
	}
	return s
}

// addLocked returns the pair called name, registering it if new; s.mu is
// held (or s is not shared yet).
func (s *Scheduler) addLocked(name string) *pairState {
	p, ok := s.pairs[name]
	if !ok {
		p = &pairState{name: name, trigger: make(chan struct{}, 1), changed: make(chan struct{}, 1)}
		p.status.Pair = name
		s.pairs[name] = p
		s.names = append(s.names, name)
		slices.Sort(s.names)
	}
	return p
}

// setEvery sets the pair's schedule (0: none); before its worker starts.
func (p *pairState) setEvery(every time.Duration) {
	if every > 0 {
		p.every = every
		p.status.Every = every
		p.status.EveryText = every.String()
	}
}

// startLocked starts the pair's worker and debouncer; s.mu is held and Run
// is running.
func (s *Scheduler) startLocked(p *pairState) {
	pctx, stop := context.WithCancel(s.ctx)
	p.stop = stop
	runCtx := s.runCtx
	s.wg.Go(func() { s.worker(pctx, runCtx, p) })
	s.wg.Go(func() { s.debouncer(pctx, p) })
}

// Add registers a pair while the scheduler may be running (a pair made
// from the web page): it runs at once and then every every (0: only when
// triggered), and Debounce after a change of one of books ("user/book").
// Adding a name that is already known is an error.
func (s *Scheduler) Add(name string, every time.Duration, books []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pairs[name]; ok {
		return fmt.Errorf("daemon: add pair %s: already scheduled", name)
	}
	if s.stopping {
		return fmt.Errorf("daemon: add pair %s: the scheduler is stopping", name)
	}
	p := s.addLocked(name)
	p.setEvery(every)
	for _, b := range books {
		s.bookPairs[b] = append(s.bookPairs[b], name)
	}
	if s.started {
		s.startLocked(p)
	}
	return nil
}

// Remove stops scheduling pair: a run in progress finishes, no other
// starts. It reports whether the pair was known.
func (s *Scheduler) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pairs[name]
	if !ok {
		return false
	}
	if p.stop != nil {
		p.stop()
	}
	delete(s.pairs, name)
	s.names = slices.DeleteFunc(s.names, func(n string) bool { return n == name })
	for b, names := range s.bookPairs {
		names = slices.DeleteFunc(names, func(n string) bool { return n == name })
		if len(names) == 0 {
			delete(s.bookPairs, b)
		} else {
			s.bookPairs[b] = names
		}
	}
	return true
}

// Run runs the pairs until ctx ends: each scheduled pair at once and then
// on its schedule, and the pairs of a changed book Debounce after its
// last change. A pair never runs twice at once; a failure is logged and
// does not stop the others (nor the pair's next runs).
//
// When ctx ends, no new run starts; Run waits for the runs in progress to
// finish. Their context is cancelled Grace after ctx ended, so a long run
// stops at the engine's next batch boundary after committing the writes
// already made ("finish the write in progress"). Run returns nil after a
// stop; it is an error to call it twice.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.o.Run == nil {
		return errors.New("daemon: no Runner")
	}
	// runCtx outlives ctx by the grace period.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("daemon: scheduler already started")
	}
	s.started = true
	s.ctx, s.runCtx = ctx, runCtx
	for _, name := range s.names {
		s.startLocked(s.pairs[name])
	}
	if s.o.Housekeeping != nil {
		s.wg.Go(func() { s.housekeeper(ctx, runCtx) })
	}
	s.mu.Unlock()

	<-ctx.Done() // pairs may be added until then
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	if s.o.Grace < 0 {
		cancelRuns()
	} else {
		select {
		case <-done:
			return nil
		case <-s.o.After(s.o.Grace):
			s.log.Warn("grace period over: interrupting the syncs in progress after their current batch", "grace", s.o.Grace)
			cancelRuns()
		}
	}
	<-done
	return nil
}

// Changed tells the scheduler that a client changed the address book
// book of user: the pairs that use it run Debounce after the last such
// call. Books no pair uses are ignored. It never blocks.
func (s *Scheduler) Changed(user, book string) {
	s.mu.Lock()
	names := s.bookPairs[user+"/"+book]
	ps := make([]*pairState, 0, len(names))
	for _, name := range names {
		if p := s.pairs[name]; p != nil {
			ps = append(ps, p)
		}
	}
	s.mu.Unlock()
	if len(ps) == 0 {
		s.log.Debug("address book changed; no pair uses it", "user", user, "addressbook", book)
		return
	}
	for _, p := range ps {
		select {
		case p.changed <- struct{}{}:
		default: // a notice is already pending
		}
	}
}

// Trigger asks for a run of pair as soon as it is not running (no
// debounce). It reports whether the pair is known.
func (s *Scheduler) Trigger(pair string) bool {
	s.mu.Lock()
	p := s.pairs[pair]
	s.mu.Unlock()
	if p == nil {
		return false
	}
	p.request()
	return true
}

// Progress records how far the running run of pair is (done of total
// items, as engine.Options.Progress reports it), for Status; it does
// nothing when the pair is unknown or not running.
func (s *Scheduler) Progress(pair string, done, total int) {
	s.mu.Lock()
	p := s.pairs[pair]
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.status.Running {
		p.status.Done, p.status.Total = done, total
	}
	p.mu.Unlock()
}

// Status returns every pair's status, sorted by name.
func (s *Scheduler) Status() []PairStatus {
	s.mu.Lock()
	ps := make([]*pairState, 0, len(s.names))
	for _, name := range s.names {
		ps = append(ps, s.pairs[name])
	}
	s.mu.Unlock()
	out := make([]PairStatus, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		out = append(out, p.status)
		p.mu.Unlock()
	}
	return out
}

// request queues one run of the pair (at most one is ever pending).
func (p *pairState) request() {
	select {
	case p.trigger <- struct{}{}:
	default:
	}
}

// debouncer turns a burst of change notices into one run request:
// Debounce after the last notice, or maxDebounceFactor×Debounce after the
// first one, whichever comes first.
func (s *Scheduler) debouncer(ctx context.Context, p *pairState) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.changed:
		}
		deadline := s.o.After(maxDebounceFactor * s.o.Debounce)
	burst:
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.changed:
				// another change: wait Debounce again
			case <-s.o.After(s.o.Debounce):
				break burst
			case <-deadline:
				break burst
			}
		}
		s.log.Debug("address book changed: running the pair", "pair", p.name)
		p.request()
	}
}

// worker runs one pair, one run at a time, on its schedule and on
// request.
func (s *Scheduler) worker(ctx, runCtx context.Context, p *pairState) {
	next := s.o.Now() // a scheduled pair runs at the start
	for {
		var tick <-chan time.Time
		if p.every > 0 {
			p.mu.Lock()
			p.status.Next = next
			p.mu.Unlock()
			tick = s.o.After(max(0, next.Sub(s.o.Now())))
		}
		reason := "schedule"
		select {
		case <-ctx.Done():
			return
		case <-p.trigger:
			reason = "change"
		case <-tick:
		}
		if ctx.Err() != nil {
			return
		}
		if s.o.Coordinator != nil {
			next = s.coordinated(runCtx, p, reason)
			continue
		}
		start := s.runOnce(runCtx, p, reason)
		if p.every > 0 {
			next = start.Add(p.every)
			if now := s.o.Now(); next.Before(now) {
				next = now
			}
		}
	}
}

// coordinated runs the pair under its lease, as another replica may run
// it too, and returns when its next scheduled run is due. A scheduled run
// happens only when this replica claims the period; a change finding the
// pair leased elsewhere leaves a pending mark for the holder; a pending
// mark left during this replica's run runs it again.
func (s *Scheduler) coordinated(ctx context.Context, p *pairState, reason string) (next time.Time) {
	co := s.o.Coordinator
	retry := s.o.LeaseRetry
	if p.every > 0 {
		retry = min(retry, p.every)
		next = s.o.Now().Add(p.every)
	}
	change := reason == "change"
	lease, held, err := co.Lease(ctx, p.name, change)
	switch {
	case err != nil:
		s.log.Error("taking the pair's lease", "pair", p.name, "reason", reason, "err", err, "retry_in", retry)
		if change {
			s.retryChange(ctx, p, retry)
		}
		return s.o.Now().Add(retry)
	case !held:
		s.log.Debug("another replica runs the pair", "pair", p.name, "reason", reason)
		return s.o.Now().Add(retry)
	}
	run := true
	if !change && p.every > 0 {
		wait, err := co.ClaimPeriod(lease.Context(), p.name, p.every)
		switch {
		case err != nil:
			s.log.Error("claiming the pair's scheduled period", "pair", p.name, "err", err, "retry_in", retry)
			run, next = false, s.o.Now().Add(retry)
		case wait > 0:
			s.log.Debug("this period of the pair ran on another replica", "pair", p.name, "next_in", wait)
			run, next = false, s.o.Now().Add(wait)
		}
	}
	for {
		if run {
			start := s.runOnce(lease.Context(), p, reason)
			if p.every > 0 && !change {
				next = start.Add(p.every)
			}
		}
		again, err := lease.Finish()
		if err != nil {
			s.log.Error("releasing the pair's lease", "pair", p.name, "err", err)
		}
		if !again || ctx.Err() != nil {
			return next
		}
		run, reason = true, "change during a run"
	}
}

// retryChange asks for the pair's run again after d (a change whose run
// could not take the lease for an error).
func (s *Scheduler) retryChange(ctx context.Context, p *pairState, d time.Duration) {
	go func() {
		select {
		case <-ctx.Done():
		case <-s.o.After(d):
			p.request()
		}
	}()
}

// housekeeper runs Housekeeping at the start and then every
// HousekeepingEvery (from the start of the previous one) until ctx ends.
func (s *Scheduler) housekeeper(ctx, runCtx context.Context) {
	next := s.o.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.o.After(max(0, next.Sub(s.o.Now()))):
		}
		if ctx.Err() != nil {
			return
		}
		start := s.o.Now()
		err := s.housekeep(runCtx)
		if err != nil {
			s.log.Error("housekeeping failed", "err", err, "next_in", s.o.HousekeepingEvery)
		} else {
			s.log.Debug("housekeeping done", "duration", s.o.Now().Sub(start))
		}
		next = start.Add(s.o.HousekeepingEvery)
	}
}

// housekeep runs Housekeeping, turning a panic into an error.
func (s *Scheduler) housekeep(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("housekeeping panicked", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.o.Housekeeping(ctx)
}

// runOnce runs the pair once, logs the outcome and records it in the
// status; it returns the start time.
func (s *Scheduler) runOnce(ctx context.Context, p *pairState, reason string) time.Time {
	start := s.o.Now()
	p.mu.Lock()
	p.status.Running = true
	p.status.Done, p.status.Total = 0, 0
	p.mu.Unlock()
	s.log.Debug("sync starting", "pair", p.name, "reason", reason)

	err := s.call(ctx, p.name)

	end := s.o.Now()
	p.mu.Lock()
	p.status.Running = false
	p.status.Done, p.status.Total = 0, 0
	p.status.Runs++
	p.status.LastStart, p.status.LastEnd = start, end
	p.status.OK = err == nil
	p.status.Error = ""
	if err != nil {
		p.status.Error = err.Error()
	}
	p.mu.Unlock()
	if err != nil {
		s.log.Error("sync failed", "pair", p.name, "reason", reason, "duration", end.Sub(start), "err", err)
	} else {
		s.log.Info("sync done", "pair", p.name, "reason", reason, "duration", end.Sub(start))
	}
	return start
}

// call runs the Runner, turning a panic into an error so that one pair's
// bug does not take the daemon (and the other pairs) down.
func (s *Scheduler) call(ctx context.Context, pair string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("sync panicked", "pair", pair, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.o.Run(ctx, pair)
}
