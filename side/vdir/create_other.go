//go:build !linux

package vdir

import "io/fs"

// createAnonymous is Linux-only; elsewhere Create uses a named temporary
// file.
func createAnonymous(dir string, data []byte, next func() string) (string, fs.FileInfo, bool, error) {
	return "", nil, false, nil
}
