package state

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// userFixture is everything one user of the server can have in the state:
// books with cards and a change log, a web session with a pending
// authorization, an Office 365 account connected on the web page (tokens
// and last sync), and two web pairs on it with items, bases, sync tokens,
// a (stale) lock, trash, conflicts (linked and not) and runs.
type userFixture struct {
	user, account string
	pairs         []string
	books         []int64
	items         []int64
	session       string
	mailboxPair   string // the pair of the user's tenant mailbox
}

// fillUser gives user all of the above.
func fillUser(t *testing.T, db *DB, user string) userFixture {
	t.Helper()
	ctx := context.Background()
	f := userFixture{user: user, account: "web-" + user, session: "sess-" + user}
	if err := db.AddUser(ctx, user, "$2a$hash"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddAppPassword(ctx, user, "phone of "+user); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO microsoft_identities (tenant_id, object_id, user_name, created_at) VALUES (?, ?, ?, 0)`,
		"tid", "oid-"+user, user); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	if err := db.CreateWebSession(ctx, WebSession{IDHash: f.session, User: user, CSRF: "c", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveOAuthState(ctx, OAuthState{StateHash: "st-" + user, SessionHash: f.session, Verifier: "v", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSignInState(ctx, SignInState{StateHash: "si-" + user, BrowserHash: "b-" + user, Verifier: "v", Nonce: "n", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := db.ClaimWebAccount(ctx, f.account, user); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveToken(ctx, f.account, AccountToken{AccessToken: "at-" + user, RefreshToken: "rt-" + user, User: user + "@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchAccountSync(ctx, f.account, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddRefusedField(ctx, f.account, "photo"); err != nil {
		t.Fatal(err)
	}
	for _, book := range []string{"office365", "work"} {
		name, err := db.CreateWebPair(ctx, WebPair{Name: "web-" + user + ":" + book, User: user, Account: f.account, Addressbook: book, Every: time.Hour}, book)
		if err != nil {
			t.Fatal(err)
		}
		f.pairs = append(f.pairs, name)
		b, err := db.AddressBook(ctx, user, book)
		if err != nil {
			t.Fatal(err)
		}
		f.books = append(f.books, b.ID)
		for _, href := range []string{"a.vcf", "b.vcf"} {
			if _, _, err := db.PutCard(ctx, b.ID, href, user+href, []byte("BEGIN:VCARD\r\nEND:VCARD\r\n"), Precondition{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.DeleteCard(ctx, b.ID, "b.vcf", Precondition{}); err != nil {
			t.Fatal(err)
		}
		it := Item{Pair: name, UID: "u-" + user, AID: "a1", BID: "b1", BaseHash: "h", Base: []byte("BASE")}
		if err := db.PutItem(ctx, &it); err != nil {
			t.Fatal(err)
		}
		f.items = append(f.items, it.ID)
		if err := db.SetToken(ctx, name, "a", "delta-"+user); err != nil {
			t.Fatal(err)
		}
		if err := db.SetSideIdentity(ctx, name, "a", "o365 "+user); err != nil {
			t.Fatal(err)
		}
		if err := db.Update(ctx, func(tx *Tx) error {
			return tx.RecordFailure(name, Failure{Side: "a", SideID: "broken-" + user, Reason: "unreadable"}, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
		if err := db.AddTrash(ctx, &TrashEntry{Pair: name, Side: "a", UID: "u", Card: []byte("OLD"), Reason: "deleted"}); err != nil {
			t.Fatal(err)
		}
		// An entry past a day's retention, purged: the purge log holds it.
		if err := db.AddTrash(ctx, &TrashEntry{Pair: name, Side: "a", UID: "u", Card: []byte("OLDER"), Reason: "deleted", Created: time.Now().Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if r, err := db.PurgeTrash(ctx, Purge{Pair: name, TrashLimits: TrashLimits{Retention: 24 * time.Hour}}); err != nil || r.Entries != 1 {
			t.Fatalf("purge: %+v, %v", r, err)
		}
		if err := db.UpsertConflict(ctx, &Conflict{Pair: name, ItemID: it.ID, A: []byte("A"), B: []byte("B")}); err != nil {
			t.Fatal(err)
		}
		if err := db.UpsertConflict(ctx, &Conflict{Pair: name, UID: "new", A: []byte("A"), B: []byte("B")}); err != nil {
			t.Fatal(err)
		}
		if err := db.AddRun(ctx, &Run{Pair: name, Finished: time.Now(), OK: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimPeriod(ctx, name, time.Hour); err != nil {
			t.Fatal(err)
		}
		// A lock left by a process of an earlier boot: stale.
		if _, err := db.sql.Exec(`INSERT INTO leases (key, holder, pid, hostname, boot_id, acquired_at, expires_at) VALUES (?, 'h', 1, ?, 'an-earlier-boot', 1, ?)`, PairLeaseKey(name), db.host, time.Now().Add(time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	// A tenant mailbox of the user (its pair's state: TestRemoveUserRemovesMailboxPairs).
	mb, err := db.AddMailbox(ctx, Mailbox{Account: "org", TenantID: "tid", ObjectID: "oid-" + user, User: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.mailboxPair = mb.Pair
	return f
}

// ownedRows counts, per table, the rows of f: the query of each table a
// user's or a pair's rows live in. A table the schema gains must be added
// here (and to RemoveUser): TestRemoveUserLeavesNothing fails until it is.
func ownedRows(t *testing.T, db *DB, f userFixture) map[string]int {
	t.Helper()
	in := func(col string, vals []string) (string, []any) {
		args := make([]any, len(vals))
		for i, v := range vals {
			args[i] = v
		}
		return col + ` IN (?` + strings.Repeat(`, ?`, len(vals)-1) + `)`, args
	}
	ids := func(vals []int64) []string {
		var out []string
		for _, v := range vals {
			out = append(out, strconv.FormatInt(v, 10))
		}
		return out
	}
	pairs, pairArgs := in("pair", f.pairs)
	var leaseKeys []string
	for _, p := range f.pairs {
		leaseKeys = append(leaseKeys, PairLeaseKey(p))
	}
	leases, leaseArgs := in("key", leaseKeys)
	books, bookArgs := in("book_id", ids(f.books))
	items, itemArgs := in("item_id", ids(f.items))
	queries := map[string]struct {
		where string
		args  []any
	}{
		"server_users":           {"name = ?", []any{f.user}},
		"addressbooks":           {"user_name = ?", []any{f.user}},
		"cards":                  {books, bookArgs},
		"card_changes":           {books, bookArgs},
		"card_index":             {books, bookArgs},
		"web_sessions":           {"user_name = ?", []any{f.user}},
		"app_passwords":          {"user_name = ?", []any{f.user}},
		"microsoft_identities":   {"user_name = ?", []any{f.user}},
		"web_oauth_states":       {"session_hash = ?", []any{f.session}},
		"web_accounts":           {"user_name = ? OR account = ?", []any{f.user, f.account}},
		"web_pairs":              {"user_name = ? OR account = ?", []any{f.user, f.account}},
		"accounts":               {"name = ?", []any{f.account}},
		"tenant_mailboxes":       {"user_name = ? OR pair = ?", []any{f.user, f.mailboxPair}},
		"account_refused_fields": {"account = ?", []any{f.account}},
		"items":                  {pairs, pairArgs},
		"bases":                  {items, itemArgs},
		"sync_tokens":            {pairs, pairArgs},
		"side_identities":        {pairs, pairArgs},
		"failed_items":           {pairs, pairArgs},
		"leases":                 {leases, leaseArgs},
		"pair_schedules":         {pairs, pairArgs},
		"trash":                  {pairs, pairArgs},
		"trash_purges":           {pairs, pairArgs},
		"conflicts":              {pairs, pairArgs},
		"runs":                   {pairs, pairArgs},
	}
	// Every table that can hold a user's or a pair's rows must be known.
	keyCols := []string{"pair", "user_name", "account", "book_id", "item_id", "session_hash", "name"}
	notKeyed := map[string]bool{"schema_version": true, "sqlite_sequence": true}
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if db.dialect.postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := db.sql.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]int{}
	for _, tbl := range tables {
		q, known := queries[tbl]
		if !known {
			if notKeyed[tbl] {
				continue
			}
			cols := tableColumns(t, db, tbl)
			for _, c := range cols {
				if slices.Contains(keyCols, c) {
					t.Errorf("table %s (columns %v) may hold a user's or a pair's rows (column %s) but neither RemoveUser's test nor, probably, RemoveUser knows it: clean it in RemoveUser (and DisconnectWebAccount / pairTables for a pair's state) and add it to ownedRows", tbl, cols, c)
					break
				}
			}
			continue
		}
		var n int
		if err := db.sql.QueryRow(`SELECT COUNT(*) FROM `+tbl+` WHERE `+q.where, q.args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		out[tbl] = n
	}
	for tbl := range queries {
		if !slices.Contains(tables, tbl) {
			t.Errorf("ownedRows knows table %s, which the schema no longer has", tbl)
		}
	}
	return out
}

func tableColumns(t *testing.T, db *DB, table string) []string {
	t.Helper()
	q := `SELECT name FROM pragma_table_info(?)`
	if db.dialect.postgres {
		q = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`
	}
	rows, err := db.sql.Query(q, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	return cols
}

// TestRemoveUserLeavesNothing: removing frank empties every table of
// frank's rows (enumerated from sqlite_master: a new table keyed by user,
// pair, account, book or item that RemoveUser does not know fails the
// test), in one transaction, and leaves gina's rows as they were.
func TestRemoveUserLeavesNothing(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		frank := fillUser(t, db, "frank")
		gina := fillUser(t, db, "gina")
		before := ownedRows(t, db, frank)
		ginaBefore := ownedRows(t, db, gina)
		for tbl, n := range before {
			if n == 0 {
				t.Errorf("the fixture puts no row of frank's in %s: the check below would prove nothing", tbl)
			}
		}
		if err := db.RemoveUser(ctx, "frank"); err != nil {
			t.Fatal(err)
		}
		for tbl, n := range ownedRows(t, db, frank) {
			if n != 0 {
				t.Errorf("%s: %d rows of frank's left after RemoveUser (had %d)", tbl, n, before[tbl])
			}
		}
		if got := ownedRows(t, db, gina); !mapsEqual(got, ginaBefore) {
			t.Errorf("gina's rows changed: %v, were %v", got, ginaBefore)
		}
		// A namesake starts with nothing: no connection, no pairs, no trash.
		if err := db.AddUser(ctx, "frank", "$2a$new"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := db.LoadToken(ctx, "web-frank"); ok || err != nil {
			t.Errorf("the new frank has the old one's tokens (%v, %v)", ok, err)
		}
		if owner, _ := db.WebAccountOwner(ctx, "web-frank"); owner != "" {
			t.Errorf("web-frank is owned by %q", owner)
		}
		for _, p := range frank.pairs {
			if es, _ := db.ListTrash(ctx, p); len(es) != 0 {
				t.Errorf("pair %s still has %d trash entries", p, len(es))
			}
		}
	})
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRemoveUserRefusedWhileSyncing: a pair of the user being synced by a
// live process stops the removal, and nothing is removed.
func TestRemoveUserRefusedWhileSyncing(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		f := fillUser(t, db, "frank")
		if _, err := db.sql.Exec(`DELETE FROM leases`); err != nil {
			t.Fatal(err)
		}
		unlock, err := db.LockPair(ctx, f.pairs[1])
		if err != nil {
			t.Fatal(err)
		}
		before := ownedRows(t, db, f)
		if err := db.RemoveUser(ctx, "frank"); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), f.pairs[1]) {
			t.Fatalf("RemoveUser during a sync: %v, want ErrLocked naming %s", err, f.pairs[1])
		}
		if got := ownedRows(t, db, f); !mapsEqual(got, before) {
			t.Fatalf("a refused removal changed rows: %v, were %v", got, before)
		}
		if _, err := db.DisconnectWebAccount(ctx, f.account); !errors.Is(err, ErrLocked) {
			t.Fatalf("DisconnectWebAccount during a sync: %v, want ErrLocked", err)
		}
		unlock()
		if err := db.RemoveUser(ctx, "frank"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDisconnectLeavesNoPairState: disconnecting removes the pairs' state
// and the tokens (the books and cards stay), and a pair made again on the
// same book starts empty.
func TestDisconnectLeavesNoPairState(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		f := fillUser(t, db, "frank")
		g := fillUser(t, db, "gina")
		ginaBefore := ownedRows(t, db, g)
		names, err := db.DisconnectWebAccount(ctx, f.account)
		if err != nil || !slices.Equal(names, f.pairs) {
			t.Fatalf("disconnect = %v, %v; want %v", names, err, f.pairs)
		}
		got := ownedRows(t, db, f)
		for _, tbl := range append(slices.Clone(pairTables), "bases", "accounts", "account_refused_fields", "web_pairs", "web_accounts") {
			if got[tbl] != 0 {
				t.Errorf("%s: %d rows left after disconnect", tbl, got[tbl])
			}
		}
		for _, tbl := range []string{"server_users", "addressbooks", "cards", "web_sessions"} {
			if got[tbl] == 0 {
				t.Errorf("%s: disconnect removed the user's %s", tbl, tbl)
			}
		}
		if got := ownedRows(t, db, g); !mapsEqual(got, ginaBefore) {
			t.Errorf("gina's rows changed: %v, were %v", got, ginaBefore)
		}
	})
}

