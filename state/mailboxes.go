package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The states of a tenant mailbox.
const (
	// MailboxActive is a mailbox whose pair runs.
	MailboxActive = "active"
	// MailboxPaused is a mailbox whose owner left (removed, disabled, out
	// of the group): its pair is kept but not run.
	MailboxPaused = "paused"
)

// Mailbox is one mailbox an app-only account provisions (accounts.X.mailboxes):
// the person, their local user, the pair and its last run.
type Mailbox struct {
	Account            string // the configured account, lower case
	TenantID, ObjectID string // the person, lower case
	UPN                string // the sign-in name seen last
	User               string // the local user of the built-in server
	Pair               string // the pair's name
	State              string // MailboxActive or MailboxPaused
	LeftAt             time.Time
	Created            time.Time
	// LastRun is the end of the pair's last run (zero: never); AChanges
	// and BChanges its changes to Office 365 and to the book, ItemErrors
	// its items that failed, LastError its error ("" none).
	LastRun            time.Time
	AChanges, BChanges int
	ItemErrors         int
	LastError          string
}

const mailboxColumns = `account, tenant_id, object_id, upn, user_name, pair, state, left_at, created_at, last_run_at, a_changes, b_changes, item_errors, last_error`

func scanMailbox(row interface{ Scan(...any) error }) (Mailbox, error) {
	var m Mailbox
	var left, created, run int64
	if err := row.Scan(&m.Account, &m.TenantID, &m.ObjectID, &m.UPN, &m.User, &m.Pair, &m.State, &left, &created, &run,
		&m.AChanges, &m.BChanges, &m.ItemErrors, &m.LastError); err != nil {
		return Mailbox{}, err
	}
	m.LeftAt, m.Created, m.LastRun = unixOrZero(left), unixOrZero(created), unixOrZero(run)
	return m, nil
}

func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// Mailboxes lists the provisioned mailboxes of account ("" every
// account's), by account and pair.
func (db *DB) Mailboxes(ctx context.Context, account string) ([]Mailbox, error) {
	q := `SELECT ` + mailboxColumns + ` FROM tenant_mailboxes`
	var args []any
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, strings.ToLower(account))
	}
	rows, err := db.sql.QueryContext(ctx, q+` ORDER BY account, pair`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: mailboxes: %w", err)
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, fmt.Errorf("state: mailboxes: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: mailboxes: %w", err)
	}
	return out, nil
}

// badPairChars are what a pair name may not hold.
var badPairChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// MailboxPairName is the pair name a mailbox of account for local user is
// first offered: "<account>-<user>", lower case, with what a pair name
// may not hold turned into "-".
func MailboxPairName(account, user string) string {
	n := badPairChars.ReplaceAllString(strings.ToLower(account+"-"+user), "-")
	return strings.Trim(n, "-")
}

