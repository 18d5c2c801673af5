// Package sync is cardbridge's engine: the contract every side implements,
// change collection, planning (a pure function), three-way merge by
// property, conflict policies, guards and execution with crash-safe state
// commits.
//
// A side is any store of contacts: a vCard directory, a CardDAV server,
// the built-in server's store, an Office 365 folder. The engine knows a
// side only through the small Side interface below and a few optional
// one-method capability interfaces, checked with type assertions.
package engine

import (
	"context"
	"errors"
	"time"

	"github.com/cardbridge/cardbridge/vcard"
)

// Ref names one contact on one side: its side-specific identifier (file
// name, href, Graph id) and its current version (ETag, changeKey,
// mtime/inode/size). Versions are opaque; the engine only compares them
// for equality.
type Ref struct {
	ID      string
	Version string
}

// Item is a contact read from a side.
type Item struct {
	Ref
	// Card is the parsed contact. It is nil when Err is set.
	Card *vcard.Card
	// ModTime is the side's last-modified time for the item, used by the
	// `newest` policy when the card has no REV. Zero when unknown.
	ModTime time.Time
	// Err is set when the item exists but could not be read or parsed.
	// The engine reports it, skips the item and never deletes anything
	// because of it.
	Err error
}

// Side is the contract between the engine and one store of contacts.
//
// All methods take a context first and must honour its cancellation.
// Write methods take preconditions: Update and Delete carry the version
// the engine last saw and must fail with ErrPrecondition when the stored
// version differs; Create must never overwrite an existing item.
type Side interface {
	// Name is a short human-readable description, e.g. "vdir /home/a/contacts".
	Name() string
	// List returns every item's ref. It is the fallback change source when
	// the side has no Changes capability.
	List(ctx context.Context) ([]Ref, error)
	// Get reads the given items. The result has one Item per id, in the
	// same order; an item that is gone has Err set to an error wrapping
	// ErrNotFound; one that is unreadable has another Err. The returned
	// error is for failures of the whole call.
	Get(ctx context.Context, ids []string) ([]Item, error)
	// Create stores a new contact and returns its ref.
	Create(ctx context.Context, card *vcard.Card) (Ref, error)
	// Update replaces the item named by ref.ID if its version is still
	// ref.Version, and returns the new ref.
	Update(ctx context.Context, ref Ref, card *vcard.Card) (Ref, error)
	// Delete removes the item named by ref.ID if its version is still
	// ref.Version. Deleting an item that is already gone is not an error.
	Delete(ctx context.Context, ref Ref) error
}

// ChangeSet is what a side with the Changer capability reports since its
// last token.
type ChangeSet struct {
	// Full is true when the set lists every item (an initial or a reset
	// round): items in state but absent from Changed are then deleted.
	Full bool
	// Changed holds new and modified items' refs.
	Changed []Ref
	// Deleted holds ids of items removed since the token.
	Deleted []string
	// Token is the new token to store once every change has been applied.
	Token string
}

// Changer is the optional capability of sides that can list what changed
// since an opaque token (a Graph delta link, a CardDAV sync-token, a
// change-log position). An empty token asks for a full round. A token the
// side no longer accepts must give an error wrapping ErrTokenExpired; the
// engine then asks for a full round and reconciles it against state.
type Changer interface {
	Changes(ctx context.Context, token string) (ChangeSet, error)
}

// Projector is the optional capability of sides that cannot hold every
// vCard property (Office 365 holds three e-mail addresses, no X-
// properties...). Project returns the part of card the side can store;
// the engine keeps the rest on the richer side and never treats its
// absence on this side as a deletion.
type Projector interface {
	Project(card *vcard.Card) *vcard.Card
}

// Flusher is the optional capability of sides that make writes durable
// in groups: Create, Update and Delete may return before the write is
// durable (a vdir skips the fsync of its directory), and Flush makes every
// write returned so far durable. The engine calls Flush before committing
// the state of those writes, so state never records a write a crash
// could undo.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Concurrency is the optional capability of sides that want more (or
// fewer) writes in flight than the engine's default: a side that gathers
// concurrent writes into batches (Graph's $batch holds 20) needs at least
// a batch's worth in flight. The engine uses the largest of the two
// sides' wishes.
type Concurrency interface {
	WriteConcurrency() int
}

// Prefetcher is the optional capability of sides that read many items
// faster in one go than in Get's chunks (a CardDAV server that looks up
// every multiget href in the whole book). Before a round's first Get the
// engine calls Prefetch with every id the round will read; the side may
// read them ahead and serve the Gets that follow from what it read. A
// Prefetch error is not a round's error: Get reads what is missing.
type Prefetcher interface {
	Prefetch(ctx context.Context, ids []string) error
}

// Identifier is the optional capability of sides whose saved state (the
// change token, the ids and versions in state) is only valid for what
// the side points at: a folder of one mailbox, a directory, an address
// book. Identity names that target, resolved rather than as configured
// (an absolute, cleaned path; a folder's id, not its display name), so
// that two configurations naming the same target give the same identity
// and a renamed folder keeps its identity. It must not change while a
// side points at the same target, and should be short and readable: the
// engine shows it when it changes. An error means the identity could not
// be established (the target is unreachable): the engine fails the run
// with it and compares nothing. The engine records a side's identity on
// its first run and refuses to run a pair whose side's identity changed
// since (see IdentityError). Sides without the capability are not checked.
type Identifier interface {
	Identity(ctx context.Context) (string, error)
}

// ReadOnly is the optional capability of sides that cannot be written.
type ReadOnly interface {
	ReadOnly() bool
}

// Closer is the optional capability of sides that hold resources.
type Closer interface {
	Close() error
}

// Errors sides return (wrapped) so the engine can tell them apart.
var (
	// ErrPrecondition: the stored version differs from the expected one
	// (HTTP 412, a changed file, a stale changeKey).
	ErrPrecondition = errors.New("precondition failed: item changed since it was read")
	// ErrNotFound: the item does not exist.
	ErrNotFound = errors.New("item not found")
	// ErrTokenExpired: the change token is no longer valid; a full round
	// is needed.
	ErrTokenExpired = errors.New("change token expired")
	// ErrRefused: the side refused this item (too large, invalid for the
	// server...). The item is skipped and reported; nothing is deleted.
	ErrRefused = errors.New("refused by the side")
)
