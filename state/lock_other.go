//go:build !unix

package state

// processAlive cannot tell on this platform: a lock row is taken to be live.
func processAlive(pid int) bool { return pid > 0 }

// bootID is not known on this platform.
func bootID() string { return "" }
