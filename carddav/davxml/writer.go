package davxml

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Header is the XML declaration every document written starts with.
const Header = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// nsDecls declares the prefixes on a document's root element.
const nsDecls = ` xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"`

// Writer writes XML element by element to an io.Writer: names of the DAV:,
// CardDAV and CalendarServer namespaces with the D:, C: and CS: prefixes
// (declared on the root element), a name of another namespace with the X:
// prefix declared on it, a name of no namespace with xmlns="" (so that it
// stays in none), and an element without content as <name/>.
// encoding/xml's Encoder writes neither prefixes nor empty elements (it
// declares a default namespace on every element, which would put a property
// of no namespace into its parent's), hence this writer.
//
// Writes are not buffered; the first error of the underlying writer is
// kept (Err) and ends all further writing.
type Writer struct {
	w    io.Writer
	open []string // qualified names of the open elements
	err  error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Err returns the first error of the underlying writer, or nil.
func (w *Writer) Err() error { return w.err }

func (w *Writer) raw(s string) {
	if w.err == nil {
		_, w.err = io.WriteString(w.w, s)
	}
}

// Header writes the XML declaration.
func (w *Writer) Header() { w.raw(Header) }

// qname returns the qualified name to write for n and the namespace
// declaration it needs.
func qname(n xml.Name) (q, decl string) {
	switch n.Space {
	case NSDAV:
		return "D:" + n.Local, ""
	case NSCardDAV:
		return "C:" + n.Local, ""
	case NSCS:
		return "CS:" + n.Local, ""
	case "":
		return n.Local, ` xmlns=""`
	}
	return "X:" + n.Local, ` xmlns:X="` + escape(n.Space) + `"`
}

// start writes the start of an element, self-closed when empty.
func (w *Writer) start(n xml.Name, attr []xml.Attr, empty bool) string {
	q, decl := qname(n)
	w.raw("<" + q)
	if len(w.open) == 0 {
		w.raw(nsDecls)
	}
	w.raw(decl)
	for _, a := range attr {
		w.raw(" " + a.Name.Local + `="` + escape(a.Value) + `"`)
	}
	if empty {
		w.raw("/>")
	} else {
		w.raw(">")
	}
	return q
}

// Start writes the start tag of an element named n with the attributes
// attr (of no namespace); End closes it.
func (w *Writer) Start(n xml.Name, attr ...xml.Attr) {
	w.open = append(w.open, w.start(n, attr, false))
}

// End writes the end tag of the element last started and not ended; it
// panics when there is none (a bug of the caller).
func (w *Writer) End() {
	if len(w.open) == 0 {
		panic("davxml: End without Start")
	}
	q := w.open[len(w.open)-1]
	w.open = w.open[:len(w.open)-1]
	w.raw("</" + q + ">")
}

// Empty writes an element named n without content.
func (w *Writer) Empty(n xml.Name, attr ...xml.Attr) { w.start(n, attr, true) }

// Text writes s as escaped character data.
func (w *Writer) Text(s string) {
	if w.err == nil && s != "" {
		w.err = xml.EscapeText(w.w, []byte(s))
	}
}

// TextElem writes an element named n holding the text s (empty when s is
// "").
func (w *Writer) TextElem(n xml.Name, s string) {
	if s == "" {
		w.Empty(n)
		return
	}
	w.Start(n)
	w.Text(s)
	w.End()
}

// Element writes e with its attributes, text and children (as an empty
// element when it has neither text nor children).
func (w *Writer) Element(e *Element) {
	if e.Text == "" && len(e.Children) == 0 {
		w.Empty(e.Name, e.Attr...)
		return
	}
	w.Start(e.Name, e.Attr...)
	w.Text(e.Text)
	for _, c := range e.Children {
		w.Element(c)
	}
	w.End()
}

// Response writes a DAV:response for href: with status (a response-level
// status, e.g. 404 for a card gone) when it is not 0, else with one
// DAV:propstat per group of props.
func (w *Writer) Response(href string, status int, props ...PropGroup) {
	w.Start(DAV("response"))
	w.TextElem(DAV("href"), href)
	if status != 0 {
		w.TextElem(DAV("status"), StatusLine(status))
	}
	for _, g := range props {
		w.Start(DAV("propstat"))
		w.Start(DAV("prop"))
		for _, p := range g.Props {
			w.Element(p)
		}
		w.End()
		w.TextElem(DAV("status"), StatusLine(g.Status))
		w.End()
	}
	w.End()
}

// PropGroup is the properties of one DAV:propstat as written: their
// status and the property elements.
type PropGroup struct {
	Status int
	Props  []*Element
}

// Error writes a DAV:error (RFC 4918 16) holding the precondition or
// postcondition elements conds, and a DAV:responsedescription of
// description when it is not "".
func (w *Writer) Error(description string, conds ...*Element) {
	w.Start(DAV("error"))
	for _, c := range conds {
		w.Element(c)
	}
	if description != "" {
		w.TextElem(DAV("responsedescription"), description)
	}
	w.End()
}

// StatusLine returns the DAV:status text of code ("HTTP/1.1 404 Not
// Found").
func StatusLine(code int) string {
	return fmt.Sprintf("HTTP/1.1 %d %s", code, http.StatusText(code))
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
