package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/cardbridge/cardbridge/bench/crash"
	"github.com/cardbridge/cardbridge/bench/davclient"
	"github.com/cardbridge/cardbridge/bench/loadgen"
)

const (
	clientUser = "loader"
	schedUser  = "sched"
	password   = "replicas-test-password"
	bookPair   = "book"  // the clients' book ⇄ a directory, also run after client changes
	schedPair  = "sched" // a book nobody writes ⇄ a directory: runs on its schedule only
)

// replica is one `cardbridge serve` process and its files.
type replica struct {
	idx     int
	addr    string
	cfg     string
	logPath string
	proc    *loadgen.Proc
	logf    *os.File
}

// env is a run's work directory, binary, database and replicas.
type env struct {
	cfg      Config
	dir, bin string
	stateURL string
	dropDB   func()
	vdir     string
	reps     []*replica
	log      io.Writer
}

// Run does one multi-replica run and returns its report; the error is
// for a run that could not be set up or measured (a failed check is in
// the report).
func Run(ctx context.Context, cfg Config, logw io.Writer) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e, err := setup(ctx, cfg, logw)
	if err != nil {
		return nil, err
	}
	defer e.close()
	rep := &Report{Replicas: cfg.Replicas, Clients: cfg.Clients, DurationS: cfg.Duration.Seconds(), Every: cfg.Every.String(), KilledReplica: -1}

	windowStart := time.Now()
	for _, r := range e.reps {
		if err := e.start(ctx, r); err != nil {
			return nil, err
		}
	}
	tr := &http.Transport{MaxIdleConns: 4 * (cfg.Clients + 8), MaxIdleConnsPerHost: cfg.Clients + 8, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	st := make([]*stats, len(e.reps))
	davs := make([]*davclient.Client, len(e.reps))
	for i, r := range e.reps {
		st[i] = newStats()
		davs[i] = &davclient.Client{HC: hc, Base: "http://" + r.addr, User: clientUser, Pass: password,
			Book: "/addressbooks/" + clientUser + "/contacts/", Rec: st[i]}
	}
	admin := *davs[0]
	admin.Rec = nil

	shared, phone, owned, all, err := e.seed(ctx, &admin)
	if err != nil {
		return nil, err
	}
	rep.Cards = len(all)

	j := &journal{}
	clients := make([]*client, cfg.Clients)
	for i := range clients {
		clients[i] = newClient(i, davs, cfg.Seed, j, shared, owned[i], all)
	}
	ph := &davclient.PhoneEditor{Dir: e.vdir, UIDs: phone, Rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 7)), Last: map[string]string{}}
	fmt.Fprintf(logw, "replicas: %d cards in the book and the directory; %d clients over %d replicas for %s\n", len(all), cfg.Clients, cfg.Replicas, cfg.Duration)

	t0 := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			if err := c.Sync(ctx); err != nil { // the stream starts from nothing
				j.problem("client %d: first sync-collection: %v", c.id, err)
			}
			c.run(runCtx, ctx)
		})
	}
	wg.Go(func() { ph.Run(runCtx) })
	var killErr error
	wg.Go(func() { killErr = e.killAndRestart(runCtx, ctx, rep, cfg.Duration/2) })
	wg.Wait()
	cancel()
	elapsed := time.Since(t0)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if killErr != nil {
		return nil, killErr
	}
	if ph.Err != nil {
		return nil, fmt.Errorf("replicas: the phone's edits in the directory: %w", ph.Err)
	}

	h := &History{Phone: ph.Last, Scheduled: map[string]time.Duration{schedPair: cfg.Every}, Grace: cfg.Grace, WindowStart: windowStart}
	t1 := time.Now()
	if err := e.converge(ctx, &admin, h); err != nil {
		fmt.Fprintf(logw, "replicas: %v\n", err)
	}
	rep.ConvergeS = time.Since(t1).Seconds()
	for _, c := range clients {
		if err := c.Sync(ctx); err != nil {
			j.problem("client %d: last sync-collection: %v", c.id, err)
		}
		h.Streams = append(h.Streams, c.stream)
	}
	if h.Book, err = admin.List(ctx); err != nil {
		return nil, fmt.Errorf("replicas: the final listing: %w", err)
	}
	other := admin
	other.User, other.Book = schedUser, "/addressbooks/"+schedUser+"/contacts/"
	sched, err := other.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("replicas: the final listing of %s: %w", other.Book, err)
	}
	h.OtherBooks = map[string][]Card{other.Book: sched}
	h.WindowEnd = time.Now()
	for _, r := range e.reps {
		code, err := r.proc.Stop()
		r.logf.Close()
		if err != nil || code != 0 {
			j.problem("replica %d did not stop cleanly on SIGTERM: exit %d, %v (log %s)", r.idx, code, err, r.logPath)
		}
	}
	if h.Runs, err = readRuns(ctx, e.stateURL); err != nil {
		return nil, err
	}
	j.mu.Lock()
	h.Writes = j.writes
	h.StatusProblems = append(unexpectedStatuses(st), j.problems...)
	rep.Conflicts412 = j.n412
	j.mu.Unlock()
	rep.fill(st, elapsed, h, ph)
	rep.judge(Check(h))
	return rep, nil
}

