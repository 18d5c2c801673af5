package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

// DirectoryUser is one person of a tenant's directory as the state keeps
// them (see ApplyDirectoryChanges). ManagerName is the manager's display
// name, read from the same directory ("" when unknown).
type DirectoryUser struct {
	TenantID, ObjectID          string
	UPN, DisplayName            string
	GivenName, Surname          string
	Mail                        string
	OtherMails, BusinessPhones  []string
	MobilePhone, JobTitle       string
	Department, Office, Company string
	ManagerID, ManagerName      string
	Enabled                     bool
	// UserType is "Member" or "Guest".
	UserType string
	Updated  time.Time
	// Seq is the tenant's change number of the person's last write (0
	// from before the change log), the Directory book's card version.
	Seq int64
	// Photo is the profile photo as Graph sent it (nil: none); only
	// the listings that ask for it fill it.
	Photo []byte
	// InGroup says whether the person is a direct member of the group a
	// listing asked about (DirectoryOptions.Group, DirectoryUsersByID's
	// group); false when it asked about none.
	InGroup bool
}

// MaxDirectoryPhoto is the largest profile photo kept for a person (a
// larger one is left out of their card): Graph serves the largest size it
// has, and a card stays a few hundred kilobytes at most.
const MaxDirectoryPhoto = 256 << 10

// DirectoryOptions chooses the users DirectoryUsers lists; the zero value
// lists enabled members with an e-mail address (a mailbox).
type DirectoryOptions struct {
	IncludeGuests, IncludeDisabled, IncludeWithoutMail bool
	// Group, when set, lists only the direct members of this group (its
	// object id) as SetDirectoryGroupMembers last stored them.
	Group string
}

// Includes reports whether opts lists u (the same rule as the listings'
// SQL); with a Group, u.InGroup must have been read for it.
func (opts DirectoryOptions) Includes(u DirectoryUser) bool {
	return (opts.IncludeGuests || u.UserType != "Guest") && (opts.IncludeDisabled || u.Enabled) && (opts.IncludeWithoutMail || u.Mail != "") &&
		(opts.Group == "" || u.InGroup)
}

// inGroupSQL is true when directory_users u is a direct member of the
// group given as its one argument.
const inGroupSQL = `EXISTS (SELECT 1 FROM directory_group_members g WHERE g.tenant_id = u.tenant_id AND g.group_id = ? AND g.object_id = u.object_id)`

// where is the SQL condition of opts on directory_users u and its
// arguments.
func (opts DirectoryOptions) where() (string, []any) {
	q := ""
	var args []any
	if opts.Group != "" {
		q += ` AND ` + inGroupSQL
		args = append(args, strings.ToLower(opts.Group))
	}
	if !opts.IncludeGuests {
		q += ` AND u.user_type <> 'Guest'`
	}
	if !opts.IncludeDisabled {
		q += ` AND u.enabled = TRUE`
	}
	if !opts.IncludeWithoutMail {
		q += ` AND u.mail <> ''`
	}
	return q, args
}

const directoryColumns = `u.object_id, u.upn, u.display_name, u.given_name, u.surname, u.mail, u.other_mails, u.business_phones,
u.mobile_phone, u.job_title, u.department, u.office, u.company, u.manager_id, u.enabled, u.user_type, u.updated_at, u.seq`

// scanDirectoryUser reads one row of directoryColumns (plus the manager's
// name when withManager, then the photo when withPhoto, then InGroup when
// withGroup).
func scanDirectoryUser(row interface{ Scan(...any) error }, tenant string, withManager, withPhoto, withGroup bool) (DirectoryUser, error) {
	u := DirectoryUser{TenantID: tenant}
	var mails, phones string
	var updated int64
	dest := []any{&u.ObjectID, &u.UPN, &u.DisplayName, &u.GivenName, &u.Surname, &u.Mail, &mails, &phones,
		&u.MobilePhone, &u.JobTitle, &u.Department, &u.Office, &u.Company, &u.ManagerID, &u.Enabled, &u.UserType, &updated, &u.Seq}
	var mgr sql.NullString
	if withManager {
		dest = append(dest, &mgr)
	}
	if withPhoto {
		dest = append(dest, &u.Photo)
	}
	if withGroup {
		dest = append(dest, &u.InGroup)
	}
	if err := row.Scan(dest...); err != nil {
		return DirectoryUser{}, err
	}
	if err := json.Unmarshal([]byte(mails), &u.OtherMails); err != nil {
		return DirectoryUser{}, fmt.Errorf("other e-mail addresses of %s: %w", u.ObjectID, err)
	}
	if err := json.Unmarshal([]byte(phones), &u.BusinessPhones); err != nil {
		return DirectoryUser{}, fmt.Errorf("business phones of %s: %w", u.ObjectID, err)
	}
	u.ManagerName = mgr.String
	u.Updated = time.Unix(0, updated).UTC()
	return u, nil
}

