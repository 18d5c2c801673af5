package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/demo"
	"github.com/cardbridge/cardbridge/pairs"
	davclient "github.com/cardbridge/cardbridge/side/carddav"
	"github.com/cardbridge/cardbridge/vcard"

	"github.com/cardbridge/cardbridge/testutil"
)

// demoStartLimit bounds the demo's start: graphsim, the first sync of a
// few hundred contacts with photos, the server.
const demoStartLimit = 3 * time.Minute

// demoRun is a running `cardbridge demo` with its streams.
type demoRun struct {
	cmd            *exec.Cmd
	stdout, stderr *testutil.LockedBuffer
	exited         chan struct{} // closed once cmd.Wait returned
}

// startDemo starts `cardbridge demo ARGS` in its own process group with
// stdout and stderr as pipes (not terminals); it is killed at the end of
// the test if still running.
func startDemo(t *testing.T, env []string, args ...string) *demoRun {
	t.Helper()
	cmd := binCmd(t, env, append([]string{"demo"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d := &demoRun{cmd: cmd, stdout: &testutil.LockedBuffer{}, stderr: &testutil.LockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.stdout, d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-d.exited
		}
	})
	return d
}

// demoInfo is what the demo prints for the user.
type demoInfo struct {
	contacts                  int
	web, dav, principal, book string
	user, password, config    string
}

// waitReady waits until the demo has printed where to connect and parses it.
func (d *demoRun) waitReady(t *testing.T) demoInfo {
	t.Helper()
	if !testutil.Eventually(demoStartLimit, func() bool {
		select {
		case <-d.exited:
			return true
		default:
		}
		return strings.Contains(d.stdout.String(), "Press Ctrl-C to stop.")
	}) || !strings.Contains(d.stdout.String(), "Press Ctrl-C to stop.") {
		t.Fatalf("the demo did not print its URLs within %s\nstdout:\n%s\nstderr:\n%s", demoStartLimit, d.stdout, d.stderr)
	}
	out := d.stdout.String()
	field := func(re string) string {
		m := regexp.MustCompile(`(?m)` + re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("output lacks %s:\n%s", re, out)
		}
		return m[1]
	}
	n, err := strconv.Atoi(field(`with (\d+) contacts`))
	if err != nil {
		t.Fatal(err)
	}
	return demoInfo{
		contacts:  n,
		web:       field(`^\s*Web page:\s+(\S+)$`),
		dav:       field(`^\s*CardDAV:\s+(\S+)`),
		principal: field(`^\s*Principal:\s+(\S+)$`),
		book:      field(`^\s*Address book:\s+(\S+)$`),
		user:      field(`^\s*User name:\s+(\S+)$`),
		password:  field(`^\s*Password:\s+(\S+)$`),
		config:    field(`--config (\S+) status`),
	}
}

// stop sends sig (SIGINT: Ctrl-C, SIGTERM) and returns the exit code,
// failing unless the process ends within 30 s.
func (d *demoRun) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.exited:
		return d.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo did not stop within 30 s of %v\nstdout:\n%s\nstderr:\n%s", sig, d.stdout, d.stderr)
	}
	return -1
}

// procEntry is one process of /proc: pid, parent and process group.
type procEntry struct {
	pid, ppid, pgrp int
	name            string
}

// processes lists the running processes (Linux /proc).
func processes(t *testing.T) []procEntry {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("listing processes: %v", err)
	}
	var out []procEntry
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces.
		end := bytes.LastIndexByte(raw, ')')
		f := strings.Fields(string(raw[end+1:]))
		if end < 0 || len(f) < 3 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgrp, _ := strconv.Atoi(f[2])
		out = append(out, procEntry{pid: pid, ppid: ppid, pgrp: pgrp, name: string(raw[:end+1])})
	}
	return out
}

// processGroupMembers lists the processes still in process group pgid.
func processGroupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	var out []string
	for _, p := range processes(t) {
		if p.pgrp == pgid {
			out = append(out, p.name)
		}
	}
	return out
}

