package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestIdentity: a book's identity names its user, its name and its id:
// opening it again gives the same one; another book, or the same name
// deleted and created again (a new change log), gives another.
func TestIdentity(t *testing.T) { pgtest.ForBackends(t, testIdentity) }

func testIdentity(t *testing.T, be pgtest.Backend) {
	ctx := context.Background()
	db := openDB(t, be)
	open := func(book string) string {
		t.Helper()
		s, err := New(db, "alice", book, Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.Identity(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	work := open("work")
	b, err := db.AddressBook(ctx, "alice", "work")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		got  func() string
		same bool
	}{
		{"opened again", func() string { return open("work") }, true},
		{"another book", func() string { return open("home") }, false},
		{"deleted and created again", func() string {
			if err := db.DeleteAddressBook(ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			return open("work")
		}, false},
	} {
		got := tc.got()
		if (got == work) != tc.same {
			t.Errorf("%s: identity %q, first %q, want same=%v", tc.name, got, work, tc.same)
		}
	}
	if want := fmt.Sprintf("server alice/work #%d", b.ID); work != want {
		t.Errorf("identity %q, want %q", work, want)
	}
}
