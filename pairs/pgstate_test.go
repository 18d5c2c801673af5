package pairs

import (
	"path/filepath"
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
