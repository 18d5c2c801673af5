package vcard

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Key returns a canonical, version-independent identity of the whole
// property: its group (lower-case), its name, its parameters normalised
// (sorted by name, TYPE values lower-cased, de-duplicated and sorted,
// TYPE=pref as PREF=1, ENCODING/CHARSET and default VALUE dropped,
// case-insensitive parameter values lower-cased) and its value in its 4.0
// form (data: URI for inline binary, tel: URIs as text, Apple's
// X-ADDRESSBOOKSERVER-KIND/MEMBER as KIND/MEMBER, dates without separators,
// trailing empty components of N/ADR/ORG/GENDER dropped). Two properties
// that mean the same have equal keys.
func (p Property) Key() string {
	return string(p.appendKey(make([]byte, 0, len(p.Group)+len(p.Name)+len(p.Value)+24)))
}

// keyParam is one normalised parameter of a key; its values are written
// lower-case when fold is set.
type keyParam struct {
	name   string
	values []string
	fold   bool
}

func (p *Property) appendKey(b []byte) []byte {
	if needsStrictKey(p) {
		// the forms Export writes for a version (X-CARDBRIDGE- names, GEO
		// lat;long, TZ, Apple's year-less BDAY) key as their 4.0 form
		q := strict4(toV4(p.clone(), true))
		p = &q
	}
	name := keyName(p.Name)
	k := kindOf(name, p.Params, p.Value)
	value := p.Value
	isTelURI := name == "TEL" && k == kindURI && hasPrefixFold(value, "tel:")

	var (
		paramBuf [6]keyParam
		typeBuf  [6]string
		params   = paramBuf[:0]
		typeVals []string // the values of the TYPE keyParam
	)
	if len(p.Params) > 0 {
		params, typeVals, value = keyParams(params, typeBuf[:0], p.Params, name, k, value, isTelURI)
	}
	value = keyValue(name, k, value, isTelURI)

	b = appendLower(b, p.Group)
	b = append(b, '.')
	b = append(b, name...)
	b = appendKeyParams(b, params, typeVals)
	b = append(b, ':')
	return append(b, value...)
}

// keyName is the name a property keys under: the name of the version that
// has it (an X- spelling of the other version's property loses its X-),
// Apple's group KIND and MEMBER as the 4.0 ones.
func keyName(name string) string {
	if strings.HasPrefix(name, XPrefix) && (props30[name[len(XPrefix):]] || props40[name[len(XPrefix):]]) {
		name = name[len(XPrefix):] // a property the other version lacks
	}
	switch name {
	case "X-ADDRESSBOOKSERVER-KIND":
		name = "KIND"
	case "X-ADDRESSBOOKSERVER-MEMBER":
		name = "MEMBER"
	}
	return name
}

// keyParams appends to params the parameters that say something about a
// property of name and kind k, sorted by name (ENCODING, CHARSET, default
// VALUE types dropped; TYPE=pref as PREF=1; the TYPE values, sorted and
// unique, returned apart in typeVals, made in typeBuf). It returns value
// as a data: URI for a binary value.
func keyParams(params []keyParam, typeBuf []string, ps []Param, name string, k kind, value string, isTelURI bool) ([]keyParam, []string, string) {
	var typeVals []string
	pref, hasPref := false, false
	mediaType := ""
	for _, q := range ps {
		switch q.Name {
		case "ENCODING", "CHARSET":
			continue
		case "TYPE":
			vals := typeBuf[:0]
			for _, v := range q.Values {
				v = strings.TrimSpace(v)
				switch {
				case strings.EqualFold(v, "pref"):
					pref = true
				case k == kindBinary && mediaType == "" && isMediaProp(name):
					mediaType = v
				case v != "":
					vals = append(vals, v)
				}
			}
			if len(vals) == 0 {
				continue
			}
			typeVals = sortFoldUnique(vals)
			params = append(params, keyParam{"TYPE", nil, true})
		case "PREF":
			hasPref = true
			params = append(params, keyParam{"PREF", q.Values, true})
		case "VALUE":
			v := ""
			if len(q.Values) > 0 {
				v = lowerASCII(strings.TrimSpace(q.Values[0]))
			}
			if isTelURI || isDefaultValueType(name, v) || v == "text" && textAnyway(name, value) {
				continue
			}
			params = append(params, keyParam{"VALUE", q.Values[:1], true})
		default:
			n := q.Name
			if strings.HasPrefix(n, XPrefix) && (params30[n[len(XPrefix):]] || params40[n[len(XPrefix):]]) {
				n = n[len(XPrefix):]
			}
			params = append(params, keyParam{n, q.Values, caseInsensitiveParam(n)})
		}
	}
	if pref && !hasPref {
		params = append(params, keyParam{"PREF", []string{"1"}, false})
	}
	if k == kindBinary {
		value = "data:" + mediaTypeOf(name, mediaType, value) + ";base64," + value
	}
	if len(params) > 1 {
		slices.SortStableFunc(params, func(a, b keyParam) int { return strings.Compare(a.name, b.name) })
	}
	return params, typeVals, value
}

