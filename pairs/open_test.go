package pairs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cardbridge/cardbridge/config"
)

// TestOpen: a writable Open makes the state file and a Runner over it and
// its configuration; a read-only Open of a missing file writes nothing.
func TestOpen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	cfg := &config.Config{State: filepath.Join(dir, "state.db"), SecretKeyFile: filepath.Join(dir, "state.key"), Pairs: map[string]config.Pair{}}
	env := []string{"HOME=" + dir}

	r, db, err := Open(ctx, Options{Config: cfg, Env: env}, true)
	if err != nil {
		t.Fatalf("read-only Open: %v", err)
	}
	if r.Config() != cfg {
		t.Error("the Runner does not hold the configuration")
	}
	db.Close()
	if _, err := os.Stat(cfg.State); !os.IsNotExist(err) {
		t.Errorf("a read-only Open made the state file: %v", err)
	}

	r, db, err = Open(ctx, Options{Config: cfg, Env: env}, false)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := db.AddUser(ctx, "ann", "hash"); err != nil {
		t.Fatal(err)
	}
	if us, err := r.UserViews(ctx); err != nil || len(us) != 1 {
		t.Errorf("the Runner does not read the opened state: %v, %v", us, err)
	}
	db.Close()
	if _, err := os.Stat(cfg.State); err != nil {
		t.Errorf("Open made no state file: %v", err)
	}

}
