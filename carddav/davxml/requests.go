package davxml

import (
	"bytes"
	"encoding/xml"
)

// encode returns the document fn writes, after the XML declaration.
func encode(fn func(w *Writer)) []byte {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Header()
	fn(w)
	return b.Bytes()
}

// writeProp writes a DAV:prop asking for the properties names.
func writeProp(w *Writer, names []xml.Name) {
	w.Start(DAV("prop"))
	for _, n := range names {
		w.Empty(n)
	}
	w.End()
}

// Propfind is a DAV:propfind body asking for Props.
type Propfind struct {
	Props []xml.Name
}

// Encode returns the body.
func (p Propfind) Encode() []byte {
	return encode(func(w *Writer) {
		w.Start(DAV("propfind"))
		writeProp(w, p.Props)
		w.End()
	})
}

// AddressbookMultiget is a CARDDAV:addressbook-multiget REPORT body
// (RFC 6352 8.7) asking for Props of the cards Hrefs.
type AddressbookMultiget struct {
	Props []xml.Name
	Hrefs []string
}

// Encode returns the body.
func (m AddressbookMultiget) Encode() []byte {
	return encode(func(w *Writer) {
		w.Start(CardDAV("addressbook-multiget"))
		writeProp(w, m.Props)
		for _, h := range m.Hrefs {
			w.TextElem(DAV("href"), h)
		}
		w.End()
	})
}

// AddressbookQuery is a CARDDAV:addressbook-query REPORT body (RFC 6352
// 8.6) asking for Props of the cards a CARDDAV:filter without conditions
// and with the test attribute FilterTest ("anyof" or "allof") matches.
type AddressbookQuery struct {
	Props      []xml.Name
	FilterTest string
}

// Encode returns the body.
func (q AddressbookQuery) Encode() []byte {
	return encode(func(w *Writer) {
		w.Start(CardDAV("addressbook-query"))
		writeProp(w, q.Props)
		var attr []xml.Attr
		if q.FilterTest != "" {
			attr = append(attr, xml.Attr{Name: xml.Name{Local: "test"}, Value: q.FilterTest})
		}
		w.Empty(CardDAV("filter"), attr...)
		w.End()
	})
}

// SyncCollection is a DAV:sync-collection REPORT body (RFC 6578 3.2):
// the changes since Token ("" for all) at Level ("1"), with Props.
type SyncCollection struct {
	Token string
	Level string
	Props []xml.Name
}

// Encode returns the body.
func (s SyncCollection) Encode() []byte {
	return encode(func(w *Writer) {
		w.Start(DAV("sync-collection"))
		// An initial sync sends <D:sync-token></D:sync-token> as the
		// client always has (RFC 6578 §6.1: the element is present, empty).
		w.Start(DAV("sync-token"))
		w.Text(s.Token)
		w.End()
		w.TextElem(DAV("sync-level"), s.Level)
		writeProp(w, s.Props)
		w.End()
	})
}

// Mkcol is an extended MKCOL body (RFC 5689) setting the resource type
// (e.g. DAV:collection and CARDDAV:addressbook) and the display name.
type Mkcol struct {
	ResourceType []xml.Name
	DisplayName  string
}

// Encode returns the body.
func (m Mkcol) Encode() []byte {
	return encode(func(w *Writer) {
		w.Start(DAV("mkcol"))
		w.Start(DAV("set"))
		w.Start(DAV("prop"))
		w.Start(DAV("resourcetype"))
		for _, t := range m.ResourceType {
			w.Empty(t)
		}
		w.End()
		w.TextElem(DAV("displayname"), m.DisplayName)
		w.End()
		w.End()
		w.End()
	})
}
