package pairs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/termout"
)

// CopyStateOptions configure CopyState.
type CopyStateOptions struct {
	// From is the state to copy: a SQLite file (or a PostgreSQL URL).
	From string
	// To is where it goes: a PostgreSQL URL (or a new SQLite file).
	To string
	// Logger receives the migrations applied to the target; nil discards.
	Logger *slog.Logger
}

// ErrCopySource is wrapped by CopyState's error when the source cannot be
// opened (a missing or unreadable file, not a state database); an error
// of the arguments, not of the copy.
var ErrCopySource = errors.New("the source state cannot be opened")

// CopyState copies the state at o.From into the empty state at o.To
// (state.Copy): the source is opened read-only and not written, the
// target is created or migrated first. The tokens move sealed, so no key
// is needed; the key that sealed them must go with them (the report says).
func CopyState(ctx context.Context, o CopyStateOptions) (*state.CopyReport, error) {
	if o.From == "" || o.To == "" {
		return nil, fmt.Errorf("%w: both --from and --to are needed", ErrCopySource)
	}
	if !config.IsStateURL(o.From) {
		if _, err := os.Stat(o.From); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrCopySource, o.From)
		}
	}
	src, err := state.Open(ctx, o.From, state.Options{ReadOnly: true, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCopySource, err)
	}
	defer src.Close()
	dst, err := state.Open(ctx, o.To, state.Options{Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	return state.Copy(ctx, src, dst)
}

// WriteCopyReport prints rep: a table of the tables with their rows and
// hashes, those left out and why, and where the key of the sealed tokens
// must go.
func WriteCopyReport(w io.Writer, rep *state.CopyReport) {
	from := termout.String(rep.From)
	fmt.Fprintf(w, "Copied the state (schema version %d) from %s to %s:\n", rep.SchemaVersion, from, termout.String(rep.To))
	tw := termout.NewTable(w, "TABLE", "ROWS", "HASH")
	var rows int64
	for _, t := range rep.Tables {
		tw.Row(t.Name, fmt.Sprint(t.Rows), t.Hash[:16])
		rows += t.Rows
	}
	tw.Flush()
	fmt.Fprintf(w, "Verified: %d tables, %d rows, each table's row count and content hash the same in both. %s is unchanged.\n", len(rep.Tables), rows, from)
	for _, e := range rep.Excluded {
		fmt.Fprintf(w, "Not copied: %s (%s).\n", e.Name, e.Reason)
	}
	if rep.SealedTokens > 0 {
		accounts := "accounts"
		if rep.SealedTokens == 1 {
			accounts = "account"
		}
		fmt.Fprintf(w, "The Office 365 tokens of %d %s moved sealed: every replica needs the key that sealed them, the same secret_key_file (by default state.key beside the configuration, or beside the old state file when there was no configuration), CARDBRIDGE_SECRET_KEY or systemd credential as before.\n",
			rep.SealedTokens, accounts)
	}
}

// MigrateState applies to the state at location the migrations it lacks
// (state.Open does) and returns its schema version and its location as
// messages name it (a URL without its password). A file that does not
// exist is an error wrapping ErrCopySource: migrate makes no new state.
func MigrateState(ctx context.Context, location string, log *slog.Logger) (int, string, error) {
	if !config.IsStateURL(location) {
		if _, err := os.Stat(location); err != nil {
			return 0, "", fmt.Errorf("%w: %w", ErrCopySource, err)
		}
	}
	db, err := state.Open(ctx, location, state.Options{Logger: log})
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	return v, db.Path(), err
}
