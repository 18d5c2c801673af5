// Package vdir is the vCard-directory side of cardbridge: a folder holding
// one vCard per file, in the vdir layout vdirsyncer, pimsync and khard use.
//
// The layout, and what this package does with it:
//
//   - One contact per file. A file is a contact when its name ends in
//     ".vcf" (in any case) and does not start with a dot. Hidden files,
//     ".tmp" files, names without an extension (vdir metadata such as
//     "displayname", "color" and "description"), directories and other
//     non-regular files are ignored.
//   - File names are identifiers and are never parsed: the UID comes from
//     the content. A new file is named after the card's UID when that is a
//     safe name (see Create), otherwise it gets a random name; an update
//     keeps the file's name.
//   - A version (the engine's ETag) is "<mtime_ns>;<inode>;<size>" of the
//     file, e.g. "1732870000123456789;1048601;412". Every write here
//     replaces the file with a new inode, so a rewrite of the same size in
//     the same clock tick still changes the version.
//   - Writes are atomic and durable: the content goes to a hidden temporary
//     file in the same directory (".<name>.cb<random>.tmp", which every vdir
//     reader ignores), is fsynced and closed, then moved into place (a hard
//     link for a create, so an existing file is never overwritten; a rename
//     for an update), and the directory is fsynced. Contact files are
//     created with mode 0600 (they hold private data; a umask can only
//     make that stricter); an update keeps the permission bits the file
//     had. Concurrent writers share directory fsyncs (group commit).
//   - A symlinked ".vcf" is followed when its target is a regular file
//     inside the directory (at any depth); updates then replace the target
//     and keep the link, a delete removes the link. A symlink whose target
//     lies outside the directory is listed (so the engine knows the contact
//     exists and deletes nothing elsewhere) but never read or written: Get
//     reports ErrSymlinkOutside for it and writes fail with engine.ErrRefused.
//     A dangling symlink is listed too; Get reports it as unreadable (not
//     as gone) and only Delete may act on it. The version of a followed
//     symlink is its target's; that of any other symlink is the link's.
//   - Leftover temporary files of this package's own pattern older than an
//     hour (a crash during a write) are removed by List.
//
// Create, Update and Delete are safe for concurrent use; concurrent writes
// to the same file within one process are serialised so that the version
// check and the replacement happen together. Other processes writing the
// same directory are not locked out (the vdir format has no locking): a
// writer that replaces a file between our version check and our rename
// loses its change, which is the same guarantee vdirsyncer gives.
package vdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// ErrSymlinkOutside is the error (wrapped, with the file name) for a
// contact file that is a symlink resolving outside the directory. Such a
// file is listed but never read or written.
var ErrSymlinkOutside = errors.New("symlink points outside the directory")

// Tunables.
const (
	// getWorkers is the number of files Get reads and parses at once.
	getWorkers = 8
	// listWorkers is the most goroutines List stats files with.
	listWorkers = 4
	// maxFileSize bounds what Get reads into memory for one contact.
	maxFileSize = 64 << 20
	// staleTempAge is the age after which List removes leftover temporary
	// files of our own pattern.
	staleTempAge = time.Hour
	// lockStripes is the number of mutexes that serialise writes per name.
	lockStripes = 64
)

// Options configures New.
type Options struct {
	// Create makes the directory (mode 0700, parents included) when it
	// does not exist. Without it a missing directory is an error.
	Create bool
	// Logger receives debug messages about writes and warnings about
	// cleanups. Nil discards them.
	Logger *slog.Logger
}

// Side is a vCard directory as a engine.Side. Create it with New. It is safe
// for concurrent use.
type Side struct {
	path string // as given to New, for messages
	dir  string // absolute and cleaned
	real string // dir with symlinks resolved, for containment checks
	log  *slog.Logger

	dirSync dirSyncer
	locks   [lockStripes]sync.Mutex
}

var (
	_ engine.Side       = (*Side)(nil)
	_ engine.Identifier = (*Side)(nil)
)

