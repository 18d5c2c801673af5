package state

// The built-in CardDAV server's store (migration 0003): users, their address
// books, the books' cards, and a per-book change log that gives each book its
// sync-token and getctag, so that a client (or a pair's server side) syncs at
// the cost of what changed, not of the book.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var (
	// ErrExists is wrapped by the errors of AddUser and CreateAddressBook
	// when the name is taken.
	ErrExists = errors.New("already exists")
	// ErrPreconditionFailed is wrapped by the errors of PutCard and
	// DeleteCard when the card's current state does not satisfy the
	// Precondition (HTTP 412).
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrUIDConflict is wrapped (through a *UIDConflictError) by the errors
	// of PutCard when another card of the book holds the UID.
	ErrUIDConflict = errors.New("UID already used by another card of the address book")
	// ErrInvalidSyncToken is wrapped by the errors of CardChanges (and
	// ParseSyncToken) for a token the book cannot answer: malformed, of
	// another book, from the future, or older than the change log keeps.
	ErrInvalidSyncToken = errors.New("invalid sync token")
	// ErrReadOnly is wrapped by the errors of PutCard and DeleteCard for a
	// card of a read-only book (AddressBook.ReadOnly) when the write is not
	// the system's (Precondition.System).
	ErrReadOnly = errors.New("the address book is read-only")
)

// UIDConflictError is the error of a PutCard whose UID another card of the
// book holds already, at Href. It wraps ErrUIDConflict; get it with
// errors.As(err, &e) where e is a *UIDConflictError.
type UIDConflictError struct {
	UID  string
	Href string // the card that holds the UID
}

func (e *UIDConflictError) Error() string {
	return fmt.Sprintf("UID %q is already used by %s", e.UID, e.Href)
}

// Unwrap returns ErrUIDConflict.
func (e *UIDConflictError) Unwrap() error { return ErrUIDConflict }

// ServerUser is a user of the built-in server (its password hash is read
// with UserPasswordHash only).
type ServerUser struct {
	Name    string
	Created time.Time
}

// AddressBook is an address book of a user of the built-in server.
type AddressBook struct {
	ID          int64
	User        string
	Name        string // the last segment of its URL
	DisplayName string
	Description string
	Created     time.Time
	// SyncSeq is the number of the book's last change (0 when none): its
	// sync-token (FormatSyncToken) and getctag.
	SyncSeq int64
	// ReadOnly marks a book the system keeps (the organisation directory):
	// clients read it but do not write it, and PutCard and DeleteCard
	// refuse its cards with ErrReadOnly unless the Precondition says the
	// write is the system's (see SetAddressBookReadOnly).
	ReadOnly bool
}

// Card is a stored vCard of an address book.
type Card struct {
	BookID   int64
	Href     string // the card's name in its book, e.g. "alice.vcf"
	UID      string // "" when the card has none
	ETag     string // strong, unquoted; changes on every write
	Data     []byte // as it was PUT; nil from CardRefs
	Modified time.Time
	Seq      int64 // the book's change number of the card's last write
}

// Precondition is the condition a card write needs (HTTP If-Match and
// If-None-Match: *). The zero value is unconditional.
type Precondition struct {
	// IfMatch, when not "", is the ETag the card must have; "*" asks only
	// that the card exists.
	IfMatch string
	// IfNoneMatch asks that the card does not exist.
	IfNoneMatch bool
	// System says the write is made by the system that owns a read-only
	// book (the organisation directory's sync), the only writer such a book
	// has; without it a write to a read-only book fails with ErrReadOnly.
	// Nothing a client or a pair sends sets it.
	System bool
}

// DefaultAddressBook is the name of the address book every new user gets.
const DefaultAddressBook = "contacts"

// checkName refuses a user or address book name that cannot be a path
// segment of the server's URLs (or, for a user, a basic-auth user name).
func checkName(kind, name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%s name %q is not allowed", kind, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == ':' {
			return fmt.Errorf("%s name %q holds %q, which is not allowed", kind, name, r)
		}
	}
	return nil
}

// serverTx runs fn in one IMMEDIATE transaction, passing fn's errors through
// as they are (they name their operation).
func (db *DB) serverTx(ctx context.Context, op string, fn func(tx *sqlTx) error) error {
	return db.update(ctx, op, func(tx *Tx) error { return fn(tx.sql) }, asIs)
}

