package state

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TrashLimits say how much of a pair's trash PurgeTrash keeps.
type TrashLimits struct {
	// Retention: entries created longer ago than this are purged; 0 keeps
	// entries whatever their age.
	Retention time.Duration
	// MaxBytes caps the bytes (the vCards) of the pair's trash: the newest
	// entries that fit under it are kept and every older one is purged;
	// 0 is no cap.
	MaxBytes int64
}

// Purge is one purge of one pair's trash (see DB.PurgeTrash).
type Purge struct {
	Pair string
	TrashLimits
	// Manual says the purge was asked for by hand (`cardbridge trash
	// purge`); it is recorded with what it removed.
	Manual bool
}

// PurgeResult says what a purge removed and what it left.
type PurgeResult struct {
	Entries int   // entries removed
	Bytes   int64 // their vCards' bytes
	ByAge   int   // of Entries, those past the retention
	BySize  int   // of Entries, those beyond the size cap
	// Kept and KeptBytes are what is left of the pair's trash.
	Kept      int
	KeptBytes int64
}

// Bounds of the purge log (trash_purges): what a restore of a purged entry
// is told comes from it.
const (
	// purgeLogAge is how long a purge is remembered.
	purgeLogAge = 365 * 24 * time.Hour
	// defaultPurgeLogRows is how many of its rows (runs of purged ids) are
	// kept (DB.purgeLogRows; tests lower it).
	defaultPurgeLogRows = 10000
	// deleteChunk bounds the ids of one DELETE ... IN (...).
	deleteChunk = 500
)

// PurgedError is the error of GetTrash and RequestRestore for an entry a
// purge removed; errors.Is(err, ErrNotFound) holds for it too.
type PurgedError struct {
	ID int64
	// The rest is zero when the purge is no longer on record (see
	// purgeLogAge, purgeLogRows) or the entry went otherwise (its pair
	// removed).
	Pair      string
	Cause     string        // "age" or "size"
	Retention time.Duration // Cause "age": the retention or --older-than
	MaxBytes  int64         // Cause "size": the pair's cap
	Manual    bool          // by `cardbridge trash purge`
	At        time.Time     // when
}

// Error says the entry is gone, when and why.
func (e *PurgedError) Error() string {
	if e.At.IsZero() {
		return fmt.Sprintf("trash entry %d is gone: it was purged from the trash (or its pair removed) and can no longer be restored", e.ID)
	}
	by := "trash_retention"
	if e.Manual {
		by = "by `cardbridge trash purge`"
	}
	why := fmt.Sprintf("it was older than %s (%s)", FormatAge(e.Retention), by)
	if e.Cause == "size" {
		by = "trash_max_size"
		if e.Manual {
			by += ", by `cardbridge trash purge`"
		}
		why = fmt.Sprintf("the trash of pair %s was over its cap of %s (%s) and it was among the oldest", e.Pair, FormatBytes(e.MaxBytes), by)
	}
	return fmt.Sprintf("trash entry %d (pair %s) was purged on %s: %s; it can no longer be restored",
		e.ID, e.Pair, e.At.UTC().Format("2006-01-02 15:04 UTC"), why)
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *PurgedError) Is(target error) bool { return target == ErrNotFound }

// FormatAge writes a retention for people: "30 days", "36h0m0s".
func FormatAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + " days"
	}
	return d.String()
}

// FormatBytes writes a size for people in decimal units: "100 MB", "1.5 kB".
func FormatBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	f, u := float64(n), 0
	for f >= 1000 && u < len(units)-1 {
		f /= 1000
		u++
	}
	if u == 0 {
		return strconv.FormatInt(n, 10) + " B"
	}
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(f, 'f', 1, 64), "0"), ".") + " " + units[u]
}

// PurgeTrash removes from p.Pair's trash the entries past p.Retention (by
// the DB's clock, Options.Now) and then, newest first, every entry beyond
// p.MaxBytes; a zero limit removes nothing on its own. An entry whose
// restore is pending is never removed (its bytes count against the cap).
// What is removed is recorded, so that GetTrash and RequestRestore of it
// answer a *PurgedError.
//
// When the purge leaves more than a quarter of the file free, and the file
// was made with incremental auto-vacuum (every file this version creates),
// the free pages are given back to the file system; otherwise SQLite
// reuses them for the next entries and the file stops growing. A file made
// before that needs one VACUUM (DB.Vacuum) to switch.
func (db *DB) PurgeTrash(ctx context.Context, p Purge) (PurgeResult, error) {
	switch {
	case p.Pair == "":
		return PurgeResult{}, errors.New("state: purge trash: empty pair")
	case p.Retention < 0:
		return PurgeResult{}, fmt.Errorf("state: purge trash of %s: negative retention %s", p.Pair, p.Retention)
	case p.MaxBytes < 0:
		return PurgeResult{}, fmt.Errorf("state: purge trash of %s: negative size cap %d", p.Pair, p.MaxBytes)
	}
	now := db.clock().UTC()
	var res PurgeResult
	err := db.update(ctx, "purge trash of "+p.Pair, func(tx *Tx) error {
		res = PurgeResult{}
		return tx.purgeTrash(p, now, &res)
	}, func(err error) error { return fmt.Errorf("state: purge trash of %s: %w", p.Pair, err) })
	if err != nil {
		return PurgeResult{}, err
	}
	if res.Entries > 0 {
		if err := db.shrink(ctx); err != nil {
			db.log.Warn("state: giving the pages freed by a trash purge back", "path", db.path, "err", err)
		}
	}
	return res, nil
}

