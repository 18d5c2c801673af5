// Package davclient is the CardDAV client the load generators of bench/
// share (bench/load, bench/replicas): one user's book over HTTP with
// Basic auth, every request's latency and status handed to a Recorder,
// the parts of a 207 answer the generators read, the REPORT bodies they
// send, and the cards they write, each carrying a marker in its NOTE that
// names the version a writer gave it. On top of it (ops.go) the requests
// the generators check the same way (sync-collection, multiget, GET, the
// answer to an If-Match PUT), the full listing and the seeding of a book,
// and (vdir.go) the reading of a vCard directory and the "phone" that
// edits it.
package davclient

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

// Recorder receives every answered request's kind, status and latency,
// and every request that failed in transport.
type Recorder interface {
	Observe(kind string, status int, d time.Duration)
	TransportError(kind string, err error)
}

// Client is a CardDAV client of one user's book.
type Client struct {
	HC   *http.Client
	Base string // http://127.0.0.1:PORT
	User string
	Pass string
	Book string // /addressbooks/USER/contacts/
	// Rec, when not nil, records every request.
	Rec Recorder
}

// Response is an answered request.
type Response struct {
	Status int
	ETag   string
	Body   []byte
}

// Do sends one request of kind (a label for the Recorder) and reads the
// whole answer.
func (d *Client) Do(ctx context.Context, kind, method, path string, hdr map[string]string, body string) (Response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.Base+path, rd)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.SetBasicAuth(d.User, d.Pass)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := d.HC.Do(req)
	if err != nil {
		if d.Rec != nil && ctx.Err() == nil {
			d.Rec.TransportError(kind, err)
		}
		return Response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		if d.Rec != nil && ctx.Err() == nil {
			d.Rec.TransportError(kind, err)
		}
		return Response{}, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if d.Rec != nil {
		d.Rec.Observe(kind, resp.StatusCode, elapsed)
	}
	return Response{Status: resp.StatusCode, ETag: resp.Header.Get("ETag"), Body: b}, nil
}

// CardPath is the path of the card href (a name like "x.vcf") in the book.
func (d *Client) CardPath(href string) string { return d.Book + href }

// Multistatus is the part of a 207 answer the generators read.
type Multistatus struct {
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

// ParseMultistatus decodes a 207 answer.
func ParseMultistatus(b []byte) (*Multistatus, error) {
	var m Multistatus
	if err := xml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("bad multistatus: %w", err)
	}
	return &m, nil
}

// SyncBody is a sync-collection REPORT from token ("" for the first).
func SyncBody(token string) string {
	return `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + XMLEscape(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

// MultigetBody is an addressbook-multiget REPORT of paths.
func MultigetBody(paths []string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
	for _, p := range paths {
		b.WriteString("<D:href>" + XMLEscape(p) + "</D:href>")
	}
	b.WriteString("</C:addressbook-multiget>")
	return b.String()
}

// QueryAllBody is an addressbook-query REPORT of every card with its data.
const QueryAllBody = `<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop></C:addressbook-query>`

// XMLEscape escapes s as XML text.
func XMLEscape(s string) string {
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

// MarkerOf is the marker of card ("" when it has none).
func MarkerOf(card []byte) string {
	m := noteRE.FindSubmatch(card)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// UIDOf is the UID of card ("" when it has none).
func UIDOf(card []byte) string {
	m := uidRE.FindSubmatch(card)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// CardText is a realistic card of index i with uid and marker.
func CardText(uid string, i int, marker string) string {
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
