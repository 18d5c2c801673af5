package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	davclient "github.com/cardbridge/cardbridge/side/carddav"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/vcard"

	"github.com/cardbridge/cardbridge/testutil"
)

// remoteDAV is a real CardDAV server (Radicale or Xandikos) on a loopback
// port, which the end-to-end tests sync with, edit as another client
// would, and restart. Its output accumulates over restarts in log.
type remoteDAV struct {
	name string
	root string // the server root URL, with a trailing slash
	home string // the test user's address-book home, relative to root
	// bogusToken is a sync token of the server's own form that it never
	// handed out.
	bogusToken string
	// stored matches one log line per PUT the server stored.
	stored *regexp.Regexp
	// forgetTokens, where the server has one, removes the token history
	// of a book from its storage.
	forgetTokens func(t *testing.T, book string)
	// afterKill, where set, repairs what a SIGKILL leaves behind, as the
	// server's operator would before starting it again.
	afterKill func(t *testing.T)
	bin       string
	args      []string
	log       *testutil.LockedBuffer
	cmd       *exec.Cmd
	done      chan struct{}
}

// startRadicale runs Radicale on a free loopback port with no auth (the
// user is whoever logs in: "bench" here), logging every request.
func startRadicale(t *testing.T) *remoteDAV {
	t.Helper()
	bin := needPeer(t, "radicale")
	port := freePort(t)
	dir := t.TempDir()
	s := &remoteDAV{
		name:       "radicale",
		root:       fmt.Sprintf("http://127.0.0.1:%d/", port),
		home:       "bench/",
		bogusToken: "http://radicale.org/ns/sync/" + strings.Repeat("0", 64),
		stored:     regexp.MustCompile(`PUT response status for '[^']*' in [0-9.]+ seconds: 20[14] `),
		forgetTokens: func(t *testing.T, book string) {
			cache := filepath.Join(dir, "collection-root", "bench", book, ".Radicale.cache")
			if _, err := os.Stat(cache); err != nil {
				t.Fatalf("radicale's token cache: %v", err)
			}
			if err := os.RemoveAll(cache); err != nil {
				t.Fatal(err)
			}
		},
		bin:  bin,
		args: []string{"--storage-filesystem-folder", dir, "--server-hosts", fmt.Sprintf("127.0.0.1:%d", port), "--auth-type", "none", "--logging-level", "info"},
		log:  &testutil.LockedBuffer{},
	}
	s.start(t)
	t.Cleanup(func() { s.stop() })
	return s
}

// startXandikos runs Xandikos on a free loopback port the way
// bench/carddav-servers.sh does: default collections and /user as the
// current user's principal, whoever logs in.
func startXandikos(t *testing.T) *remoteDAV {
	t.Helper()
	bin := needPeer(t, "xandikos")
	port := freePort(t)
	dir := t.TempDir()
	s := &remoteDAV{
		name:       "xandikos",
		root:       fmt.Sprintf("http://127.0.0.1:%d/", port),
		home:       "user/contacts/",
		bogusToken: strings.Repeat("0", 40),
		stored:     regexp.MustCompile(`"PUT [^"]*" 20[14] `),
		bin:        bin,
		// Xandikos commits every write to a git repository per book; killed
		// during a commit, it leaves git's lock files behind (.git/index.lock,
		// an object's .lock) and answers 500 to every later write that needs
		// them until they are removed, as with git itself.
		afterKill: func(t *testing.T) {
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".lock") {
					t.Logf("xandikos: removing the stale %s", p)
					if err := os.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
				return nil
			})
		},
		args: []string{"-d", dir, "-l", "127.0.0.1", "-p", fmt.Sprint(port), "--defaults", "--current-user-principal", "/user"},
		log:  &testutil.LockedBuffer{},
	}
	s.start(t)
	t.Cleanup(func() { s.stop() })
	return s
}

// forEachServer runs f as a subtest against each real server: Radicale
// and Xandikos.
func forEachServer(t *testing.T, f func(t *testing.T, s *remoteDAV)) {
	servers := []struct {
		name  string
		start func(*testing.T) *remoteDAV
	}{{"radicale", startRadicale}, {"xandikos", startXandikos}}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) { f(t, srv.start(t)) })
	}
}

