package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The reads behind the read-only Directory address book: one tenant copy
// served to each of its users, listed in bounded batches and answered
// from the change log of migration 0016.

// directoryBatch is how many people one query of EachDirectoryUser reads.
const directoryBatch = 200

const directoryJoin = ` FROM directory_users u
LEFT JOIN directory_users m ON m.tenant_id = u.tenant_id AND m.object_id = u.manager_id AND u.manager_id <> ''`

// DirectorySeq returns tenant's last directory change number (0 before
// any change).
func (db *DB) DirectorySeq(ctx context.Context, tenant string) (int64, error) {
	var seq int64
	err := db.sql.QueryRowContext(ctx, `SELECT seq FROM directory_seqs WHERE tenant_id = ?`, strings.ToLower(tenant)).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("state: directory change number of tenant %s: %w", tenant, err)
	}
	return seq, nil
}

// EachDirectoryUser calls fn for each person of tenant's directory that
// opts lists, ordered by object id, in batches of a few hundred (with
// their photo when withPhoto); fn's error stops it and is returned.
func (db *DB) EachDirectoryUser(ctx context.Context, tenant string, opts DirectoryOptions, withPhoto bool, fn func(DirectoryUser) error) error {
	tenant = strings.ToLower(tenant)
	cols := `SELECT ` + directoryColumns + `, m.display_name`
	if withPhoto {
		cols += `, u.photo`
	}
	after := ""
	cond, args := opts.where()
	for {
		rows, err := db.sql.QueryContext(ctx, cols+directoryJoin+` WHERE u.tenant_id = ? AND u.object_id > ?`+cond+
			fmt.Sprintf(` ORDER BY u.object_id LIMIT %d`, directoryBatch), append([]any{tenant, after}, args...)...)
		if err != nil {
			return fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
		}
		var batch []DirectoryUser
		for rows.Next() {
			u, err := scanDirectoryUser(rows, tenant, true, withPhoto, false)
			if err != nil {
				rows.Close()
				return fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
			}
			u.InGroup = opts.Group != ""
			batch = append(batch, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
		}
		for _, u := range batch {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(batch) < directoryBatch {
			return nil
		}
		after = batch[len(batch)-1].ObjectID
	}
}

// DirectoryUsersByID reads the people of ids (object ids, any case) in
// tenant's directory, with their photos when withPhoto and, when group is
// set, whether each is its direct member (InGroup), whether or not a
// listing's options include them (see DirectoryOptions.Includes); ids it
// does not hold are missing from the map, which is keyed by lower-case
// object id.
func (db *DB) DirectoryUsersByID(ctx context.Context, tenant string, ids []string, withPhoto bool, group string) (map[string]DirectoryUser, error) {
	cols := `SELECT ` + directoryColumns + `, m.display_name`
	if withPhoto {
		cols += `, u.photo`
	}
	var pre []any
	if group != "" {
		cols += `, ` + inGroupSQL
		pre = append(pre, strings.ToLower(group))
	}
	tenant = strings.ToLower(tenant)
	out := make(map[string]DirectoryUser, len(ids))
	for start := 0; start < len(ids); start += directoryBatch {
		part := ids[start:min(len(ids), start+directoryBatch)]
		args := append(slices.Clone(pre), tenant)
		for _, id := range part {
			args = append(args, strings.ToLower(id))
		}
		rows, err := db.sql.QueryContext(ctx, cols+directoryJoin+
			` WHERE u.tenant_id = ? AND u.object_id IN `+inList(len(part)), args...)
		if err != nil {
			return nil, fmt.Errorf("state: directory people of tenant %s: %w", tenant, err)
		}
		for rows.Next() {
			u, err := scanDirectoryUser(rows, tenant, true, withPhoto, group != "")
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("state: directory people of tenant %s: %w", tenant, err)
			}
			out[u.ObjectID] = u
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("state: directory people of tenant %s: %w", tenant, err)
		}
	}
	return out, nil
}

// DirectoryChanges returns what changed in tenant's directory, as opts
// lists it, after change number since: the object ids of the people
// written since whom opts lists, of those removed or written since whom it
// does not (they left the listing, or were never in it), and the current
// change number. A since the log cannot answer (negative or from the
// future) gives ErrInvalidSyncToken (wrapped). Its cost grows with the
// changes, not with the directory.
func (db *DB) DirectoryChanges(ctx context.Context, tenant string, since int64, opts DirectoryOptions) (changed, deleted []string, seq int64, err error) {
	tenant = strings.ToLower(tenant)
	op := fmt.Sprintf("directory changes of tenant %s since %d", tenant, since)
	if seq, err = db.DirectorySeq(ctx, tenant); err != nil {
		return nil, nil, 0, err
	}
	if since < 0 || since > seq {
		return nil, nil, 0, fmt.Errorf("state: %s: the directory is at %d: %w", op, seq, ErrInvalidSyncToken)
	}
	// Rows written after seq was read belong to the next answer; bounding
	// by seq keeps this one a consistent cut.
	cols := `SELECT ` + directoryColumns
	var args []any
	if opts.Group != "" {
		cols += `, ` + inGroupSQL
		args = append(args, strings.ToLower(opts.Group))
	}
	rows, err := db.sql.QueryContext(ctx, cols+` FROM directory_users u WHERE u.tenant_id = ? AND u.seq > ? AND u.seq <= ? ORDER BY u.seq`,
		append(args, tenant, since, seq)...)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	for rows.Next() {
		u, err := scanDirectoryUser(rows, tenant, false, false, opts.Group != "")
		if err != nil {
			rows.Close()
			return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
		}
		if opts.Includes(u) {
			changed = append(changed, u.ObjectID)
		} else {
			deleted = append(deleted, u.ObjectID)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	rows, err = db.sql.QueryContext(ctx, `SELECT object_id FROM directory_removed WHERE tenant_id = ? AND seq > ? AND seq <= ? ORDER BY seq`, tenant, since, seq)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
		}
		deleted = append(deleted, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	return changed, deleted, seq, nil
}

// MicrosoftTenantsOf lists the tenant ids (lower case, sorted, each once)
// in which local user has a Microsoft identity.
func (db *DB) MicrosoftTenantsOf(ctx context.Context, user string) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT DISTINCT tenant_id FROM microsoft_identities WHERE user_name = ? ORDER BY tenant_id`, user)
	if err != nil {
		return nil, fmt.Errorf("state: microsoft tenants of user %s: %w", user, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("state: microsoft tenants of user %s: %w", user, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: microsoft tenants of user %s: %w", user, err)
	}
	return out, nil
}

// SetDirectoryGroupMembers stores ids (object ids, any case) as the direct
// members of group in tenant's copy, replacing the ones kept, in one
// transaction: each person who joined or left and is in the directory
// gets the tenant's next change number, so that a book limited to the
// group reports them added or deleted. joined and left count the ids
// added to and removed from the kept list.
func (db *DB) SetDirectoryGroupMembers(ctx context.Context, tenant, group string, ids []string) (joined, left int, err error) {
	tenant, group = strings.ToLower(tenant), strings.ToLower(group)
	op := fmt.Sprintf("members of group %s of tenant %s", group, tenant)
	if tenant == "" || group == "" {
		return 0, 0, fmt.Errorf("state: %s: tenant and group ids are required", op)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id != "" {
			want[strings.ToLower(id)] = true
		}
	}
	err = db.serverTx(ctx, op, func(tx *sqlTx) error {
		joined, left = 0, 0
		kept, err := directoryIDs(ctx, tx, `SELECT object_id FROM directory_group_members WHERE tenant_id = ? AND group_id = ? ORDER BY object_id`, tenant, group)
		if err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		have := make(map[string]bool, len(kept))
		var changed []string
		for _, id := range kept {
			have[id] = true
			if !want[id] {
				if _, err := tx.ExecContext(ctx, `DELETE FROM directory_group_members WHERE tenant_id = ? AND group_id = ? AND object_id = ?`, tenant, group, id); err != nil {
					return fmt.Errorf("state: %s: remove %s: %w", op, id, err)
				}
				left++
				changed = append(changed, id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(want)) {
			if have[id] {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO directory_group_members (tenant_id, group_id, object_id) VALUES (?, ?, ?)`, tenant, group, id); err != nil {
				return fmt.Errorf("state: %s: add %s: %w", op, id, err)
			}
			joined++
			changed = append(changed, id)
		}
		if len(changed) == 0 {
			return nil
		}
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT seq FROM directory_seqs WHERE tenant_id = ?`, tenant).Scan(&seq); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("state: %s: change number: %w", op, err)
		}
		bumped := false
		for _, id := range changed {
			res, err := tx.ExecContext(ctx, `UPDATE directory_users SET seq = ? WHERE tenant_id = ? AND object_id = ?`, seq+1, tenant, id)
			if err != nil {
				return fmt.Errorf("state: %s: change number of %s: %w", op, id, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("state: %s: change number of %s: %w", op, id, err)
			} else if n > 0 {
				seq++
				bumped = true
			}
		}
		if !bumped {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO directory_seqs (tenant_id, seq) VALUES (?, ?)
ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq`, tenant, seq); err != nil {
			return fmt.Errorf("state: %s: change number: %w", op, err)
		}
		return nil
	})
	return joined, left, err
}
