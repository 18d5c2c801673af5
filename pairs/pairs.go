// Package pairs is cardbridge's application layer: it owns "run one pair
// once". A Runner opens a configured pair's sides (vdir, CardDAV, the
// built-in server's store, Office 365) from the configuration, runs the
// sync engine on them, records the account's last sync, and applies a
// person's choices (a conflict resolved, a trash entry restored). It also
// knows the pairs made on serve's web page (kept in the state) and merges
// them with the configured ones, and holds the use cases behind the CLI's
// other commands: the accounts the configuration and the state know, a
// pair's status, resetting a side, the built-in server's users.
//
// The CLI's `sync`, serve's scheduler and the web page all go through a
// Runner; none of them opens sides or runs the engine itself.
package pairs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/resolve"
	"github.com/cardbridge/cardbridge/o365/auth"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/state"
)

// DefaultGraphTimeout bounds one request to Microsoft Graph or the
// identity platform when Options.HTTPClient is nil.
const DefaultGraphTimeout = 2 * time.Minute

// Options configure New.
type Options struct {
	// DB is the state database: links, runs, tokens, web pairs. Required.
	DB *state.DB
	// Config is the loaded configuration (without the web page's pairs,
	// which the Runner adds from DB). Required.
	Config *config.Config
	// Env is the process environment ("KEY=value"), where a CardDAV
	// side's password_env is looked up.
	Env []string
	// Limiters is the in-flight limit of every Office 365 mailbox, shared
	// by all pairs of the process (4 requests per Graph host, app and
	// mailbox); nil makes one for this Runner.
	Limiters *graph.Limiters
	// HTTPClient talks to Microsoft Graph and the identity platform; nil
	// uses one with DefaultGraphTimeout.
	HTTPClient *http.Client
	// Logger receives the sides' and the engine's logs; nil discards.
	Logger *slog.Logger
	// MailboxWait bounds how long a run waits for an Office 365
	// mailbox's lease held by a pair on another replica (0:
	// DefaultMailboxWait); MailboxPoll is how often it asks meanwhile
	// (0: a second).
	MailboxWait, MailboxPoll time.Duration
}

// Runner runs pairs; see the package documentation. It is safe for
// concurrent use by several goroutines (serve's scheduler runs different
// pairs at once) as far as its DB is.
type Runner struct {
	o    Options
	log  *slog.Logger
	mbox mailboxLeases
	mbx  mailboxShared
	now  func() time.Time // the clock of mailbox provisioning (tests move it)
}

// New returns a Runner over o.DB and o.Config.
func New(o Options) (*Runner, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("pairs: no state database")
	case o.Config == nil:
		return nil, errors.New("pairs: no configuration")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Limiters == nil {
		o.Limiters = graph.NewLimiters(0)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultGraphTimeout}
	}
	if o.MailboxWait <= 0 {
		o.MailboxWait = DefaultMailboxWait
	}
	if o.MailboxPoll <= 0 {
		o.MailboxPoll = time.Second
	}
	return &Runner{o: o, log: o.Logger, mbox: mailboxLeases{held: map[string]*sharedLease{}},
		mbx: mailboxShared{sources: map[string]*auth.Source{}, slots: map[string]chan struct{}{}}, now: time.Now}, nil
}

// Config is the configuration the Runner was made with (without the web
// page's pairs; see Pairs).
func (r *Runner) Config() *config.Config { return r.o.Config }

// RunOptions are the choices of one run.
type RunOptions struct {
	// DryRun plans and writes nothing (sides, state, last sync).
	DryRun bool
	// ForceDelete lets the run delete past the guards (empty side,
	// max_delete).
	ForceDelete bool
	// Progress, when set, is called as items are read and applied.
	Progress func(done, total int)
}

// ErrNoPair is the error of Run for a name that is neither configured nor
// made on the web page (any more).
var ErrNoPair = errors.New("no such pair")

