package graphsim

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/pflag"
)

// CommandOptions is the option set of `cardbridge graphsim`: where the
// standalone simulator listens, what it seeds, its Options and the faults
// (Chaos) put in front of it. AddFlags binds its fields to the command's
// flags; Run checks them and runs the simulator.
type CommandOptions struct {
	Listen, Cloud string
	Contacts      int
	Options       Options
	Chaos         Chaos
	Redirects     []string
}

// AddFlags defines the flags of `cardbridge graphsim` on f, bound to o,
// with their defaults.
func (o *CommandOptions) AddFlags(f *pflag.FlagSet) {
	opts, chaos := &o.Options, &o.Chaos
	f.StringVar(&o.Listen, "listen", "127.0.0.1:5233", "address to listen on")
	f.IntVar(&o.Contacts, "contacts", 100, "contacts to seed alice's mailbox with")
	f.DurationVar(&opts.Latency, "latency", 0, "latency added to every request (e.g. 20ms)")
	f.DurationVar(&opts.SubRequestLatency, "sub-request-latency", 0, "time each $batch sub-request holds its mailbox slot, at most 4 of a batch at once (default --latency; negative: none, a batch answers after one --latency)")
	f.IntVar(&opts.MaxPageSize, "max-page-size", 0, "largest page of lists and delta rounds (default 1000)")
	f.StringVar(&o.Cloud, "cloud", "global", "national cloud simulated: global, usgov or china (21Vianet, which has no v1.0 contact delta)")
	f.IntVar(&opts.ContactDeltaPageCap, "delta-page-cap", 0, "largest contact delta page whatever odata.maxpagesize asks (default 200, as Exchange; -1 only --max-page-size)")
	f.IntVar(&opts.SyncStateGenerations, "sync-state-generations", 0, "completed delta rounds of a folder whose deltaLink can still be replayed; older ones answer 410 SyncStateNotFound (default 3, as Exchange; -1 unlimited)")
	f.IntVar(&opts.ConcurrencyLimit, "concurrency-limit", 0, "simultaneous requests per app and mailbox, over every token and connection, before 429 (default 4, as Graph; -1 unlimited)")
	f.Float64Var(&opts.Transient412Rate, "transient-412", 0, "probability that a GET without If-Match answers a transient 412 ErrorIrresolvableConflict, as Exchange does (0: Exchange's 0.035; -1: none)")
	f.IntVar(&opts.RateLimit, "rate-limit", 0, "requests per 10 minutes per app and mailbox before 429 (default 10000, as Graph; -1 unlimited)")
	f.Uint64Var(&opts.Seed, "seed", 0, "seed of the simulator's and the faults' random choices (0 picks one)")
	f.Float64Var(&chaos.P429, "fault-429", 0, "probability that a Graph request answers 429 with Retry-After")
	f.Float64Var(&chaos.P503, "fault-503", 0, "probability that a Graph request answers 503")
	f.Float64Var(&chaos.PReset, "fault-reset", 0, "probability that a Graph request's connection is reset (before or after it is served)")
	f.Float64Var(&chaos.PStall, "fault-stall", 0, "probability that a Graph request stalls for --stall first")
	f.DurationVar(&chaos.Stall, "stall", 2*time.Second, "how long a stalled request waits")
	f.IntVar(&chaos.ExpireDeltaAfter, "expire-delta-after", 0, "expire every delta link once, after this many delta pages (the next page answers 410)")
	f.IntVar(&chaos.AdvanceGenerations, "advance-generations", 0, "this many incremental delta rounds find the folder's sync state advanced past --sync-state-generations first, as by other writers between runs (their deltaLink answers 410)")
	f.Float64Var(&chaos.P504, "fault-504", 0, "fraction of the delta pages of more than --large-page items that answer 504 GatewayTimeout (spread evenly, the first failing)")
	f.IntVar(&chaos.LargePage, "large-page", 50, "delta page size above which --fault-504 applies")
	f.StringArrayVar(&o.Redirects, "redirect-uri", nil, "another redirect URI of the app, e.g. https://dav.example.com/ui/connect/callback (repeatable)")
	f.BoolVar(&chaos.SubRequests, "fault-subrequests", true, "apply --fault-429 and --fault-503 to $batch sub-requests too")
}

// Check checks the options (CheckStandalone, the cloud's name) and
// returns the simulator's Options with the cloud set and the faults to
// put in front, nil when none is asked for (they draw from Options.Seed).
func (o *CommandOptions) Check() (Options, *Chaos, error) {
	if err := CheckStandalone(o.Options, o.Chaos, o.Redirects); err != nil {
		return Options{}, nil, err
	}
	nc, err := ParseCloud(o.Cloud)
	if err != nil {
		return Options{}, nil, fmt.Errorf("--cloud: %w", err)
	}
	opts := o.Options
	opts.Cloud = nc
	if !o.Chaos.Faulty() {
		return opts, nil, nil
	}
	chaos := o.Chaos
	chaos.Seed = opts.Seed
	return opts, &chaos, nil
}

// Run serves the simulator the checked options describe (StandaloneWith)
// until ctx ends.
func (o *CommandOptions) Run(ctx context.Context, opts Options, chaos *Chaos, log *slog.Logger) error {
	return StandaloneWith(ctx, o.Listen, o.Contacts, opts, chaos, o.Redirects, log)
}

// CommandHelp is the long help of `cardbridge graphsim`: what the
// simulator serves, what its fault flags do and its redirect URIs.
const CommandHelp = `Run the simulator of Microsoft Graph contacts and the identity platform that
cardbridge's tests use. It prints the login_url, graph_url and client_id to put
in an account's configuration; user alice@contoso.example (password alice)
owns a mailbox seeded with --contacts contacts. Stop it with Ctrl-C.

The --fault-* flags put probabilistic faults in front of Graph (each HTTP
request draws once, deterministically from --seed): 429 with Retry-After,
503, connection resets, stalls of --stall, and one expiry of every delta
link after --expire-delta-after delta pages (the next page answers 410).

The app is registered with the redirect URIs of the CLI's browser login and
of "Connect Office 365" on a serve at a loopback address (any port); for a
serve reached at another address add its public_url + /ui/connect/callback
with --redirect-uri (repeatable).`
