package vdir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// maxUIDName is the longest UID used as a file name.
const maxUIDName = 128

// createAttempts bounds the random names Create tries after a clash.
const createAttempts = 8

// Create writes card to a new file and returns its ref. The file is named
// after the card's UID plus ".vcf" when the UID is 1 to 128 characters of
// [A-Za-z0-9@._+-] not starting with a dot, and otherwise, or when that
// name is taken, 32 random hex digits plus ".vcf". An existing file is
// never overwritten. The card is written as card.Encode() gives it. When
// Create fails nothing is left behind.
func (s *Side) Create(ctx context.Context, card *vcard.Card) (engine.Ref, error) {
	if err := ctx.Err(); err != nil {
		return engine.Ref{}, fmt.Errorf("vdir %s: create: %w", s.path, err)
	}
	if card == nil {
		return engine.Ref{}, fmt.Errorf("vdir %s: create: nil card", s.path)
	}
	name := vcard.UIDName(card.UID(), maxUIDName, "+")
	data := card.Encode()
	if err := checkData(data); err != nil {
		return engine.Ref{}, fmt.Errorf("vdir %s: create: %w", s.path, err)
	}
	first := true
	next := func() string {
		if first && name != "" {
			first = false
			return name
		}
		first = false
		return vcard.RandomName()
	}
	hint := name
	if hint == "" {
		hint = "new.vcf"
	}
	if got, fi, ok, err := createAnonymous(s.dir, data, next); ok {
		if err != nil {
			if got == "" {
				got = hint // failed before it had a name: the one it was to get
			}
			return engine.Ref{}, fmt.Errorf("vdir %s: create %s: %w", s.path, got, err)
		}
		return s.created(got, fi)
	}
	tmp, fi, err := writeTemp(s.dir, hint, data, 0o600)
	if err != nil {
		return engine.Ref{}, fmt.Errorf("vdir %s: create %s: %w", s.path, hint, err)
	}
	linked := false
	defer func() {
		if !linked {
			os.Remove(tmp)
		}
	}()
	for attempt := 0; ; attempt++ {
		if name == "" {
			name = vcard.RandomName()
		}
		err = linkNew(tmp, filepath.Join(s.dir, name))
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt == createAttempts {
			return engine.Ref{}, fmt.Errorf("vdir %s: create %s: %w", s.path, name, err)
		}
		name = ""
	}
	linked = true
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("cannot remove temporary file", "file", tmp, "err", err)
	}
	return s.created(name, fi)
}

// created records that a new file's name awaits the directory fsync of
// the next Flush and returns its ref.
func (s *Side) created(name string, fi fs.FileInfo) (engine.Ref, error) {
	s.dirty.Store(true)
	ref := engine.Ref{ID: name, Version: version(fi)}
	s.log.Debug("created", "file", name, "version", ref.Version)
	return ref, nil
}

