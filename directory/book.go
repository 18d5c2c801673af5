package directory

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/state"
)

// BookName is the path name of the Directory book, and BookDisplayName its
// display name.
const (
	BookName        = "directory"
	BookDisplayName = "Directory"
)

// cardVersion is part of every Directory card's ETag: bump it when Card
// renders differently, so that clients fetch the cards again.
const cardVersion = 1

// Tenant is a tenant whose directory is served as a book: its id (a GUID)
// and which people the book lists.
type Tenant struct {
	ID      string
	Options state.DirectoryOptions
}

// Reader is what Books reads of the state: *state.DB.
type Reader interface {
	DirectorySeq(ctx context.Context, tenant string) (int64, error)
	EachDirectoryUser(ctx context.Context, tenant string, opts state.DirectoryOptions, withPhoto bool, fn func(state.DirectoryUser) error) error
	DirectoryUsersByID(ctx context.Context, tenant string, ids []string, withPhoto bool, group string) (map[string]state.DirectoryUser, error)
	DirectoryChanges(ctx context.Context, tenant string, since int64, opts state.DirectoryOptions) (changed, deleted []string, seq int64, err error)
	MicrosoftTenantsOf(ctx context.Context, user string) ([]string, error)
}

// Books is a server.Store that adds, for every local user with a
// Microsoft identity in one of its tenants, a read-only book listing that
// tenant's directory, served from the tenant's one copy in the state (no
// per-user copy): the book is virtual, its cards rendered by Card on
// reading, its ETags and sync tokens the copy's change numbers. Every
// other book and call goes to the Store it wraps. Writes to the Directory
// book are refused with state.ErrReadOnly (the server answers them 403
// DAV:need-privileges before they get here).
//
// Naming: the book's path name is "directory". A user's own book keeps
// its name: when the user already has a book named "directory" (made
// before the directory was turned on), the Directory book takes the next
// free name of directory-2, directory-3, …; a user in several served
// tenants gets one Directory book per tenant, named so in the order of the
// tenant ids. MKCOL of a name a Directory book holds answers as for any
// taken name.
type Books struct {
	server.Store
	db      Reader
	tenants map[string]Tenant // by lower-case tenant id
	byBook  map[int64]Tenant  // by book id
}

var _ server.Store = (*Books)(nil)

// NewBooks wraps inner, serving the directories of tenants read from db.
func NewBooks(inner server.Store, db Reader, tenants []Tenant) *Books {
	b := &Books{Store: inner, db: db, tenants: map[string]Tenant{}, byBook: map[int64]Tenant{}}
	for _, t := range tenants {
		t.ID = strings.ToLower(t.ID)
		b.tenants[t.ID] = t
		b.byBook[BookID(t)] = t
	}
	return b
}

// BookID is the id of tenant t's Directory book in every user's view: a
// number above 2^62, which the state's own books never reach, made from
// the tenant id and the options, so that sync tokens stay valid across
// restarts and become invalid when the options change what is listed.
func BookID(t Tenant) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%t|%t|%t", strings.ToLower(t.ID), t.Options.IncludeGuests, t.Options.IncludeDisabled, t.Options.IncludeWithoutMail)
	if t.Options.Group != "" { // books without a group keep their ids
		fmt.Fprintf(h, "|group=%s", strings.ToLower(t.Options.Group))
	}
	return 1<<62 | int64(h.Sum64()&(1<<62-1))
}

// directoryBooks returns user's Directory books, given their own books.
func (b *Books) directoryBooks(ctx context.Context, user string, own []state.AddressBook) ([]state.AddressBook, error) {
	if len(b.tenants) == 0 {
		return nil, nil
	}
	tenants, err := b.db.MicrosoftTenantsOf(ctx, user)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, o := range own {
		taken[o.Name] = true
	}
	var out []state.AddressBook
	for _, tid := range tenants {
		t, ok := b.tenants[tid]
		if !ok {
			continue
		}
		name := BookName
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s-%d", BookName, i)
		}
		taken[name] = true
		seq, err := b.db.DirectorySeq(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, state.AddressBook{ID: BookID(t), User: user, Name: name, DisplayName: BookDisplayName,
			Description: "The people of the organisation (read-only)", SyncSeq: seq, ReadOnly: true})
	}
	return out, nil
}

