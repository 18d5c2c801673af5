package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
}

// DirectoryOptions chooses the users DirectoryUsers lists; the zero value
// lists enabled members with an e-mail address (a mailbox).
type DirectoryOptions struct {
	IncludeGuests, IncludeDisabled, IncludeWithoutMail bool
}

const directoryColumns = `u.object_id, u.upn, u.display_name, u.given_name, u.surname, u.mail, u.other_mails, u.business_phones,
u.mobile_phone, u.job_title, u.department, u.office, u.company, u.manager_id, u.enabled, u.user_type, u.updated_at`

// scanDirectoryUser reads one row of directoryColumns (plus the manager's
// name when withManager).
func scanDirectoryUser(row interface{ Scan(...any) error }, tenant string, withManager bool) (DirectoryUser, error) {
	u := DirectoryUser{TenantID: tenant}
	var mails, phones string
	var updated int64
	dest := []any{&u.ObjectID, &u.UPN, &u.DisplayName, &u.GivenName, &u.Surname, &u.Mail, &mails, &phones,
		&u.MobilePhone, &u.JobTitle, &u.Department, &u.Office, &u.Company, &u.ManagerID, &u.Enabled, &u.UserType, &updated}
	var mgr sql.NullString
	if withManager {
		dest = append(dest, &mgr)
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
// transaction. Entries apply in order: a new user is inserted, a known one
// gets only the properties its entry carries, one with Removed is
// deleted. full says the round started without a token (a full
// snapshot): users the round did not name are deleted too.
func (db *DB) ApplyDirectoryChanges(ctx context.Context, tenant string, full bool, changes []api.DirectoryUser, newToken string) error {
	tenant = strings.ToLower(tenant)
	op := "apply directory changes of tenant " + tenant
	if tenant == "" {
		return fmt.Errorf("state: %s: tenant id is required", op)
	}
	if newToken == "" {
		return fmt.Errorf("state: %s: the new delta token is empty", op)
	}
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		t := now().UnixNano()
		seen := map[string]bool{}
		for _, c := range changes {
			id := strings.ToLower(c.ID)
			if id == "" {
				return fmt.Errorf("state: %s: a change without a user id", op)
			}
			if c.Removed != nil {
				delete(seen, id)
				if _, err := tx.ExecContext(ctx, `DELETE FROM directory_users WHERE tenant_id = ? AND object_id = ?`, tenant, id); err != nil {
					return fmt.Errorf("state: %s: remove %s: %w", op, id, err)
				}
				continue
			}
			seen[id] = true
			u, err := scanDirectoryUser(tx.QueryRowContext(ctx, `SELECT `+directoryColumns+` FROM directory_users u WHERE u.tenant_id = ? AND u.object_id = ?`, tenant, id), tenant, false)
			if errors.Is(err, sql.ErrNoRows) {
				u = DirectoryUser{TenantID: tenant, ObjectID: id, Enabled: true}
			} else if err != nil {
				return fmt.Errorf("state: %s: read %s: %w", op, id, err)
			}
			mergeDirectoryChange(&u, c)
			if _, err := tx.ExecContext(ctx, `INSERT INTO directory_users (tenant_id, object_id, upn, display_name, given_name, surname, mail,
other_mails, business_phones, mobile_phone, job_title, department, office, company, manager_id, enabled, user_type, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (tenant_id, object_id) DO UPDATE SET upn = excluded.upn, display_name = excluded.display_name,
given_name = excluded.given_name, surname = excluded.surname, mail = excluded.mail, other_mails = excluded.other_mails,
business_phones = excluded.business_phones, mobile_phone = excluded.mobile_phone, job_title = excluded.job_title,
department = excluded.department, office = excluded.office, company = excluded.company, manager_id = excluded.manager_id,
enabled = excluded.enabled, user_type = excluded.user_type, updated_at = excluded.updated_at`,
				tenant, id, u.UPN, u.DisplayName, u.GivenName, u.Surname, u.Mail, jsonList(u.OtherMails), jsonList(u.BusinessPhones),
				u.MobilePhone, u.JobTitle, u.Department, u.Office, u.Company, u.ManagerID, u.Enabled, u.UserType, t); err != nil {
				return fmt.Errorf("state: %s: write %s: %w", op, id, err)
			}
		}
		if full {
			rows, err := tx.QueryContext(ctx, `SELECT object_id FROM directory_users WHERE tenant_id = ?`, tenant)
			if err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
			var stale []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("state: %s: %w", op, err)
				}
				if !seen[id] {
					stale = append(stale, id)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
			for _, id := range stale {
				if _, err := tx.ExecContext(ctx, `DELETE FROM directory_users WHERE tenant_id = ? AND object_id = ?`, tenant, id); err != nil {
					return fmt.Errorf("state: %s: remove %s: %w", op, id, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO directory_tokens (tenant_id, delta_token, updated_at) VALUES (?, ?, ?)
ON CONFLICT (tenant_id) DO UPDATE SET delta_token = excluded.delta_token, updated_at = excluded.updated_at`, tenant, newToken, t); err != nil {
			return fmt.Errorf("state: %s: token: %w", op, err)
		}
		return nil
	})
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
	q := `SELECT ` + directoryColumns + `, m.display_name FROM directory_users u
LEFT JOIN directory_users m ON m.tenant_id = u.tenant_id AND m.object_id = u.manager_id AND u.manager_id <> ''
WHERE u.tenant_id = ?`
	if !opts.IncludeGuests {
		q += ` AND u.user_type <> 'Guest'`
	}
	if !opts.IncludeDisabled {
		q += ` AND u.enabled = TRUE`
	}
	if !opts.IncludeWithoutMail {
		q += ` AND u.mail <> ''`
	}
	q += ` ORDER BY u.display_name, u.object_id`
	rows, err := db.sql.QueryContext(ctx, q, tenant)
	if err != nil {
		return nil, fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
	}
	defer rows.Close()
	var out []DirectoryUser
	for rows.Next() {
		u, err := scanDirectoryUser(rows, tenant, true)
		if err != nil {
			return nil, fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
	}
	return out, nil
}
