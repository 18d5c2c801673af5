package state

// The card index (migration 0010): a short row per card of the built-in
// server with what the web page lists (name, e-mail, phone, organisation,
// whether it has a photo) and a search text, written with the card.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/cardbridge/cardbridge/vcard"
)

// Bounds of SearchCards.
const (
	// MaxSearchLen is the longest query SearchCards reads; the rest is
	// ignored.
	MaxSearchLen = 200
	// MaxSearchTerms is how many words of a query SearchCards matches;
	// the rest are ignored.
	MaxSearchTerms = 8
	// MaxSearchPage is the most cards SearchCards returns at once.
	MaxSearchPage = 500
)

// CardSummary is what a list of contacts shows of a card.
type CardSummary struct {
	Href     string
	Name     string // FN, else the N components, else "" (the e-mail shows then)
	Email    string // the first (preferred) e-mail address
	Phone    string // the first (preferred) phone number, as written
	Org      string // the organisation's name
	HasPhoto bool   // the card holds a PHOTO inline (a URL does not count)
}

// cardIndex is a card's row of card_index.
type cardIndex struct {
	CardSummary
	sortKey, search string
}

// indexCard reads what card_index keeps of data; a card that does not
// parse gets an empty row (it is listed by href, and found by nothing).
func indexCard(href string, data []byte) cardIndex {
	ix := cardIndex{CardSummary: CardSummary{Href: href}}
	c, err := vcard.Parse(data)
	if err != nil {
		ix.sortKey = "\uffff" + strings.ToLower(href)
		return ix
	}
	var words, digits []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			words = append(words, strings.ToLower(s))
		}
	}
	ix.Name = strings.TrimSpace(c.FN())
	if n, ok := c.Get("N"); ok {
		var parts []string
		for _, f := range n.Fields() {
			add(f)
			if f = strings.TrimSpace(f); f != "" {
				parts = append(parts, f)
			}
		}
		if ix.Name == "" && len(parts) > 1 { // given before family
			parts[0], parts[1] = parts[1], parts[0]
		}
		if ix.Name == "" {
			ix.Name = strings.Join(parts, " ")
		}
	}
	add(ix.Name)
	for _, p := range c.All("NICKNAME") {
		for _, s := range p.List() {
			add(s)
		}
	}
	for _, p := range preferred(c.All("EMAIL")) {
		e := strings.TrimSpace(strings.TrimPrefix(p.Text(), "mailto:"))
		if ix.Email == "" {
			ix.Email = e
		}
		add(e)
	}
	for _, p := range preferred(c.All("TEL")) {
		t := strings.TrimSpace(strings.TrimPrefix(p.Text(), "tel:"))
		if ix.Phone == "" {
			ix.Phone = t
		}
		if d := PhoneDigits(t); d != "" {
			digits = append(digits, d)
		}
	}
	if o, ok := c.Get("ORG"); ok {
		fs := o.Fields()
		ix.Org = strings.TrimSpace(fs[0])
		for _, f := range fs {
			add(f)
		}
	}
	if p, ok := c.Get("PHOTO"); ok {
		ix.HasPhoto = len(p.Param("ENCODING")) > 0 || strings.HasPrefix(strings.ToLower(p.Value), "data:")
	}
	key := ix.Name
	if key == "" {
		key = ix.Email
	}
	ix.sortKey = strings.ToLower(key)
	if key == "" {
		ix.sortKey = "\uffff" + strings.ToLower(href)
	}
	ix.search = strings.Join(append(words, digits...), "\n")
	return ix
}

// preferred puts the properties with TYPE=pref or PREF=1 first, keeping
// the order otherwise.
func preferred(ps []vcard.Property) []vcard.Property {
	out := make([]vcard.Property, 0, len(ps))
	var rest []vcard.Property
	for _, p := range ps {
		if p.HasType("pref") || (len(p.Param("PREF")) > 0 && p.Param("PREF")[0] == "1") {
			out = append(out, p)
		} else {
			rest = append(rest, p)
		}
	}
	return append(out, rest...)
}

