package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Request kinds, the rows of the latency table.
const (
	kindSync     = "sync-collection"
	kindMultiget = "multiget"
	kindGet      = "get"
	kindPut      = "put"
	kindCreate   = "create"
	kindDelete   = "delete"
	kindQuery    = "query" // the checker's full listings, not timed in the table
)

// dav is a CardDAV client of one user's book, recording every request in
// a recorder.
type dav struct {
	hc   *http.Client
	base string // http://127.0.0.1:PORT
	user string
	pass string
	book string // /addressbooks/USER/contacts/
	rec  *recorder
}

// response is an answered request.
type response struct {
	status int
	etag   string
	body   []byte
}

// do sends one request of kind and records its latency and status.
func (d *dav) do(ctx context.Context, kind, method, path string, hdr map[string]string, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.SetBasicAuth(d.user, d.pass)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := d.hc.Do(req)
	if err != nil {
		if d.rec != nil && ctx.Err() == nil {
			d.rec.transportError(kind, err)
		}
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		if d.rec != nil && ctx.Err() == nil {
			d.rec.transportError(kind, err)
		}
		return response{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if d.rec != nil {
		d.rec.observe(kind, resp.StatusCode, elapsed)
	}
	return response{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: b}, nil
}

func (d *dav) cardPath(href string) string { return d.book + href }

// multistatus is the part of a 207 answer the clients read.
type multistatus struct {
	Responses []struct {
		Href      string `xml:"DAV: href"`
		Status    string `xml:"DAV: status"`
		Propstats []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ETag        string `xml:"DAV: getetag"`
				AddressData string `xml:"urn:ietf:params:xml:ns:carddav address-data"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
	SyncToken string `xml:"DAV: sync-token"`
}

func parseMultistatus(b []byte) (*multistatus, error) {
	var m multistatus
	if err := xml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad multistatus: %w", err)
	}
	return &m, nil
}

func syncBody(token string) string {
	return `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + xmlEscape(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

func multigetBody(paths []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
	for _, p := range paths {
		b.WriteString("<D:href>" + xmlEscape(p) + "</D:href>")
	}
	b.WriteString("</C:addressbook-multiget>")
	return b.String()
}

const queryAllBody = `<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop></C:addressbook-query>`

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Cards carry a marker in their NOTE: "m=<writer>-<n>", the version a
// writer (client, phone or seed) gave them.
var (
	noteRE = regexp.MustCompile(`(?m)^NOTE:m=([^\r\n]*)\r?$`)
	uidRE  = regexp.MustCompile(`(?m)^UID:([^\r\n]*)\r?$`)
)

func markerOf(card []byte) string {
	m := noteRE.FindSubmatch(card)
	if m == nil {
		return ""
	}
	return string(m[1])
}

func uidOf(card []byte) string {
	m := uidRE.FindSubmatch(card)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// cardText is a card of index i (or a created one, uid given) with marker.
func cardText(uid string, i int, marker string) string {
	first := firstNames[i%len(firstNames)]
	last := lastNames[(i/len(firstNames))%len(lastNames)]
	return "BEGIN:VCARD\r\nVERSION:3.0\r\n" +
		"UID:" + uid + "\r\n" +
		"FN:" + first + " " + last + " " + fmt.Sprint(i) + "\r\n" +
		"N:" + last + ";" + first + ";;;\r\n" +
		"EMAIL;TYPE=INTERNET,WORK:" + strings.ToLower(first) + "." + strings.ToLower(last) + fmt.Sprint(i) + "@example.com\r\n" +
		fmt.Sprintf("TEL;TYPE=CELL:+1 555 %04d\r\n", i%10000) +
		"ORG:" + orgs[i%len(orgs)] + "\r\n" +
		"NOTE:m=" + marker + "\r\n" +
		"END:VCARD\r\n"
}

var (
	firstNames = []string{"Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "John", "Radia", "Edsger", "Hedy", "Claude", "Katherine"}
	lastNames  = []string{"Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "McCarthy", "Perlman", "Dijkstra", "Lamarr", "Shannon", "Johnson"}
	orgs       = []string{"Analytical Engines", "Bletchley Park", "Navy", "Kernel Org", "MIT", "Bell Labs", "IBM", "Stanford"}
)

func baseUID(i int) string  { return fmt.Sprintf("load-%05d", i) }
func baseHref(i int) string { return baseUID(i) + ".vcf" }