// purged is one entry a purge removes.
type purged struct {
	id    int64
	size  int64
	cause string
}

// purgeTrash is PurgeTrash's transaction.
func (tx *Tx) purgeTrash(p Purge, now time.Time, res *PurgeResult) error {
	cutoff := int64(math.MinInt64)
	if p.Retention > 0 {
		cutoff = now.Add(-p.Retention).UnixNano()
	}
	// Most runs have nothing to purge: tell from the index alone, in one
	// pass of SQLite's, before reading the entries one by one.
	var count, aged int
	var total int64
	if err := tx.sql.QueryRowContext(tx.ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0),
COALESCE(SUM(CASE WHEN created_at < ? AND NOT restore_requested THEN 1 ELSE 0 END), 0) FROM trash WHERE pair = ?`, cutoff, p.Pair).Scan(&count, &total, &aged); err != nil {
		return err
	}
	if aged == 0 && (p.MaxBytes == 0 || total <= p.MaxBytes) {
		res.Kept, res.KeptBytes = count, total
		return nil
	}
	rows, err := tx.sql.QueryContext(tx.ctx, `SELECT id, created_at, size, restore_requested FROM trash
WHERE pair = ? ORDER BY created_at DESC, id DESC`, p.Pair)
	if err != nil {
		return err
	}
	var gone []purged
	var kept, over = int64(0), false
	for rows.Next() {
		var (
			e       purged
			created int64
			pending bool
		)
		if err := rows.Scan(&e.id, &created, &e.size, &pending); err != nil {
			rows.Close()
			return err
		}
		switch {
		case pending:
		case created < cutoff:
			e.cause = "age"
		case p.MaxBytes > 0 && (over || kept+e.size > p.MaxBytes):
			e.cause, over = "size", true
		}
		if e.cause == "" {
			kept += e.size
			res.Kept++
			continue
		}
		gone = append(gone, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	res.KeptBytes = kept
	if len(gone) == 0 {
		return nil
	}
	for start := 0; start < len(gone); start += deleteChunk {
		chunk := gone[start:min(start+deleteChunk, len(gone))]
		args := make([]any, len(chunk))
		for i, e := range chunk {
			args[i] = e.id
		}
		q := `DELETE FROM trash WHERE id IN ` + inList(len(chunk))
		if _, err := tx.sql.ExecContext(tx.ctx, q, args...); err != nil {
			return err
		}
	}
	for _, e := range gone {
		res.Entries++
		res.Bytes += e.size
		if e.cause == "age" {
			res.ByAge++
		} else {
			res.BySize++
		}
	}
	if err := tx.logPurge(p, now, gone); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// logPurge records the entries a purge removed as runs of ids: a run
// holds ids removed for one cause and no surviving entry, so that the
// earliest run holding an id is the purge that removed it. It then trims
// the log to its bounds.
func (tx *Tx) logPurge(p Purge, now time.Time, gone []purged) error {
	slices.SortFunc(gone, func(a, b purged) int { return cmp.Compare(a.id, b.id) })
	insert := func(run []purged) error {
		var bytes int64
		for _, e := range run {
			bytes += e.size
		}
		lim := int64(p.Retention)
		if run[0].cause == "size" {
			lim = p.MaxBytes
		}
		_, err := tx.sql.ExecContext(tx.ctx, `INSERT INTO trash_purges (pair, first_id, last_id, entries, bytes, cause, lim, manual, purged_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Pair, run[0].id, run[len(run)-1].id, len(run), bytes, run[0].cause, lim, p.Manual, now.UnixNano())
		return err
	}
	start := 0
	for i := 1; i <= len(gone); i++ {
		if i < len(gone) && gone[i].cause == gone[i-1].cause {
			if gone[i].id == gone[i-1].id+1 {
				continue
			}
			var survivor bool
			if err := tx.sql.QueryRowContext(tx.ctx, `SELECT EXISTS (SELECT 1 FROM trash WHERE id > ? AND id < ?)`,
				gone[i-1].id, gone[i].id).Scan(&survivor); err != nil {
				return err
			}
			if !survivor {
				continue
			}
		}
		if err := insert(gone[start:i]); err != nil {
			return err
		}
		start = i
	}
	if _, err := tx.sql.ExecContext(tx.ctx, `DELETE FROM trash_purges WHERE purged_at < ?`, now.Add(-purgeLogAge).UnixNano()); err != nil {
		return err
	}
	_, err := tx.sql.ExecContext(tx.ctx, `DELETE FROM trash_purges WHERE id <= (SELECT id FROM trash_purges ORDER BY id DESC LIMIT 1 OFFSET ?)`, tx.db.purgeLogRows)
	return err
}

