package carddav

import (
	"encoding/xml"
	"strings"

	"github.com/cardbridge/cardbridge/carddav/davxml"
)

// resource is one response of a multistatus with the properties of its
// successful propstats merged.
type resource struct {
	href   string
	status int // the response-level status; 200 when only propstats were given
	prop   davxml.Prop
	// hasETag reports whether a non-empty getetag came with a 2xx status.
	hasETag bool
}

// parseMultistatus decodes a multistatus body.
func parseMultistatus(body []byte) (*davxml.Multistatus, error) { return davxml.ParseMultistatus(body) }

// resources flattens a multistatus: one resource per href, with the
// properties of 2xx propstats merged.
func resources(ms *davxml.Multistatus) []resource {
	var out []resource
	for _, r := range ms.Responses {
		st := 200
		if r.Status != "" {
			st = davxml.ParseStatus(r.Status)
		}
		var p davxml.Prop
		for _, ps := range r.Propstats {
			if s := davxml.ParseStatus(ps.Status); ps.Status != "" && (s < 200 || s > 299) {
				continue
			}
			p.Merge(&ps.Prop)
		}
		for _, h := range r.Hrefs {
			out = append(out, resource{href: strings.TrimSpace(h), status: st, prop: p, hasETag: p.ETag != nil && strings.TrimSpace(*p.ETag) != ""})
		}
	}
	return out
}

// isCollection reports whether the resource type holds DAV:collection.
func isCollection(p *davxml.Prop) bool { return p.ResourceType.Has(davxml.DAV("collection")) }

// isAddressBook reports whether the resource type holds CARDDAV:addressbook.
func isAddressBook(p *davxml.Prop) bool {
	return p.ResourceType.Has(davxml.CardDAV("addressbook"))
}

// supportsSync reports whether DAV:sync-collection is among the supported
// reports.
func supportsSync(p *davxml.Prop) bool {
	return p.SupportedReports.Has(davxml.DAV("sync-collection"))
}

// hasData reports whether p carries a card's data (address-data that is
// not blank).
func hasData(p *davxml.Prop) bool {
	return p.AddressData != nil && strings.TrimSpace(*p.AddressData) != ""
}

// cardProps are the properties read with a card: its ETag, last
// modification and data.
func cardProps() []xml.Name {
	return []xml.Name{davxml.DAV("getetag"), davxml.DAV("getlastmodified"), davxml.CardDAV("address-data")}
}

// propfindBody returns a PROPFIND body asking for the given properties.
func propfindBody(props ...xml.Name) []byte { return davxml.Propfind{Props: props}.Encode() }

// multigetBody returns an addressbook-multiget REPORT body for hrefs.
func multigetBody(hrefs []string) []byte {
	return davxml.AddressbookMultiget{Props: cardProps(), Hrefs: hrefs}.Encode()
}

// queryAllBody returns an addressbook-query REPORT body asking for every
// card's ETag, last modification and data. The filter is empty with
// test="allof" (all of no condition: every card), which Radicale needs:
// it reads an empty anyof filter as matching nothing.
func queryAllBody() []byte {
	return davxml.AddressbookQuery{Props: cardProps(), FilterTest: "allof"}.Encode()
}

// syncBody returns a sync-collection REPORT body for token; withData
// also asks for each changed card's data and last modification.
func syncBody(token string, withData bool) []byte {
	props := []xml.Name{davxml.DAV("getetag"), davxml.DAV("resourcetype")}
	if withData {
		props = append(props, davxml.DAV("getlastmodified"), davxml.CardDAV("address-data"))
	}
	return davxml.SyncCollection{Token: token, Level: "1", Props: props}.Encode()
}

// mkcolBody returns an extended MKCOL (RFC 5689) body creating an address
// book named displayName.
func mkcolBody(displayName string) []byte {
	return davxml.Mkcol{ResourceType: []xml.Name{davxml.DAV("collection"), davxml.CardDAV("addressbook")}, DisplayName: displayName}.Encode()
}