// TestSetUserPasswordEndsSessions: a new password signs the user out of
// every web session (with its pending authorizations), not anyone else.
func TestSetUserPasswordEndsSessions(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		fillUser(t, db, "frank")
		fillUser(t, db, "gina")
		if err := db.SetUserPassword(ctx, "frank", "$2a$other"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WebSession(ctx, "sess-frank", time.Now()); !errors.Is(err, ErrNotFound) {
			t.Errorf("frank's session survived the password change: %v", err)
		}
		if _, err := db.WebSession(ctx, "sess-gina", time.Now()); err != nil {
			t.Errorf("gina's session ended: %v", err)
		}
		if h, _ := db.UserPasswordHash(ctx, "frank"); h != "$2a$other" {
			t.Errorf("hash = %q", h)
		}
		if err := db.SetUserPassword(ctx, "nobody", "$2a$x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
	})
}

// TestWebPairNamesNotReused: a name some state is still kept under (a
// pair removed before this cleanup existed, a configured pair's leftovers)
// is never given to a new pair, and another user's pair keeps its name.
func TestWebPairNamesNotReused(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		for _, u := range []string{"gina", "gina-x"} {
			if err := db.AddUser(ctx, u, "$2a$hash"); err != nil {
				t.Fatal(err)
			}
		}
		// Leftovers of a pair that no longer exists.
		if err := db.AddTrash(ctx, &TrashEntry{Pair: "web-gina:y", Side: "a", Card: []byte("OLD"), Reason: "deleted"}); err != nil {
			t.Fatal(err)
		}
		if err := db.AddRun(ctx, &Run{Pair: "web-gina:z"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct{ user, book, name, want string }{
			{"gina", "x", "web-gina:x", "web-gina:x"},
			{"gina", "y", "web-gina:y", "web-gina:y.2"},
			{"gina", "z", "web-gina:z", "web-gina:z.2"},
			{"gina-x", "w", "web-gina:x", "web-gina:x.2"}, // another web pair's name
		}
		for _, c := range cases {
			got, err := db.CreateWebPair(ctx, WebPair{Name: c.name, User: c.user, Account: "web-" + c.user, Addressbook: c.book}, "")
			if err != nil || got != c.want {
				t.Errorf("CreateWebPair(%s) = %q, %v; want %q", c.name, got, err, c.want)
			}
		}
		if es, _ := db.ListTrash(ctx, "web-gina:y.2"); len(es) != 0 {
			t.Errorf("the new pair has %d trash entries", len(es))
		}
	})
}

