package vcard

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors that parse errors wrap; test for them with errors.Is.
var (
	// ErrNotVCard: the input is not a vCard (binary data, no BEGIN:VCARD).
	ErrNotVCard = errors.New("not a vCard")
	// ErrMissingEnd: a card has no END:VCARD.
	ErrMissingEnd = errors.New("missing END:VCARD")
	// ErrMultipleCards: Parse found more than one card.
	ErrMultipleCards = errors.New("more than one vCard in input")
	// ErrMalformedLine: a content line cannot be read (no colon, bad name,
	// unterminated quote).
	ErrMalformedLine = errors.New("malformed content line")
	// ErrVersion: the VERSION is not 2.1, 3.0 or 4.0.
	ErrVersion = errors.New("unsupported vCard version")
)

// ParseError says what is wrong with a vCard and where.
type ParseError struct {
	// Line is the 1-based line number the problem was found on (0 when it
	// concerns the whole input).
	Line int
	// Err is one of the Err* values of this package.
	Err error
	// Detail says what was found.
	Detail string
}

// Error returns "vcard: line N: <what>: <detail>".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("vcard: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Err.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the Err* value the error is an instance of.
func (e *ParseError) Unwrap() error { return e.Err }

func perr(line int, err error, format string, args ...any) *ParseError {
	return &ParseError{Line: line, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// Parse reads exactly one vCard from data. Errors are *ParseError values
// naming the problem and the line; more than one card is an error
// (ErrMultipleCards).
func Parse(data []byte) (*Card, error) {
	s, err := prepare(data)
	if err != nil {
		return nil, err
	}
	lx := lexer{s: s, line: 1}
	var card *Card
	for {
		text, line, ok := lx.next()
		if !ok {
			break
		}
		if card != nil {
			if isBegin(text) {
				return nil, perr(line, ErrMultipleCards, "a second BEGIN:VCARD after the card that ended at line %d", lx.lastEnd)
			}
			return nil, perr(line, ErrMalformedLine, "unexpected content after END:VCARD: %s", quoteShort(text))
		}
		if !isBegin(text) {
			return nil, perr(line, ErrNotVCard, "expected BEGIN:VCARD, found %s", quoteShort(text))
		}
		c, err := lx.card(line, false)
		if err != nil {
			return nil, err
		}
		card = c
	}
	if card == nil {
		return nil, perr(0, ErrNotVCard, "no BEGIN:VCARD (empty input)")
	}
	return card, nil
}

// prepare checks for binary data, removes a byte order mark, decodes UTF-16
// and turns CR-only line endings into LF.
func prepare(data []byte) (string, error) {
	switch {
	case len(data) >= 2 && ((data[0] == 0xFF && data[1] == 0xFE) || (data[0] == 0xFE && data[1] == 0xFF)):
		data = decodeUTF16(data[2:], data[0] == 0xFE)
	case len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF:
		data = data[3:]
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return "", perr(lineOf(data, i), ErrNotVCard, "binary data (NUL byte at offset %d)", i)
	}
	s := string(data)
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s, nil
}

func lineOf(data []byte, off int) int { return bytes.Count(data[:off], []byte{'\n'}) + 1 }

func decodeUTF16(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return []byte(string(utf16.Decode(u)))
}

func isBegin(text string) bool { return equalFoldTrim(text, "BEGIN:VCARD") }
func isEnd(text string) bool   { return equalFoldTrim(text, "END:VCARD") }

func equalFoldTrim(text, want string) bool {
	if len(text) < len(want) {
		return false
	}
	text = trimRightSpace(text)
	return len(text) == len(want) && strings.EqualFold(text, want)
}

// quoteShort quotes s for an error message, cut to a readable length.
func quoteShort(s string) string {
	const max = 60
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q...", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

// lexer splits the input into logical lines: unfolded, with 2.1
// QUOTED-PRINTABLE soft line breaks joined.
type lexer struct {
	s       string
	pos     int
	line    int // number of the next physical line
	lastEnd int // line of the last END:VCARD
	// pending is a logical line pushed back by card.
	pending     string
	pendingLine int
	hasPending  bool
}

// physical returns the next physical line without its line ending.
func (l *lexer) physical() (string, bool) {
	if l.pos >= len(l.s) {
		return "", false
	}
	rest := l.s[l.pos:]
	i := strings.IndexByte(rest, '\n')
	var line string
	if i < 0 {
		line = rest
		l.pos = len(l.s)
	} else {
		line = rest[:i]
		l.pos += i + 1
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	l.line++
	return line, true
}

func (l *lexer) peekContinuation() bool {
	return l.pos < len(l.s) && (l.s[l.pos] == ' ' || l.s[l.pos] == '\t')
}

// next returns the next non-blank logical line and the number of its first
// physical line.
func (l *lexer) next() (string, int, bool) {
	if l.hasPending {
		l.hasPending = false
		return l.pending, l.pendingLine, true
	}
	for {
		start := l.line
		line, ok := l.physical()
		if !ok {
			return "", 0, false
		}
		if isBlank(line) {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			line = strings.TrimLeft(line, " \t") // an orphan continuation: take it as a line
		}
		var b *strings.Builder
		for {
			if l.peekContinuation() {
				cont, _ := l.physical()
				if b == nil {
					b = &strings.Builder{}
					b.Grow(len(line) + 2*len(cont))
					b.WriteString(line)
				}
				b.WriteString(cont[1:])
				continue
			}
			cur := line
			if b != nil {
				cur = b.String()
			}
			if l.pos < len(l.s) && endsWithSoftBreak(cur) && isQPLine(cur) && !l.nextIsEnd() {
				cont, _ := l.physical()
				trimmed := trimRightSpace(cur)
				nb := &strings.Builder{}
				nb.Grow(len(trimmed) + len(cont))
				nb.WriteString(trimmed[:len(trimmed)-1])
				nb.WriteString(cont)
				b = nb
				continue
			}
			break
		}
		if b != nil {
			line = b.String()
		}
		return line, start, true
	}
}

// nextIsEnd reports whether the next physical line is END:VCARD (a QP
// value's trailing '=' is not a soft break then).
func (l *lexer) nextIsEnd() bool {
	rest := l.s[l.pos:]
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	return isEnd(strings.TrimSuffix(rest, "\r"))
}

func (l *lexer) pushBack(text string, line int) {
	l.pending, l.pendingLine, l.hasPending = text, line, true
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

// trimRightSpace removes trailing spaces and tabs.
func trimRightSpace(s string) string {
	n := len(s)
	for n > 0 && (s[n-1] == ' ' || s[n-1] == '\t') {
		n--
	}
	return s[:n]
}

func endsWithSoftBreak(s string) bool {
	s = trimRightSpace(s)
	return len(s) > 0 && s[len(s)-1] == '='
}

// isQPLine reports whether the name and parameters of a content line (the
// part before the first ':') ask for QUOTED-PRINTABLE.
func isQPLine(s string) bool {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return false
	}
	return containsFold(s[:i], "QUOTED-PRINTABLE")
}

// containsFold reports whether s contains the upper-case ASCII string sub,
// ignoring case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == sub[0]|0x20 && strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// card reads the content lines of one card after its BEGIN:VCARD (read at
// line begin) up to END:VCARD. With resync (ParseAll) an error skips the
// rest of the card and leaves the lexer at the next BEGIN:VCARD.
func (l *lexer) card(begin int, resync bool) (*Card, error) {
	// one property per remaining line at most (most cards are one file)
	n := strings.Count(l.s[l.pos:min(len(l.s), l.pos+4096)], "\n")
	c := &Card{Props: make([]Property, 0, max(n-1, 4))}
	var fail error
	for {
		text, line, ok := l.next()
		if !ok {
			if fail != nil {
				return nil, fail
			}
			return nil, perr(l.line-1, ErrMissingEnd, "the card that begins at line %d has no END:VCARD (input ends at line %d)", begin, l.line-1)
		}
		if isEnd(text) {
			l.lastEnd = line
			if fail != nil {
				return nil, fail
			}
			if c.Version == "" {
				c.Version = V30
			}
			for i := range c.Props {
				if c.Props[i].kind() == kindBinary { // now that 2.1 continuation lines are in
					c.Props[i].Value = canonicalBase64(c.Props[i].Value)
				}
			}
			return c, nil
		}
		if isBegin(text) {
			if resync {
				l.pushBack(text, line)
			}
			if fail != nil {
				return nil, fail
			}
			return nil, perr(line, ErrMissingEnd, "BEGIN:VCARD inside the card that begins at line %d (missing END:VCARD before it)", begin)
		}
		if fail != nil {
			continue // skipping to the end of a bad card
		}
		p, err := parseLine(text, line)
		if err != nil {
			// 2.1 base64 data whose continuation lines are not indented.
			if n := len(c.Props); n > 0 && c.Props[n-1].kind() == kindBinary && isBase64(text) {
				c.Props[n-1].Value += strings.TrimSpace(text)
				continue
			}
			if !resync {
				return nil, err
			}
			fail = err
			continue
		}
		if p.Name == "VERSION" && p.Group == "" {
			v := strings.TrimSpace(p.Value)
			switch v {
			case V21, V30, V40:
				c.Version = v
			case "3", "3.00":
				c.Version = V30
			case "4", "4.00":
				c.Version = V40
			default:
				err := perr(line, ErrVersion, "VERSION:%s (want 2.1, 3.0 or 4.0)", v)
				if !resync {
					return nil, err
				}
				fail = err
			}
			continue
		}
		if p.Name == "BEGIN" || p.Name == "END" {
			err := perr(line, ErrMalformedLine, "unexpected %s", quoteShort(text))
			if !resync {
				return nil, err
			}
			fail = err
			continue
		}
		c.Props = append(c.Props, p)
	}
}

func isBase64(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

func isNameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// parseLine parses one unfolded content line into a property with its value
// decoded (QUOTED-PRINTABLE, CHARSET) and in canonical escaped form.
func parseLine(s string, line int) (Property, error) {
	var p Property
	s, rest, err := parseName(&p, s, line)
	if err != nil {
		return p, err
	}
	if rest, err = parseParams(&p, s, rest, line); err != nil {
		return p, err
	}
	if rest == "" || rest[0] != ':' {
		return p, perr(line, ErrMalformedLine, "no ':' in %s", quoteShort(s))
	}
	value := rest[1:]
	if err := decodeValue(&p, &value); err != nil {
		return p, perr(line, ErrMalformedLine, "%s: %v", p.Name, err)
	}
	p.Value = normalizeValue(kindOf(p.Name, p.Params, value), value)
	return p, nil
}

// parseName reads the group and name of line s into p. It returns s
// without the group (what errors quote) and the rest after the name.
func parseName(p *Property, s string, line int) (string, string, error) {
	i := 0
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '.' && i > 0 {
		p.Group = s[:i]
		s = s[i+1:]
		i = 0
		for i < len(s) && isNameChar(s[i]) {
			i++
		}
	}
	name := s[:i]
	rest := s[i:]
	if rest == "" || (rest[0] != ':' && rest[0] != ';') {
		// tolerate white space between the name and ';' or ':'
		if j := strings.TrimLeft(rest, " \t"); j != "" && (j[0] == ':' || j[0] == ';') {
			rest = j
		} else if strings.IndexByte(s, ':') < 0 {
			return s, rest, perr(line, ErrMalformedLine, "no ':' in %s", quoteShort(s))
		} else {
			return s, rest, perr(line, ErrMalformedLine, "invalid character %q in property name of %s", rest[0], quoteShort(s))
		}
	}
	if name == "" {
		return s, rest, perr(line, ErrMalformedLine, "empty property name in %s", quoteShort(s))
	}
	p.Name = upperASCII(name)
	return s, rest, nil
}

// parseParams reads the parameters at the start of rest (";NAME=v,v" or a
// bare 2.1 ";WORK") into p and returns what follows them. s is the line,
// for errors.
func parseParams(p *Property, s, rest string, line int) (string, error) {
	for rest != "" && rest[0] == ';' {
		rest = rest[1:]
		j := 0
		for j < len(rest) && rest[j] != '=' && rest[j] != ';' && rest[j] != ':' {
			j++
		}
		if j == len(rest) {
			return rest, perr(line, ErrMalformedLine, "no ':' in %s", quoteShort(s))
		}
		pname := strings.TrimSpace(rest[:j])
		if rest[j] != '=' {
			rest = rest[j:]
			if pname != "" { // else ";;" or a trailing ';'
				addBareParams(p, pname)
			}
			continue
		}
		pname = upperASCII(strings.TrimSpace(strings.ReplaceAll(cleanParam(pname), "\n", ""))) // no line break in a name
		var err error
		if rest, err = parseParamValues(p, pname, s, rest[j+1:], line); err != nil {
			return rest, err
		}
	}
	return rest, nil
}

// addBareParams adds a bare 2.1 parameter: TEL;WORK;VOICE,
// ;QUOTED-PRINTABLE; a comma separates bare values too (TEL;WORK,VOICE),
// as in TYPE=, so that no TYPE value holds one.
func addBareParams(p *Property, pname string) {
	for _, bare := range strings.Split(cleanParam(pname), ",") {
		if bare = strings.TrimSpace(bare); bare == "" {
			continue
		}
		up := upperASCII(bare)
		switch up {
		case "QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", "B":
			p.Params = addParam(p.Params, "ENCODING", up)
		default:
			p.Params = addParam(p.Params, "TYPE", bare)
		}
	}
}

// parseParamValues reads the values v1,"v2",v3 of parameter pname at the
// start of rest, up to the ';' or ':' that follows them, into p, and
// returns the rest from that delimiter.
func parseParamValues(p *Property, pname, s, rest string, line int) (string, error) {
	for {
		var v string
		quoted := false
		if rest != "" && rest[0] == '"' {
			k := strings.IndexByte(rest[1:], '"')
			if k < 0 {
				return rest, perr(line, ErrMalformedLine, "unterminated quoted value of parameter %s", pname)
			}
			v, rest = rest[1:1+k], rest[2+k:]
			quoted = true
			// tolerate junk between the closing quote and the delimiter
			if rest != "" && rest[0] != ',' && rest[0] != ';' && rest[0] != ':' {
				k := strings.IndexAny(rest, ",;:")
				if k < 0 {
					return rest, perr(line, ErrMalformedLine, "no ':' in %s", quoteShort(s))
				}
				rest = rest[k:]
			}
		} else {
			k := strings.IndexAny(rest, ",;:")
			if k < 0 {
				return rest, perr(line, ErrMalformedLine, "no ':' in %s", quoteShort(s))
			}
			v, rest = rest[:k], rest[k:]
		}
		v = decodeParamValue(pname, v)
		if pname == "TYPE" {
			if quoted && strings.IndexByte(v, ',') >= 0 {
				for _, t := range strings.Split(v, ",") {
					if t = strings.TrimSpace(t); t != "" {
						p.Params = addParam(p.Params, pname, t)
					}
				}
			} else if v = strings.TrimSpace(v); v != "" {
				p.Params = addParam(p.Params, pname, v)
			}
		} else if pname != "" { // a parameter without a name (;=x) is dropped
			p.Params = addParam(p.Params, pname, v)
		}
		if rest == "" {
			return rest, perr(line, ErrMalformedLine, "no ':' in %s", quoteShort(s))
		}
		if rest[0] != ',' {
			return rest, nil
		}
		rest = rest[1:]
	}
}

// addParam appends value to the parameter name, creating it if needed.
func addParam(params []Param, name, value string) []Param {
	for i := range params {
		if params[i].Name == name {
			params[i].Values = append(params[i].Values, value)
			return params
		}
	}
	if params == nil {
		params = make([]Param, 0, 2)
	}
	return append(params, Param{Name: name, Values: []string{value}})
}

// cleanParam makes a parameter value text the way values are made text:
// bytes that are not UTF-8 are read as Windows-1252, and the CR of a CRLF
// or a lone CR left inside a line becomes LF (Encode writes both as ^n).
func cleanParam(v string) string {
	if !utf8.ValidString(v) {
		v = decodeCharset(v, "windows-1252")
	}
	return crToLF(v)
}

// crToLF turns the CR of a CRLF or a lone CR into LF.
func crToLF(v string) string {
	if strings.IndexByte(v, '\r') < 0 {
		return v
	}
	return strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
}

// decodeParamValue decodes RFC 6868 caret escapes (^n ^^ ^') and, in LABEL,
// the \n that clients write there.
func decodeParamValue(name, v string) string {
	v = cleanParam(v)
	if strings.IndexByte(v, '^') >= 0 {
		b := make([]byte, 0, len(v))
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c == '^' && i+1 < len(v) {
				switch v[i+1] {
				case 'n', 'N':
					b = append(b, '\n')
					i++
					continue
				case '^':
					b = append(b, '^')
					i++
					continue
				case '\'':
					b = append(b, '"')
					i++
					continue
				}
			}
			b = append(b, c)
		}
		v = string(b)
	}
	if name == "LABEL" && strings.IndexByte(v, '\\') >= 0 {
		v = unescape(v)
	}
	return v
}

// decodeValue applies ENCODING=QUOTED-PRINTABLE and CHARSET, removes them
// from the parameters, normalises ENCODING=BASE64 to b, and makes the value
// valid UTF-8.
func decodeValue(p *Property, value *string) error {
	enc, charset := "", ""
	for _, q := range p.Params {
		switch q.Name {
		case "ENCODING":
			if len(q.Values) > 0 {
				enc = upperASCII(q.Values[0])
			}
		case "CHARSET":
			if len(q.Values) > 0 {
				charset = q.Values[0]
			}
		}
	}
	if enc == "" && charset == "" {
		if !utf8.ValidString(*value) {
			*value = decodeCharset(*value, "windows-1252")
		}
		return nil
	}
	binary := enc == "B" || enc == "BASE64"
	switch enc {
	case "QUOTED-PRINTABLE":
		*value = qpDecode(*value)
		p.Params = removeParam(p.Params, "ENCODING")
	case "B", "BASE64":
		p.Params = setParam(p.Params, "ENCODING", "b")
	case "8BIT", "7BIT":
		p.Params = removeParam(p.Params, "ENCODING")
	}
	if charset != "" {
		p.Params = removeParam(p.Params, "CHARSET")
		if !binary {
			*value = decodeCharset(*value, charset)
		}
	}
	// Base64 is ASCII: binary data that is not UTF-8 is no base64 either,
	// and is made text like any other value.
	if !utf8.ValidString(*value) {
		*value = decodeCharset(*value, "windows-1252")
	}
	return nil
}

func removeParam(params []Param, name string) []Param {
	out := params[:0]
	for _, q := range params {
		if q.Name != name {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func setParam(params []Param, name string, values ...string) []Param {
	for i := range params {
		if params[i].Name == name {
			params[i].Values = values
			return params
		}
	}
	return append(params, Param{Name: name, Values: values})
}

// qpDecode decodes QUOTED-PRINTABLE; an '=' not followed by two hex digits
// is kept, a trailing '=' (soft break) and =00 are dropped.
func qpDecode(s string) string {
	if strings.IndexByte(s, '=') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				// =00 is dropped: a NUL is no text, and the parser refuses
				// it in a card (the encoded card could not be read back).
				if d := unhex(s[i+1])<<4 | unhex(s[i+2]); d != 0 {
					b = append(b, d)
				}
				i += 2
				continue
			}
			if isBlank(s[i+1:]) {
				break // soft break at the very end
			}
		}
		b = append(b, c)
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
