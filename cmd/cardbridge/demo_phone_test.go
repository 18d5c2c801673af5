package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/demo"
)

// phoneSection is the part of the demo's output meant for phones.
func phoneSection(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "\nPhones")
	j := strings.Index(out, "\"Connect Office 365\"")
	if i < 0 || j < i {
		t.Fatalf("no phone section in:\n%s", out)
	}
	return out[i:j]
}

// TestDemoPhoneInstructions: on its default loopback address the demo
// says a phone cannot reach it and how to let one; with --listen
// 0.0.0.0:PORT it warns about plain HTTP on stderr (serve's warning),
// prints the web page on 127.0.0.1 for this computer and, for phones,
// this machine's network addresses with the phone setup page, which
// (opened at such an address) offers the QR code and a profile for that
// address. No line for phones holds 127.0.0.1.
func TestDemoPhoneInstructions(t *testing.T) {
	port := freePort(t)
	d := startDemo(t, nil, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--contacts", "3")
	d.waitReady(t)
	sec := phoneSection(t, d.stdout.String())
	if !strings.Contains(sec, "a phone cannot reach it") || !strings.Contains(sec, "--listen 0.0.0.0:5232") || strings.Contains(sec, "127.0.0.1") {
		t.Errorf("loopback demo, phone section:\n%s", sec)
	}
	if strings.Contains(d.stderr.String(), "WITHOUT TLS") {
		t.Errorf("loopback demo warns about TLS:\n%s", d.stderr)
	}
	if code := d.stop(t, syscall.SIGINT); code != 0 {
		t.Fatalf("exit %d", code)
	}

	port = freePort(t)
	d = startDemo(t, nil, "--listen", fmt.Sprintf("0.0.0.0:%d", port), "--contacts", "3")
	info := d.waitReady(t)
	local := fmt.Sprintf("http://127.0.0.1:%d", port)
	if info.web != local+"/ui/" || info.dav != local+"/" {
		t.Errorf("this computer's URLs: %+v, want them under %s", info, local)
	}
	if s := d.stderr.String(); !strings.Contains(s, "cardbridge: WARNING: listening on 0.0.0.0:") || !strings.Contains(s, "WITHOUT TLS") {
		t.Errorf("no TLS warning on stderr:\n%s", s)
	}
	sec = phoneSection(t, d.stdout.String())
	if strings.Contains(sec, "127.0.0.1") || strings.Contains(sec, "localhost") {
		t.Errorf("phone section gives a loopback address:\n%s", sec)
	}
	lan := demo.LANAddresses()
	if len(lan) == 0 {
		if !strings.Contains(sec, "no network address") {
			t.Errorf("no LAN address, phone section:\n%s", sec)
		}
		return
	}
	hostport := net.JoinHostPort(lan[0], fmt.Sprint(port))
	for _, a := range lan {
		if u := "http://" + net.JoinHostPort(a, fmt.Sprint(port)) + "/"; !strings.Contains(sec, u) {
			t.Errorf("phone section lacks %s:\n%s", u, sec)
		}
	}
	if want := "Phone setup:   http://" + hostport + "/ui/books/contacts/phone"; !strings.Contains(sec, want) {
		t.Errorf("phone section lacks %q:\n%s", want, sec)
	}

	// The setup page as a browser at that address sees it (the request
	// goes to loopback with the network address as Host).
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	do := func(method, path string, form url.Values) (int, string, http.Header) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, local+path, body)
		req.Host = hostport
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "http://"+hostport)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(raw), resp.Header
	}
	// The jar keeps the cookie under the URL's host (127.0.0.1).
	if st, body, _ := do(http.MethodPost, "/ui/login", url.Values{"user": {info.user}, "password": {info.password}}); st != http.StatusOK {
		t.Fatalf("sign in at %s: %d\n%s", hostport, st, body)
	}
	st, page, _ := do(http.MethodGet, "/ui/books/contacts/phone", nil)
	if want := "carddav://demo@" + hostport + "/"; st != http.StatusOK || !strings.Contains(page, want) || !strings.Contains(page, "qr.png") {
		t.Fatalf("phone page at %s: %d, lacks %s\n%s", hostport, st, want, page)
	}
	st, profile, h := do(http.MethodGet, "/ui/books/contacts/profile.mobileconfig", nil)
	if st != http.StatusOK || h.Get("Content-Type") != "application/x-apple-aspen-config" ||
		!strings.Contains(profile, "<key>CardDAVHostName</key>\n\t\t\t<string>"+lan[0]+"</string>") || strings.Contains(profile, "CardDAVPassword") {
		t.Fatalf("profile: %d %s\n%s", st, h, profile)
	}
}