// killChildren kills the children of pid (for cleanup: a child in a
// session of its own does not get its parent's group signal).
func killChildren(t *testing.T, pid int) {
	t.Helper()
	for _, p := range processes(t) {
		if p.ppid == pid {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
}

// portClosed reports whether nothing accepts connections on hostport.
func portClosed(hostport string) bool {
	c, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// propfindCards sends PROPFIND Depth 1 to a book and returns the hrefs of
// its cards (the book itself left out), failing the test on an error.
func propfindCards(t *testing.T, book, user, password string) []string {
	t.Helper()
	hrefs, err := propfind(book, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return hrefs
}

// propfind is propfindCards returning its error (for polling).
func propfind(book, user, password string) ([]string, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>`
	req, err := http.NewRequest("PROPFIND", book, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("Depth", "1")
	req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("PROPFIND %s: %w", book, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusMultiStatus {
		return nil, fmt.Errorf("PROPFIND %s: %s\n%s", book, resp.Status, raw)
	}
	var ms struct {
		Responses []struct {
			Href string `xml:"href"`
		} `xml:"response"`
	}
	if err := xml.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("PROPFIND %s: %w\n%s", book, err, raw)
	}
	u, err := url.Parse(book)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range ms.Responses {
		if h := strings.TrimSuffix(r.Href, "/"); h == strings.TrimSuffix(u.Path, "/") || h == strings.TrimSuffix(book, "/") {
			continue
		}
		out = append(out, r.Href)
	}
	return out, nil
}

// formClient plays a browser without JavaScript: cookies, forms, and
// redirects reported instead of followed.
type formClient struct {
	t  *testing.T
	hc *http.Client
}

func newFormClient(t *testing.T) *formClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formClient{t: t, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get returns a page's HTML, failing unless it answers 200.
func (c *formClient) get(u string) string {
	c.t.Helper()
	resp, err := c.hc.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	return string(b)
}

// post submits a form and returns where it redirects, failing unless
// it answers with a redirect.
func (c *formClient) post(u string, form url.Values) string {
	c.t.Helper()
	resp, err := c.hc.PostForm(u, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	loc, err := resp.Location()
	if resp.StatusCode/100 != 3 || err != nil {
		c.t.Fatalf("POST %s: %s, want a redirect\n%s", u, resp.Status, b)
	}
	return loc.String()
}

// field is the value of the first input called name in a page.
func (c *formClient) field(page, name string) string {
	c.t.Helper()
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `"[^>]*value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no field %q in the page:\n%s", name, page)
	}
	return html.UnescapeString(m[1])
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		t.Fatalf("%q is not a URL: %v", s, err)
	}
	return u
}

// configValue finds "KEY: VALUE" under the line "SECTION:" of a YAML file
// the demo wrote (enough for its flat sections).
func configValue(t *testing.T, text, section, key string) string {
	t.Helper()
	_, after, ok := strings.Cut(text, "\n"+section+":\n")
	if !ok {
		_, after, ok = strings.Cut(text, section+":\n")
	}
	if !ok {
		t.Fatalf("config lacks %s:\n%s", section, text)
	}
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(key) + `:\s*"?([^"\s]+)"?\s*$`).FindStringSubmatch(after)
	if m == nil {
		t.Fatalf("config lacks %s.%s:\n%s", section, key, text)
	}
	return m[1]
}

