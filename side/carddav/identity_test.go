package carddav

import (
	"context"
	"testing"
)

// TestIdentity: URLs that discovery leads to the same book give one
// identity (without user information); another book gives another.
func TestIdentity(t *testing.T) {
	u, db := ownServer(t)
	ctx := context.Background()
	if _, err := db.CreateAddressBook(ctx, "alice", "work", "Work People", ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, book string
		want      string
	}{
		{u, "contacts", "carddav " + u + "/addressbooks/alice/contacts/"},
		{u + "/.well-known/carddav", "contacts", "carddav " + u + "/addressbooks/alice/contacts/"},
		{u + "/addressbooks/alice/contacts", "", "carddav " + u + "/addressbooks/alice/contacts/"},
		{u, "Work People", "carddav " + u + "/addressbooks/alice/work/"},
		{u + "/principals/alice/", "work", "carddav " + u + "/addressbooks/alice/work/"},
	} {
		s, err := New(ctx, Options{URL: tc.url, Username: "alice", Password: "pw", AddressBook: tc.book})
		if err != nil {
			t.Fatalf("%s %q: %v", tc.url, tc.book, err)
		}
		got, err := s.Identity(ctx)
		if err != nil || got != tc.want {
			t.Errorf("%s %q: identity %q, %v; want %q", tc.url, tc.book, got, err, tc.want)
		}
	}
}
