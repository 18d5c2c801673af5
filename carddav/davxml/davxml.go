// Package davxml holds the WebDAV (RFC 4918, RFC 6578) and CardDAV
// (RFC 6352) XML that cardbridge's CardDAV client (carddav/client) and
// built-in server (carddav/server) exchange, apart from their logic: the
// namespaces and names, the multistatus a client reads (Multistatus,
// Response, Propstat, Prop), the request bodies a client sends (Propfind,
// AddressbookMultiget, AddressbookQuery, SyncCollection, Mkcol), Element, a
// bounded tree of a request body as the server reads it and of a property as
// it writes it, and Writer, which writes all of these element by element
// with the D:, C: and CS: prefixes, so that a 207 answer of any size is
// streamed one response at a time.
package davxml

import "encoding/xml"

// The namespaces of WebDAV, CardDAV and CalendarServer (getctag, me-card).
const (
	NSDAV     = "DAV:"
	NSCardDAV = "urn:ietf:params:xml:ns:carddav"
	NSCS      = "http://calendarserver.org/ns/"
)

// DAV returns the name local in the DAV: namespace.
func DAV(local string) xml.Name { return xml.Name{Space: NSDAV, Local: local} }

// CardDAV returns the name local in the CardDAV namespace.
func CardDAV(local string) xml.Name { return xml.Name{Space: NSCardDAV, Local: local} }

// CS returns the name local in the CalendarServer namespace.
func CS(local string) xml.Name { return xml.Name{Space: NSCS, Local: local} }