// AddUser adds a user of the built-in server with its password hash
// (bcrypt, argon2...: state stores it as it is) and its first address book,
// DefaultAddressBook. ErrExists (wrapped) when the name is taken.
func (db *DB) AddUser(ctx context.Context, name, passwordHash string) error {
	if err := checkName("user", name); err != nil {
		return fmt.Errorf("state: add user: %w", err)
	}
	if passwordHash == "" {
		return fmt.Errorf("state: add user %s: empty password hash", name)
	}
	return db.serverTx(ctx, "add user "+name, func(tx *sqlTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM server_users WHERE name = ?`, name).Scan(&n); err != nil {
			return fmt.Errorf("state: add user %s: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("state: add user %s: %w", name, ErrExists)
		}
		t := now().UnixNano()
		if _, err := tx.ExecContext(ctx, `INSERT INTO server_users (name, password_hash, created_at) VALUES (?, ?, ?)`,
			name, passwordHash, t); err != nil {
			return fmt.Errorf("state: add user %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO addressbooks (user_name, name, displayname, created_at) VALUES (?, ?, ?, ?)`,
			name, DefaultAddressBook, "Contacts", t); err != nil {
			return fmt.Errorf("state: add user %s: address book: %w", name, err)
		}
		return nil
	})
}

// SetUserPassword replaces the password hash of user name and ends the
// user's web sessions (with their pending authorizations), in one
// transaction: whoever signed in with the old password is signed out.
// ErrNotFound (wrapped) when there is no such user.
func (db *DB) SetUserPassword(ctx context.Context, name, passwordHash string) error {
	if passwordHash == "" {
		return fmt.Errorf("state: set password of %s: empty password hash", name)
	}
	op := "set password of user " + name
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE server_users SET password_hash = ? WHERE name = ?`, passwordHash, name)
		if err := oneRow(res, err, op); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE user_name = ?`, name); err != nil {
			return fmt.Errorf("state: %s: end the web sessions: %w", op, err)
		}
		return nil
	})
}

// RemoveUser removes user name and everything of theirs, in one
// transaction: their address books with the cards and change logs, their
// web sessions and pending authorizations, the Office 365 accounts they
// connected on the web page (tokens and last sync), their app passwords and
// Microsoft identities,
// and the pairs they made there with all those pairs' state (items, bases,
// sync tokens, locks, trash, conflicts, runs). Nothing a namesake created later could inherit
// is left. ErrNotFound (wrapped) when there is no such user; ErrLocked
// (wrapped) when one of their pairs is being synced (nothing is removed).
func (db *DB) RemoveUser(ctx context.Context, name string) error {
	op := "remove user " + name
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		pairs, err := queryStrings(ctx, tx, `SELECT name FROM web_pairs WHERE user_name = ?
UNION SELECT pair FROM tenant_mailboxes WHERE user_name = ? ORDER BY 1`, name, name)
		if err != nil {
			return fmt.Errorf("state: %s: pairs: %w", op, err)
		}
		// A mailbox pair's account (for its last sync and refused fields)
		// is named after the pair.
		accounts, err := queryStrings(ctx, tx, `SELECT account FROM web_accounts WHERE user_name = ?
UNION SELECT account FROM web_pairs WHERE user_name = ?
UNION SELECT pair FROM tenant_mailboxes WHERE user_name = ? ORDER BY 1`, name, name, name)
		if err != nil {
			return fmt.Errorf("state: %s: accounts: %w", op, err)
		}
		if err := db.deletePairState(ctx, tx, pairs); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		for _, a := range accounts {
			for _, q := range []string{`DELETE FROM accounts WHERE name = ?`, `DELETE FROM account_refused_fields WHERE account = ?`} {
				if _, err := tx.ExecContext(ctx, q, a); err != nil {
					return fmt.Errorf("state: %s: account %s: %w", op, a, err)
				}
			}
		}
		// The rest hangs off the user (ON DELETE CASCADE), deleted
		// explicitly all the same so that it does not depend on foreign_keys.
		for _, q := range []string{
			`DELETE FROM web_accounts WHERE user_name = ?`,
			`DELETE FROM web_pairs WHERE user_name = ?`,
			`DELETE FROM web_oauth_states WHERE session_hash IN (SELECT id_hash FROM web_sessions WHERE user_name = ?)`,
			`DELETE FROM web_sessions WHERE user_name = ?`,
			`DELETE FROM app_passwords WHERE user_name = ?`,
			`DELETE FROM microsoft_identities WHERE user_name = ?`,
			`DELETE FROM tenant_mailboxes WHERE user_name = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM server_users WHERE name = ?`, name)
		return oneRow(res, err, op)
	})
}

// oneRow turns the result of a statement that should touch one row into an
// error: ErrNotFound (wrapped) when it touched none.
func oneRow(res sql.Result, err error, op string) error {
	if err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("state: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("state: %s: %w", op, ErrNotFound)
	}
	return nil
}