// PhoneDigits is the digits of a phone number, without spaces,
// punctuation or a "+".
func PhoneDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// searchTerms turns a query into the substrings a card's search text must
// all hold: a query of digits and phone punctuation only ("+49 (30)
// 1234-5") is one term, its digits without leading zeros; otherwise each word, lower-cased. At
// most MaxSearchLen bytes and MaxSearchTerms words are read.
func searchTerms(q string) []string {
	if len(q) > MaxSearchLen {
		q = q[:MaxSearchLen]
	}
	q = strings.ToValidUTF8(q, "")
	phone, hasDigit := true, false
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			hasDigit = true
		case unicode.IsSpace(r) || strings.ContainsRune("+-()./", r):
		default:
			phone = false
		}
	}
	if phone && hasDigit {
		// Leading zeros are a trunk ("030") or international ("0049")
		// prefix: "030 1234" finds "+49 30 1234" as well as "030 1234".
		d := PhoneDigits(q)
		if t := strings.TrimLeft(d, "0"); t != "" {
			d = t
		}
		return []string{d}
	}
	words := strings.Fields(strings.ToLower(q))
	if len(words) > MaxSearchTerms {
		words = words[:MaxSearchTerms]
	}
	return words
}

// qPutIndex writes a card's row of card_index (in PutCard's transaction).
const qPutIndex = `INSERT INTO card_index (book_id, href, sort_key, name, email, phone, org, has_photo, search)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (book_id, href) DO UPDATE SET sort_key = excluded.sort_key, name = excluded.name, email = excluded.email,
phone = excluded.phone, org = excluded.org, has_photo = excluded.has_photo, search = excluded.search`

// putIndex writes ix as the row of card href of book bookID.
func putIndex(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, bookID int64, ix cardIndex) error {
	_, err := tx.ExecContext(ctx, qPutIndex, bookID, ix.Href, ix.sortKey, ix.Name, ix.Email, ix.Phone, ix.Org, ix.HasPhoto, ix.search)
	return err
}

