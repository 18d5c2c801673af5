package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// WebSession is a signed-in session of the web UI. IDHash is the SHA-256
// (hex) of the cookie's value; the value itself is never stored.
type WebSession struct {
	IDHash  string
	User    string
	CSRF    string // the token every form of the session carries
	Created time.Time
	Seen    time.Time
	Expires time.Time
}

// CreateWebSession stores s (Created and Seen default to now). ErrNotFound
// (wrapped) when s.User is not a user of the server.
func (db *DB) CreateWebSession(ctx context.Context, s WebSession) error {
	if s.IDHash == "" || s.CSRF == "" || s.Expires.IsZero() {
		return fmt.Errorf("state: create web session of %s: id hash, csrf token and expiry are required", s.User)
	}
	t := now()
	if s.Created.IsZero() {
		s.Created = t
	}
	if s.Seen.IsZero() {
		s.Seen = t
	}
	return db.serverTx(ctx, "create web session", func(tx *sqlTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_users WHERE name = ?`, s.User).Scan(&n); err != nil {
			return fmt.Errorf("state: create web session of %s: %w", s.User, err)
		}
		if n == 0 {
			return fmt.Errorf("state: create web session: user %s: %w", s.User, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, seen_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?)`, s.IDHash, s.User, s.CSRF, s.Created.UnixNano(), s.Seen.UnixNano(), s.Expires.UnixNano()); err != nil {
			return fmt.Errorf("state: create web session of %s: %w", s.User, err)
		}
		return nil
	})
}

// WebSession returns the session whose id hashes to idHash if it has not
// expired at t. ErrNotFound (wrapped) when there is none or it expired.
func (db *DB) WebSession(ctx context.Context, idHash string, t time.Time) (WebSession, error) {
	s := WebSession{IDHash: idHash}
	var created, seen, expires int64
	err := db.sql.QueryRowContext(ctx, `SELECT user_name, csrf, created_at, seen_at, expires_at FROM web_sessions
WHERE id_hash = ? AND expires_at > ?`, idHash, t.UnixNano()).Scan(&s.User, &s.CSRF, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return WebSession{}, fmt.Errorf("state: web session: %w", ErrNotFound)
	}
	if err != nil {
		return WebSession{}, fmt.Errorf("state: web session: %w", err)
	}
	s.Created, s.Seen, s.Expires = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC(), time.Unix(0, expires).UTC()
	return s, nil
}

// TouchWebSession records a use of the session at seen and moves its
// expiry to expires (the idle timeout). ErrNotFound (wrapped) when it is
// gone.
func (db *DB) TouchWebSession(ctx context.Context, idHash string, seen, expires time.Time) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE web_sessions SET seen_at = ?, expires_at = ? WHERE id_hash = ?`,
		seen.UnixNano(), expires.UnixNano(), idHash)
	return oneRow(res, err, "touch web session")
}

// DeleteWebSession ends a session (sign out) with its pending
// authorizations. Deleting a session that is gone is not an error.
func (db *DB) DeleteWebSession(ctx context.Context, idHash string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("state: delete web session: %w", err)
	}
	return nil
}

// PurgeWebSessions deletes the sessions and pending authorizations that
// expired before t and returns how many sessions went.
func (db *DB) PurgeWebSessions(ctx context.Context, t time.Time) (int, error) {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM web_signin_states WHERE expires_at <= ?`, t.UnixNano()); err != nil {
		return 0, fmt.Errorf("state: purge sign-in states: %w", err)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM web_oauth_states WHERE expires_at <= ?`, t.UnixNano()); err != nil {
		return 0, fmt.Errorf("state: purge web authorizations: %w", err)
	}
	res, err := db.sql.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("state: purge web sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// OAuthState is an authorization request of the web UI in flight: the
// hash of its `state` parameter, the session that started it, the PKCE
// verifier and the redirect URI.
type OAuthState struct {
	StateHash   string
	SessionHash string
	Verifier    string
	RedirectURI string
	Created     time.Time
	Expires     time.Time
}

// SaveOAuthState stores an authorization request in flight.
func (db *DB) SaveOAuthState(ctx context.Context, o OAuthState) error {
	if o.StateHash == "" || o.SessionHash == "" || o.Verifier == "" || o.Expires.IsZero() {
		return fmt.Errorf("state: save oauth state: state hash, session, verifier and expiry are required")
	}
	if o.Created.IsZero() {
		o.Created = now()
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO web_oauth_states (state_hash, session_hash, verifier, redirect_uri, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?)`, o.StateHash, o.SessionHash, o.Verifier, o.RedirectURI, o.Created.UnixNano(), o.Expires.UnixNano()); err != nil {
		// The driver's errors do not quote the arguments: no verifier here.
		return fmt.Errorf("state: save oauth state: %w", err)
	}
	return nil
}