// TestDemoEndToEnd runs `cardbridge demo` as a newcomer would (with --dir
// and --listen to know where to look): the printed address book holds
// exactly the seeded contacts, realistic ones (photos, accents, several
// e-mail addresses) and refuses a wrong password; a card a CardDAV client
// PUTs reaches Office 365 through the debounced sync (the demo's log and
// `status`); "Connect Office 365" on the printed web page signs in to
// graphsim and its new pair fills a new address book with the seeded
// contacts and the client's card (so that card is in graphsim's mailbox);
// SIGINT stops everything with exit 0, closes the server's and graphsim's
// ports, leaves no process behind and keeps --dir.
func TestDemoEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	d := startDemo(t, nil, "--dir", dir, "--listen", listen, "--debounce", "300ms")
	info := d.waitReady(t)

	base := "http://" + listen
	if info.web != base+"/ui/" || info.dav != base+"/" || info.principal != base+"/principals/demo/" || info.book != base+"/addressbooks/demo/contacts/" {
		t.Errorf("printed URLs: %+v, want them under %s", info, base)
	}
	if info.user != demo.User || len(info.password) < pairs.MinPassword {
		t.Errorf("printed credentials: user %q, password %q", info.user, info.password)
	}
	if info.contacts != demo.Contacts {
		t.Errorf("seeded %d contacts, the default is %d", info.contacts, demo.Contacts)
	}
	if info.config != filepath.Join(dir, "config.yaml") {
		t.Errorf("printed config %s, want it in --dir %s", info.config, dir)
	}

	// A real CardDAV request with the printed credentials.
	hrefs := propfindCards(t, info.book, info.user, info.password)
	if len(hrefs) != info.contacts {
		t.Fatalf("PROPFIND Depth 1 of %s lists %d cards, want the %d seeded", info.book, len(hrefs), info.contacts)
	}
	req, _ := http.NewRequest("PROPFIND", info.book, nil)
	req.SetBasicAuth(info.user, info.password+"x")
	req.Header.Set("Depth", "0")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %v %v, want 401", resp, err)
	} else {
		resp.Body.Close()
	}

	// The cards are realistic: photos on every demo.PhotoEvery-th, accents,
	// several e-mail addresses.
	ctx := context.Background()
	client, err := davclient.New(ctx, davclient.Options{URL: info.book, Username: info.user, Password: info.password, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	items, err := client.Get(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	photos, accented, multiMail := 0, 0, 0
	for _, it := range items {
		if it.Err != nil {
			t.Fatalf("reading %s: %v", it.ID, it.Err)
		}
		if _, ok := it.Card.Get("PHOTO"); ok {
			photos++
		}
		if strings.ContainsFunc(it.Card.FN(), func(r rune) bool { return r > 127 }) {
			accented++
		}
		if len(it.Card.All("EMAIL")) > 1 {
			multiMail++
		}
	}
	if want := (info.contacts + demo.PhotoEvery - 1) / demo.PhotoEvery; photos != want {
		t.Errorf("%d cards with a photo, want %d (every %d-th)", photos, want, demo.PhotoEvery)
	}
	if accented == 0 || multiMail == 0 {
		t.Errorf("not realistic: %d names with accents, %d cards with several e-mail addresses", accented, multiMail)
	}

	// A card a client adds reaches Office 365 (side a) soon after.
	card := vcard.New(vcard.V30)
	card.SetUID("demo-test-from-a-phone")
	card.SetFN("Zoë Phone-Added")
	card.Set(vcard.NewStructured("N", "Phone-Added", "Zoë", "", "", ""))
	card.Props = append(card.Props, vcard.NewText("EMAIL", "zoe.phone@example.org"))
	if _, err := client.Create(ctx, card); err != nil {
		t.Fatalf("PUT through the CardDAV client: %v", err)
	}
	var st pairs.Status
	if !testutil.Eventually(time.Minute, func() bool {
		if !strings.Contains(d.stderr.String(), "pair=demo a_created=1") {
			return false
		}
		r := cb(t, nil, "--config", info.config, "status", "--json")
		if r.code != 0 || json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &st) != nil {
			return false
		}
		var sum struct {
			A struct{ Created int } `json:"a"`
		}
		json.Unmarshal(st.Summary, &sum)
		return st.Items == info.contacts+1 && sum.A.Created == 1
	}) {
		t.Fatalf("the client's card did not reach Office 365: status %+v\nstderr:\n%s", st, d.stderr)
	}

	// "Connect Office 365" on the web page works against graphsim: sign
	// in with the printed credentials, connect (graphsim's sign-in page,
	// as the simulated user with the same password), make the pair, and
	// its new address book fills with the same contacts.
	raw, err := os.ReadFile(info.config)
	if err != nil {
		t.Fatal(err)
	}
	graphHost := mustURL(t, configValue(t, string(raw), "  connect", "login_url")).Host
	browser := newFormClient(t)
	browser.post(info.web+"login", url.Values{"user": {info.user}, "password": {info.password}})
	csrf := browser.field(browser.get(info.web), "csrf")
	authorize := browser.post(info.web+"connect", url.Values{"csrf": {csrf}})
	if mustURL(t, authorize).Host != graphHost {
		t.Fatalf("Connect Office 365 leads to %s, not to graphsim at %s", authorize, graphHost)
	}
	signIn := browser.get(authorize)
	callback := browser.post(mustURL(t, authorize).JoinPath("..", "authorize").String(), url.Values{
		"session": {browser.field(signIn, "session")}, "login": {demo.Mailbox}, "passwd": {info.password}, "consent": {"accept"}})
	if !strings.HasPrefix(callback, base+"/ui/connect/callback?code=") {
		t.Fatalf("graphsim's sign-in redirects to %s, want the web page's callback with a code", callback)
	}
	connected := browser.get(callback)
	if !strings.Contains(connected, "Office 365 connected") {
		t.Fatalf("the callback page:\n%s", connected)
	}
	browser.post(info.web+"connect/pair", url.Values{"csrf": {browser.field(connected, "csrf")},
		"book": {"office365"}, "display": {"Office 365"}, "conflict": {"merge"}})
	newBook := base + "/addressbooks/demo/office365/"
	var inNew int
	if !testutil.Eventually(time.Minute, func() bool {
		hrefs, _ := propfind(newBook, info.user, info.password)
		inNew = len(hrefs)
		return inNew == info.contacts+1 // the seeded ones and the phone's
	}) {
		t.Fatalf("the connected pair's book %s holds %d cards, want %d\nstderr:\n%s", newBook, inNew, info.contacts+1, d.stderr)
	}

	if left := processGroupMembers(t, d.cmd.Process.Pid); len(left) != 1 {
		t.Errorf("the demo runs other processes: %v", left)
	}
	if code := d.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d after SIGINT\nstdout:\n%s\nstderr:\n%s", code, d.stdout, d.stderr)
	}
	if !portClosed(listen) {
		t.Errorf("the server's port %s still accepts connections after exit", listen)
	}
	if !portClosed(graphHost) {
		t.Errorf("graphsim's port %s still accepts connections after exit", graphHost)
	}
	if left := processGroupMembers(t, d.cmd.Process.Pid); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
	out := d.stdout.String()
	for _, want := range []string{"Stopped", "workspace stays in " + dir} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state.db")); err != nil {
		t.Errorf("--dir was not kept: %v", err)
	}
}