// setup makes the work directory, builds the binary when needed, creates
// the database when none is given, writes each replica's configuration
// and adds the users.
func setup(ctx context.Context, cfg Config, logw io.Writer) (_ *env, err error) {
	dir, err := os.MkdirTemp("", "cardbridge-replicas-")
	if err != nil {
		return nil, fmt.Errorf("replicas: work directory: %w", err)
	}
	e := &env{cfg: cfg, dir: dir, log: logw, vdir: filepath.Join(dir, "vdir"), stateURL: cfg.StateURL}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.bin = cfg.Binary; e.bin == "" {
		if e.bin, err = loadgen.Build(ctx, dir); err != nil {
			return nil, fmt.Errorf("replicas: %w", err)
		}
	}
	if e.stateURL == "" {
		if e.stateURL, e.dropDB, err = createDatabase(ctx, cfg.PostgresAdmin, cfg.Keep); err != nil {
			return nil, err
		}
	}
	quiet := filepath.Join(dir, "vdir-sched")
	for _, d := range []string{e.vdir, quiet} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("replicas: %w", err)
		}
	}
	for i := range cfg.Replicas {
		addr, err := loadgen.FreeAddr()
		if err != nil {
			return nil, fmt.Errorf("replicas: %w", err)
		}
		r := &replica{idx: i, addr: addr, cfg: filepath.Join(dir, fmt.Sprintf("replica-%d.yaml", i)), logPath: filepath.Join(dir, fmt.Sprintf("replica-%d.log", i))}
		text := fmt.Sprintf(`state: %s
server:
  listen: %s
  admins: [%s]
pairs:
  %s:
    a: {type: server, user: %s, addressbook: contacts}
    b: {type: vdir, path: %s}
    every: %s
  %s:
    a: {type: server, user: %s, addressbook: contacts}
    b: {type: vdir, path: %s}
    every: %s
`, e.stateURL, addr, clientUser, bookPair, clientUser, e.vdir, cfg.Every, schedPair, schedUser, quiet, cfg.Every)
		if err := os.WriteFile(r.cfg, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("replicas: %w", err)
		}
		e.reps = append(e.reps, r)
	}
	for _, u := range []string{clientUser, schedUser} {
		add := e.command(ctx, e.reps[0], "user", "add", u)
		add.Stdin = strings.NewReader(password + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("replicas: cardbridge user add %s: %w\n%s", u, err, out)
		}
	}
	return e, nil
}

// createDatabase creates an empty database on the cluster of admin and
// returns its URL and the function that drops it (nil with keep).
func createDatabase(ctx context.Context, admin string, keep bool) (string, func(), error) {
	if admin == "" {
		return "", nil, errors.New("replicas: no PostgreSQL: give -postgres URL or TEST_POSTGRES_URL (scripts/postgres.sh's start_postgres starts a throwaway cluster)")
	}
	u, drop, err := crash.CreateDatabase(ctx, admin, "cardbridge_replicas")
	if err != nil {
		return "", nil, fmt.Errorf("replicas: -postgres: %w", err)
	}
	if keep {
		drop = nil
	}
	return u, drop, nil
}

func (e *env) command(ctx context.Context, r *replica, args ...string) *exec.Cmd {
	return loadgen.Command(ctx, e.bin, r.cfg, e.dir, args...)
}

