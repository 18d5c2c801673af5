package serve

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/pairs"
)

// pairScheduler is what the mailbox job changes in the scheduler:
// *daemon.Scheduler.
type pairScheduler interface {
	Add(name string, every time.Duration, books []string) error
	Remove(name string) bool
}

// mailboxJob keeps one mailboxes account's pairs (accounts.X.mailboxes)
// (or, for an account with only directory, its tenant's directory copy)
// in step with its tenant: each tick it provisions (pairs.Runner.
// ProvisionMailboxes: users delta, group members, joins, leaves) and adds
// to the scheduler the pairs of new or resumed mailboxes (which run at
// once) and removes those of paused or removed ones. On a replica whose
// peer provisions this tick, the scheduler still follows the state.
type mailboxJob struct {
	account string
	// mailboxes is false for an account with only directory: its job
	// refreshes the directory copy and schedules nothing.
	mailboxes bool
	runner    *pairs.Runner
	sched     pairScheduler
	log       *slog.Logger

	mu        sync.Mutex
	scheduled map[string]bool // the mailbox pairs in the scheduler
}

// newMailboxJob returns the job of account; scheduled are the account's
// mailbox pairs the scheduler has already.
func newMailboxJob(account string, runner *pairs.Runner, sched pairScheduler, scheduled []string, log *slog.Logger) *mailboxJob {
	j := &mailboxJob{account: account, mailboxes: true, runner: runner, sched: sched, log: log, scheduled: map[string]bool{}}
	for _, n := range scheduled {
		j.scheduled[n] = true
	}
	return j
}

// tick runs one round; its errors are logged (the next tick tries again).
// An account without mailboxes (directory only) has its directory
// refreshed, one users delta round under the tenant's lease; one with
// mailboxes has it refreshed by the provisioning.
func (j *mailboxJob) tick(ctx context.Context) {
	if !j.mailboxes {
		res, skipped, err := j.runner.RefreshDirectory(ctx, j.account, nil)
		switch {
		case err != nil:
			j.log.Error("directory refresh failed", "account", j.account, "err", err)
		case skipped:
			j.log.Debug("another replica refreshes the directory", "account", j.account)
		default:
			j.log.Info("directory refreshed", "account", j.account, "changes", res.Changes, "full", res.Full, "photos", res.Photos)
		}
		return
	}
	round, err := j.runner.ProvisionMailboxes(ctx, j.account, nil)
	switch {
	case err != nil:
		j.log.Error("mailbox provisioning failed", "account", j.account, "err", err)
	case round.Skipped:
		j.log.Debug("another replica provisions the mailboxes", "account", j.account)
	default:
		j.log.Info("mailboxes provisioned", "account", j.account, "directory_changes", round.Directory.Changes, "full", round.Directory.Full,
			"added", len(round.Added), "paused", len(round.Paused), "resumed", len(round.Resumed), "removed", len(round.Removed), "errors", len(round.Errors))
	}
	want, err := j.runner.MailboxPairs(ctx, j.account)
	if err != nil {
		j.log.Error("reading the mailbox pairs", "account", j.account, "err", err)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for name := range j.scheduled {
		if _, ok := want[name]; !ok {
			j.sched.Remove(name)
			delete(j.scheduled, name)
			j.log.Info("mailbox pair unscheduled (paused or removed)", "account", j.account, "pair", name)
		}
	}
	for name, p := range want {
		if j.scheduled[name] {
			continue
		}
		if err := j.sched.Add(name, p.Every, []string{p.B.User + "/" + p.B.Addressbook}); err != nil {
			j.log.Warn("scheduling a mailbox pair", "pair", name, "err", err)
			continue
		}
		j.scheduled[name] = true
		j.log.Info("mailbox pair scheduled", "account", j.account, "pair", name, "user", p.B.User)
	}
}

// run ticks at once and then every every until ctx ends.
func (j *mailboxJob) run(ctx context.Context, every time.Duration) {
	for {
		j.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// newDirectoryJob returns the job of account, one with directory and
// without mailboxes: it only refreshes the tenant's directory copy.
func newDirectoryJob(account string, runner *pairs.Runner, log *slog.Logger) *mailboxJob {
	return &mailboxJob{account: account, runner: runner, log: log, scheduled: map[string]bool{}}
}

// startMailboxJobs starts the job of each account of cfg with mailboxes
// or directory (every mailbox_every); scheduled are the pairs the
// scheduler starts with (the mailbox pairs among them are the jobs' to
// follow). stop ends them and waits.
func startMailboxJobs(ctx context.Context, cfg *config.Config, runner *pairs.Runner, sched pairScheduler, log *slog.Logger) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, name := range cfg.AccountNames() {
		acc, _ := cfg.Account(name)
		if acc.Mailboxes == nil {
			if acc.Directory != nil {
				j := newDirectoryJob(name, runner, log)
				every := acc.Directory.Every
				if every <= 0 {
					every = config.DefaultMailboxEvery
				}
				wg.Go(func() { j.run(ctx, every) })
			}
			continue
		}
		have, err := runner.MailboxPairs(ctx, name)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		var names []string
		for n := range have {
			names = append(names, n)
		}
		j := newMailboxJob(name, runner, sched, names, log)
		every := acc.Mailboxes.Every
		wg.Go(func() { j.run(ctx, every) })
	}
	return func() { cancel(); wg.Wait() }, nil
}
