package state

import (
	"context"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestListenChanges: a card or book write through one handle reaches the
// listener of another, a pair run's writes (under a lease) do not, and
// the listener connects again when its connection is killed.
func TestListenChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := pgtest.Database(t)
	db1 := backend{}.openAt(t, url, Options{})
	db2 := backend{}.openAt(t, url, Options{})
	if err := db1.AddUser(ctx, "alice", "hash"); err != nil {
		t.Fatal(err)
	}
	changes := make(chan string, 16)
	listening := make(chan struct{}, 4)
	done := make(chan error, 1)
	go func() {
		done <- db2.ListenChanges(ctx, ListenOptions{MaxBackoff: 200 * time.Millisecond,
			OnChange:    func(user, book string) { changes <- user + "/" + book },
			OnListening: func() { listening <- struct{}{} }})
	}()
	<-listening
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-changes:
			if got != want {
				t.Errorf("notified %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no notification of %s", want)
		}
	}
	b, err := db1.CreateAddressBook(ctx, "alice", "book", "Book", "")
	if err != nil {
		t.Fatal(err)
	}
	expect("alice/book")
	if _, _, err := db1.PutCard(ctx, b.ID, "a.vcf", "a", []byte("BEGIN:VCARD\r\nEND:VCARD\r\n"), Precondition{}); err != nil {
		t.Fatal(err)
	}
	expect("alice/book")
	// A batch of cards announces its book's change once; a batch that
	// writes nothing announces nothing.
	card := []byte("BEGIN:VCARD\r\nEND:VCARD\r\n")
	res, err := db1.PutCards(ctx, b.ID, []CardPut{{Href: "c.vcf", UID: "c", Data: card}, {Href: "d.vcf", UID: "d", Data: card}, {Href: "e.vcf", UID: "e", Data: card}})
	if err != nil || res[0].Err != nil || res[1].Err != nil || res[2].Err != nil {
		t.Fatalf("PutCards = %+v, %v", res, err)
	}
	expect("alice/book")
	if res, err := db1.PutCards(ctx, b.ID, []CardPut{{Href: "c.vcf", UID: "c", Data: card, Pre: Precondition{IfNoneMatch: true}}}); err != nil || res[0].Err == nil {
		t.Fatalf("PutCards over an existing card with If-None-Match = %+v, %v", res, err)
	}

	// A pair run's write is not a client's change.
	l, err := db1.AcquireLease(ctx, PairLeaseKey("work"), LeaseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db1.PutCard(l.Context(), b.ID, "b.vcf", "b", []byte("BEGIN:VCARD\r\nEND:VCARD\r\n"), Precondition{}); err != nil {
		t.Fatal(err)
	}
	l.Release()
	// A failed write announces nothing either.
	if _, _, err := db1.PutCard(ctx, b.ID, "a.vcf", "a", []byte("x"), Precondition{IfNoneMatch: true}); err == nil {
		t.Fatal("PUT over an existing card with If-None-Match succeeded")
	}
	if err := db1.DeleteCard(ctx, b.ID, "a.vcf", Precondition{}); err != nil {
		t.Fatal(err)
	}
	expect("alice/book") // the delete's, not the run's nor the failed PUT's

	// The listening connection is killed: it comes back.
	if _, err := db1.sql.DB.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-listening:
	case <-time.After(5 * time.Second):
		t.Fatal("listener did not connect again")
	}
	if err := db1.UpdateAddressBook(ctx, b.ID, "Renamed", ""); err != nil {
		t.Fatal(err)
	}
	expect("alice/book")
	select {
	case got := <-changes:
		t.Errorf("unexpected notification %q", got)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenChanges after its context ended: %v", err)
	}
	if err := (backend{}.openAt(t, t.TempDir()+"/s.db", Options{})).ListenChanges(context.Background(), ListenOptions{OnChange: func(string, string) {}}); err == nil {
		t.Error("ListenChanges on SQLite succeeded")
	}
}