// TestClaimWebAccount: claiming an account nobody owns deletes what is
// stored under it (a removed namesake's tokens and pairs); the owner's
// claim keeps its tokens; another user's claim is refused.
func TestClaimWebAccount(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		db.AddUser(ctx, "frank", "$2a$hash")
		db.AddUser(ctx, "gina", "$2a$hash")
		// Tokens left with no owner (an older cardbridge's RemoveUser).
		if err := db.SaveToken(ctx, "web-frank", AccountToken{RefreshToken: "old-frank's"}); err != nil {
			t.Fatal(err)
		}
		if err := db.ClaimWebAccount(ctx, "web-frank", "frank"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := db.LoadToken(ctx, "web-frank"); ok {
			t.Fatal("the unowned leftover tokens survived the claim")
		}
		db.SaveToken(ctx, "web-frank", AccountToken{RefreshToken: "frank's"})
		if err := db.ClaimWebAccount(ctx, "web-frank", "frank"); err != nil {
			t.Fatal(err)
		}
		if tk, ok, _ := db.LoadToken(ctx, "web-frank"); !ok || tk.RefreshToken != "frank's" {
			t.Fatalf("the owner's claim lost the tokens: %+v %v", tk, ok)
		}
		if err := db.ClaimWebAccount(ctx, "web-frank", "gina"); !errors.Is(err, ErrExists) {
			t.Fatalf("gina claimed frank's account: %v", err)
		}
		if err := db.ClaimWebAccount(ctx, "web-x", "nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("claim by an unknown user: %v", err)
		}
	})
}