// keyValue is value in the form it keys under: a tel: URI as text, empty
// trailing components dropped, dates in their 4.0 form, KIND lower case.
func keyValue(name string, k kind, value string, isTelURI bool) string {
	switch {
	case isTelURI:
		return escapeText(value[4:], false)
	case k == kindStructured || k == kindStructuredLists:
		return trimEmptyComponents(value)
	case name == "BDAY" || name == "ANNIVERSARY" || name == "DEATHDATE":
		if d, ok := parseDate(value); ok && k != kindText {
			if d.time != "" {
				d.time = (d.time + "0000")[:6] // 3.0 needs the seconds
			}
			return d.format40()
		}
		return compactDate(value)
	case name == "KIND":
		return lowerASCII(value)
	}
	return value
}

// appendKeyParams appends ";NAME=v,v" per parameter, case-insensitive
// values in lower case; the TYPE parameter's values are typeVals.
func appendKeyParams(b []byte, params []keyParam, typeVals []string) []byte {
	for _, q := range params {
		b = append(b, ';')
		b = append(b, q.name...)
		b = append(b, '=')
		if q.name == "TYPE" {
			q.values = typeVals
		}
		for j, v := range q.values {
			if j > 0 {
				b = append(b, ',')
			}
			if q.fold {
				v = strings.TrimSpace(v)
				if hasUpper(v) {
					start := len(b)
					b = appendParamValue(b, v)
					lowerBytes(b[start:])
					continue
				}
			}
			b = appendParamValue(b, v)
		}
	}
	return b
}

// textAnyway reports whether a VALUE=text says nothing about value: a UID
// that is no URI, a date property that is no date.
func textAnyway(name, value string) bool {
	switch name {
	case "UID":
		return !looksLikeURI(value)
	case "BDAY", "ANNIVERSARY", "DEATHDATE":
		_, ok := parseDate(unescape(value))
		return !ok
	}
	return false
}

// needsStrictKey reports whether p is in a form Export writes that keys
// differently from its 4.0 form.
func needsStrictKey(p *Property) bool {
	switch p.Name {
	case "GEO":
		return !hasPrefixFold(p.Value, "geo:") || paramFirst(p.Params, "VALUE") != ""
	case "TZ":
		v := paramFirst(p.Params, "VALUE")
		return !strings.EqualFold(v, "uri") && (v != "" || strings.IndexByte(p.Value, ':') >= 0)
	}
	if strings.HasPrefix(p.Name, XPrefix) && (props40[p.Name[len(XPrefix):]] || props30[p.Name[len(XPrefix):]]) {
		return true
	}
	for _, q := range p.Params {
		if q.Name == appleOmitYear || strings.HasPrefix(q.Name, XPrefix) && params40[q.Name[len(XPrefix):]] {
			return true
		}
	}
	return false
}