// AddMailbox records mailbox m (Account, TenantID, ObjectID, UPN, User set)
// as active, with a pair named MailboxPairName or, when that name is taken
// (by reserved, the configured pairs, or by a pair in the state), that
// name with -2, -3 ...; it returns m as stored. ErrExists (wrapped) when
// the account has the mailbox already.
func (db *DB) AddMailbox(ctx context.Context, m Mailbox, reserved []string) (Mailbox, error) {
	m.Account, m.TenantID, m.ObjectID = strings.ToLower(m.Account), strings.ToLower(m.TenantID), strings.ToLower(m.ObjectID)
	op := "add mailbox " + m.Account + "/" + m.ObjectID
	if m.Account == "" || m.TenantID == "" || m.ObjectID == "" || m.User == "" {
		return Mailbox{}, fmt.Errorf("state: %s: account, tenant id, object id and user are required", op)
	}
	err := db.serverTx(ctx, op, func(tx *sqlTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_mailboxes WHERE account = ? AND object_id = ?`, m.Account, m.ObjectID).Scan(&n); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if n > 0 {
			return fmt.Errorf("state: %s: %w", op, ErrExists)
		}
		base := MailboxPairName(m.Account, m.User)
		m.Pair = ""
		for i := 1; i <= 1000 && m.Pair == ""; i++ {
			cand := base
			if i > 1 {
				cand = fmt.Sprintf("%s-%d", base, i)
			}
			if slices.Contains(reserved, cand) {
				continue
			}
			used, err := pairNameUsed(ctx, tx, cand)
			if err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
			if !used {
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenant_mailboxes WHERE pair = ?`, cand).Scan(&n); err != nil {
					return fmt.Errorf("state: %s: %w", op, err)
				}
				used = n > 0
			}
			if !used {
				m.Pair = cand
			}
		}
		if m.Pair == "" {
			return fmt.Errorf("state: %s: no free pair name from %q: %w", op, base, ErrExists)
		}
		t := now()
		m.State, m.Created, m.LeftAt = MailboxActive, t, time.Time{}
		_, err := tx.ExecContext(ctx, `INSERT INTO tenant_mailboxes (account, tenant_id, object_id, upn, user_name, pair, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Account, m.TenantID, m.ObjectID, m.UPN, m.User, m.Pair, MailboxActive, t.UnixNano())
		if err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return Mailbox{}, err
	}
	return m, nil
}

// PauseMailbox marks the mailbox (account, objectID) paused since at
// (its owner left); a paused one keeps its first left_at. ErrNotFound
// (wrapped) when there is no such mailbox.
func (db *DB) PauseMailbox(ctx context.Context, account, objectID string, at time.Time) error {
	op := "pause mailbox " + account + "/" + objectID
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenant_mailboxes SET state = ?, left_at = CASE WHEN state = ? THEN left_at ELSE ? END WHERE account = ? AND object_id = ?`,
			MailboxPaused, MailboxPaused, at.UnixNano(), strings.ToLower(account), strings.ToLower(objectID))
		return oneRow(res, err, op)
	})
}

// ResumeMailbox marks the mailbox (account, objectID) active again (its
// owner is back) and records upn as their sign-in name. ErrNotFound
// (wrapped) when there is no such mailbox.
func (db *DB) ResumeMailbox(ctx context.Context, account, objectID, upn string) error {
	op := "resume mailbox " + account + "/" + objectID
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenant_mailboxes SET state = ?, left_at = 0, upn = ? WHERE account = ? AND object_id = ?`,
			MailboxActive, upn, strings.ToLower(account), strings.ToLower(objectID))
		return oneRow(res, err, op)
	})
}

// MailboxRun is the outcome of one run of a mailbox's pair.
type MailboxRun struct {
	End                time.Time
	AChanges, BChanges int
	ItemErrors         int
	Error              string
}

// RecordMailboxRun records the outcome of a run of pair, a mailbox's
// pair; ErrNotFound (wrapped) when pair is no mailbox's.
func (db *DB) RecordMailboxRun(ctx context.Context, pair string, r MailboxRun) error {
	op := "record the run of mailbox pair " + pair
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tenant_mailboxes SET last_run_at = ?, a_changes = ?, b_changes = ?, item_errors = ?, last_error = ? WHERE pair = ?`,
			r.End.UnixNano(), r.AChanges, r.BChanges, r.ItemErrors, r.Error, pair)
		return oneRow(res, err, op)
	})
}

// MailboxOfPair returns the mailbox whose pair is pair; ErrNotFound
// (wrapped) when none.
func (db *DB) MailboxOfPair(ctx context.Context, pair string) (Mailbox, error) {
	m, err := scanMailbox(db.sql.QueryRowContext(ctx, `SELECT `+mailboxColumns+` FROM tenant_mailboxes WHERE pair = ?`, pair))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("state: mailbox of pair %s: %w", pair, ErrNotFound)
	}
	if err != nil {
		return Mailbox{}, fmt.Errorf("state: mailbox of pair %s: %w", pair, err)
	}
	return m, nil
}