// UserPasswordHash returns the password hash of user name. ErrNotFound
// (wrapped) when there is no such user, as for a name no backend holds
// (not UTF-8, or with NUL: PostgreSQL would fail the query, and a client
// sends any bytes as its user name).
func (db *DB) UserPasswordHash(ctx context.Context, name string) (string, error) {
	if !utf8.ValidString(name) || strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("state: user %q: %w", name, ErrNotFound)
	}
	var h string
	err := db.queryRow(ctx, qPasswordHash, name).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("state: user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("state: user %s: %w", name, err)
	}
	return h, nil
}

// Users lists the users of the built-in server by name.
func (db *DB) Users(ctx context.Context) ([]ServerUser, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT name, created_at FROM server_users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("state: users: %w", err)
	}
	defer rows.Close()
	var out []ServerUser
	for rows.Next() {
		var u ServerUser
		var created int64
		if err := rows.Scan(&u.Name, &created); err != nil {
			return nil, fmt.Errorf("state: users: %w", err)
		}
		u.Created = time.Unix(0, created).UTC()
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: users: %w", err)
	}
	return out, nil
}

const bookColumns = `id, user_name, name, displayname, description, created_at, sync_seq, read_only`

func scanBook(s interface{ Scan(...any) error }) (AddressBook, error) {
	var b AddressBook
	var created int64
	err := s.Scan(&b.ID, &b.User, &b.Name, &b.DisplayName, &b.Description, &created, &b.SyncSeq, &b.ReadOnly)
	b.Created = time.Unix(0, created).UTC()
	return b, err
}

// AddressBooks lists the address books of user by name (none for an
// unknown user).
func (db *DB) AddressBooks(ctx context.Context, user string) ([]AddressBook, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+bookColumns+` FROM addressbooks WHERE user_name = ? ORDER BY name`, user)
	if err != nil {
		return nil, fmt.Errorf("state: address books of %s: %w", user, err)
	}
	defer rows.Close()
	var out []AddressBook
	for rows.Next() {
		b, err := scanBook(rows)
		if err != nil {
			return nil, fmt.Errorf("state: address books of %s: %w", user, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: address books of %s: %w", user, err)
	}
	return out, nil
}

// AddressBook returns the address book name of user. ErrNotFound (wrapped)
// when there is none.
func (db *DB) AddressBook(ctx context.Context, user, name string) (AddressBook, error) {
	b, err := scanBook(db.queryRow(ctx, qAddressBook, user, name))
	if errors.Is(err, sql.ErrNoRows) {
		return AddressBook{}, fmt.Errorf("state: address book %s/%s: %w", user, name, ErrNotFound)
	}
	if err != nil {
		return AddressBook{}, fmt.Errorf("state: address book %s/%s: %w", user, name, err)
	}
	return b, nil
}

// CreateAddressBook creates the address book name of user and returns it.
// ErrExists (wrapped) when the user has a book of that name; ErrNotFound
// (wrapped) when there is no such user.
func (db *DB) CreateAddressBook(ctx context.Context, user, name, displayName, description string) (AddressBook, error) {
	op := "create address book " + user + "/" + name
	if err := checkName("address book", name); err != nil {
		return AddressBook{}, fmt.Errorf("state: %s: %w", op, err)
	}
	var b AddressBook
	err := db.serverTx(ctx, op, func(tx *sqlTx) error {
		var users, books int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM server_users WHERE name = ?),
(SELECT COUNT(*) FROM addressbooks WHERE user_name = ? AND name = ?)`, user, user, name).Scan(&users, &books); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		switch {
		case users == 0:
			return fmt.Errorf("state: %s: user %s: %w", op, user, ErrNotFound)
		case books > 0:
			return fmt.Errorf("state: %s: %w", op, ErrExists)
		}
		var err error
		b, err = scanBook(tx.QueryRowContext(ctx, `INSERT INTO addressbooks (user_name, name, displayname, description, created_at)
VALUES (?, ?, ?, ?, ?) RETURNING `+bookColumns, user, name, displayName, description, now().UnixNano()))
		if err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if err := db.notifyBook(ctx, tx, b.ID); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
	return b, err
}

// UpdateAddressBook sets the display name and description of book id.
// ErrNotFound (wrapped) when there is no such book.
func (db *DB) UpdateAddressBook(ctx context.Context, id int64, displayName, description string) error {
	op := fmt.Sprintf("update address book %d", id)
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE addressbooks SET displayname = ?, description = ? WHERE id = ?`,
			displayName, description, id)
		if err := oneRow(res, err, op); err != nil {
			return err
		}
		return db.notifyBook(ctx, tx, id)
	})
}

