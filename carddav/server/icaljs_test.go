package server

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// icalCard is what testdata/icaljs/parse.mjs reports of one card.
type icalCard struct {
	Error   string   `json:"error"`
	Version string   `json:"version"`
	FN      string   `json:"fn"`
	Note    string   `json:"note"`
	Title   string   `json:"title"`
	Org     []string `json:"org"`
	N       []string `json:"n"`
}

// icalJS returns a function that parses vCards with ical.js (the npm
// package Thunderbird's address book reads vCards with), installed in
// testdata/icaljs by `npm ci` (scripts/test.sh does it). Without node or
// the package the test is skipped, and fails under CI=true.
func icalJS(t *testing.T) func(cards []string) []icalCard {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: %v", err)
	}
	dir := filepath.Join("testdata", "icaljs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js", "package.json")); err != nil {
		missing("ical.js is not installed (npm ci --prefix carddav/server/testdata/icaljs): %v", err)
	}
	return func(cards []string) []icalCard {
		t.Helper()
		in, err := json.Marshal(cards)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, "parse.mjs")
		cmd.Dir = dir
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("node parse.mjs: %v\n%s", err, stderr.String())
		}
		var got []icalCard
		if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cards) {
			t.Fatalf("parse.mjs answered %q: %v", out, err)
		}
		return got
	}
}

var addressDataRe = regexp.MustCompile(`(?s)<C:address-data[^>]*>(.*?)</C:address-data>`)

// TestThunderbirdICALjs: cards read the way Thunderbird reads them (its
// User-Agent, addressbook-multiget and sync-collection with an
// address-data that names no version, bodies from
// reference/clients/thunderbird-sync.http) parse with ical.js to the text
// that was written: a ';' in FN, NOTE, TITLE and ORG survives, both in a
// card Thunderbird wrote (4.0, as ical.js writes it), in one an Apple
// client wrote (3.0, where ';' is escaped) and in a 4.0 one that escapes it.
func TestThunderbirdICALjs(t *testing.T) { pgtest.ForBackends(t, testThunderbirdICALjs) }

func testThunderbirdICALjs(t *testing.T, be pgtest.Backend) {
	parse := icalJS(t)
	ts := newTestServer(t, be, nil)
	tb := map[string]string{"User-Agent": uaThunderbird, "Content-Type": "text/xml", "Depth": "1"}
	// as ical.js's stringify writes a 4.0 card: ';' bare in text, escaped
	// in a component
	fromTB := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:7a3c0f52-1f0e-4c8a-9c61-0d1e2f3a4b5c\r\nFN:Smith; John\r\nN:Smith;John;;;\r\n" +
		"NOTE:Meeting at 10;00; bring the key\\, please\r\nTITLE:Boss; mostly\r\nORG:Acme\\;Co;R&D\r\nEND:VCARD\r\n"
	fromApple := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:apple-1\r\nFN:Doe\\; Jane\r\nN:Doe;Jane;;;\r\n" +
		"NOTE:a\\;b\\, c\r\nTITLE:Chief\\; of staff\r\nORG:Widgets\\;Inc;Sales\r\nEND:VCARD\r\n"
	put := func(href, body, ua string) {
		t.Helper()
		ts.expect("PUT", aliceBook+href, "alice", map[string]string{"Content-Type": "text/vcard", "User-Agent": ua}, body, http.StatusCreated)
	}
	// as another 4.0 writer may: \; in text (RFC 6350's prose allows it,
	// its grammar and ical.js do not)
	fromOther := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:other-1\r\nFN:Roe\\; Rich\r\nNOTE:p\\;q\r\n" +
		"TITLE:Head\\; of design\r\nORG:Gadgets\\;Ltd;Ops\r\nEND:VCARD\r\n"
	put("tb.vcf", fromTB, uaThunderbird)
	put("apple.vcf", fromApple, uaIOS)
	put("other.vcf", fromOther, uaDAVdroid)
	want := map[string]icalCard{
		"other.vcf": {FN: "Roe; Rich", Note: "p;q", Title: "Head; of design", Org: []string{"Gadgets;Ltd", "Ops"}},
		"tb.vcf":    {FN: "Smith; John", Note: "Meeting at 10;00; bring the key, please", Title: "Boss; mostly", Org: []string{"Acme;Co", "R&D"}},
		"apple.vcf": {FN: "Doe; Jane", Note: "a;b, c", Title: "Chief; of staff", Org: []string{"Widgets;Inc", "Sales"}},
	}
	// request 2: multiget, one href per line
	mg := `<?xml version="1.0" encoding="utf-8"?>
    <card:addressbook-multiget xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:d="DAV:">
      <d:prop>
        <d:getetag/>
        <card:address-data/>
      </d:prop>
            <d:href>` + aliceBook + `tb.vcf</d:href>
            <d:href>` + aliceBook + `apple.vcf</d:href>
            <d:href>` + aliceBook + `other.vcf</d:href>
    </card:addressbook-multiget>`
	_, mgBody := ts.expect("REPORT", aliceBook, "alice", tb, mg, http.StatusMultiStatus)
	// request 4: sync-collection from the start
	sc := `<sync-collection xmlns="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/" xmlns:d="DAV:">
      <sync-token></sync-token>
      <sync-level>1</sync-level>
      <prop>
        <getetag/>
        <card:address-data/>
      </prop>
    </sync-collection>`
	_, scBody := ts.expect("REPORT", aliceBook, "alice", tb, sc, http.StatusMultiStatus)
	var texts, what []string
	for _, answer := range []struct{ name, body string }{{"multiget", mgBody}, {"sync-collection", scBody}} {
		d := parseMS(t, answer.body)
		for _, href := range []string{"tb.vcf", "apple.vcf", "other.vcf"} {
			m := addressDataRe.FindStringSubmatch(d.resp(t, aliceBook+href).ok())
			if m == nil {
				t.Fatalf("%s: no address-data for %s in %s", answer.name, href, answer.body)
			}
			texts = append(texts, html.UnescapeString(m[1]))
			what = append(what, answer.name+" "+href)
		}
	}
	for _, href := range []string{"tb.vcf", "apple.vcf", "other.vcf"} {
		_, b := ts.expect("GET", aliceBook+href, "alice", map[string]string{"User-Agent": uaThunderbird}, "", http.StatusOK)
		texts = append(texts, b)
		what = append(what, "GET "+href)
	}
	got := parse(texts)
	for i, g := range got {
		href := what[i][strings.LastIndexByte(what[i], ' ')+1:]
		w := want[href]
		if g.Error != "" || g.FN != w.FN || g.Note != w.Note || g.Title != w.Title || strings.Join(g.Org, "|") != strings.Join(w.Org, "|") {
			t.Errorf("%s: ical.js reads FN %q NOTE %q TITLE %q ORG %q (error %q), want FN %q NOTE %q TITLE %q ORG %q\n%s",
				what[i], g.FN, g.Note, g.Title, g.Org, g.Error, w.FN, w.Note, w.Title, w.Org, texts[i])
		}
	}
}
