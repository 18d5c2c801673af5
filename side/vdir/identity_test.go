package vdir

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestIdentity: a directory's identity is its absolute, cleaned path,
// however the path was written; another directory has another.
func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other")
	os.MkdirAll(filepath.Join(dir, "books"), 0o700)
	os.MkdirAll(other, 0o700)
	t.Chdir(dir)
	want := "vdir " + filepath.Join(dir, "books")
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(dir, "books"), want},
		{filepath.Join(dir, "books") + "/", want},
		{filepath.Join(dir, "other", "..", "books"), want},
		{"books", want},
		{"./books/", want},
		{other, "vdir " + other},
	} {
		s, err := New(tc.path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Identity(context.Background())
		if err != nil || got != tc.want {
			t.Errorf("%s: identity %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}
