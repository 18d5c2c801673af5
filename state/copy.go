package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrTargetNotEmpty is wrapped by Copy's error when the target database
// already holds data; test with errors.Is.
var ErrTargetNotEmpty = errors.New("the target state already holds data")

// CopyReport is what Copy did: every table it copied, in the order it
// copied them, and those it left out.
type CopyReport struct {
	// From and To are the two databases (a PostgreSQL URL without its
	// password).
	From string `json:"from"`
	To   string `json:"to"`
	// SchemaVersion is the schema of both databases.
	SchemaVersion int `json:"schema_version"`
	// Tables are the tables copied (parents before the tables whose
	// foreign keys point at them).
	Tables []TableCopy `json:"tables"`
	// Excluded are the tables left out, each with the reason.
	Excluded []TableCopy `json:"excluded"`
	// SealedTokens is how many Office 365 accounts have tokens, which move
	// sealed: the target opens them only with the key that sealed them.
	SealedTokens int `json:"sealed_tokens"`
}

// TableCopy is one table of a CopyReport.
type TableCopy struct {
	Name string `json:"table"`
	// Rows is the number of rows, the same in both databases.
	Rows int64 `json:"rows"`
	// Hash is the table's content hash (hex SHA-256 of the sorted hashes
	// of its rows, each a canonical encoding of its values), the same in
	// both databases.
	Hash string `json:"hash,omitempty"`
	// Reason says why an excluded table was left out.
	Reason string `json:"reason,omitempty"`
}

// copyExclusion reports whether Copy leaves table out, and why. It is the
// one place that decides: every other table of the schema is copied, so
// a table a later migration adds moves with the rest.
func copyExclusion(table string) (reason string, excluded bool) {
	switch table {
	case "schema_version":
		return "written by the target's own migrations (both are checked to be at the same version)", true
	case "leases":
		return "the pair and mailbox leases of the source's running processes: a copy would lock them out on the target until the leases expired", true
	}
	return "", false
}

// Copy copies every table of src into dst, which must be at the same
// schema version as src and as this cardbridge (LatestSchemaVersion) and
// hold no data in any table it copies (else an error wrapping
// ErrTargetNotEmpty names the table). src is only read, in one read
// transaction (src may be opened read-only); dst is written in one
// transaction, which is committed only after each table's row count and
// content hash read back from it match the source's: on any error dst is
// left as it was. Identity columns continue on dst where they would have
// on src (AUTOINCREMENT on SQLite, identity sequences on PostgreSQL), so
// no id, change number or sync token is given twice. The two may be any
// pair of SQLite and PostgreSQL databases, but not the same database.
func Copy(ctx context.Context, src, dst *DB) (*CopyReport, error) {
	rep, err := copyState(ctx, src, dst)
	if err != nil {
		return nil, fmt.Errorf("state: copy %s to %s: %w", src.path, dst.path, err)
	}
	return rep, nil
}

