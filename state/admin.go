package state

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds the reads of the web page's administrator view: every
// user with how they sign in and their books, the app passwords of a page
// of users, the directory copy of each tenant in numbers, and the pairs
// whose last run failed or that have failed items.

// MaxAdminUsers is the most users AdminUsers lists at once (its limit is
// clamped to it), which also bounds the IN lists of its queries.
const MaxAdminUsers = 500

// AdminUser is one user of the built-in server as the administrator view
// shows them.
type AdminUser struct {
	Name    string
	Created time.Time
	// Password is set when the user has a local password (not
	// NoPassword, the mark of a Microsoft-only user).
	Password bool
	// Identities are the Microsoft identities (tenant + object id) that
	// sign in as the user, by tenant.
	Identities []MicrosoftIdentity
	// Books counts the user's address books.
	Books int
}

// escapeLike escapes the wildcards of LIKE (with ESCAPE '\') in s.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AdminUsers lists the users whose name holds match (case-insensitive; ""
// for all), by name, from offset on and at most limit of them (clamped to
// 1..MaxAdminUsers), with their identities and book counts; total is how
// many match in all.
func (db *DB) AdminUsers(ctx context.Context, match string, offset, limit int) (users []AdminUser, total int, err error) {
	limit = min(max(limit, 1), MaxAdminUsers)
	offset = max(offset, 0)
	where, args := "", []any{}
	if match != "" {
		where = ` WHERE LOWER(name) LIKE ? ESCAPE '\'`
		args = append(args, "%"+escapeLike(strings.ToLower(match))+"%")
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_users`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("state: admin users: %w", err)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT name, created_at, password_hash FROM server_users`+where+` ORDER BY name LIMIT ? OFFSET ?`,
		append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("state: admin users: %w", err)
	}
	defer rows.Close()
	byName := map[string]int{}
	for rows.Next() {
		var u AdminUser
		var created int64
		var hash string
		if err := rows.Scan(&u.Name, &created, &hash); err != nil {
			return nil, 0, fmt.Errorf("state: admin users: %w", err)
		}
		u.Created, u.Password = time.Unix(0, created).UTC(), hash != "" && hash != NoPassword
		byName[u.Name] = len(users)
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("state: admin users: %w", err)
	}
	rows.Close()
	if len(users) == 0 {
		return users, total, nil
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	ids, err := db.sql.QueryContext(ctx, `SELECT tenant_id, object_id, user_name, upn, created_at FROM microsoft_identities
WHERE user_name IN `+inList(len(names))+` ORDER BY tenant_id, object_id`, appendArgs(nil, names)...)
	if err != nil {
		return nil, 0, fmt.Errorf("state: admin users: identities: %w", err)
	}
	defer ids.Close()
	for ids.Next() {
		var id MicrosoftIdentity
		var created int64
		if err := ids.Scan(&id.TenantID, &id.ObjectID, &id.User, &id.UPN, &created); err != nil {
			return nil, 0, fmt.Errorf("state: admin users: identities: %w", err)
		}
		id.Created = time.Unix(0, created).UTC()
		u := &users[byName[id.User]]
		u.Identities = append(u.Identities, id)
	}
	if err := ids.Err(); err != nil {
		return nil, 0, fmt.Errorf("state: admin users: identities: %w", err)
	}
	ids.Close()
	books, err := db.sql.QueryContext(ctx, `SELECT user_name, COUNT(*) FROM addressbooks WHERE user_name IN `+inList(len(names))+` GROUP BY user_name`,
		appendArgs(nil, names)...)
	if err != nil {
		return nil, 0, fmt.Errorf("state: admin users: books: %w", err)
	}
	defer books.Close()
	for books.Next() {
		var name string
		var n int
		if err := books.Scan(&name, &n); err != nil {
			return nil, 0, fmt.Errorf("state: admin users: books: %w", err)
		}
		users[byName[name]].Books = n
	}
	if err := books.Err(); err != nil {
		return nil, 0, fmt.Errorf("state: admin users: books: %w", err)
	}
	return users, total, nil
}

// AppPasswordsOf lists the app passwords of users (at most
// MaxAdminUsers names), by user and name; users without any are absent.
func (db *DB) AppPasswordsOf(ctx context.Context, users []string) (map[string][]AppPassword, error) {
	out := map[string][]AppPassword{}
	if len(users) == 0 {
		return out, nil
	}
	if len(users) > MaxAdminUsers {
		return nil, fmt.Errorf("state: app passwords of %d users: at most %d at once", len(users), MaxAdminUsers)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT id, user_name, name, created_at, last_used_at FROM app_passwords
WHERE user_name IN `+inList(len(users))+` ORDER BY user_name, name`, appendArgs(nil, users)...)
	if err != nil {
		return nil, fmt.Errorf("state: app passwords of users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p AppPassword
		var created, used int64
		if err := rows.Scan(&p.ID, &p.User, &p.Name, &created, &used); err != nil {
			return nil, fmt.Errorf("state: app passwords of users: %w", err)
		}
		p.Created = time.Unix(0, created).UTC()
		if used != 0 {
			p.LastUsed = time.Unix(0, used).UTC()
		}
		out[p.User] = append(out[p.User], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: app passwords of users: %w", err)
	}
	return out, nil
}

// DirectorySummary is a tenant's directory copy in numbers.
type DirectorySummary struct {
	TenantID string
	// People counts everyone in the copy; WithMail, Enabled and Members
	// those with an e-mail address, with an enabled account and that are
	// not guests; Served those that are all three (the default Directory
	// book's people).
	People, WithMail, Enabled, Members, Served int
	// Refreshed is when the last users delta round was stored (zero when
	// none was); HasToken whether a delta token is held for the next.
	Refreshed time.Time
	HasToken  bool
	// Configured is set (by pairs.Runner.AdminView) when an account
	// serves the tenant's Directory book: Served then counts the people
	// listed with its Options rather than the default rule.
	Configured bool
	Options    DirectoryOptions
}

// DirectoryServed counts the people of tenant's directory copy that opts
// lists (the Directory book's people with those options).
func (db *DB) DirectoryServed(ctx context.Context, tenant string, opts DirectoryOptions) (int, error) {
	cond, args := opts.where()
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM directory_users u WHERE u.tenant_id = ?`+cond,
		append([]any{strings.ToLower(tenant)}, args...)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: people served of tenant %s: %w", tenant, err)
	}
	return n, nil
}

// DirectorySummaries summarises the directory copy of every tenant that
// has people or a delta token, by tenant id.
func (db *DB) DirectorySummaries(ctx context.Context) ([]DirectorySummary, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT tenant_id, COUNT(*),
SUM(CASE WHEN mail <> '' THEN 1 ELSE 0 END),
SUM(CASE WHEN enabled = TRUE THEN 1 ELSE 0 END),
SUM(CASE WHEN user_type <> 'Guest' THEN 1 ELSE 0 END),
SUM(CASE WHEN mail <> '' AND enabled = TRUE AND user_type <> 'Guest' THEN 1 ELSE 0 END)
FROM directory_users GROUP BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("state: directory summaries: %w", err)
	}
	defer rows.Close()
	byTenant := map[string]*DirectorySummary{}
	var order []string
	for rows.Next() {
		var s DirectorySummary
		if err := rows.Scan(&s.TenantID, &s.People, &s.WithMail, &s.Enabled, &s.Members, &s.Served); err != nil {
			return nil, fmt.Errorf("state: directory summaries: %w", err)
		}
		byTenant[s.TenantID] = &s
		order = append(order, s.TenantID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: directory summaries: %w", err)
	}
	rows.Close()
	toks, err := db.sql.QueryContext(ctx, `SELECT tenant_id, delta_token, updated_at FROM directory_tokens`)
	if err != nil {
		return nil, fmt.Errorf("state: directory summaries: tokens: %w", err)
	}
	defer toks.Close()
	for toks.Next() {
		var tenant, tok string
		var updated int64
		if err := toks.Scan(&tenant, &tok, &updated); err != nil {
			return nil, fmt.Errorf("state: directory summaries: tokens: %w", err)
		}
		s := byTenant[tenant]
		if s == nil {
			s = &DirectorySummary{TenantID: tenant}
			byTenant[tenant] = s
			order = append(order, tenant)
		}
		s.Refreshed, s.HasToken = time.Unix(0, updated).UTC(), tok != ""
	}
	if err := toks.Err(); err != nil {
		return nil, fmt.Errorf("state: directory summaries: tokens: %w", err)
	}
	out := make([]DirectorySummary, 0, len(order))
	for _, t := range order {
		out = append(out, *byTenant[t])
	}
	slices.SortFunc(out, func(a, b DirectorySummary) int { return strings.Compare(a.TenantID, b.TenantID) })
	return out, nil
}

// LastFailedRuns returns, for each pair whose last finished run failed,
// that run, the latest first.
func (db *DB) LastFailedRuns(ctx context.Context) ([]Run, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT r.id, r.pair, r.started_at, r.finished_at, r.summary FROM runs r
JOIN (SELECT pair, MAX(started_at) AS last FROM runs WHERE finished_at IS NOT NULL GROUP BY pair) l ON l.pair = r.pair AND l.last = r.started_at
WHERE r.finished_at IS NOT NULL AND r.ok = FALSE ORDER BY r.finished_at DESC, r.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("state: last failed runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	seen := map[string]bool{}
	for rows.Next() {
		var r Run
		var started int64
		var finished sql.NullInt64
		var summary string
		if err := rows.Scan(&r.ID, &r.Pair, &started, &finished, &summary); err != nil {
			return nil, fmt.Errorf("state: last failed runs: %w", err)
		}
		if seen[r.Pair] { // two runs of a pair started in the same nanosecond
			continue
		}
		seen[r.Pair] = true
		r.Started, r.Finished = time.Unix(0, started).UTC(), fromNanos(finished)
		if summary != "" {
			r.Summary = []byte(summary)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: last failed runs: %w", err)
	}
	return out, nil
}

// FailedItemCounts counts the failed items of each pair that has any.
func (db *DB) FailedItemCounts(ctx context.Context) (map[string]int, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT pair, COUNT(*) FROM failed_items GROUP BY pair`)
	if err != nil {
		return nil, fmt.Errorf("state: failed item counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, fmt.Errorf("state: failed item counts: %w", err)
		}
		out[p] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: failed item counts: %w", err)
	}
	return out, nil
}
