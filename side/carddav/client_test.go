package carddav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cardbridge/cardbridge/carddav/server"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/state/statetest"
	"github.com/cardbridge/cardbridge/testutil"
	"github.com/cardbridge/cardbridge/vcard"
)

func init() { backoffBase = 5 * time.Millisecond }

// ownServer starts our CardDAV server in-process with user alice
// (password "pw") and returns its URL and store.
func ownServer(t *testing.T) (string, *state.DB) {
	t.Helper()
	ctx := context.Background()
	db := statetest.Open(t, filepath.Join(t.TempDir(), "state.db"), state.Options{})
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AddUser(ctx, "alice", string(h)); err != nil {
		t.Fatal(err)
	}
	hd, err := server.New(server.Options{Store: db, FailedLoginDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	return srv.URL, db
}

// newOwn returns a side on alice's default book of a fresh server.
func newOwn(t *testing.T, url string) *Side {
	t.Helper()
	s, err := New(context.Background(), Options{URL: url, Username: "alice", Password: "pw", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformanceOwnServer runs the side suite against our own server.
func TestConformanceOwnServer(t *testing.T) {
	sidetest.Run(t, func(t *testing.T) engine.Side {
		u, _ := ownServer(t)
		return newOwn(t, u)
	}, sidetest.Options{RefusesDuplicateUID: true})
}

// TestDiscovery finds books from the root, the principal, the well-known
// URL and the book, by name and path, and creates one when allowed.
func TestDiscovery(t *testing.T) {
	u, db := ownServer(t)
	ctx := context.Background()
	if _, err := db.CreateAddressBook(ctx, "alice", "work", "Work People", ""); err != nil {
		t.Fatal(err)
	}
	want := u + "/addressbooks/alice/contacts/"
	for _, start := range []string{u, u + "/", u + "/principals/alice/", u + "/addressbooks/alice/contacts/", u + "/addressbooks/alice/contacts", u + "/.well-known/carddav"} {
		s, err := New(ctx, Options{URL: start, Username: "alice", Password: "pw", AddressBook: "contacts"})
		if err != nil {
			t.Errorf("from %s: %v", start, err)
			continue
		}
		if s.BookURL() != want {
			t.Errorf("from %s: book %s, want %s", start, s.BookURL(), want)
		}
		if !s.hasSync.Load() {
			t.Errorf("from %s: sync-collection not detected", start)
		}
	}
	// By display name, case-insensitively, and by path.
	for _, name := range []string{"Work People", "work people", "work", "/addressbooks/alice/work/"} {
		s, err := New(ctx, Options{URL: u, Username: "alice", Password: "pw", AddressBook: name})
		if err != nil {
			t.Errorf("%q: %v", name, err)
		} else if s.BookURL() != u+"/addressbooks/alice/work/" {
			t.Errorf("%q: book %s", name, s.BookURL())
		}
	}
	// The URL of another book with AddressBook set picks the sibling.
	s, err := New(ctx, Options{URL: want, Username: "alice", Password: "pw", AddressBook: "Work People"})
	if err != nil || s.BookURL() != u+"/addressbooks/alice/work/" {
		t.Errorf("sibling: %v", err)
	}
	// Several books and none named: a clear error.
	if _, err := New(ctx, Options{URL: u, Username: "alice", Password: "pw"}); err == nil || !strings.Contains(err.Error(), "Work People") {
		t.Errorf("ambiguous: %v", err)
	}
	// Missing book without create.
	_, err = New(ctx, Options{URL: u, Username: "alice", Password: "pw", AddressBook: "nope"})
	if err == nil || !strings.Contains(err.Error(), `no address book "nope"`) || !strings.Contains(err.Error(), "Work People") {
		t.Errorf("missing book: %v", err)
	}
	// Create.
	s, err = New(ctx, Options{URL: u, Username: "alice", Password: "pw", AddressBook: "fresh", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.BookURL() != u+"/addressbooks/alice/fresh/" {
		t.Errorf("created %s", s.BookURL())
	}
	if refs, err := s.List(ctx); err != nil || len(refs) != 0 {
		t.Errorf("new book lists %v, %v", refs, err)
	}
	// Wrong password.
	if _, err := New(ctx, Options{URL: u, Username: "alice", Password: "bad"}); err == nil || !strings.Contains(err.Error(), "authentication") {
		t.Errorf("bad password: %v", err)
	}
}

// TestInvalidTokenOwnServer checks that unknown tokens are expired.
func TestInvalidTokenOwnServer(t *testing.T) {
	u, _ := ownServer(t)
	s := newOwn(t, u)
	ctx := context.Background()
	cs, err := s.Changes(ctx, "")
	if err != nil || !cs.Full || cs.Token == "" || cs.Token == propfindToken {
		t.Fatalf("full round: %+v, %v", cs, err)
	}
	for _, tok := range []string{"garbage", "http://cardbridge.invalid/sync/999999", propfindToken + "x"} {
		if _, err := s.Changes(ctx, tok); !errors.Is(err, engine.ErrTokenExpired) {
			t.Errorf("token %q: %v, want ErrTokenExpired", tok, err)
		}
	}
}

// startDaemon runs a reference server binary and waits for its port.
func startDaemon(t *testing.T, bin string, args func(dir string, port int) []string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not installed", bin)
		}
		t.Skipf("%s not installed", bin)
	}
	dir := t.TempDir()
	port := testutil.FreePort(t)
	cmd := exec.Command(path, args(dir, port)...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, out.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return "http://" + addr
		}
		select {
		case <-done:
			t.Fatalf("%s exited: %s", bin, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s: %s", bin, addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runReference runs the conformance suite on a reference server: every
// side is a new book created through discovery from the root; opts is
// what the server cannot do.
func runReference(t *testing.T, root string, wrap func(*Side) engine.Side, opts sidetest.Options) {
	var n atomic.Int32
	sidetest.Run(t, func(t *testing.T) engine.Side {
		name := fmt.Sprintf("book%d", n.Add(1))
		s, err := New(context.Background(), Options{URL: root, Username: "user", Password: "x", AddressBook: name, Create: true, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !s.hasSync.Load() {
			t.Errorf("%s: sync-collection not detected", s.BookURL())
		}
		return wrap(s)
	}, opts)
	t.Run("InvalidToken", func(t *testing.T) {
		s, err := New(context.Background(), Options{URL: root, Username: "user", Password: "x", AddressBook: "tokens", Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Changes(context.Background(), "http://example.invalid/garbage"); !errors.Is(err, engine.ErrTokenExpired) {
			t.Errorf("garbage token: %v, want ErrTokenExpired", err)
		}
	})
}

// TestRadicale runs the side suite against a Radicale on loopback.
func TestRadicale(t *testing.T) {
	root := startDaemon(t, "radicale", func(dir string, port int) []string {
		return []string{"--config", "", "--storage-filesystem-folder", dir + "/collections",
			"--server-hosts", fmt.Sprintf("127.0.0.1:%d", port), "--auth-type", "none"}
	})
	runReference(t, root, func(s *Side) engine.Side { return vobjectSide{s} }, sidetest.Options{
		RefusesDuplicateUID: true, // 409 no-uid-conflict
		MayRefuse: map[string]string{
			"google-export.vcf": "vobject would escape the ; in X-ANDROID-CUSTOM",
			"v4-full.vcf":       "vobject would escape the ; in TEL",
		},
	})
	t.Run("Prefetch", func(t *testing.T) { testPrefetch(t, referencePrefetch(root), true) })
}

// TestXandikos runs discovery and the side suite against Xandikos.
func TestXandikos(t *testing.T) {
	root := startDaemon(t, "xandikos", func(dir string, port int) []string {
		return []string{"-d", dir, "-l", "127.0.0.1", "-p", fmt.Sprint(port), "--defaults", "--current-user-principal", "/user"}
	})
	t.Run("Discovery", func(t *testing.T) {
		for _, start := range []string{root, root + "/user/", root + "/user/contacts/addressbook/"} {
			s, err := New(context.Background(), Options{URL: start})
			if err != nil {
				t.Errorf("from %s: %v", start, err)
			} else if s.BookURL() != root+"/user/contacts/addressbook/" {
				t.Errorf("from %s: %s", start, s.BookURL())
			}
		}
	})
	runReference(t, root, func(s *Side) engine.Side { return s }, sidetest.Options{})
	// Xandikos 0.2 answers address-data only in multiget and query.
	t.Run("Prefetch", func(t *testing.T) { testPrefetch(t, referencePrefetch(root), false) })
}

// fake is a scripted CardDAV server for the cases the real ones do not
// produce.
type fake struct {
	t       *testing.T
	mu      sync.Mutex
	handler func(w http.ResponseWriter, r *http.Request)
	srv     *httptest.Server
}

const fakeBook = `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<D:response><D:href>/book/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Book</D:displayname>%s</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`

// newFake starts a fake server whose book is /book/; other requests go to
// h. With sync set the book advertises sync-collection.
func newFake(t *testing.T, sync bool, h http.HandlerFunc) (*httptest.Server, *Side) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "PROPFIND" && r.URL.Path == "/book/" && r.Header.Get("Depth") == "0" {
			extra := ""
			if sync {
				extra = `<D:supported-report-set><D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report></D:supported-report-set>`
			}
			w.WriteHeader(207)
			fmt.Fprintf(w, fakeBook, extra)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	s, err := New(context.Background(), Options{URL: srv.URL + "/book/", MultigetChunk: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}

const card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nN:%s;;;;\r\nEND:VCARD\r\n"

// TestFakeETagsAndMultiget covers weak and unquoted ETags, foreign hrefs,
// the PROPFIND fallback without sync-collection and multiget 404s.
func TestFakeETagsAndMultiget(t *testing.T) {
	_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "PROPFIND":
			w.WriteHeader(207)
			fmt.Fprint(w, `<?xml version="1.0"?><multistatus xmlns="DAV:">
<response><href>/book/</href><propstat><prop><resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/book/a.vcf</href><propstat><prop><getetag>W/"weak-1"</getetag><resourcetype/></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>http://elsewhere.example/book/b%20c.vcf</href><propstat><prop><getetag>bare-2</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>`)
		case "REPORT":
			w.WriteHeader(207)
			fmt.Fprintf(w, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
<d:response><d:href>/book/a.vcf</d:href><d:propstat><d:prop><d:getetag>W/"weak-1"</d:getetag><card:address-data>`+card+`</card:address-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
<d:response><d:href>/book/gone.vcf</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
</d:multistatus>`, "a", "A", "A")
		default:
			http.Error(w, "no", 500)
		}
	})
	ctx := context.Background()
	refs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Ref{{ID: "a.vcf", Version: `W/"weak-1"`}, {ID: "b c.vcf", Version: `"bare-2"`}}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("List = %v, want %v", refs, want)
	}
	cs, err := s.Changes(ctx, "")
	if err != nil || !cs.Full || cs.Token != propfindToken || len(cs.Changed) != 2 {
		t.Errorf("Changes without sync-collection = %+v, %v", cs, err)
	}
	cs, err = s.Changes(ctx, cs.Token)
	if err != nil || !cs.Full || len(cs.Changed) != 2 {
		t.Errorf("second Changes = %+v, %v", cs, err)
	}
	if _, err := s.Changes(ctx, "http://x/token"); !errors.Is(err, engine.ErrTokenExpired) {
		t.Errorf("foreign token: %v", err)
	}
	items, err := s.Get(ctx, []string{"a.vcf", "gone.vcf", "missing.vcf"})
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Err != nil || items[0].Card.UID() != "a" || items[0].Version != `W/"weak-1"` {
		t.Errorf("a: %+v", items[0])
	}
	for _, it := range items[1:] {
		if !errors.Is(it.Err, engine.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", it.ID, it.Err)
		}
	}
}

// TestFakeRefusals maps refusals to ErrRefused, 412 to ErrPrecondition
// and a 500 to neither.
func TestFakeRefusals(t *testing.T) {
	for _, st := range []int{403, 404, 409, 413, 415, 507} {
		t.Run(fmt.Sprint(st), func(t *testing.T) {
			_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "card too big for this server", st)
			})
			_, err := s.Create(context.Background(), sidetest.Card("x", "X"))
			if !errors.Is(err, engine.ErrRefused) || !strings.Contains(err.Error(), fmt.Sprint(st)) || !strings.Contains(err.Error(), "card too big") {
				t.Errorf("create: %v", err)
			}
			_, err = s.Update(context.Background(), engine.Ref{ID: "x.vcf", Version: `"1"`}, sidetest.Card("x", "X"))
			if !errors.Is(err, engine.ErrRefused) {
				t.Errorf("update: %v", err)
			}
		})
	}
	_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Match") != `"1"` {
			t.Errorf("If-Match = %q", r.Header.Get("If-Match"))
		}
		w.WriteHeader(412)
	})
	if _, err := s.Update(context.Background(), engine.Ref{ID: "x.vcf", Version: `"1"`}, sidetest.Card("x", "X")); !errors.Is(err, engine.ErrPrecondition) || errors.Is(err, engine.ErrRefused) {
		t.Errorf("412: %v", err)
	}
	_, s = newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "server broken", 500)
	})
	if _, err := s.Create(context.Background(), sidetest.Card("x", "X")); err == nil || errors.Is(err, engine.ErrRefused) {
		t.Errorf("500: %v", err)
	}
}

// TestFakeRetry retries a 503 on GET and bounds the tries of a create.
func TestFakeRetry(t *testing.T) {
	var n atomic.Int32
	_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "REPORT":
			w.WriteHeader(400) // no multiget: one GET per card
		case "GET":
			if n.Add(1) == 1 {
				http.Error(w, "busy", 503)
				return
			}
			w.Header().Set("ETag", `"e1"`)
			fmt.Fprintf(w, card, "r", "R", "R")
		}
	})
	items, err := s.Get(context.Background(), []string{"r.vcf"})
	if err != nil || items[0].Err != nil || items[0].Card.UID() != "r" || items[0].Version != `"e1"` {
		t.Fatalf("Get = %+v, %v", items, err)
	}
	if n.Load() != 2 {
		t.Errorf("%d GETs, want 2", n.Load())
	}
	// A PUT without precondition is never sent; a create PUT is retried
	// and bounded.
	n.Store(0)
	_, s = newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Header.Get("If-None-Match") != "*" {
			t.Errorf("create without If-None-Match")
		}
		http.Error(w, "down", 502)
	})
	if _, err := s.Create(context.Background(), sidetest.Card("r", "R")); err == nil {
		t.Error("create succeeded on a broken server")
	}
	if n.Load() != maxTries {
		t.Errorf("%d tries, want %d", n.Load(), maxTries)
	}
}

// TestFakeInFlightCap checks that at most 4 requests are in flight.
func TestFakeInFlightCap(t *testing.T) {
	var cur, peak atomic.Int32
	_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		c := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		switch r.Method {
		case "REPORT":
			w.WriteHeader(207)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"/>`)
		case "PUT":
			w.Header().Set("ETag", `"1"`)
			w.WriteHeader(201)
		}
	})
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		ids = append(ids, fmt.Sprintf("%d.vcf", i))
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Create(ctx, sidetest.Card(fmt.Sprint("c", i), "C")); err != nil {
				t.Error(err)
			}
		}()
	}
	if _, err := s.Get(ctx, ids); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if p := peak.Load(); p > DefaultMaxInFlight || p < 2 {
		t.Errorf("peak in flight %d, want 2..%d", p, DefaultMaxInFlight)
	}
}

// TestFakeSyncCollection covers paged sync answers, deletions and a
// valid-sync-token refusal.
func TestFakeSyncCollection(t *testing.T) {
	var page atomic.Int32
	_, s := newFake(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "REPORT" {
			http.Error(w, "no", 405)
			return
		}
		b := make([]byte, 4096)
		k, _ := r.Body.Read(b)
		body := string(b[:k])
		switch {
		case strings.Contains(body, "<D:sync-token></D:sync-token>"):
			page.Add(1)
			w.WriteHeader(207)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"><response><href>/book/a.vcf</href><propstat><prop><getetag>"1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/book/</href><status>HTTP/1.1 507 Insufficient Storage</status></response><sync-token>t1</sync-token></multistatus>`)
		case strings.Contains(body, ">t1<"):
			page.Add(1)
			w.WriteHeader(207)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"><response><href>/book/b.vcf</href><propstat><prop><getetag>"2"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response><sync-token>t2</sync-token></multistatus>`)
		case strings.Contains(body, ">t2<"):
			w.WriteHeader(207)
			fmt.Fprint(w, `<multistatus xmlns="DAV:"><response><href>/book/a.vcf</href><status>HTTP/1.1 404 Not Found</status></response><sync-token>t3</sync-token></multistatus>`)
		default:
			w.WriteHeader(403)
			fmt.Fprint(w, `<error xmlns="DAV:"><valid-sync-token/></error>`)
		}
	})
	ctx := context.Background()
	cs, err := s.Changes(ctx, "")
	if err != nil || !cs.Full || cs.Token != "t2" || len(cs.Changed) != 2 || page.Load() != 2 {
		t.Fatalf("paged full round = %+v, %v", cs, err)
	}
	cs, err = s.Changes(ctx, "t2")
	if err != nil || cs.Full || cs.Token != "t3" || len(cs.Deleted) != 1 || cs.Deleted[0] != "a.vcf" {
		t.Fatalf("incremental = %+v, %v", cs, err)
	}
	if _, err := s.Changes(ctx, "old"); !errors.Is(err, engine.ErrTokenExpired) {
		t.Fatalf("old token: %v", err)
	}
}

// vobjectSide is a Radicale side for the conformance suite. Radicale
// rewrites cards with vobject, which escapes every ';' in the values of
// unstructured properties (X-ANDROID-CUSTOM, a TEL URI's ";ext="), so
// such cards cannot round-trip: the wrapper refuses them, as the suite
// allows.
type vobjectSide struct{ *Side }

// Create refuses the cards vobject would alter.
func (v vobjectSide) Create(ctx context.Context, c *vcard.Card) (engine.Ref, error) {
	for _, p := range c.Props {
		switch p.Name {
		case "N", "ADR", "ORG", "GENDER", "CLIENTPIDMAP":
			continue
		}
		if strings.Contains(strings.ReplaceAll(p.Value, `\;`, ""), ";") {
			return engine.Ref{}, fmt.Errorf("radicale (vobject) would escape %s: %w", p.Name, engine.ErrRefused)
		}
	}
	return v.Side.Create(ctx, c)
}

// TestFakeTimeoutRetried retries a GET that timed out.
func TestFakeTimeoutRetried(t *testing.T) {
	var n atomic.Int32
	srv, _ := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		w.Header().Set("ETag", `"t"`)
		fmt.Fprintf(w, card, "t", "T", "T")
	})
	s, err := New(context.Background(), Options{URL: srv.URL + "/book/", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	it := &engine.Item{Ref: engine.Ref{ID: "t.vcf"}}
	s.getOne(context.Background(), it)
	if it.Err != nil || it.Card == nil || n.Load() != 2 {
		t.Fatalf("after a timeout: %+v (%d requests)", it, n.Load())
	}
}

// TestFakeLostCreateAnswer checks that a create whose first answer was
// lost (a 503 after storing) and whose retry meets 412 finds its own card
// instead of writing a duplicate.
func TestFakeLostCreateAnswer(t *testing.T) {
	var mu sync.Mutex
	stored := ""
	puts := 0
	_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case "PUT":
			puts++
			if stored != "" {
				w.WriteHeader(412)
				return
			}
			b := make([]byte, 1<<16)
			k, _ := io.ReadFull(r.Body, b)
			stored = string(b[:k])
			http.Error(w, "lost", 503)
		case "REPORT":
			w.WriteHeader(207)
			fmt.Fprintf(w, `<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><response><href>/book/lost.vcf</href><propstat><prop><getetag>"s"</getetag><C:address-data>%s</C:address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`, stored)
		}
	})
	ref, err := s.Create(context.Background(), sidetest.Card("lost", "Lost"))
	if err != nil || ref.ID != "lost.vcf" || ref.Version != `"s"` || puts != 2 {
		t.Fatalf("Create = %+v, %v after %d PUTs", ref, err, puts)
	}
}

// TestFakeLostCreateAnswerRewritten: as TestFakeLostCreateAnswer, but the
// server stored the card rewritten (as Radicale re-encodes cards): the
// client recognises its card by the UID and overwrites it with If-Match
// instead of creating a second card with the same UID under a new name.
func TestFakeLostCreateAnswerRewritten(t *testing.T) {
	var mu sync.Mutex
	stored, etag := "", ""
	var puts []string // "path If-Match If-None-Match"
	_, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case "PUT":
			puts = append(puts, r.URL.Path+" "+r.Header.Get("If-Match")+" "+r.Header.Get("If-None-Match"))
			body, _ := io.ReadAll(r.Body)
			switch {
			case r.URL.Path != "/book/lost.vcf":
				w.WriteHeader(201) // a second card: what must not happen
			case r.Header.Get("If-None-Match") == "*" && stored != "":
				w.WriteHeader(412)
			case r.Header.Get("If-None-Match") == "*":
				stored, etag = strings.Replace(string(body), "END:VCARD", "NOTE:rewritten by the server\r\nEND:VCARD", 1), `"s"`
				http.Error(w, "lost", 503)
			case r.Header.Get("If-Match") == etag:
				stored, etag = string(body), `"u"`
				w.Header().Set("ETag", etag)
				w.WriteHeader(204)
			default:
				w.WriteHeader(412)
			}
		case "REPORT":
			w.WriteHeader(207)
			fmt.Fprintf(w, `<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><response><href>/book/lost.vcf</href><propstat><prop><getetag>%s</getetag><C:address-data>%s</C:address-data></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`, etag, stored)
		}
	})
	card := sidetest.Card("lost", "Lost")
	ref, err := s.Create(context.Background(), card)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/book/lost.vcf  *", "/book/lost.vcf  *", `/book/lost.vcf "s" `}
	if err != nil || ref.ID != "lost.vcf" || ref.Version != `"u"` || strings.Join(puts, "|") != strings.Join(want, "|") {
		t.Fatalf("Create = %+v, %v after PUTs %q, want %q", ref, err, puts, want)
	}
	if stored != string(card.Encode()) {
		t.Fatalf("the server holds\n%s\nwant\n%s", stored, card.Encode())
	}
}

// TestRetryWhenNotSent: a request that never reached the server (the
// connection was refused, e.g. while the server restarts) is sent again
// even when it is not idempotent; one that may have reached it is not.
func TestRetryWhenNotSent(t *testing.T) {
	var deletes atomic.Int32
	var hangUp atomic.Bool
	srv, s := newFake(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes.Add(1)
		}
		if hangUp.Load() {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	var dials atomic.Int32
	var refuse atomic.Int32
	refuse.Store(2)
	var d net.Dialer
	s.hc.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= refuse.Load() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		return d.DialContext(ctx, network, addr)
	}}
	u, _ := url.Parse(srv.URL + "/book/x.vcf")
	resp, err := s.do(context.Background(), request{method: http.MethodDelete, url: u})
	if err != nil {
		t.Fatalf("DELETE after 2 refused connections: %v", err)
	}
	if resp.tries != 3 || deletes.Load() != 1 {
		t.Errorf("tries %d, DELETEs received %d; want 3 and 1", resp.tries, deletes.Load())
	}
	// Refused for longer than the retries last: the error says so.
	s.hc.CloseIdleConnections()
	dials.Store(0)
	refuse.Store(100)
	if _, err := s.do(context.Background(), request{method: http.MethodDelete, url: u}); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("always refused: %v", err)
	}
	if n := dials.Load(); n != maxTries {
		t.Errorf("%d connection attempts, want %d", n, maxTries)
	}
	// A non-idempotent request whose answer was lost (the server read it
	// and dropped the connection) is not repeated.
	s.hc.Transport = &http.Transport{}
	hangUp.Store(true)
	deletes.Store(0)
	if _, err := s.do(context.Background(), request{method: http.MethodDelete, url: u}); err == nil {
		t.Error("a DELETE whose answer was lost: no error")
	}
	if n := deletes.Load(); n != 1 {
		t.Errorf("the server received the DELETE %d times, want 1", n)
	}
}
