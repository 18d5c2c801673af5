package o365_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/side/o365"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

// TestItemErrorsNameAccountContactAndCode (issue 14): every failed read,
// create, update or delete of one contact is a *graph.ContactError whose
// text names the configured account, the mailbox (the configured user for
// "me", else "signed-in user", else the client's UPN), the contact's
// display name (known from the side's last listing, read or write even
// where the operation has only the id) and id, and Microsoft's code; the
// faults are graphsim's injectable ones (FailNext) and a stale change key.
func TestItemErrorsNameAccountContactAndCode(t *testing.T) {
	ctx := context.Background()
	sim, _ := newSim(graphsim.Options{})
	url, tok := serveSim(t, sim, sim)
	card, err := vcard.Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:err-1\r\nFN:Ann Faulty\r\nEND:VCARD\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mb := range []struct {
		name, clientMailbox, user, want string
	}{
		{"me with configured user", "", testUser, testUser},
		{"me without user", "", "", "signed-in user"},
		{"users/UPN", testUser, "", testUser},
	} {
		t.Run(mb.name, func(t *testing.T) {
			c := newClient(t, url, tok, graph.Options{Mailbox: mb.clientMailbox})
			side := openSide(t, c, o365.Options{Account: "work", User: mb.user})
			ref, err := side.Create(ctx, card)
			if err != nil {
				t.Fatal(err)
			}
			// A second side on the same mailbox knows the contact only from
			// its listing (as after a restart).
			fresh := openSide(t, c, o365.Options{Account: "work", User: mb.user})
			if _, err := fresh.Changes(ctx, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := fresh.Get(ctx, []string{ref.ID}); err != nil { // takes it from the listing
				t.Fatal(err)
			}
			read := func(s *o365.Side) func() error {
				return func() error {
					items, err := s.Get(ctx, []string{ref.ID})
					if err != nil {
						return err
					}
					return items[0].Err
				}
			}
			cases := []struct {
				name   string
				fault  int // FailNext status, 0 for none
				op     func() error
				wantID bool // the contact has an id (not a create)
			}{
				{"update stale change key (412)", 0, func() error {
					_, err := side.Update(ctx, engine.Ref{ID: ref.ID, Version: "stale"}, card)
					return err
				}, true},
				{"update 400", http.StatusBadRequest, func() error {
					_, err := side.Update(ctx, ref, card)
					return err
				}, true},
				{"create 507 quota", http.StatusInsufficientStorage, func() error {
					_, err := side.Create(ctx, card)
					return err
				}, false},
				{"delete 403", http.StatusForbidden, func() error { return side.Delete(ctx, ref) }, true},
				{"delete 403 after listing", http.StatusForbidden, func() error { return fresh.Delete(ctx, ref) }, true},
				{"read 403", http.StatusForbidden, read(side), true},
				{"read 403 after listing", http.StatusForbidden, read(fresh), true},
				{"read 404", http.StatusNotFound, read(side), true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if tc.fault != 0 {
						sim.FailNext(1, tc.fault, 0)
					}
					err := tc.op()
					if err == nil {
						t.Fatal("no error")
					}
					msg := err.Error()
					var ce *graph.ContactError
					if !errors.As(err, &ce) {
						t.Errorf("%q is no *graph.ContactError", msg)
					}
					var ge *graph.Error
					if !errors.As(err, &ge) || ge.Code == "" {
						t.Fatalf("%q carries no Graph error with a code", msg)
					}
					want := []string{`account "work"`, "(mailbox " + mb.want + ")", ge.Code, `"Ann Faulty"`}
					if tc.wantID {
						want = append(want, "(id "+ref.ID+")")
					}
					for _, w := range want {
						if !strings.Contains(msg, w) {
							t.Errorf("%q lacks %q", msg, w)
						}
					}
				})
			}
		})
	}
}

// TestPhotoErrorNamesContact: a photo upload that fails (and is not one
// the account refuses for good) is an error of that contact that names
// it, its id and Microsoft's code; the contact itself is written and its
// ref returned, so the engine records it and retries only the photo.
func TestPhotoErrorNamesContact(t *testing.T) {
	ctx := context.Background()
	failPhoto := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/photo/$value") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				w.Write([]byte(`{"error":{"code":"ErrorRequestEntityTooLarge","message":"The photo is too large."}}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	s, _ := simSideVia(t, graphsim.Options{Transient412Rate: -1}, failPhoto)
	card, err := vcard.Parse(photoCard("photo-err", "Pia Photo", testutil.JPEG(t, 90)))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := s.Create(ctx, card)
	if err == nil {
		t.Fatal("the failed photo upload gave no error")
	}
	if ref.ID == "" {
		t.Fatalf("the contact was written but no ref came back: %v", err)
	}
	var ce *graph.ContactError
	if !errors.As(err, &ce) {
		t.Errorf("%q is no *graph.ContactError", err)
	}
	for _, w := range []string{`"Pia Photo"`, "(id " + ref.ID + ")", "ErrorRequestEntityTooLarge", "photo"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}

// TestFolderErrorsNameAccountAndMailbox: a failed delta round or listing
// (no one contact's) names the account, the mailbox and Microsoft's
// code; a token Graph no longer knows stays engine.ErrTokenExpired.
func TestFolderErrorsNameAccountAndMailbox(t *testing.T) {
	ctx := context.Background()
	sim, _ := newSim(graphsim.Options{Transient412Rate: -1})
	url, tok := serveSim(t, sim, sim)
	side := openSide(t, newClient(t, url, tok, graph.Options{}), o365.Options{Account: "work", User: testUser})
	cs, err := side.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"delta 403", func() error { _, err := side.Changes(ctx, cs.Token); return err }},
		{"full round 403", func() error { _, err := side.Changes(ctx, ""); return err }},
		{"listing 403", func() error { _, err := side.List(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.FailNext(1, http.StatusForbidden, 0)
			err := tc.op()
			if err == nil {
				t.Fatal("no error")
			}
			var ge *graph.Error
			if !errors.As(err, &ge) || ge.Code == "" {
				t.Fatalf("%q carries no Graph error with a code", err)
			}
			for _, w := range []string{`o365 account "work" (mailbox ` + testUser + ")", ge.Code} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
	_, err = side.Changes(ctx, url+"/v1.0/me/contacts/delta?$deltatoken=forgotten")
	if !errors.Is(err, engine.ErrTokenExpired) {
		t.Errorf("an unknown token: %v, want engine.ErrTokenExpired", err)
	}
}
