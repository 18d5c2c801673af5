package vdir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

var randomNameRE = regexp.MustCompile(`^[0-9a-f]{32}\.vcf$`)

// cardText returns a minimal vCard 3.0; no UID line when uid is empty.
func cardText(uid, fn string) string {
	s := "BEGIN:VCARD\r\nVERSION:3.0\r\n"
	if uid != "" {
		s += "UID:" + uid + "\r\n"
	}
	return s + "FN:" + fn + "\r\nEND:VCARD\r\n"
}

func mkCard(t testing.TB, uid, fn string) *vcard.Card {
	t.Helper()
	c, err := vcard.Parse([]byte(cardText(uid, fn)))
	if err != nil {
		t.Fatalf("parse test card: %v", err)
	}
	return c
}

func newSide(t testing.TB) (*Side, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// newBookIn opens a side on dir, the folder name in a fresh root, which
// the side creates (Options.Create).
func newBookIn(t testing.TB, name string) (s *Side, root, dir string) {
	t.Helper()
	root = t.TempDir()
	dir = filepath.Join(root, name)
	s, err := New(dir, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, root, dir
}

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ids(refs []engine.Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

func listMap(t testing.TB, s *Side) map[string]string {
	t.Helper()
	refs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range refs {
		m[r.ID] = r.Version
	}
	return m
}

func getOne(t testing.TB, s *Side, id string) engine.Item {
	t.Helper()
	items, err := s.Get(context.Background(), []string{id})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].ID != id {
		t.Fatalf("Get(%q) = %+v", id, items)
	}
	return items[0]
}

func TestNew(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "x")
	_, err := New(missing, Options{})
	if err == nil || err.Error() != "vdir "+missing+": directory does not exist" || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: err = %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("New without Create made the directory")
	}

	made := filepath.Join(root, "a", "b")
	s, err := New(made, Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(made)
	if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("created dir: %v %v", fi, err)
	}
	if s.Name() != "vdir "+made {
		t.Errorf("Name() = %q", s.Name())
	}
	refs, err := s.List(context.Background())
	if err != nil || len(refs) != 0 {
		t.Errorf("empty dir: List = %v, %v", refs, err)
	}

	file := filepath.Join(root, "f")
	writeFile(t, file, "")
	if _, err := New(file, Options{Create: true}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as dir: err = %v", err)
	}
	if _, err := New("", Options{}); err == nil {
		t.Error("empty path accepted")
	}
}