// mergeDirectoryChange sets on u what c carries: absent properties keep
// their value; a manager@delta without entries (or with a removed one)
// clears the manager.
func mergeDirectoryChange(u *DirectoryUser, c api.DirectoryUser) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.UPN, c.UserPrincipalName)
	set(&u.DisplayName, c.DisplayName)
	set(&u.GivenName, c.GivenName)
	set(&u.Surname, c.Surname)
	set(&u.Mail, c.Mail)
	set(&u.MobilePhone, c.MobilePhone)
	set(&u.JobTitle, c.JobTitle)
	set(&u.Department, c.Department)
	set(&u.Office, c.OfficeLocation)
	set(&u.Company, c.CompanyName)
	set(&u.UserType, c.UserType)
	if c.OtherMails != nil {
		u.OtherMails = c.OtherMails
	}
	if c.BusinessPhones != nil {
		u.BusinessPhones = c.BusinessPhones
	}
	if c.AccountEnabled != nil {
		u.Enabled = *c.AccountEnabled
	}
	if c.ManagerDelta != nil {
		u.ManagerID = ""
		for _, m := range c.ManagerDelta {
			if m.Removed == nil && m.ID != "" {
				u.ManagerID = strings.ToLower(m.ID)
			}
		}
	}
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ApplyDirectoryChanges merges one users delta round of tenant into its
// directory copy and keeps newToken as its delta token, in one
// transaction: ApplyDirectoryRound without photos (the ones kept stay).
func (db *DB) ApplyDirectoryChanges(ctx context.Context, tenant string, full bool, changes []api.DirectoryUser, newToken string) error {
	return db.ApplyDirectoryRound(ctx, tenant, DirectoryRound{Full: full, Changes: changes, Token: newToken})
}

// DirectoryRound is one users delta round of a tenant.
type DirectoryRound struct {
	// Full says the round started without a token (a full snapshot):
	// users it does not name are removed.
	Full bool
	// Changes are the round's entries, in order.
	Changes []api.DirectoryUser
	// Token is the round's deltaLink, kept for the next round.
	Token string
	// Photos are the profile photos fetched in the round by object id:
	// a nil or empty one says the person has none. People not in it keep
	// the photo they have.
	Photos map[string][]byte
}

