package demo

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
)

// TestConfigIsTheFile: the demo runs on Config, a value, and writes
// ConfigYAML for other commands' --config; loading that file gives the
// same configuration, defaults included, so the demo and `cardbridge
// --config ... status` see one thing. Workspaces with odd folder names
// (spaces, quotes, backslashes) included.
func TestConfigIsTheFile(t *testing.T) {
	for _, name := range []string{"plain", "with space", `quo"te`, `back\slash`} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			w := &Workspace{Dir: dir, Listen: "127.0.0.1:15232", Password: "p", Secret: "s", Contacts: 3, GraphURL: "http://127.0.0.1:15233"}
			want := w.Config()
			if err := os.WriteFile(w.ConfigFile(), ConfigYAML(want), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := config.Load(w.ConfigFile(), true, nil)
			if err != nil {
				t.Fatalf("the written configuration does not load: %v\n%s", err, ConfigYAML(want))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("loaded\n%+v\nwant (the demo's value)\n%+v", got, want)
			}
			p, _ := want.Pair(Pair)
			if p.A.Type != config.SideO365 || p.B.Type != config.SideServer || p.B.User != User || p.B.Addressbook != state.DefaultAddressBook || p.Every != Every {
				t.Errorf("pair %+v", p)
			}
		})
	}
}

// TestNewWorkspaceRefuses: bad flags are usage errors naming the flag.
func TestNewWorkspaceRefuses(t *testing.T) {
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	cases := []struct {
		name, dir, listen string
		contacts          int
		want              string
	}{
		{"no contacts", "", "", 0, "--contacts 0: want 1 to 100000"},
		{"too many contacts", "", "", MaxContacts + 1, "--contacts 100001"},
		{"listen not host:port", "", "localhost", 10, `--listen "localhost": want host:port`},
		{"dir not empty", full, "127.0.0.1:0", 10, "not empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := NewWorkspace(tc.dir, tc.listen, tc.contacts)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v, want a usage error containing %q", err, tc.want)
			}
		})
	}
}

// TestSetup: graphsim starts on a loopback port and stops (twice is
// harmless); Setup writes the secret and the state with the server's
// user.
func TestSetup(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "ws")
	w, keep, err := NewWorkspace(dir, "127.0.0.1:0", 10)
	if err != nil || !keep {
		t.Fatalf("NewWorkspace: keep %v, %v", keep, err)
	}
	stop, err := StartGraphsim(ctx, w, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if !strings.HasPrefix(w.GraphURL, "http://127.0.0.1:") {
		t.Errorf("graph URL %q", w.GraphURL)
	}
	cfg, err := Setup(ctx, w, nil, slogDiscard())
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(w.SecretFile()); strings.TrimSpace(string(raw)) != w.Secret {
		t.Errorf("secret file %q", raw)
	}
	db := statetest.Open(t, cfg.State, state.Options{ReadOnly: true})
	defer db.Close()
	if _, err := db.UserPasswordHash(ctx, User); err != nil {
		t.Errorf("user %s: %v", User, err)
	}
	stop()
	stop() // twice is harmless
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