// Update replaces the file ref.ID with card if its version is still
// ref.Version, keeping its name, and returns the new ref. A changed file
// gives an error wrapping engine.ErrPrecondition; a missing one an error
// wrapping both engine.ErrPrecondition and engine.ErrNotFound (Update never
// creates). A symlink out of the directory is refused (engine.ErrRefused).
// The rename is durable after the next Flush.
func (s *Side) Update(ctx context.Context, ref engine.Ref, card *vcard.Card) (engine.Ref, error) {
	fail := func(err error) (engine.Ref, error) {
		return engine.Ref{}, fmt.Errorf("vdir %s: update %s: %w", s.path, ref.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if card == nil {
		return fail(errors.New("nil card"))
	}
	e, unlock, err := s.lockCurrent(ref)
	defer unlock()
	if err != nil {
		return fail(err)
	}
	if e.kind == kindBroken {
		return fail(fmt.Errorf("%w: broken symlink: %w", engine.ErrRefused, e.err))
	}
	data := card.Encode()
	if err := checkData(data); err != nil {
		return fail(err)
	}
	dir := filepath.Dir(e.path)
	tmp, fi, err := writeTemp(dir, filepath.Base(e.path), data, e.info.Mode().Perm())
	if err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, e.path); err != nil {
		os.Remove(tmp)
		return fail(err)
	}
	if err := s.syncDir(dir); err != nil {
		return fail(err)
	}
	out := engine.Ref{ID: ref.ID, Version: version(fi)}
	s.log.Debug("updated", "file", ref.ID, "version", out.Version)
	return out, nil
}

// Delete removes the file ref.ID if its version is still ref.Version
// (else an error wrapping engine.ErrPrecondition). A file already gone is
// not an error. For a symlink the link is removed, not its target; a
// symlink out of the directory is refused (engine.ErrRefused).
func (s *Side) Delete(ctx context.Context, ref engine.Ref) error {
	fail := func(err error) error {
		return fmt.Errorf("vdir %s: delete %s: %w", s.path, ref.ID, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	e, unlock, err := s.lockCurrent(ref)
	defer unlock()
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fail(err)
	}
	if err := os.Remove(filepath.Join(s.dir, ref.ID)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fail(err)
	}
	s.dirty.Store(true)
	s.log.Debug("deleted", "file", ref.ID, "version", version(e.info))
	return nil
}

// lockCurrent checks the name ref.ID, takes its lock and examines the file
// for a write (see current). The caller calls unlock when done, after an
// error too.
func (s *Side) lockCurrent(ref engine.Ref) (e entry, unlock func(), err error) {
	if err := checkID(ref.ID); err != nil {
		return entry{}, func() {}, err
	}
	mu := s.lock(ref.ID)
	mu.Lock()
	e, err = s.current(ref)
	return e, mu.Unlock, err
}

// current examines the file ref.ID for a write: it must exist, be ours to
// write and still have version ref.Version. The caller holds its lock.
func (s *Side) current(ref engine.Ref) (entry, error) {
	li, err := os.Lstat(filepath.Join(s.dir, ref.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return entry{}, fmt.Errorf("file is gone: %w: %w", engine.ErrPrecondition, engine.ErrNotFound)
	}
	if err != nil {
		return entry{}, err
	}
	e := s.classify(ref.ID, li)
	switch e.kind {
	case kindOutside:
		return entry{}, fmt.Errorf("%w: %w", engine.ErrRefused, ErrSymlinkOutside)
	case kindOther:
		return entry{}, fmt.Errorf("%w: not a regular file", engine.ErrRefused)
	}
	// A broken symlink's version is the link's: Delete may remove it,
	// Update refuses to write through it.
	if v := version(e.info); v != ref.Version {
		return entry{}, fmt.Errorf("version is %s, expected %s: %w", v, ref.Version, engine.ErrPrecondition)
	}
	return e, nil
}

// lock returns the mutex that serialises writes to name in this process.
func (s *Side) lock(name string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(name))
	return &s.locks[h.Sum32()%lockStripes]
}

// syncDir makes a rename in dir durable: in the side's own directory it
// is left to the next Flush, in a subdirectory (the target of a followed
// symlink) it is fsynced at once.
func (s *Side) syncDir(dir string) error {
	if dir == s.dir {
		s.dirty.Store(true)
		return nil
	}
	return fsyncDir(dir)
}

// Flush makes every write returned so far durable: it fsyncs the
// directory once if a Create, Update or Delete changed its entries since
// the last Flush (concurrent callers share the fsync). Until then a
// power loss may undo those writes, never tear one: the engine calls
// Flush before it records them in state (engine.Flusher). After an error
// the writes stay pending and the next Flush tries again.
func (s *Side) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vdir %s: flush: %w", s.path, err)
	}
	if !s.dirty.Swap(false) {
		return nil
	}
	if err := s.dirSync.sync(); err != nil {
		s.dirty.Store(true)
		return fmt.Errorf("vdir %s: flush: %w", s.path, err)
	}
	return nil
}

// writeTemp writes data to a new hidden temporary file in dir
// (".<hint>.cb<random>.tmp"), with permission bits perm, fsyncs and
// closes it. It returns the temporary file's path and its stat taken after
// the write, whose mtime, inode and size the final file keeps.
func writeTemp(dir, hint string, data []byte, perm fs.FileMode) (string, fs.FileInfo, error) {
	f, err := os.CreateTemp(dir, "."+truncName(hint, 64)+tempMarker+"*"+tempSuffix)
	if err != nil {
		return "", nil, err
	}
	tmp := f.Name()
	fi, err := func() (fs.FileInfo, error) {
		if perm != 0o600 { // CreateTemp makes 0600
			if err := f.Chmod(perm); err != nil {
				return nil, err
			}
		}
		if _, err := f.Write(data); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		return f.Stat()
	}()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", nil, err
	}
	return tmp, fi, nil
}