func TestListFiltering(t *testing.T) {
	s, dir := newSide(t)
	for _, name := range []string{
		"a.vcf", "B.VCF", "c.Vcf", // contacts
		".hidden.vcf", "x.tmp", "x.vcf.tmp", ".a.vcf.cb123.tmp", // hidden and temporary
		"displayname", "color", "description", "noext", // vdir metadata, no extension
		"notes.txt", ".vcf", "vcf", // other
	} {
		writeFile(t, filepath.Join(dir, name), cardText("u-"+name, name))
	}
	for _, d := range []string{"dir.vcf", "sub"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("sub", filepath.Join(dir, "linkdir.vcf")); err != nil {
		t.Fatal(err)
	}
	refs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(refs), []string{"B.VCF", "a.vcf", "c.Vcf"}; !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	fi, _ := os.Stat(filepath.Join(dir, "a.vcf"))
	vre := regexp.MustCompile(`^[0-9]+;[0-9]+;[0-9]+$`)
	for _, r := range refs {
		if !vre.MatchString(r.Version) {
			t.Errorf("version %q has not the form mtime_ns;inode;size", r.Version)
		}
	}
	if want := fmt.Sprintf("%d;%d;%d", fi.ModTime().UnixNano(), inode(fi), fi.Size()); refs[1].Version != want {
		t.Errorf("version = %q, want %q", refs[1].Version, want)
	}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	s, dir := newSide(t)
	ctx := context.Background()
	ref, err := s.Create(ctx, mkCard(t, "alice-1", "Alice"))
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID != "alice-1.vcf" {
		t.Errorf("created %q, want alice-1.vcf", ref.ID)
	}
	if v := listMap(t, s)[ref.ID]; v != ref.Version {
		t.Errorf("List version %q, Create returned %q", v, ref.Version)
	}
	it := getOne(t, s, ref.ID)
	if it.Err != nil || it.Card == nil || it.Card.UID() != "alice-1" || it.Version != ref.Version {
		t.Fatalf("Get = %+v", it)
	}
	fi, _ := os.Stat(filepath.Join(dir, ref.ID))
	if !it.ModTime.Equal(fi.ModTime()) {
		t.Errorf("ModTime %v, file %v", it.ModTime, fi.ModTime())
	}

	// Update keeps the name even when the UID changes.
	ref2, err := s.Update(ctx, ref, mkCard(t, "other-uid", "Alice B"))
	if err != nil {
		t.Fatal(err)
	}
	if ref2.ID != ref.ID || ref2.Version == ref.Version {
		t.Fatalf("Update: %+v -> %+v", ref, ref2)
	}
	if got := listMap(t, s); len(got) != 1 || got[ref.ID] != ref2.Version {
		t.Fatalf("after update List = %v", got)
	}
	if it := getOne(t, s, ref.ID); it.Card == nil || it.Card.UID() != "other-uid" {
		t.Fatalf("after update Get = %+v", it)
	}

	if err := s.Delete(ctx, ref2); err != nil {
		t.Fatal(err)
	}
	if got := listMap(t, s); len(got) != 0 {
		t.Fatalf("after delete List = %v", got)
	}
	if err := s.Delete(ctx, ref2); err != nil {
		t.Errorf("delete of a missing file: %v", err)
	}
	it = getOne(t, s, ref.ID)
	if !errors.Is(it.Err, engine.ErrNotFound) || it.Card != nil {
		t.Errorf("Get of deleted: %+v", it)
	}
	assertNoTemp(t, dir)
}

// TestVersionChangesOnSameSizeRewrite: a rewrite of the same size within
// the same clock tick still changes the version (new inode via rename).
func TestVersionChangesOnSameSizeRewrite(t *testing.T) {
	s, _ := newSide(t)
	ctx := context.Background()
	ref, err := s.Create(ctx, mkCard(t, "v", "AAAA"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{ref.Version: true}
	for _, fn := range []string{"BBBB", "CCCC", "BBBB", "AAAA"} {
		ref, err = s.Update(ctx, ref, mkCard(t, "v", fn))
		if err != nil {
			t.Fatal(err)
		}
		if seen[ref.Version] {
			t.Fatalf("version %q repeated after a same-size rewrite", ref.Version)
		}
		seen[ref.Version] = true
	}
}

func TestCreateNames(t *testing.T) {
	long := strings.Repeat("a", 128)
	for _, tc := range []struct {
		uid, want string // want "" = a random name
	}{
		{"abc-123@example.com", "abc-123@example.com.vcf"},
		{"A_b+c.d", "A_b+c.d.vcf"},
		{long, long + ".vcf"},
		{long + "a", ""},
		{"../../etc/passwd", ""},
		{"a/b", ""},
		{`a\b`, ""},
		{"", ""},
		{".hidden", ""},
		{"..", ""},
		{"ünïcödé", ""},
		{"a b", ""},
		{"a:b", ""},
		{"urn:uuid:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", ""},
	} {
		t.Run(tc.uid, func(t *testing.T) {
			s, root, _ := newBookIn(t, "c")
			ref, err := s.Create(context.Background(), mkCard(t, tc.uid, "X"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && ref.ID != tc.want || tc.want == "" && !randomNameRE.MatchString(ref.ID) {
				t.Fatalf("name %q, want %q", ref.ID, tc.want)
			}
			if got := listMap(t, s); len(got) != 1 || got[ref.ID] != ref.Version {
				t.Fatalf("List = %v", got)
			}
			if rootEntries, _ := os.ReadDir(root); len(rootEntries) != 1 {
				t.Fatalf("something was written outside the directory: %v", rootEntries)
			}
			if it := getOne(t, s, ref.ID); it.Err != nil || it.Card.UID() != tc.uid {
				t.Fatalf("Get = %+v", it)
			}
		})
	}
}

func TestCreateNeverOverwrites(t *testing.T) {
	s, dir := newSide(t)
	ctx := context.Background()
	orig := cardText("someone-else", "Precious")
	writeFile(t, filepath.Join(dir, "dup.vcf"), orig)
	ref, err := s.Create(ctx, mkCard(t, "dup", "New"))
	if err != nil {
		t.Fatal(err)
	}
	if !randomNameRE.MatchString(ref.ID) {
		t.Errorf("clash gave %q, want a random name", ref.ID)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "dup.vcf")); string(b) != orig {
		t.Fatal("Create overwrote an existing file")
	}
	// Same UID twice: two files.
	r1, err1 := s.Create(ctx, mkCard(t, "twice", "1"))
	r2, err2 := s.Create(ctx, mkCard(t, "twice", "2"))
	if err1 != nil || err2 != nil || r1.ID == r2.ID {
		t.Fatalf("creates: %v %v %v %v", r1, err1, r2, err2)
	}
	if got := listMap(t, s); len(got) != 4 {
		t.Fatalf("List = %v", got)
	}
	assertNoTemp(t, dir)
}

func TestLinkNewFallback(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".t.cb1.tmp")
	writeFile(t, tmp, "x")
	final := filepath.Join(dir, "f.vcf")
	writeFile(t, final, "keep")
	if err := linkNew(tmp, final); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("linkNew over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(final); string(b) != "keep" {
		t.Fatal("overwritten")
	}
	if !linkUnsupported(&os.LinkError{Op: "link", Err: syscall.EPERM}) {
		t.Error("EPERM not seen as unsupported")
	}
}

func TestPreconditions(t *testing.T) {
	s, dir := newSide(t)
	ctx := context.Background()
	ref, err := s.Create(ctx, mkCard(t, "p", "P"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ref.ID)
	stale := engine.Ref{ID: ref.ID, Version: "1;2;3"}
	if _, err := s.Update(ctx, stale, mkCard(t, "p", "Changed")); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("Update with a stale version: %v", err)
	} else if !strings.Contains(err.Error(), "update "+ref.ID) {
		t.Errorf("error does not name the operation and file: %v", err)
	}
	if _, err := s.Update(ctx, engine.Ref{ID: ref.ID}, mkCard(t, "p", "Changed")); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("Update with an empty version: %v", err)
	}
	if err := s.Delete(ctx, stale); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("Delete with a stale version: %v", err)
	}
	if it := getOne(t, s, ref.ID); it.Card == nil || it.Version != ref.Version {
		t.Fatalf("file changed by refused writes: %+v", it)
	}

	// Someone else rewrites the file: our ref is stale.
	writeFile(t, p+".new", cardText("p", "External"))
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, ref, mkCard(t, "p", "Ours")); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("Update after an external change: %v", err)
	}
	if err := s.Delete(ctx, ref); !errors.Is(err, engine.ErrPrecondition) {
		t.Errorf("Delete after an external change: %v", err)
	}

	// Update of a missing file: precondition and not found, nothing created.
	gone := engine.Ref{ID: "gone.vcf", Version: ref.Version}
	_, err = s.Update(ctx, gone, mkCard(t, "g", "G"))
	if !errors.Is(err, engine.ErrPrecondition) || !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Update of a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.vcf")); err == nil {
		t.Error("Update created a missing file")
	}
	if err := s.Delete(ctx, gone); err != nil {
		t.Errorf("Delete of a missing file: %v", err)
	}
	assertNoTemp(t, dir)
}