// TakeOAuthState removes and returns the authorization request whose state
// hashes to stateHash, if it belongs to session sessionHash and has not
// expired at t: a state is used once, whatever the outcome. ErrNotFound
// (wrapped) otherwise (nothing is removed for another session's state).
func (db *DB) TakeOAuthState(ctx context.Context, stateHash, sessionHash string, t time.Time) (OAuthState, error) {
	o := OAuthState{StateHash: stateHash, SessionHash: sessionHash}
	var created, expires int64
	err := db.sql.QueryRowContext(ctx, `DELETE FROM web_oauth_states WHERE state_hash = ? AND session_hash = ?
RETURNING verifier, redirect_uri, created_at, expires_at`, stateHash, sessionHash).Scan(&o.Verifier, &o.RedirectURI, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return OAuthState{}, fmt.Errorf("state: oauth state: %w", ErrNotFound)
	}
	if err != nil {
		return OAuthState{}, fmt.Errorf("state: oauth state: %w", err)
	}
	o.Created, o.Expires = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	if !t.Before(o.Expires) {
		return OAuthState{}, fmt.Errorf("state: oauth state: expired: %w", ErrNotFound)
	}
	return o, nil
}

// WebPair is a pair made from the web UI: the Office 365 account Account
// (its folder Folder, "" for the default one) with the address book
// Addressbook of User.
type WebPair struct {
	Name        string
	User        string
	Account     string
	Folder      string
	Addressbook string
	Conflict    string // the conflict policy; "" is merge
	Every       time.Duration
	Created     time.Time
}