// start runs the server process and waits (up to 15 s) until it answers.
func (s *remoteDAV) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	ok := testutil.Eventually(15*time.Second, func() bool {
		select {
		case <-done:
			return false
		default:
		}
		resp, err := http.Get(s.root)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	if !ok {
		t.Fatalf("%s did not start:\n%s", s.name, s.log)
	}
}

// stop kills the server process (SIGKILL: no clean shutdown) and waits
// for it.
func (s *remoteDAV) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// storedPuts counts the PUTs the server logged as stored.
func (s *remoteDAV) storedPuts() int { return len(s.stored.FindAllStringIndex(s.log.String(), -1)) }

// bookURL is the URL of the test user's book named book.
func (s *remoteDAV) bookURL(book string) string { return s.root + s.home + book + "/" }

// request sends one request to the server as another client would and
// fails the test unless the answer is 2xx.
func (s *remoteDAV) request(t *testing.T, method, url, body string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("bench", "pw")
	if body != "" {
		req.Header.Set("Content-Type", "text/vcard")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
}

// cards reads every card of book, by UID, failing on a duplicate UID.
func (s *remoteDAV) cards(t *testing.T, book string) map[string]*vcard.Card {
	t.Helper()
	ctx := context.Background()
	side, err := davclient.New(ctx, davclient.Options{URL: s.bookURL(book), Username: "bench", Password: "pw", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := side.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	items, err := side.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*vcard.Card{}
	for _, it := range items {
		if it.Err != nil {
			t.Fatalf("%s: reading %s: %v", s.name, it.ID, it.Err)
		}
		if out[it.Card.UID()] != nil {
			t.Fatalf("%s: UID %s twice in %s", s.name, it.Card.UID(), book)
		}
		out[it.Card.UID()] = it.Card
	}
	return out
}

// vdirCards reads every card of a vdir, by UID, failing on a duplicate
// UID or an unreadable card.
func vdirCards(t *testing.T, dir string) map[string]*vcard.Card {
	t.Helper()
	out := map[string]*vcard.Card{}
	for name, raw := range vcfFiles(t, dir) {
		c, err := vcard.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out[c.UID()] != nil {
			t.Fatalf("UID %s twice in %s", c.UID(), dir)
		}
		out[c.UID()] = c
	}
	return out
}

// sameCards fails unless the vdir and the book hold the same UIDs with
// the same content (normalised hash), and returns how many there are.
func sameCards(t *testing.T, s *remoteDAV, book, vdir string) int {
	t.Helper()
	local, remote := vdirCards(t, vdir), s.cards(t, book)
	var diff []string
	for uid, c := range local {
		if r := remote[uid]; r == nil {
			diff = append(diff, uid+" only in the vdir")
		} else if r.Hash() != c.Hash() {
			diff = append(diff, uid+" differs:\n"+string(c.Encode())+"---\n"+string(r.Encode()))
		}
	}
	for uid := range remote {
		if local[uid] == nil {
			diff = append(diff, uid+" only on "+s.name)
		}
	}
	if len(diff) > 0 {
		sort.Strings(diff)
		t.Fatalf("vdir and %s differ (%d vs %d cards):\n%s", s.name, len(local), len(remote), strings.Join(diff, "\n"))
	}
	return len(local)
}

// testCard is a small vCard 3.0 text.
func testCard(uid, fn, extra string) string {
	return fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\nEMAIL:%s@example.com\r\n%sEND:VCARD\r\n", uid, fn, fn, uid, extra)
}

// carddavPair writes a config whose pair p syncs the vdir a with the
// book (created when missing) and returns its path.
func carddavPair(t *testing.T, s *remoteDAV, dir, a, book, extra string) string {
	t.Helper()
	cfg := filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("state: %s/state.db\npairs:\n  p:\n    a: {type: vdir, path: %s}\n    b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: %s, create: true}\n%s", dir, a, s.root, book, extra)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestCardDAVVdirPair: a vdir ⇄ a real server's book, with the password
// from the environment, both ways and incremental: creates, updates and
// deletes made on either side reach the other.
func TestCardDAVVdirPair(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *remoteDAV) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a")
		os.MkdirAll(a, 0o700)
		for i := range 20 {
			os.WriteFile(filepath.Join(a, fmt.Sprintf("r%02d.vcf", i)), []byte(testCard(fmt.Sprintf("dav-%02d", i), fmt.Sprintf("Dav %02d", i), "")), 0o600)
		}
		cfg := carddavPair(t, s, dir, a, "contacts", "")
		env := []string{"DAV_PW=secret-never-printed"}
		r := cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 20 {
			t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
		}
		noChange(t, env, cfg)
		// Local edits reach the server.
		os.Remove(filepath.Join(a, "r00.vcf"))
		os.WriteFile(filepath.Join(a, "r01.vcf"), []byte(testCard("dav-01", "Dav 01", "TITLE:Edited locally\r\n")), 0o600)
		os.WriteFile(filepath.Join(a, "new.vcf"), []byte(testCard("dav-new", "Dav New", "")), 0o600)
		r = cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "b", "deleted") != 1 || sideCount(m, "b", "updated") != 1 || sideCount(m, "b", "created") != 1 {
			t.Fatalf("local edits: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if n := sameCards(t, s, "contacts", a); n != 20 {
			t.Fatalf("%d cards after local edits", n)
		}
		// Another client's edits on the server reach the vdir.
		s.request(t, http.MethodPut, s.bookURL("contacts")+"dav-02.vcf", testCard("dav-02", "Dav 02", "TITLE:Edited on the server\r\n"))
		s.request(t, http.MethodDelete, s.bookURL("contacts")+"dav-03.vcf", "")
		s.request(t, http.MethodPut, s.bookURL("contacts")+"other.vcf", testCard("from-server", "From Server", ""))
		r = cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "a", "deleted") != 1 || sideCount(m, "a", "updated") != 1 || sideCount(m, "a", "created") != 1 {
			t.Fatalf("server edits: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if n := sameCards(t, s, "contacts", a); n != 20 {
			t.Fatalf("%d cards after server edits", n)
		}
		if c := vdirCards(t, a)["dav-02"]; c == nil || !strings.Contains(string(c.Encode()), "TITLE:Edited on the server") {
			t.Fatal("the server's edit did not reach the vdir")
		}
		noChange(t, env, cfg)
		// A second folder pulls the book back, from the book's URL.
		b2 := filepath.Join(dir, "b2")
		os.MkdirAll(b2, 0o700)
		cfg2 := filepath.Join(dir, "config2.yaml")
		os.WriteFile(cfg2, []byte(fmt.Sprintf("state: %s/state2.db\npairs:\n  q:\n    a: {type: carddav, url: %s, username: bench, password_env: DAV_PW}\n    b: {type: vdir, path: %s}\n", dir, s.bookURL("contacts"), b2)), 0o600)
		if r := cb(t, env, "--config", cfg2, "sync"); r.code != 0 {
			t.Fatalf("pull: %s %s", r.stdout, r.stderr)
		}
		if n := sameCards(t, s, "contacts", b2); n != 20 {
			t.Fatalf("pulled %d cards", n)
		}
		if r := cb(t, env, "--config", cfg, "sync"); strings.Contains(r.stderr+r.stdout, "secret-never-printed") {
			t.Fatal("the password was printed")
		}
		// An unset password_env is a configuration error found before
		// anything runs (issue 16; it was a failed pair, exit 1).
		if r := cb(t, nil, "--config", cfg, "sync"); r.code != 2 || !strings.Contains(r.stderr, "pairs.p.b.password_env") || !strings.Contains(r.stderr, "DAV_PW") {
			t.Fatalf("missing password variable: %d %s", r.code, r.stderr)
		}
	})
}

// TestCardDAVO365Pair: Office 365 (graphsim) ⇄ a real server's book.
func TestCardDAVO365Pair(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *remoteDAV) {
		e := newSim(t, 10)
		cfg, _ := e.workspace(t, "client-secret", "merge")
		text, _ := os.ReadFile(cfg)
		text = []byte(strings.Replace(string(text), "b: {type: vdir, path: ", fmt.Sprintf("b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: contacts, create: true}\n    #", s.root), 1))
		os.WriteFile(cfg, text, 0o600)
		env := append([]string{"DAV_PW=pw"}, simEnvVars...)
		r := cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 10 {
			t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
		}
		mb := e.sim.Mailbox(alice)
		id := mb.ContactIDs("")[0]
		mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"Edited in Outlook"}`, id)))
		r = cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "b", "updated") != 1 {
			t.Fatalf("edit: %d %s %s", r.code, r.stdout, r.stderr)
		}
		found := false
		for _, c := range s.cards(t, "contacts") {
			found = found || strings.Contains(string(c.Encode()), "Edited in Outlook")
		}
		if !found {
			t.Fatal("the edit made in Outlook is not on the server")
		}
		s.request(t, http.MethodPut, s.bookURL("contacts")+"dav-made.vcf", testCard("dav-made", "Made On Dav", ""))
		r = cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 {
			t.Fatalf("card made on the server: %d %s %s", r.code, r.stdout, r.stderr)
		}
		noChange(t, env, cfg)
	})
}

// TestCardDAVServerStorePair: the built-in server's book ⇄ a real
// server's book, both ways.
func TestCardDAVServerStorePair(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *remoteDAV) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("state: %s/state.db\npairs:\n  p:\n    a: {type: server, user: alice, addressbook: contacts}\n    b: {type: carddav, url: %s, username: bench, password_env: DAV_PW, addressbook: contacts, create: true}\n", dir, s.root)), 0o600)
		addUser(t, cfg, "alice", "correct horse")
		db := statetest.Open(t, filepath.Join(dir, "state.db"), state.Options{})
		book, _ := db.AddressBook(context.Background(), "alice", "contacts")
		for i := range 5 {
			uid := fmt.Sprintf("store-%d", i)
			db.PutCard(context.Background(), book.ID, uid+".vcf", uid, []byte(testCard(uid, fmt.Sprintf("Store %d", i), "")), state.Precondition{IfNoneMatch: true})
		}
		db.Close()
		env := []string{"DAV_PW=pw"}
		r := cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "b", "created") != 5 {
			t.Fatalf("first sync: %d %s %s", r.code, r.stdout, r.stderr)
		}
		// A card made on the server by another client comes back to the store.
		s.request(t, http.MethodPut, s.bookURL("contacts")+"other.vcf", testCard("from-dav", "From Dav", ""))
		r = cb(t, env, "--config", cfg, "sync", "--json")
		if m := summary(t, r); r.code != 0 || sideCount(m, "a", "created") != 1 {
			t.Fatalf("second sync: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if n := len(s.cards(t, "contacts")); n != 6 {
			t.Fatalf("%d cards on the server", n)
		}
		noChange(t, env, cfg)
	})
}

// TestCardDAVConflictsPerPolicy: the same contact edited in the vdir and
// on the server (by another client) between two syncs, under each
// policy; both sides end as the policy says.
func TestCardDAVConflictsPerPolicy(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *remoteDAV) {
		for i, policy := range []string{"merge", "newest", "a-wins", "b-wins", "keep-both", "manual"} {
			t.Run(policy, func(t *testing.T) {
				dir := t.TempDir()
				a := filepath.Join(dir, "a")
				os.MkdirAll(a, 0o700)
				os.WriteFile(filepath.Join(a, "c.vcf"), []byte(testCard("conflict-1", "Conflicted", "TITLE:Old\r\n")), 0o600)
				book := fmt.Sprintf("book%d", i)
				cfg := carddavPair(t, s, dir, a, book, "    conflict: "+policy+"\n")
				env := []string{"DAV_PW=pw"}
				if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 {
					t.Fatalf("first sync: %s", r.stderr)
				}
				os.WriteFile(filepath.Join(a, "c.vcf"), []byte(testCard("conflict-1", "Conflicted", "TITLE:From the vdir\r\nREV:20200101T000000Z\r\n")), 0o600)
				s.request(t, http.MethodPut, s.bookURL(book)+"conflict-1.vcf", testCard("conflict-1", "Conflicted", "TITLE:From the server\r\nREV:20300101T000000Z\r\n"))
				r := cb(t, env, "--config", cfg, "sync", "--json")
				m := summary(t, r)
				if r.code != 0 {
					t.Fatalf("sync: %s %s", r.stdout, r.stderr)
				}
				titles := func(cards map[string]*vcard.Card) string {
					var ts []string
					for _, c := range cards {
						for _, p := range c.Props {
							if p.Name == "TITLE" {
								ts = append(ts, p.Value)
							}
						}
					}
					sort.Strings(ts)
					return strings.Join(ts, "|")
				}
				local, remote := titles(vdirCards(t, a)), titles(s.cards(t, book))
				want := map[string][2]string{ // vdir, server
					"merge":     {"From the server", "From the server"}, // the clash falls to the newer REV
					"newest":    {"From the server", "From the server"},
					"a-wins":    {"From the vdir", "From the vdir"},
					"b-wins":    {"From the server", "From the server"},
					"keep-both": {"From the server|From the vdir", "From the server|From the vdir"},
					"manual":    {"From the vdir", "From the server"},
				}[policy]
				if local != want[0] || remote != want[1] {
					t.Fatalf("%s: vdir %q, server %q; want %q, %q\n%s", policy, local, remote, want[0], want[1], r.stdout)
				}
				switch policy {
				case "manual":
					if m["conflicts"].(float64) != 1 {
						t.Fatalf("manual: %s", r.stdout)
					}
				case "keep-both":
					sameCards(t, s, book, a)
				default:
					sameCards(t, s, book, a)
					noChange(t, env, cfg)
				}
			})
		}
	})
}

// TestCardDAVTokenInvalidation: the stored sync-collection token becomes
// invalid while both sides change; the next run reads the whole book,
// reconciles it with state (no duplicate, no deletion) and syncs the
// changes made meanwhile.
func TestCardDAVTokenInvalidation(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *remoteDAV) {
		type invalidation struct {
			name       string
			invalidate func(t *testing.T, dir, book string)
		}
		cases := []invalidation{{"bogus token in state", func(t *testing.T, dir, _ string) {
			db := statetest.Open(t, filepath.Join(dir, "state.db"), state.Options{})
			defer db.Close()
			if err := db.SetToken(context.Background(), "p", "b", s.bogusToken); err != nil {
				t.Fatal(err)
			}
		}}}
		if s.forgetTokens != nil {
			cases = append(cases, invalidation{"server forgot its tokens", func(t *testing.T, _, book string) { s.forgetTokens(t, book) }})
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				dir := t.TempDir()
				a := filepath.Join(dir, "a")
				os.MkdirAll(a, 0o700)
				for j := range 20 {
					os.WriteFile(filepath.Join(a, fmt.Sprintf("t%02d.vcf", j)), []byte(testCard(fmt.Sprintf("tok-%02d", j), fmt.Sprintf("Token %02d", j), "")), 0o600)
				}
				book := fmt.Sprintf("tokens%d", i)
				cfg := carddavPair(t, s, dir, a, book, "")
				env := []string{"DAV_PW=pw"}
				if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 {
					t.Fatalf("first sync: %s %s", r.stdout, r.stderr)
				}
				noChange(t, env, cfg)
				db := statetest.Open(t, filepath.Join(dir, "state.db"), state.Options{})
				tok, err := db.Token(context.Background(), "p", "b")
				db.Close()
				if err != nil || tok == "" || tok == "propfind" {
					t.Fatalf("the pair does not use sync-collection: token %q, %v", tok, err)
				}
				// Meanwhile: edits on both sides, and a card made on each.
				s.request(t, http.MethodPut, s.bookURL(book)+"tok-05.vcf", testCard("tok-05", "Token 05", "TITLE:Edited on the server\r\n"))
				s.request(t, http.MethodPut, s.bookURL(book)+"made-there.vcf", testCard("made-there", "Made There", ""))
				os.WriteFile(filepath.Join(a, "t06.vcf"), []byte(testCard("tok-06", "Token 06", "TITLE:Edited locally\r\n")), 0o600)
				os.WriteFile(filepath.Join(a, "made-here.vcf"), []byte(testCard("made-here", "Made Here", "")), 0o600)
				c.invalidate(t, dir, book)
				r := cb(t, env, "--config", cfg, "--log-level", "info", "sync", "--json")
				m := summary(t, r)
				if r.code != 0 || !strings.Contains(r.stderr, "change token expired") {
					t.Fatalf("sync after the token became invalid: %d %s %s", r.code, r.stdout, r.stderr)
				}
				for _, w := range []string{"a", "b"} {
					if sideCount(m, w, "created") != 1 || sideCount(m, w, "updated") != 1 || sideCount(m, w, "deleted") != 0 {
						t.Fatalf("side %s: %s", w, r.stdout)
					}
				}
				if n := sameCards(t, s, book, a); n != 22 {
					t.Fatalf("%d cards after the full round, want 22", n)
				}
				local := vdirCards(t, a)
				if !strings.Contains(string(local["tok-05"].Encode()), "Edited on the server") || !strings.Contains(string(local["tok-06"].Encode()), "Edited locally") {
					t.Fatal("an edit made meanwhile was lost")
				}
				noChange(t, env, cfg)
			})
		}
	})
}

// TestCardDAVServerRestartMidRun: the server is killed once it has stored
// some of a first upload and started again at once; the run ends with a
// clear error (exit 1) or succeeds through retries, and the re-run
// converges: both sides equal, no duplicate, nothing lost.
func TestCardDAVServerRestartMidRun(t *testing.T) {
	const n, killAt = 100, 30
	forEachServer(t, func(t *testing.T, s *remoteDAV) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a")
		os.MkdirAll(a, 0o700)
		for j := range n {
			os.WriteFile(filepath.Join(a, fmt.Sprintf("k%03d.vcf", j)), []byte(testCard(fmt.Sprintf("kill-%03d", j), fmt.Sprintf("Kill %03d", j), "ORG:Restart Inc.\r\nTEL;TYPE=CELL:+1 555 0100\r\n")), 0o600)
		}
		cfg := carddavPair(t, s, dir, a, "contacts", "")
		before := s.storedPuts()
		cmd := binCmd(t, []string{"DAV_PW=pw"}, "--config", cfg, "sync", "--json")
		out := &testutil.LockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		if !testutil.Eventually(60*time.Second, func() bool { return s.storedPuts()-before >= killAt }) {
			t.Fatalf("%s stored %d PUTs in 60 s:\n%s", s.name, s.storedPuts()-before, out)
		}
		s.stop()
		select {
		case <-exited:
			t.Fatalf("the sync ended before the kill landed:\n%s", out)
		default:
		}
		storedAtKill := s.storedPuts() - before
		if s.afterKill != nil {
			s.afterKill(t)
		}
		s.start(t)
		select {
		case <-exited:
		case <-time.After(120 * time.Second):
			t.Fatalf("the interrupted sync did not end in 120 s:\n%s", out)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s log:\n%s", s.name, s.log)
			}
		})
		code := cmd.ProcessState.ExitCode()
		t.Logf("%s killed after %d stored PUTs; the run exited %d", s.name, storedAtKill, code)
		switch code {
		case 0:
		case 1:
			if !regexp.MustCompile(`connection refused|connection reset|EOF|50[023] `).MatchString(out.String()) || !strings.Contains(out.String(), "carddav: PUT "+s.root) {
				t.Fatalf("exit 1 without a clear error naming the server:\n%s", out)
			}
		default:
			t.Fatalf("the interrupted sync exited %d:\n%s", code, out)
		}
		env := []string{"DAV_PW=pw"}
		if r := cb(t, env, "--config", cfg, "sync"); r.code != 0 {
			t.Fatalf("re-run: %d %s %s", r.code, r.stdout, r.stderr)
		}
		if got := sameCards(t, s, "contacts", a); got != n {
			t.Fatalf("%d cards after the re-run, want %d", got, n)
		}
		noChange(t, env, cfg)
	})
}