// SetAddressBookReadOnly marks book id read-only (or writable again): what
// the system that makes a book for its users to read, such as the
// organisation directory, calls once it created it. Clients of the built-in
// server then get 403 for their writes, and PutCard and DeleteCard refuse
// writes that are not the system's (Precondition.System). ErrNotFound
// (wrapped) when there is no such book.
func (db *DB) SetAddressBookReadOnly(ctx context.Context, id int64, readOnly bool) error {
	op := fmt.Sprintf("set address book %d read-only to %t", id, readOnly)
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE addressbooks SET read_only = ? WHERE id = ?`, readOnly, id)
		if err := oneRow(res, err, op); err != nil {
			return err
		}
		return db.notifyBook(ctx, tx, id)
	})
}

// DeleteAddressBook deletes book id with its cards and change log.
// ErrNotFound (wrapped) when there is no such book.
func (db *DB) DeleteAddressBook(ctx context.Context, id int64) error {
	op := fmt.Sprintf("delete address book %d", id)
	return db.serverTx(ctx, op, func(tx *sqlTx) error {
		if err := db.notifyBook(ctx, tx, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM addressbooks WHERE id = ?`, id)
		return oneRow(res, err, op)
	})
}

// Cards returns every card of book bookID, with its data, by href.
func (db *DB) Cards(ctx context.Context, bookID int64) ([]Card, error) {
	return db.queryCards(ctx, fmt.Sprintf("cards of book %d", bookID), true,
		`SELECT href, uid, etag, modified_at, version_seq, data FROM cards WHERE book_id = ? ORDER BY href`, bookID)
}

// CardRefs returns every card of book bookID without its data, by href.
func (db *DB) CardRefs(ctx context.Context, bookID int64) ([]Card, error) {
	return db.queryCards(ctx, fmt.Sprintf("card refs of book %d", bookID), false,
		`SELECT href, uid, etag, modified_at, version_seq FROM cards WHERE book_id = ? ORDER BY href`, bookID)
}

// GetCards returns the cards of book bookID named by hrefs, with their
// data, by href; hrefs the book does not hold are absent from the map.
func (db *DB) GetCards(ctx context.Context, bookID int64, hrefs []string) (map[string]Card, error) {
	out := make(map[string]Card, len(hrefs))
	const chunk = 500
	for len(hrefs) > 0 {
		part := hrefs[:min(chunk, len(hrefs))]
		hrefs = hrefs[len(part):]
		args := appendArgs([]any{bookID}, part)
		q := `SELECT href, uid, etag, modified_at, version_seq, data FROM cards WHERE book_id = ? AND href IN ` + inList(len(part))
		cards, err := db.queryCards(ctx, fmt.Sprintf("get cards of book %d", bookID), true, q, args...)
		if err != nil {
			return nil, err
		}
		for _, c := range cards {
			out[c.Href] = c
		}
	}
	return out, nil
}

// The batches of EachCard and EachCardOf: at most cardBatchRows cards are
// looked up per query, and the data of at most about cardBatchBytes of
// cards (one card when it alone is larger) is held at once.
const (
	cardBatchRows  = 256
	cardBatchBytes = 4 << 20
)

// EachCard calls fn for every card of book bookID in href order, without
// holding the book in memory: the cards are read in batches (see
// cardBatchRows, cardBatchBytes), each by its own short query, so a slow
// fn holds no transaction open and other requests reach the database
// between batches. The walk is therefore no snapshot: a card written
// meanwhile is seen in its old or its new state, one deleted meanwhile
// may be left out. Without withData, Data is nil. An error of fn ends the
// walk and is returned as it is; so is the context's error when ctx ends.
func (db *DB) EachCard(ctx context.Context, bookID int64, withData bool, fn func(Card) error) error {
	op := fmt.Sprintf("cards of book %d", bookID)
	after := ""
	for {
		page, err := db.cardSizes(ctx, op, bookID,
			`SELECT href, uid, etag, modified_at, version_seq, length(data) FROM cards WHERE book_id = ? AND href > ? ORDER BY href LIMIT ?`,
			bookID, after, cardBatchRows)
		if err != nil {
			return err
		}
		hrefs := make([]string, len(page))
		for i, c := range page {
			hrefs[i] = c.Href
		}
		err = db.emitCards(ctx, bookID, hrefs, page, withData, func(_ string, c Card, found bool) error {
			if !found { // deleted between the queries
				return nil
			}
			return fn(c)
		})
		if err != nil || len(page) < cardBatchRows {
			return err
		}
		after = hrefs[len(hrefs)-1]
	}
}

