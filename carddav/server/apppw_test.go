package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/authguard"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestAppPasswordBasicAuth: Basic auth takes the user's password or any
// live app password of theirs, with the guard serve makes and with the
// server's default one over *state.DB; a revoked app password is refused
// at the next request, though the same one was taken just before.
func TestAppPasswordBasicAuth(t *testing.T) { pgtest.ForBackends(t, testAppPasswordBasicAuth) }

func testAppPasswordBasicAuth(t *testing.T, be pgtest.Backend) {
	for _, guard := range []string{"shared", "default"} {
		t.Run(guard, func(t *testing.T) {
			ts := newTestServer(t, be, func(o *Options) {
				db := o.Store.(onlyStore).Store.(*state.DB)
				if guard == "default" {
					// The default guard over the state itself.
					o.Guard, o.Store = nil, db
					return
				}
				g, err := authguard.New(authguard.Options{Hashes: db, AppPasswords: db, FreeFailures: 1 << 20})
				if err != nil {
					t.Fatal(err)
				}
				o.Guard = g
			})
			ctx := context.Background()
			iphone, _, err := ts.db.AddAppPassword(ctx, "alice", "iPhone")
			if err != nil {
				t.Fatal(err)
			}
			thunderbird, _, err := ts.db.AddAppPassword(ctx, "alice", "Thunderbird")
			if err != nil {
				t.Fatal(err)
			}
			bobs, _, err := ts.db.AddAppPassword(ctx, "bob", "iPhone")
			if err != nil {
				t.Fatal(err)
			}
			propfind := func(user, pass string) int {
				t.Helper()
				req, err := http.NewRequest("PROPFIND", ts.srv.URL+"/addressbooks/"+user+"/", strings.NewReader(""))
				if err != nil {
					t.Fatal(err)
				}
				req.SetBasicAuth(user, pass)
				req.Header.Set("Depth", "0")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			cases := []struct {
				name, user, pass string
				want             int
			}{
				{"password", "alice", "alice-pw", http.StatusMultiStatus},
				{"app password", "alice", iphone, http.StatusMultiStatus},
				{"another app password", "alice", thunderbird, http.StatusMultiStatus},
				{"bob's app password as alice", "alice", bobs, http.StatusUnauthorized},
				{"alice's app password as bob", "bob", iphone, http.StatusUnauthorized},
				{"bob's own", "bob", bobs, http.StatusMultiStatus},
			}
			for _, c := range cases {
				if got := propfind(c.user, c.pass); got != c.want {
					t.Errorf("%s: %d, want %d", c.name, got, c.want)
				}
			}
			if err := ts.db.RevokeAppPassword(ctx, "alice", "iPhone"); err != nil {
				t.Fatal(err)
			}
			if got := propfind("alice", iphone); got != http.StatusUnauthorized {
				t.Fatalf("revoked app password: %d, want 401", got)
			}
			if got := propfind("alice", thunderbird); got != http.StatusMultiStatus {
				t.Fatalf("the other app password after revoking one: %d", got)
			}
			if got := propfind("alice", "alice-pw"); got != http.StatusMultiStatus {
				t.Fatalf("the password after revoking an app password: %d", got)
			}
		})
	}
}