// TestDemoPlainOutputAndTemporaryWorkspace: with stdout and stderr not
// terminals the demo prints no progress bar or terminal escapes; with
// 127.0.0.1:5232 busy and no --listen it serves on another port; without
// --dir its temporary workspace is removed at exit; SIGTERM stops it like
// Ctrl-C.
func TestDemoPlainOutputAndTemporaryWorkspace(t *testing.T) {
	// Hold the default port (or find it held already: busy either way).
	if ln, err := net.Listen("tcp", demo.Listen); err == nil {
		defer ln.Close()
	}
	tmp := t.TempDir()
	d := startDemo(t, []string{"TMPDIR=" + tmp})
	info := d.waitReady(t)
	if host := mustURL(t, info.dav).Host; host == demo.Listen || !strings.HasPrefix(host, "127.0.0.1:") {
		t.Errorf("with %s busy the demo serves on %s", demo.Listen, host)
	}
	if hrefs := propfindCards(t, info.book, info.user, info.password); len(hrefs) != info.contacts {
		t.Errorf("the book on the fallback port holds %d cards, want %d", len(hrefs), info.contacts)
	}
	ws := filepath.Dir(info.config)
	if !strings.HasPrefix(ws, tmp) {
		t.Fatalf("workspace %s is not under TMPDIR %s", ws, tmp)
	}
	if _, err := os.Stat(info.config); err != nil {
		t.Fatalf("the workspace's config while running: %v", err)
	}
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM\nstdout:\n%s\nstderr:\n%s", code, d.stdout, d.stderr)
	}
	if _, err := os.Stat(ws); !os.IsNotExist(err) {
		t.Errorf("the temporary workspace %s is still there: %v", ws, err)
	}
	if out := d.stdout.String(); !strings.Contains(out, "Removed the demo workspace "+ws) {
		t.Errorf("stdout does not say the workspace was removed:\n%s", out)
	}
	if !portClosed(mustURL(t, info.dav).Host) {
		t.Errorf("the server's port still accepts connections after exit")
	}
	for name, s := range map[string]string{"stdout": d.stdout.String(), "stderr": d.stderr.String()} {
		if i := strings.IndexAny(s, "\r\x1b"); i >= 0 {
			t.Errorf("%s has terminal noise at %d: %q", name, i, s[max(0, i-40):min(len(s), i+40)])
		}
		if strings.Contains(s, "[====") {
			t.Errorf("%s has a progress bar:\n%s", name, s)
		}
	}
}