// EachCardOf calls fn for each of hrefs in their order (duplicates
// included) with the card of book bookID of that href and true, or a zero
// Card and false when the book holds none, reading the cards in batches
// as EachCard does. Without withData, Data is nil. An error of fn ends the
// walk and is returned as it is; so is the context's error when ctx ends.
func (db *DB) EachCardOf(ctx context.Context, bookID int64, hrefs []string, withData bool, fn func(href string, c Card, found bool) error) error {
	op := fmt.Sprintf("get cards of book %d", bookID)
	for len(hrefs) > 0 {
		part := hrefs[:min(cardBatchRows, len(hrefs))]
		hrefs = hrefs[len(part):]
		args := appendArgs([]any{bookID}, part)
		refs, err := db.cardSizes(ctx, op, bookID, `SELECT href, uid, etag, modified_at, version_seq, length(data) FROM cards WHERE book_id = ? AND href IN `+inList(len(part)),
			args...)
		if err != nil {
			return err
		}
		if err := db.emitCards(ctx, bookID, part, refs, withData, fn); err != nil {
			return err
		}
	}
	return nil
}

// sizedCard is a card without its data and the length of the data.
type sizedCard struct {
	Card
	size int64
}

// cardSizes runs q, a query of the columns href, uid, etag, modified_at,
// version_seq and length(data) of cards of book bookID.
func (db *DB) cardSizes(ctx context.Context, op string, bookID int64, q string, args ...any) ([]sizedCard, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	defer rows.Close()
	var out []sizedCard
	for rows.Next() {
		c := sizedCard{Card: Card{BookID: bookID}}
		var modified int64
		var size sql.NullInt64
		if err := rows.Scan(&c.Href, &c.UID, &c.ETag, &modified, &c.Seq, &size); err != nil {
			return nil, fmt.Errorf("state: %s: %w", op, err)
		}
		c.Modified = time.Unix(0, modified).UTC()
		c.size = size.Int64
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	return out, nil
}

// emitCards calls fn for each of hrefs in order with its card among refs;
// with withData, the data of the found cards is read in groups of about
// cardBatchBytes just before their turn (each card as the data query found
// it, which may be newer than refs, or gone).
func (db *DB) emitCards(ctx context.Context, bookID int64, hrefs []string, refs []sizedCard, withData bool, fn func(href string, c Card, found bool) error) error {
	byHref := make(map[string]*sizedCard, len(refs))
	for i := range refs {
		byHref[refs[i].Href] = &refs[i]
	}
	start := 0 // the first of hrefs not passed to fn
	var group []string
	var groupBytes int64
	emit := func(end int) error {
		var data map[string]Card
		if withData && len(group) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			var err error
			if data, err = db.GetCards(ctx, bookID, group); err != nil {
				return err
			}
		}
		for _, h := range hrefs[start:end] {
			var c Card
			r, found := byHref[h]
			if found {
				c = r.Card
			}
			if found && withData {
				c, found = data[h]
			}
			if err := fn(h, c, found); err != nil {
				return err
			}
		}
		start, group, groupBytes = end, group[:0], 0
		return nil
	}
	for i, h := range hrefs {
		r, found := byHref[h]
		if !found || !withData {
			continue
		}
		if len(group) > 0 && groupBytes+r.size > cardBatchBytes {
			if err := emit(i); err != nil {
				return err
			}
		}
		group = append(group, h)
		groupBytes += r.size
	}
	return emit(len(hrefs))
}

func (db *DB) queryCards(ctx context.Context, op string, withData bool, q string, args ...any) ([]Card, error) {
	bookID := args[0].(int64)
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	defer rows.Close()
	var out []Card
	for rows.Next() {
		c := Card{BookID: bookID}
		var modified int64
		dest := []any{&c.Href, &c.UID, &c.ETag, &modified, &c.Seq}
		if withData {
			dest = append(dest, &c.Data)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("state: %s: %w", op, err)
		}
		if withData && c.Data == nil {
			c.Data = []byte{}
		}
		c.Modified = time.Unix(0, modified).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state: %s: %w", op, err)
	}
	return out, nil
}

// cardState reads the sequence of book bookID (ErrNotFound when there is no
// such book) and the etag of its card href ("" when absent), for a write
// under pre: ErrReadOnly when the book is read-only and pre is not the
// system's.
func cardState(ctx context.Context, tx cachedTx, bookID int64, href, op string, pre Precondition) (seq int64, etag string, exists bool, err error) {
	var et sql.NullString
	var readOnly bool
	err = tx.QueryRowContext(ctx, qCardState, href, bookID).Scan(&seq, &et, &readOnly)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, fmt.Errorf("state: %s: book %d: %w", op, bookID, ErrNotFound)
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("state: %s: %w", op, err)
	}
	if readOnly && !pre.System {
		return 0, "", false, fmt.Errorf("state: %s: book %d: %w", op, bookID, ErrReadOnly)
	}
	return seq, et.String, et.Valid, nil
}

