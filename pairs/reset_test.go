package pairs

import (
	"errors"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/state"
)

// TestReset: each side named is reset in order (a dry run only counts),
// and a pair being synced is refused with ErrLocked and a hint.
func TestReset(t *testing.T) {
	ctx := t.Context()
	f, r, _, _ := syncedVdirs(t, "Ann", "Bob")
	got, err := r.Reset(ctx, "p", []string{"a", "b"}, true)
	if err != nil || len(got) != 2 || got[0].Side != "a" || got[1].Side != "b" || got[0].Items != 2 || !strings.HasPrefix(got[0].Identity, "vdir ") {
		t.Fatalf("dry run: %+v, %v", got, err)
	}
	if again, _ := r.Reset(ctx, "p", []string{"a"}, true); again[0].Identity == "" {
		t.Fatal("a dry run forgot the identity")
	}
	if got, err = r.Reset(ctx, "p", []string{"b"}, false); err != nil || len(got) != 1 || got[0].Side != "b" || got[0].Items != 2 {
		t.Fatalf("reset b: %+v, %v", got, err)
	}
	if again, _ := r.Reset(ctx, "p", []string{"b"}, true); again[0].Identity != "" {
		t.Errorf("side b still has identity %q after its reset", again[0].Identity)
	}
	unlock, err := f.db.LockPair(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if got, err = r.Reset(ctx, "p", []string{"a"}, false); !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "reset p: ") || !strings.Contains(err.Error(), "try again once it has finished") || len(got) != 0 {
		t.Errorf("a locked pair: %+v, %v", got, err)
	}
}
