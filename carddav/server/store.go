package server

import (
	"context"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/state"
)

// Store is what the server needs of the storage behind it: users'
// password hashes, their address books, and the cards and change log of a
// book. *state.DB implements it on SQLite; another database plugs in
// behind the same methods (as go-webdav's Backend does for its server).
//
// Errors (wrapped, matched with errors.Is / errors.As): a missing user,
// book or card is state.ErrNotFound; a book name already taken is
// state.ErrExists; a write whose precondition does not hold is
// state.ErrPreconditionFailed; a PUT whose UID another card of the book
// holds is a *state.UIDConflictError; a sync token the book's change log no
// longer covers is state.ErrInvalidSyncToken; any other error is the
// store's own failure and answers 500.
type Store interface {
	authguard.HashSource

	// AddressBooks lists user's books.
	AddressBooks(ctx context.Context, user string) ([]state.AddressBook, error)
	// AddressBook reads one book of user by its path name.
	AddressBook(ctx context.Context, user, name string) (state.AddressBook, error)
	// CreateAddressBook makes a book (MKCOL); a name taken is ErrExists.
	CreateAddressBook(ctx context.Context, user, name, displayName, description string) (state.AddressBook, error)
	// UpdateAddressBook sets a book's display name and description (PROPPATCH).
	UpdateAddressBook(ctx context.Context, id int64, displayName, description string) error
	// DeleteAddressBook removes a book and its cards.
	DeleteAddressBook(ctx context.Context, id int64) error

	// Cards lists a book's cards without their data.
	Cards(ctx context.Context, bookID int64) ([]state.Card, error)
	// EachCard calls fn for every card of a book in bounded batches, with
	// the data when withData; fn's error stops it and is returned.
	EachCard(ctx context.Context, bookID int64, withData bool, fn func(state.Card) error) error
	// EachCardOf calls fn for each of hrefs in order, found false for one
	// the book does not hold.
	EachCardOf(ctx context.Context, bookID int64, hrefs []string, withData bool, fn func(href string, c state.Card, found bool) error) error
	// GetCards reads the cards of hrefs the book holds, with their data.
	GetCards(ctx context.Context, bookID int64, hrefs []string) (map[string]state.Card, error)
	// CardChanges lists what changed in a book since sequence number sinceSeq.
	CardChanges(ctx context.Context, bookID int64, sinceSeq int64) (changed, deleted []string, newSeq int64, err error)
	// PutCard stores a card under pre, returning its new ETag and whether it was created.
	PutCard(ctx context.Context, bookID int64, href, uid string, data []byte, pre state.Precondition) (etag string, created bool, err error)
	// DeleteCard removes a card under pre.
	DeleteCard(ctx context.Context, bookID int64, href string, pre state.Precondition) error
}

var _ Store = (*state.DB)(nil)
