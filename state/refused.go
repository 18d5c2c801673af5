package state

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RefusedFields returns the contact fields Office 365 account refuses to
// write for good (e.g. "photo": contact photos cannot be written for
// personal Microsoft accounts), as recorded by AddRefusedField, sorted;
// nil when none.
func (db *DB) RefusedFields(ctx context.Context, account string) ([]string, error) {
	fields, err := queryStrings(ctx, db.sql, `SELECT field FROM account_refused_fields WHERE account = ? ORDER BY field`, account)
	if err != nil {
		return nil, fmt.Errorf("state: refused fields of account %s: %w", account, err)
	}
	return fields, nil
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
	res, err := db.sql.ExecContext(ctx, `INSERT INTO account_refused_fields (account, field, created_at) VALUES (?, ?, ?)
ON CONFLICT (account, field) DO NOTHING`, account, field, time.Now().UnixNano())
	if err != nil {
		return false, fmt.Errorf("state: record refused field %s of account %s: %w", field, account, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state: record refused field %s of account %s: %w", field, account, err)
	}
	return n > 0, nil
}
