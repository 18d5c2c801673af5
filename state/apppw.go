package state

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// App passwords: see migrations/0012_app_passwords.sql.
const (
	// AppPasswordPrefix starts every app password token.
	AppPasswordPrefix = "cbap_"
	// MaxAppPasswords is how many app passwords a user may hold.
	MaxAppPasswords = 50
	// MaxAppPasswordName is the longest name of an app password, in bytes.
	MaxAppPasswordName = 100
	// AppPasswordUseInterval is how stale last_used_at may be: a use is
	// written only when the recorded one is at least this old, so that
	// a phone's requests do not each write to the state.
	AppPasswordUseInterval = time.Minute
	// appSecretBytes is the entropy of a token's secret (256 bits).
	appSecretBytes = 32
)

// ErrTooMany (wrapped) is returned when a bound would be passed (the
// MaxAppPasswords of a user).
var ErrTooMany = errors.New("too many")

// AppPassword describes one app password of a user; the secret is never
// kept, so it is not here.
type AppPassword struct {
	ID       int64
	User     string
	Name     string
	Created  time.Time
	LastUsed time.Time // zero: never used
}

// CheckAppPasswordName refuses names that are empty, too long, not UTF-8
// or hold control characters.
func CheckAppPasswordName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("app password name is empty")
	case len(name) > MaxAppPasswordName:
		return fmt.Errorf("app password name is %d bytes long, longer than %d", len(name), MaxAppPasswordName)
	case !utf8.ValidString(name):
		return fmt.Errorf("app password name %q is not UTF-8", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("app password name %q holds control character %q", name, r)
		}
	}
	return nil
}

// secretSum is the stored form of a token's secret.
func secretSum(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

// parseAppPassword splits a token "cbap_<id>_<secret>"; ok false when pass
// does not have that shape.
func parseAppPassword(pass string) (id int64, secret string, ok bool) {
	rest, found := strings.CutPrefix(pass, AppPasswordPrefix)
	if !found {
		return 0, "", false
	}
	ids, secret, found := strings.Cut(rest, "_")
	if !found || secret == "" || len(ids) > 19 {
		return 0, "", false
	}
	id, err := strconv.ParseInt(ids, 10, 64)
	if err != nil || id <= 0 {
		return 0, "", false
	}
	return id, secret, true
}

// AddAppPassword makes a new app password named name for user and returns
// its token, the only time it is available in clear. ErrNotFound (wrapped)
// when there is no such user, ErrExists when the user has one of that
// name, ErrTooMany when they have MaxAppPasswords already.
func (db *DB) AddAppPassword(ctx context.Context, user, name string) (token string, p AppPassword, err error) {
	op := "add app password " + strconv.Quote(name) + " of user " + user
	if err := CheckAppPasswordName(name); err != nil {
		return "", AppPassword{}, fmt.Errorf("state: %s: %w", op, err)
	}
	raw := make([]byte, appSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", AppPassword{}, fmt.Errorf("state: %s: random secret: %w", op, err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	created := db.clock().UTC()
	err = db.serverTx(ctx, op, func(tx *sqlTx) error {
		var users, same, all int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM server_users WHERE name = ?),
(SELECT COUNT(*) FROM app_passwords WHERE user_name = ? AND name = ?),
(SELECT COUNT(*) FROM app_passwords WHERE user_name = ?)`, user, user, name, user).Scan(&users, &same, &all); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		switch {
		case users == 0:
			return fmt.Errorf("state: %s: no such user: %w", op, ErrNotFound)
		case same > 0:
			return fmt.Errorf("state: %s: %w", op, ErrExists)
		case all >= MaxAppPasswords:
			return fmt.Errorf("state: %s: the user has %d app passwords, the most allowed: %w", op, all, ErrTooMany)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO app_passwords (user_name, name, secret_sum, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			user, name, secretSum(secret), created.UnixNano()).Scan(&p.ID)
	})
	if err != nil {
		return "", AppPassword{}, err
	}
	p.User, p.Name, p.Created = user, name, time.Unix(0, created.UnixNano()).UTC()
	return AppPasswordPrefix + strconv.FormatInt(p.ID, 10) + "_" + secret, p, nil
}

// AppPasswords lists user's app passwords by name (it reads, so it works
// on a state opened read-only). ErrNotFound (wrapped) when there is no such
// user.
func (db *DB) AppPasswords(ctx context.Context, user string) ([]AppPassword, error) {
	op := "app passwords of user " + user
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_users WHERE name = ?`, user).Scan(&n); err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("state: %s: no such user: %w", op, ErrNotFound)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT id, name, created_at, last_used_at FROM app_passwords WHERE user_name = ? ORDER BY name`, user)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	defer rows.Close()
	var out []AppPassword
	for rows.Next() {
		p := AppPassword{User: user}
		var created, used int64
		if err := rows.Scan(&p.ID, &p.Name, &created, &used); err != nil {
			return nil, fmt.Errorf("state: %s: %w", op, err)
		}
		p.Created = time.Unix(0, created).UTC()
		if used != 0 {
			p.LastUsed = time.Unix(0, used).UTC()
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	return out, nil
}

// RevokeAppPassword deletes user's app password named name: the next
// request made with it fails. ErrNotFound (wrapped) when the user has no
// app password of that name (or there is no such user).
func (db *DB) RevokeAppPassword(ctx context.Context, user, name string) error {
	op := "revoke app password " + strconv.Quote(name) + " of user " + user
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM app_passwords WHERE user_name = ? AND name = ?`, user, name)
		return oneRow(res, err, op)
	})
}

// CheckAppPassword reports whether pass is a live app password of user
// (authguard.AppPasswordSource). A pass not shaped like a token is
// answered false without reading the state; otherwise the row is found by
// its id and the secret's SHA-256 compared in constant time. A match older
// than AppPasswordUseInterval since its last recorded use records this
// one. Errors are the state's trouble, not a wrong password.
func (db *DB) CheckAppPassword(ctx context.Context, user, pass string) (bool, error) {
	id, secret, ok := parseAppPassword(pass)
	if !ok || !utf8.ValidString(user) || strings.IndexByte(user, 0) >= 0 {
		return false, nil
	}
	var owner, sum string
	var used int64
	err := db.queryRow(ctx, `SELECT user_name, secret_sum, last_used_at FROM app_passwords WHERE id = ?`, id).Scan(&owner, &sum, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("state: check app password %d: %w", id, err)
	}
	got := secretSum(secret)
	match := subtle.ConstantTimeCompare([]byte(got), []byte(sum)) == 1
	if !match || owner != user {
		return false, nil
	}
	t := db.clock().UTC()
	if t.Sub(time.Unix(0, used)) >= AppPasswordUseInterval && !db.readOnly {
		// Conditional, so that replicas racing on the same minute write once.
		if _, err := db.sql.ExecContext(ctx, `UPDATE app_passwords SET last_used_at = ? WHERE id = ? AND last_used_at = ?`,
			t.UnixNano(), id, used); err != nil {
			return false, fmt.Errorf("state: record the use of app password %d: %w", id, err)
		}
	}
	return true, nil
}
