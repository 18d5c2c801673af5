package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/bench/davclient"
	"github.com/cardbridge/cardbridge/bench/loadgen"
)

const (
	loadUser = "loader"
	loadPass = "load-test-password"
	pairName = "load"
)

// env is a running `cardbridge serve` with its files.
type env struct {
	dir, bin, cfg, vdir string
	base                string // http://127.0.0.1:PORT
	serve               *loadgen.Proc
	serveLog            *os.File
	log                 io.Writer
}

// Run does one load run and returns its report; the error is for a run
// that could not be set up or measured at all (a failed check is in the
// report instead).
func Run(ctx context.Context, cfg Config, logw io.Writer) (*Report, error) {
	if cfg.Mix == nil {
		cfg.Mix = defaultMix()
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e, err := setup(ctx, cfg, logw)
	if err != nil {
		return nil, err
	}
	defer e.close(cfg.Keep)
	rep := &Report{Clients: cfg.Clients, DurationS: cfg.Duration.Seconds(), Cards: cfg.Cards, SharedCard: cfg.Shared,
		Debounce: cfg.Debounce.String(), GOMAXPROCS: runtime.GOMAXPROCS(0), Failures: []string{}}

	tr := &http.Transport{MaxIdleConns: cfg.Clients + 8, MaxIdleConnsPerHost: cfg.Clients + 8, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	book := "/addressbooks/" + loadUser + "/contacts/"
	admin := &davclient.Client{HC: hc, Base: e.base, User: loadUser, Pass: loadPass, Book: book}

	seedETags, err := e.seedAndCopy(ctx, cfg, admin, rep, logw)
	if err != nil {
		return nil, err
	}
	runsBefore, _, _ := e.health(ctx)

	rec := newRecorder()
	led := &ledger{shared: map[string][]ack{}}
	clients, phone := e.newClients(cfg, hc, book, rec, led)
	ph := newPhone(e.vdir, phone, cfg.Seed)
	elapsed := drive(ctx, cfg.Duration, clients, ph)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.collect(rec, elapsed, clients, ph, led)
	if runs, _, err := e.health(ctx); err == nil {
		rep.PairRuns = runs - runsBefore
	}

	srv, dir, err := e.converge(ctx, admin, rep)
	if err != nil {
		return nil, err
	}
	rep.checkUpdates(clients, led, ph, seedETags, srv, dir)
	e.stopAndTally(rep)
	rep.OK = len(rep.Failures) == 0
	return rep, nil
}

// seedAndCopy seeds the book with cfg.Cards cards, then waits for the pair
// to copy them to the directory; it records the time that took in
// rep.InitialSyncS and returns the seeded cards' ETags.
func (e *env) seedAndCopy(ctx context.Context, cfg Config, admin *davclient.Client, rep *Report, logw io.Writer) (map[string]string, error) {
	seedETags, err := admin.Seed(ctx, cfg.Cards, func(i int) (string, string) {
		return baseHref(i), davclient.CardText(baseUID(i), i, "seed")
	})
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	t0 := time.Now()
	if err := e.waitFor(ctx, 5*time.Minute, func() (bool, error) {
		files, _, err := davclient.ReadDir(e.vdir)
		return len(files) == cfg.Cards, err
	}); err != nil {
		return nil, fmt.Errorf("the pair did not copy the %d seeded cards to the directory: %w (serve log: %s)", cfg.Cards, err, e.serveLog.Name())
	}
	rep.InitialSyncS = time.Since(t0).Seconds()
	fmt.Fprintf(logw, "load: %d cards in the book and the directory after %.1fs; %d clients for %s\n", cfg.Cards, rep.InitialSyncS, cfg.Clients, cfg.Duration)
	return seedETags, nil
}

// newClients partitions the cards (shared, the phone's, then each client's
// slice) and builds the clients; it returns them and the phone's cards.
func (e *env) newClients(cfg Config, hc *http.Client, book string, rec *recorder, led *ledger) ([]*client, []int) {
	shared := make([]int, cfg.Shared)
	for i := range shared {
		shared[i] = i
	}
	phone := make([]int, cfg.PhoneCards)
	for i := range phone {
		phone[i] = cfg.Shared + i
	}
	first := cfg.Shared + cfg.PhoneCards
	per := (cfg.Cards - first) / cfg.Clients
	clients := make([]*client, cfg.Clients)
	for i := range clients {
		owned := make([]int, per)
		for k := range owned {
			owned[k] = first + i*per + k
		}
		d := &davclient.Client{HC: hc, Base: e.base, User: loadUser, Pass: loadPass, Book: book, Rec: rec}
		clients[i] = newClient(i, d, cfg.Seed, led, cfg.Mix, cfg.Cards, shared, owned)
	}
	return clients, phone
}

// drive runs the clients and the phone editor concurrently for d (or until
// ctx ends) and returns how long they ran.
func drive(ctx context.Context, d time.Duration, clients []*client, ph *davclient.PhoneEditor) time.Duration {
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range clients {
		wg.Go(func() { c.run(runCtx, ctx) })
	}
	wg.Go(func() { ph.Run(runCtx) })
	wg.Wait()
	return time.Since(start)
}

// collect fills the report from the recorder, the clients' counters, the
// phone editor and the ledger, and counts 5xx and unexpected statuses.
func (rep *Report) collect(rec *recorder, elapsed time.Duration, clients []*client, ph *davclient.PhoneEditor, led *ledger) {
	rep.fill(rec, elapsed, []string{davclient.KindSync, davclient.KindMultiget, davclient.KindGet, davclient.KindPut, davclient.KindCreate, davclient.KindDelete})
	for _, c := range clients {
		rep.Conflicts412 += c.conflicts
		rep.Retries += c.retries
		rep.GaveUp += c.gaveUp
		rep.OwnedChangedBySync += c.ownedBySync
		rep.CreatesAcked += c.creates
		rep.DeletesAcked += c.deletes
		rep.TokenResets += c.tokenResets
	}
	rep.PhoneEdits = ph.Edits
	if ph.Err != nil {
		rep.fail("phone edits: %v", ph.Err)
	}
	rep.Bogus412 = led.bogus412
	for _, p := range led.problems {
		rep.fail("%s", p)
	}
	for kind, ks := range rep.Kinds {
		for st, n := range ks.Statuses {
			code := 0
			fmt.Sscan(st, &code)
			if code >= 500 {
				rep.ServerErrors += n
			}
			if !expectedStatus(kind, code) {
				rep.Unexpected += n
			}
		}
	}
}

// converge checks convergence: the directory and the book hold the same
// cards, then a final sync writes nothing more (or only what was still in
// flight), and /healthz reports no failing pair. It returns the book's and
// the directory's cards after the final sync; the error is for cards that
// could not be read at all.
func (e *env) converge(ctx context.Context, admin *davclient.Client, rep *Report) (srv, dir map[string]string, err error) {
	t1 := time.Now()
	convErr := e.waitFor(ctx, 3*time.Minute, func() (bool, error) {
		var err error
		if srv, err = serverCards(ctx, admin); err != nil {
			return false, err
		}
		if dir, _, err = davclient.ReadDir(e.vdir); err != nil {
			return false, err
		}
		return sameCards(srv, dir), nil
	})
	rep.ConvergeS = time.Since(t1).Seconds()
	if convErr != nil {
		rep.fail("the directory and the book did not converge within 3 minutes after the clients stopped: %v (%s)", convErr, diffCards(srv, dir))
	}
	writes, err := e.finalSync(ctx)
	if err != nil {
		rep.fail("final sync: %v", err)
	}
	rep.FinalSyncWrites = writes
	if srv, err = serverCards(ctx, admin); err != nil {
		return nil, nil, err
	}
	if dir, _, err = davclient.ReadDir(e.vdir); err != nil {
		return nil, nil, err
	}
	rep.FinalCards = len(srv)
	if !sameCards(srv, dir) {
		rep.fail("after the final sync the directory and the book differ: %s", diffCards(srv, dir))
	}
	if _, failed, err := e.health(ctx); err != nil || failed > 0 {
		rep.PairRunErrors = failed
		rep.fail("/healthz at the end: %d pairs failing (%v); see %s", failed, err, e.serveLog.Name())
	}
	return srv, dir, nil
}

// stopAndTally stops serve with SIGTERM and records a failure for an
// unclean stop and for each kind of bad answer the run counted.
func (e *env) stopAndTally(rep *Report) {
	if code, err := e.serve.Stop(); err != nil || code != 0 {
		rep.fail("serve did not stop cleanly on SIGTERM: exit %d, %v", code, err)
	}
	if rep.ServerErrors > 0 {
		rep.fail("%d answers with a 5xx status", rep.ServerErrors)
	}
	if rep.Unexpected > 0 {
		rep.fail("%d answers with an unexpected status", rep.Unexpected)
	}
	if rep.TransportErrors > 0 {
		rep.fail("%d requests failed in transport", rep.TransportErrors)
	}
	if rep.Bogus412 > 0 {
		rep.fail("%d 412s were answered to an ETag that had not changed", rep.Bogus412)
	}
}

// expectedStatus says which statuses each kind may get.
func expectedStatus(kind string, code int) bool {
	switch kind {
	case davclient.KindSync:
		return code == 207 || code == 403 // 403: valid-sync-token, the client restarts
	case davclient.KindMultiget:
		return code == 207
	case davclient.KindGet:
		return code == 200
	case davclient.KindPut:
		return code == 204 || code == 412
	case davclient.KindCreate:
		return code == 201
	case davclient.KindDelete:
		return code == 204 || code == 412
	}
	return false
}

// checkUpdates finds lost updates.
func (rep *Report) checkUpdates(clients []*client, led *ledger, ph *davclient.PhoneEditor, seedETags map[string]string, srv, dir map[string]string) {
	lost := func(format string, args ...any) {
		rep.LostUpdates++
		rep.fail("lost update: "+format, args...)
	}
	// Owned cards hold their owner's last acknowledged PUT, on both sides.
	for _, c := range clients {
		for href, m := range c.lastAck {
			uid := strings.TrimSuffix(href, ".vcf")
			if srv[uid] != m {
				lost("client %d's card %s holds %q on the server, its last acknowledged PUT wrote %q", c.id, href, srv[uid], m)
			}
			if dir[uid] != m {
				lost("client %d's card %s holds %q in the directory, its last acknowledged PUT wrote %q", c.id, href, dir[uid], m)
			}
		}
		for _, href := range c.created {
			if _, ok := srv[strings.TrimSuffix(href, ".vcf")]; !ok {
				lost("client %d's created card %s is gone", c.id, href)
			}
		}
		for _, href := range c.deleted {
			if _, ok := srv[strings.TrimSuffix(href, ".vcf")]; ok {
				rep.fail("client %d's deleted card %s is back on the server", c.id, href)
			}
			if _, ok := dir[strings.TrimSuffix(href, ".vcf")]; ok {
				rep.fail("client %d's deleted card %s is back in the directory", c.id, href)
			}
		}
	}
	// The phone's cards hold its last edit.
	for uid, m := range ph.Last {
		if srv[uid] != m {
			lost("the phone's edit %q of %s did not reach the server (it holds %q)", m, uid, srv[uid])
		}
	}
	// Shared cards: acknowledged If-Match PUTs form one chain per card
	// (two acknowledged against the same ETag would be a lost update),
	// and the card holds the end of it.
	led.mu.Lock()
	defer led.mu.Unlock()
	for href, acks := range led.shared {
		uid := strings.TrimSuffix(href, ".vcf")
		byBase := map[string]ack{}
		for _, a := range acks {
			if prev, dup := byBase[a.ifMatch]; dup {
				lost("%s: clients %d (%s) and %d (%s) both had a PUT acknowledged against ETag %s", href, prev.client, prev.marker, a.client, a.marker, a.ifMatch)
			}
			byBase[a.ifMatch] = a
		}
		cur, n := seedETags[href], 0
		var last *ack
		for {
			a, ok := byBase[cur]
			if !ok {
				break
			}
			last, cur, n = &a, a.etag, n+1
		}
		switch {
		case n == len(acks) && last != nil && srv[uid] != last.marker:
			lost("%s holds %q but the last acknowledged PUT of its chain wrote %q", href, srv[uid], last.marker)
		case n < len(acks):
			// Something else (the pair) wrote the card in between: the
			// card must still hold an acknowledged version that nothing
			// acknowledged was based on.
			heads := map[string]bool{}
			for _, a := range acks {
				if _, followed := byBase[a.etag]; !followed {
					heads[a.marker] = true
				}
			}
			if !heads[srv[uid]] {
				lost("%s holds %q, which is not the end of an acknowledged chain of PUTs", href, srv[uid])
			}
		}
	}
}

// setup builds the binary when needed, writes the config, adds the user
// and starts serve.
func setup(ctx context.Context, cfg Config, logw io.Writer) (_ *env, err error) {
	dir, err := os.MkdirTemp("", "cardbridge-load-")
	if err != nil {
		return nil, fmt.Errorf("load: work directory: %w", err)
	}
	e := &env{dir: dir, log: logw, vdir: filepath.Join(dir, "vdir")}
	defer func() {
		if err != nil {
			e.close(cfg.Keep)
		}
	}()
	if e.bin = cfg.Binary; e.bin == "" {
		if e.bin, err = loadgen.Build(ctx, dir); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	if err := os.Mkdir(e.vdir, 0o700); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	addr, err := loadgen.FreeAddr()
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	e.base = "http://" + addr
	e.cfg = filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf(`state: %s
server:
  listen: %s
  admins: [%s]
pairs:
  %s:
    a: {type: server, user: %s, addressbook: contacts}
    b: {type: vdir, path: %s}
    every: 1m
`, filepath.Join(dir, "state", "state.db"), addr, loadUser, pairName, loadUser, e.vdir)
	if err := os.WriteFile(e.cfg, []byte(text), 0o600); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	add := e.command(ctx, "user", "add", loadUser)
	add.Stdin = strings.NewReader(loadPass + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("load: cardbridge user add: %w\n%s", err, out)
	}
	if e.serveLog, err = os.Create(filepath.Join(dir, "serve.log")); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	serve := e.command(context.Background(), "serve", "--debounce", cfg.Debounce.String())
	serve.Stdout, serve.Stderr = e.serveLog, e.serveLog
	if e.serve, err = loadgen.Start(serve); err != nil {
		return nil, fmt.Errorf("load: starting serve: %w", err)
	}
	if err := e.waitFor(ctx, 30*time.Second, func() (bool, error) {
		_, _, err := e.health(ctx)
		return err == nil, nil
	}); err != nil {
		return nil, fmt.Errorf("load: serve did not answer /healthz: %w (log %s)", err, e.serveLog.Name())
	}
	return e, nil
}

func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	return loadgen.Command(ctx, e.bin, e.cfg, e.dir, args...)
}

// close stops serve if it still runs and removes the work directory.
func (e *env) close(keep bool) {
	if e.serve != nil {
		e.serve.Kill()
	}
	if e.serveLog != nil {
		e.serveLog.Close()
	}
	if keep {
		fmt.Fprintf(e.log, "load: work directory kept: %s\n", e.dir)
		return
	}
	os.RemoveAll(e.dir)
}

// waitFor polls cond every 200 ms until it holds or limit passes.
func (e *env) waitFor(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("not within %s: %w", limit, last)
			}
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// health reads /healthz: the pair's finished runs and how many pairs
// failed their last run.
func (e *env) health(ctx context.Context) (runs, failed int, err error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/healthz", nil)
	req.SetBasicAuth(loadUser, loadPass) // the pairs are shown to server.admins only
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var h struct {
		Pairs []struct {
			Pair  string `json:"pair"`
			Runs  int    `json:"runs"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		} `json:"pairs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return 0, 0, fmt.Errorf("/healthz: %w", err)
	}
	for _, p := range h.Pairs {
		runs += p.Runs
		if p.Runs > 0 && !p.OK {
			failed++
		}
	}
	return runs, failed, nil
}

// finalSync runs `cardbridge sync` for the pair (retrying while serve's
// scheduler holds the pair) and returns how many writes it made.
func (e *env) finalSync(ctx context.Context) (int, error) {
	for try := 0; try < 30; try++ {
		var so, se bytes.Buffer
		cmd := e.command(ctx, "sync", pairName, "--json")
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		if err == nil {
			var s struct {
				A, B struct{ Created, Updated, Deleted int }
			}
			if err := json.Unmarshal(bytes.TrimSpace(so.Bytes()), &s); err != nil {
				return 0, fmt.Errorf("sync --json printed %q: %w", so.String(), err)
			}
			return s.A.Created + s.A.Updated + s.A.Deleted + s.B.Created + s.B.Updated + s.B.Deleted, nil
		}
		if strings.Contains(se.String(), "is being synced") {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		return 0, fmt.Errorf("%w: %s%s", err, so.String(), se.String())
	}
	return 0, errors.New("the pair stayed locked by serve")
}

// serverCards lists the book: UID -> marker.
func serverCards(ctx context.Context, d *davclient.Client) (map[string]string, error) {
	cards, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(cards))
	for _, c := range cards {
		out[c.UID] = c.Marker
	}
	return out, nil
}

func sameCards(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// diffCards describes how the book (a) and the directory (b) differ.
func diffCards(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, k+" only in the book")
		} else if w != v {
			d = append(d, fmt.Sprintf("%s: book %q, directory %q", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k+" only in the directory")
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("… %d more", len(d)-10))
	}
	return fmt.Sprintf("%d in the book, %d in the directory; %s", len(a), len(b), strings.Join(d, "; "))
}

// newPhone is the phone editing the cards of indices cards in dir.
func newPhone(dir string, cards []int, seed int64) *davclient.PhoneEditor {
	uids := make([]string, len(cards))
	for k, i := range cards {
		uids[k] = baseUID(i)
	}
	return &davclient.PhoneEditor{Dir: dir, UIDs: uids, Nums: cards, Rng: rand.New(rand.NewPCG(uint64(seed), 999)), Last: map[string]string{}}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