func TestInvalidIDs(t *testing.T) {
	s, dir := newSide(t)
	ctx := context.Background()
	outside := filepath.Join(filepath.Dir(dir), "victim.vcf")
	writeFile(t, outside, cardText("v", "V"))
	for _, id := range []string{"../victim.vcf", "sub/x.vcf", "", ".hidden.vcf", "x.tmp", "displayname", "/etc/passwd"} {
		if it := getOne(t, s, id); it.Err == nil || errors.Is(it.Err, engine.ErrNotFound) {
			t.Errorf("Get(%q): %+v", id, it)
		}
		if _, err := s.Update(ctx, engine.Ref{ID: id}, mkCard(t, "x", "X")); err == nil {
			t.Errorf("Update(%q) accepted", id)
		}
		if err := s.Delete(ctx, engine.Ref{ID: id}); err == nil {
			t.Errorf("Delete(%q) accepted", id)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatal("file outside removed")
	}
}

func TestSymlinks(t *testing.T) {
	s, root, dir := newBookIn(t, "book")
	ctx := context.Background()
	// Inside: a link to a file in a (hidden, so unlisted) subdirectory.
	if err := os.Mkdir(filepath.Join(dir, ".store"), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, ".store", "in.vcf")
	writeFile(t, target, cardText("in", "Inside"))
	if err := os.Symlink(filepath.Join(".store", "in.vcf"), filepath.Join(dir, "in.vcf")); err != nil {
		t.Fatal(err)
	}
	// Outside: absolute and relative links to a file out of the directory.
	out := filepath.Join(root, "secret.vcf")
	orig := cardText("out", "Outside")
	writeFile(t, out, orig)
	if err := os.Symlink(out, filepath.Join(dir, "out.vcf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.vcf", filepath.Join(dir, "out2.vcf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere.vcf", filepath.Join(dir, "broken.vcf")); err != nil {
		t.Fatal(err)
	}

	vers := listMap(t, s)
	if len(vers) != 4 {
		t.Fatalf("List = %v, want in, out, out2, broken", vers)
	}
	ti, _ := os.Stat(target)
	if vers["in.vcf"] != version(ti) {
		t.Errorf("inside link version %q, target %q", vers["in.vcf"], version(ti))
	}

	it := getOne(t, s, "in.vcf")
	if it.Err != nil || it.Card.UID() != "in" || it.Version != vers["in.vcf"] {
		t.Fatalf("Get inside link: %+v", it)
	}
	for _, id := range []string{"out.vcf", "out2.vcf"} {
		it := getOne(t, s, id)
		if !errors.Is(it.Err, ErrSymlinkOutside) || it.Card != nil ||
			!strings.Contains(it.Err.Error(), id) || !strings.Contains(it.Err.Error(), "symlink points outside the directory") {
			t.Errorf("Get %s: %+v", id, it)
		}
		if _, err := s.Update(ctx, engine.Ref{ID: id, Version: vers[id]}, mkCard(t, "x", "X")); !errors.Is(err, engine.ErrRefused) {
			t.Errorf("Update %s: %v", id, err)
		}
		if err := s.Delete(ctx, engine.Ref{ID: id, Version: vers[id]}); !errors.Is(err, engine.ErrRefused) {
			t.Errorf("Delete %s: %v", id, err)
		}
	}
	if b, _ := os.ReadFile(out); string(b) != orig {
		t.Fatal("file outside the directory was changed")
	}
	if it := getOne(t, s, "broken.vcf"); it.Err == nil || errors.Is(it.Err, engine.ErrNotFound) {
		t.Errorf("Get broken link: %+v (must not look deleted)", it)
	}
	if _, err := s.Update(ctx, engine.Ref{ID: "broken.vcf", Version: vers["broken.vcf"]}, mkCard(t, "x", "X")); !errors.Is(err, engine.ErrRefused) {
		t.Errorf("Update broken link: %v", err)
	}

	// Update through the inside link: the link stays, the target changes.
	ref, err := s.Update(ctx, engine.Ref{ID: "in.vcf", Version: vers["in.vcf"]}, mkCard(t, "in", "Inside 2"))
	if err != nil {
		t.Fatal(err)
	}
	if li, err := os.Lstat(filepath.Join(dir, "in.vcf")); err != nil || li.Mode()&fs.ModeSymlink == 0 {
		t.Fatal("update replaced the symlink")
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), "Inside 2") {
		t.Fatalf("target not updated: %q", b)
	}
	if listMap(t, s)["in.vcf"] != ref.Version {
		t.Error("version after update through the link differs from List")
	}
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "in.vcf")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("link not removed")
	}
	if err := s.Delete(ctx, engine.Ref{ID: "broken.vcf", Version: vers["broken.vcf"]}); err != nil {
		t.Errorf("Delete broken link: %v", err)
	}
	assertNoTemp(t, dir)
	assertNoTemp(t, filepath.Join(dir, ".store"))
}

