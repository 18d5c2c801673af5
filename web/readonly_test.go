package web

import (
	"context"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// TestReadOnlyBookPage: a read-only book's contacts are listed as any
// book's, the page says the book is read-only and, empty, does not invite
// adding contacts from a phone; a writable book's page says nothing of it.
func TestReadOnlyBookPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir, err := e.db.CreateAddressBook(ctx, "alice", "directory", "Directory", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetAddressBookReadOnly(ctx, dir.ID, true); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("alice")
	_, _, body := b.get("/ui/books/directory/")
	el := one(t, page(t, body), "no-contacts", byID("no-contacts"))
	if strings.Contains(text(el), "add contacts from a phone") || !strings.Contains(text(el), "the server fills it") {
		t.Errorf("empty read-only book says %q", text(el))
	}
	if _, _, err := e.db.PutCard(ctx, dir.ID, "p.vcf", "p", vcf("UID:p", "FN:Pat Doe"), state.Precondition{System: true}); err != nil {
		t.Fatal(err)
	}
	_, _, body = b.get("/ui/books/directory/")
	doc := page(t, body)
	if names := contactNames(t, body); len(names) != 1 || names[0] != "Pat Doe" {
		t.Errorf("read-only book lists %q", names)
	}
	if got := text(one(t, doc, "read-only", byID("read-only"))); !strings.Contains(got, "read-only") {
		t.Errorf("read-only note %q", got)
	}
	_, _, body = b.get("/ui/books/contacts/")
	if n := len(find(page(t, body), byID("read-only"))); n != 0 {
		t.Errorf("a writable book's page has %d read-only notes", n)
	}
}
