//go:build unix

package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// openSecond opens another handle on the file at path.
func openSecond(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLockPair(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db1, path := be.openTest(t)
		db2 := be.openSecond(t, path)

		unlock, err := db1.LockPair(ctx, "work")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = db2.LockPair(ctx, "work")
		if time.Since(start) > 2*time.Second {
			t.Errorf("second LockPair waited %v", time.Since(start))
		}
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
			t.Fatalf("second LockPair = %v, want a *LockedError", err)
		}
		want := fmt.Sprintf("pair work is being synced by process %d", os.Getpid())
		if err.Error() != want || le.PID != os.Getpid() || le.Pair != "work" {
			t.Errorf("error %q (%+v), want %q", err, le, want)
		}
		// The same handle cannot take it twice either.
		if _, err := db1.LockPair(ctx, "work"); !errors.Is(err, ErrLocked) {
			t.Errorf("LockPair again on the holder = %v", err)
		}

		// Another pair is not blocked.
		unlockHome, err := db2.LockPair(ctx, "home")
		if err != nil {
			t.Fatalf("LockPair of another pair: %v", err)
		}

		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if err := unlock(); err != nil {
			t.Errorf("second unlock: %v", err)
		}
		unlock2, err := db2.LockPair(ctx, "work")
		if err != nil {
			t.Fatalf("LockPair after unlock: %v", err)
		}
		// The first holder's late unlock must not free the new holder's lock.
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if _, err := db1.LockPair(ctx, "work"); !errors.Is(err, ErrLocked) {
			t.Errorf("lock freed by a stale unlock: %v", err)
		}
		if err := unlock2(); err != nil {
			t.Fatal(err)
		}
		if err := unlockHome(); err != nil {
			t.Fatal(err)
		}

		// Close releases what the handle holds.
		if _, err := db2.LockPair(ctx, "work"); err != nil {
			t.Fatal(err)
		}
		if err := db2.Close(); err != nil {
			t.Fatal(err)
		}
		if u, err := db1.LockPair(ctx, "work"); err != nil {
			t.Errorf("LockPair after the holder closed: %v", err)
		} else {
			u()
		}
	})
}

func TestLockedErrorOtherHost(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO leases (key, holder, pid, hostname, acquired_at, expires_at) VALUES ('pair/work', 'h', 1, 'elsewhere.example', 0, ?)`, time.Now().Add(time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
		_, err := db.LockPair(ctx, "work")
		if err == nil || err.Error() != "pair work is being synced by process 1 on elsewhere.example" {
			t.Errorf("LockPair held on another host = %v", err)
		}
		if _, err := db.sql.ExecContext(ctx, `DELETE FROM leases WHERE key = 'pair/work'`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.LockPair(ctx, "work"); err != nil {
			t.Errorf("LockPair after the other host's lock is gone: %v", err)
		}
	})
}

// deadPID finds a pid that no process has.
func deadPID(t *testing.T) int {
	for pid := 4_000_000; pid > 1000; pid -= 997 {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return pid
		}
	}
	t.Skip("no free pid found")
	return 0
}

func TestLockStaleTakenOver(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db, _ := be.openTest(t)
		host, _ := os.Hostname()
		dead := deadPID(t)
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO leases (key, holder, pid, hostname, boot_id, acquired_at, expires_at) VALUES (?, 'h', ?, ?, ?, ?, ?)`,
			"pair/work", dead, host, bootID(), time.Now().UnixNano(), time.Now().Add(time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
		unlock, err := db.LockPair(ctx, "work")
		if err != nil {
			t.Fatalf("stale lock of pid %d not taken over: %v", dead, err)
		}
		var pid int
		db.sql.QueryRowContext(ctx, `SELECT pid FROM leases WHERE key = 'pair/work'`).Scan(&pid)
		if pid != os.Getpid() {
			t.Errorf("lock row pid %d, want ours %d", pid, os.Getpid())
		}
		unlock()

		// A lock taken before the last reboot is stale even if its pid lives now.
		if bootID() != "" {
			if _, err := db.sql.ExecContext(ctx, `INSERT INTO leases (key, holder, pid, hostname, boot_id, acquired_at, expires_at) VALUES (?, 'h', ?, ?, ?, ?, ?)`,
				"pair/home", 1, host, "an-older-boot", 0, time.Now().Add(time.Hour).UnixNano()); err != nil {
				t.Fatal(err)
			}
			if _, err := db.LockPair(ctx, "home"); err != nil {
				t.Errorf("lock of a previous boot not taken over: %v", err)
			}
		}
	})
}

