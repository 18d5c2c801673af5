// Command authflood measures what a flood of wrong passwords does to
// `cardbridge serve` (issue 13, item 4): the latency of a normal,
// authenticated GET of a card while -bad clients send wrong Basic
// credentials for the same user as fast as they can, and how many of those
// guesses the server actually checked (answered 401) per minute, against
// how many it refused unchecked (429 or 503).
//
//	go build -o /tmp/cb ./cmd/cardbridge
//	go run ./bench/authflood -bin /tmp/cb -bad 40 -duration 60s
//
// It runs the binary it is given in a temporary directory (a config, one
// user, one card), so the same command measures an old and a new build.
// The measured client connects from 127.0.0.1; the bad clients from other
// loopback addresses (Linux routes all of 127.0.0.0/8 to lo):
//
//	-mode same-user  40 addresses (127.0.1.N) guessing frank's password
//	-mode rotate     a new address and a new user name for every guess,
//	                 so that no per-address or per-user counter holds them
//	                 back and only the bcrypt limit stands between them and
//	                 the CPU
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	user = "frank"
	pass = "frank-correct-password"
	card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:flood-1\r\nFN:Flood Test\r\nEND:VCARD\r\n"
)

func main() {
	bin := flag.String("bin", "", "the cardbridge binary to measure (required)")
	bad := flag.Int("bad", 40, "parallel clients sending wrong passwords")
	dur := flag.Duration("duration", 30*time.Second, "how long the flood lasts")
	quiet := flag.Duration("quiet", 5*time.Second, "how long the GET latency is measured without the flood first")
	mode := flag.String("mode", "same-user", "same-user or rotate (see the package comment)")
	flag.Parse()
	if *mode != "same-user" && *mode != "rotate" {
		fmt.Fprintln(os.Stderr, "authflood: -mode is same-user or rotate")
		os.Exit(2)
	}
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "authflood: -bin is required")
		os.Exit(2)
	}
	if err := run(*bin, *bad, *dur, *quiet, *mode == "rotate"); err != nil {
		fmt.Fprintln(os.Stderr, "authflood:", err)
		os.Exit(1)
	}
}

func run(bin string, bad int, dur, quiet time.Duration, rotate bool) error {
	dir, err := os.MkdirTemp("", "authflood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s\nserver:\n  listen: %s\n", filepath.Join(dir, "state.db"), addr)), 0o600); err != nil {
		return err
	}
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, append([]string{"--config", cfg}, args...)...)
		c.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
		return c
	}
	add := cmd("user", "add", user)
	add.Stdin = strings.NewReader(pass + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("user add: %w\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	srv := cmd("serve")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	base := "http://" + addr
	tr := &http.Transport{MaxIdleConnsPerHost: bad + 4, MaxConnsPerHost: 0}
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	cardURL := base + "/addressbooks/" + user + "/contacts/flood-1.vcf"
	var up bool
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodPut, cardURL, strings.NewReader(card))
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "text/vcard")
		if resp, err := client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				up = true
				break
			}
		}
	}
	if !up {
		return errors.New("serve did not accept the card (log: " + logf.Name() + ")")
	}
	get := func() (time.Duration, error) {
		req, _ := http.NewRequest(http.MethodGet, cardURL, nil)
		req.SetBasicAuth(user, pass)
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET: %s", resp.Status)
		}
		return time.Since(t), nil
	}
	measure := func(d time.Duration) ([]time.Duration, error) {
		var out []time.Duration
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			l, err := get()
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, nil
	}
	before, err := measure(quiet)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var checked, refused, other atomic.Int64
	var wg sync.WaitGroup
	var dials atomic.Int64
	for i := range bad {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each bad client has its own loopback address (same-user), or a
			// new one per connection and no keep-alive (rotate).
			bt := &http.Transport{DisableKeepAlives: rotate, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
				ip := net.IPv4(127, 0, 1, byte(i+1))
				if rotate {
					n := dials.Add(1)
					ip = net.IPv4(127, byte(2+n/62500), byte(n/250%250), byte(2+n%250))
				}
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
				return d.DialContext(ctx, network, a)
			}}
			bc := &http.Client{Transport: bt, Timeout: 2 * time.Minute}
			for n := 0; ctx.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(ctx, "PROPFIND", base+"/addressbooks/"+user+"/", nil)
				name := user
				if rotate {
					name = fmt.Sprintf("nobody-%d-%d", i, n)
				}
				req.SetBasicAuth(name, fmt.Sprintf("guess-%d-%d", i, n))
				req.Header.Set("Depth", "0")
				resp, err := bc.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusUnauthorized:
					checked.Add(1)
				case http.StatusTooManyRequests, http.StatusServiceUnavailable:
					refused.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Second) // let the flood build up
	during, err := measure(dur - 2*time.Second)
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("during the flood: %w", err)
	}
	mins := dur.Minutes()
	mode := "same-user"
	if rotate {
		mode = "rotate"
	}
	fmt.Printf("binary %s, %d bad clients (%s) for %s\n", bin, bad, mode, dur)
	fmt.Printf("GET without flood: %s\n", stats(before))
	fmt.Printf("GET during flood:  %s\n", stats(during))
	fmt.Printf("wrong passwords checked (401): %d (%.0f per minute); refused unchecked (429/503): %d; other answers: %d\n",
		checked.Load(), float64(checked.Load())/mins, refused.Load(), other.Load())
	return nil
}

// stats is "n=…, median …, p99 …, max …" of ds.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return fmt.Sprintf("n=%d median %.2f ms, p99 %.2f ms, max %.2f ms", len(ds),
		ms(q(0.5)), ms(q(0.99)), ms(ds[len(ds)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