func copyState(ctx context.Context, src, dst *DB) (*CopyReport, error) {
	if src.path == dst.path && src.path != ":memory:" {
		return nil, errors.New("the source and the target are the same database")
	}
	if dst.readOnly {
		return nil, errors.New("the target is open read-only")
	}
	latest := LatestSchemaVersion()
	for _, side := range []struct {
		name string
		db   *DB
	}{{"source", src}, {"target", dst}} {
		v, err := side.db.SchemaVersion(ctx)
		if err != nil {
			return nil, err
		}
		switch {
		case v < latest:
			return nil, fmt.Errorf("the %s's schema is version %d, older than this cardbridge's (%d): migrate it first (cardbridge state migrate --state %s), then copy", side.name, v, latest, side.db.path)
		case v > latest:
			return nil, fmt.Errorf("the %s's schema is version %d, newer than this cardbridge's (%d): copy with the cardbridge that wrote it", side.name, v, latest)
		}
	}

	rtx, err := src.sql.BeginTx(ctx, src.readTxOptions())
	if err != nil {
		return nil, fmt.Errorf("source: begin: %w", err)
	}
	defer rtx.Rollback()
	order, err := copyOrder(ctx, src, rtx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	wtx, err := dst.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("target: begin: %w", err)
	}
	defer wtx.Rollback()
	dstTables, err := tableNames(ctx, dst, wtx)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	rep := &CopyReport{From: src.path, To: dst.path, SchemaVersion: latest}
	for _, t := range dstTables {
		if why, ex := copyExclusion(t); ex {
			rep.Excluded = append(rep.Excluded, TableCopy{Name: t, Reason: why})
		}
	}
	var want []string
	for _, t := range order {
		if _, ex := copyExclusion(t); !ex {
			want = append(want, t)
		}
	}
	for _, t := range want {
		if !slices.Contains(dstTables, t) {
			return nil, fmt.Errorf("target: no table %s, which the source has", t)
		}
		var one int
		err := wtx.QueryRowContext(ctx, `SELECT 1 FROM `+quoteIdent(t)+` LIMIT 1`).Scan(&one)
		if err == nil {
			return nil, fmt.Errorf("table %s has rows: %w (copy into a new, empty database)", t, ErrTargetNotEmpty)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("target: read %s: %w", t, err)
		}
	}

	for _, t := range want {
		tc, err := copyTable(ctx, t, rtx, wtx)
		if err != nil {
			return nil, err
		}
		if err := continueIdentity(ctx, src, rtx, dst, wtx, t); err != nil {
			return nil, fmt.Errorf("table %s: identity: %w", t, err)
		}
		got, err := hashTable(ctx, wtx, t)
		if err != nil {
			return nil, fmt.Errorf("target: verify %s: %w", t, err)
		}
		if got != tc {
			return nil, fmt.Errorf("verification failed: table %s: the source has %d rows (hash %s), the target %d (hash %s); nothing was committed", t, tc.Rows, short(tc.Hash), got.Rows, short(got.Hash))
		}
		rep.Tables = append(rep.Tables, tc)
	}
	if err := rtx.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE access_token <> '' OR refresh_token <> ''`).Scan(&rep.SealedTokens); err != nil {
		return nil, fmt.Errorf("source: count tokens: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := wtx.Commit(); err != nil {
		return nil, fmt.Errorf("target: commit: %w", err)
	}
	return rep, nil
}

// readTxOptions are the options of a read transaction that sees one
// snapshot: PostgreSQL's REPEATABLE READ (SQLite's read transaction is one
// snapshot from its first read on).
func (db *DB) readTxOptions() *sql.TxOptions {
	if db.dialect.postgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return nil
}

// querier is what the copy reads and writes through: a transaction.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// tableNames lists db's tables (not SQLite's own), by name.
func tableNames(ctx context.Context, db *DB, q querier) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`
	if db.dialect.postgres {
		query = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	return queryStrings(ctx, q, query)
}

// copyOrder lists the tables of db so that a table comes after the tables
// its foreign keys point at.
func copyOrder(ctx context.Context, db *DB, q querier) ([]string, error) {
	names, err := tableNames(ctx, db, q)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for _, t := range names {
		query := `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`
		if db.dialect.postgres {
			query = `SELECT DISTINCT ccu.table_name FROM information_schema.table_constraints tc
JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema
WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() AND tc.table_name = ?`
		}
		ps, err := queryStrings(ctx, q, query, t)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", t, err)
		}
		parents[t] = ps
	}
	var order []string
	done := map[string]bool{}
	var visit func(t string, depth int) error
	visit = func(t string, depth int) error {
		if done[t] {
			return nil
		}
		if depth > len(names) {
			return fmt.Errorf("foreign keys of %s form a cycle", t)
		}
		for _, p := range parents[t] {
			if p != t {
				if err := visit(p, depth+1); err != nil {
					return err
				}
			}
		}
		done[t] = true
		order = append(order, t)
		return nil
	}
	for _, t := range names {
		if err := visit(t, 0); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyRowsPerInsert, copyArgsPerInsert and copyBytesPerInsert bound one
// INSERT: its rows, its arguments (both databases take well over that)
// and the bytes of its values, so that a book of large photos is copied
// in memory of a few MB whatever the size of the state.
const (
	copyRowsPerInsert  = 500
	copyArgsPerInsert  = 16000
	copyBytesPerInsert = 4 << 20
)

// copyTable copies table t from rtx into wtx in batched INSERTs and
// returns the source's row count and content hash.
func copyTable(ctx context.Context, t string, rtx, wtx querier) (TableCopy, error) {
	cols, err := columns(ctx, wtx, t)
	if err != nil {
		return TableCopy{}, fmt.Errorf("target: columns of %s: %w", t, err)
	}
	srcCols, err := columns(ctx, rtx, t)
	if err != nil {
		return TableCopy{}, fmt.Errorf("source: columns of %s: %w", t, err)
	}
	if !sameNames(cols, srcCols) {
		return TableCopy{}, fmt.Errorf("table %s: the source's columns (%s) are not the target's (%s)", t, names(srcCols), names(cols))
	}
	rows, err := rtx.QueryContext(ctx, `SELECT `+names(cols)+` FROM `+quoteIdent(t))
	if err != nil {
		return TableCopy{}, fmt.Errorf("source: read %s: %w", t, err)
	}
	defer rows.Close()
	per := max(1, min(copyRowsPerInsert, copyArgsPerInsert/len(cols)))
	var (
		h     tableHasher
		batch []any
		n     int
		size  int
	)
	flush := func() error {
		if n == 0 {
			return nil
		}
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		q := `INSERT INTO ` + quoteIdent(t) + ` (` + names(cols) + `) VALUES ` + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		if _, err := wtx.ExecContext(ctx, q, batch...); err != nil {
			return fmt.Errorf("target: write %s: %w", t, err)
		}
		batch, n, size = batch[:0], 0, 0
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return TableCopy{}, fmt.Errorf("source: read %s: %w", t, err)
		}
		for i, c := range cols {
			vals[i] = c.convert(vals[i])
		}
		if err := h.add(vals); err != nil {
			return TableCopy{}, fmt.Errorf("source: table %s: %w", t, err)
		}
		batch = append(batch, vals...)
		for _, v := range vals {
			switch x := v.(type) {
			case string:
				size += len(x)
			case []byte:
				size += len(x)
			default:
				size += 8
			}
		}
		if n++; n == per || size >= copyBytesPerInsert {
			if err := flush(); err != nil {
				return TableCopy{}, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return TableCopy{}, fmt.Errorf("source: read %s: %w", t, err)
	}
	if err := flush(); err != nil {
		return TableCopy{}, err
	}
	return h.sum(t), nil
}

// hashTable reads table t through q and returns its row count and hash.
func hashTable(ctx context.Context, q querier, t string) (TableCopy, error) {
	cols, err := columns(ctx, q, t)
	if err != nil {
		return TableCopy{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT `+names(cols)+` FROM `+quoteIdent(t))
	if err != nil {
		return TableCopy{}, err
	}
	defer rows.Close()
	var h tableHasher
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return TableCopy{}, err
		}
		if err := h.add(vals); err != nil {
			return TableCopy{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return TableCopy{}, err
	}
	return h.sum(t), nil
}

// HashTables returns the row count and content hash of every table of db
// that Copy copies, by name: what Copy verifies, for a later check that a
// copy still matches its source (and for tests).
func (db *DB) HashTables(ctx context.Context) (map[string]TableCopy, error) {
	tx, err := db.sql.BeginTx(ctx, db.readTxOptions())
	if err != nil {
		return nil, fmt.Errorf("state: hash tables: %w", err)
	}
	defer tx.Rollback()
	ts, err := tableNames(ctx, db, tx)
	if err != nil {
		return nil, fmt.Errorf("state: hash tables: %w", err)
	}
	out := map[string]TableCopy{}
	for _, t := range ts {
		if _, ex := copyExclusion(t); ex {
			continue
		}
		tc, err := hashTable(ctx, tx, t)
		if err != nil {
			return nil, fmt.Errorf("state: hash table %s: %w", t, err)
		}
		out[t] = tc
	}
	return out, nil
}

// column is a column of a table: its name and whether it holds bytes or
// a PostgreSQL boolean (SQLite keeps those as integers).
type column struct {
	name string
	blob bool
	bool bool
}

// convert makes v what the column takes on either database: bytes for a
// BLOB (BYTEA) column, text for the others (SQLite's flexible typing may
// hand back either for a value stored as the other).
func (c column) convert(v any) any {
	switch x := v.(type) {
	case string:
		if c.blob {
			return []byte(x)
		}
	case []byte:
		if !c.blob {
			return string(x)
		}
	case int64:
		if c.bool {
			return x != 0
		}
	case bool:
		if !c.bool {
			if x {
				return int64(1)
			}
			return int64(0)
		}
	}
	return v
}

// columns lists table t's columns, in their order.
func columns(ctx context.Context, q querier, t string) ([]column, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+quoteIdent(t)+` LIMIT 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	cols := make([]column, len(types))
	for i, ct := range types {
		tn := strings.ToUpper(ct.DatabaseTypeName())
		cols[i] = column{name: ct.Name(), blob: tn == "BLOB" || tn == "BYTEA", bool: tn == "BOOL" || tn == "BOOLEAN"}
	}
	return cols, rows.Err()
}

func sameNames(a, b []column) bool {
	return slices.EqualFunc(a, b, func(x, y column) bool { return x.name == y.name })
}

// names is the quoted, comma-separated list of cols.
func names(cols []column) string {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = quoteIdent(c.name)
	}
	return strings.Join(s, ", ")
}

// quoteIdent quotes an identifier for both databases.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// continueIdentity makes dst's identity column of table t (if it has one)
// give next the id src would have given next.
func continueIdentity(ctx context.Context, src *DB, rtx querier, dst *DB, wtx querier, t string) error {
	col, next, err := nextIdentity(ctx, src, rtx, t)
	if err != nil || col == "" {
		return err
	}
	var maxID sql.NullInt64
	if err := wtx.QueryRowContext(ctx, `SELECT MAX(`+quoteIdent(col)+`) FROM `+quoteIdent(t)).Scan(&maxID); err != nil {
		return err
	}
	next = max(next, maxID.Int64+1)
	if dst.dialect.postgres {
		_, err := wtx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), ?, false)`, quoteIdent(t), col, next)
		return err
	}
	if _, err := wtx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = ?`, t); err != nil {
		return err
	}
	_, err = wtx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`, t, next-1)
	return err
}

// nextIdentity returns table t's identity column on db ("" for none) and
// the id it gives next.
func nextIdentity(ctx context.Context, db *DB, q querier, t string) (string, int64, error) {
	if db.dialect.postgres {
		cols, err := queryStrings(ctx, q, `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND is_identity = 'YES'`, t)
		if err != nil || len(cols) == 0 {
			return "", 0, err
		}
		var seq string
		if err := q.QueryRowContext(ctx, `SELECT pg_get_serial_sequence(?, ?)`, quoteIdent(t), cols[0]).Scan(&seq); err != nil {
			return "", 0, err
		}
		var last int64
		var called bool
		if err := q.QueryRowContext(ctx, `SELECT last_value, is_called FROM `+seq).Scan(&last, &called); err != nil {
			return "", 0, err
		}
		if called {
			last++
		}
		return cols[0], last, nil
	}
	var ddl string
	if err := q.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, t).Scan(&ddl); err != nil {
		return "", 0, err
	}
	if !strings.Contains(strings.ToUpper(ddl), "AUTOINCREMENT") {
		return "", 0, nil
	}
	pk, err := queryStrings(ctx, q, `SELECT name FROM pragma_table_info(?) WHERE pk = 1`, t)
	if err != nil || len(pk) != 1 {
		return "", 0, err
	}
	var seq int64
	err = q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, t).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", 0, err
	}
	return pk[0], seq + 1, nil
}

// tableHasher hashes a table's rows, whatever their order: each row's
// canonical encoding is hashed, and the table's hash is that of the sorted
// row hashes.
type tableHasher struct {
	rows [][sha256.Size]byte
	buf  bytes.Buffer
}

// add adds one row.
func (h *tableHasher) add(vals []any) error {
	h.buf.Reset()
	for i, v := range vals {
		if err := encodeValue(&h.buf, v); err != nil {
			return fmt.Errorf("column %d: %w", i+1, err)
		}
	}
	h.rows = append(h.rows, sha256.Sum256(h.buf.Bytes()))
	return nil
}

// sum is the table's count and hash.
func (h *tableHasher) sum(t string) TableCopy {
	slices.SortFunc(h.rows, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	all := sha256.New()
	for _, r := range h.rows {
		all.Write(r[:])
	}
	return TableCopy{Name: t, Rows: int64(len(h.rows)), Hash: hex.EncodeToString(all.Sum(nil))}
}

// encodeValue writes v's canonical encoding: a tag, then the value
// (integers as 8 bytes, text and bytes alike as their length and bytes,
// since a TEXT column of one database may come back as bytes from the other).
func encodeValue(b *bytes.Buffer, v any) error {
	var n [8]byte
	switch x := v.(type) {
	case nil:
		b.WriteByte('n')
	case int64:
		b.WriteByte('i')
		binary.BigEndian.PutUint64(n[:], uint64(x))
		b.Write(n[:])
	case int32:
		return encodeValue(b, int64(x))
	case int:
		return encodeValue(b, int64(x))
	case bool:
		if x {
			return encodeValue(b, int64(1))
		}
		return encodeValue(b, int64(0))
	case float64:
		b.WriteByte('f')
		binary.BigEndian.PutUint64(n[:], math.Float64bits(x))
		b.Write(n[:])
	case string:
		return encodeValue(b, []byte(x))
	case []byte:
		b.WriteByte('s')
		binary.BigEndian.PutUint64(n[:], uint64(len(x)))
		b.Write(n[:])
		b.Write(x)
	case time.Time:
		return encodeValue(b, x.UnixNano())
	default:
		return fmt.Errorf("a value of type %T", v)
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