// ApplyDirectoryRound merges r into tenant's directory copy and keeps its
// token, in one transaction. Entries apply in order: a new user is
// inserted, a known one gets only the properties its entry carries, one
// with Removed is deleted (and, in a full round, so are the users it did
// not name). Each write takes the tenant's next change number (the change
// log the Directory book's sync-collection reads): the written person, a
// removed one's tombstone, and the reports of a person whose name changed,
// came or went (their cards name the manager).
func (db *DB) ApplyDirectoryRound(ctx context.Context, tenant string, r DirectoryRound) error {
	tenant = strings.ToLower(tenant)
	op := "apply directory changes of tenant " + tenant
	if tenant == "" {
		return fmt.Errorf("state: %s: tenant id is required", op)
	}
	if r.Token == "" {
		return fmt.Errorf("state: %s: the new delta token is empty", op)
	}
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		t := now().UnixNano()
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT seq FROM directory_seqs WHERE tenant_id = ?`, tenant).Scan(&seq); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("state: %s: change number: %w", op, err)
		}
		next := func() int64 { seq++; return seq }
		renamed := map[string]bool{} // people whose reports' cards change
		remove := func(id string) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM directory_users WHERE tenant_id = ? AND object_id = ?`, tenant, id)
			if err != nil {
				return fmt.Errorf("state: %s: remove %s: %w", op, id, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			renamed[id] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO directory_removed (tenant_id, object_id, seq) VALUES (?, ?, ?)
ON CONFLICT (tenant_id, object_id) DO UPDATE SET seq = excluded.seq`, tenant, id, next()); err != nil {
				return fmt.Errorf("state: %s: tombstone of %s: %w", op, id, err)
			}
			return nil
		}
		seen := map[string]bool{}
		for _, c := range r.Changes {
			id := strings.ToLower(c.ID)
			if id == "" {
				return fmt.Errorf("state: %s: a change without a user id", op)
			}
			if c.Removed != nil {
				delete(seen, id)
				if err := remove(id); err != nil {
					return err
				}
				continue
			}
			seen[id] = true
			u, err := scanDirectoryUser(tx.QueryRowContext(ctx, `SELECT `+directoryColumns+`, u.photo FROM directory_users u WHERE u.tenant_id = ? AND u.object_id = ?`, tenant, id), tenant, false, true, false)
			if errors.Is(err, sql.ErrNoRows) {
				u = DirectoryUser{TenantID: tenant, ObjectID: id, Enabled: true}
				renamed[id] = true
			} else if err != nil {
				return fmt.Errorf("state: %s: read %s: %w", op, id, err)
			}
			oldName := u.DisplayName
			mergeDirectoryChange(&u, c)
			if u.DisplayName != oldName {
				renamed[id] = true
			}
			if p, ok := r.Photos[id]; ok {
				u.Photo = p
			}
			if len(u.Photo) == 0 || len(u.Photo) > MaxDirectoryPhoto {
				u.Photo = nil
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO directory_users (tenant_id, object_id, upn, display_name, given_name, surname, mail,
other_mails, business_phones, mobile_phone, job_title, department, office, company, manager_id, enabled, user_type, updated_at, seq, photo)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant_id, object_id) DO UPDATE SET upn = excluded.upn, display_name = excluded.display_name,
given_name = excluded.given_name, surname = excluded.surname, mail = excluded.mail, other_mails = excluded.other_mails,
business_phones = excluded.business_phones, mobile_phone = excluded.mobile_phone, job_title = excluded.job_title,
department = excluded.department, office = excluded.office, company = excluded.company, manager_id = excluded.manager_id,
enabled = excluded.enabled, user_type = excluded.user_type, updated_at = excluded.updated_at, seq = excluded.seq, photo = excluded.photo`,
				tenant, id, u.UPN, u.DisplayName, u.GivenName, u.Surname, u.Mail, jsonList(u.OtherMails), jsonList(u.BusinessPhones),
				u.MobilePhone, u.JobTitle, u.Department, u.Office, u.Company, u.ManagerID, u.Enabled, u.UserType, t, next(), u.Photo); err != nil {
				return fmt.Errorf("state: %s: write %s: %w", op, id, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM directory_removed WHERE tenant_id = ? AND object_id = ?`, tenant, id); err != nil {
				return fmt.Errorf("state: %s: back %s: %w", op, id, err)
			}
		}
		if r.Full {
			stale, err := directoryIDs(ctx, tx, `SELECT object_id FROM directory_users WHERE tenant_id = ? ORDER BY object_id`, tenant)
			if err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
			for _, id := range stale {
				if !seen[id] {
					if err := remove(id); err != nil {
						return err
					}
				}
			}
		}
		managers := make([]string, 0, len(renamed))
		for id := range renamed {
			managers = append(managers, id)
		}
		slices.Sort(managers)
		for _, m := range managers {
			reports, err := directoryIDs(ctx, tx, `SELECT object_id FROM directory_users WHERE tenant_id = ? AND manager_id = ? ORDER BY object_id`, tenant, m)
			if err != nil {
				return fmt.Errorf("state: %s: reports of %s: %w", op, m, err)
			}
			for _, id := range reports {
				if _, err := tx.ExecContext(ctx, `UPDATE directory_users SET seq = ? WHERE tenant_id = ? AND object_id = ?`, next(), tenant, id); err != nil {
					return fmt.Errorf("state: %s: report %s: %w", op, id, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO directory_seqs (tenant_id, seq) VALUES (?, ?)
ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq`, tenant, seq); err != nil {
			return fmt.Errorf("state: %s: change number: %w", op, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO directory_tokens (tenant_id, delta_token, updated_at) VALUES (?, ?, ?)
ON CONFLICT (tenant_id) DO UPDATE SET delta_token = excluded.delta_token, updated_at = excluded.updated_at`, tenant, r.Token, t); err != nil {
			return fmt.Errorf("state: %s: token: %w", op, err)
		}
		return nil
	})
}

// directoryIDs runs q (selecting object ids) in tx.
func directoryIDs(ctx context.Context, tx *sqlTx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DirectoryToken returns the delta token of tenant's last round, "" when
// there is none (the next round is a full one).
func (db *DB) DirectoryToken(ctx context.Context, tenant string) (string, error) {
	var tok string
	err := db.sql.QueryRowContext(ctx, `SELECT delta_token FROM directory_tokens WHERE tenant_id = ?`, strings.ToLower(tenant)).Scan(&tok)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state: directory token of tenant %s: %w", tenant, err)
	}
	return tok, nil
}

// DirectoryUsers lists tenant's directory ordered by display name (then
// object id), with each manager's name; opts says which users.
func (db *DB) DirectoryUsers(ctx context.Context, tenant string, opts DirectoryOptions) ([]DirectoryUser, error) {
	tenant = strings.ToLower(tenant)
	cond, args := opts.where()
	q := `SELECT ` + directoryColumns + `, m.display_name FROM directory_users u
LEFT JOIN directory_users m ON m.tenant_id = u.tenant_id AND m.object_id = u.manager_id AND u.manager_id <> ''
WHERE u.tenant_id = ?` + cond + ` ORDER BY u.display_name, u.object_id`
	rows, err := db.sql.QueryContext(ctx, q, append([]any{tenant}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
	}
	defer rows.Close()
	var out []DirectoryUser
	for rows.Next() {
		u, err := scanDirectoryUser(rows, tenant, true, false, false)
		if err != nil {
			return nil, fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
		}
		u.InGroup = opts.Group != ""
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
	}
	return out, nil
}
