package server

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/cardbridge/cardbridge/carddav/davxml"
	"io"
	"net/http"
	"strconv"
)

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
func (rq *request) readXML() (*davxml.Element, error) {
	data, err := io.ReadAll(rq.r.Body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w (at most %d bytes)", errBodyTooLarge, mbe.Limit)
		}
		return nil, fmt.Errorf("%w: reading: %v", errBadXML, err)
	}
	root, err := davxml.Parse(data, davxml.Limits{MaxDepth: maxXMLDepth, MaxName: maxXMLName})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadXML, err)
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

// writeError answers status with a DAV:error body holding the
// precondition elements conds and, when description is not "", a
// DAV:responsedescription saying why.
func (rq *request) writeError(status int, description string, conds ...*davxml.Element) {
	var b bytes.Buffer
	w := davxml.NewWriter(&b)
	w.Header()
	w.Error(description, conds...)
	h := rq.w.Header()
	h.Set("Content-Type", "application/xml; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	rq.w.WriteHeader(status)
	if rq.r.Method != http.MethodHead {
		rq.w.Write(b.Bytes())
	}
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
	xw        *davxml.Writer // writes to buf
	streaming bool           // the status and headers are sent
	err       error          // the first write error
}

// newMultistatus starts a 207 answer to rq.
func (rq *request) newMultistatus() *multistatus {
	m := &multistatus{rq: rq}
	m.xw = davxml.NewWriter(&m.buf)
	m.xw.Header()
	m.xw.Start(davxml.DAV("multistatus"))
	return m
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

// maybeSend sends what is gathered when it is enough.
func (m *multistatus) maybeSend() {
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

// add writes a response for href with the given property groups (empty
// groups are left out; with none left, an empty 200 group is written). It
// returns gone().
func (m *multistatus) add(href string, groups ...davxml.PropGroup) error {
	if err := m.gone(); err != nil {
		return err
	}
	n := 0
	for _, g := range groups {
		if len(g.Props) > 0 {
			groups[n] = g
			n++
		}
	}
	groups = groups[:n]
	if n == 0 {
		groups = append(groups, davxml.PropGroup{Status: http.StatusOK})
	}
	m.xw.Response(href, 0, groups...)
	m.maybeSend()
	return m.gone()
}

// addStatus writes a response for href with a response-level status. It
// returns gone().
func (m *multistatus) addStatus(href string, code int) error {
	if err := m.gone(); err != nil {
		return err
	}
	m.xw.Response(href, code)
	m.maybeSend()
	return m.gone()
}

// done ends the answer, with the DAV:sync-token syncToken after the
// responses when it is not "". An answer never sent goes out whole, with
// its length.
func (m *multistatus) done(syncToken string) {
	if syncToken != "" {
		m.xw.TextElem(davxml.DAV("sync-token"), syncToken)
	}
	m.xw.End()
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
