//go:build unix

package vdir

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// safeNameRE is what a file name made from a UID may look like: no
// separator, no NUL, not hidden, ".vcf".
var safeNameRE = regexp.MustCompile(`^[A-Za-z0-9@_+\-][A-Za-z0-9@._+\-]{0,127}\.vcf$`)

// treeOf lists every path under root (relative), with its size.
func treeOf(t *testing.T, root string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSecurityHostileUIDs: a card whose UID is a path, holds a separator
// or NUL, or is very long, is created inside the folder under a safe name,
// reads back with its UID intact, and updates and deletes touch only that
// file.
func TestSecurityHostileUIDs(t *testing.T) {
	uids := []string{
		"../../x", "../x", "..", ".", "/etc/passwd", "a/b", "a/../../../b", `..\..\x`, `C:\x`,
		"x\x00y", "\x00", "%2e%2e%2fx", "..%2f..%2fx", "-rf", "~root", ".bashrc", "con", "x.vcf/..",
		strings.Repeat("l", 10000), strings.Repeat("../", 2000) + "x", "ünï/cödé", "a\nb", "a\rUID:b",
	}
	for _, uid := range uids {
		s, root, dir := newBookIn(t, "book")
		ctx := context.Background()
		c := vcard.New(vcard.V30)
		c.SetUID(uid)
		c.SetFN("Hostile")
		ref, err := s.Create(ctx, c)
		if strings.Contains(uid, "\x00") {
			// A NUL byte cannot be written to a vCard file that anything
			// reads back: refused, nothing written.
			if !errors.Is(err, engine.ErrRefused) || !strings.Contains(err.Error(), "NUL") {
				t.Errorf("Create(uid %q): %v, want a refusal naming the NUL byte", uid, err)
			}
			if tree := treeOf(t, root); len(tree) != 2 {
				t.Errorf("uid %q: left %v", uid, tree)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Create(uid %.40q): %v", uid, err)
		}
		if !safeNameRE.MatchString(ref.ID) {
			t.Errorf("uid %.40q gave the file name %q", uid, ref.ID)
		}
		top, err := os.ReadDir(root)
		if err != nil || len(top) != 1 || top[0].Name() != "book" {
			t.Fatalf("uid %.40q: something was written beside the folder: %v", uid, top)
		}
		files, err := os.ReadDir(dir)
		if err != nil || len(files) != 1 || files[0].Name() != ref.ID || !files[0].Type().IsRegular() {
			t.Fatalf("uid %.40q: folder holds %v", uid, files)
		}
		it := getOne(t, s, ref.ID)
		if it.Err != nil {
			t.Fatalf("uid %.40q: %v", uid, it.Err)
		}
		if it.Card.UID() != c.UID() {
			t.Errorf("uid %.40q read back as %.40q", c.UID(), it.Card.UID())
		}
		c.SetFN("Hostile, updated")
		ref2, err := s.Update(ctx, it.Ref, c)
		if err != nil || ref2.ID != ref.ID {
			t.Fatalf("uid %.40q: Update = %v, %v", uid, ref2, err)
		}
		if err := s.Delete(ctx, ref2); err != nil {
			t.Fatalf("uid %.40q: Delete: %v", uid, err)
		}
		if tree := treeOf(t, root); len(tree) != 2 {
			t.Fatalf("uid %.40q: left %v", uid, tree)
		}
	}
}

// TestSecurityOddEntries: a folder holding a fifo, a socket, a directory
// named *.vcf, symlinks out of the folder (to a file, to a directory, to
// /dev/zero), a symlink to a fifo, a symlink loop and a huge sparse file is
// listed and read without hanging and without reading anything outside it:
// the good card reads, each odd entry is skipped or reported with an error
// naming it (never as deleted), and writes through a link out of the folder
// are refused, leaving the target untouched.
func TestSecurityOddEntries(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "book")
	outDir := filepath.Join(root, "outside")
	for _, d := range []string{dir, outDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(outDir, "secret.vcf")
	writeFile(t, secret, cardText("secret-uid", "Outside Secret"))
	writeFile(t, filepath.Join(dir, "good.vcf"), cardText("good", "Good"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Mkfifo(filepath.Join(dir, "pipe.vcf"), 0o600))
	must(syscall.Mkfifo(filepath.Join(dir, ".hidden-pipe"), 0o600))
	must(os.Symlink("pipe.vcf", filepath.Join(dir, "pipelink.vcf")))
	must(os.Mkdir(filepath.Join(dir, "folder.vcf"), 0o700))
	writeFile(t, filepath.Join(dir, "folder.vcf", "inner.vcf"), cardText("inner", "Inner"))
	must(os.Symlink(secret, filepath.Join(dir, "out.vcf")))
	must(os.Symlink("../outside/secret.vcf", filepath.Join(dir, "outrel.vcf")))
	must(os.Symlink(outDir, filepath.Join(dir, "outdir.vcf")))
	must(os.Symlink("/dev/zero", filepath.Join(dir, "zero.vcf")))
	must(os.Symlink("loop.vcf", filepath.Join(dir, "loop.vcf")))
	ln, err := net.Listen("unix", filepath.Join(dir, "sock.vcf"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	huge, err := os.Create(filepath.Join(dir, "huge.vcf"))
	must(err)
	must(huge.Truncate(maxFileSize + 1)) // sparse: no disk used
	huge.Close()
	outBefore := treeOf(t, outDir)
	secretBefore, _ := os.ReadFile(secret)

	s, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		refs  []engine.Ref
		items []engine.Item
		err   error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		refs, err := s.List(ctx)
		if err != nil {
			done <- result{err: err}
			return
		}
		ids := make([]string, 0, len(refs)+4)
		for _, r := range refs {
			ids = append(ids, r.ID)
		}
		// The engine only asks for listed ids, but a stale state could
		// name any of them: ask for the unlisted ones too.
		ids = append(ids, "pipe.vcf", "folder.vcf", "sock.vcf", "pipelink.vcf")
		items, err := s.Get(ctx, ids)
		done <- result{refs: refs, items: items, err: err}
	}()
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("List/Get of a folder with a fifo did not return (hung on the fifo?)")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	listed := map[string]bool{}
	for _, r := range res.refs {
		listed[r.ID] = true
	}
	for _, name := range []string{"pipe.vcf", "pipelink.vcf", "folder.vcf", "sock.vcf"} {
		if listed[name] {
			t.Errorf("%s is listed as a contact", name)
		}
	}
	// Links out of the folder are listed (so that nothing is deleted
	// because of them) but never read.
	if !listed["good.vcf"] || !listed["huge.vcf"] || !listed["out.vcf"] || !listed["outdir.vcf"] {
		t.Errorf("List = %v", res.refs)
	}
	for _, it := range res.items {
		switch it.ID {
		case "good.vcf":
			if it.Err != nil || it.Card == nil || it.Card.UID() != "good" {
				t.Errorf("good.vcf: %+v", it)
			}
			continue
		}
		if it.Err == nil || it.Card != nil {
			t.Errorf("%s read as a contact: %+v", it.ID, it)
			continue
		}
		if !strings.Contains(it.Err.Error(), it.ID) {
			t.Errorf("%s: the error does not name the file: %v", it.ID, it.Err)
		}
		if errors.Is(it.Err, engine.ErrNotFound) {
			t.Errorf("%s: an unreadable entry looks deleted: %v", it.ID, it.Err)
		}
		if strings.Contains(it.Err.Error(), "Outside Secret") {
			t.Errorf("%s: content from outside in the error", it.ID)
		}
		switch it.ID {
		case "out.vcf", "outrel.vcf", "zero.vcf", "outdir.vcf":
			if !errors.Is(it.Err, ErrSymlinkOutside) {
				t.Errorf("%s: %v, want ErrSymlinkOutside", it.ID, it.Err)
			}
		case "huge.vcf":
			if !strings.Contains(it.Err.Error(), "too large") {
				t.Errorf("huge.vcf: %v", it.Err)
			}
		}
	}
	// Writes through links out of the folder are refused.
	for _, name := range []string{"out.vcf", "outrel.vcf", "zero.vcf", "outdir.vcf"} {
		ref := engine.Ref{ID: name, Version: versionOf(res.refs, name)}
		if _, err := s.Update(context.Background(), ref, mkCard(t, "secret-uid", "Overwritten")); err == nil {
			t.Errorf("Update through %s accepted", name)
		}
	}
	if got := treeOf(t, outDir); len(got) != len(outBefore) {
		t.Errorf("outside folder changed: %v", got)
	}
	if after, _ := os.ReadFile(secret); string(after) != string(secretBefore) {
		t.Errorf("outside file rewritten:\n%s", after)
	}
	if _, err := os.Stat(filepath.Join(dir, "folder.vcf", "inner.vcf")); err != nil {
		t.Errorf("the directory named folder.vcf lost its content: %v", err)
	}
}

func versionOf(refs []engine.Ref, id string) string {
	for _, r := range refs {
		if r.ID == id {
			return r.Version
		}
	}
	return ""
}

// TestSecurityReadFileFifo: a fifo that takes a contact file's place
// between the listing and the read is refused at once, not waited on.
func TestSecurityReadFileFifo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "swapped.vcf")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := readFile(p)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("readFile of a fifo: %v", err)
		}
	case <-time.After(20 * time.Second):
		// Unblock the reader so the test ends.
		if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("readFile blocked on a fifo")
	}
}