// TestDemoProgressOnATerminal: on a terminal (script(1) gives the demo a
// pseudo-terminal) the first sync draws the sync command's progress bar.
func TestDemoProgressOnATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) from util-linux is needed to give the demo a terminal: %v", err)
	}
	tmp := t.TempDir()
	typescript := filepath.Join(tmp, "typescript")
	// exec: the shell script(1) starts becomes the demo, whose exit
	// status script -e returns.
	line := fmt.Sprintf("exec %s demo --listen 127.0.0.1:0", binary)
	cmd := exec.Command(scriptBin, "-q", "-e", "-f", "-c", line, typescript)
	cmd.Env = []string{"HOME=" + tmp, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp, "TERM=dumb", "SHELL=/bin/sh"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outFile, err := os.Create(filepath.Join(tmp, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	output := func() string { b, _ := os.ReadFile(outFile.Name()); return string(b) }
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			killChildren(t, cmd.Process.Pid)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	if !testutil.Eventually(demoStartLimit, func() bool { return strings.Contains(output(), "Press Ctrl-C to stop.") }) {
		t.Fatalf("the demo did not start on a terminal:\n%s", output())
	}
	text := output()
	if !strings.Contains(text, "\r"+demo.Pair+" [===") || !strings.Contains(text, fmt.Sprintf("] %d/%d", demo.Contacts, demo.Contacts)) {
		t.Errorf("no progress bar on a terminal:\n%q", text)
	}
	// Ctrl-C typed on the terminal: the terminal sends SIGINT to the demo.
	if _, err := keys.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("demo under script: %v\n%s", waitErr, output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo did not stop within 30 s of Ctrl-C:\n%s", output())
	}
	if !strings.Contains(output(), "Removed the demo workspace") {
		t.Errorf("the demo did not clean up after Ctrl-C:\n%s", output())
	}
}

// TestDemoRefusesANonEmptyDir: --dir must be new or empty; a used folder
// is refused before anything starts, and left as it was.
func TestDemoRefusesANonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	os.WriteFile(keep, []byte("mine"), 0o600)
	r := cb(t, nil, "demo", "--dir", dir, "--listen", "127.0.0.1:0")
	if r.code != exitUsage || !strings.Contains(r.stderr, "not empty") || !strings.Contains(r.stderr, dir) {
		t.Fatalf("exit %d, stderr %q: want exit 2 naming the folder as not empty", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder was changed: %v", ents)
	}
}
