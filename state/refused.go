package state

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// refusedKey is where the fields an account refuses are kept: a row of
// sync_tokens under a pair name no configuration can give (it starts with
// NUL), so that remembering them needs no new table or column.
func refusedKey(account string) string { return "\x00account:" + account }

// RefusedFields returns the contact fields Office 365 account refuses to
// write for good (e.g. "photo": contact photos cannot be written for
// personal Microsoft accounts), as recorded by AddRefusedField; nil when
// none.
func (db *DB) RefusedFields(ctx context.Context, account string) ([]string, error) {
	tok, err := db.Token(ctx, refusedKey(account), "a")
	if err != nil {
		return nil, fmt.Errorf("state: refused fields of account %s: %w", account, err)
	}
	if tok == "" {
		return nil, nil
	}
	return strings.Fields(tok), nil
}

// AddRefusedField records that account refuses to write field (a word
// without spaces) and reports whether it was new; recording it again
// changes nothing. DeleteToken (a logout) forgets it with the rest of the
// account.
func (db *DB) AddRefusedField(ctx context.Context, account, field string) (added bool, err error) {
	if field == "" || strings.ContainsAny(field, " \t\r\n") {
		return false, fmt.Errorf("state: refused field of account %s: %q is not one word", account, field)
	}
	// One statement: concurrent writers (other pairs, other processes)
	// neither lose a field nor both see it as new.
	res, err := db.sql.ExecContext(ctx, `INSERT INTO sync_tokens (pair, side, token, updated_at) VALUES (?, 'a', ?, ?)
ON CONFLICT (pair, side) DO UPDATE SET token = trim(token || ' ' || excluded.token), updated_at = excluded.updated_at
WHERE instr(' ' || token || ' ', ' ' || excluded.token || ' ') = 0`, refusedKey(account), field, time.Now().UnixNano())
	if err != nil {
		return false, fmt.Errorf("state: record refused field %s of account %s: %w", field, account, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state: record refused field %s of account %s: %w", field, account, err)
	}
	return n > 0, nil
}

// forgetRefused removes what AddRefusedField recorded for account.
func (db *DB) forgetRefused(ctx context.Context, account string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM sync_tokens WHERE pair = ? AND side = 'a'`, refusedKey(account))
	return err
}