// Temporary files are ".<name>.cb<digits>.tmp".
const (
	tempMarker = ".cb"
	tempSuffix = ".tmp"
)

// isOurTemp reports whether name has the pattern of our temporary files.
func isOurTemp(name string) bool {
	if len(name) < 2 || name[0] != '.' || !strings.HasSuffix(name, tempSuffix) {
		return false
	}
	rest := name[:len(name)-len(tempSuffix)]
	i := strings.LastIndex(rest, tempMarker)
	if i <= 0 || i+len(tempMarker) == len(rest) {
		return false
	}
	for _, c := range rest[i+len(tempMarker):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeStaleTemp removes the temporary file name if it is a regular file
// older than staleTempAge: the leftover of a write that crashed.
func (s *Side) removeStaleTemp(name string) {
	p := filepath.Join(s.dir, name)
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < staleTempAge {
		return
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("cannot remove leftover temporary file", "file", p, "err", err)
		return
	}
	s.log.Info("removed leftover temporary file", "file", p)
}

// linkNew makes final a new name of the file tmp, failing with an error
// matching fs.ErrExist when final exists. It uses a hard link; on file
// systems without hard links it reserves final with an exclusive create
// and renames tmp over that empty placeholder.
func linkNew(tmp, final string) error {
	err := os.Link(tmp, final)
	if err == nil || errors.Is(err, fs.ErrExist) || !linkUnsupported(err) {
		return err
	}
	f, err := os.OpenFile(final, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(final)
		return err
	}
	return nil
}

// linkUnsupported reports whether a link error means the file system has
// no hard links.
func linkUnsupported(err error) bool {
	for _, e := range []error{syscall.EPERM, syscall.ENOTSUP, syscall.EOPNOTSUPP, syscall.ENOSYS, syscall.EMLINK} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkData refuses (engine.ErrRefused) encoded card data that no vCard
// reader, this package's included, would read back: data holding a NUL
// byte (a UID or value that came with one from another side).
func checkData(data []byte) error {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return fmt.Errorf("%w: the card holds a NUL byte (at offset %d), which vCard files cannot", engine.ErrRefused, i)
	}
	return nil
}

// truncName shortens name to at most n bytes without splitting a rune.
func truncName(name string, n int) string {
	if len(name) <= n {
		return name
	}
	for n > 0 && !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n]
}

// dirSyncer fsyncs one directory, letting concurrent callers share an
// fsync: a caller waits for an fsync that started after its own rename or
// link, so one fsync covers every change made before it began.
type dirSyncer struct {
	dir string
	// fsyncs counts the directory fsyncs run, for tests and benchmarks.
	fsyncs  atomic.Int64
	mu      sync.Mutex
	running bool
	next    *syncBatch
}

type syncBatch struct {
	done chan struct{}
	err  error
}

func (d *dirSyncer) sync() error {
	d.mu.Lock()
	if d.next == nil {
		d.next = &syncBatch{done: make(chan struct{})}
	}
	mine := d.next
	if d.running {
		d.mu.Unlock()
		<-mine.done
		return mine.err
	}
	// Lead: run our batch; callers that arrived meanwhile get theirs run
	// by a goroutine, so no waiter is stranded and we return promptly.
	d.running = true
	d.next = nil
	d.mu.Unlock()
	d.run(mine)
	d.mu.Lock()
	if d.next != nil {
		go d.drain()
	} else {
		d.running = false
	}
	d.mu.Unlock()
	return mine.err
}

// drain runs pending batches until none is left. The caller has set
// running.
func (d *dirSyncer) drain() {
	d.mu.Lock()
	for d.next != nil {
		b := d.next
		d.next = nil
		d.mu.Unlock()
		d.run(b)
		d.mu.Lock()
	}
	d.running = false
	d.mu.Unlock()
}

func (d *dirSyncer) run(b *syncBatch) {
	d.fsyncs.Add(1)
	b.err = fsyncDir(d.dir)
	close(b.done)
}