// start starts replica r (its log appended to) and waits until it
// answers /healthz.
func (e *env) start(ctx context.Context, r *replica) error {
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("replicas: %w", err)
	}
	r.logf = f
	cmd := e.command(context.Background(), r, "serve", "--debounce", e.cfg.Debounce.String())
	cmd.Stdout, cmd.Stderr = f, f
	if r.proc, err = loadgen.Start(cmd); err != nil {
		return fmt.Errorf("replicas: starting replica %d: %w", r.idx, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if healthy(ctx, r.addr) {
			return nil
		}
		select {
		case <-r.proc.Exited:
			return fmt.Errorf("replicas: replica %d exited at start (%s); see %s", r.idx, r.proc.Cmd.ProcessState, r.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replicas: replica %d did not answer /healthz within 60 s; see %s", r.idx, r.logPath)
		}
	}
}

func healthy(ctx context.Context, addr string) bool {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, "GET", "http://"+addr+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// killAndRestart waits until at (or stop), kills replica 1 (0 with one
// replica) with SIGKILL, restarts it and records how long it took until
// it answered again.
func (e *env) killAndRestart(stop, ctx context.Context, rep *Report, at time.Duration) error {
	t0 := time.Now()
	select {
	case <-stop.Done():
		return nil
	case <-time.After(at):
	}
	r := e.reps[min(1, len(e.reps)-1)]
	rep.KilledReplica, rep.KillAtS = r.idx, time.Since(t0).Seconds()
	killed := time.Now()
	if err := r.proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("replicas: kill -9 of replica %d: %w", r.idx, err)
	}
	<-r.proc.Exited
	r.logf.Close()
	fmt.Fprintf(e.log, "replicas: replica %d killed with SIGKILL at %.1fs; restarting it\n", r.idx, rep.KillAtS)
	if err := e.start(ctx, r); err != nil {
		return err
	}
	rep.RecoverS = time.Since(killed).Seconds()
	fmt.Fprintf(e.log, "replicas: replica %d answers again %.2fs after the kill\n", r.idx, rep.RecoverS)
	return nil
}

// close kills what still runs, drops the database and removes the work
// directory (kept with -keep).
func (e *env) close() {
	for _, r := range e.reps {
		if r.proc != nil {
			r.proc.Kill()
		}
		if r.logf != nil {
			r.logf.Close()
		}
	}
	if e.dropDB != nil {
		e.dropDB()
	}
	if e.cfg.Keep {
		fmt.Fprintf(e.log, "replicas: work directory kept: %s (state %s)\n", e.dir, e.stateURL)
		return
	}
	os.RemoveAll(e.dir)
}

// seed PUTs the cards through the first replica (8 at a time): shared
// ones, the phone's, and each client's own (none in the scheduled pair's
// book: a change there would trigger a run besides the schedule's). Then
// it waits until the pair has copied them all to the
// directory.
func (e *env) seed(ctx context.Context, admin *davclient.Client) (shared, phone []string, owned [][]string, all []string, err error) {
	href := func(i int) string { return fmt.Sprintf("r-%05d.vcf", i) }
	n := 0
	take := func(k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = href(n)
			all = append(all, out[i])
			n++
		}
		return out
	}
	shared, phone = take(e.cfg.Shared), take(e.cfg.PhoneCards)
	owned = make([][]string, e.cfg.Clients)
	for i := range owned {
		owned[i] = take(e.cfg.Owned)
	}
	if _, err := admin.Seed(ctx, len(all), func(i int) (string, string) {
		return all[i], davclient.CardText(strings.TrimSuffix(all[i], ".vcf"), i, "seed")
	}); err != nil {
		return nil, nil, nil, nil, fmt.Errorf("replicas: %w", err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		files, _, err := davclient.ReadDir(e.vdir)
		if err == nil && len(files) == len(all) {
			return shared, phone, owned, all, nil
		}
		if time.Now().After(deadline) {
			return nil, nil, nil, nil, fmt.Errorf("replicas: the pair did not copy the %d seeded cards to the directory within 3 minutes (%d there, %v)", len(all), len(files), err)
		}
		select {
		case <-ctx.Done():
			return nil, nil, nil, nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// converge waits (up to 3 minutes) until the book and the directory hold
// the same cards and fills h.Dir; the error says they never did (the
// converged check reports it).
func (e *env) converge(ctx context.Context, admin *davclient.Client, h *History) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		book, err := admin.List(ctx)
		if err != nil {
			return err
		}
		if h.Dir, h.DirDupUIDs, err = davclient.ReadDir(e.vdir); err != nil {
			return err
		}
		h.Book = book
		v := Violations{}
		checkConvergence(h, v)
		if len(v) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the book and the directory did not converge within 3 minutes: %v", v[checkConverged])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// readRuns reads the pairs' runs from the state's runs table (finished
// runs only: a run is recorded when it ends).
func readRuns(ctx context.Context, stateURL string) ([]RunRecord, error) {
	db, err := sql.Open("pgx", stateURL)
	if err != nil {
		return nil, fmt.Errorf("replicas: reading the runs: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT pair, started_at, finished_at, ok FROM runs WHERE finished_at IS NOT NULL ORDER BY started_at`)
	if err != nil {
		return nil, fmt.Errorf("replicas: reading the runs: %w", err)
	}
	defer rows.Close()
	var out []RunRecord
	for rows.Next() {
		var r RunRecord
		var s, f int64
		if err := rows.Scan(&r.Pair, &s, &f, &r.OK); err != nil {
			return nil, fmt.Errorf("replicas: reading the runs: %w", err)
		}
		r.Started, r.Finished = time.Unix(0, s), time.Unix(0, f)
		out = append(out, r)
	}
	return out, rows.Err()
}
