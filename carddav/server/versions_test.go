package server

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
	"github.com/cardbridge/cardbridge/vcard"
	"github.com/cardbridge/cardbridge/vcard/vcardtest"
)

const corpusDir = "../../vcard/testdata/corpus"

// User-Agents of the clients whose recorded requests clients_test.go replays.
const (
	uaIOS         = "iOS/18.1.1 (22B91) dataaccessd/1.0"
	uaMacOS       = "AddressBook/6.1.3 (1091) CardDAVPlugin/200 CFNetwork/520.5.3 Mac_OS_X/10.7.5 (11G63)"
	uaMacOSNew    = "Mac OS X/10.11.2 (15C31f) AddressBook/1679.3"
	uaThunderbird = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"
	uaDAVdroid    = "DAVdroid/0.8.4.1"
	uaVdirsyncer  = "vdirsyncer/0.19.3"
)

// corpusCards returns the corpus files a client could PUT (the bad-* ones
// are refused or, for the duplicate UIDs, clash with each other) and the
// cards of vcard/testdata/extra (what the corpus lacks: TZ, GEO, year-less and
// text dates, 4.0-only and 3.0-only properties and parameters).
func corpusCards(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.vcf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", corpusDir, err)
	}
	extra, err := filepath.Glob(filepath.Join("..", "..", "vcard", "testdata", "extra", "*.vcf"))
	if err != nil || len(extra) == 0 {
		t.Fatalf("no cards in vcard/testdata/extra: %v", err)
	}
	files = append(files, extra...)
	out := map[string][]byte{}
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "bad-") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".vcf")] = b
	}
	return out
}

