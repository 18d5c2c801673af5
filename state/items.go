package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Item is one linked contact of a pair: its id and version on each side, its
// UID and its base (the full merged vCard text last written to both sides).
type Item struct {
	ID       int64  // state's id; 0 for an item not stored yet
	Pair     string // the pair's configured name
	UID      string // the vCard UID
	AID      string // id on side A (href, Graph id, file name)
	AVersion string // version on side A (ETag, changeKey...)
	BID      string // id on side B
	BVersion string // version on side B
	BaseHash string // normalised hash of Base
	Base     []byte // nil when loaded by Items (bases are loaded lazily, see Bases)
	Updated  time.Time
}

// Items returns all items of a pair, ordered by id, without Base.
func (db *DB) Items(ctx context.Context, pair string) ([]Item, error) {
	n, err := db.CountItems(ctx, pair)
	if err != nil {
		return nil, err
	}
	rows, err := db.stmts.items.QueryContext(ctx, pair)
	if err != nil {
		return nil, fmt.Errorf("state: items of %s: %w", pair, err)
	}
	defer rows.Close()
	items := make([]Item, 0, n+n/16)
	// One string per row, whose substrings the Item's fields share: reading
	// each column through database/sql costs more than splitting.
	var packed string
	for rows.Next() {
		if err := rows.Scan(&packed); err != nil {
			return nil, fmt.Errorf("state: items of %s: %w", pair, err)
		}
		var f [8]string
		rest, ok := packed, true
		for i := range len(f) - 1 {
			if f[i], rest, ok = strings.Cut(rest, sep); !ok {
				break
			}
		}
		f[len(f)-1] = rest
		id, err1 := strconv.ParseInt(f[0], 10, 64)
		updated, err2 := strconv.ParseInt(f[1], 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("state: items of %s: malformed row %q", pair, packed)
		}
		it := Item{ID: id, Pair: pair, UID: f[2], AID: f[3], AVersion: f[4], BID: f[5], BVersion: f[6], BaseHash: f[7],
			Updated: time.Unix(0, updated).UTC()}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: items of %s: %w", pair, err)
	}
	return items, nil
}

// sep separates the text columns Items reads packed in one; PutItem refuses
// it inside them (no id, version, UID or hash holds a control character).
const sep = "\x1f"

// checkFields refuses an item whose text fields hold sep.
func checkFields(it *Item) error {
	for _, f := range [...]struct{ name, v string }{
		{"UID", it.UID}, {"AID", it.AID}, {"AVersion", it.AVersion},
		{"BID", it.BID}, {"BVersion", it.BVersion}, {"BaseHash", it.BaseHash},
	} {
		if strings.Contains(f.v, sep) {
			return fmt.Errorf("%s %q holds the control character U+001F", f.name, f.v)
		}
	}
	return nil
}

// basesChunk bounds the IN list of one Bases query.
const basesChunk = 500

// Bases returns the bases of the items ids, by id; an item without a base is
// absent from the map.
func (db *DB) Bases(ctx context.Context, ids []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), basesChunk)
		chunk := ids[:n]
		ids = ids[n:]
		args := appendArgs(make([]any, 0, len(chunk)), chunk)
		q := `SELECT item_id, card FROM bases WHERE item_id IN ` + inList(len(chunk))
		if err := db.queryBases(ctx, q, args, out); err != nil {
			return nil, fmt.Errorf("state: bases: %w", err)
		}
	}
	return out, nil
}

// queryBases runs one chunk of Bases.
func (db *DB) queryBases(ctx context.Context, q string, args []any, out map[int64][]byte) error {
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var card []byte
		if err := rows.Scan(&id, &card); err != nil {
			return err
		}
		if card == nil {
			card = []byte{}
		}
		out[id] = card
	}
	return rows.Err()
}

// PutItem stores it: an insert when it.ID == 0 (it.ID is set), else an update
// (ErrNotFound when the pair has no such item; an item never changes pair). It
// stores Base when it is non-nil and keeps the stored one when it is nil;
// BaseHash is written as given either way (see Tx.PutItem). it.Updated is set
// to the current time. Each call is its own small transaction, committed on
// return; it.ID is left as it was when it fails. Use Update to commit many
// writes at once.
func (db *DB) PutItem(ctx context.Context, it *Item) error {
	return db.update(ctx, "put item", func(tx *Tx) error { return tx.PutItem(it) }, asIs)
}

// DeleteItem forgets an item, its base and its conflicts. Deleting an item
// that does not exist is not an error.
func (db *DB) DeleteItem(ctx context.Context, id int64) error {
	return db.update(ctx, "delete item", func(tx *Tx) error { return tx.DeleteItem(id) }, asIs)
}

// CountItems is the number of items of a pair.
func (db *DB) CountItems(ctx context.Context, pair string) (int, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM items WHERE pair = ?`, pair).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: count items of %s: %w", pair, err)
	}
	return n, nil
}

// Token returns the sync token side ("a" or "b") of pair returned last; ""
// when there is none.
func (db *DB) Token(ctx context.Context, pair, side string) (string, error) {
	var tok string
	err := db.sql.QueryRowContext(ctx, `SELECT token FROM sync_tokens WHERE pair = ? AND side = ?`, pair, side).Scan(&tok)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state: token of %s/%s: %w", pair, side, err)
	}
	return tok, nil
}

// SetToken stores the sync token of side ("a" or "b") of pair; "" forgets it.
func (db *DB) SetToken(ctx context.Context, pair, side, token string) error {
	return db.update(ctx, "set token of "+pair, func(tx *Tx) error { return tx.SetToken(pair, side, token) }, asIs)
}
