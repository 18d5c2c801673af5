package serve

import (
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/directory"
	"github.com/cardbridge/cardbridge/state"
)

// TestDAVStoreDirectory: the CardDAV server's store adds the Directory
// books only when an account has directory set.
func TestDAVStoreDirectory(t *testing.T) {
	db, err := state.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := &config.Config{Accounts: map[string]config.Account{"plain": {Name: "plain", Tenant: "contoso.com"}}}
	if _, ok := davStore(cfg, db).(*state.DB); !ok {
		t.Fatal("no directory configured, yet the store is wrapped")
	}
	cfg.Accounts["org"] = config.Account{Name: "org", Tenant: "aaaaaaaa-0000-4000-8000-000000000001", Directory: &config.DirectoryBook{Guests: true}}
	if _, ok := davStore(cfg, db).(*directory.Books); !ok {
		t.Fatal("directory configured, yet the store is not directory.Books")
	}
}