// Run runs pair name once: the configured pair, else the web page's pair
// of that name as the state has it now. It opens both sides, runs the
// engine (which records the run), closes the sides and, when the run had
// no error and was not a dry run, records the last sync of the Office 365
// accounts involved. The engine's errors (*engine.GuardError,
// *engine.IdentityError, ...) come back as they are; a Result with errors
// is not an error of Run (see engine.Result.OK).
//
// A run that writes holds the pair's lease (state.PairLeaseKey: a
// *state.LockedError at once when another process holds it, unless ctx
// carries it already, as the scheduler's runs do) and the lease of each
// Office 365 mailbox it works on (waiting up to Options.MailboxWait for
// one that a pair on another replica holds). When a lease is lost (its
// renewal failed or found it taken) the run's context is cancelled: the
// engine stops at its next batch boundary.
func (r *Runner) Run(ctx context.Context, name string, o RunOptions) (res *engine.Result, err error) {
	cfg, ok, err := r.mailboxPairConfig(ctx, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		if cfg, _, err = r.Pairs(ctx); err != nil {
			return nil, err
		}
	}
	pc, ok := cfg.Pair(name)
	if !ok {
		return nil, fmt.Errorf("pair %s: %w (not configured, or disconnected on the web page)", name, ErrNoPair)
	}
	var planned func(a, b engine.SideCounts, conflicts int)
	if macc, ok := mailboxAccountOf(cfg, pc); ok {
		// One of mailbox_concurrency slots; the outcome is the mailbox's.
		// The slot is for the mailbox's traffic with Office 365: once
		// the plan writes nothing there (side a), the rest of the run is
		// local and the slot goes to the next mailbox.
		take, serr := r.mailboxSlot(ctx, macc)
		if serr != nil {
			return nil, serr
		}
		free := sync.OnceFunc(take)
		defer free()
		planned = func(a, _ engine.SideCounts, conflicts int) {
			if a == (engine.SideCounts{}) && conflicts == 0 {
				free()
			}
		}
		if !o.DryRun {
			defer func() { r.recordMailboxRun(context.WithoutCancel(ctx), name, res, err) }()
		}
	}
	if !o.DryRun {
		lease, err := r.o.DB.AcquireLease(ctx, state.PairLeaseKey(name), state.LeaseOptions{})
		if err != nil {
			return nil, err
		}
		defer lease.Release()
		mctx, release, err := r.holdMailboxes(lease.Context(), r.mailboxKeys(ctx, cfg, pc))
		if err != nil {
			return nil, fmt.Errorf("pair %s: %w", name, err)
		}
		defer release()
		ctx = mctx
	}
	pair, err := r.Open(ctx, cfg, pc, o.DryRun)
	if err != nil {
		return nil, err
	}
	defer closeSide(pair.B)
	defer closeSide(pair.A)
	res, err = engine.New(r.o.DB, r.log).Run(ctx, pair, engine.Options{DryRun: o.DryRun, ForceDelete: o.ForceDelete, Progress: o.Progress, Planned: planned})
	if err != nil {
		return res, err
	}
	if !o.DryRun && res.OK() {
		r.touchAccounts(ctx, cfg, pc)
	}
	return res, nil
}

// touchAccounts records now as the last sync of p's Office 365 accounts
// (for a mailbox's pair, the configured account with mailboxes: the
// mailbox's own run is in its row). A failure is logged: the run itself
// succeeded.
func (r *Runner) touchAccounts(ctx context.Context, cfg *config.Config, p config.Pair) {
	for _, sc := range []config.Side{p.A, p.B} {
		if sc.Type != config.SideO365 {
			continue
		}
		name := sc.Account
		if acc, ok := cfg.Account(name); ok && acc.Mailboxes != nil {
			name = acc.Name // a mailbox's pair: its configured account synced
		}
		if err := r.o.DB.TouchAccountSync(ctx, name, time.Now()); err != nil {
			r.log.Warn("recording the account's last sync", "account", sc.Account, "err", err)
		}
	}
}

// Open builds the engine's view of pair p of cfg: both sides opened (see
// OpenSide), its direction, policy, max_delete and trash. The caller
// closes the sides (CloseSide).
func (r *Runner) Open(ctx context.Context, cfg *config.Config, p config.Pair, dryRun bool) (engine.Pair, error) {
	a, err := r.OpenSide(ctx, cfg, p.A, dryRun, p.Direction == string(engine.AToB))
	if err != nil {
		return engine.Pair{}, fmt.Errorf("pair %s: side a: %w", p.Name, err)
	}
	b, err := r.OpenSide(ctx, cfg, p.B, dryRun, p.Direction == string(engine.BToA))
	if err != nil {
		closeSide(a)
		return engine.Pair{}, fmt.Errorf("pair %s: side b: %w", p.Name, err)
	}
	return engine.Pair{
		Name: p.Name, A: a, B: b,
		Direction: engine.Direction(p.Direction),
		Policy:    engine.Policy(p.Conflict),
		MaxDelete: p.MaxDelete.Allowed,
		Trash:     TrashLimits(cfg.TrashOf(p.Name)),
	}, nil
}

// TrashLimits is the state's form of a pair's trash settings.
func TrashLimits(t config.Trash) state.TrashLimits {
	return state.TrashLimits{Retention: t.Retention, MaxBytes: t.MaxSize}
}

// CloseSide closes s if it holds resources (engine.Closer).
func CloseSide(s engine.Side) { closeSide(s) }

func closeSide(s engine.Side) {
	if c, ok := s.(engine.Closer); ok {
		c.Close()
	}
}

// Errors of Resolve, re-exported for callers that answer them differently
// (a usage error, a 400 page).
var (
	// ErrBadKeep is a keep that is not a, b or merged.
	ErrBadKeep = resolve.ErrBadKeep
	// ErrApplied is a conflict whose resolution a sync applied already.
	ErrApplied = resolve.ErrApplied
)

// Resolve records that conflict c is resolved by keeping keep ("a", "b"
// or "merged", a three-way merge; see resolve.Keep); the pair's next run
// writes it to both sides.
func (r *Runner) Resolve(ctx context.Context, c state.Conflict, keep string) error {
	return resolve.Conflict(ctx, r.o.DB, c, keep)
}

// Restore asks the next run of e's pair to bring e's version back on both
// sides.
func (r *Runner) Restore(ctx context.Context, e state.TrashEntry) error {
	return resolve.Restore(ctx, r.o.DB, e)
}
