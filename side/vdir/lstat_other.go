//go:build !linux && !darwin

package vdir

import (
	"io/fs"
	"os"
	"path/filepath"
)

// lstatAt lstats name in the directory dirPath.
func lstatAt(_ *os.File, dirPath, name string) (fs.FileInfo, error) {
	return os.Lstat(filepath.Join(dirPath, name))
}
