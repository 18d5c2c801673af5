// Package serverside is the sync side of the built-in CardDAV server's store:
// one address book of one server user, kept in the state database
// (`{type: server, user: U, addressbook: B}` in a pair).
//
// Ids are the cards' hrefs in the book ("<UID>.vcf" when the UID is safe as a
// name, else a random name), versions are their ETags. Writes carry their
// preconditions down to the store (create-only, If-Match), so a client of the
// server writing at the same time is never overwritten. Cards are stored as
// they are encoded in their own vCard version.
//
// The side has the engine.Changer capability: it reads the book's change log,
// so an incremental round costs what changed, not the size of the book.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/vcard"
)

// Options tune New.
type Options struct {
	// Create creates the address book when the user has none of that name
	// (the user must exist).
	Create bool
	// ReadOnly says the pair only reads this side (its direction runs from
	// it): the only way a pair may use a read-only book
	// (state.AddressBook.ReadOnly, such as the organisation directory).
	// New refuses a read-only book without it.
	ReadOnly bool
	// System is the hook of the system that owns a read-only book (the
	// organisation directory's sync, which keeps it from Office 365): the
	// side's writes carry state.Precondition.System, so they are taken on a
	// read-only book. No configuration sets it; a pair never does.
	System bool
}

// ErrReadOnlyBook is wrapped by New's error for a pair that would write to
// a read-only book (it wraps state.ErrReadOnly too).
var ErrReadOnlyBook = errors.New("a pair may only read it: give the pair the direction from this side (a-to-b when it is side a, b-to-a when side b)")

// Side is one address book of the built-in server as a engine.Side. Create it
// with New. It is safe for concurrent use.
type Side struct {
	db     *state.DB
	user   string
	name   string
	book   int64 // the book's id, resolved once by New
	system bool  // Options.System
	// writes gathers the concurrent Creates and Updates into shared
	// transactions.
	writes *groupCommit
}

var (
	_ engine.Side       = (*Side)(nil)
	_ engine.Changer    = (*Side)(nil)
	_ engine.Identifier = (*Side)(nil)
)

// New returns the side of address book book of user. The book must exist,
// unless opts.Create is set, which creates it. A read-only book is refused
// (ErrReadOnlyBook, wrapping state.ErrReadOnly) unless opts.ReadOnly or
// opts.System is set; its writes are refused by the store all the same
// unless opts.System.
func New(db *state.DB, user, book string, opts Options) (*Side, error) {
	ctx := context.Background()
	b, err := db.AddressBook(ctx, user, book)
	if errors.Is(err, state.ErrNotFound) && opts.Create {
		b, err = db.CreateAddressBook(ctx, user, book, book, "")
		if errors.Is(err, state.ErrExists) { // created meanwhile
			b, err = db.AddressBook(ctx, user, book)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("server side %s/%s: %w", user, book, err)
	}
	if b.ReadOnly && !opts.ReadOnly && !opts.System {
		return nil, fmt.Errorf("server side %s/%s: %w: %w", user, book, state.ErrReadOnly, ErrReadOnlyBook)
	}
	return &Side{db: db, user: user, name: book, book: b.ID, system: opts.System, writes: &groupCommit{db: db, book: b.ID}}, nil
}

// Name describes the side: "server USER/BOOK".
func (s *Side) Name() string { return "server " + s.user + "/" + s.name }

// Identity is "server USER/BOOK #ID": the user and the book's name, and the
// book's id in the state, so that a book deleted and created again under
// the same name (a new change log) is another target. It never fails.
func (s *Side) Identity(context.Context) (string, error) {
	return fmt.Sprintf("server %s/%s #%d", s.user, s.name, s.book), nil
}

// BookID is the id of the side's address book in the state.
func (s *Side) BookID() int64 { return s.book }

// List returns the ref of every card of the book.
func (s *Side) List(ctx context.Context) ([]engine.Ref, error) {
	cards, err := s.db.CardRefs(ctx, s.book)
	if err != nil {
		return nil, fmt.Errorf("%s: list: %w", s.Name(), err)
	}
	refs := make([]engine.Ref, len(cards))
	for i, c := range cards {
		refs[i] = engine.Ref{ID: c.Href, Version: c.ETag}
	}
	return refs, nil
}

// Get reads the cards named by ids.
func (s *Side) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	cards, err := s.db.GetCards(ctx, s.book, ids)
	if err != nil {
		return nil, fmt.Errorf("%s: get: %w", s.Name(), err)
	}
	out := make([]engine.Item, len(ids))
	for i, id := range ids {
		c, ok := cards[id]
		if !ok {
			out[i] = engine.Item{Ref: engine.Ref{ID: id}, Err: fmt.Errorf("%s: %s: %w", s.Name(), id, engine.ErrNotFound)}
			continue
		}
		it := engine.Item{Ref: engine.Ref{ID: id, Version: c.ETag}, ModTime: c.Modified}
		if card, err := vcard.Parse(c.Data); err != nil {
			it.Err = fmt.Errorf("%s: %s: %w", s.Name(), id, err)
		} else {
			it.Card = card
		}
		out[i] = it
	}
	return out, nil
}

