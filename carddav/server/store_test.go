package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// onlyStore hides every method of the store but Store's: the server's
// tests run through the interface, as another database would plug in.
type onlyStore struct{ Store }

// brokenStore fails the writes of cards, as a database gone away would.
type brokenStore struct{ Store }

func (brokenStore) PutCard(context.Context, int64, string, string, []byte, state.Precondition) (string, bool, error) {
	return "", false, errors.New("database is gone")
}

// TestStoreFailureAnswers500: a store's own failure answers 500, and the
// server's log names it; the book is unchanged.
func TestStoreFailureAnswers500(t *testing.T) { pgtest.ForBackends(t, testStoreFailureAnswers500) }

func testStoreFailureAnswers500(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, func(o *Options) { o.Store = brokenStore{o.Store} })
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:A\r\nEND:VCARD\r\n"
	resp, body := ts.do("PUT", "/addressbooks/alice/contacts/u1.vcf", "alice", map[string]string{"Content-Type": "text/vcard"}, card)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("PUT with a failing store: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "database is gone") {
		t.Errorf("the store's error reached the client: %s", body)
	}
	b, err := ts.db.AddressBook(context.Background(), "alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	if cards, err := ts.db.Cards(context.Background(), b.ID); err != nil || len(cards) != 0 {
		t.Errorf("cards after the failed PUT: %v, %v", cards, err)
	}
}