// TestHelperProcess is not a test: run by TestLockOtherProcess, it holds the
// lock of pair "work" until its standard input closes.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv("CARDBRIDGE_STATE_HELPER_DB")
	if path == "" {
		t.Skip("helper process only")
	}
	opts := Options{}
	if ttl := os.Getenv("CARDBRIDGE_STATE_HELPER_TTL"); ttl != "" {
		opts.LeaseTTL, _ = time.ParseDuration(ttl)
	}
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if h := os.Getenv("CARDBRIDGE_STATE_HELPER_HOST"); h != "" {
		db.host = h // a replica on another host
	}
	unlock, err := db.LockPair(context.Background(), "work")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	unlock()
	db.Close()
	os.Exit(0)
}

// startHolder starts a process holding the lock of "work" in the file at path.
func startHolder(t *testing.T, path string, env ...string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(append(os.Environ(), "CARDBRIDGE_STATE_HELPER_DB="+path), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper said %q (%v)", line, err)
	}
	return cmd, func() { stdin.Close() }
}

func TestLockOtherProcess(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "state.db")
		db := be.openSecond(t, path)

		cmd, release := startHolder(t, path)
		_, err := db.LockPair(ctx, "work")
		want := fmt.Sprintf("pair work is being synced by process %d", cmd.Process.Pid)
		var le *LockedError
		if err == nil || err.Error() != want || !errors.As(err, &le) || le.PID != cmd.Process.Pid {
			t.Fatalf("LockPair held by process %d = %v, want %q", cmd.Process.Pid, err, want)
		}
		if u, err := db.LockPair(ctx, "home"); err != nil {
			t.Errorf("another pair is blocked: %v", err)
		} else {
			u()
		}
		release()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
		unlock, err := db.LockPair(ctx, "work")
		if err != nil {
			t.Fatalf("LockPair after the holder let go: %v", err)
		}
		unlock()

		// A holder killed outright leaves its row; the next LockPair takes it over.
		cmd, _ = startHolder(t, path)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		unlock, err = db.LockPair(ctx, "work")
		if err != nil {
			t.Fatalf("LockPair after the holder was killed: %v", err)
		}
		unlock()
	})
}

func TestConcurrentPutItem(t *testing.T) {
	forBackends(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		db1, path := be.openTest(t)
		db2 := be.openSecond(t, path)
		const n = 100
		var wg sync.WaitGroup
		errs := make(chan error, 4*n)
		for w, db := range []*DB{db1, db2, db1, db2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					it := Item{Pair: "p", UID: fmt.Sprint(w, "-", i), Base: []byte("card")}
					if err := db.PutItem(ctx, &it); err != nil {
						errs <- err
						return
					}
					it.AVersion = "v2"
					it.Base = nil
					if err := db.PutItem(ctx, &it); err != nil {
						errs <- err
						return
					}
					if i%50 == 0 {
						if _, err := db.Items(ctx, "p"); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		// A lock taken and released meanwhile does not disturb them.
		for range 20 {
			u, err := db2.LockPair(ctx, "q")
			if err != nil {
				errs <- err
				break
			}
			u()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if c, err := db1.CountItems(ctx, "p"); err != nil || c != 4*n {
			t.Errorf("CountItems = %d, %v; want %d", c, err, 4*n)
		}
	})
}
