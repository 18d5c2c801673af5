package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/chromedp/chromedp"

	"github.com/cardbridge/cardbridge/testutil"
)

// webClient is the Office 365 app of the web page's "Connect" in graphsim:
// a public client whose redirect URI is serve's callback on any loopback
// port.
const webClient = "44444444-5555-6666-7777-888888888888"

// TestWebUIInChromium drives the web page of `cardbridge serve` in headless
// Chromium against graphsim: sign in, connect Office 365 on graphsim's
// consent page, create a pair into a new address book and see the contacts
// arrive (in the store over CardDAV and on the page), resolve a conflict
// with "Keep B" and restore a deleted contact from the trash. With
// CARDBRIDGE_SCREENSHOTS=DIR it saves PNGs of the main pages there.
func TestWebUIInChromium(t *testing.T) {
	chromium := needPeer(t, "chromium")
	shots := os.Getenv("CARDBRIDGE_SCREENSHOTS")
	const contacts = 6

	env := newSim(t, contacts)
	env.sim.AddApp(graphsim.App{ClientID: webClient, PublicClient: true, RedirectURIs: []string{"http://127.0.0.1/ui/connect/callback"}})
	mb := env.sim.Mailbox(alice)

	dir := t.TempDir()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := serveConfig(t, dir, port, fmt.Sprintf(`  connect:
    client_id: %s
    tenant: contoso.example
    login_url: %s
    graph_url: %s/v1.0
`, webClient, env.srv.URL, env.srv.URL))
	const password = "correct horse battery"
	addUser(t, cfg, "carol", password)
	cmd, stderr := startServe(t, "--config", cfg, "serve", "--debounce", "200ms")
	if !testutil.Eventually(10*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}) {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first action starts the browser: on a context without a deadline
	// (a deadline there would stop the browser), the rest under one.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()

	page := func() string {
		html, _ := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
		return html
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\npage:\n%s\nserve:\n%s", what, err, page(), stderr)
		}
	}
	get := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v\npage:\n%s", what, err, page())
		}
		return v
	}
	text := func(sel string) string { t.Helper(); return get("read "+sel, chromedp.Text(chromedp.CSS(sel))) }
	location := func() string { t.Helper(); return get("location", chromedp.Location()) }
	shot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// reloadUntil loads url until the text of sel contains want.
	reloadUntil := func(url, sel, want string) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			run("load "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
			got = ""
			if err == nil && n > 0 {
				got, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
			}
			if strings.Contains(got, want) {
				return got
			}
		}
		t.Fatalf("%s: %s never showed %q (last %q); serve:\n%s", url, sel, want, got, stderr)
		return ""
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// The root sends a browser to the sign-in page.
	run("open the server", chromedp.Navigate(base+"/"), chromedp.WaitVisible(css("#signin")))
	if loc := location(); loc != base+"/ui/login" {
		t.Fatalf("/ landed on %s", loc)
	}
	shot("sign-in")
	run("wrong password", chromedp.SendKeys(css("#user"), "carol"), chromedp.SendKeys(css("#password"), "nope"),
		chromedp.Click(css("#signin")), chromedp.WaitVisible(css("#error")))
	if s := text("#error"); !strings.Contains(s, "Wrong user name or password") {
		t.Fatalf("wrong password: %q", s)
	}
	run("sign in", chromedp.SendKeys(css("#user"), "carol"), chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("#signin")), chromedp.WaitVisible(css("#connect")))
	if s := text("#books"); !strings.Contains(s, "contacts") {
		t.Fatalf("books: %q", s)
	}
	if serverURL := get("server URL", chromedp.Value(css("#server-url"))); serverURL != base+"/" {
		t.Fatalf("server URL on the page %q, want %s/", serverURL, base)
	}

	// Connect: graphsim's consent page, filled in the browser.
	run("connect", chromedp.Click(css("#connect")), chromedp.WaitVisible(css(`input[name="passwd"]`)))
	if loc := location(); !strings.HasPrefix(loc, env.srv.URL+"/contoso.example/oauth2/v2.0/authorize?") || !strings.Contains(loc, "code_challenge_method=S256") {
		t.Fatalf("connect went to %s", loc)
	}
	shot("graphsim-consent")
	run("consent", chromedp.SetValue(css(`input[name="login"]`), alice), chromedp.SendKeys(css(`input[name="passwd"]`), "alice"),
		chromedp.Click(css(`button[value="accept"]`)), chromedp.WaitVisible(css("#create-pair")))
	if loc := location(); !strings.HasPrefix(loc, base+"/ui/connect/callback?") || !strings.Contains(text("h1"), "Office 365 connected") {
		t.Fatalf("after consent: %s %q", loc, text("h1"))
	}
	shot("connected")

	// The pair, with conflicts left to the page.
	run("create the pair", chromedp.SetValue(css("#book"), "work"), chromedp.SetValue(css("#conflict"), "manual"),
		chromedp.Click(css("#create-pair")), chromedp.WaitVisible(css("#flash")))
	if s := text("#flash"); !strings.Contains(s, "web-carol:work created") {
		t.Fatalf("flash %q", s)
	}
	const pair = "web-carol:work"
	row := fmt.Sprintf(`tr[data-pair=%q]`, pair)
	reloadUntil(base+"/ui/", row, fmt.Sprintf("B (address book carol/work): %d created", contacts))
	book := base + "/addressbooks/carol/work/"
	if hrefs := propfindCards(t, book, "carol", password); len(hrefs) != contacts {
		t.Fatalf("the book holds %d cards, want %d", len(hrefs), contacts)
	}
	if s := text("#books"); !strings.Contains(s, book) && !strings.Contains(s, "work") {
		t.Fatalf("the new book is not listed: %q", s)
	}
	shot("dashboard")

	// A conflict: the same field changed in Office 365 and in the book.
	cards := cardsByName(t, book, "carol", password)
	ids := mb.ContactIDs("")
	nameOf := func(id string) string {
		raw, _ := mb.Get(id)
		var c struct {
			DisplayName string `json:"displayName"`
		}
		json.Unmarshal(raw, &c)
		return c.DisplayName
	}
	target, victim := ids[0], ids[1]
	tName, vName := nameOf(target), nameOf(victim)
	tCard, ok := cards[tName]
	if !ok {
		t.Fatalf("no card named %q in the book (%d cards)", tName, len(cards))
	}
	// The contacts: counted on the dashboard, listed, found by part of a
	// name and by phone digits typed with other spacing, opened in words.
	run("contacts", chromedp.Click(css(`tr[data-book="work"] td.count a`)), chromedp.WaitVisible(css("#contacts")))
	if s := text("#book-count"); s != fmt.Sprintf("%d contacts", contacts) {
		t.Fatalf("contacts page count %q", s)
	}
	shot("contacts")
	part := string([]rune(tName)[1 : len([]rune(tName))-1]) // part of a name, not the start
	search := func(q string) string {
		t.Helper()
		run("search "+q, chromedp.SetValue(css("#q"), q), chromedp.Click(css("#search")))
		if !testutil.Eventually(10*time.Second, func() bool {
			s, err := chromedp.Run(ctx, chromedp.Text(css("#result-count")))
			return err == nil && strings.Contains(s, "“"+q+"”")
		}) {
			t.Fatalf("search %q: no results page", q)
		}
		return text("#contacts")
	}
	if s := search(part); !strings.Contains(s, tName) {
		t.Fatalf("search %q: %q, want %s", part, s, tName)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#contacts tr.contact").length`)); err != nil || n >= contacts {
		t.Fatalf("search %q: %d of %d contacts listed (%v)", part, n, contacts, err)
	}
	phoneName, digits := "", ""
	for name, c := range cards {
		if m := telLine.FindSubmatch(c.data); m != nil {
			for _, r := range string(m[1]) {
				if r >= '0' && r <= '9' {
					digits += string(r)
				}
			}
			if len(digits) >= 7 {
				phoneName = name
				break
			}
			digits = ""
		}
	}
	if phoneName == "" {
		t.Fatal("no card with a phone number")
	}
	q := digits[len(digits)-7:len(digits)-4] + " " + digits[len(digits)-4:]
	if s := search(q); !strings.Contains(s, phoneName) {
		t.Fatalf("search %q: %q, want %s", q, s, phoneName)
	}
	run("open the contact", chromedp.Click(css("#contacts td.name a")), chromedp.WaitVisible(css("#contact-name")))
	if s := text("#fields"); !strings.Contains(s, "phone") || strings.Contains(s, "TEL") || strings.Contains(s, "UID") {
		t.Fatalf("contact fields %q", s)
	}
	shot("contact")

	mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"Title from Outlook"}`, target)))
	davPut(t, book+tCard.href, "carol", password, withTitle(tCard.data, "Title from the phone"), tCard.etag)
	reloadUntil(base+"/ui/conflicts", ".conflict", tName)
	shot("conflicts")
	run("keep b", chromedp.Click(css(".conflict .keep-b")), chromedp.WaitVisible(css("#flash")))
	if s := text("#flash"); !strings.Contains(s, "keeping b") {
		t.Fatalf("flash %q", s)
	}
	if !testutil.Eventually(20*time.Second, func() bool {
		raw, _ := mb.Get(target)
		return strings.Contains(string(raw), "Title from the phone")
	}) {
		raw, _ := mb.Get(target)
		t.Fatalf("keep b did not reach Office 365: %s\nserve:\n%s", raw, stderr)
	}
	reloadUntil(base+"/ui/conflicts", "#no-conflicts", "No open conflicts")

	// The trash: a contact deleted on the phone goes from Office 365 too,
	// into the trash; restore brings it back.
	vCard := cards[vName]
	davDelete(t, book+vCard.href, "carol", password)
	if !testutil.Eventually(20*time.Second, func() bool { return mb.Count("") == contacts-1 }) {
		t.Fatalf("the deletion did not reach Office 365 (%d contacts); serve:\n%s", mb.Count(""), stderr)
	}
	reloadUntil(base+"/ui/trash", "#trash", vName)
	shot("trash")
	entry := fmt.Sprintf(`//tr[contains(@class,"entry")][td/b[text()=%q]]//button[contains(@class,"restore")]`, vName)
	run("restore", chromedp.Click(entry), chromedp.WaitVisible(css("#flash")))
	if !testutil.Eventually(20*time.Second, func() bool {
		if mb.Count("") != contacts {
			return false
		}
		for _, id := range mb.ContactIDs("") {
			if nameOf(id) == vName {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the restored contact is not back in Office 365 (%d contacts); serve:\n%s", mb.Count(""), stderr)
	}
	if !testutil.Eventually(20*time.Second, func() bool { _, ok := cardsByName(t, book, "carol", password)[vName]; return ok }) {
		t.Fatalf("the restored contact is not back in the book")
	}
	reloadUntil(base+"/ui/trash", "#trash", "restored")

	run("sign out", chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(css("#signout")), chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#signin")))
	if s := text("#flash"); !strings.Contains(s, "signed out") {
		t.Fatalf("after sign-out: %q", s)
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("serve exit %d; stderr:\n%s", code, stderr)
	}
	if out := stderr.String(); strings.Contains(out, password) {
		t.Fatal("the password reached the log")
	}
	// The CLI sees the pair made on the page.
	if r := cb(t, nil, "--config", cfg, "status"); r.code != 0 || !strings.Contains(r.stdout, pair+": o365 <-> server") ||
		!strings.Contains(r.stdout, fmt.Sprintf("%d contacts", contacts)) {
		t.Fatalf("status: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// davCard is a card read over CardDAV.
type davCard struct {
	href, etag string
	data       []byte
}

var fnLine = regexp.MustCompile(`(?m)^FN[;:](?:[^:\r\n]*:)?([^\r\n]*)`)

// telLine finds a card's first phone number.
var telLine = regexp.MustCompile(`(?m)^(?:[A-Za-z0-9-]+\.)?TEL[;:](?:[^:\r\n]*:)?([^\r\n]*)`)

// cardsByName reads every card of a book by its FN.
func cardsByName(t *testing.T, book, user, password string) map[string]davCard {
	t.Helper()
	out := map[string]davCard{}
	for _, href := range propfindCards(t, book, user, password) {
		name := href[strings.LastIndex(href, "/")+1:]
		req, _ := http.NewRequest(http.MethodGet, book+name, nil)
		req.SetBasicAuth(user, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", href, resp.Status)
		}
		if m := fnLine.FindSubmatch(raw); m != nil {
			out[string(m[1])] = davCard{href: name, etag: resp.Header.Get("ETag"), data: raw}
		}
	}
	return out
}

// withTitle replaces a card's TITLE.
func withTitle(card []byte, title string) []byte {
	var keep []string
	for _, l := range strings.Split(strings.ReplaceAll(string(card), "\r\n ", ""), "\r\n") {
		if !strings.HasPrefix(strings.ToUpper(l), "TITLE") && l != "" {
			keep = append(keep, l)
		}
	}
	out := strings.Join(keep[:len(keep)-1], "\r\n") + "\r\nTITLE:" + title + "\r\n" + keep[len(keep)-1] + "\r\n"
	return []byte(out)
}

// davPut writes a card over CardDAV with If-Match.
func davPut(t *testing.T, target, user, password string, data []byte, etag string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, target, strings.NewReader(string(data)))
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "text/vcard; charset=utf-8")
	req.Header.Set("If-Match", etag)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT %s: %s", target, resp.Status)
	}
}

// davDelete deletes a card over CardDAV.
func davDelete(t *testing.T, target, user, password string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, target, nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("DELETE %s: %s", target, resp.Status)
	}
}
