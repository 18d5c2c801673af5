package vcard

import (
	"encoding/base64"
	"strings"
)

// Param is one property parameter. Name is upper-case ("TYPE", "PREF",
// "VALUE", "X-FOO"); Values are decoded: unquoted, caret-decoded (RFC 6868)
// and split on the commas that separate a list. TYPE values keep their case
// as read; comparisons and hashing treat them case-insensitively. Repeated
// parameters of one name (type=HOME;type=pref) are merged into one Param.
type Param struct {
	Name   string
	Values []string
}

// Property is one content line after unfolding and QUOTED-PRINTABLE/charset
// decoding.
type Property struct {
	// Group is the group prefix ("item1" in item1.EMAIL), or "".
	Group string
	// Name is the upper-case property name.
	Name string
	// Params are the parameters in the order they were read, with ENCODING
	// QUOTED-PRINTABLE and CHARSET removed once applied.
	Params []Param
	// Value is the value in canonical escaped wire form: escapes are
	// normalised by property kind (text, structured, list, URI, binary),
	// so equal values give equal strings. Use Text, Fields or List for the
	// unescaped content.
	Value string
}

// kind is how a property value is escaped.
type kind uint8

const (
	kindRaw             kind = iota // unknown or date-like: kept as written; Text unescapes
	kindText                        // one text value: \\ \n \, \; escaped
	kindStructured                  // ';'-separated components (ORG, GENDER)
	kindStructuredLists             // ';'-separated components that are ','-lists (N, ADR)
	kindList                        // ','-separated list (CATEGORIES, NICKNAME)
	kindURI                         // a URI: never escaped
	kindBinary                      // ENCODING=b base64: whitespace removed
)

// Param returns the values of the parameter name (case-insensitive), or nil
// if the property has no such parameter.
func (p Property) Param(name string) []string {
	for i := range p.Params {
		if strings.EqualFold(p.Params[i].Name, name) {
			return p.Params[i].Values
		}
	}
	return nil
}

// paramFirst returns the first value of a parameter, or "".
func paramFirst(params []Param, name string) string {
	for i := range params {
		if params[i].Name == name && len(params[i].Values) > 0 {
			return params[i].Values[0]
		}
	}
	return ""
}

// HasType reports whether the property has t among its TYPE values
// (case-insensitive).
func (p Property) HasType(t string) bool {
	for _, v := range p.Param("TYPE") {
		if strings.EqualFold(v, t) {
			return true
		}
	}
	return false
}

// Text returns the unescaped value of a single-valued text property (FN,
// NOTE, TITLE, UID, EMAIL...). URI and binary values are returned as they
// are.
func (p Property) Text() string {
	switch p.kind() {
	case kindURI, kindBinary:
		return p.Value
	}
	return unescape(p.Value)
}

// Fields returns the unescaped components of a structured value (N, ADR,
// ORG, GENDER), split on unescaped ';'. For N and ADR, whose components are
// comma lists, the items of a component stay joined by ','; use Components
// to get them apart.
func (p Property) Fields() []string {
	parts := splitUnescaped(p.Value, ';')
	for i, s := range parts {
		parts[i] = unescape(s)
	}
	return parts
}

// Components returns the components of a structured value, each split into
// its unescaped comma-separated items (N:Doe;John,Paul;;; gives
// [[Doe] [John Paul] [] [] []]).
func (p Property) Components() [][]string {
	parts := splitUnescaped(p.Value, ';')
	out := make([][]string, len(parts))
	for i, s := range parts {
		if s == "" {
			continue
		}
		items := splitUnescaped(s, ',')
		for j, it := range items {
			items[j] = unescape(it)
		}
		out[i] = items
	}
	return out
}

// List returns the unescaped items of a list value (CATEGORIES, NICKNAME),
// split on unescaped ','. An empty value gives no items.
func (p Property) List() []string {
	if p.Value == "" {
		return nil
	}
	parts := splitUnescaped(p.Value, ',')
	for i, s := range parts {
		parts[i] = unescape(s)
	}
	return parts
}

// kind returns how the property's value is escaped.
func (p Property) kind() kind { return kindOf(p.Name, p.Params, p.Value) }

// NewText returns a property holding one text value, escaped for its kind:
// text is escaped (\\ \n \, \;), a URI-valued property (URL, MEMBER, IMPP,
// PHOTO...) takes text as it is.
func NewText(name, text string) Property {
	name = upperASCII(name)
	p := Property{Name: name}
	switch kindOf(name, nil, text) {
	case kindURI:
		p.Value = normalizeValue(kindURI, text)
	default:
		p.Value = escapeText(text, false)
	}
	return p
}

