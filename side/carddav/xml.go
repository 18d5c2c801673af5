package carddav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// XML namespaces of WebDAV and CardDAV.
const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
)

// anyElem is any XML element, kept by name only.
type anyElem struct {
	XMLName xml.Name
}

// hrefList is a property holding one or more DAV:href elements.
type hrefList struct {
	Hrefs []string `xml:"DAV: href"`
}

// davProp is the union of every property this package reads.
type davProp struct {
	ResourceType *struct {
		Types []anyElem `xml:",any"`
	} `xml:"DAV: resourcetype"`
	DisplayName      *string   `xml:"DAV: displayname"`
	ETag             *string   `xml:"DAV: getetag"`
	LastModified     *string   `xml:"DAV: getlastmodified"`
	SyncToken        *string   `xml:"DAV: sync-token"`
	CurrentPrincipal *hrefList `xml:"DAV: current-user-principal"`
	HomeSet          *hrefList `xml:"urn:ietf:params:xml:ns:carddav addressbook-home-set"`
	AddressData      *string   `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	SupportedReports *struct {
		Reports []struct {
			Report struct {
				Any []anyElem `xml:",any"`
			} `xml:"DAV: report"`
		} `xml:"DAV: supported-report"`
	} `xml:"DAV: supported-report-set"`
}

// davPropstat is one propstat of a multistatus response.
type davPropstat struct {
	Prop   davProp `xml:"DAV: prop"`
	Status string  `xml:"DAV: status"`
}

// davResponse is one response of a multistatus.
type davResponse struct {
	Hrefs     []string      `xml:"DAV: href"`
	Status    string        `xml:"DAV: status"`
	Propstats []davPropstat `xml:"DAV: propstat"`
}

// multistatus is a parsed 207 body.
type multistatus struct {
	XMLName   xml.Name      `xml:"DAV: multistatus"`
	Responses []davResponse `xml:"DAV: response"`
	SyncToken string        `xml:"DAV: sync-token"`
}

// resource is one response of a multistatus with the properties of its
// successful propstats merged.
type resource struct {
	href   string
	status int // the response-level status; 200 when only propstats were given
	prop   davProp
	// hasETag reports whether a non-empty getetag came with a 2xx status.
	hasETag bool
}

// parseMultistatus decodes a multistatus body.
func parseMultistatus(body []byte) (*multistatus, error) {
	var ms multistatus
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	if err := d.Decode(&ms); err != nil {
		return nil, fmt.Errorf("bad multistatus: %w", err)
	}
	return &ms, nil
}

// resources flattens a multistatus: one resource per href, with the
// properties of 2xx propstats merged.
func (ms *multistatus) resources() []resource {
	var out []resource
	for _, r := range ms.Responses {
		st := 200
		if r.Status != "" {
			st = parseStatus(r.Status)
		}
		var p davProp
		for _, ps := range r.Propstats {
			if s := parseStatus(ps.Status); ps.Status != "" && (s < 200 || s > 299) {
				continue
			}
			mergeProp(&p, &ps.Prop)
		}
		for _, h := range r.Hrefs {
			out = append(out, resource{href: strings.TrimSpace(h), status: st, prop: p, hasETag: p.ETag != nil && strings.TrimSpace(*p.ETag) != ""})
		}
	}
	return out
}

// mergeProp copies the properties set in src into dst.
func mergeProp(dst, src *davProp) {
	if src.ResourceType != nil {
		dst.ResourceType = src.ResourceType
	}
	if src.DisplayName != nil {
		dst.DisplayName = src.DisplayName
	}
	if src.ETag != nil {
		dst.ETag = src.ETag
	}
	if src.LastModified != nil {
		dst.LastModified = src.LastModified
	}
	if src.SyncToken != nil {
		dst.SyncToken = src.SyncToken
	}
	if src.CurrentPrincipal != nil {
		dst.CurrentPrincipal = src.CurrentPrincipal
	}
	if src.HomeSet != nil {
		dst.HomeSet = src.HomeSet
	}
	if src.AddressData != nil {
		dst.AddressData = src.AddressData
	}
	if src.SupportedReports != nil {
		dst.SupportedReports = src.SupportedReports
	}
}

// parseStatus reads the code of an HTTP status line ("HTTP/1.1 404 Not
// Found"); 0 when unreadable.
func parseStatus(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return 0
	}
	return n
}

// hasType reports whether the resource type holds the element space:local.
func (p *davProp) hasType(space, local string) bool {
	if p.ResourceType == nil {
		return false
	}
	for _, t := range p.ResourceType.Types {
		if t.XMLName.Space == space && t.XMLName.Local == local {
			return true
		}
	}
	return false
}

// isCollection reports whether the resource type holds DAV:collection.
func (p *davProp) isCollection() bool { return p.hasType(nsDAV, "collection") }

// isAddressBook reports whether the resource type holds CARDDAV:addressbook.
func (p *davProp) isAddressBook() bool { return p.hasType(nsCardDAV, "addressbook") }

// supportsSync reports whether DAV:sync-collection is among the supported
// reports.
func (p *davProp) supportsSync() bool {
	if p.SupportedReports == nil {
		return false
	}
	for _, r := range p.SupportedReports.Reports {
		for _, a := range r.Report.Any {
			if a.XMLName.Space == nsDAV && a.XMLName.Local == "sync-collection" {
				return true
			}
		}
	}
	return false
}

// hasData reports whether p carries a card's data (address-data that is
// not blank).
func (p *davProp) hasData() bool {
	return p.AddressData != nil && strings.TrimSpace(*p.AddressData) != ""
}

// xmlEscape escapes s for XML character data.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// propfindBody returns a PROPFIND body asking for the given properties,
// each written with its namespace prefix (D: or C:).
func propfindBody(props ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>`)
	for _, p := range props {
		b.WriteString("<" + p + "/>")
	}
	b.WriteString(`</D:prop></D:propfind>`)
	return []byte(b.String())
}

// multigetBody returns an addressbook-multiget REPORT body for hrefs.
func multigetBody(hrefs []string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">`)
	b.WriteString(`<D:prop><D:getetag/><D:getlastmodified/><C:address-data/></D:prop>`)
	for _, h := range hrefs {
		b.WriteString("<D:href>" + xmlEscape(h) + "</D:href>")
	}
	b.WriteString(`</C:addressbook-multiget>`)
	return []byte(b.String())
}

// queryAllBody returns an addressbook-query REPORT body asking for every
// card's ETag, last modification and data. The filter is empty with
// test="allof" (all of no condition: every card), which Radicale needs:
// it reads an empty anyof filter as matching nothing.
func queryAllBody() []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/><D:getlastmodified/><C:address-data/></D:prop><C:filter test="allof"/></C:addressbook-query>`)
}

// syncBody returns a sync-collection REPORT body for token; withData
// also asks for each changed card's data and last modification.
func syncBody(token string, withData bool) []byte {
	data := ""
	if withData {
		data = `<D:getlastmodified/><C:address-data/>`
	}
	return []byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token>` + xmlEscape(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/><D:resourcetype/>` + data + `</D:prop></D:sync-collection>`)
}

// mkcolBody returns an extended MKCOL (RFC 5689) body creating an address
// book named displayName.
func mkcolBody(displayName string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` +
		`<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>` +
		`<D:displayname>` + xmlEscape(displayName) + `</D:displayname>` +
		`</D:prop></D:set></D:mkcol>`)
}
