package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	for {
		rows, err := db.sql.QueryContext(ctx, cols+directoryJoin+` WHERE u.tenant_id = ? AND u.object_id > ?`+opts.where()+
			fmt.Sprintf(` ORDER BY u.object_id LIMIT %d`, directoryBatch), tenant, after)
		if err != nil {
			return fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
		}
		var batch []DirectoryUser
		for rows.Next() {
			u, err := scanDirectoryUser(rows, tenant, true, withPhoto)
			if err != nil {
				rows.Close()
				return fmt.Errorf("state: directory of tenant %s: %w", tenant, err)
			}
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
// tenant's directory, with their photos when withPhoto, whether or not a listing's
// options include them (see DirectoryOptions.Includes); ids it does not
// hold are missing from the map, which is keyed by lower-case object id.
func (db *DB) DirectoryUsersByID(ctx context.Context, tenant string, ids []string, withPhoto bool) (map[string]DirectoryUser, error) {
	cols := `SELECT ` + directoryColumns + `, m.display_name`
	if withPhoto {
		cols += `, u.photo`
	}
	tenant = strings.ToLower(tenant)
	out := make(map[string]DirectoryUser, len(ids))
	for start := 0; start < len(ids); start += directoryBatch {
		part := ids[start:min(len(ids), start+directoryBatch)]
		args := []any{tenant}
		for _, id := range part {
			args = append(args, strings.ToLower(id))
		}
		rows, err := db.sql.QueryContext(ctx, cols+directoryJoin+
			` WHERE u.tenant_id = ? AND u.object_id IN `+inList(len(part)), args...)
		if err != nil {
			return nil, fmt.Errorf("state: directory people of tenant %s: %w", tenant, err)
		}
		for rows.Next() {
			u, err := scanDirectoryUser(rows, tenant, true, withPhoto)
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
	rows, err := db.sql.QueryContext(ctx, `SELECT `+directoryColumns+` FROM directory_users u WHERE u.tenant_id = ? AND u.seq > ? AND u.seq <= ? ORDER BY u.seq`,
		tenant, since, seq)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	for rows.Next() {
		u, err := scanDirectoryUser(rows, tenant, false, false)
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
