package davxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// AnyName is any XML element, kept by name only.
type AnyName struct {
	XMLName xml.Name
}

// HrefList is a property holding DAV:href elements
// (DAV:current-user-principal, CARDDAV:addressbook-home-set).
type HrefList struct {
	Hrefs []string `xml:"DAV: href"`
}

// ResourceType is DAV:resourcetype: the names of the types it holds.
type ResourceType struct {
	Types []AnyName `xml:",any"`
}

// Has reports whether the resource type holds the element n (nil: no).
func (t *ResourceType) Has(n xml.Name) bool {
	if t == nil {
		return false
	}
	for _, a := range t.Types {
		if a.XMLName == n {
			return true
		}
	}
	return false
}

// SupportedReportSet is DAV:supported-report-set (RFC 3253 3.1.5).
type SupportedReportSet struct {
	Reports []struct {
		Report struct {
			Any []AnyName `xml:",any"`
		} `xml:"DAV: report"`
	} `xml:"DAV: supported-report"`
}

// Has reports whether the set names the report n (nil: no).
func (s *SupportedReportSet) Has(n xml.Name) bool {
	if s == nil {
		return false
	}
	for _, r := range s.Reports {
		for _, a := range r.Report.Any {
			if a.XMLName == n {
				return true
			}
		}
	}
	return false
}

// Prop is a DAV:prop as a client reads it: the properties it knows, each
// nil when the prop does not hold it. (The server writes its properties as
// Elements: see Writer.Response.)
type Prop struct {
	ResourceType     *ResourceType       `xml:"DAV: resourcetype"`
	DisplayName      *string             `xml:"DAV: displayname"`
	ETag             *string             `xml:"DAV: getetag"`
	LastModified     *string             `xml:"DAV: getlastmodified"`
	SyncToken        *string             `xml:"DAV: sync-token"`
	CurrentPrincipal *HrefList           `xml:"DAV: current-user-principal"`
	HomeSet          *HrefList           `xml:"urn:ietf:params:xml:ns:carddav addressbook-home-set"`
	AddressData      *string             `xml:"urn:ietf:params:xml:ns:carddav address-data"`
	SupportedReports *SupportedReportSet `xml:"DAV: supported-report-set"`
}

// Merge copies the properties src holds into p. Every field of Prop is a
// pointer, nil when the prop does not hold it, so Merge copies each non-nil
// field: a property added to Prop is merged without a line here.
func (p *Prop) Merge(src *Prop) {
	dst, from := reflect.ValueOf(p).Elem(), reflect.ValueOf(src).Elem()
	for i := range from.NumField() {
		if f := from.Field(i); !f.IsNil() {
			dst.Field(i).Set(f)
		}
	}
}

// Propstat is a DAV:propstat: properties sharing a status.
type Propstat struct {
	Prop   Prop   `xml:"DAV: prop"`
	Status string `xml:"DAV: status"`
}

// Response is a DAV:response of a multistatus.
type Response struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []Propstat `xml:"DAV: propstat"`
}

// Multistatus is a DAV:multistatus (a 207 body), with the DAV:sync-token
// of a sync-collection answer.
type Multistatus struct {
	XMLName   xml.Name   `xml:"DAV: multistatus"`
	Responses []Response `xml:"DAV: response"`
	SyncToken string     `xml:"DAV: sync-token"`
}

// ParseMultistatus decodes a 207 body; an error names what is wrong (not
// XML, not a multistatus, a charset other than UTF-8 or ASCII).
func ParseMultistatus(body []byte) (*Multistatus, error) {
	var ms Multistatus
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

// ParseStatus reads the code of a DAV:status ("HTTP/1.1 404 Not Found");
// 0 when unreadable.
func ParseStatus(s string) int {
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
