package pairs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestPostgresState: a state URL is opened as a database, not looked for
// as a file: writable and read-only, the web pairs it holds are merged, and
// a dry run of an Office 365 pair opens it writable.
func TestPostgresState(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Database(t)
	cfg := &config.Config{State: url, SecretKeyFile: filepath.Join(t.TempDir(), "state.key"),
		Server: config.Server{Connect: config.Connect{ClientID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Tenant: "contoso.example"}},
		Pairs:  map[string]config.Pair{"work": {Name: "work", A: config.Side{Type: config.SideO365}, B: config.Side{Type: config.SideVdir}}}}
	env := []string{"HOME=" + t.TempDir()}
	if _, err := OpenState(ctx, cfg, StateOptions{ReadOnly: true, Env: env}); err == nil {
		t.Error("read-only OpenState of an unmigrated PostgreSQL database succeeded")
	}
	db, err := OpenState(ctx, cfg, StateOptions{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddUser(ctx, "alice", "hash"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateWebPair(ctx, state.WebPair{Name: "web-alice-o", User: "alice", Account: "web-alice", Addressbook: "o", Every: time.Hour}, "Office"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenState(ctx, cfg, StateOptions{ReadOnly: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if v, err := ro.SchemaVersion(ctx); err != nil || v != state.LatestSchemaVersion() {
		t.Errorf("read-only OpenState: schema %d, %v; want the database, not an empty memory state", v, err)
	}
	if out := WithWebPairs(ctx, cfg, nil); out.Pairs["web-alice-o"].Name == "" {
		t.Errorf("WithWebPairs of a PostgreSQL state: pairs %v, want web-alice-o among them", out.Pairs)
	}
	if !DryRunWritesState(cfg, []string{"work"}) {
		t.Error("DryRunWritesState of an Office 365 pair on a PostgreSQL state = false")
	}
}

// TestPostgresStateMakesNoKeyFile: two replicas of one PostgreSQL state
// without a key do not each make a key file (each would seal tokens the
// other cannot open): saving a token fails, saying how to give them one;
// with one key file given to both, a token one saves opens on the other.
func TestPostgresStateMakesNoKeyFile(t *testing.T) {
	ctx := t.Context()
	url := pgtest.Database(t)
	env := []string{"HOME=" + t.TempDir()}
	keyA, keyB := filepath.Join(t.TempDir(), "state.key"), filepath.Join(t.TempDir(), "state.key")
	open := func(key string) *state.DB {
		t.Helper()
		db, err := OpenState(ctx, &config.Config{State: url, SecretKeyFile: key}, StateOptions{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a := open(keyA)
	if _, err := os.Stat(keyA); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a key file was made for a PostgreSQL state: %v", err)
	}
	err := a.SaveToken(ctx, "work", state.AccountToken{RefreshToken: "rt"})
	if err == nil || !strings.Contains(err.Error(), "head -c 32 /dev/urandom | base64 > "+keyA) {
		t.Fatalf("SaveToken without a key: %v", err)
	}

	key := "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n"
	for _, f := range []string{keyA, keyB} {
		if err := os.WriteFile(f, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, b := open(keyA), open(keyB)
	if err := a.SaveToken(ctx, "work", state.AccountToken{RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	if tok, ok, err := b.LoadToken(ctx, "work"); err != nil || !ok || tok.RefreshToken != "rt" {
		t.Errorf("the other replica reads %+v %v %v", tok, ok, err)
	}
}