// indexMissingCards writes the card_index rows of the cards that have none
// (those stored before migration 0010), a batch per transaction, and
// returns how many it wrote.
func (db *DB) indexMissingCards(ctx context.Context) (int, error) {
	total := 0
	for {
		rows, err := db.sql.QueryContext(ctx, `SELECT c.book_id, c.href, c.data FROM cards c
LEFT JOIN card_index i ON i.book_id = c.book_id AND i.href = c.href WHERE i.href IS NULL LIMIT ?`, cardBatchRows)
		if err != nil {
			return total, fmt.Errorf("state: index the cards: %w", err)
		}
		type missing struct {
			book int64
			ix   cardIndex
		}
		var batch []missing
		for rows.Next() {
			var m missing
			var href string
			var data []byte
			if err := rows.Scan(&m.book, &href, &data); err != nil {
				rows.Close()
				return total, fmt.Errorf("state: index the cards: %w", err)
			}
			m.ix = indexCard(href, data)
			batch = append(batch, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("state: index the cards: %w", err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		err = db.serverTx(ctx, "index the cards", func(tx *sqlTx) error {
			for _, m := range batch {
				if err := putIndex(ctx, tx, m.book, m.ix); err != nil {
					return fmt.Errorf("state: index card %s of book %d: %w", m.ix.Href, m.book, err)
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(batch)
	}
}

// CountCards is the number of cards of book bookID (0 for no such book).
func (db *DB) CountCards(ctx context.Context, bookID int64) (int, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM cards WHERE book_id = ?`, bookID).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: count the cards of book %d: %w", bookID, err)
	}
	return n, nil
}

// SearchCards lists the cards of book bookID that match query (all of
// them for a blank one), by name, from offset, at most limit of them
// (1..MaxSearchPage), with the number that match. A card matches when each
// word of the query is part of its names, nicknames, e-mail addresses or
// organisation, case aside; a query of digits and phone punctuation
// matches the cards one of whose phone numbers holds those digits, spaces
// and punctuation aside (see searchTerms). Its cost is one pass over the
// book's short index rows.
func (db *DB) SearchCards(ctx context.Context, bookID int64, query string, offset, limit int) ([]CardSummary, int, error) {
	op := fmt.Sprintf("search the cards of book %d", bookID)
	if limit < 1 || limit > MaxSearchPage || offset < 0 {
		return nil, 0, fmt.Errorf("state: %s: offset %d, limit %d: want offset ≥ 0 and limit 1 to %d", op, offset, limit, MaxSearchPage)
	}
	where := `book_id = ?`
	args := []any{bookID}
	for _, t := range searchTerms(query) {
		where += ` AND instr(search, ?) > 0`
		args = append(args, t)
	}
	// Two statements, both cheap: the count reads the index rows only, and
	// the page walks card_index_sort and stops at limit matches (a window
	// count would sort every match first).
	var total int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM card_index WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	if total <= offset {
		return nil, total, nil
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT href, name, email, phone, org, has_photo
FROM card_index WHERE `+where+` ORDER BY sort_key, href LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	defer rows.Close()
	var out []CardSummary
	for rows.Next() {
		var s CardSummary
		if err := rows.Scan(&s.Href, &s.Name, &s.Email, &s.Phone, &s.Org, &s.HasPhoto); err != nil {
			return nil, 0, fmt.Errorf("state: %s: %w", op, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	return out, total, nil
}

// GetCard returns the card href of book bookID with its data. ErrNotFound
// (wrapped) when there is none.
func (db *DB) GetCard(ctx context.Context, bookID int64, href string) (Card, error) {
	cs, err := db.GetCards(ctx, bookID, []string{href})
	if err != nil {
		return Card{}, err
	}
	c, ok := cs[href]
	if !ok {
		return Card{}, fmt.Errorf("state: card %s of book %d: %w", href, bookID, ErrNotFound)
	}
	return c, nil
}

// ItemBySideID returns the item of pair whose id on side ("a" or "b") is
// id, and whether there is one: what a pair knows of a card it syncs.
func (db *DB) ItemBySideID(ctx context.Context, pair, side, id string) (Item, bool, error) {
	col := map[string]string{"a": "a_id", "b": "b_id"}[side]
	if col == "" {
		return Item{}, false, fmt.Errorf("state: item of %s by side %q: want a or b", pair, side)
	}
	it := Item{Pair: pair}
	var updated int64
	err := db.sql.QueryRowContext(ctx, `SELECT id, uid, a_id, a_version, b_id, b_version, base_hash, updated_at
FROM items WHERE pair = ? AND `+col+` = ? ORDER BY id LIMIT 1`, pair, id).Scan(
		&it.ID, &it.UID, &it.AID, &it.AVersion, &it.BID, &it.BVersion, &it.BaseHash, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, false, nil
	}
	if err != nil {
		return Item{}, false, fmt.Errorf("state: item of %s with %s id %s: %w", pair, side, id, err)
	}
	it.Updated = time.Unix(0, updated).UTC()
	return it, true, nil
}

// TrashOfUID lists the trash entries of pair whose card had UID uid,
// newest first (none for uid "").
func (db *DB) TrashOfUID(ctx context.Context, pair, uid string) ([]TrashEntry, error) {
	if uid == "" {
		return nil, nil
	}
	es, err := db.queryTrash(ctx, `SELECT `+trashColumns+` FROM trash WHERE pair = ? AND uid = ? ORDER BY created_at DESC, id DESC`, pair, uid)
	if err != nil {
		return nil, fmt.Errorf("state: trash of %s with UID %s: %w", pair, uid, err)
	}
	return es, nil
}