// NewStructured returns a structured property (N, ADR, ORG, GENDER) with the
// given components. Components are escaped; for N and ADR, whose components
// are comma lists, a ',' in a component separates items (as Fields returns
// them), elsewhere it is escaped.
func NewStructured(name string, fields ...string) Property {
	name = upperASCII(name)
	lists := kindOf(name, nil, "") == kindStructuredLists
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(escapeText(f, lists))
	}
	return Property{Name: name, Value: b.String()}
}

// NewList returns a list property (CATEGORIES, NICKNAME) with the given
// items; commas inside an item are escaped, the separating commas are not.
func NewList(name string, items ...string) Property {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeText(it, false))
	}
	return Property{Name: upperASCII(name), Value: b.String()}
}

// WithParam returns a copy of p with the parameter name set to values
// (replacing any parameter of that name).
func (p Property) WithParam(name string, values ...string) Property {
	name = upperASCII(name)
	out := p
	out.Params = make([]Param, 0, len(p.Params)+1)
	done := false
	for _, q := range p.Params {
		if q.Name == name {
			if !done {
				out.Params = append(out.Params, Param{Name: name, Values: append([]string(nil), values...)})
				done = true
			}
			continue
		}
		out.Params = append(out.Params, q)
	}
	if !done {
		out.Params = append(out.Params, Param{Name: name, Values: append([]string(nil), values...)})
	}
	return out
}

// clone returns a deep copy of p.
func (p Property) clone() Property {
	if p.Params != nil {
		ps := make([]Param, len(p.Params))
		for i, q := range p.Params {
			ps[i] = Param{Name: q.Name, Values: append([]string(nil), q.Values...)}
		}
		p.Params = ps
	}
	return p
}

// kindOf returns the escaping kind of a property value from its name, its
// parameters and (for UID and GEO) its value.
func kindOf(name string, params []Param, value string) kind {
	var valueType string
	for i := range params {
		switch params[i].Name {
		case "ENCODING":
			if len(params[i].Values) > 0 {
				e := params[i].Values[0]
				if strings.EqualFold(e, "b") || strings.EqualFold(e, "base64") {
					return kindBinary
				}
			}
		case "VALUE":
			if len(params[i].Values) > 0 {
				valueType = params[i].Values[0]
			}
		}
	}
	isText := strings.EqualFold(valueType, "text")
	isURI := strings.EqualFold(valueType, "uri") || strings.EqualFold(valueType, "url")
	switch name {
	case "N", "ADR":
		return kindStructuredLists
	case "ORG", "GENDER", "CLIENTPIDMAP":
		return kindStructured
	case "CATEGORIES", "NICKNAME":
		return kindList
	case "URL", "MEMBER", "X-ADDRESSBOOKSERVER-MEMBER", "IMPP", "SOURCE", "CALURI", "CALADRURI",
		"FBURL", "ORG-DIRECTORY", "PHOTO", "LOGO", "SOUND", "KEY", "RELATED", "CONTACT-URI":
		if isText {
			return kindText
		}
		return kindURI
	case "TEL":
		if isURI {
			return kindURI
		}
		return kindText
	case "UID":
		if isText {
			return kindText
		}
		if isURI || hasURIScheme(value) {
			return kindURI
		}
		return kindText
	case "GEO":
		if isURI || hasPrefixFold(value, "geo:") {
			return kindURI
		}
		return kindRaw
	case "FN", "NOTE", "TITLE", "ROLE", "EMAIL", "PRODID", "NAME", "LABEL", "MAILER",
		"SORT-STRING", "CLASS", "KIND", "X-ADDRESSBOOKSERVER-KIND", "BIRTHPLACE", "DEATHPLACE",
		"EXPERTISE", "HOBBY", "INTEREST", "AGENT":
		if isURI {
			return kindURI
		}
		return kindText
	}
	switch {
	case isURI:
		return kindURI
	case isText:
		return kindText
	}
	return kindRaw
}

// hasURIScheme reports whether v starts with a URI scheme commonly used in
// UIDs (urn:, http:, https:, mailto:).
func hasURIScheme(v string) bool {
	return hasPrefixFold(v, "urn:") || hasPrefixFold(v, "http:") || hasPrefixFold(v, "https:") || hasPrefixFold(v, "mailto:")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// normalizeValue brings a decoded wire value into the canonical escaped form
// of its kind.
func normalizeValue(k kind, v string) string {
	if k == kindBinary {
		return stripSpace(v)
	}
	if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
		v = escapeNewlines(v)
	}
	switch k {
	case kindText:
		return normEscapes(v, false, false)
	case kindStructured:
		return normEscapes(v, true, false)
	case kindStructuredLists:
		return normEscapes(v, true, true)
	case kindList:
		return normEscapes(v, false, true)
	case kindURI:
		return normURI(v)
	}
	return v
}

