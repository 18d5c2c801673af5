package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// XML namespaces.
const (
	nsDAV  = "DAV:"
	nsCard = "urn:ietf:params:xml:ns:carddav"
	nsCS   = "http://calendarserver.org/ns/"
)

// node is an element of a request body.
type node struct {
	name     xml.Name
	attr     []xml.Attr
	children []*node
	text     strings.Builder
}

// child returns the first child element named ns:local, or nil.
func (n *node) child(ns, local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name.Space == ns && c.name.Local == local {
			return c
		}
	}
	return nil
}

// attrValue returns the value of the (namespace-less) attribute local.
func (n *node) attrValue(local string) string {
	for _, a := range n.attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *node) is(ns, local string) bool {
	return n != nil && n.name.Space == ns && n.name.Local == local
}

var errBadXML = errors.New("bad XML body")

// errBodyTooLarge is readXML's error for a body beyond the request limit.
var errBodyTooLarge = errors.New("request body too large")

// maxXMLName is the longest element or attribute name (with its prefix)
// accepted in a request body.
const maxXMLName = 256

// readXML reads the request body as XML: nil for an empty body; an error
// (the request should be answered with refuseBody) for a body that is not
// well-formed, holds a DOCTYPE or other directive, nests deeper than
// maxXMLDepth, has a name longer than maxXMLName or is larger than the body
// limit (errBodyTooLarge).
func (rq *request) readXML() (*node, error) {
	data, err := io.ReadAll(rq.r.Body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w (at most %d bytes)", errBodyTooLarge, mbe.Limit)
		}
		return nil, fmt.Errorf("%w: reading: %v", errBadXML, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var root *node
	var stack []*node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: DOCTYPE and other directives are not accepted", errBadXML)
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", errBadXML, maxXMLDepth)
			}
			if len(t.Name.Space)+len(t.Name.Local) > maxXMLName {
				return nil, fmt.Errorf("%w: an element name longer than %d bytes", errBadXML, maxXMLName)
			}
			for _, a := range t.Attr {
				if len(a.Name.Local) > maxXMLName {
					return nil, fmt.Errorf("%w: an attribute name longer than %d bytes", errBadXML, maxXMLName)
				}
			}
			n := &node{name: t.Name, attr: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", errBadXML)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", errBadXML)
	}
	return root, nil
}