// TestMigration5CarriesOwners: a database at schema 4 with web pairs and a
// connection keeps them, owned by their users; a removed namesake's
// leftover tokens (older than the user) stay unowned.
func TestMigration5CarriesOwners(t *testing.T) {
	forBackends(t, testMigration5CarriesOwners)
}

func testMigration5CarriesOwners(t *testing.T, be backend) {
	ctx := context.Background()
	path := be.location(t)
	db := be.openAtSchema(t, path, 4)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.sql.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO server_users (name, password_hash, created_at) VALUES ('alice', 'h', 100), ('bob', 'h', 100), ('frank', 'h', 500)`)
	exec(`INSERT INTO web_pairs (name, user_name, account, addressbook, every_ns, created_at) VALUES ('web-alice-o', 'alice', 'web-alice', 'o', 1, 200)`)
	exec(`INSERT INTO accounts (name, refresh_token, updated_at) VALUES ('web-alice', 'ra', 200), ('web-bob', 'rb', 300), ('web-frank', 'old', 400)`)
	db.sql.Close()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for acc, want := range map[string]string{"web-alice": "alice", "web-bob": "bob", "web-frank": ""} {
		if got, err := db.WebAccountOwner(ctx, acc); err != nil || got != want {
			t.Errorf("owner of %s = %q, %v; want %q", acc, got, err, want)
		}
	}
	if ps, _ := db.WebPairs(ctx, "alice"); len(ps) != 1 || ps[0].Name != "web-alice-o" {
		t.Errorf("alice's pairs after the migration: %+v", ps)
	}
}
