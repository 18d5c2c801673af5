//go:build unix

package state

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// processAlive reports whether the process pid still runs on this host: a
// pid that does not exist (ESRCH) is dead; EPERM means it exists under another
// user.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// bootID identifies the current boot of this host (Linux); "" elsewhere. A
// lock taken under another boot is stale whatever its pid, which may have
// been reused since.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