// refuseBody answers a readXML error: 413 for a body beyond the limit,
// 400 otherwise.
func (rq *request) refuseBody(err error) {
	if errors.Is(err, errBodyTooLarge) {
		http.Error(rq.w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	rq.badRequest(err.Error())
}

// badRequest answers 400 with msg.
func (rq *request) badRequest(msg string) {
	http.Error(rq.w, msg, http.StatusBadRequest)
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"
const nsDecls = ` xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"`

// writeXML answers status with body, an XML document (207 answers are
// written by multistatus).
func (rq *request) writeXML(status int, body string) {
	h := rq.w.Header()
	h.Set("Content-Type", "application/xml; charset=utf-8")
	h.Set("Content-Length", fmt.Sprint(len(xmlHeader)+len(body)))
	rq.w.WriteHeader(status)
	if rq.r.Method != http.MethodHead {
		io.WriteString(rq.w, xmlHeader)
		io.WriteString(rq.w, body)
	}
}

// writeError answers status with a DAV:error body holding inner (elements
// with the D:, C: and CS: prefixes).
func (rq *request) writeError(status int, inner string) {
	rq.writeXML(status, "<D:error"+nsDecls+">"+inner+"</D:error>")
}

// elemName returns the qualified name to write for n and the namespace
// declaration it needs.
func elemName(n xml.Name) (qname, decl string) {
	switch n.Space {
	case nsDAV:
		return "D:" + n.Local, ""
	case nsCard:
		return "C:" + n.Local, ""
	case nsCS:
		return "CS:" + n.Local, ""
	case "":
		return n.Local, ` xmlns=""`
	}
	return "X:" + n.Local, ` xmlns:X="` + esc(n.Space) + `"`
}

// emptyElem writes <name/>.
func emptyElem(n xml.Name) string {
	q, d := elemName(n)
	return "<" + q + d + "/>"
}

// elem writes <name>inner</name>.
func elem(n xml.Name, inner string) string {
	if inner == "" {
		return emptyElem(n)
	}
	q, d := elemName(n)
	return "<" + q + d + ">" + inner + "</" + q + ">"
}

func hrefElem(href string) string { return "<D:href>" + esc(href) + "</D:href>" }

func statusLine(code int) string {
	return fmt.Sprintf("HTTP/1.1 %d %s", code, http.StatusText(code))
}

// streamAt is how much of a 207 answer is gathered before it is sent:
// a smaller answer goes out whole with a Content-Length; a larger one is
// sent as it is built (chunked), in writes of about this size.
const streamAt = 64 << 10

// errClientGone is what the loops that build a 207 answer stop with when
// the client has gone (its request's context ended, or a write to it
// failed).
var errClientGone = errors.New("the client has gone")

// multistatus writes a 207 answer as its responses are made: they are
// gathered up to streamAt bytes, then the status and headers are sent and
// every further streamAt bytes are written and flushed to the client, so
// that an answer of any size holds about one response in memory. Callers
// stop their loops when add or addStatus return an error (errClientGone).
type multistatus struct {
	rq        *request
	buf       bytes.Buffer
	streaming bool  // the status and headers are sent
	err       error // the first write error
}

// newMultistatus starts a 207 answer to rq.
func (rq *request) newMultistatus() *multistatus {
	m := &multistatus{rq: rq}
	m.buf.WriteString(xmlHeader + "<D:multistatus" + nsDecls + ">")
	return m
}

// propstat is one group of properties sharing a status.
type propstat struct {
	status int
	props  []string // written elements
}

// headers sets the headers of the answer (Content-Length only when
// length >= 0) and sends the status.
func (m *multistatus) headers(length int) {
	h := m.rq.w.Header()
	h.Set("Content-Type", "application/xml; charset=utf-8")
	if length >= 0 {
		h.Set("Content-Length", strconv.Itoa(length))
	}
	if (m.rq.r.Method == "PROPFIND" || m.rq.r.Method == "REPORT") && m.rq.minimal() {
		h.Set("Preference-Applied", "return=minimal")
		h.Add("Vary", "Brief, Prefer")
	}
	m.rq.w.WriteHeader(http.StatusMultiStatus)
}

// send writes what is gathered to the client and flushes it.
func (m *multistatus) send() {
	if m.err != nil {
		return
	}
	if !m.streaming {
		m.streaming = true
		m.headers(-1)
	}
	if _, err := m.rq.w.Write(m.buf.Bytes()); err != nil {
		m.err = fmt.Errorf("%w: %v", errClientGone, err)
	} else if err := http.NewResponseController(m.rq.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		m.err = fmt.Errorf("%w: %v", errClientGone, err)
	}
	m.buf.Reset()
}

// write adds s to the answer, sending it when enough is gathered.
func (m *multistatus) write(ss ...string) {
	for _, s := range ss {
		m.buf.WriteString(s)
	}
	if m.buf.Len() >= streamAt {
		m.send()
	}
}

// gone reports errClientGone (wrapped) once a write failed or the
// request's context ended.
func (m *multistatus) gone() error {
	if m.err != nil {
		return m.err
	}
	if err := m.rq.ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", errClientGone, err)
	}
	return nil
}

// add writes a response for href with the given propstats (empty groups
// are left out; with none left, an empty 200 group is written). It
// returns gone().
func (m *multistatus) add(href string, groups ...propstat) error {
	if err := m.gone(); err != nil {
		return err
	}
	m.write("<D:response>", hrefElem(href))
	n := 0
	for _, g := range groups {
		if len(g.props) == 0 {
			continue
		}
		n++
		m.writeGroup(g)
	}
	if n == 0 {
		m.writeGroup(propstat{status: http.StatusOK})
	}
	m.write("</D:response>")
	return m.gone()
}

func (m *multistatus) writeGroup(g propstat) {
	m.write("<D:propstat><D:prop>")
	for _, p := range g.props {
		m.write(p)
	}
	m.write("</D:prop><D:status>", statusLine(g.status), "</D:status></D:propstat>")
}

// addStatus writes a response for href with a response-level status. It
// returns gone().
func (m *multistatus) addStatus(href string, code int) error {
	if err := m.gone(); err != nil {
		return err
	}
	m.write("<D:response>", hrefElem(href), "<D:status>", statusLine(code), "</D:status></D:response>")
	return m.gone()
}

// done ends the answer; extra is written after the responses (e.g. a
// sync-token). An answer never sent goes out whole, with its length.
func (m *multistatus) done(extra string) {
	m.buf.WriteString(extra + "</D:multistatus>")
	if m.streaming {
		m.send()
		if m.err != nil {
			m.rq.h.log.Debug("carddav: answer cut short", "method", m.rq.r.Method, "path", m.rq.r.URL.Path, "user", m.rq.user, "err", m.err)
		}
		return
	}
	m.headers(m.buf.Len())
	m.rq.w.Write(m.buf.Bytes())
}

// fail ends an answer that could not be completed because of err: when
// the client has gone, nothing more is said; when nothing is sent yet, err
// is answered as rq.fail does; otherwise the connection is cut, so that
// the client does not take a partial answer for a whole one.
func (m *multistatus) fail(err error) {
	switch {
	case errors.Is(err, errClientGone) || m.rq.ctx.Err() != nil:
		m.rq.h.log.Debug("carddav: answer cut short", "method", m.rq.r.Method, "path", m.rq.r.URL.Path, "user", m.rq.user, "err", err)
	case !m.streaming:
		m.rq.fail(err)
	default:
		m.rq.h.log.Error("carddav: request failed while answering", "method", m.rq.r.Method, "path", m.rq.r.URL.Path, "user", m.rq.user, "err", err)
		panic(http.ErrAbortHandler)
	}
}
