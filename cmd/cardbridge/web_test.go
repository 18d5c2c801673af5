package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/chromedp/cdproto/browser"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cardbridge/cardbridge/testutil"
)

// webClient is the Office 365 app of the web page's "Connect" in graphsim:
// a public client whose redirect URI is serve's callback on any loopback
// port.
const webClient = "44444444-5555-6666-7777-888888888888"

// TestWebUIInChromium drives the web page of `cardbridge serve` in headless
// Chromium against graphsim: sign in, connect Office 365 on graphsim's
// consent page, create a pair into a new address book and see the contacts
// arrive (in the store over CardDAV and on the page), find a contact with
// the search box (with the mouse and with the keyboard alone), make a
// conflict from both sides and resolve it with "Keep merged" from the
// field-by-field view, restore a deleted contact from the trash and
// download the phone page's configuration profile. Every page passes an
// accessibility audit (a11yAudit) and fits a 390 px wide screen without
// sideways scrolling. The browser reaches serve by a name that is not
// loopback (public_url, mapped to 127.0.0.1 in Chromium), as a phone on
// the network would, so that the phone page offers its profile. With
// CARDBRIDGE_SCREENSHOTS=DIR it saves PNGs of the main pages there, at
// 1280 px (NAME.png) and 390 px (NAME-390.png) wide.
func TestWebUIInChromium(t *testing.T) {
	chromium := needPeer(t, "chromium")
	shots := os.Getenv("CARDBRIDGE_SCREENSHOTS")
	const contacts = 6

	env := newSim(t, contacts)
	mb := env.sim.Mailbox(alice)

	dir := t.TempDir()
	port := freePort(t)
	// The browser's name for serve (public_url), which Chromium resolves
	// to 127.0.0.1; the test's own requests go to local.
	const host = "dav.cardbridge.test"
	base := fmt.Sprintf("http://%s:%d", host, port)
	local := fmt.Sprintf("http://127.0.0.1:%d", port)
	env.sim.AddApp(graphsim.App{ClientID: webClient, PublicClient: true, RedirectURIs: []string{base + "/ui/connect/callback"}})
	cfg := serveConfig(t, dir, port, fmt.Sprintf(`  public_url: %s
  connect:
    client_id: %s
    tenant: contoso.example
    login_url: %s
    graph_url: %s/v1.0
`, base, webClient, env.srv.URL, env.srv.URL))
	const password = "correct horse battery"
	addUser(t, cfg, "carol", password)
	cmd, stderr := startServe(t, "--config", cfg, "serve", "--debounce", "200ms")
	if !testutil.Eventually(webWait, func() bool {
		resp, err := http.Get(local + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}) {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}

	opts := append(chromiumOptions(t, chromium), chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first action starts the browser: on a context without a deadline
	// (a deadline there would stop the browser), the rest under one.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// Every page records its flash message as it loads (flashRecorder),
	// so that a dashboard's meta refresh cannot take it away before the
	// test reads it.
	if _, err := chromedp.Call(bctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: flashRecorder}); err != nil {
		t.Fatalf("recording the flash messages: %v", err)
	}
	// Ample for a loaded machine: the whole test takes seconds when quiet.
	ctx, cancel := context.WithTimeout(bctx, 5*time.Minute)
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
	// settle waits until the page on screen has loaded and will not
	// reload itself: the dashboard's meta refresh, there while a sync
	// runs, would replace it in the middle of what follows.
	settle := func(what string) {
		t.Helper()
		if !testutil.Eventually(webWait, func() bool {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](settled))
			return err == nil && v
		}) {
			t.Fatalf("%s: the page still reloads itself (a sync that does not end?)\npage:\n%s\nserve:\n%s", what, page(), stderr)
		}
	}
	// flash waits until a page showed a flash message holding want
	// (flashRecorder keeps them across reloads).
	flash := func(what, want string) {
		t.Helper()
		var seen []string
		if !testutil.Eventually(webWait, func() bool {
			raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("cb-flashes") || "[]"`))
			seen = nil
			if err != nil || json.Unmarshal([]byte(raw), &seen) != nil {
				return false
			}
			return slices.ContainsFunc(seen, func(f string) bool { return strings.Contains(f, want) })
		}) {
			t.Fatalf("%s: no flash message with %q (seen %q)\npage:\n%s\nserve:\n%s", what, want, seen, page(), stderr)
		}
	}
	// check audits the page on screen (a11yAudit), makes sure it does not
	// scroll sideways at 1280 px nor at 390 px wide and that its text is
	// readable at both, and with screenshots takes them at both widths.
	check := func(name string, screenshots bool) {
		t.Helper()
		settle(name)
		problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yAudit))
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: accessibility audit (%v):\n%s\npage:\n%s", name, err, strings.Join(problems, "\n"), page())
		}
		for _, width := range []int64{1280, 390} {
			run(fmt.Sprintf("%s at %d px", name, width), chromedp.EmulateViewport(width, 844))
			over, err := chromedp.Run(ctx, chromedp.Evaluate[int](overflowX))
			if err != nil || over > 0 {
				wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("body *")).filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).slice(-5).map(e => e.outerHTML.slice(0, 120))`))
				t.Fatalf("%s at %d px: the page is %d px wider than the screen (%v); widest:\n%s", name, width, over, err, strings.Join(wide, "\n"))
			}
			// Readable: lines of at most about 1000 px at 1280, text not
			// made smaller on a phone.
			m, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.querySelector("main").getBoundingClientRect().width, parseFloat(getComputedStyle(document.body).fontSize)]`))
			if err != nil || len(m) != 2 {
				t.Fatalf("%s at %d px: measuring the text: %v", name, width, err)
			}
			if m[0] > 1024 || m[1] < 15 {
				t.Fatalf("%s at %d px: main %v px wide, text %v px", name, width, m[0], m[1])
			}
			switch {
			case !screenshots:
			case width == 390:
				shot(name + "-390")
			default:
				shot(name)
			}
		}
		run("back to 1280 px", chromedp.EmulateReset())
	}
	// reloadUntil loads url until the text of sel contains want.
	reloadUntil := func(url, sel, want string) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(webWait); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			run("load "+url, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
			// Read at once, not by a query that waits: a meta refresh
			// may have replaced the page since it loaded.
			got, _ = chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
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
	check("sign-in", true)
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
	check("connected", true)

	// The pair, with conflicts left to the page.
	run("create the pair", chromedp.SetValue(css("#book"), "work"), chromedp.SetValue(css("#conflict"), "manual"),
		chromedp.Click(css("#create-pair")))
	flash("create the pair", "web-carol:work created")
	const pair = "web-carol:work"
	row := fmt.Sprintf(`tr[data-pair=%q]`, pair)
	reloadUntil(base+"/ui/", row, fmt.Sprintf("Office 365 book: %d created", contacts))
	book := local + "/addressbooks/carol/work/"
	if hrefs := propfindCards(t, book, "carol", password); len(hrefs) != contacts {
		t.Fatalf("the book holds %d cards, want %d", len(hrefs), contacts)
	}
	if s := text("#books"); !strings.Contains(s, "work") {
		t.Fatalf("the new book is not listed: %q", s)
	}
	check("dashboard", true)

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
	check("contacts", true)
	part := string([]rune(tName)[1 : len([]rune(tName))-1]) // part of a name, not the start
	// The keyboard alone: Tab reaches the search box, its focus shows,
	// Enter searches.
	focused := ""
	for i := 0; i < 20 && focused != "q"; i++ {
		run("tab", chromedp.KeyEvent(kb.Tab))
		focused = get("focus", chromedp.Evaluate[string](`document.activeElement.id`))
	}
	if focused != "q" {
		t.Fatalf("20 tabs did not reach the search box (last on %q)", focused)
	}
	ring := get("focus ring", chromedp.Evaluate[string](`(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + " " + s.outlineWidth; })()`))
	style, width, _ := strings.Cut(ring, " ")
	if px, err := strconv.ParseFloat(strings.TrimSuffix(width, "px"), 64); style != "solid" || err != nil || px < 2 {
		t.Fatalf("the focused search box shows no focus ring: outline %q", ring)
	}
	run("type and Enter", chromedp.KeyEvent(part), chromedp.KeyEvent(kb.Enter))
	if !testutil.Eventually(webWait, func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(css("#result-count")))
		return err == nil && strings.Contains(s, "“"+part+"”")
	}) {
		t.Fatalf("Enter in the search box: no results page for %q", part)
	}
	if s := text("#contacts"); !strings.Contains(s, tName) {
		t.Fatalf("keyboard search %q: %q, want %s", part, s, tName)
	}
	search := func(q string) string {
		t.Helper()
		run("search "+q, chromedp.SetValue(css("#q"), q), chromedp.Click(css("#search")))
		if !testutil.Eventually(webWait, func() bool {
			s, err := chromedp.Run(ctx, chromedp.Text(css("#result-count")))
			return err == nil && strings.Contains(s, "“"+q+"”")
		}) {
			t.Fatalf("search %q: no results page (at %s: %q)", q, location(), text("#result-count"))
		}
		return text("#contacts")
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
	check("contact", true)

	// The phone page: the profile, downloaded by the page's link, is a
	// property list for this server and user without the password.
	run("dashboard", chromedp.Navigate(base+"/ui/"))
	settle("dashboard")
	run("phone page", chromedp.WaitVisible(css(`tr[data-book="work"] a.phone-setup`)),
		chromedp.Click(css(`tr[data-book="work"] a.phone-setup`)), chromedp.WaitVisible(css("#profile")))
	check("phone", true)
	// download clicks sel with downloads going to a new directory and
	// returns the file it saved as cardbridge-work.mobileconfig.
	download := func(what string, steps ...chromedp.Action[chromedp.Void]) []byte {
		t.Helper()
		dir := t.TempDir()
		run(what, append([]chromedp.Action[chromedp.Void]{chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
			return err
		})}, steps...)...)
		var raw []byte
		if !testutil.Eventually(webWait, func() bool {
			var err error
			raw, err = os.ReadFile(filepath.Join(dir, "cardbridge-work.mobileconfig"))
			return err == nil && len(raw) > 0
		}) {
			got, _ := os.ReadDir(dir)
			t.Fatalf("%s: nothing saved as cardbridge-work.mobileconfig (%v)", what, got)
		}
		return raw
	}
	checkProfile(t, download("download the profile", chromedp.Click(css("#profile"))), host, port, "carol", password, false)
	// With the password only when asked, on the form, with the password.
	checkProfile(t, download("download the profile with the password", chromedp.Click(css("#profile-with-password summary")),
		chromedp.SendKeys(css("#profile-password"), password), chromedp.Click(css(`#profile-with-password button[type="submit"]`))),
		host, port, "carol", password, true)

	// A conflict from both sides: Outlook changes the job title and the
	// department, the phone the job title too, differently. The page
	// shows it field by field; "Keep merged" writes its preview to both.
	mb.Put("", []byte(fmt.Sprintf(`{"id":%q,"jobTitle":"Title from Outlook","department":"Dept from Outlook"}`, target)))
	davPut(t, book+tCard.href, "carol", password, withTitle(tCard.data, "Title from the phone"), tCard.etag)
	reloadUntil(base+"/ui/conflicts", ".conflict", tName)
	check("conflicts", true)
	var rows map[string][3]string // label -> A, B, merged
	if err := json.Unmarshal([]byte(get("conflict fields", chromedp.Evaluate[string](`JSON.stringify(Object.fromEntries(Array.from(
		document.querySelectorAll(".conflict tr.field")).map(r => [r.querySelector("th").textContent.trim(),
		["td.v-a", "td.v-b", "td.v-merged"].map(c => r.querySelector(c).textContent.trim())])))`))), &rows); err != nil {
		t.Fatal(err)
	}
	title := rows["Job title"]
	if title[0] != "Title from Outlook" || title[1] != "Title from the phone" || (title[2] != title[0] && title[2] != title[1]) {
		t.Fatalf("the Job title row: %q (all rows %q)", title, rows)
	}
	merged := title[2]
	dept := false
	for label, r := range rows {
		if strings.Contains(r[0], "Dept from Outlook") && strings.Contains(r[2], "Dept from Outlook") && !strings.Contains(r[1], "Dept from Outlook") {
			dept = true
		}
		for _, v := range r {
			if strings.Contains(v, "REV") || strings.Contains(v, "UID") || strings.Contains(v, `\,`) {
				t.Fatalf("row %s shows vCard internals: %q", label, r)
			}
		}
	}
	if !dept {
		t.Fatalf("no row shows Outlook's department kept by the merge: %q", rows)
	}
	run("keep merged", chromedp.Click(css(".conflict .keep-merged")))
	flash("keep merged", "keeping merged")
	if !testutil.Eventually(webWait, func() bool {
		var c struct{ JobTitle, Department string }
		raw, _ := mb.Get(target)
		json.Unmarshal(raw, &c)
		card := string(cardsByName(t, book, "carol", password)[tName].data)
		return c.JobTitle == merged && c.Department == "Dept from Outlook" &&
			strings.Contains(card, "\r\nTITLE:"+merged+"\r\n") && strings.Contains(card, "Dept from Outlook")
	}) {
		raw, _ := mb.Get(target)
		t.Fatalf("keep merged (%q and Outlook's department) did not reach both sides:\nOffice 365: %s\nbook: %s\nserve:\n%s",
			merged, raw, cardsByName(t, book, "carol", password)[tName].data, stderr)
	}
	reloadUntil(base+"/ui/conflicts", "#no-conflicts", "No open conflicts")

	// The trash: a contact deleted on the phone goes from Office 365 too,
	// into the trash; restore brings it back.
	vCard := cards[vName]
	davDelete(t, book+vCard.href, "carol", password)
	if !testutil.Eventually(webWait, func() bool { return mb.Count("") == contacts-1 }) {
		t.Fatalf("the deletion did not reach Office 365 (%d contacts); serve:\n%s", mb.Count(""), stderr)
	}
	reloadUntil(base+"/ui/trash", "#trash", vName)
	check("trash", true)
	entry := fmt.Sprintf(`//tr[contains(@class,"entry")][td/b[text()=%q]]//button[contains(@class,"restore")]`, vName)
	run("restore", chromedp.Click(entry))
	flash("restore", "will be back on both sides")
	if !testutil.Eventually(webWait, func() bool {
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
	if !testutil.Eventually(webWait, func() bool { _, ok := cardsByName(t, book, "carol", password)[vName]; return ok }) {
		t.Fatalf("the restored contact is not back in the book")
	}
	reloadUntil(base+"/ui/trash", "#trash", "restored")
	// The restored contact's page lists the version in the trash.
	run("the restored contact", chromedp.Navigate(base+"/ui/books/work/?q="+url.QueryEscape(vName)), chromedp.WaitVisible(css("#contacts td.name a")),
		chromedp.Click(css("#contacts td.name a")), chromedp.WaitVisible(css("#history tr.version")))
	check("contact with history", false)

	run("dashboard", chromedp.Navigate(base+"/ui/"))
	settle("dashboard before signing out")
	run("sign out", chromedp.WaitVisible(css("#signout")), chromedp.Click(css("#signout")), chromedp.WaitVisible(css("#signin")))
	flash("sign out", "signed out")
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("serve exit %d; stderr:\n%s", code, stderr)
	}
	if out := stderr.String(); strings.Contains(out, password) {
		t.Fatal("the password reached the log")
	}
	// The CLI sees the pair made on the page: its row of status's table.
	r := cb(t, nil, "--config", cfg, "status")
	if r.code != 0 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(pair)+` +o365 +server +`+strconv.Itoa(contacts)+` `).MatchString(r.stdout) {
		t.Fatalf("status: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// webWait bounds each wait of TestWebUIInChromium for the server, a sync
// or the browser: far more than they take on a quiet machine (well under
// a second each), for a loaded one; a wait ends as soon as its condition
// holds.
const webWait = 60 * time.Second

// flashRecorder runs in every document the browser test loads and adds
// the page's flash message (#flash), if any, to the list in
// sessionStorage["cb-flashes"], which survives the page's reloads.
const flashRecorder = `document.addEventListener("DOMContentLoaded", () => {
  const f = document.getElementById("flash");
  if (!f) return;
  try {
    const seen = JSON.parse(sessionStorage.getItem("cb-flashes") || "[]");
    seen.push(f.textContent.trim());
    sessionStorage.setItem("cb-flashes", JSON.stringify(seen));
  } catch (e) {}
});`

// settled is true once the page has loaded and holds no meta refresh
// (the dashboard reloads itself while a sync runs).
const settled = `document.readyState === "complete" && !!document.querySelector("main") && !document.querySelector('meta[http-equiv="refresh"]')`

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
	if st := testutil.PutVCard(t, target, user, password, string(data), etag); st/100 != 2 {
		t.Fatalf("PUT %s: status %d", target, st)
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

// decodePlist reads an XML property list (dict, array, string, integer,
// true, false; the kinds a configuration profile uses) into map[string]any,
// []any, string, int64 and bool. It fails on anything else: a document
// that is not well-formed, a root other than <plist>, a dict key without
// a value or given twice, text outside a value.
func decodePlist(raw []byte) (any, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	// next is the next element inside the current one, nil at its end.
	next := func() (*xml.StartElement, error) {
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				return &tok, nil
			case xml.EndElement:
				return nil, nil
			case xml.CharData:
				if strings.TrimSpace(string(tok)) != "" {
					return nil, fmt.Errorf("text %q between elements", tok)
				}
			}
		}
	}
	var value func(el xml.StartElement) (any, error)
	value = func(el xml.StartElement) (any, error) {
		switch el.Name.Local {
		case "string", "integer", "key":
			var s string
			if err := d.DecodeElement(&s, &el); err != nil {
				return nil, err
			}
			if el.Name.Local == "integer" {
				return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			}
			return s, nil
		case "true", "false":
			if err := d.Skip(); err != nil {
				return nil, err
			}
			return el.Name.Local == "true", nil
		case "array":
			out := []any{}
			for {
				c, err := next()
				if err != nil || c == nil {
					return out, err
				}
				v, err := value(*c)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
		case "dict":
			out := map[string]any{}
			for {
				k, err := next()
				if err != nil || k == nil {
					return out, err
				}
				if k.Name.Local != "key" {
					return nil, fmt.Errorf("dict: <%s> where a key belongs", k.Name.Local)
				}
				key, err := value(*k)
				if err != nil {
					return nil, err
				}
				v, err := next()
				if err != nil {
					return nil, err
				}
				if v == nil {
					return nil, fmt.Errorf("dict: key %v without a value", key)
				}
				if _, dup := out[key.(string)]; dup {
					return nil, fmt.Errorf("dict: key %v twice", key)
				}
				if out[key.(string)], err = value(*v); err != nil {
					return nil, err
				}
			}
		}
		return nil, fmt.Errorf("unknown element <%s>", el.Name.Local)
	}
	root, err := next()
	if err != nil || root == nil || root.Name.Local != "plist" {
		return nil, fmt.Errorf("no <plist> root (%v)", err)
	}
	top, err := next()
	if err != nil || top == nil {
		return nil, fmt.Errorf("an empty <plist> (%v)", err)
	}
	v, err := value(*top)
	if err != nil {
		return nil, err
	}
	if end, err := next(); err != nil || end != nil {
		return nil, fmt.Errorf("more than one value in <plist> (%v)", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return nil, err
		}
		if c, ok := tok.(xml.CharData); !ok || strings.TrimSpace(string(c)) != "" {
			return nil, fmt.Errorf("content after </plist>: %v", tok)
		}
	}
}

// a11yAudit runs in a page and lists what keeps it from being usable with
// a screen reader or the keyboard: form controls and buttons without a
// label (a <label>, aria-label or aria-labelledby; a button's own text),
// empty table headers, images without alt, links without text, duplicate ids, no lang or title
// on the document, and headings that do not start at one <h1> or that
// skip a level. An empty list is a pass.
const a11yAudit = `(() => {
  const out = [];
  const show = el => el.outerHTML.slice(0, 140);
  const labelled = el => {
    const aria = (el.getAttribute("aria-label") || "").trim();
    if (aria) return true;
    const by = (el.getAttribute("aria-labelledby") || "").trim();
    if (by && by.split(/\s+/).every(id => document.getElementById(id)) &&
        by.split(/\s+/).map(id => document.getElementById(id).textContent).join("").trim()) return true;
    return !!el.labels && Array.from(el.labels).some(l => l.textContent.trim() !== "");
  };
  for (const el of document.querySelectorAll("input, select, textarea")) {
    const type = (el.getAttribute("type") || "text").toLowerCase();
    if (type === "hidden") continue;
    if (["submit", "button", "reset"].includes(type)) {
      if (!(el.value || "").trim() && !labelled(el)) out.push("button without a name: " + show(el));
    } else if (!labelled(el)) {
      out.push("form control without a label: " + show(el));
    }
  }
  for (const b of document.querySelectorAll("button")) {
    if (!b.textContent.trim() && !labelled(b)) out.push("button without a name: " + show(b));
  }
  for (const th of document.querySelectorAll("th")) {
    if (!th.textContent.trim() && !labelled(th)) out.push("table header without text: " + show(th));
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) out.push("image without alt: " + show(img));
  }
  for (const a of document.querySelectorAll("a[href]")) {
    if (!a.textContent.trim() && !labelled(a) && !a.querySelector("img[alt]:not([alt=''])")) out.push("link without text: " + show(a));
  }
  const seen = new Set();
  for (const el of document.querySelectorAll("[id]")) {
    if (seen.has(el.id)) out.push("duplicate id: " + el.id);
    seen.add(el.id);
  }
  if (!document.documentElement.lang) out.push("no lang on <html>");
  if (!document.title.trim()) out.push("no <title>");
  const hs = Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6"));
  if (hs.filter(h => h.tagName === "H1").length !== 1) out.push("not exactly one h1");
  let last = 0;
  for (const h of hs) {
    const level = Number(h.tagName[1]);
    if (level > last + 1) out.push("heading level skipped: " + show(h));
    last = level;
  }
  return out;
})()`

// overflowX is the page's width beyond its viewport: > 0 when it scrolls
// sideways.
const overflowX = `document.documentElement.scrollWidth - document.documentElement.clientWidth`

// checkProfile fails unless raw is a configuration profile (a valid XML
// property list) with one CardDAV account for user on host:port over
// plain HTTP, whose principal is on that server, and with password when
// withPassword, else with none.
func checkProfile(t *testing.T, raw []byte, host string, port int, user, password string, withPassword bool) {
	t.Helper()
	v, err := decodePlist(raw)
	if err != nil {
		t.Fatalf("the profile is not a property list: %v\n%s", err, raw)
	}
	top, _ := v.(map[string]any)
	if top["PayloadType"] != "Configuration" {
		t.Fatalf("profile PayloadType %v", top["PayloadType"])
	}
	content, _ := top["PayloadContent"].([]any)
	if len(content) != 1 {
		t.Fatalf("profile PayloadContent %v", top["PayloadContent"])
	}
	acc, _ := content[0].(map[string]any)
	want := map[string]any{
		"PayloadType":         "com.apple.carddav.account",
		"CardDAVHostName":     host,
		"CardDAVPort":         int64(port),
		"CardDAVUseSSL":       false,
		"CardDAVUsername":     user,
		"CardDAVPrincipalURL": fmt.Sprintf("http://%s:%d/principals/%s/", host, port, user),
	}
	for k, w := range want {
		if acc[k] != w {
			t.Errorf("profile %s = %#v, want %#v", k, acc[k], w)
		}
	}
	switch pw, ok := acc["CardDAVPassword"]; {
	case withPassword && pw != password:
		t.Errorf("the profile asked with the password has CardDAVPassword %#v", pw)
	case !withPassword && (ok || bytes.Contains(raw, []byte(password))):
		t.Errorf("the profile holds the password:\n%s", raw)
	}
}

// chromiumOptions starts headless Chromium for a test: no network
// services of its own, a fresh profile, 1280 px wide, scroll bars over
// the page as on a phone (the page's width is all the window's).
func chromiumOptions(t *testing.T, chromium string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
}

// TestWebUIInChromiumAudit checks the audit itself: on a page with one
// of each problem it names every one, on a page without it names none.
func TestWebUIInChromiumAudit(t *testing.T) {
	chromium := needPeer(t, "chromium")
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t, chromium)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	audit := func(doc string) []string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.open(); document.write(`+strconv.Quote(doc)+`); document.close(); `+a11yAudit))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	good := `<!doctype html><html lang="en"><head><title>good</title></head><body><h1>Page</h1><h2>Part</h2><h3>Sub</h3><h2>Other</h2>
		<label for="a">Name</label><input id="a"><input type="search" aria-label="Search"><span id="l">Colour</span><select aria-labelledby="l"></select>
		<label>Note <textarea></textarea></label><input type="hidden" name="csrf"><input type="submit" value="Send"><button>Go</button>
		<button aria-label="Close"></button><img src="data:," alt=""><a href="/"><img src="data:," alt="Home"></a><a href="/x">Text</a><table><tr><th><span>Col</span></th><th aria-label="Actions"></th></tr></table></body></html>`
	if got := audit(good); len(got) != 0 {
		t.Errorf("a page without problems: %q", got)
	}
	bad := `<!doctype html><html><head></head><body><h2>No h1</h2><h4>Skips h3</h4>
		<input id="d"><input id="d" aria-label="twice"><label for="e"></label><select id="e"></select><textarea aria-labelledby="nosuch"></textarea>
		<input type="submit" value=""><button></button><img src="data:,"><a href="/"></a><table><tr><th></th></tr></table></body></html>`
	got := strings.Join(audit(bad), "\n")
	for _, want := range []string{
		"no lang on <html>", "no <title>", "not exactly one h1", "heading level skipped: <h2", "heading level skipped: <h4",
		`form control without a label: <input id="d">`, `form control without a label: <select id="e">`, "form control without a label: <textarea",
		`button without a name: <input type="submit"`, "button without a name: <button>", "image without alt", "link without text", "duplicate id: d", "table header without text",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the audit missed %q; it found:\n%s", want, got)
		}
	}
}
