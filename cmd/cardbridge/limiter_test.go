package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// slotProxy stands between cardbridge and graphsim and counts the Graph
// requests in flight the way Outlook does: a request takes one slot, a
// $batch min(4, its sub-requests) (Outlook runs 4 of them at once). It
// holds every request hold long, so that requests sent together are seen
// together.
type slotProxy struct {
	*httptest.Server
	hold     time.Duration
	mu       sync.Mutex
	cur, max int
	requests int
}

func newSlotProxy(t *testing.T, target string, hold time.Duration) *slotProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &slotProxy{hold: hold}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w8 := 1
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			var batch struct{ Requests []json.RawMessage }
			json.Unmarshal(b, &batch)
			w8 = min(4, max(1, len(batch.Requests)))
		}
		p.mu.Lock()
		p.cur += w8
		p.max = max(p.max, p.cur)
		p.requests++
		p.mu.Unlock()
		time.Sleep(p.hold)
		rp.ServeHTTP(w, r)
		p.mu.Lock()
		p.cur -= w8
		p.mu.Unlock()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *slotProxy) figures() (peak, requests int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max, p.requests
}

// TestServeSharesMailboxLimit: two pairs on one mailbox (through two
// accounts of the same app naming the same user) run together in one
// `serve`, each exporting 100 cards in $batch calls; the Graph side never
// sees more than Microsoft's 4 concurrent requests per app per mailbox,
// and graphsim throttles nothing.
func TestServeSharesMailboxLimit(t *testing.T) {
	e := newSim(t, 0)
	mb := e.sim.Mailbox(alice)
	mb.AddFolder("Family")
	mb.AddFolder("Friends")
	proxy := newSlotProxy(t, e.srv.URL, 40*time.Millisecond)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "app.pem")
	os.WriteFile(certFile, []byte(e.certPEM), 0o600)
	var vdirs []string
	for _, name := range []string{"b1", "b2"} {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o700)
		for i := range 100 {
			card := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s-%03d\r\nFN:Card %s %03d\r\nN:%03d;Card;;;\r\nEND:VCARD\r\n", name, i, name, i, i)
			os.WriteFile(filepath.Join(d, fmt.Sprintf("%s-%03d.vcf", name, i)), []byte(card), 0o600)
		}
		vdirs = append(vdirs, d)
	}
	common := fmt.Sprintf("    tenant: contoso.example\n    client_id: %s\n    login_url: %s\n    graph_url: %s/v1.0\n    user: %s\n", simClient, e.srv.URL, proxy.URL, strings.ToUpper(alice))
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`state: %s
server:
  listen: 127.0.0.1:%d
accounts:
  work:
    flow: client-secret
    client_secret_env: SIM_SECRET
%s  work2:
    flow: client-certificate
    certificate_file: %s
%spairs:
  p1:
    a: {type: o365, account: work, folder: Family}
    b: {type: vdir, path: %s}
    every: 1h
  p2:
    a: {type: o365, account: work2, folder: Friends}
    b: {type: vdir, path: %s}
    every: 1h
`, filepath.Join(dir, "state.db"), freePort(t), common, certFile, common, vdirs[0], vdirs[1])), 0o600)

	cmd := binCmd(t, simEnvVars, "--config", cfg, "serve")
	stderr := startCmd(t, cmd)
	fid := map[string]string{}
	for _, f := range []string{"Family", "Friends"} {
		fid[f] = mb.AddFolder(f) // the existing folder's id
	}
	if !testutil.Eventually(60*time.Second, func() bool {
		return len(mb.Contacts(fid["Family"])) == 100 && len(mb.Contacts(fid["Friends"])) == 100 &&
			strings.Count(stderr.String(), "pair synced") >= 2
	}) {
		t.Fatalf("the pairs did not export their cards (Family %d, Friends %d); stderr:\n%s",
			len(mb.Contacts(fid["Family"])), len(mb.Contacts(fid["Friends"])), stderr)
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	peak, requests := proxy.figures()
	st := e.sim.Stats()
	t.Logf("Graph requests %d, peak in flight %d (slots), graphsim peak %d, 429s %d", requests, peak, st.PerMailbox[alice].MaxConcurrent, st.Throttled429)
	if peak > 4 {
		t.Errorf("%d requests in flight on one mailbox, want at most 4", peak)
	}
	if peak < 2 {
		t.Errorf("peak in flight %d: the pairs did not run together, the test proves nothing", peak)
	}
	if st.Throttled429 != 0 {
		t.Errorf("graphsim throttled %d requests", st.Throttled429)
	}
}
