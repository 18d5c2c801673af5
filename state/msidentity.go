package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MicrosoftIdentity is a person of a Microsoft tenant (the ID token's tid and
// oid) known as local user User; UPN is the sign-in name seen last, for
// display only.
type MicrosoftIdentity struct {
	TenantID string
	ObjectID string
	User     string
	UPN      string
	Created  time.Time
}

// NoPassword is the password hash of a user who signs in with Microsoft
// only: no password matches it (it is no bcrypt or other hash).
const NoPassword = "!microsoft-sign-in"

// MicrosoftUser returns the local user of the Microsoft identity (tenantID,
// objectID), compared lower case. ErrNotFound (wrapped) when none.
func (db *DB) MicrosoftUser(ctx context.Context, tenantID, objectID string) (MicrosoftIdentity, error) {
	id := MicrosoftIdentity{TenantID: strings.ToLower(tenantID), ObjectID: strings.ToLower(objectID)}
	var created int64
	err := db.sql.QueryRowContext(ctx, `SELECT user_name, upn, created_at FROM microsoft_identities WHERE tenant_id = ? AND object_id = ?`,
		id.TenantID, id.ObjectID).Scan(&id.User, &id.UPN, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return MicrosoftIdentity{}, fmt.Errorf("state: microsoft identity %s/%s: %w", id.TenantID, id.ObjectID, ErrNotFound)
	}
	if err != nil {
		return MicrosoftIdentity{}, fmt.Errorf("state: microsoft identity %s/%s: %w", id.TenantID, id.ObjectID, err)
	}
	id.Created = time.Unix(0, created).UTC()
	return id, nil
}

// SetMicrosoftUPN records upn as the identity's last seen sign-in name.
func (db *DB) SetMicrosoftUPN(ctx context.Context, tenantID, objectID, upn string) error {
	op := "set UPN of microsoft identity " + tenantID + "/" + objectID
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE microsoft_identities SET upn = ? WHERE tenant_id = ? AND object_id = ?`,
			upn, strings.ToLower(tenantID), strings.ToLower(objectID))
		return oneRow(res, err, op)
	})
}

// AddMicrosoftUser creates a local user for the Microsoft identity
// (tenantID, objectID), with no password (NoPassword) and the first address
// book as AddUser, named base or, when taken, base-2, base-3 ...; in one
// transaction with the identity. It returns the identity with the name
// given. ErrExists (wrapped) when the identity is someone's already.
func (db *DB) AddMicrosoftUser(ctx context.Context, tenantID, objectID, upn, base string) (MicrosoftIdentity, error) {
	id := MicrosoftIdentity{TenantID: strings.ToLower(tenantID), ObjectID: strings.ToLower(objectID), UPN: upn}
	op := "add user for microsoft identity " + id.TenantID + "/" + id.ObjectID
	if id.TenantID == "" || id.ObjectID == "" {
		return MicrosoftIdentity{}, fmt.Errorf("state: %s: tenant id and object id are required", op)
	}
	if err := checkName("user", base); err != nil {
		return MicrosoftIdentity{}, fmt.Errorf("state: %s: %w", op, err)
	}
	err := db.serverTx(ctx, op, func(tx *sqlTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM microsoft_identities WHERE tenant_id = ? AND object_id = ?`,
			id.TenantID, id.ObjectID).Scan(&n); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if n > 0 {
			return fmt.Errorf("state: %s: %w", op, ErrExists)
		}
		name := ""
		for i := 1; i <= 1000 && name == ""; i++ {
			cand := base
			if i > 1 {
				suffix := fmt.Sprintf("-%d", i)
				cand = base[:min(len(base), 64-len(suffix))] + suffix
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_users WHERE name = ?`, cand).Scan(&n); err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
			if n == 0 {
				name = cand
			}
		}
		if name == "" {
			return fmt.Errorf("state: %s: no free user name from %q: %w", op, base, ErrExists)
		}
		t := now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_users (name, password_hash, created_at) VALUES (?, ?, ?)`,
			name, NoPassword, t.UnixNano()); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO addressbooks (user_name, name, displayname, created_at) VALUES (?, ?, ?, ?)`,
			name, DefaultAddressBook, "Contacts", t.UnixNano()); err != nil {
			return fmt.Errorf("state: %s: address book: %w", op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO microsoft_identities (tenant_id, object_id, user_name, upn, created_at) VALUES (?, ?, ?, ?, ?)`,
			id.TenantID, id.ObjectID, name, upn, t.UnixNano()); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		id.User, id.Created = name, t.UTC()
		return nil
	})
	if err != nil {
		return MicrosoftIdentity{}, err
	}
	return id, nil
}

// SignInState is a "Sign in with Microsoft" in flight, before any session:
// the hash of its state parameter, the hash of the browser cookie it belongs
// to, the PKCE verifier, the nonce and the redirect URI.
type SignInState struct {
	StateHash   string
	BrowserHash string
	Verifier    string
	Nonce       string
	RedirectURI string
	Created     time.Time
	Expires     time.Time
}

// SaveSignInState stores a sign-in in flight.
func (db *DB) SaveSignInState(ctx context.Context, o SignInState) error {
	if o.StateHash == "" || o.BrowserHash == "" || o.Verifier == "" || o.Nonce == "" || o.Expires.IsZero() {
		return errors.New("state: save sign-in state: state hash, browser, verifier, nonce and expiry are required")
	}
	if o.Created.IsZero() {
		o.Created = now()
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO web_signin_states (state_hash, browser_hash, verifier, nonce, redirect_uri, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, o.StateHash, o.BrowserHash, o.Verifier, o.Nonce, o.RedirectURI, o.Created.UnixNano(), o.Expires.UnixNano()); err != nil {
		return fmt.Errorf("state: save sign-in state: %w", err)
	}
	return nil
}

// TakeSignInState removes and returns the sign-in whose state hashes to
// stateHash, if it belongs to browser browserHash and has not expired at t:
// a state is used once, whatever the outcome. ErrNotFound (wrapped)
// otherwise (nothing is removed for another browser's state).
func (db *DB) TakeSignInState(ctx context.Context, stateHash, browserHash string, t time.Time) (SignInState, error) {
	o := SignInState{StateHash: stateHash, BrowserHash: browserHash}
	var created, expires int64
	err := db.sql.QueryRowContext(ctx, `DELETE FROM web_signin_states WHERE state_hash = ? AND browser_hash = ?
RETURNING verifier, nonce, redirect_uri, created_at, expires_at`, stateHash, browserHash).Scan(&o.Verifier, &o.Nonce, &o.RedirectURI, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return SignInState{}, fmt.Errorf("state: sign-in state: %w", ErrNotFound)
	}
	if err != nil {
		return SignInState{}, fmt.Errorf("state: sign-in state: %w", err)
	}
	o.Created, o.Expires = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	if !t.Before(o.Expires) {
		return SignInState{}, fmt.Errorf("state: sign-in state: expired: %w", ErrNotFound)
	}
	return o, nil
}