// purged returns the *PurgedError of a trash id that is not in the trash,
// or nil when no entry ever had that id.
func (db *DB) purged(ctx context.Context, id int64) *PurgedError {
	var seq sql.NullInt64
	q := `SELECT seq FROM sqlite_sequence WHERE name = 'trash'`
	if db.dialect.postgres {
		q = `SELECT pg_sequence_last_value(pg_get_serial_sequence('trash', 'id')::regclass)`
	}
	err := db.sql.QueryRowContext(ctx, q).Scan(&seq)
	if err != nil || !seq.Valid || id <= 0 || id > seq.Int64 {
		return nil
	}
	pe := &PurgedError{ID: id}
	var (
		lim int64
		at  int64
	)
	err = db.sql.QueryRowContext(ctx, `SELECT pair, cause, lim, manual, purged_at FROM trash_purges
WHERE last_id >= ? AND first_id <= ? ORDER BY id LIMIT 1`, id, id).Scan(&pe.Pair, &pe.Cause, &lim, &pe.Manual, &at)
	if err != nil { // no record (sql.ErrNoRows) or unreadable: gone all the same
		return pe
	}
	pe.At = time.Unix(0, at).UTC()
	if pe.Cause == "size" {
		pe.MaxBytes = lim
	} else {
		pe.Retention = time.Duration(lim)
	}
	return pe
}

// TrashPairs lists the pairs that have entries in the trash, sorted.
func (db *DB) TrashPairs(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT DISTINCT pair FROM trash ORDER BY pair`)
	if err != nil {
		return nil, fmt.Errorf("state: trash pairs: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("state: trash pairs: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: trash pairs: %w", err)
	}
	return out, nil
}

// FileSize is the size of the database in bytes (its pages, free ones
// included) and how many of those bytes are free pages. On PostgreSQL it is
// the database's size (pg_database_size), free 0: its free space is
// PostgreSQL's to manage.
func (db *DB) FileSize(ctx context.Context) (size, free int64, err error) {
	if db.dialect.postgres {
		if err := db.sql.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&size); err != nil {
			return 0, 0, fmt.Errorf("state: database size: %w", err)
		}
		return size, 0, nil
	}
	var pages, freePages, pageSize int64
	for _, q := range []struct {
		pragma string
		v      *int64
	}{{"page_count", &pages}, {"freelist_count", &freePages}, {"page_size", &pageSize}} {
		if err := db.sql.QueryRowContext(ctx, `PRAGMA `+q.pragma).Scan(q.v); err != nil {
			return 0, 0, fmt.Errorf("state: file size: %s: %w", q.pragma, err)
		}
	}
	return pages * pageSize, freePages * pageSize, nil
}

// shrink gives free pages back to the file system when more than a
// quarter of the database is free and it uses incremental auto-vacuum,
// keeping free a tenth of what is in use, for the next entries. The file itself
// shrinks at the WAL checkpoint that follows. On PostgreSQL autovacuum
// does it.
func (db *DB) shrink(ctx context.Context) error {
	if db.dialect.postgres {
		return nil
	}
	var mode int
	if err := db.sql.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return err
	}
	if mode != 2 { // INCREMENTAL
		return nil
	}
	size, free, err := db.FileSize(ctx)
	if err != nil {
		return err
	}
	if free*4 <= size {
		return nil
	}
	var pageSize int64
	if err := db.sql.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return err
	}
	n := (free - (size-free)/10) / pageSize
	if n <= 0 {
		return nil
	}
	if _, err := db.sql.ExecContext(ctx, `PRAGMA incremental_vacuum(`+strconv.FormatInt(n, 10)+`)`); err != nil {
		return err
	}
	_, err = db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	return err
}

// Vacuum rebuilds the database file without its free pages (VACUUM), and
// switches a file made before incremental auto-vacuum to it. It needs as
// much free disk as the file's size and keeps every other writer waiting
// meanwhile. It returns the size before and after.
func (db *DB) Vacuum(ctx context.Context) (before, after int64, err error) {
	if db.readOnly {
		return 0, 0, errors.New("state: vacuum: database is open read-only")
	}
	if before, _, err = db.FileSize(ctx); err != nil {
		return 0, 0, err
	}
	qs := []string{`PRAGMA auto_vacuum = INCREMENTAL`, `VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`}
	if db.dialect.postgres {
		// VACUUM FULL rewrites the tables without their dead rows, like
		// SQLite's VACUUM; it cannot run in a transaction, so it does not
		// go through the writer lock (it locks the tables itself).
		qs = nil
		if _, err := db.sql.DB.ExecContext(ctx, `VACUUM FULL`); err != nil {
			return 0, 0, fmt.Errorf("state: vacuum %s: %w", db.path, err)
		}
	}
	for _, q := range qs {
		if _, err := db.sql.ExecContext(ctx, q); err != nil {
			return 0, 0, fmt.Errorf("state: vacuum %s: %s: %w", db.path, q, err)
		}
	}
	if after, _, err = db.FileSize(ctx); err != nil {
		return 0, 0, err
	}
	return before, after, nil
}
