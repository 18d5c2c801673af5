package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AccountToken is what the state keeps of one Office 365 account: its tokens,
// the client id, tenant and flow they were obtained with, the signed-in user,
// and when the account last synced. It mirrors auth.Token (state does not
// import auth; auth.StateStore converts).
type AccountToken struct {
	Name         string // the account's name (key under accounts)
	AccessToken  string
	RefreshToken string    // "" for the app-only flows
	Expiry       time.Time // of AccessToken; zero when unknown
	User         string    // the signed-in user (or the app-only flow's mailbox)
	Tenant       string
	Flow         string
	ClientID     string
	Scopes       []string // the scopes the tokens were requested with

	// HasRefreshToken is set by Accounts, which never returns the tokens
	// themselves (it is what `cardbridge accounts` lists).
	HasRefreshToken bool
	// Updated is when the tokens were last stored (set by SaveToken).
	Updated time.Time
	// LastSync is when a sync of the account last finished (see
	// TouchAccountSync); zero when never.
	LastSync time.Time
}

// LoadToken returns the stored tokens of account name; false when the
// account has none (never logged in, or logged out). Sealed tokens are
// opened with Options.TokenKey: without it the error wraps ErrNoTokenKey,
// with another key ErrTokenKeyMismatch, and names the account and what to
// do. The tokens are never dropped for it.
func (db *DB) LoadToken(ctx context.Context, name string) (AccountToken, bool, error) {
	t := AccountToken{Name: name}
	var expiry, updated, lastSync sql.NullInt64
	var scopes string
	var sealed bool
	err := db.sql.QueryRowContext(ctx, `SELECT client_id, tenant, flow, user_name, access_token, refresh_token,
expiry, scopes, updated_at, last_sync_at, sealed FROM accounts WHERE name = ?`, name).Scan(
		&t.ClientID, &t.Tenant, &t.Flow, &t.User, &t.AccessToken, &t.RefreshToken,
		&expiry, &scopes, &updated, &lastSync, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return AccountToken{}, false, nil
	}
	if err != nil {
		return AccountToken{}, false, fmt.Errorf("state: load token of account %s: %w", name, err)
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return AccountToken{}, false, nil
	}
	if sealed {
		if t.AccessToken, err = db.openToken(name, "access_token", t.AccessToken); err == nil {
			t.RefreshToken, err = db.openToken(name, "refresh_token", t.RefreshToken)
		}
		if err != nil {
			return AccountToken{}, false, fmt.Errorf("state: the Office 365 tokens of account %s cannot be read: %w; %s", name, err, tokenKeyAdvice(name))
		}
	}
	t.Expiry, t.Updated, t.LastSync = fromNanos(expiry), fromNanos(updated), fromNanos(lastSync)
	t.Scopes = strings.Fields(scopes)
	t.HasRefreshToken = t.RefreshToken != ""
	return t, true, nil
}

// SaveToken stores the tokens of account name (t.Name is ignored), sealed
// with Options.TokenKey (ErrNoTokenKey, wrapped, without it), replacing
// what was stored; the account's last sync time is kept. It is durable
// when SaveToken returns: a rotated refresh token is saved before it is
// used.
func (db *DB) SaveToken(ctx context.Context, name string, t AccountToken) error {
	if name == "" {
		return fmt.Errorf("state: save token: empty account name")
	}
	access, err := db.sealToken(name, "access_token", t.AccessToken)
	if err == nil {
		t.RefreshToken, err = db.sealToken(name, "refresh_token", t.RefreshToken)
	}
	if err != nil {
		return fmt.Errorf("state: save the Office 365 tokens of account %s: %w", name, err)
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO accounts
(name, client_id, tenant, flow, user_name, access_token, refresh_token, expiry, scopes, updated_at, sealed)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
ON CONFLICT (name) DO UPDATE SET client_id = excluded.client_id, tenant = excluded.tenant, flow = excluded.flow,
user_name = excluded.user_name, access_token = excluded.access_token, refresh_token = excluded.refresh_token,
expiry = excluded.expiry, scopes = excluded.scopes, updated_at = excluded.updated_at, sealed = 1`,
		name, t.ClientID, t.Tenant, t.Flow, t.User, access, t.RefreshToken,
		nanos(t.Expiry), strings.Join(t.Scopes, " "), now().UnixNano())
	if err != nil {
		// The driver's errors do not quote the arguments: no token here.
		return fmt.Errorf("state: save token of account %s: %w", name, err)
	}
	return nil
}

// DeleteToken forgets account name: its tokens, user and last sync time
// (logout), and the fields it refused (RefusedFields: the next sign-in may
// be another user). Deleting an account that has nothing stored is not an
// error.
func (db *DB) DeleteToken(ctx context.Context, name string) error {
	for _, q := range []string{`DELETE FROM accounts WHERE name = ?`, `DELETE FROM account_refused_fields WHERE account = ?`} {
		if _, err := db.sql.ExecContext(ctx, q, name); err != nil {
			return fmt.Errorf("state: delete token of account %s: %w", name, err)
		}
	}
	return nil
}

// Accounts lists the accounts the state knows of, by name, for `cardbridge
// accounts`: everything but the tokens themselves (AccessToken and
// RefreshToken are left empty; HasRefreshToken tells whether there is one).
// An account with no tokens but a last sync time is listed too.
func (db *DB) Accounts(ctx context.Context) ([]AccountToken, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name, client_id, tenant, flow, user_name,
refresh_token <> '', expiry, scopes, updated_at, last_sync_at FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("state: accounts: %w", err)
	}
	defer rows.Close()
	var out []AccountToken
	for rows.Next() {
		var t AccountToken
		var expiry, updated, lastSync sql.NullInt64
		var scopes string
		if err := rows.Scan(&t.Name, &t.ClientID, &t.Tenant, &t.Flow, &t.User, &t.HasRefreshToken,
			&expiry, &scopes, &updated, &lastSync); err != nil {
			return nil, fmt.Errorf("state: accounts: %w", err)
		}
		t.Expiry, t.Updated, t.LastSync = fromNanos(expiry), fromNanos(updated), fromNanos(lastSync)
		t.Scopes = strings.Fields(scopes)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: accounts: %w", err)
	}
	return out, nil
}

// TouchAccountSync records that a sync of account name finished at t. The
// account need not have tokens stored (its row is created if needed).
func (db *DB) TouchAccountSync(ctx context.Context, name string, t time.Time) error {
	if name == "" {
		return fmt.Errorf("state: touch account sync: empty account name")
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO accounts (name, updated_at, last_sync_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET last_sync_at = excluded.last_sync_at`, name, now().UnixNano(), nanos(t))
	if err != nil {
		return fmt.Errorf("state: touch account sync of %s: %w", name, err)
	}
	return nil
}