// New returns the side for the vCard directory at path. The directory
// must exist unless opts.Create is set, in which case it is made with mode
// 0700. An existing empty directory is fine.
func New(path string, opts Options) (*Side, error) {
	if path == "" {
		return nil, errors.New("vdir: empty directory path")
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.Create:
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, fmt.Errorf("vdir %s: create directory: %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, &missingDirError{path: path}
	case err != nil:
		return nil, fmt.Errorf("vdir %s: %w", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("vdir %s: not a directory", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("vdir %s: %w", path, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("vdir %s: resolve directory: %w", path, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Side{path: path, dir: abs, real: real, log: log.With("side", "vdir "+path)}
	s.dirSync.dir = abs
	return s, nil
}

// missingDirError is the error New returns for a missing directory; it
// matches fs.ErrNotExist.
type missingDirError struct{ path string }

func (e *missingDirError) Error() string { return "vdir " + e.path + ": directory does not exist" }
func (e *missingDirError) Unwrap() error { return fs.ErrNotExist }

// Name returns "vdir " followed by the directory path given to New.
func (s *Side) Name() string { return "vdir " + s.path }

// Identity is "vdir " and the directory's absolute, cleaned path (as given,
// symlinks not resolved: a link moved to another directory is another
// target). It never fails.
func (s *Side) Identity(context.Context) (string, error) { return "vdir " + s.dir, nil }

// Path returns the absolute path of the directory.
func (s *Side) Path() string { return s.dir }

// List returns the ref of every contact file, sorted by file name. It
// reads the directory and stats each contact file; it parses nothing.
// A file that cannot be examined fails the whole listing rather than
// being left out (leaving it out would look like a deletion).
func (s *Side) List(ctx context.Context) ([]engine.Ref, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vdir %s: list: %w", s.path, err)
	}
	f, err := os.Open(s.dir)
	if err != nil {
		return nil, fmt.Errorf("vdir %s: list: %w", s.path, err)
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("vdir %s: list: %w", s.path, err)
	}
	// Stat in a few goroutines: on a large directory the stat calls are
	// most of the time, and they run in parallel in the kernel.
	slots := make([]engine.Ref, len(des)) // ID "" = not a contact
	workers := 1
	if len(des) >= 2048 {
		workers = min(listWorkers, runtime.GOMAXPROCS(0))
	}
	chunk := (len(des) + workers - 1) / workers
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min(len(des), (w+1)*chunk)
		wg.Go(func() { errs[w] = s.statEntries(ctx, f, des[lo:hi], slots[lo:hi]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("vdir %s: list: %w", s.path, err)
	}
	refs := slots[:0]
	for _, r := range slots {
		if r.ID != "" {
			refs = append(refs, r)
		}
	}
	slices.SortFunc(refs, func(a, b engine.Ref) int { return strings.Compare(a.ID, b.ID) })
	return refs, nil
}

// statEntries fills out[i] with the ref of des[i] when it is a contact.
func (s *Side) statEntries(ctx context.Context, dir *os.File, des []fs.DirEntry, out []engine.Ref) error {
	for i, de := range des {
		if i%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		name := de.Name()
		if !isContactName(name) {
			if isOurTemp(name) {
				s.removeStaleTemp(name)
			}
			continue
		}
		if de.IsDir() {
			continue
		}
		li, err := lstatAt(dir, s.dir, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was read
		}
		if err != nil {
			return err
		}
		if !li.Mode().IsRegular() { // the common case needs no classify
			e := s.classify(name, li)
			if e.kind == kindOther {
				continue
			}
			li = e.info
		}
		out[i] = engine.Ref{ID: name, Version: version(li)}
	}
	return nil
}

// Get reads and parses the given files, several at a time. The result has
// one Item per id, in order. A file that is gone gives an Err wrapping
// engine.ErrNotFound; one that cannot be read or parsed gives an Err naming
// the file. The returned error is set only when ctx is done.
func (s *Side) Get(ctx context.Context, ids []string) ([]engine.Item, error) {
	items := make([]engine.Item, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(getWorkers, len(ids)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				items[i] = s.get(ids[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vdir %s: get: %w", s.path, err)
	}
	return items, nil
}

// get reads one file.
func (s *Side) get(id string) engine.Item {
	it := engine.Item{Ref: engine.Ref{ID: id}}
	if err := checkID(id); err != nil {
		it.Err = fmt.Errorf("vdir %s: %w", s.path, err)
		return it
	}
	p := filepath.Join(s.dir, id)
	li, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		it.Err = fmt.Errorf("%s: %w", p, engine.ErrNotFound)
		return it
	}
	if err != nil {
		it.Err = fmt.Errorf("%s: %w", p, err)
		return it
	}
	e := s.classify(id, li)
	switch e.kind {
	case kindOutside:
		it.Version = version(e.info)
		it.Err = fmt.Errorf("%s: %w", p, ErrSymlinkOutside)
		return it
	case kindBroken:
		it.Version = version(e.info)
		it.Err = fmt.Errorf("%s: broken symlink: %w", p, e.err)
		return it
	case kindOther:
		it.Err = fmt.Errorf("%s: not a regular file", p)
		return it
	}
	data, fi, err := readFile(e.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !e.link {
			err = engine.ErrNotFound // removed since the lstat
		}
		it.Err = fmt.Errorf("%s: %w", p, err)
		return it
	}
	it.Version = version(fi)
	it.ModTime = fi.ModTime()
	card, err := vcard.Parse(data)
	if err != nil {
		it.Err = fmt.Errorf("%s: %w", p, err)
		return it
	}
	it.Card = card
	return it
}

// readFile reads the file at p and returns its content with the stat of
// the open file, so the version matches what was read. It opens without
// blocking, so that a fifo put in the file's place after it was examined
// is refused rather than waited on.
func readFile(p string) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	if fi.Size() > maxFileSize {
		return nil, nil, fmt.Errorf("file too large (%d bytes, at most %d)", fi.Size(), maxFileSize)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return data, fi, nil
}

// kind classifies a directory entry with a contact name.
type kind int

const (
	kindFile    kind = iota // a regular file, or a symlink to one inside the directory
	kindOutside             // a symlink resolving outside the directory
	kindBroken              // a symlink that does not resolve
	kindOther               // a directory, device, socket...: not a contact
)

// entry is a classified directory entry.
type entry struct {
	kind kind
	// path is the file to read or replace: the entry itself, or the
	// resolved target of a symlink inside the directory.
	path string
	// link is true when the entry is a symlink.
	link bool
	// info describes path for kindFile and kindOther, the link itself for
	// kindOutside and kindBroken. The version comes from it.
	info fs.FileInfo
	// err says why a kindBroken symlink does not resolve.
	err error
}

// classify examines the entry name, whose lstat is li. Regular files cost
// nothing more; symlinks are resolved and checked for containment.
func (s *Side) classify(name string, li fs.FileInfo) entry {
	p := filepath.Join(s.dir, name)
	switch {
	case li.Mode().IsRegular():
		return entry{kind: kindFile, path: p, info: li}
	case li.Mode()&fs.ModeSymlink == 0:
		return entry{kind: kindOther, path: p, info: li}
	}
	broken := func(err error) entry {
		return entry{kind: kindBroken, path: p, link: true, info: li, err: err}
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return broken(err)
	}
	if !s.inside(target) {
		return entry{kind: kindOutside, path: p, link: true, info: li}
	}
	ti, err := os.Stat(target)
	if err != nil {
		return broken(err)
	}
	if !ti.Mode().IsRegular() {
		return entry{kind: kindOther, path: target, link: true, info: ti}
	}
	return entry{kind: kindFile, path: target, link: true, info: ti}
}

// inside reports whether the resolved path p lies inside the directory.
func (s *Side) inside(p string) bool {
	rel, err := filepath.Rel(s.real, p)
	if err != nil || rel == "." {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// statInfo is the fs.FileInfo lstatAt builds from a raw stat.
type statInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	ino   uint64
}

func (i *statInfo) Name() string       { return i.name }
func (i *statInfo) Size() int64        { return i.size }
func (i *statInfo) Mode() fs.FileMode  { return i.mode }
func (i *statInfo) ModTime() time.Time { return i.mtime }
func (i *statInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *statInfo) Sys() any           { return nil }

// version formats the version of a file: "<mtime_ns>;<inode>;<size>".
func version(fi fs.FileInfo) string {
	b := make([]byte, 0, 48)
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
	b = append(b, ';')
	ino := uint64(0)
	if si, ok := fi.(*statInfo); ok {
		ino = si.ino
	} else {
		ino = inode(fi)
	}
	b = strconv.AppendUint(b, ino, 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, fi.Size(), 10)
	return string(b)
}

// isContactName reports whether a directory entry's name is that of a
// contact file: not hidden, extension ".vcf" in any case.
func isContactName(name string) bool {
	return len(name) > len(".vcf") && name[0] != '.' &&
		strings.EqualFold(name[len(name)-len(".vcf"):], ".vcf")
}

// checkID validates an id the engine passes in: a plain contact file name.
func checkID(id string) error {
	if !isContactName(id) || strings.ContainsAny(id, "/\\\x00") || filepath.Base(id) != id {
		return fmt.Errorf("invalid id %q: not a contact file name", id)
	}
	return nil
}
