package state

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestAccountsRoundTrip(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)

		if _, ok, err := db.LoadToken(ctx, "work"); ok || err != nil {
			t.Fatalf("LoadToken of nothing = %v, %v", ok, err)
		}
		exp := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
		tok := AccountToken{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: exp, User: "alice@contoso.com",
			Tenant: "organizations", Flow: "device", ClientID: "cid", Scopes: []string{"a", "offline_access"}}
		if err := db.SaveToken(ctx, "work", tok); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.LoadToken(ctx, "work")
		if !ok || err != nil {
			t.Fatalf("LoadToken = %v, %v", ok, err)
		}
		if got.Updated.IsZero() {
			t.Error("Updated not set")
		}
		want := tok
		want.Name, want.HasRefreshToken, want.Updated = "work", true, got.Updated
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LoadToken = %+v\nwant        %+v", got, want)
		}

		// Rotation replaces; the last sync time survives a save.
		sync1 := time.Date(2029, 5, 6, 7, 8, 9, 0, time.UTC)
		if err := db.TouchAccountSync(ctx, "work", sync1); err != nil {
			t.Fatal(err)
		}
		tok.RefreshToken, tok.AccessToken = "rt-2", "at-2"
		if err := db.SaveToken(ctx, "work", tok); err != nil {
			t.Fatal(err)
		}
		got, _, _ = db.LoadToken(ctx, "work")
		if got.RefreshToken != "rt-2" || got.AccessToken != "at-2" || !got.LastSync.Equal(sync1) {
			t.Errorf("after rotation: %+v", got)
		}

		// App-only: no refresh token; an account touched before any token.
		if err := db.SaveToken(ctx, "bot", AccountToken{AccessToken: "at-bot", Flow: "client-secret", User: "bob@contoso.com"}); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchAccountSync(ctx, "idle", sync1); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := db.LoadToken(ctx, "idle"); ok || err != nil {
			t.Errorf("LoadToken of an account with no tokens = %v, %v", ok, err)
		}

		list, err := db.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range list {
			names = append(names, a.Name)
			if a.AccessToken != "" || a.RefreshToken != "" {
				t.Errorf("Accounts returned the tokens of %s", a.Name)
			}
		}
		if !reflect.DeepEqual(names, []string{"bot", "idle", "work"}) {
			t.Fatalf("Accounts names = %v", names)
		}
		if w := list[2]; !w.HasRefreshToken || w.User != "alice@contoso.com" || !w.Expiry.Equal(exp) || !w.LastSync.Equal(sync1) ||
			w.Flow != "device" || w.Tenant != "organizations" || !reflect.DeepEqual(w.Scopes, []string{"a", "offline_access"}) {
			t.Errorf("Accounts work = %+v", w)
		}
		if b := list[0]; b.HasRefreshToken || b.Flow != "client-secret" || !b.Expiry.IsZero() || !b.LastSync.IsZero() {
			t.Errorf("Accounts bot = %+v", b)
		}

		if err := db.DeleteToken(ctx, "work"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteToken(ctx, "work"); err != nil {
			t.Errorf("second DeleteToken: %v", err)
		}
		if _, ok, err := db.LoadToken(ctx, "work"); ok || err != nil {
			t.Errorf("LoadToken after DeleteToken = %v, %v", ok, err)
		}
		if list, _ := db.Accounts(ctx); len(list) != 2 {
			t.Errorf("Accounts after DeleteToken: %d rows", len(list))
		}
	})
}

// Migration 0002 applies on a database made by a binary that knew 0001 only,
// keeping what it holds.
func TestAccountsMigrationOnExisting0001(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`,
		ms[0].sql,
		`INSERT INTO schema_version VALUES (1, '` + ms[0].name + `', 0)`,
		`INSERT INTO items (pair, uid, updated_at) VALUES ('p', 'u1', 0)`,
		`INSERT INTO sync_tokens VALUES ('p', 'a', 'delta', 0)`,
	} {
		if _, err := old.ExecContext(ctx, q); err != nil {
			old.Close()
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := Open(ctx, path, Options{TokenKey: testTokenKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v != LatestSchemaVersion() || v < 2 {
		t.Fatalf("schema version %d (%v), want %d", v, err, LatestSchemaVersion())
	}
	if n, err := db.CountItems(ctx, "p"); err != nil || n != 1 {
		t.Errorf("items after migration: %d, %v", n, err)
	}
	if err := db.SaveToken(ctx, "work", AccountToken{RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := db.LoadToken(ctx, "work"); !ok || err != nil || got.RefreshToken != "rt" {
		t.Errorf("LoadToken after migration = %+v, %v, %v", got, ok, err)
	}
}