// CreateWebPair creates the address book p.Addressbook of p.User (shown as
// displayName) and records the pair, in one transaction, and returns the
// name the pair got: p.Name, or p.Name + ".2", ".3"... when that name is
// taken by another web pair or some state of a pair of that name is left
// over (items, sync tokens, a lock, trash, conflicts, runs): a new pair
// never inherits another's state. ErrExists (wrapped) when the book
// exists; ErrNotFound (wrapped) when the user does not.
func (db *DB) CreateWebPair(ctx context.Context, p WebPair, displayName string) (string, error) {
	op := "create web pair " + p.Name
	if p.Name == "" || p.Account == "" {
		return "", fmt.Errorf("state: %s: name and account are required", op)
	}
	if err := checkName("address book", p.Addressbook); err != nil {
		return "", fmt.Errorf("state: %s: %w", op, err)
	}
	t := now()
	base := p.Name
	err := db.serverTx(ctx, op, func(tx *sqlTx) error {
		var users, books int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM server_users WHERE name = ?),
(SELECT COUNT(*) FROM addressbooks WHERE user_name = ? AND name = ?)`,
			p.User, p.User, p.Addressbook).Scan(&users, &books); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		switch {
		case users == 0:
			return fmt.Errorf("state: %s: user %s: %w", op, p.User, ErrNotFound)
		case books > 0:
			return fmt.Errorf("state: %s: address book %s: %w", op, p.Addressbook, ErrExists)
		}
		for i := 2; ; i++ {
			used, err := pairNameUsed(ctx, tx, p.Name)
			if err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
			if !used {
				break
			}
			if i > 1000 {
				return fmt.Errorf("state: %s: names %s to %s are all taken: %w", op, base, p.Name, ErrExists)
			}
			p.Name = base + "." + strconv.Itoa(i)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO addressbooks (user_name, name, displayname, description, created_at)
VALUES (?, ?, ?, '', ?)`, p.User, p.Addressbook, displayName, t.UnixNano()); err != nil {
			return fmt.Errorf("state: %s: address book: %w", op, err)
		}
		if p.Conflict == "" {
			p.Conflict = "merge"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_pairs (name, user_name, account, folder, addressbook, conflict, every_ns, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, p.Name, p.User, p.Account, p.Folder, p.Addressbook, p.Conflict, int64(p.Every), t.UnixNano()); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// pairTables are the tables that keep a pair's state, by its name in
// their pair column (bases hang off items). RemoveUser and
// DisconnectWebAccount empty them of a removed pair, and CreateWebPair
// never gives a new pair a name any of them still holds.
var pairTables = []string{"conflicts", "trash", "trash_purges", "runs", "sync_tokens", "side_identities", "failed_items", "pair_schedules", "items"}

// pairNameUsed reports whether name is a web pair's or some pair state is
// kept under it.
func pairNameUsed(ctx context.Context, tx *sqlTx, name string) (bool, error) {
	q := `SELECT EXISTS (SELECT 1 FROM web_pairs WHERE name = ?)`
	args := []any{name}
	for _, t := range pairTables {
		q += ` OR EXISTS (SELECT 1 FROM ` + t + ` WHERE pair = ?)`
		args = append(args, name)
	}
	var used bool
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&used); err != nil {
		return false, fmt.Errorf("is pair name %s used: %w", name, err)
	}
	return used, nil
}

// deletePairState deletes everything kept for pairs (see pairTables),
// after checking that no live process syncs one of them (a *LockedError
// otherwise; a stale lock goes with the rest).
func (db *DB) deletePairState(ctx context.Context, tx *sqlTx, pairs []string) error {
	for _, p := range pairs {
		if err := db.checkUnlocked(ctx, tx, p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE key = ?`, PairLeaseKey(p)); err != nil {
			return fmt.Errorf("state of pair %s: lease: %w", p, err)
		}
		for _, t := range pairTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE pair = ?`, p); err != nil {
				return fmt.Errorf("state of pair %s: %s: %w", p, t, err)
			}
		}
	}
	return nil
}

// checkUnlocked fails with a *LockedError when a live process holds the
// lease of pair (a stale one is no obstacle), read inside tx so that no
// sync can take it before tx commits (on PostgreSQL the row is locked: a
// claim skips it until tx ends).
func (db *DB) checkUnlocked(ctx context.Context, tx *sqlTx, pair string) error {
	var pid int
	var holder, host, boot string
	var expired bool
	q := `SELECT holder, pid, hostname, boot_id, expires_at <= ` + db.nowSQL() + ` FROM leases WHERE key = ?`
	if db.dialect.postgres {
		q += ` FOR UPDATE`
	}
	err := tx.QueryRowContext(ctx, q, PairLeaseKey(pair)).Scan(&holder, &pid, &host, &boot, &expired)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("lock of pair %s: %w", pair, err)
	case holder == "", expired, db.deadHere(pid, host, boot):
	default:
		return db.lockedError(PairLeaseKey(pair), pid, host)
	}
	return nil
}

// queryStrings runs q in tx (a *sqlTx or the *sql.DB) and returns its
// one text column.
func queryStrings(ctx context.Context, tx interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ClaimWebAccount records that user connects account from the web page,
// before its tokens are stored. When the account belongs to nobody yet
// (or to no existing user), whatever is stored under it is deleted first
// (tokens left over by an earlier owner, and the pairs that used them with
// their state), so the user inherits nothing. ErrExists (wrapped) when
// another user owns it; ErrNotFound (wrapped) when user does not exist;
// ErrLocked (wrapped) when a leftover pair is being synced.
func (db *DB) ClaimWebAccount(ctx context.Context, account, user string) error {
	op := "claim web account " + account + " for " + user
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		var users int
		var owner sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM server_users WHERE name = ?),
(SELECT user_name FROM web_accounts WHERE account = ?)`, user, account).Scan(&users, &owner); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		switch {
		case users == 0:
			return fmt.Errorf("state: %s: user %s: %w", op, user, ErrNotFound)
		case owner.Valid && owner.String == user:
			return nil
		case owner.Valid:
			return fmt.Errorf("state: %s: it is %s's: %w", op, owner.String, ErrExists)
		}
		if _, err := db.forgetAccount(ctx, tx, account); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_accounts (account, user_name, created_at) VALUES (?, ?, ?)`,
			account, user, now().UnixNano()); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
}

