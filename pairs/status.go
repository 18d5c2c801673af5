package pairs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/config"
)

// Status is what the state knows of a pair (`cardbridge status`; its JSON
// form is the `status --json` contract).
type Status struct {
	Pair      string          `json:"pair"`
	A         string          `json:"a"`
	B         string          `json:"b"`
	Items     int             `json:"items"`
	Conflicts int             `json:"open_conflicts"`
	LastRun   *time.Time      `json:"last_run,omitempty"`
	LastOK    bool            `json:"last_run_ok"`
	Summary   json.RawMessage `json:"last_summary,omitempty"`
	// Failed lists the items runs could not read or apply, read again by
	// id from their next retry on.
	Failed []FailedStatus `json:"failed_items"`
}

// FailedStatus is what Status shows of one failed item (times in UTC).
type FailedStatus struct {
	Side        string    `json:"side"`
	ID          string    `json:"id"`
	UID         string    `json:"uid,omitempty"`
	Reason      string    `json:"reason"`
	Attempts    int       `json:"attempts"`
	FirstFailed time.Time `json:"first_failed"`
	LastFailed  time.Time `json:"last_failed"`
	NextRetry   time.Time `json:"next_retry"`
}

// Status reads the state of pair p: its contacts, open conflicts, last
// run and failed items.
func (r *Runner) Status(ctx context.Context, p config.Pair) (Status, error) {
	db := r.o.DB
	st := Status{Pair: p.Name, A: SideText(p.A), B: SideText(p.B), Failed: []FailedStatus{}}
	var err error
	if st.Items, err = db.CountItems(ctx, p.Name); err != nil {
		return st, err
	}
	cs, err := db.Conflicts(ctx, p.Name, true)
	if err != nil {
		return st, err
	}
	st.Conflicts = len(cs)
	if run, ok, err := db.LastRun(ctx, p.Name); err != nil {
		return st, err
	} else if ok {
		t := run.Finished
		st.LastRun, st.LastOK, st.Summary = &t, run.OK, run.Summary
	}
	fis, err := db.FailedItems(ctx, p.Name)
	if err != nil {
		return st, err
	}
	for _, fi := range fis {
		st.Failed = append(st.Failed, FailedStatus{Side: fi.Side, ID: fi.SideID, UID: fi.UID, Reason: fi.Reason, Attempts: fi.Attempts,
			FirstFailed: fi.FirstFailed.UTC(), LastFailed: fi.LastFailed.UTC(), NextRetry: fi.NextRetry.UTC()})
	}
	return st, nil
}

// SideText names a side by its type and, for a vdir, its path:
// "vdir /home/a/contacts", "o365".
func SideText(s config.Side) string {
	if s.Path != "" {
		return string(s.Type) + " " + s.Path
	}
	return string(s.Type)
}

// Select returns the pairs of cfg named (by their configured names), or
// all of them when none is; an error wrapping ErrNoPair names the pair
// that does not exist, or says that none is configured.
func Select(cfg *config.Config, names []string) ([]string, error) {
	if len(names) == 0 {
		all := cfg.PairNames()
		if len(all) == 0 {
			where := cfg.File
			if where == "" {
				where = config.DefaultPath(nil) + " (not found)"
			}
			return nil, &noPairError{fmt.Sprintf("no pairs configured in %s: see `cardbridge demo` for a first run and the README for the format", where)}
		}
		return all, nil
	}
	var out []string
	for _, n := range names {
		p, ok := cfg.Pair(n)
		if !ok {
			return nil, &noPairError{fmt.Sprintf("no pair %q in the configuration (pairs: %s)", n, strings.Join(cfg.PairNames(), ", "))}
		}
		out = append(out, p.Name)
	}
	return out, nil
}

// noPairError is Select's error: its text as it is, matching ErrNoPair.
type noPairError struct{ msg string }

func (e *noPairError) Error() string        { return e.msg }
func (e *noPairError) Is(target error) bool { return target == ErrNoPair }