// Create stores card as a new card of the book; it never overwrites one. A
// card whose UID another card of the book holds is refused (an error
// wrapping engine.ErrRefused and state.ErrUIDConflict). Creates and Updates
// made at the same time share a transaction (groupCommit); each returns
// once its card is committed.
func (s *Side) Create(ctx context.Context, card *vcard.Card) (engine.Ref, error) {
	data := card.Encode()
	uid := card.UID()
	href := vcard.UIDName(uid, maxUIDName, "")
	for try := 0; ; try++ {
		if href == "" || try > 0 {
			href = vcard.RandomName()
		}
		etag, _, err := s.writes.put(ctx, state.CardPut{Href: href, UID: uid, Data: data, Pre: state.Precondition{IfNoneMatch: true, System: s.system}})
		switch {
		case err == nil:
			return engine.Ref{ID: href, Version: etag}, nil
		case errors.Is(err, state.ErrPreconditionFailed) && try < 3:
			continue // the name is taken by a card with another UID
		}
		return engine.Ref{}, s.writeErr("create", err)
	}
}

// Update replaces the card ref.ID if its ETag is still ref.Version.
func (s *Side) Update(ctx context.Context, ref engine.Ref, card *vcard.Card) (engine.Ref, error) {
	ifMatch := ref.Version
	if ifMatch == "" {
		ifMatch = "*"
	}
	etag, _, err := s.writes.put(ctx, state.CardPut{Href: ref.ID, UID: card.UID(), Data: card.Encode(), Pre: state.Precondition{IfMatch: ifMatch, System: s.system}})
	if err != nil {
		return engine.Ref{}, s.writeErr("update "+ref.ID, err)
	}
	return engine.Ref{ID: ref.ID, Version: etag}, nil
}

// Delete removes the card ref.ID if its ETag is still ref.Version; a card
// already gone is not an error.
func (s *Side) Delete(ctx context.Context, ref engine.Ref) error {
	err := s.db.DeleteCard(ctx, s.book, ref.ID, state.Precondition{IfMatch: ref.Version, System: s.system})
	if err == nil || errors.Is(err, state.ErrNotFound) && !errors.Is(err, state.ErrPreconditionFailed) {
		return nil
	}
	return s.writeErr("delete "+ref.ID, err)
}

// writeErr maps the store's errors to the engine's.
func (s *Side) writeErr(op string, err error) error {
	switch {
	case errors.Is(err, state.ErrPreconditionFailed) && errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("%s: %s: %w: %w: %w", s.Name(), op, err, engine.ErrPrecondition, engine.ErrNotFound)
	case errors.Is(err, state.ErrPreconditionFailed):
		return fmt.Errorf("%s: %s: %w: %w", s.Name(), op, err, engine.ErrPrecondition)
	case errors.Is(err, state.ErrUIDConflict):
		return fmt.Errorf("%s: %s: %w: %w", s.Name(), op, err, engine.ErrRefused)
	case errors.Is(err, state.ErrReadOnly):
		return fmt.Errorf("%s: %s: %w", s.Name(), op, err)
	}
	return fmt.Errorf("%s: %s: %w", s.Name(), op, err)
}

// Changes lists what changed since token (a sync token of the book): every
// card when token is "" (a full round), else the cards written and deleted
// since. A token the book cannot answer gives an error wrapping
// engine.ErrTokenExpired.
func (s *Side) Changes(ctx context.Context, token string) (engine.ChangeSet, error) {
	if token == "" {
		return s.fullRound(ctx)
	}
	bookID, since, err := state.ParseSyncToken(token)
	if err == nil && bookID != s.book {
		err = fmt.Errorf("token %q is of another address book: %w", token, state.ErrInvalidSyncToken)
	}
	var changed, deleted []string
	var seq int64
	if err == nil {
		changed, deleted, seq, err = s.db.CardChanges(ctx, s.book, since)
	}
	if errors.Is(err, state.ErrInvalidSyncToken) {
		return engine.ChangeSet{}, fmt.Errorf("%s: changes: %w: %w", s.Name(), err, engine.ErrTokenExpired)
	}
	if err != nil {
		return engine.ChangeSet{}, fmt.Errorf("%s: changes: %w", s.Name(), err)
	}
	cs := engine.ChangeSet{Deleted: deleted, Token: state.FormatSyncToken(s.book, seq)}
	if len(changed) > 0 {
		// The versions: a card deleted since the log was read is reported
		// deleted; one written since has its newer ETag (and shows again
		// next round, which is harmless).
		cards, err := s.db.GetCards(ctx, s.book, changed)
		if err != nil {
			return engine.ChangeSet{}, fmt.Errorf("%s: changes: %w", s.Name(), err)
		}
		for _, h := range changed {
			if c, ok := cards[h]; ok {
				cs.Changed = append(cs.Changed, engine.Ref{ID: h, Version: c.ETag})
			} else {
				cs.Deleted = append(cs.Deleted, h)
			}
		}
	}
	return cs, nil
}

// fullRound lists every card with the book's current token. The token is
// read before the listing, so a write between the two shows again in the
// next round rather than being missed.
func (s *Side) fullRound(ctx context.Context) (engine.ChangeSet, error) {
	seq, err := s.currentSeq(ctx)
	if err != nil {
		return engine.ChangeSet{}, fmt.Errorf("%s: changes: %w", s.Name(), err)
	}
	refs, err := s.List(ctx)
	if err != nil {
		return engine.ChangeSet{}, err
	}
	return engine.ChangeSet{Full: true, Changed: refs, Token: state.FormatSyncToken(s.book, seq)}, nil
}

// currentSeq is the book's change number.
func (s *Side) currentSeq(ctx context.Context) (int64, error) {
	b, err := s.db.AddressBook(ctx, s.user, s.name)
	if err != nil {
		return 0, err
	}
	if b.ID != s.book {
		return 0, fmt.Errorf("address book %s/%s was replaced: %w", s.user, s.name, state.ErrNotFound)
	}
	return b.SyncSeq, nil
}

// maxUIDName is the longest UID used as a name as it is (vcard.UIDName,
// with no extra bytes: the name is a URL path segment).
const maxUIDName = 200