// WebAccountOwner returns the user who connected account on the web page;
// "" when nobody did (a configured account, or leftovers without owner).
func (db *DB) WebAccountOwner(ctx context.Context, account string) (string, error) {
	var u string
	err := db.sql.QueryRowContext(ctx, `SELECT user_name FROM web_accounts WHERE account = ?`, account).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state: owner of account %s: %w", account, err)
	}
	return u, nil
}

// WebAccounts maps the accounts connected on the web page to their users.
func (db *DB) WebAccounts(ctx context.Context) (map[string]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT account, user_name FROM web_accounts`)
	if err != nil {
		return nil, fmt.Errorf("state: web accounts: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a, u string
		if err := rows.Scan(&a, &u); err != nil {
			return nil, fmt.Errorf("state: web accounts: %w", err)
		}
		out[a] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: web accounts: %w", err)
	}
	return out, nil
}

// forgetAccount deletes, inside tx, the web pairs that use account with
// their state, the account's tokens and last sync, and its owner row; it
// returns the pairs' names.
func (db *DB) forgetAccount(ctx context.Context, tx *sqlTx, account string) ([]string, error) {
	names, err := queryStrings(ctx, tx, `SELECT name FROM web_pairs WHERE account = ? ORDER BY name`, account)
	if err != nil {
		return nil, fmt.Errorf("pairs of %s: %w", account, err)
	}
	if err := db.deletePairState(ctx, tx, names); err != nil {
		return nil, err
	}
	for _, q := range []string{
		`DELETE FROM web_pairs WHERE account = ?`,
		`DELETE FROM accounts WHERE name = ?`,
		`DELETE FROM account_refused_fields WHERE account = ?`,
		`DELETE FROM web_accounts WHERE account = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, account); err != nil {
			return nil, fmt.Errorf("forget %s: %w", account, err)
		}
	}
	return names, nil
}

// WebPairs lists the web-made pairs of user ("" for every user's) by name.
func (db *DB) WebPairs(ctx context.Context, user string) ([]WebPair, error) {
	q := `SELECT name, user_name, account, folder, addressbook, conflict, every_ns, created_at FROM web_pairs`
	var args []any
	if user != "" {
		q += ` WHERE user_name = ?`
		args = append(args, user)
	}
	rows, err := db.sql.QueryContext(ctx, q+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: web pairs: %w", err)
	}
	defer rows.Close()
	var out []WebPair
	for rows.Next() {
		var p WebPair
		var every, created int64
		if err := rows.Scan(&p.Name, &p.User, &p.Account, &p.Folder, &p.Addressbook, &p.Conflict, &every, &created); err != nil {
			return nil, fmt.Errorf("state: web pairs: %w", err)
		}
		p.Every, p.Created = time.Duration(every), time.Unix(0, created).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: web pairs: %w", err)
	}
	return out, nil
}

// DisconnectWebAccount forgets the tokens of account and removes the
// web-made pairs that use it with all their state (items, bases, sync
// tokens, trash, conflicts, runs: nothing a later pair could inherit), in
// one transaction; the pairs' address books and cards stay. It returns the
// names of the pairs removed; ErrLocked (wrapped) when one is being synced
// (nothing is removed).
func (db *DB) DisconnectWebAccount(ctx context.Context, account string) ([]string, error) {
	var names []string
	err := db.serverTx(ctx, "disconnect web account "+account, func(tx *sqlTx) error {
		var err error
		if names, err = db.forgetAccount(ctx, tx, account); err != nil {
			return fmt.Errorf("state: disconnect %s: %w", account, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// CountWebSessions counts the stored sessions, expired ones included.
func (db *DB) CountWebSessions(ctx context.Context) (int, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM web_sessions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: count web sessions: %w", err)
	}
	return n, nil
}