// sortFoldUnique sorts vs case-insensitively in place (insertion sort: TYPE
// lists are short) and drops case-insensitive duplicates.
func sortFoldUnique(vs []string) []string {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && compareFold(vs[j-1], vs[j]) > 0; j-- {
			vs[j-1], vs[j] = vs[j], vs[j-1]
		}
	}
	out := vs[:0]
	for i, v := range vs {
		if i > 0 && strings.EqualFold(v, out[len(out)-1]) {
			continue
		}
		out = append(out, v)
	}
	return out
}

func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		if ca >= 'A' && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if cb >= 'A' && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	return len(a) - len(b)
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func lowerBytes(b []byte) {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// isDefaultValueType reports whether VALUE=v says nothing for name in 4.0.
func isDefaultValueType(name, v string) bool {
	switch v {
	case "":
		return true
	case "uri", "url":
		return uriDefault(name)
	case "date", "date-time", "date-and-or-time", "timestamp":
		switch name {
		case "BDAY", "ANNIVERSARY", "DEATHDATE", "REV":
			return true
		}
		return false
	case "text":
		switch name {
		case "BDAY", "ANNIVERSARY", "DEATHDATE", "REV", "TZ", "UID", "RELATED", "KEY", "GEO":
			return false
		}
		return !uriDefault(name)
	}
	return false
}

// caseInsensitiveParam reports whether a parameter's values compare without
// regard to case.
func caseInsensitiveParam(name string) bool {
	switch name {
	case "VALUE", "ENCODING", "CHARSET", "MEDIATYPE", "CALSCALE", "LANGUAGE", "TYPE", "PREF":
		return true
	}
	return false
}

// trimEmptyComponents drops trailing empty components (unescaped ';' at the
// end): N:Doe;John;;; and N:Doe;John mean the same.
func trimEmptyComponents(v string) string {
	for len(v) > 0 && v[len(v)-1] == ';' {
		n := 0
		for i := len(v) - 2; i >= 0 && v[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			break // an escaped ';'
		}
		v = v[:len(v)-1]
	}
	return v
}

// compactDate writes an extended ISO 8601 date (1975-02-24, optionally
// followed by a time) in the basic form (19750224).
func compactDate(v string) string {
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return v
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if v[i] < '0' || v[i] > '9' {
			return v
		}
	}
	out := v[:4] + v[5:7] + v[8:10]
	if len(v) > 10 {
		out += strings.ReplaceAll(v[10:], ":", "")
	}
	return out
}

// Hash returns the hex SHA-256 of the card's normalised form: the sorted
// Keys of its properties, leaving out REV, PRODID, VERSION and properties
// with an empty value. It does not change with property order, parameter
// order or case, folding, line endings, escaping style or the 3.0 versus
// 4.0 representation.
func (c *Card) Hash() string {
	type span struct{ start, end int }
	size := 0
	for i := range c.Props {
		size += len(c.Props[i].Group) + len(c.Props[i].Name) + len(c.Props[i].Value) + 32
	}
	buf := make([]byte, 0, size)
	var spanBuf [32]span
	spans := spanBuf[:0]
	for i := range c.Props {
		p := &c.Props[i]
		switch p.Name {
		case "REV", "PRODID", "VERSION":
			continue
		}
		if isEmptyValue(p.Value) {
			continue
		}
		start := len(buf)
		buf = p.appendKey(buf)
		buf = append(buf, '\n')
		spans = append(spans, span{start, len(buf)})
	}
	slices.SortFunc(spans, func(a, b span) int { return bytes.Compare(buf[a.start:a.end], buf[b.start:b.end]) })
	h := sha256.New()
	for _, s := range spans {
		h.Write(buf[s.start:s.end])
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// isEmptyValue reports whether a value holds nothing but separators and
// white space (N:;;;;, ADR:;;;;;;).
func isEmptyValue(v string) bool {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ';', ',', ' ', '\t':
		default:
			return false
		}
	}
	return true
}
