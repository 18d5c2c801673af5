// Package state keeps cardbridge's persistent state: the item map of every pair
// (ids and versions on both sides, UID, base vCard and its hash), the sides' sync
// tokens, per-pair locks, the trash, conflicts left under the manual policy, and
// the record of runs.
//
// The state lives in one SQLite database (modernc.org/sqlite, pure Go) in WAL
// mode, created 0600, or in a PostgreSQL database named by a postgres:// URL
// (github.com/jackc/pgx/v5 through database/sql). Its schema is built by the
// numbered migrations embedded from migrations/ (shared by both; a file of
// migrations/postgres/ replaces the shared one of its number where the SQL is
// not portable) and recorded in the schema_version table. Several processes
// may open the same state: writers wait for each other (busy_timeout on
// SQLite, an advisory lock on PostgreSQL: see dialect) instead of failing,
// and LockPair keeps two syncs of one pair apart.
//
// All SQL of cardbridge lives in this package and goes through database/sql,
// written once in SQLite's spelling and rewritten for PostgreSQL by the
// dialect (placeholders, column types). Nothing outside this package knows
// which database is underneath.
package state

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrNotFound is wrapped by the errors of look-ups (GetTrash, GetConflict, an
// update through PutItem...) whose row does not exist; test with errors.Is.
var ErrNotFound = errors.New("not found")

// Options tune Open.
type Options struct {
	// ReadOnly opens an existing database with mode=ro: nothing is created,
	// migrated or written, and every write fails.
	ReadOnly bool
	// Logger receives migrations applied and stale locks taken over; nil
	// discards them.
	Logger *slog.Logger
	// TokenKey (TokenKeySize bytes) seals the Office 365 tokens at rest
	// (see secret.go; LoadTokenKey finds it). Without it the database
	// opens, but SaveToken fails and LoadToken fails for sealed tokens,
	// each with ErrNoTokenKey. A writable Open with the key seals the tokens
	// an older cardbridge stored as they are.
	TokenKey []byte
	// TokenKeySource says where TokenKey came from (or why there is none),
	// for the errors about tokens that cannot be sealed or opened.
	TokenKeySource string
	// LeaseTTL is how long a lease (LockPair, AcquireLease) lasts
	// without a renewal (0: DefaultLeaseTTL); tests shorten it.
	LeaseTTL time.Duration
	// Now replaces time.Now for the trash: the Created of entries added
	// without one, restores, and the cutoffs and records of purges (tests
	// and benchmarks move it). nil is time.Now.
	Now func() time.Time
}

// DB is an open state database. Its methods are safe for concurrent use.
type DB struct {
	sql       *sqlDB
	dialect   *dialect
	path      string
	readOnly  bool
	log       *slog.Logger
	aead      cipher.AEAD // seals the tokens; nil without Options.TokenKey
	keySource string
	host      string
	pid       int
	boot      string
	clock     func() time.Time // the trash's clock (Options.Now)
	leaseTTL  time.Duration    // Options.LeaseTTL
	// purgeLogRows bounds the purge log (defaultPurgeLogRows).
	purgeLogRows int

	stmts stmts

	// cache holds statements prepared on first use (see cachedTx).
	cacheMu sync.Mutex
	cache   map[string]*sql.Stmt

	mu    sync.Mutex
	held  map[string]*Lease // the leases held through this handle, by holder
	close sync.Once

	// deletes counts the card deletions made through this handle per book
	// since its last change-log compaction check (see compactEvery).
	deletesMu sync.Mutex
	deletes   map[int64]int
}

// stmts are the hot statements, prepared once (PutItem, Items, AddTrash...).
type stmts struct {
	insertItem     *sql.Stmt
	updateVersions *sql.Stmt
	updateItem     *sql.Stmt
	upsertBase     *sql.Stmt
	items          *sql.Stmt
	deleteItem     *sql.Stmt
	insertTrash    *sql.Stmt
}

// all lists the statements (nil for those not prepared).
func (s *stmts) all() []*sql.Stmt {
	return []*sql.Stmt{s.insertItem, s.updateVersions, s.updateItem, s.upsertBase, s.items, s.deleteItem, s.insertTrash}
}

// migrationFS holds migrations/NNNN_description.sql, shared by both
// databases (their column types are SQLite's, rewritten for PostgreSQL by
// dialect.ddl), and migrations/postgres/NNNN_description.sql, which replaces
// the shared file of the same number on PostgreSQL where the SQL is not
// portable.
//
//go:embed migrations
var migrationFS embed.FS

// migration is one numbered file of migrations/.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations of SQLite in order; their
// numbers run 1..N.
func migrations() ([]migration, error) { return migrationsFor(&dialect{}) }

// migrationsFor returns the migrations of d's database in order, as that
// database takes them.
func migrationsFor(d *dialect) ([]migration, error) {
	ms, err := readMigrations("migrations")
	if err != nil {
		return nil, err
	}
	if d.postgres {
		own, err := readMigrations("migrations/postgres")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		byVersion := map[int]migration{}
		for _, m := range own {
			byVersion[m.version] = m
		}
		for i, m := range ms {
			if o, ok := byVersion[m.version]; ok {
				if o.name != m.name {
					return nil, fmt.Errorf("migration postgres/%s: the shared migration of that number is %s (names must match)", o.name, m.name)
				}
				ms[i].sql = o.sql
				delete(byVersion, m.version)
			} else {
				ms[i].sql = d.ddl(m.sql)
			}
		}
		for _, o := range byVersion {
			return nil, fmt.Errorf("migration postgres/%s: no shared migration of that number", o.name)
		}
	}
	return ms, nil
}

// readMigrations reads the numbered files of dir in order.
func readMigrations(dir string) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", name)
		}
		b, err := migrationFS.ReadFile(dir + "/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	if dir != "migrations" {
		return ms, nil
	}
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d (numbers must run 1, 2, 3... without gaps)", m.name, i+1)
		}
	}
	return ms, nil
}