func multigetBody(attrs string, hrefs ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data` + attrs + `/></D:prop>`)
	for _, h := range hrefs {
		b.WriteString("<D:href>" + h + "</D:href>")
	}
	b.WriteString("</C:addressbook-multiget>")
	return b.String()
}

// addressData returns the unescaped address-data of href in a multiget
// answer.
func addressData(t *testing.T, body, href string) string {
	t.Helper()
	r := parseMS(t, body).resp(t, href)
	inner := r.ok()
	i := strings.Index(inner, "address-data")
	if i < 0 {
		t.Fatalf("%s: no address-data in %s", href, inner)
	}
	start := strings.IndexByte(inner[i:], '>') + i + 1
	end := strings.LastIndex(inner, "</")
	return html.UnescapeString(inner[start:end])
}

func versionOf(data string) string {
	for _, l := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(strings.ToUpper(l), "VERSION:") {
			return strings.TrimSpace(l[8:])
		}
	}
	return ""
}

// TestServedVCardsAreValid PUTs every corpus card as the file is (its own
// version, quirks and all) and converted to 3.0 and 4.0, reads each back by
// GET (Accept 3.0, 4.0, none; Apple's and other User-Agents) and by
// multiget (address-data version 3.0, 4.0, none) and checks every answer:
// one in another version than the stored card (or a re-encoding served to
// Thunderbird) is valid by the strict validator of its version;
// one in the stored version is the stored card as the client wrote it
// (clean CRLF lines); a client that asks for no version
// gets the stored one (3.0 for Apple's, 4.0 for Thunderbird); and 4.0 ->
// 3.0 -> 4.0 through the server keeps the card's content hash.
func TestServedVCardsAreValid(t *testing.T) { pgtest.ForBackends(t, testServedVCardsAreValid) }

func testServedVCardsAreValid(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	mk := `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`
	for _, b := range []string{"raw", "v30", "v40", "back"} {
		ts.expect("MKCOL", "/addressbooks/alice/"+b+"/", "alice", nil, mk, http.StatusCreated)
	}
	cards := corpusCards(t)
	names := make([]string, 0, len(cards))
	for n := range cards {
		names = append(names, n)
	}
	sort.Strings(names)

	type stored struct {
		href, version string
		body          []byte // the PUT body, normalised as the server stores it
		card          *vcard.Card
	}
	var all []stored
	for _, n := range names {
		c, err := vcard.Parse(cards[n])
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		for _, v := range []struct{ book, version string }{{"raw", c.Version}, {"v30", vcard.V30}, {"v40", vcard.V40}} {
			body := cards[n]
			if v.book != "raw" {
				body = c.ConvertTo(v.version).Encode()
			}
			href := "/addressbooks/alice/" + v.book + "/" + n + ".vcf"
			ts.expect("PUT", href, "alice", map[string]string{"Content-Type": "text/vcard"}, string(body), http.StatusCreated)
			sv := v.version
			if sv == vcard.V21 {
				sv = vcard.V30 // 2.1 is stored as 3.0
			}
			all = append(all, stored{href: href, version: sv, body: cleanLines(body), card: c})
		}
	}

	failures := map[string]map[string]bool{} // rule -> answers
	check := func(what string, st stored, want, got string) {
		t.Helper()
		if gv := versionOf(got); gv != want {
			t.Errorf("%s %s: VERSION %q, want %s", what, st.href, gv, want)
			failures["version"] = addTo(failures["version"], what+" "+st.href)
			return
		}
		if want == st.version && versionOf(string(st.body)) == want && (got == string(st.body) || !strings.Contains(what, "Thunderbird")) {
			if got != string(st.body) {
				t.Errorf("%s %s: the stored %s card is not served as stored:\n--- got\n%s--- want\n%s", what, st.href, want, got, st.body)
				failures["as-stored"] = addTo(failures["as-stored"], what+" "+st.href)
			}
			return
		}
		for _, p := range vcardtest.Validate([]byte(got), want) {
			t.Errorf("%s %s (stored %s) as %s: %v", what, st.href, st.version, want, p)
			failures[want+" "+p.Rule] = addTo(failures[want+" "+p.Rule], what+" "+st.href)
		}
	}
	for _, st := range all {
		book := st.href[:strings.LastIndexByte(st.href, '/')+1]
		for _, g := range []struct {
			what, accept, ua, want string
		}{
			{"GET accept 3.0", "text/vcard; version=3.0", "", vcard.V30},
			{"GET accept 4.0", "text/vcard; version=4.0", "", vcard.V40},
			{"GET no version", "", "", st.version},
			{"GET text/vcard", "text/vcard", uaVdirsyncer, st.version},
			{"GET Thunderbird", "", uaThunderbird, vcard.V40},
			{"GET iOS", "*/*", uaIOS, vcard.V30},
			{"GET macOS", "*/*", uaMacOS, vcard.V30},
			{"GET macOS 10.11", "", uaMacOSNew, vcard.V30},
			{"GET iOS asking 4.0", "text/vcard;version=4.0", uaIOS, vcard.V40},
		} {
			hdr := map[string]string{}
			if g.accept != "" {
				hdr["Accept"] = g.accept
			}
			if g.ua != "" {
				hdr["User-Agent"] = g.ua
			}
			_, got := ts.expect("GET", st.href, "alice", hdr, "", http.StatusOK)
			check(g.what, st, g.want, got)
		}
		for _, m := range []struct {
			what, attrs, ua, want string
		}{
			{"multiget 3.0", ` content-type="text/vcard" version="3.0"`, "", vcard.V30},
			{"multiget 4.0", ` content-type="text/vcard" version="4.0"`, "", vcard.V40},
			{"multiget no version (Thunderbird)", "", uaThunderbird, vcard.V40},
			{"multiget no version (DAVdroid)", ` content-type="text/vcard"`, uaDAVdroid, st.version},
			{"multiget no version (vdirsyncer)", "", uaVdirsyncer, st.version},
			{"multiget no version (iOS)", "", uaIOS, vcard.V30},
			{"multiget no version (macOS)", "", uaMacOS, vcard.V30},
		} {
			hdr := map[string]string{"Depth": "1"}
			if m.ua != "" {
				hdr["User-Agent"] = m.ua
			}
			_, b := ts.expect("REPORT", book, "alice", hdr, multigetBody(m.attrs, st.href), http.StatusMultiStatus)
			check(m.what, st, m.want, addressData(t, b, st.href))
		}
	}

	// 4.0 -> 3.0 -> 4.0 through the server: read a stored 4.0 card as
	// 3.0, PUT that as a 3.0 client would, read it back as 4.0: same
	// content.
	for _, st := range all {
		if st.version != vcard.V40 {
			continue
		}
		_, as3 := ts.expect("GET", st.href, "alice", map[string]string{"Accept": "text/vcard; version=3.0"}, "", http.StatusOK)
		back := "/addressbooks/alice/back/" + strings.ReplaceAll(strings.TrimPrefix(st.href, "/addressbooks/alice/"), "/", "-")
		ts.expect("PUT", back, "alice", map[string]string{"Content-Type": "text/vcard"}, as3, http.StatusCreated)
		_, as4 := ts.expect("GET", back, "alice", map[string]string{"Accept": "text/vcard; version=4.0"}, "", http.StatusOK)
		orig, err := vcard.Parse(st.body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := vcard.Parse([]byte(as4))
		if err != nil {
			t.Fatalf("%s: the 4.0 answer does not parse: %v", back, err)
		}
		if got.Hash() != orig.Hash() {
			t.Errorf("%s: 4.0 -> 3.0 -> 4.0 changed the card:\n--- 4.0 stored\n%s--- as 3.0\n%s--- back as 4.0\n%s", st.href, st.body, as3, as4)
			failures["round-trip"] = addTo(failures["round-trip"], st.href)
		}
		_ = ts.db // the store is the server's own
		if _, err := ts.db.AddressBooks(t.Context(), "alice"); err != nil {
			t.Fatal(err)
		}
		ts.expect("DELETE", back, "alice", nil, "", http.StatusNoContent)
	}
	rules := make([]string, 0, len(failures))
	for r := range failures {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	var summary strings.Builder
	for _, r := range rules {
		cardSet := map[string]bool{}
		for a := range failures[r] {
			cardSet[a[strings.LastIndexByte(a, '/')+1:]] = true
		}
		fmt.Fprintf(&summary, "  %-18s %3d answers, %2d corpus cards\n", r, len(failures[r]), len(cardSet))
	}
	t.Logf("%d stored cards; problems by rule:\n%s", len(all), summary.String())
}

func addTo(m map[string]bool, k string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[k] = true
	return m
}

// cleanLines is what the server stores of a PUT body: no byte order mark,
// CRLF line ends, a final CRLF, no blank lines.
func cleanLines(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var out strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if l == "" {
			continue
		}
		out.WriteString(l + "\r\n")
	}
	return []byte(out.String())
}

// TestPutNormalisesBody: a body with a byte order mark, bare LF or CR line
// ends, blank lines or no final CRLF is stored and served as clean CRLF
// lines, and its PUT answer has no ETag (it would promise the stored card
// is the body); a clean body is stored as it is, with the ETag. A 2.1 body
// is stored as 3.0.
func TestPutNormalisesBody(t *testing.T) { pgtest.ForBackends(t, testPutNormalisesBody) }

func testPutNormalisesBody(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	clean := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:n-1\r\nFN:Semi;Colon\r\nNOTE:a;b\r\nEND:VCARD\r\n"
	tests := []struct {
		name, body string
		want       string // the stored and served card; "" for the body
	}{
		{"clean", clean, ""},
		{"bom", "\xEF\xBB\xBF" + clean, clean},
		{"lf", strings.ReplaceAll(clean, "\r\n", "\n"), clean},
		{"cr", strings.ReplaceAll(clean, "\r\n", "\r"), clean},
		{"no final crlf", strings.TrimSuffix(clean, "\r\n"), clean},
		{"bom lf no final", "\xEF\xBB\xBF" + strings.TrimSuffix(strings.ReplaceAll(clean, "\r\n", "\n"), "\n"), clean},
		{"blank lines", strings.Replace(clean, "FN:", "\r\nFN:", 1) + "\r\n", clean},
		{"mixed", strings.Replace(clean, "\r\nNOTE", "\nNOTE", 1), clean},
		{"folded lf", "BEGIN:VCARD\nVERSION:3.0\nUID:n-1\nFN:Long\nN:Long;;;;\nNOTE:a\n b\nEND:VCARD", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:n-1\r\nFN:Long\r\nN:Long;;;;\r\nNOTE:a\r\n b\r\nEND:VCARD\r\n"},
		{"2.1", "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:n-1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;WORK;VOICE:+1 555\r\nEND:VCARD\r\n", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:n-1\r\nN:Doe;John\r\nFN:John Doe\r\nTEL;TYPE=WORK,VOICE:+1 555\r\nEND:VCARD\r\n"},
	}
	for i, tt := range tests {
		// one UID per case (one book); ts.expect fails the whole test
		uid := "UID:n-" + strconv.Itoa(i)
		tt.body, tt.want = strings.ReplaceAll(tt.body, "UID:n-1", uid), strings.ReplaceAll(tt.want, "UID:n-1", uid)
		func() {
			href := aliceBook + "n" + strconv.Itoa(i) + ".vcf"
			resp, _ := ts.expect("PUT", href, "alice", map[string]string{"Content-Type": "text/vcard"}, tt.body, http.StatusCreated)
			want := tt.want
			if want == "" {
				want = tt.body
			}
			putETag := resp.Header.Get("ETag")
			get, got := ts.expect("GET", href, "alice", nil, "", http.StatusOK)
			if got != want {
				t.Fatalf("%s: served %q, want %q", tt.name, got, want)
			}
			if tt.want == "" {
				if putETag == "" || putETag != get.Header.Get("ETag") {
					t.Fatalf("%s: clean body: PUT ETag %q, GET ETag %q", tt.name, putETag, get.Header.Get("ETag"))
				}
			} else if putETag != "" {
				t.Fatalf("%s: the stored card differs from the body, yet the PUT answered ETag %s", tt.name, putETag)
			}
			if tt.want == "" || strings.Contains(tt.body, "VERSION:2.1") {
				return
			}
			// the card is the same card
			a, err := vcard.Parse([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := vcard.Parse([]byte(got))
			if err != nil {
				t.Fatal(err)
			}
			if a.Hash() != b.Hash() {
				t.Fatalf("%s: normalising changed the card", tt.name)
			}
			// and an update of it likewise
			resp, _ = ts.expect("PUT", href, "alice", map[string]string{"Content-Type": "text/vcard", "If-Match": get.Header.Get("ETag")}, tt.body, http.StatusNoContent)
			if resp.Header.Get("ETag") != "" {
				t.Fatalf("%s: update: ETag %s for a body stored otherwise", tt.name, resp.Header.Get("ETag"))
			}
		}()
	}
}