// AddressBooks lists user's own books, then their Directory books.
func (b *Books) AddressBooks(ctx context.Context, user string) ([]state.AddressBook, error) {
	own, err := b.Store.AddressBooks(ctx, user)
	if err != nil {
		return nil, err
	}
	dir, err := b.directoryBooks(ctx, user, own)
	if err != nil {
		return nil, err
	}
	return append(own, dir...), nil
}

// AddressBook reads user's book name: their own, else a Directory book.
func (b *Books) AddressBook(ctx context.Context, user, name string) (state.AddressBook, error) {
	book, err := b.Store.AddressBook(ctx, user, name)
	if err == nil || len(b.tenants) == 0 || !strings.HasPrefix(name, BookName) {
		return book, err
	}
	own, err2 := b.Store.AddressBooks(ctx, user)
	if err2 != nil {
		return state.AddressBook{}, err2
	}
	dir, err2 := b.directoryBooks(ctx, user, own)
	if err2 != nil {
		return state.AddressBook{}, err2
	}
	for _, d := range dir {
		if d.Name == name {
			return d, nil
		}
	}
	return book, err
}

// CreateAddressBook refuses a name a Directory book of user holds.
func (b *Books) CreateAddressBook(ctx context.Context, user, name, displayName, description string) (state.AddressBook, error) {
	if d, err := b.AddressBook(ctx, user, name); err == nil && b.isDirectory(d.ID) {
		return state.AddressBook{}, fmt.Errorf("directory: book %s of %s is the organisation directory: %w", name, user, state.ErrExists)
	}
	return b.Store.CreateAddressBook(ctx, user, name, displayName, description)
}

// CheckAppPassword checks an app password with the wrapped store when it
// keeps them (*state.DB), so that a server made over Books without its
// own Guard still takes app passwords; false when it does not.
func (b *Books) CheckAppPassword(ctx context.Context, user, pass string) (bool, error) {
	if ap, ok := b.Store.(authguard.AppPasswordSource); ok {
		return ap.CheckAppPassword(ctx, user, pass)
	}
	return false, nil
}

func (b *Books) isDirectory(id int64) bool { _, ok := b.byBook[id]; return ok }

func readOnly(id int64) error {
	return fmt.Errorf("directory: book %d: %w", id, state.ErrReadOnly)
}

// UpdateAddressBook refuses the Directory book.
func (b *Books) UpdateAddressBook(ctx context.Context, id int64, displayName, description string) error {
	if b.isDirectory(id) {
		return readOnly(id)
	}
	return b.Store.UpdateAddressBook(ctx, id, displayName, description)
}

// DeleteAddressBook refuses the Directory book.
func (b *Books) DeleteAddressBook(ctx context.Context, id int64) error {
	if b.isDirectory(id) {
		return readOnly(id)
	}
	return b.Store.DeleteAddressBook(ctx, id)
}

// PutCard refuses the Directory book's cards.
func (b *Books) PutCard(ctx context.Context, bookID int64, href, uid string, data []byte, pre state.Precondition) (string, bool, error) {
	if b.isDirectory(bookID) {
		return "", false, readOnly(bookID)
	}
	return b.Store.PutCard(ctx, bookID, href, uid, data, pre)
}

// DeleteCard refuses the Directory book's cards.
func (b *Books) DeleteCard(ctx context.Context, bookID int64, href string, pre state.Precondition) error {
	if b.isDirectory(bookID) {
		return readOnly(bookID)
	}
	return b.Store.DeleteCard(ctx, bookID, href, pre)
}

// Href is the name of u's card in the Directory book.
func Href(u state.DirectoryUser) string { return strings.ToLower(u.ObjectID) + ".vcf" }

