package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cardbridge/cardbridge/o365/graphsim"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/testutil"
)

// signInClient is the sign-in app (server.microsoft_sign_in) in graphsim:
// a confidential web app with the test certificate and no secret.
const signInClient = "55555555-6666-4777-8888-999999999999"

// TestMicrosoftSignInAppPasswordInChromium drives `cardbridge serve` with
// graphsim as Microsoft (local_passwords: false, the sign-in app's
// credential a certificate, contacts: true) in headless Chromium: Sign in
// with Microsoft on graphsim's login page lands signed in as the tenant's
// user with the contacts granted; one click makes the pair "Office 365 ⇄
// a new book"; on Devices an app password is made and read off the page
// once; vdirsyncer syncs the book with the user and that app password (the
// mailbox's contacts arrive, a card of its own goes up and on to the
// mailbox); the app password
// is revoked on the page and vdirsyncer's next run fails with 401.
func TestMicrosoftSignInAppPasswordInChromium(t *testing.T) {
	chromium := needPeer(t, "chromium")
	needPeer(t, "vdirsyncer")
	const contacts = 3
	env := newSim(t, contacts)
	tid := env.sim.Options().Tenant

	dir := t.TempDir()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	certFile := filepath.Join(dir, "signin.pem")
	if err := os.WriteFile(certFile, []byte(env.certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	// The sign-in app has the certificate of env.certPEM (simClient's too).
	blk, _ := pem.Decode([]byte(env.certPEM))
	appCert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	env.sim.AddApp(graphsim.App{ClientID: signInClient, Certificate: appCert, RedirectURIs: []string{base + "/ui/login/microsoft/callback"}})
	cfg := serveConfig(t, dir, port, fmt.Sprintf(`  public_url: %s
  local_passwords: false
  microsoft_sign_in:
    client_id: %s
    tenants: [%s]
    certificate_file: %s
    login_url: %s
    graph_url: %s/v1.0
    contacts: true
`, base, signInClient, tid, certFile, env.srv.URL, env.srv.URL))
	_, stderr := startServe(t, "--config", cfg, "serve", "--debounce", "200ms")
	if !testutil.Eventually(webWait, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	}) {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromiumOptions(t, chromium)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
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
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v\npage:\n%s", sel, err, page())
		}
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// The sign-in page has no password form, only Microsoft.
	run("open the server", chromedp.Navigate(base+"/ui/login"), chromedp.WaitVisible(css("#signin-microsoft")))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("input[type=password]").length`)); err != nil || n != 0 {
		t.Fatalf("the sign-in page has %d password fields (%v) with local_passwords: false", n, err)
	}
	run("sign in with Microsoft", chromedp.Click(css("#signin-microsoft")), chromedp.WaitVisible(css(`input[name="passwd"]`)))
	if loc := location(); !strings.HasPrefix(loc, env.srv.URL+"/"+tid+"/oauth2/v2.0/authorize?") || !strings.Contains(loc, "Contacts.ReadWrite") {
		t.Fatalf("sign-in went to %s", loc)
	}
	run("graphsim's login", chromedp.SetValue(css(`input[name="login"]`), alice), chromedp.SendKeys(css(`input[name="passwd"]`), "alice"),
		chromedp.Click(css(`button[value="accept"]`)), chromedp.WaitVisible(css("#create-pair")))
	if loc := location(); loc != base+"/ui/?contacts=granted" || text("#user") != "alice" || !strings.Contains(text("#connected-as"), alice) {
		t.Fatalf("landed on %s as %q", loc, text("#user"))
	}

	// One click: Office 365 ⇄ the suggested new book.
	run("create the pair", chromedp.Click(css("#create-pair")), chromedp.WaitVisible(css(`tr[data-pair="web-alice:office365"]`)))
	book := base + "/addressbooks/alice/office365/"

	// Devices: an app password, shown once.
	run("devices", chromedp.Navigate(base+"/ui/devices"), chromedp.WaitVisible(css("#app-password-name")))
	run("create an app password", chromedp.SendKeys(css("#app-password-name"), "vdirsyncer"),
		chromedp.Submit(css("#app-password-name")), chromedp.WaitVisible(css("#app-password-token")))
	tok := strings.TrimSpace(text("#app-password-token"))
	if !strings.HasPrefix(tok, state.AppPasswordPrefix) {
		t.Fatalf("app password %q", tok)
	}
	if !testutil.Eventually(webWait, func() bool {
		hrefs, err := propfind(book, "alice", tok)
		return err == nil && len(hrefs) == contacts
	}) {
		t.Fatalf("the pair's first sync did not fill the book with %d cards; serve:\n%s", contacts, stderr)
	}

	vdir := filepath.Join(t.TempDir(), "vdir")
	if err := os.MkdirAll(vdir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeCard(t, filepath.Join(vdir, "mine.vcf"), "from-vdirsyncer-1", "From Vdirsyncer")
	conf := vdirsyncerConf(t, vdir, book, tok)
	runPeer(t, "", "vdirsyncer", "-c", conf, "sync")
	files, _ := filepath.Glob(filepath.Join(vdir, "*.vcf"))
	if len(files) != contacts+1 {
		t.Fatalf("the vdir holds %d cards after the sync, want the book's %d and its own", len(files), contacts)
	}
	if n := len(propfindCards(t, book, "alice", tok)); n != contacts+1 {
		t.Fatalf("the book holds %d cards, want %d with vdirsyncer's", n, contacts+1)
	}

	// The pair takes vdirsyncer's card on to Office 365.
	mb := env.sim.Mailbox(alice)
	if !testutil.Eventually(webWait, func() bool { return len(mb.ContactIDs("")) == contacts+1 }) {
		t.Fatalf("the mailbox holds %d contacts, want %d with vdirsyncer's; serve:\n%s", len(mb.ContactIDs("")), contacts+1, stderr)
	}

	// Revoked on the page: the next run is refused.
	run("revoke", chromedp.Navigate(base+"/ui/devices"), chromedp.WaitVisible(css(`button[aria-label="Revoke vdirsyncer"]`)),
		chromedp.Click(css(`button[aria-label="Revoke vdirsyncer"]`)), chromedp.WaitVisible(css("#no-app-passwords")))
	writeCard(t, filepath.Join(vdir, "later.vcf"), "from-vdirsyncer-2", "After Revoke")
	cmd := exec.Command("vdirsyncer", "-c", conf, "sync")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") {
		t.Fatalf("vdirsyncer after the revocation: %v, want a failure with 401\n%s", err, out)
	}
}