// TestSymlinkedRoot: the directory itself may be reached through a
// symlink; links inside it still count as inside.
func TestSymlinkedRoot(t *testing.T) {
	root := t.TempDir()
	realDir := filepath.Join(root, "real")
	if err := os.Mkdir(realDir, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(realDir, link); err != nil {
		t.Fatal(err)
	}
	s, err := New(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref, err := s.Create(ctx, mkCard(t, "r", "R"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(realDir, ref.ID), filepath.Join(realDir, "alias.vcf")); err != nil {
		t.Fatal(err)
	}
	vers := listMap(t, s)
	if len(vers) != 2 || vers["alias.vcf"] != ref.Version {
		t.Fatalf("List = %v", vers)
	}
	if it := getOne(t, s, "alias.vcf"); it.Err != nil {
		t.Fatal(it.Err)
	}
}

// TestBadFiles: files that fail to parse give an Item.Err naming the file
// and do not disturb the others.
func TestBadFiles(t *testing.T) {
	s, dir := newSide(t)
	bad, err := filepath.Glob("testdata/bad-*.vcf")
	if err != nil || len(bad) == 0 {
		t.Fatal("no testdata")
	}
	var names []string
	for _, p := range bad {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, filepath.Base(p)), string(b))
		names = append(names, filepath.Base(p))
	}
	writeFile(t, filepath.Join(dir, "good.vcf"), cardText("good", "Good"))
	writeFile(t, filepath.Join(dir, "empty.vcf"), "")
	names = append(names, "good.vcf", "empty.vcf")
	vers := listMap(t, s)
	if len(vers) != len(names) {
		t.Fatalf("List = %v", vers)
	}
	items, err := s.Get(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		name := names[i]
		wantErr := !strings.Contains(name, "duplicate-uid") && name != "good.vcf"
		switch {
		case it.ID != name:
			t.Errorf("item %d is %q, want %q", i, it.ID, name)
		case wantErr && (it.Err == nil || it.Card != nil || !strings.Contains(it.Err.Error(), name)):
			t.Errorf("%s: want an error naming the file, got %+v", name, it)
		case wantErr && errors.Is(it.Err, engine.ErrNotFound):
			t.Errorf("%s: a bad file must not look deleted: %v", name, it.Err)
		case !wantErr && (it.Err != nil || it.Card == nil):
			t.Errorf("%s: %v", name, it.Err)
		case it.Version != vers[name]:
			t.Errorf("%s: version %q, List %q", name, it.Version, vers[name])
		}
	}
}

func TestGetManyInOrder(t *testing.T) {
	s, dir := newSide(t)
	var want []string
	for i := range 100 {
		name := fmt.Sprintf("c%03d.vcf", i)
		writeFile(t, filepath.Join(dir, name), cardText(fmt.Sprintf("uid-%d", i), "N"))
		want = append(want, name)
	}
	slices.Reverse(want)
	want = append(want, "missing.vcf")
	items, err := s.Get(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items[:100] {
		if it.ID != want[i] || it.Err != nil {
			t.Fatalf("item %d: %+v", i, it)
		}
		var n int
		fmt.Sscanf(it.ID, "c%d.vcf", &n)
		if it.Card.UID() != fmt.Sprintf("uid-%d", n) {
			t.Fatalf("item %s has card %s", it.ID, it.Card.UID())
		}
	}
	if !errors.Is(items[100].Err, engine.ErrNotFound) {
		t.Errorf("missing: %+v", items[100])
	}
	if items, err := s.Get(context.Background(), nil); err != nil || len(items) != 0 {
		t.Errorf("Get(nil) = %v, %v", items, err)
	}
}

func TestFileModes(t *testing.T) {
	s, dir := newSide(t)
	ctx := context.Background()
	ref, err := s.Create(ctx, mkCard(t, "m", "M"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ref.ID)
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("created with %v, want 0600", fi.Mode().Perm())
	}
	// An update keeps the permissions the user chose.
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	ref.Version = version(fi) // chmod does not change the version (ctime is not in it)
	if _, err := s.Update(ctx, ref, mkCard(t, "m", "M2")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("update changed mode to %v", fi.Mode().Perm())
	}
}

func TestConcurrentWrites(t *testing.T) {
	s, dir := newSide(t)
	ctx := context.Background()
	const n = 40
	refs := make([]engine.Ref, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			uid := fmt.Sprintf("u%d", i%10) // clashing UIDs too
			refs[i], errs[i] = s.Create(ctx, mkCard(t, uid, "C"))
			if errs[i] == nil {
				refs[i], errs[i] = s.Update(ctx, refs[i], mkCard(t, uid, "CC"))
			}
			if errs[i] == nil && i%2 == 0 {
				errs[i] = s.Delete(ctx, refs[i])
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			continue // deleted: its name may be reused
		}
		if seen[refs[i].ID] {
			t.Fatalf("two live files named %q", refs[i].ID)
		}
		seen[refs[i].ID] = true
	}
	got := listMap(t, s)
	if len(got) != n/2 {
		t.Fatalf("List has %d, want %d", len(got), n/2)
	}
	for i := 1; i < n; i += 2 {
		if got[refs[i].ID] != refs[i].Version {
			t.Errorf("%s: version %q, List %q", refs[i].ID, refs[i].Version, got[refs[i].ID])
		}
	}
	assertNoTemp(t, dir)

	// Concurrent updates of one file with the same ref: exactly one wins.
	ref, err := s.Create(ctx, mkCard(t, "same", "S"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	wins, preconds := 0, 0
	for i := range 8 {
		wg.Go(func() {
			_, err := s.Update(ctx, ref, mkCard(t, "same", fmt.Sprint(i)))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, engine.ErrPrecondition):
				preconds++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || preconds != 7 {
		t.Errorf("wins %d, precondition failures %d", wins, preconds)
	}
}

func TestStaleTemp(t *testing.T) {
	s, dir := newSide(t)
	old := time.Now().Add(-2 * staleTempAge)
	for _, name := range []string{".a.vcf.cb123.tmp", ".fresh.vcf.cb9.tmp", ".other.tmp", ".b.vcf.cbx.tmp"} {
		p := filepath.Join(dir, name)
		writeFile(t, p, "partial")
		if name != ".fresh.vcf.cb9.tmp" {
			os.Chtimes(p, old, old)
		}
	}
	listMap(t, s)
	var left []string
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		left = append(left, de.Name())
	}
	if want := []string{".b.vcf.cbx.tmp", ".fresh.vcf.cb9.tmp", ".other.tmp"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

func TestIsOurTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".a.vcf.cb123.tmp": true, ".x.cb1.tmp": true, ".cb1.tmp": false, ".a.cb.tmp": false,
		"a.vcf.cb1.tmp": false, ".a.vcf.cb1x.tmp": false, ".a.tmp": false, ".a.vcf": false,
	} {
		if isOurTemp(name) != want {
			t.Errorf("isOurTemp(%q) = %v", name, !want)
		}
	}
	// The pattern writeTemp uses matches.
	dir := t.TempDir()
	tmp, _, err := writeTemp(dir, strings.Repeat("é", 100)+".vcf", []byte("x"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if base := filepath.Base(tmp); !isOurTemp(base) || isContactName(base) {
		t.Errorf("temp name %q", base)
	}
}

func TestCancelled(t *testing.T) {
	s, dir := newSide(t)
	writeFile(t, filepath.Join(dir, "a.vcf"), cardText("a", "A"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v", err)
	}
	if _, err := s.Get(ctx, []string{"a.vcf"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Create(ctx, mkCard(t, "b", "B")); !errors.Is(err, context.Canceled) {
		t.Errorf("Create: %v", err)
	}
	if _, err := s.Update(ctx, engine.Ref{ID: "a.vcf"}, mkCard(t, "b", "B")); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v", err)
	}
	if err := s.Delete(ctx, engine.Ref{ID: "a.vcf"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
}

func TestDirSyncerGroups(t *testing.T) {
	d := dirSyncer{dir: t.TempDir()}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := d.sync(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.running { // a drain goroutine may still be finishing
		d.mu.Unlock()
		time.Sleep(time.Millisecond)
		d.mu.Lock()
	}
	if d.next != nil {
		t.Error("batch left pending")
	}
	missing := dirSyncer{dir: filepath.Join(d.dir, "missing")}
	if err := missing.sync(); err == nil {
		t.Error("fsync of a missing directory succeeded")
	}
}

// assertNoTemp fails if dir holds any hidden temporary file.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", de.Name())
		}
	}
}

// TestFlushDefersDirectoryFsync checks that writes leave the directory
// fsync to Flush (one per batch of writes, none when nothing changed) and
// that a failed Flush keeps the writes pending for the next one.
func TestFlushDefersDirectoryFsync(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(t *testing.T, s *Side)
		want  int64 // directory fsyncs of the Flush that follows
	}{
		{"nothing written", func(*testing.T, *Side) {}, 0},
		{"creates", func(t *testing.T, s *Side) {
			for i := range 10 {
				if _, err := s.Create(ctx, mkCard(t, fmt.Sprintf("c%d", i), "C")); err != nil {
					t.Fatal(err)
				}
			}
		}, 1},
		{"create, update, delete", func(t *testing.T, s *Side) {
			r, err := s.Create(ctx, mkCard(t, "u", "U"))
			if err != nil {
				t.Fatal(err)
			}
			if r, err = s.Update(ctx, r, mkCard(t, "u", "U2")); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, r); err != nil {
				t.Fatal(err)
			}
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSide(t)
			f, ok := any(s).(engine.Flusher)
			if !ok {
				t.Fatal("vdir.Side is not a engine.Flusher")
			}
			tt.write(t, s)
			if n := s.dirSync.fsyncs.Load(); n != 0 {
				t.Fatalf("writes ran %d directory fsyncs, want 0 before Flush", n)
			}
			if err := f.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if n := s.dirSync.fsyncs.Load(); n != tt.want {
				t.Errorf("Flush ran %d directory fsyncs, want %d", n, tt.want)
			}
			if err := f.Flush(ctx); err != nil || s.dirSync.fsyncs.Load() != tt.want {
				t.Errorf("second Flush: %v, %d fsyncs in all; want nil, %d", err, s.dirSync.fsyncs.Load(), tt.want)
			}
		})
	}
	t.Run("failed flush stays pending", func(t *testing.T) {
		s, _ := newSide(t)
		f, ok := any(s).(engine.Flusher)
		if !ok {
			t.Fatal("vdir.Side is not a engine.Flusher")
		}
		if _, err := s.Create(ctx, mkCard(t, "p", "P")); err != nil {
			t.Fatal(err)
		}
		real := s.dirSync.dir
		s.dirSync.dir = filepath.Join(real, "missing")
		if err := f.Flush(ctx); err == nil || !strings.Contains(err.Error(), "flush") {
			t.Fatalf("Flush of a missing directory = %v, want a flush error", err)
		}
		s.dirSync.dir = real
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := s.dirSync.fsyncs.Load(); n != 2 {
			t.Errorf("%d directory fsyncs, want 2 (the failed one and its retry)", n)
		}
	})
}
