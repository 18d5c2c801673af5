//go:build linux || darwin

package vdir

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// lstatAt lstats name in the open directory dir (whose path is dirPath).
// fstatat relative to the directory avoids resolving the whole path for
// each of thousands of files, several times faster than os.Lstat.
func lstatAt(dir *os.File, dirPath, name string) (fs.FileInfo, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			break
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		return nil, &fs.PathError{Op: "lstat", Path: dirPath + "/" + name, Err: err}
	}
	mode := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	default:
		mode |= fs.ModeIrregular
	}
	return &statInfo{
		name:  name,
		size:  st.Size,
		mode:  mode,
		mtime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)),
		ino:   uint64(st.Ino),
	}, nil
}