// card is u as a card of book bookID.
func card(bookID int64, u state.DirectoryUser, withData bool) state.Card {
	c := state.Card{BookID: bookID, Href: Href(u), UID: UID(u), ETag: fmt.Sprintf("dir-%d-%d", cardVersion, u.Seq),
		Modified: u.Updated, Seq: u.Seq}
	if withData {
		c.Data = Card(u).Encode()
	}
	return c
}

// Cards lists a book's cards without their data.
func (b *Books) Cards(ctx context.Context, bookID int64) ([]state.Card, error) {
	if !b.isDirectory(bookID) {
		return b.Store.Cards(ctx, bookID)
	}
	var out []state.Card
	err := b.EachCard(ctx, bookID, false, func(c state.Card) error { out = append(out, c); return nil })
	return out, err
}

// EachCard calls fn for every card of a book.
func (b *Books) EachCard(ctx context.Context, bookID int64, withData bool, fn func(state.Card) error) error {
	t, ok := b.byBook[bookID]
	if !ok {
		return b.Store.EachCard(ctx, bookID, withData, fn)
	}
	return b.db.EachDirectoryUser(ctx, t.ID, t.Options, withData, func(u state.DirectoryUser) error {
		return fn(card(bookID, u, withData))
	})
}

// EachCardOf calls fn for each of hrefs of a book in order.
func (b *Books) EachCardOf(ctx context.Context, bookID int64, hrefs []string, withData bool, fn func(href string, c state.Card, found bool) error) error {
	t, ok := b.byBook[bookID]
	if !ok {
		return b.Store.EachCardOf(ctx, bookID, hrefs, withData, fn)
	}
	// bounded batches: a multiget's hrefs are capped by the server
	const batch = 200
	for start := 0; start < len(hrefs); start += batch {
		part := hrefs[start:min(len(hrefs), start+batch)]
		found, err := b.people(ctx, t, part, withData)
		if err != nil {
			return err
		}
		for _, h := range part {
			u, ok := found[h]
			var c state.Card
			if ok {
				c = card(bookID, u, withData)
			}
			if err := fn(h, c, ok); err != nil {
				return err
			}
		}
	}
	return nil
}

// people reads the people of hrefs that t's book lists, by href (with
// their photos when withPhoto).
func (b *Books) people(ctx context.Context, t Tenant, hrefs []string, withPhoto bool) (map[string]state.DirectoryUser, error) {
	var ids []string
	for _, h := range hrefs {
		if id, ok := strings.CutSuffix(h, ".vcf"); ok && id != "" {
			ids = append(ids, id)
		}
	}
	us, err := b.db.DirectoryUsersByID(ctx, t.ID, ids, withPhoto, t.Options.Group)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(hrefs))
	for _, h := range hrefs {
		want[h] = true
	}
	out := make(map[string]state.DirectoryUser, len(us))
	for _, u := range us {
		if t.Options.Includes(u) && want[Href(u)] {
			out[Href(u)] = u
		}
	}
	return out, nil
}

// GetCards reads the cards of hrefs a book holds, with their data.
func (b *Books) GetCards(ctx context.Context, bookID int64, hrefs []string) (map[string]state.Card, error) {
	t, ok := b.byBook[bookID]
	if !ok {
		return b.Store.GetCards(ctx, bookID, hrefs)
	}
	found, err := b.people(ctx, t, hrefs, true)
	if err != nil {
		return nil, err
	}
	out := make(map[string]state.Card, len(found))
	for h, u := range found {
		out[h] = card(bookID, u, true)
	}
	return out, nil
}

// CardChanges lists what changed in a book since sinceSeq.
func (b *Books) CardChanges(ctx context.Context, bookID int64, sinceSeq int64) (changed, deleted []string, newSeq int64, err error) {
	t, ok := b.byBook[bookID]
	if !ok {
		return b.Store.CardChanges(ctx, bookID, sinceSeq)
	}
	ch, del, seq, err := b.db.DirectoryChanges(ctx, t.ID, sinceSeq, t.Options)
	if err != nil {
		return nil, nil, 0, err
	}
	for i := range ch {
		ch[i] += ".vcf"
	}
	for i := range del {
		del[i] += ".vcf"
	}
	return ch, del, seq, nil
}
