//go:build linux

package vdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// createAnonymous writes data to an unnamed file in dir (O_TMPFILE),
// fsyncs it, and gives it the first free name that next returns, with
// linkat, which never replaces an existing file. It saves the creation and
// removal of a temporary name: two directory updates per contact.
// ok is false when the file system cannot do it (the caller falls back).
func createAnonymous(dir string, data []byte, next func() string) (name string, fi fs.FileInfo, ok bool, err error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", nil, false, nil // EOPNOTSUPP, EISDIR on old kernels...: fall back
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return "", nil, true, err
	}
	if err := f.Sync(); err != nil {
		return "", nil, true, err
	}
	if fi, err = f.Stat(); err != nil {
		return "", nil, true, err
	}
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	for attempt := 0; attempt <= createAttempts; attempt++ {
		name = next()
		err = unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, filepath.Join(dir, name), unix.AT_SYMLINK_FOLLOW)
		switch {
		case err == nil:
			return name, fi, true, nil
		case errors.Is(err, unix.EEXIST):
			continue
		case attempt == 0 && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EXDEV)):
			return "", nil, false, nil // no /proc, or not allowed: fall back
		default:
			return "", nil, true, err
		}
	}
	return "", nil, true, fs.ErrExist
}
