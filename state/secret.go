package state

// Office 365 tokens at rest. The access and refresh tokens of every account
// are sealed with XChaCha20-Poly1305 under a 32-byte key that is not in the
// database (Options.TokenKey; where the CLI finds it: LoadTokenKey). The
// associated data binds each sealed value to its account and column, so a
// value copied onto another account's row, or from the refresh column to the
// access column, does not open. A row is sealed (accounts.sealed = 1) or
// holds the tokens as they are (sealed = 0: written by a cardbridge before
// migration 0005); Open seals the latter when it has the key.

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// TokenKeySize is the size in bytes of Options.TokenKey.
const TokenKeySize = chacha20poly1305.KeySize

// ErrNoTokenKey is wrapped by the errors of SaveToken and LoadToken when
// the database was opened without Options.TokenKey and a token must be
// sealed or opened.
var ErrNoTokenKey = errors.New("no key to seal the Office 365 tokens")

// ErrTokenKeyMismatch is wrapped by the errors of LoadToken when an
// account's tokens do not open with the key given (another key, or a row
// tampered with or copied from another account).
var ErrTokenKeyMismatch = errors.New("the tokens do not open with this key")

// ErrKeyFileNotCreated is wrapped by the error of LoadTokenKey when it
// should create the key file and cannot (a directory it may not write).
var ErrKeyFileNotCreated = errors.New("the key file cannot be created")

// tokenAAD is the associated data of the token of account in column.
func tokenAAD(account, column string) []byte {
	return []byte("cardbridge/accounts/v1\x00" + account + "\x00" + column)
}

// newTokenAEAD checks key and makes its AEAD; nil for no key.
func newTokenAEAD(key []byte) (cipher.AEAD, error) {
	if key == nil {
		return nil, nil
	}
	if len(key) != TokenKeySize {
		return nil, fmt.Errorf("the token key is %d bytes, want %d", len(key), TokenKeySize)
	}
	return chacha20poly1305.NewX(key)
}

