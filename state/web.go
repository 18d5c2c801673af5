package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	return db.serverTx(ctx, "create web session", func(tx *sql.Tx) error {
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
// displayName) and records the pair, in one transaction. ErrExists
// (wrapped) when the book or a pair of that name exists; ErrNotFound
// (wrapped) when the user does not.
func (db *DB) CreateWebPair(ctx context.Context, p WebPair, displayName string) error {
	op := "create web pair " + p.Name
	if p.Name == "" || p.Account == "" {
		return fmt.Errorf("state: %s: name and account are required", op)
	}
	if err := checkName("address book", p.Addressbook); err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	t := now()
	return db.serverTx(ctx, op, func(tx *sql.Tx) error {
		var users, books, pairs int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM server_users WHERE name = ?),
(SELECT COUNT(*) FROM addressbooks WHERE user_name = ? AND name = ?), (SELECT COUNT(*) FROM web_pairs WHERE name = ?)`,
			p.User, p.User, p.Addressbook, p.Name).Scan(&users, &books, &pairs); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		switch {
		case users == 0:
			return fmt.Errorf("state: %s: user %s: %w", op, p.User, ErrNotFound)
		case books > 0:
			return fmt.Errorf("state: %s: address book %s: %w", op, p.Addressbook, ErrExists)
		case pairs > 0:
			return fmt.Errorf("state: %s: %w", op, ErrExists)
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
// web-made pairs that use it (not their address books nor cards), in one
// transaction; it returns the names of the pairs removed.
func (db *DB) DisconnectWebAccount(ctx context.Context, account string) ([]string, error) {
	var names []string
	err := db.serverTx(ctx, "disconnect web account "+account, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM web_pairs WHERE account = ? RETURNING name`, account)
		if err != nil {
			return fmt.Errorf("state: disconnect %s: %w", account, err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return fmt.Errorf("state: disconnect %s: %w", account, err)
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("state: disconnect %s: %w", account, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE name = ?`, account); err != nil {
			return fmt.Errorf("state: disconnect %s: tokens: %w", account, err)
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
