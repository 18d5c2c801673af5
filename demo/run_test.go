package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/config"
)

// TestRun: the demo syncs its pair once, then serves the same
// configuration, and says so; a failed first sync comes back as it is and
// nothing is served; an interrupted one stops quietly; bad flags are
// ErrUsage. A temporary workspace is removed at exit, a named one stays.
func TestRun(t *testing.T) {
	syncErr := errors.New("sync failed")
	for _, tc := range []struct {
		name      string
		keep      bool
		contacts  int
		sync      func(ctx context.Context, cancel context.CancelFunc) error
		wantErr   error
		wantServe bool
		wantOut   []string
	}{
		{name: "runs", contacts: 3, wantServe: true,
			wantOut: []string{"First sync:", "Stopped: the server, the scheduler and the simulated Office 365.", "Removed the demo workspace"}},
		{name: "keeps a named folder", keep: true, contacts: 3, wantServe: true, wantOut: []string{"The demo's workspace stays in"}},
		{name: "first sync fails", contacts: 3, sync: func(context.Context, context.CancelFunc) error { return syncErr }, wantErr: syncErr,
			wantOut: []string{"Removed the demo workspace"}},
		{name: "interrupted", contacts: 3, sync: func(_ context.Context, cancel context.CancelFunc) error { cancel(); return syncErr },
			wantOut: []string{"Interrupted during the first sync; stopped."}},
		{name: "bad flags", contacts: 0, wantErr: ErrUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var out bytes.Buffer
			var synced, served *config.Config
			o := RunOptions{Listen: "127.0.0.1:0", Contacts: tc.contacts, Stdout: &out, Stderr: &out, Logger: slogDiscard(),
				Sync: func(ctx context.Context, cfg *config.Config) error {
					synced = cfg
					if tc.sync != nil {
						return tc.sync(ctx, cancel)
					}
					return nil
				},
				Serve: func(ctx context.Context, cfg *config.Config) error { served = cfg; return nil }}
			if tc.keep {
				o.Dir = filepath.Join(t.TempDir(), "kept")
			}
			err := Run(ctx, o)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Run: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && tc.name != "interrupted" {
				if _, ok := synced.Pair(Pair); !ok {
					t.Errorf("the first sync ran on %+v, without the pair %s", synced, Pair)
				}
			}
			if (served != nil) != tc.wantServe || (served != nil && served != synced) {
				t.Errorf("served %v (synced %p), want served: %v, the synced configuration", served != nil, synced, tc.wantServe)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.keep {
				if _, err := os.Stat(filepath.Join(o.Dir, "config.yaml")); err != nil {
					t.Errorf("the kept workspace lost its configuration: %v", err)
				}
			}
		})
	}
}
