//go:build !unix

package vdir

import "io/fs"

// inode returns 0: this platform has no inode numbers in its file info.
func inode(fs.FileInfo) uint64 { return 0 }

// fsyncDir does nothing: directories cannot be fsynced on this platform.
func fsyncDir(string) error { return nil }
