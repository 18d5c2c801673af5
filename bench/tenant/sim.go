package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
)

// The benchmark tenant's app (client-secret flow).
const benchClient, benchSecret = "11111111-2222-3333-4444-555555555555", "bench-secret"

// simEnv is the variable that makes this command graphsim's process
// (-sim-process): it serves the tenant on loopback, prints its URL and
// tenant id on one line and serves until its standard input closes.
const simEnv = "BENCH_TENANT_GRAPHSIM"

// simHandle is a running graphsim: in-process, or a child process (Cmd).
type simHandle struct {
	URL, Tenant string
	Cmd         *exec.Cmd
	stop        func()
}

// Stop ends the simulator (and waits for its process).
func (h *simHandle) Stop() { h.stop() }

// newTenantSim builds the benchmark's tenant: the app, -directory people of
// whom the first -mailboxes have a mailbox of -contacts contacts.
func newTenantSim(p params) *graphsim.Server {
	sim := graphsim.New(graphsim.Options{Latency: p.Latency, Transient412Rate: p.Transient412})
	sim.AddApp(graphsim.App{ClientID: benchClient, Secret: benchSecret})
	for i := range max(p.Directory, p.Mailboxes) {
		u := graphsim.User{UPN: fmt.Sprintf("user%05d@contoso.example", i), DisplayName: fmt.Sprintf("User %d", i), Password: "pw",
			Department: "Dept " + fmt.Sprint(i%20), JobTitle: "Engineer"}
		if i >= p.Mailboxes {
			u.NoMailbox = true
		}
		m := sim.AddUser(u)
		if i < p.Mailboxes && p.Contacts > 0 {
			m.Seed(m.DefaultFolderID(), p.Contacts, int64(i+1))
		}
	}
	return sim
}

// startSim starts the tenant's graphsim: in this process on loopback, or
// with p.SimProcess as a child process running this command (so that the
// peak RSS measured here is cardbridge's alone).
func startSim(ctx context.Context, p params) (*simHandle, error) {
	if !p.SimProcess {
		sim := newTenantSim(p)
		ts := httptest.NewServer(sim)
		return &simHandle{URL: ts.URL, Tenant: sim.Tenants()[0], stop: ts.Close}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("-sim-process: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, childArgs(p)...)
	cmd.Env = append(os.Environ(), simEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-sim-process: %w", err)
	}
	stop := func() { in.Close(); cmd.Wait() }
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 2 {
		stop()
		return nil, fmt.Errorf("-sim-process: graphsim's process said %q: %v", line, err)
	}
	return &simHandle{URL: f[0], Tenant: f[1], Cmd: cmd, stop: stop}, nil
}

// childArgs are the flags that shape the tenant, for graphsim's process.
func childArgs(p params) []string {
	return []string{"-mailboxes", fmt.Sprint(p.Mailboxes), "-contacts", fmt.Sprint(p.Contacts),
		"-directory", fmt.Sprint(p.Directory), "-latency", p.Latency.String(), "-transient412", fmt.Sprint(p.Transient412)}
}

// serveSim is graphsim's process: it builds the tenant, listens on
// loopback, prints "URL tenant" and serves until standard input closes.
func serveSim(p params) error {
	sim := newTenantSim(p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: time.Minute}
	go srv.Serve(l)
	fmt.Printf("http://%s %s\n", l.Addr(), sim.Tenants()[0])
	io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// countingTransport counts cardbridge's requests as they leave: token
// requests apart, the others as Graph requests and as slot uses (a $batch
// as its sub-requests, batchSlots).
type countingTransport struct {
	base                       http.RoundTripper
	requests, tokens, slotUses *atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/token"):
		t.tokens.Add(1)
	case strings.HasSuffix(r.URL.Path, "/$batch"):
		t.requests.Add(1)
		r, body, err := peekBody(r)
		if err != nil {
			return nil, err
		}
		t.slotUses.Add(batchSlots(body))
		return t.base.RoundTrip(r)
	default:
		t.requests.Add(1)
		t.slotUses.Add(1)
	}
	return t.base.RoundTrip(r)
}

// peekBody reads r's body (up to 64 MB) without consuming it: from
// GetBody when the request has one (the Graph client's do), else into a
// copy of r that carries the bytes read, as a RoundTripper must not
// change the request it is given.
func peekBody(r *http.Request) (*http.Request, []byte, error) {
	if r.GetBody != nil {
		b, err := r.GetBody()
		if err != nil {
			return nil, nil, err
		}
		defer b.Close()
		body, err := io.ReadAll(io.LimitReader(b, 64<<20))
		return r, body, err
	}
	if r.Body == nil {
		return r, nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	r.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	return c, body, nil
}
