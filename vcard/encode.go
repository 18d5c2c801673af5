package vcard

import "strings"

// maxLine is the longest line Encode writes, in octets, without the CRLF.
const maxLine = 75

// Encode writes the card in c.Version (a 2.1 card, or one with no version,
// is written as 3.0): BEGIN, VERSION, the properties in order, END, each
// line ending in CRLF and folded at 75 octets on a UTF-8 boundary.
// Property values are written in their canonical escaped form; parameter
// values are caret-encoded (RFC 6868) and quoted when they hold ':', ';' or
// ','. Encode does not convert between versions: use ConvertTo first.
// QUOTED-PRINTABLE is never written.
func (c *Card) Encode() []byte {
	version := c.Version
	if version != V40 {
		version = V30
	}
	size := 64
	for i := range c.Props {
		size += len(c.Props[i].Value) + len(c.Props[i].Name) + 16 + len(c.Props[i].Value)/maxLine*3
	}
	b := make([]byte, 0, size)
	b = append(b, "BEGIN:VCARD\r\nVERSION:"...)
	b = append(b, version...)
	b = append(b, "\r\n"...)
	line := make([]byte, 0, 256)
	v4 := version == V40
	for i := range c.Props {
		p := &c.Props[i]
		switch p.Name {
		case "VERSION", "BEGIN", "END", "":
			continue
		}
		line = appendProperty(line[:0], p, v4)
		b = appendFolded(b, line)
	}
	return append(b, "END:VCARD\r\n"...)
}

// appendProperty appends the unfolded content line of p. In 4.0 (v4) a
// text or list value is written with its ';' unescaped: RFC 6350's TEXT-CHAR
// has no \; escape (only compound values escape ';'), and readers that
// follow the grammar, such as Thunderbird's ical.js, show the backslash.
func appendProperty(b []byte, p *Property, v4 bool) []byte {
	if p.Group != "" {
		b = append(b, p.Group...)
		b = append(b, '.')
	}
	b = appendName(b, p.Name)
	for _, q := range p.Params {
		if q.Name == "" {
			continue
		}
		b = append(b, ';')
		b = appendUpper(b, q.Name)
		b = append(b, '=')
		for j, v := range q.Values {
			if j > 0 {
				b = append(b, ',')
			}
			if q.Name == "LABEL" && strings.IndexByte(v, '\\') >= 0 {
				// Parse unescapes LABEL's backslashes (clients write \n
				// there): double them, so that they read back as written.
				v = strings.ReplaceAll(v, `\`, `\\`)
			}
			b = appendParamValue(b, v)
		}
	}
	b = append(b, ':')
	v := p.Value
	if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
		v = escapeNewlines(v)
	}
	if v4 && strings.Contains(v, `\;`) {
		if k := p.kind(); k == kindText || k == kindList {
			return appendUnescapedSemicolons(b, v)
		}
	}
	return append(b, v...)
}

// appendUnescapedSemicolons appends an escaped value with its \; escapes
// written as a bare ';' (other escapes, \\ included, are kept).
func appendUnescapedSemicolons(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			if v[i+1] != ';' {
				b = append(b, c)
			}
			b = append(b, v[i+1])
			i++
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendUpper(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendParamValue appends a parameter value, caret-encoded (^^ ^n ^') and
// in double quotes when it holds ':', ';' or ','.
func appendParamValue(b []byte, v string) []byte {
	quote, caret := false, false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ':', ';', ',':
			quote = true
		case '^', '\n', '\r', '"':
			caret = true
		}
	}
	if quote {
		b = append(b, '"')
	}
	if caret {
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '^':
				b = append(b, '^', '^')
			case '"':
				b = append(b, '^', '\'')
			case '\r':
				if i+1 < len(v) && v[i+1] == '\n' {
					i++
				}
				b = append(b, '^', 'n')
			case '\n':
				b = append(b, '^', 'n')
			default:
				b = append(b, c)
			}
		}
	} else {
		b = append(b, v...)
	}
	if quote {
		b = append(b, '"')
	}
	return b
}

// appendFolded appends line with CRLF, folded so that no line exceeds
// maxLine octets (continuation lines start with one space) and no UTF-8
// sequence is split.
func appendFolded(b, line []byte) []byte {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for cut > 0 && line[cut]&0xC0 == 0x80 {
			cut--
		}
		if cut == 0 { // not UTF-8: cut anyway
			cut = limit
		}
		b = append(b, line[:cut]...)
		b = append(b, "\r\n "...)
		line = line[cut:]
		limit = maxLine - 1
	}
	b = append(b, line...)
	return append(b, "\r\n"...)
}

// appendName appends a property name, in the mixed case Apple's clients
// write for their own extensions (X-ABLabel, X-ABShowAs), upper-case
// otherwise.
func appendName(b []byte, name string) []byte {
	switch upperASCII(name) {
	case "X-ABLABEL":
		return append(b, "X-ABLabel"...)
	case "X-ABSHOWAS":
		return append(b, "X-ABShowAs"...)
	}
	return appendUpper(b, name)
}
