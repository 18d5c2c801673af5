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

// run measures one binary: it starts serve with one user and one card,
// measures the GET latency for quiet without the flood, then for dur with
// bad clients guessing passwords, and prints the figures.
func run(bin string, bad int, dur, quiet time.Duration, rotate bool) error {
	dir, err := os.MkdirTemp("", "authflood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t, err := startServe(bin, dir, bad)
	if err != nil {
		return err
	}
	defer t.stop()
	if err := t.putCard(); err != nil {
		return err
	}
	before, err := t.measure(quiet)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	f := &flood{base: t.base, rotate: rotate}
	var wg sync.WaitGroup
	for i := range bad {
		wg.Go(func() { f.guess(ctx, i) })
	}
	time.Sleep(time.Second) // let the flood build up
	during, err := t.measure(dur - 2*time.Second)
	cancel()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("during the flood: %w", err)
	}
	f.print(bin, bad, dur, before, during)
	return nil
}

// target is a running `cardbridge serve` and the client that measures it.
type target struct {
	srv     *exec.Cmd
	logf    *os.File
	base    string // http://127.0.0.1:PORT
	cardURL string
	client  *http.Client
}

// startServe writes a config to dir (state in dir, the server on a free
// loopback port), adds the user with its password and starts `bin serve`
// with its output in dir/serve.log; bad sizes the measuring client's
// connection pool.
func startServe(bin, dir string, bad int) (*target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s\nserver:\n  listen: %s\n", filepath.Join(dir, "state.db"), addr)), 0o600); err != nil {
		return nil, err
	}
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, append([]string{"--config", cfg}, args...)...)
		c.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
		return c
	}
	add := cmd("user", "add", user)
	add.Stdin = strings.NewReader(pass + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("user add: %w\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	srv := cmd("serve")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return nil, err
	}
	base := "http://" + addr
	tr := &http.Transport{MaxIdleConnsPerHost: bad + 4, MaxConnsPerHost: 0}
	return &target{
		srv: srv, logf: logf, base: base,
		cardURL: base + "/addressbooks/" + user + "/contacts/flood-1.vcf",
		client:  &http.Client{Transport: tr, Timeout: 2 * time.Minute},
	}, nil
}

// stop ends serve with SIGTERM and waits for it.
func (t *target) stop() {
	t.srv.Process.Signal(syscall.SIGTERM)
	t.srv.Wait()
}

// putCard PUTs the card, retrying for up to 15 s while serve starts.
func (t *target) putCard() error {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodPut, t.cardURL, strings.NewReader(card))
		req.SetBasicAuth(user, pass)
		req.Header.Set("Content-Type", "text/vcard")
		if resp, err := t.client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
	}
	return errors.New("serve did not accept the card (log: " + t.logf.Name() + ")")
}

// get GETs the card with the right password and returns how long it took.
func (t *target) get() (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, t.cardURL, nil)
	req.SetBasicAuth(user, pass)
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET: %s", resp.Status)
	}
	return time.Since(start), nil
}

// measure GETs the card every 20 ms for d and returns the latencies.
func (t *target) measure(d time.Duration) ([]time.Duration, error) {
	var out []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		l, err := t.get()
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// flood is the bad clients' shared setting and their counts of answers.
type flood struct {
	base   string
	rotate bool
	dials  atomic.Int64 // connections dialled in rotate mode

	checked, refused, other atomic.Int64
}

// guess is bad client i: it sends PROPFINDs with wrong passwords until ctx
// ends and counts the answers as checked (401), refused (429, 503) or other.
func (f *flood) guess(ctx context.Context, i int) {
	// Each bad client has its own loopback address (same-user), or a
	// new one per connection and no keep-alive (rotate).
	bt := &http.Transport{DisableKeepAlives: f.rotate, DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		ip := net.IPv4(127, 0, 1, byte(i+1))
		if f.rotate {
			n := f.dials.Add(1)
			ip = net.IPv4(127, byte(2+n/62500), byte(n/250%250), byte(2+n%250))
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
		return d.DialContext(ctx, network, a)
	}}
	bc := &http.Client{Transport: bt, Timeout: 2 * time.Minute}
	for n := 0; ctx.Err() == nil; n++ {
		req, _ := http.NewRequestWithContext(ctx, "PROPFIND", f.base+"/addressbooks/"+user+"/", nil)
		name := user
		if f.rotate {
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
			f.checked.Add(1)
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			f.refused.Add(1)
		default:
			f.other.Add(1)
		}
	}
}

// print writes the run's figures to stdout: the GET latency before and
// during the flood and the counts of guesses checked and refused.
func (f *flood) print(bin string, bad int, dur time.Duration, before, during []time.Duration) {
	mins := dur.Minutes()
	mode := "same-user"
	if f.rotate {
		mode = "rotate"
	}
	fmt.Printf("binary %s, %d bad clients (%s) for %s\n", bin, bad, mode, dur)
	fmt.Printf("GET without flood: %s\n", stats(before))
	fmt.Printf("GET during flood:  %s\n", stats(during))
	fmt.Printf("wrong passwords checked (401): %d (%.0f per minute); refused unchecked (429/503): %d; other answers: %d\n",
		f.checked.Load(), float64(f.checked.Load())/mins, f.refused.Load(), f.other.Load())
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