// canonicalBase64 returns base64 data as an encoder writes it (the parser
// applies it to a card's ENCODING=b values once the card is read): padded,
// with the unused bits of the last character zero (readers accept
// "P/Z" and "P/Y" for "P/Y="). Only the last quantum is checked when the
// length is a multiple of 4; a value that does not decode is returned as
// it is.
func canonicalBase64(v string) string {
	if n := len(v); n >= 4 && n%4 == 0 {
		q := v[n-4:]
		if b, err := base64.StdEncoding.Strict().DecodeString(q); err == nil && base64.StdEncoding.EncodeToString(b) == q {
			return v
		}
	}
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
	}
	if err != nil || len(data) == 0 {
		return v
	}
	return base64.StdEncoding.EncodeToString(data)
}

// escapeNewlines replaces literal CRLF, CR and LF with the \n escape.
func escapeNewlines(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 8)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\r':
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
			b.WriteString(`\n`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stripSpace removes ASCII white space (left over from folding base64).
func stripSpace(v string) string {
	if strings.IndexAny(v, " \t\r\n") < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ', '\t', '\r', '\n':
		default:
			b = append(b, v[i])
		}
	}
	return string(b)
}

// normEscapes rewrites v with canonical escapes: a known escape (\\ \n \N
// \, \; \:) is written in its canonical form, a backslash before anything
// else is taken literally (and escaped), an unescaped ';' stays a separator
// when semiSep and is escaped otherwise, an unescaped ',' likewise with
// commaSep.
func normEscapes(v string, semiSep, commaSep bool) string {
	clean := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' || (c == ';' && !semiSep) || (c == ',' && !commaSep) {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	b := make([]byte, 0, len(v)+8)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\\':
			if i+1 >= len(v) {
				b = append(b, '\\', '\\')
				continue
			}
			switch n := v[i+1]; n {
			case '\\':
				b = append(b, '\\', '\\')
			case 'n', 'N':
				b = append(b, '\\', 'n')
			case ',':
				b = append(b, '\\', ',')
			case ';':
				b = append(b, '\\', ';')
			case ':':
				b = append(b, ':')
			default:
				b = append(b, '\\', '\\') // a lone backslash is literal
				continue
			}
			i++
		case ';':
			b = appendSep(b, ';', semiSep)
		case ',':
			b = appendSep(b, ',', commaSep)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// normURI removes the escapes some writers put in URIs (\, \; \:); a \\
// is kept, so that normURI(normURI(v)) == normURI(v).
func normURI(v string) string {
	return rewriteEscapes(v, func(x byte) (string, bool) {
		switch x {
		case ',', ';', ':':
			return string(x), true
		case '\\':
			// kept as it is, so that reading the value again gives the
			// same value (halving it would go on at every read)
			return `\\`, true
		}
		return "", false
	})
}

// escapeText escapes text for a text value: \\, newline, ';' and (unless
// commaSep, where commas separate items) ','.
func escapeText(s string, commaSep bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '\n', '\r', ';':
			clean = false
		case ',':
			if !commaSep {
				clean = false
			}
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			b = append(b, '\\', 'n')
		case '\n':
			b = append(b, '\\', 'n')
		case ';':
			b = append(b, '\\', ';')
		case ',':
			b = appendSep(b, ',', commaSep)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// unescape decodes the escapes of a text value: \\ \n \N \, \; \:; a
// backslash before anything else is kept.
func unescape(s string) string {
	return rewriteEscapes(s, func(x byte) (string, bool) {
		switch x {
		case '\\', ',', ';', ':':
			return string(x), true
		case 'n', 'N':
			return "\n", true
		}
		return "", false
	})
}

// rewriteEscapes returns s with each escape \x that decode knows (ok)
// replaced by what decode gives for x; a backslash before anything else,
// or at the end, is kept as it is.
func rewriteEscapes(s string, decode func(x byte) (string, bool)) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if r, ok := decode(s[i+1]); ok {
				b = append(b, r...)
				i++
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

// appendSep appends c to b as it is when it separates (sep) and escaped
// otherwise.
func appendSep(b []byte, c byte, sep bool) []byte {
	if sep {
		return append(b, c)
	}
	return append(b, '\\', c)
}

// splitUnescaped splits s on sep where sep is not escaped by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// upperASCII returns s with ASCII letters upper-cased, without allocating
// when s is already upper-case.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'a' && c <= 'z' {
					b[j] = c - 'a' + 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// lowerASCII returns s with ASCII letters lower-cased, without allocating
// when s is already lower-case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c - 'A' + 'a'
				}
			}
			return string(b)
		}
	}
	return s
}