// checkPre checks pre against the card's current state.
func checkPre(pre Precondition, etag string, exists bool, op string) error {
	switch {
	case pre.IfNoneMatch && exists:
		return fmt.Errorf("state: %s: the card exists: %w", op, ErrPreconditionFailed)
	case pre.IfMatch != "" && !exists:
		return fmt.Errorf("state: %s: the card does not exist: %w: %w", op, ErrPreconditionFailed, ErrNotFound)
	case pre.IfMatch != "" && pre.IfMatch != "*" && pre.IfMatch != etag:
		return fmt.Errorf("state: %s: etag is %s, expected %s: %w", op, etag, pre.IfMatch, ErrPreconditionFailed)
	}
	return nil
}

// nextSeq takes the next number of the book's sequence and logs the change
// of href under it.
func nextSeq(ctx context.Context, tx cachedTx, bookID, seq int64, href string, deleted bool) error {
	if _, err := tx.ExecContext(ctx, qBumpSeq, seq, bookID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, qLogChange, bookID, seq, href, deleted)
	return err
}

// The statements of the card write path, prepared once at Open.
const (
	qCardState = `SELECT b.sync_seq, c.etag, b.read_only FROM addressbooks b
LEFT JOIN cards c ON c.book_id = b.id AND c.href = ? WHERE b.id = ?`
	qBumpSeq   = `UPDATE addressbooks SET sync_seq = ? WHERE id = ?`
	qLogChange = `INSERT INTO card_changes (book_id, seq, href, deleted) VALUES (?, ?, ?, ?)
ON CONFLICT (book_id, href) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted`
	qUIDHolder = `SELECT href FROM cards WHERE book_id = ? AND uid = ? AND uid <> ''`
	qPutCard   = `INSERT INTO cards (book_id, href, uid, etag, data, version_seq, modified_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (book_id, href) DO UPDATE SET uid = excluded.uid, etag = excluded.etag, data = excluded.data,
version_seq = excluded.version_seq, modified_at = excluded.modified_at`
)

// The queries of every authenticated request: the user's password hash
// and the address book the path names.
const (
	qPasswordHash = `SELECT password_hash FROM server_users WHERE name = ?`
	qAddressBook  = `SELECT ` + bookColumns + ` FROM addressbooks WHERE user_name = ? AND name = ?`
)

// serverHotQueries are the statements Open prepares for cachedTx and
// queryRow.
var serverHotQueries = []string{qCardState, qBumpSeq, qLogChange, qUIDHolder, qPutCard, qPutIndex, qPasswordHash, qAddressBook}