// LatestSchemaVersion is the schema version this binary creates and expects.
func LatestSchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// Open opens (creating if needed, unless ReadOnly) the state database at path
// and applies migrations.
//
// A path that starts with postgres:// or postgresql:// is a PostgreSQL URL
// (pgx's syntax: postgres://user:password@host:port/database?sslmode=...):
// the database must exist, and Open creates the tables in its current schema.
// A server that does not answer is an error at once. Path then returns the
// URL without its password.
//
// A new file is created 0600, and its directory 0700 when that is created too.
// path "" or ":memory:" opens a private in-memory database (used by --dry-run
// when no file exists yet); it is always migrated, ReadOnly or not, since
// nothing it holds outlives the DB.
//
// ReadOnly opens with mode=ro and applies no migration: a missing file, or a
// schema older (or newer) than the binary's, is an error.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	aead, err := newTokenAEAD(opts.TokenKey)
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", path, err)
	}
	db := &DB{path: path, readOnly: opts.ReadOnly, log: log, aead: aead, keySource: opts.TokenKeySource,
		host: host, pid: os.Getpid(), boot: bootID(), held: map[string]*Lease{},
		clock: opts.Now, purgeLogRows: defaultPurgeLogRows}
	if db.clock == nil {
		db.clock = time.Now
	}
	db.leaseTTL = opts.LeaseTTL
	if db.leaseTTL <= 0 {
		db.leaseTTL = DefaultLeaseTTL
	}

	d := &dialect{postgres: isPostgresURL(path)}
	db.dialect = d
	var sdb *sql.DB
	if d.postgres {
		sdb, err = db.openPostgres(path)
		if err != nil {
			return nil, err
		}
	} else {
		memory := path == "" || path == ":memory:"
		if memory {
			db.path = ":memory:"
			db.readOnly = false
		}
		dsn, err := db.prepareFile(memory)
		if err != nil {
			return nil, err
		}
		sdb, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("state: open %s: %w", db.path, err)
		}
		// One connection: SQLite has one writer at a time anyway, and an in-memory
		// database lives only as long as its connection.
		sdb.SetMaxOpenConns(1)
		sdb.SetMaxIdleConns(1)
		sdb.SetConnMaxLifetime(0)
		sdb.SetConnMaxIdleTime(0)
	}
	db.sql = &sqlDB{DB: sdb, d: d, readOnly: db.readOnly}

	if err := ping(ctx, sdb, d.postgres); err != nil {
		sdb.Close()
		if d.postgres {
			return nil, fmt.Errorf("state: open %s: the PostgreSQL server does not answer: %w", db.path, err)
		}
		return nil, fmt.Errorf("state: open %s: %w", db.path, err)
	}
	if db.readOnly {
		err = db.checkVersion(ctx)
	} else {
		err = db.migrate(ctx)
	}
	if err != nil {
		sdb.Close()
		return nil, err
	}
	if !db.readOnly && db.aead != nil {
		n, err := db.sealPlainTokens(ctx)
		if err != nil {
			sdb.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("state: the Office 365 tokens stored as they were are sealed now", "path", db.path, "accounts", n)
		}
	}
	if !db.readOnly {
		n, err := db.indexMissingCards(ctx)
		if err != nil {
			sdb.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("state: the cards of the built-in server are indexed for the web page's search", "path", db.path, "cards", n)
		}
	}
	db.prepareCached(ctx, serverHotQueries...)
	if err := db.prepare(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// prepareFile creates the file (0600) and its directory (0700) when needed and
// returns the DSN to open.
func (db *DB) prepareFile(memory bool) (string, error) {
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Add("_pragma", "cache_size(-32000)") // 32 MB: a pair's items stay cached
	params.Set("_txlock", "immediate")
	if memory {
		return ":memory:?" + params.Encode(), nil
	}

	abs, err := filepath.Abs(db.path)
	if err != nil {
		return "", fmt.Errorf("state: open %s: %w", db.path, err)
	}
	if db.readOnly {
		if _, err := os.Stat(abs); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("state: open %s read-only: no state database there (run a sync first): %w", db.path, err)
			}
			return "", fmt.Errorf("state: open %s read-only: %w", db.path, err)
		}
		// The database is in WAL mode already (every writable Open sets it);
		// asking for it again would be a write.
		params.Set("mode", "ro")
	} else {
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			return "", fmt.Errorf("state: create directory of %s: %w", db.path, err)
		}
		f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			f.Close()
		case errors.Is(err, fs.ErrExist):
			if fi, err := os.Stat(abs); err == nil && fi.Mode().Perm()&0o077 != 0 {
				db.log.Warn("state file is readable by others", "path", db.path, "mode", fi.Mode().Perm().String())
			}
		default:
			return "", fmt.Errorf("state: create %s: %w", db.path, err)
		}
		// A new file gives the pages freed by trash purges back to the
		// file system on demand (see DB.PurgeTrash); on an existing file
		// made without it this takes effect at the next VACUUM only.
		params.Add("_pragma", "auto_vacuum(INCREMENTAL)")
		params.Add("_pragma", "journal_mode(WAL)")
		// Checkpoint every ~40 MB of WAL rather than 4 MB: a sync commits
		// after each write, and fewer, larger checkpoints (each with its
		// fsyncs) keep PutItem cheap.
		params.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: params.Encode()}
	// url.URL renders "file:///abs"; SQLite accepts that form (empty authority).
	return u.String(), nil
}