// sealToken seals a token of account (column names which); "" stays "".
func (db *DB) sealToken(account, column, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	if db.aead == nil {
		return "", fmt.Errorf("%w (%s)", ErrNoTokenKey, db.keyHint())
	}
	nonce := make([]byte, db.aead.NonceSize(), db.aead.NonceSize()+len(token)+db.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return base64.RawStdEncoding.EncodeToString(db.aead.Seal(nonce, nonce, []byte(token), tokenAAD(account, column))), nil
}

// openToken opens what sealToken made.
func (db *DB) openToken(account, column, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if db.aead == nil {
		return "", fmt.Errorf("%w: they are sealed in the state, and %s", ErrNoTokenKey, db.keyHint())
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err == nil && len(raw) < db.aead.NonceSize()+db.aead.Overhead() {
		err = errors.New("too short")
	}
	if err != nil {
		return "", fmt.Errorf("%s: not a sealed token (%v): %w", column, err, ErrTokenKeyMismatch)
	}
	n := db.aead.NonceSize()
	plain, err := db.aead.Open(nil, raw[:n], raw[n:], tokenAAD(account, column))
	if err != nil {
		return "", fmt.Errorf("%w (%s: a different key from the one they were sealed with, or the row was altered or copied from another account)",
			ErrTokenKeyMismatch, db.keyHint())
	}
	return string(plain), nil
}

// keyHint says what key Open was given, for errors.
func (db *DB) keyHint() string {
	if db.keySource != "" {
		return db.keySource
	}
	if db.aead == nil {
		return "no key was given (state.Options.TokenKey)"
	}
	return "the key given"
}

// tokenKeyAdvice is what to do about an account whose tokens cannot be
// opened.
func tokenKeyAdvice(account string) string {
	return "restore the key they were sealed with (the secret_key_file, " + "CARDBRIDGE_SECRET_KEY or the systemd credential " +
		"cardbridge-secret-key; see docs/security.md), or sign in again: `cardbridge logout " + account + "` then `cardbridge login " + account +
		"` (for a connection made on serve's web page, the user connects Office 365 again there)"
}

// sealPlainTokens seals, in one transaction, the tokens stored as they are
// (rows written before migration 0005), and returns how many accounts it
// sealed. The plain values leave no copy in the file: the transaction runs
// with secure_delete (freed space is zeroed) and the WAL, which may hold
// older pages, is checkpointed and truncated afterwards.
func (db *DB) sealPlainTokens(ctx context.Context) (int, error) {
	var plain int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts
WHERE sealed = 0 AND (access_token <> '' OR refresh_token <> '')`).Scan(&plain); err != nil {
		return 0, fmt.Errorf("state: open %s: look for tokens to seal: %w", db.path, err)
	}
	if plain == 0 {
		return 0, nil
	}
	// (On PostgreSQL the old row versions go at the next vacuum: that is
	// PostgreSQL's to do.)
	sqlite := !db.dialect.postgres
	if sqlite {
		if _, err := db.sql.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
			return 0, fmt.Errorf("state: open %s: seal the stored tokens: %w", db.path, err)
		}
		defer db.sql.ExecContext(context.WithoutCancel(ctx), `PRAGMA secure_delete = OFF`)
	}
	n := 0
	err := db.serverTx(ctx, "seal the stored tokens", func(tx *sqlTx) error {
		rows, err := tx.QueryContext(ctx, `SELECT name, access_token, refresh_token FROM accounts
WHERE sealed = 0 AND (access_token <> '' OR refresh_token <> '')`)
		if err != nil {
			return err
		}
		type row struct{ name, access, refresh string }
		var plain []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.name, &r.access, &r.refresh); err != nil {
				rows.Close()
				return err
			}
			plain = append(plain, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range plain {
			access, err := db.sealToken(r.name, "access_token", r.access)
			if err != nil {
				return fmt.Errorf("account %s: %w", r.name, err)
			}
			refresh, err := db.sealToken(r.name, "refresh_token", r.refresh)
			if err != nil {
				return fmt.Errorf("account %s: %w", r.name, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET access_token = ?, refresh_token = ?, sealed = 1 WHERE name = ? AND sealed = 0`,
				access, refresh, r.name); err != nil {
				return fmt.Errorf("account %s: %w", r.name, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("state: open %s: seal the stored tokens: %w", db.path, err)
	}
	if sqlite && db.path != ":memory:" {
		if _, err := db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			db.log.Warn("state: after sealing the tokens, the WAL could not be truncated: older copies of the plain tokens may stay in it until the next checkpoint",
				"path", db.path, "err", err)
		}
	}
	return n, nil
}

// SealedAccounts lists, by name, the accounts whose stored tokens are
// sealed and do not open with the key Open was given (all of them when it
// was given none): those that need the right key, or a new sign-in.
func (db *DB) SealedAccounts(ctx context.Context) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name, access_token, refresh_token FROM accounts
WHERE sealed = 1 AND (access_token <> '' OR refresh_token <> '') ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("state: sealed accounts: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name, access, refresh string
		if err := rows.Scan(&name, &access, &refresh); err != nil {
			return nil, fmt.Errorf("state: sealed accounts: %w", err)
		}
		_, errA := db.openToken(name, "access_token", access)
		_, errR := db.openToken(name, "refresh_token", refresh)
		if errA != nil || errR != nil {
			out = append(out, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: sealed accounts: %w", err)
	}
	return out, nil
}

// KeySource says where LoadTokenKey looks for the token key, in this
// order: the environment variable CARDBRIDGE_SECRET_KEY (base64 of 32
// bytes), the systemd credential cardbridge-secret-key
// ($CREDENTIALS_DIRECTORY, LoadCredential=/SetCredentialEncrypted=), then
// File.
type KeySource struct {
	// Env is the environment (KEY=VALUE) to read the variables from.
	Env []string
	// File is the key file (config secret_key_file, or its default).
	File string
	// Create creates File (0600, its directory 0700) with a new random key
	// when there is no key anywhere.
	Create bool
}

// EnvSecretKey and CredentialName are where LoadTokenKey looks before File.
const (
	EnvSecretKey   = "CARDBRIDGE_SECRET_KEY"
	CredentialName = "cardbridge-secret-key"
)

// LoadTokenKey finds the token key (see KeySource) and returns it with a
// description of where it came from (for Options.TokenKeySource). With no
// key anywhere and Create unset, it returns a nil key, no error, and a
// description that says so (the database then opens, but no token can be
// sealed or opened). A key that is there but unreadable or malformed is an
// error naming the place.
func LoadTokenKey(src KeySource) (key []byte, from string, err error) {
	env := map[string]string{}
	for _, kv := range src.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if v := env[EnvSecretKey]; v != "" {
		k, err := parseKey([]byte(v), false)
		if err != nil {
			return nil, "", fmt.Errorf("the environment variable %s: %w", EnvSecretKey, err)
		}
		return k, "the environment variable " + EnvSecretKey, nil
	}
	if dir := env["CREDENTIALS_DIRECTORY"]; dir != "" {
		p := filepath.Join(dir, CredentialName)
		raw, err := os.ReadFile(p)
		switch {
		case err == nil:
			k, err := parseKey(raw, true)
			if err != nil {
				return nil, "", fmt.Errorf("the systemd credential %s: %w", p, err)
			}
			return k, "the systemd credential " + p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, "", fmt.Errorf("the systemd credential %s: %w", p, err)
		}
	}
	if src.File == "" {
		return nil, "no key was given (" + EnvSecretKey + " is not set, and there is no key file)", nil
	}
	raw, err := os.ReadFile(src.File)
	switch {
	case err == nil:
		k, err := parseKey(raw, true)
		if err != nil {
			return nil, "", fmt.Errorf("the key file %s: %w", src.File, err)
		}
		return k, "the key file " + src.File, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("the key file %s: %w", src.File, err)
	case !src.Create:
		return nil, "no key was found (" + EnvSecretKey + " is not set and the key file " + src.File + " does not exist)", nil
	}
	k := make([]byte, TokenKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, "", fmt.Errorf("a new key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(src.File), 0o700); err != nil {
		return nil, "", fmt.Errorf("create the key file %s: %w: %w (set secret_key_file or %s)", src.File, ErrKeyFileNotCreated, err, EnvSecretKey)
	}
	f, err := os.OpenFile(src.File, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it meanwhile
		return LoadTokenKey(KeySource{Env: src.Env, File: src.File})
	}
	if err != nil {
		return nil, "", fmt.Errorf("create the key file %s: %w: %w (set secret_key_file or %s)", src.File, ErrKeyFileNotCreated, err, EnvSecretKey)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(src.File)
		return nil, "", fmt.Errorf("write the key file %s: %w: %w", src.File, ErrKeyFileNotCreated, err)
	}
	return k, "the key file " + src.File + " (created now)", nil
}

// parseKey reads a key: base64 (standard or URL alphabet, padded or not,
// surrounding space ignored) of 32 bytes, or, when raw is allowed, exactly
// 32 bytes as they are (a binary systemd credential).
func parseKey(b []byte, raw bool) ([]byte, error) {
	if raw && len(b) == TokenKeySize { // base64 of a key is 43 or 44 characters, never 32
		return append([]byte(nil), b...), nil
	}
	s := strings.TrimSpace(string(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != TokenKeySize {
				return nil, fmt.Errorf("holds %d bytes once base64-decoded, want %d (make one with: head -c 32 /dev/urandom | base64)", len(k), TokenKeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("is not base64 of %d bytes (make one with: head -c 32 /dev/urandom | base64)", TokenKeySize)
}