// makeETag is a strong etag for data written as change seq of a book.
func makeETag(data []byte, seq int64) string {
	h := sha256.New()
	h.Write(data)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// PutCard stores data as the card href of book bookID with the given UID
// ("" for none), if pre holds, and returns its new etag and whether the card
// is new. The etag changes on every write, even of the same data. It fails
// with ErrNotFound (wrapped) when there is no such book,
// ErrPreconditionFailed (wrapped; with ErrNotFound too when an IfMatch card
// is gone) when pre does not hold, and a *UIDConflictError (wrapping
// ErrUIDConflict) when another card of the book holds uid, and ErrReadOnly
// (wrapped) when the book is read-only and pre is not System. The card's row of
// the web page's index (card_index: name, e-mail, phone, organisation,
// search text; see SearchCards) is written in the same transaction. Its
// cost does not grow with the book.
func (db *DB) PutCard(ctx context.Context, bookID int64, href, uid string, data []byte, pre Precondition) (etag string, created bool, err error) {
	op := fmt.Sprintf("put card %s of book %d", href, bookID)
	if href == "" {
		return "", false, fmt.Errorf("state: %s: empty href", op)
	}
	if data == nil {
		data = []byte{}
	}
	ix := indexCard(href, data) // parsed outside the transaction
	err = db.serverTx(ctx, op, func(sqlTx *sqlTx) error {
		var err error
		if etag, created, err = db.putCardTx(ctx, sqlTx, bookID, href, uid, data, ix, pre, op); err != nil {
			return err
		}
		if err := db.notifyBook(ctx, sqlTx, bookID); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	return etag, created, nil
}

// putCardTx is PutCard's work inside the transaction sqlTx: the checks of
// pre and of the UID (which write nothing and fail with ErrNotFound,
// ErrPreconditionFailed, ErrReadOnly or ErrUIDConflict, wrapped), then the
// card, its change and its index row. The caller announces the change
// (notifyBook).
func (db *DB) putCardTx(ctx context.Context, sqlTx *sqlTx, bookID int64, href, uid string, data []byte, ix cardIndex, pre Precondition, op string) (etag string, created bool, err error) {
	tx := cachedTx{db, sqlTx}
	seq, cur, exists, err := cardState(ctx, tx, bookID, href, op, pre)
	if err != nil {
		return "", false, err
	}
	if err := checkPre(pre, cur, exists, op); err != nil {
		return "", false, err
	}
	if uid != "" {
		var other string
		err := tx.QueryRowContext(ctx, qUIDHolder, bookID, uid).Scan(&other)
		switch {
		case err == nil && other != href:
			return "", false, fmt.Errorf("state: %s: %w", op, &UIDConflictError{UID: uid, Href: other})
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return "", false, fmt.Errorf("state: %s: %w", op, err)
		}
	}
	seq++
	etag = makeETag(data, seq)
	if err := nextSeq(ctx, tx, bookID, seq, href, false); err != nil {
		return "", false, fmt.Errorf("state: %s: %w", op, err)
	}
	if _, err := tx.ExecContext(ctx, qPutCard,
		bookID, href, uid, etag, data, seq, now().UnixNano()); err != nil {
		return "", false, fmt.Errorf("state: %s: %w", op, err)
	}
	if err := putIndex(ctx, tx, bookID, ix); err != nil {
		return "", false, fmt.Errorf("state: %s: index: %w", op, err)
	}
	return etag, !exists, nil
}

// DeleteCard deletes the card href of book bookID if pre holds (IfNoneMatch
// never does). It fails with ErrNotFound (wrapped) when there is no such
// card (or book), ErrPreconditionFailed (wrapped) when pre does not hold,
// and ErrReadOnly (wrapped) when the book is read-only and pre is not
// System.
func (db *DB) DeleteCard(ctx context.Context, bookID int64, href string, pre Precondition) error {
	op := fmt.Sprintf("delete card %s of book %d", href, bookID)
	return db.serverTx(ctx, op, func(sqlTx *sqlTx) error {
		tx := cachedTx{db, sqlTx}
		seq, cur, exists, err := cardState(ctx, tx, bookID, href, op, pre)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("state: %s: %w", op, ErrNotFound)
		}
		if err := checkPre(pre, cur, exists, op); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM card_index WHERE book_id = ? AND href = ?`, bookID, href); err != nil {
			return fmt.Errorf("state: %s: index: %w", op, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cards WHERE book_id = ? AND href = ?`, bookID, href); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if err := nextSeq(ctx, tx, bookID, seq+1, href, true); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if err := db.notifyBook(ctx, sqlTx, bookID); err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		if db.dueForCompaction(bookID) {
			if _, err := compactChanges(ctx, sqlTx, bookID); err != nil {
				return fmt.Errorf("state: %s: %w", op, err)
			}
		}
		return nil
	})
}

// The change log's clean-up. card_changes holds one row per href: a live
// card's row is needed (it answers "what changed since"), but the row of a
// deleted card — a tombstone — is only needed by clients whose token is
// older than the deletion. Tombstones are kept up to
// max(MinTombstones, the book's live cards); beyond that the oldest are
// dropped down to half of that limit and min_seq rises to the newest
// dropped change, so a client with an older token gets 403 valid-sync-token
// and lists the book again (RFC 6578 §3.2), and a pair's server side does a
// full round reconciled against its state. The log thus stays within about
// twice the book's size whatever the churn. The check runs in the delete's
// transaction of every compactEvery-th deletion of the book made through a
// handle, so its cost is spread thin.
const (
	// MinTombstones is the number of deletion records a book keeps at least.
	MinTombstones = 1000
	compactEvery  = 64
)

// CompactCardChanges drops the oldest deletion records of book bookID when
// it keeps more than max(MinTombstones, live cards) of them (see above) and
// returns how many it dropped. DeleteCard calls it on its own every so
// often; it is exported for maintenance and tests.
func (db *DB) CompactCardChanges(ctx context.Context, bookID int64) (dropped int, err error) {
	op := fmt.Sprintf("compact the change log of book %d", bookID)
	err = db.serverTx(ctx, op, func(tx *sqlTx) error {
		n, err := compactChanges(ctx, tx, bookID)
		dropped = n
		if err != nil {
			return fmt.Errorf("state: %s: %w", op, err)
		}
		return nil
	})
	return dropped, err
}

// dueForCompaction counts a deletion in book bookID and reports whether
// it is the one that should check the log.
func (db *DB) dueForCompaction(bookID int64) bool {
	db.deletesMu.Lock()
	defer db.deletesMu.Unlock()
	if db.deletes == nil {
		db.deletes = map[int64]int{}
	}
	db.deletes[bookID]++
	if db.deletes[bookID] < compactEvery {
		return false
	}
	delete(db.deletes, bookID)
	return true
}

// compactChanges is CompactCardChanges inside tx.
func compactChanges(ctx context.Context, tx *sqlTx, bookID int64) (int, error) {
	var tombs, live int64
	if err := tx.QueryRowContext(ctx, `SELECT
(SELECT COUNT(*) FROM card_changes WHERE book_id = ? AND deleted),
(SELECT COUNT(*) FROM cards WHERE book_id = ?)`, bookID, bookID).Scan(&tombs, &live); err != nil {
		return 0, err
	}
	limit := max(int64(MinTombstones), live)
	if tombs <= limit {
		return 0, nil
	}
	drop := tombs - limit/2
	var cut int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM card_changes WHERE book_id = ? AND deleted
ORDER BY seq LIMIT 1 OFFSET ?`, bookID, drop-1).Scan(&cut); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM card_changes WHERE book_id = ? AND deleted AND seq <= ?`, bookID, cut)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE addressbooks SET min_seq = ? WHERE id = ? AND min_seq < ?`, cut, bookID, cut); err != nil {
		return 0, err
	}
	return int(n), nil
}

// CardChanges returns what changed in book bookID since its change number
// sinceSeq (0: since the book was created): the hrefs of the cards that
// exist now and were written since, those deleted since (each href once, in
// its last state), and the book's current change number. A sinceSeq the book
// cannot answer (negative, from the future, older than the log keeps) gives
// ErrInvalidSyncToken (wrapped); a missing book ErrNotFound (wrapped). Its
// cost grows with the changes, not with the book.
func (db *DB) CardChanges(ctx context.Context, bookID int64, sinceSeq int64) (changed []string, deleted []string, newSeq int64, err error) {
	op := fmt.Sprintf("changes of book %d since %d", bookID, sinceSeq)
	// One statement: one consistent snapshot of the book and its log.
	rows, err := db.sql.QueryContext(ctx, `SELECT b.sync_seq, b.min_seq, c.href, c.deleted FROM addressbooks b
LEFT JOIN card_changes c ON c.book_id = b.id AND c.seq > ? WHERE b.id = ? ORDER BY c.seq`, sinceSeq, bookID)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var minSeq int64
		var href sql.NullString
		var del sql.NullBool
		if err := rows.Scan(&newSeq, &minSeq, &href, &del); err != nil {
			return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
		}
		if !found {
			found = true
			if sinceSeq < 0 || sinceSeq > newSeq || sinceSeq < minSeq {
				return nil, nil, 0, fmt.Errorf("state: %s: the book is at %d: %w", op, newSeq, ErrInvalidSyncToken)
			}
		}
		if !href.Valid {
			continue
		}
		if del.Bool {
			deleted = append(deleted, href.String)
		} else {
			changed = append(changed, href.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, err)
	}
	if !found {
		return nil, nil, 0, fmt.Errorf("state: %s: %w", op, ErrNotFound)
	}
	return changed, deleted, newSeq, nil
}

const syncTokenPrefix = "cb-sync-"

// FormatSyncToken is the sync token of change seq of book bookID:
// "cb-sync-<bookID>-<seq>".
func FormatSyncToken(bookID, seq int64) string {
	return syncTokenPrefix + strconv.FormatInt(bookID, 10) + "-" + strconv.FormatInt(seq, 10)
}

// ParseSyncToken reads a token made by FormatSyncToken; anything else gives
// ErrInvalidSyncToken (wrapped).
func ParseSyncToken(tok string) (bookID, seq int64, err error) {
	rest, ok := strings.CutPrefix(tok, syncTokenPrefix)
	b, s, ok2 := strings.Cut(rest, "-")
	if ok && ok2 {
		bookID, err1 := strconv.ParseInt(b, 10, 64)
		seq, err2 := strconv.ParseInt(s, 10, 64)
		if err1 == nil && err2 == nil && bookID > 0 && seq >= 0 && FormatSyncToken(bookID, seq) == tok {
			return bookID, seq, nil
		}
	}
	return 0, 0, fmt.Errorf("state: sync token %q: %w", tok, ErrInvalidSyncToken)
}