// migrate applies the migrations the database lacks, each in its own
// write transaction, so concurrent Opens serialise and apply each once. On
// PostgreSQL the whole of it also holds a session advisory lock
// (pg_advisory_lock), so that replicas starting at once migrate one after
// the other and the later ones find the work done.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrationsFor(db.dialect)
	if err != nil {
		return fmt.Errorf("state: migrate %s: %w", db.path, err)
	}
	if db.dialect.postgres {
		conn, err := db.sql.Conn(ctx)
		if err != nil {
			return fmt.Errorf("state: migrate %s: %w", db.path, err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("state: migrate %s: take the migration lock: %w", db.path, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
	}
	if _, err := db.sql.ExecContext(ctx, db.dialect.ddl(`CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
)`)); err != nil {
		return fmt.Errorf("state: migrate %s: create schema_version: %w", db.path, err)
	}
	for _, m := range ms {
		applied, err := db.applyMigration(ctx, m)
		if err != nil {
			return fmt.Errorf("state: migrate %s: %s: %w", db.path, m.name, err)
		}
		if applied {
			db.log.Debug("state: migration applied", "path", db.path, "migration", m.name)
		}
	}
	cur, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].version; cur > latest {
		return fmt.Errorf("state: open %s: schema version %d is newer than this cardbridge's (%d): upgrade cardbridge", db.path, cur, latest)
	}
	return nil
}

// applyMigration applies m unless the database has it already.
func (db *DB) applyMigration(ctx context.Context, m migration) (applied bool, err error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version WHERE version = ?`, m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixNano()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// checkVersion refuses a read-only database whose schema is not the binary's.
func (db *DB) checkVersion(ctx context.Context) error {
	cur, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := LatestSchemaVersion()
	switch {
	case cur < latest:
		return fmt.Errorf("state: open %s read-only: schema version %d is older than this cardbridge's (%d): run a sync (or open it writable) to migrate it", db.path, cur, latest)
	case cur > latest:
		return fmt.Errorf("state: open %s read-only: schema version %d is newer than this cardbridge's (%d): upgrade cardbridge", db.path, cur, latest)
	}
	return nil
}

// prepare prepares the hot statements.
func (db *DB) prepare(ctx context.Context) error {
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = db.sql.PrepareContext(ctx, q)
		return s
	}
	db.stmts = stmts{
		insertItem: p(`INSERT INTO items (pair, uid, a_id, a_version, b_id, b_version, base_hash, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		// The common update changes versions and hash only: it leaves the
		// indexes alone. updateItem is the fallback when an id or the UID changed.
		updateVersions: p(`UPDATE items SET a_version = ?, b_version = ?, base_hash = ?, updated_at = ?
WHERE id = ? AND pair = ? AND uid = ? AND a_id = ? AND b_id = ?`),
		updateItem: p(`UPDATE items SET uid = ?, a_id = ?, a_version = ?, b_id = ?, b_version = ?, base_hash = ?, updated_at = ?
WHERE id = ? AND pair = ?`),
		upsertBase: p(`INSERT INTO bases (item_id, card) VALUES (?, ?)
ON CONFLICT (item_id) DO UPDATE SET card = excluded.card`),
		// The columns come packed in one text, split on sep: each column read
		// costs a round through the driver (and an allocation for an integer),
		// and Items reads 10,000s of rows.
		items: p(`SELECT id || '` + sep + `' || updated_at || '` + sep + `' || uid || '` + sep + `' || a_id || '` + sep + `' || a_version || '` + sep +
			`' || b_id || '` + sep + `' || b_version || '` + sep + `' || base_hash
FROM items WHERE pair = ? ORDER BY id`),
		deleteItem: p(`DELETE FROM items WHERE id = ?`),
		insertTrash: p(`INSERT INTO trash (pair, side, uid, side_id, card, size, reason, created_at, restore_requested, restored_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
	}
	if err != nil {
		return fmt.Errorf("state: open %s: prepare: %w", db.path, err)
	}
	return nil
}

// Close releases the leases (pair locks) still held through this handle and closes the
// database. It is safe to call more than once.
func (db *DB) Close() error {
	var err error
	db.close.Do(func() {
		db.mu.Lock()
		held := make([]*Lease, 0, len(db.held))
		for _, l := range db.held {
			held = append(held, l)
		}
		db.mu.Unlock()
		for _, l := range held {
			if e := l.Release(); e != nil && err == nil {
				err = e
			}
		}
		for _, s := range db.stmts.all() {
			if s != nil {
				s.Close()
			}
		}
		db.cacheMu.Lock()
		for _, s := range db.cache {
			s.Close()
		}
		db.cache = nil
		db.cacheMu.Unlock()
		if e := db.sql.Close(); e != nil && err == nil {
			err = fmt.Errorf("state: close %s: %w", db.path, e)
		}
	})
	return err
}

// Path is the path the database was opened with (":memory:" for an in-memory one).
func (db *DB) Path() string { return db.path }

// SchemaVersion is the highest migration applied to the database (0 for an
// empty one).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var exists int
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`
	if db.dialect.postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_version'`
	}
	if err := db.sql.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return 0, fmt.Errorf("state: schema version: %w", err)
	}
	if exists == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("state: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// nanos turns t into the stored unix nanoseconds; the zero time is NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNanos turns stored unix nanoseconds back into a UTC time; NULL is the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// now is the current time, truncated to what the database keeps.
func now() time.Time { return time.Now().UTC() }

// inList returns the placeholders of an IN clause of n values, "(?, ?, …)";
// n is at least 1.
func inList(n int) string { return "(?" + strings.Repeat(", ?", n-1) + ")" }

// appendArgs appends vals to args as query arguments.
func appendArgs[T any](args []any, vals []T) []any {
	for _, v := range vals {
		args = append(args, v)
	}
	return args
}

// prepareCached prepares the statements cachedTx looks up. It runs at
// Open: preparing later, inside a transaction, would wait for the
// connection the transaction holds.
func (db *DB) prepareCached(ctx context.Context, queries ...string) {
	db.cacheMu.Lock()
	defer db.cacheMu.Unlock()
	if db.cache == nil {
		db.cache = make(map[string]*sql.Stmt)
	}
	for _, q := range queries {
		if s, err := db.sql.PrepareContext(ctx, q); err == nil {
			db.cache[q] = s
		}
	}
}

// prepared returns q prepared at Open, or nil (the caller then runs q
// unprepared).
func (db *DB) prepared(_ context.Context, q string) *sql.Stmt {
	db.cacheMu.Lock()
	defer db.cacheMu.Unlock()
	return db.cache[q]
}

// queryRow runs q outside a transaction, through its statement prepared at
// Open when there is one.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s := db.prepared(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.sql.QueryRowContext(ctx, q, args...)
}

// cachedTx runs a transaction's statements through statements prepared
// once per database: parsing SQL costs modernc's SQLite more than running
// the small statements of the hot paths.
type cachedTx struct {
	db *DB
	tx *sqlTx
}

// QueryRowContext is tx.QueryRowContext through a prepared statement.
func (c cachedTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := c.db.prepared(ctx, q); s != nil {
		return c.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, q, args...)
}

// ExecContext is tx.ExecContext through a prepared statement.
func (c cachedTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := c.db.prepared(ctx, q); s != nil {
		return c.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, q, args...)
}

// sqliteBusyWait bounds how long ping tries a connection that SQLite
// answers busy: as long as busy_timeout.
const sqliteBusyWait = 10 * time.Second

// ping opens the database's first connection. On SQLite its pragmas can
// answer SQLITE_BUSY at once, without waiting on busy_timeout (switching
// a new file to WAL while another Open of it migrates): the connection is
// tried again every 20 ms for up to sqliteBusyWait.
func ping(ctx context.Context, sdb *sql.DB, postgres bool) error {
	deadline := time.Now().Add(sqliteBusyWait)
	for {
		err := sdb.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || postgres || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}
