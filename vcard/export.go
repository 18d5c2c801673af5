package vcard

import (
	"strings"
)

// XPrefix is the prefix Export gives a property or parameter the target
// version does not define (X-CARDBRIDGE-LANG in 3.0, X-CARDBRIDGE-LABEL in
// 4.0); ConvertTo and Export into a version that defines the name take the
// prefix off again, and Key reads the two forms as one.
const XPrefix = "X-CARDBRIDGE-"

// appleOmitYear is the parameter Apple's clients put on a 3.0 BDAY written
// with a placeholder year (BDAY;X-APPLE-OMIT-YEAR=1604:1604-06-02).
const appleOmitYear = "X-APPLE-OMIT-YEAR"

// props30 are the properties vCard 3.0 defines (RFC 2425, RFC 2426, IMPP of
// RFC 4770, FBURL/CALURI/CALADRURI of RFC 2739).
var props30 = nameSet("SOURCE", "NAME", "PROFILE", "FN", "N", "NICKNAME", "PHOTO", "BDAY", "ADR",
	"LABEL", "TEL", "EMAIL", "MAILER", "TZ", "GEO", "TITLE", "ROLE", "LOGO", "AGENT", "ORG",
	"CATEGORIES", "NOTE", "PRODID", "REV", "SORT-STRING", "SOUND", "UID", "URL", "CLASS", "KEY", "IMPP",
	"FBURL", "CALURI", "CALADRURI")

// props40 are the properties vCard 4.0 defines (RFC 6350, 6474, 6715,
// 8605, 9554).
var props40 = nameSet("SOURCE", "KIND", "XML", "FN", "N", "NICKNAME", "PHOTO", "BDAY", "ANNIVERSARY",
	"GENDER", "ADR", "TEL", "EMAIL", "IMPP", "LANG", "TZ", "GEO", "TITLE", "ROLE", "LOGO", "ORG",
	"MEMBER", "RELATED", "CATEGORIES", "NOTE", "PRODID", "REV", "SOUND", "UID", "CLIENTPIDMAP", "URL",
	"KEY", "FBURL", "CALADRURI", "CALURI", "BIRTHPLACE", "DEATHPLACE", "DEATHDATE", "EXPERTISE",
	"HOBBY", "INTEREST", "ORG-DIRECTORY", "CONTACT-URI", "CREATED", "GRAMGENDER", "LANGUAGE",
	"PRONOUNS", "SOCIALPROFILE", "JSPROP")

// params30 and params40 are the parameters each version defines.
var (
	params30 = nameSet("TYPE", "VALUE", "ENCODING", "CHARSET", "LANGUAGE", "CONTEXT")
	params40 = nameSet("LANGUAGE", "VALUE", "PREF", "ALTID", "PID", "TYPE", "MEDIATYPE", "CALSCALE",
		"SORT-AS", "GEO", "TZ", "LABEL", "INDEX", "LEVEL", "CC", "AUTHOR", "AUTHOR-NAME", "CREATED",
		"DERIVED", "PHONETIC", "PROP-ID", "SCRIPT", "SERVICE-TYPE", "USERNAME", "JSPTR")
)

func nameSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Export returns a copy of c in version (V30 or V40; V21 gives 3.0) in the
// form a strict reader of that version accepts, for a client: ConvertTo,
// then
//   - a property or parameter the version does not define gets the
//     XPrefix (4.0's LANG, GENDER, ANNIVERSARY, RELATED, PREF=2, LABEL=...
//     in 3.0; 3.0's LABEL, CLASS, MAILER, SORT-STRING, CONTEXT in 4.0),
//     as does a property whose value the version cannot hold (a 4.0 text
//     or partial BDAY in 3.0, a TZ URI in 3.0); the prefix comes off on
//     the way back;
//   - a year-less 4.0 BDAY (--0602) is written in Apple's 3.0 form
//     BDAY;X-APPLE-OMIT-YEAR=1604:1604-06-02, and back;
//   - dates take each version's form (4.0 only has the basic one:
//     19850412, 19961022T140000Z), REV a 4.0 timestamp;
//   - GEO is lat;long in 3.0 and a geo: URI in 4.0 (a URI with more than
//     lat,long is kept whole in an X-CARDBRIDGE-URI parameter);
//   - TZ is a utc-offset (+01:00) or VALUE=text (Europe/Paris) in 3.0,
//     text (Europe/Paris) or VALUE=utc-offset (-0500) in 4.0;
//   - a 4.0 UID that is not a URI gets VALUE=text;
//   - a 3.0 card gets the N it must have, and any card an FN.
//
// Export keeps the property order; only the added N or FN is new.
func (c *Card) Export(version string) *Card {
	to4 := version == V40
	out := c.ConvertTo(version)
	hasFN, hasN := false, false
	for i := range out.Props {
		if to4 {
			out.Props[i] = strict4(out.Props[i])
		} else {
			out.Props[i] = strict3(out.Props[i])
		}
		switch out.Props[i].Name {
		case "FN":
			hasFN = true
		case "N":
			hasN = true
		}
	}
	if !hasFN {
		out.Props = append(out.Props, NewText("FN", fallbackFN(out)))
	}
	if !hasN && !to4 {
		out.Props = append(out.Props, Property{Name: "N", Value: ";;;;"})
	}
	return out
}

// fallbackFN is a name for a card without FN: its N, ORG, NICKNAME or
// EMAIL, or "".
func fallbackFN(c *Card) string {
	if p, ok := c.Get("N"); ok {
		f := p.Fields()
		var parts []string
		for _, i := range []int{3, 1, 2, 0, 4} {
			if i < len(f) && strings.TrimSpace(f[i]) != "" {
				parts = append(parts, strings.ReplaceAll(f[i], ",", " "))
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	for _, n := range []string{"ORG", "NICKNAME", "EMAIL"} {
		if p, ok := c.Get(n); ok {
			if f := p.Fields(); len(f) > 0 && strings.TrimSpace(f[0]) != "" {
				return f[0]
			}
		}
	}
	return ""
}

// restoreName takes the XPrefix off a property name the version defines.
func restoreName(name string, known map[string]bool) string {
	if strings.HasPrefix(name, XPrefix) && known[name[len(XPrefix):]] {
		return name[len(XPrefix):]
	}
	return name
}

// fixParams gives the XPrefix to the parameters the version does not
// define, and takes it off those it does. It writes into params.
func fixParams(params []Param, known map[string]bool) []Param {
	for i := range params {
		n := params[i].Name
		switch {
		case strings.HasPrefix(n, XPrefix) && known[n[len(XPrefix):]]:
			params[i].Name = n[len(XPrefix):]
		case !known[n] && !strings.HasPrefix(n, "X-"):
			params[i].Name = XPrefix + n
		}
	}
	return params
}

// valueOf returns the VALUE parameter lower-cased, or "".
func valueOf(p Property) string { return lowerASCII(strings.TrimSpace(paramFirst(p.Params, "VALUE"))) }

// banish gives p the XPrefix: the version cannot hold it as it is.
func banish(p Property) Property {
	if !strings.HasPrefix(p.Name, "X-") {
		p.Name = XPrefix + p.Name
	}
	return p
}

// settled is the start of strict3 and strict4: an X- property is right as
// it is, and one the version does not define (not in props) is banished to
// an X- name; done is false for the others, which the caller checks.
func settled(p Property, props map[string]bool) (q Property, done bool) {
	if strings.HasPrefix(p.Name, "X-") {
		return p, true
	}
	if !props[p.Name] {
		return banish(p), true
	}
	return p, false
}

// strict3 brings one property (converted by toV3, its Params owned) into
// a form RFC 2426 allows.
func strict3(p Property) Property {
	p.Name = restoreName(p.Name, props30)
	// PREF=1 became TYPE=pref in toV3; other PREF values have no 3.0 form.
	p.Params = fixParams(p.Params, params30)
	if q, done := settled(p, props30); done {
		return q
	}
	vt := valueOf(p)
	switch p.Name {
	case "BDAY":
		if vt != "" && vt != "date" && vt != "date-time" && vt != "date-and-or-time" {
			return banish(p)
		}
		d, ok := parseDate(p.Value)
		switch {
		case !ok:
			return banish(p)
		case d.year == "" && d.month != "" && d.day != "" && d.time == "":
			p.Params = removeParam(p.Params, "VALUE")
			p.Params = append(p.Params, Param{Name: appleOmitYear, Values: []string{"1604"}})
			p.Value = "1604-" + d.month + "-" + d.day
		case d.year != "" && d.month != "" && d.day != "":
			p.Params = removeParam(p.Params, "VALUE")
			p.Value = d.format30()
		default:
			return banish(p)
		}
	case "REV":
		d, ok := parseDate(p.Value)
		if !ok || d.year == "" || d.month == "" || d.day == "" {
			return banish(p)
		}
		p.Params = removeParam(p.Params, "VALUE")
		p.Value = d.format30()
	case "GEO":
		lat, long, ok := geoOf(p.Value)
		if !ok {
			return banish(p)
		}
		uri := p.Value
		p.Params = removeParam(p.Params, "VALUE")
		if hasPrefixFold(uri, "geo:") && !strings.EqualFold(uri, "geo:"+lat+","+long) {
			p.Params = append(p.Params, Param{Name: XPrefix + "URI", Values: []string{uri}})
		}
		p.Value = lat + ";" + long
	case "TZ":
		switch vt {
		case "", "text", "utc-offset":
		default:
			return banish(p)
		}
		if off, ok := utcOffset(unescape(p.Value)); ok {
			p.Params = removeParam(p.Params, "VALUE")
			p.Value = off[:3] + ":" + off[3:]
		} else if vt == "utc-offset" {
			return banish(p)
		} else {
			p.Params = append([]Param{{Name: "VALUE", Values: []string{"text"}}}, removeParam(p.Params, "VALUE")...)
		}
	case "PHOTO", "LOGO", "SOUND":
		if p.kind() != kindBinary && vt != "uri" {
			return banish(p)
		}
	case "KEY":
		if p.kind() != kindBinary && vt != "" && vt != "text" {
			return banish(p)
		}
	case "TEL":
		if vt == "uri" {
			return banish(p) // a sip: or other non-tel URI: 3.0 TEL is text
		}
		p.Params = removeParam(p.Params, "VALUE")
	case "UID", "FN", "NOTE", "TITLE", "ROLE", "EMAIL", "PRODID", "N", "ADR", "ORG", "NICKNAME", "CATEGORIES":
		if vt == "text" || (p.Name == "UID" && vt == "uri") {
			p.Params = removeParam(p.Params, "VALUE")
		} else if vt != "" {
			return banish(p)
		}
	}
	return p
}

// strict4 brings one property (converted by toV4, its Params owned) into
// a form RFC 6350 allows.
func strict4(p Property) Property {
	p.Params = fixParams(p.Params, params40)
	if pref := paramFirst(p.Params, "PREF"); pref != "" && !prefOK(pref) {
		for i := range p.Params {
			if p.Params[i].Name == "PREF" {
				p.Params[i].Name = XPrefix + "PREF"
			}
		}
	}
	if q, done := settled(p, props40); done {
		return q
	}
	vt := valueOf(p)
	switch p.Name {
	case "BDAY", "ANNIVERSARY", "DEATHDATE":
		if vt == "text" {
			return p
		}
		if y := paramFirst(p.Params, appleOmitYear); y != "" && strings.HasPrefix(p.Value, y) {
			if d, ok := parseDate(p.Value); ok && d.year == y && d.month != "" && d.day != "" {
				p.Params = removeParam(p.Params, appleOmitYear)
				d.year = ""
				p.Value = d.format40()
				p.Params = removeParam(p.Params, "VALUE")
				return p
			}
		}
		d, ok := parseDate(p.Value)
		p.Params = removeParam(p.Params, "VALUE")
		if !ok {
			p.Params = append([]Param{{Name: "VALUE", Values: []string{"text"}}}, p.Params...)
			p.Value = escapeText(unescape(p.Value), false)
			return p
		}
		p.Value = d.format40()
	case "REV":
		d, ok := parseDate(p.Value)
		if !ok || d.year == "" || d.month == "" || d.day == "" {
			return banish(p)
		}
		p.Params = removeParam(p.Params, "VALUE")
		if d.time == "" {
			d.time, d.zone = "000000", "Z"
		}
		d.time = (d.time + "0000")[:6]
		p.Value = d.format40()
	case "GEO":
		if uri := paramFirst(p.Params, XPrefix+"URI"); uri != "" {
			p.Params = removeParam(p.Params, XPrefix+"URI")
			if lat, long, ok := geoOf(uri); ok && p.Value == lat+";"+long {
				p.Value = uri
			}
		}
		if !hasPrefixFold(p.Value, "geo:") {
			lat, long, ok := geoOf(p.Value)
			if !ok {
				return banish(p)
			}
			p.Value = "geo:" + lat + "," + long
		}
		p.Params = removeParam(p.Params, "VALUE")
	case "TZ":
		switch vt {
		case "uri":
		case "text", "":
			if off, ok := utcOffset(unescape(p.Value)); ok && (vt == "" || strings.Contains(p.Value, ":")) {
				p.Params = append([]Param{{Name: "VALUE", Values: []string{"utc-offset"}}}, removeParam(p.Params, "VALUE")...)
				p.Value = off
			} else {
				p.Params = removeParam(p.Params, "VALUE")
			}
		case "utc-offset":
			off, ok := utcOffset(p.Value)
			if !ok {
				return banish(p)
			}
			p.Value = off
		default:
			return banish(p)
		}
	case "UID":
		if vt == "" && !looksLikeURI(p.Value) {
			p.Params = append([]Param{{Name: "VALUE", Values: []string{"text"}}}, p.Params...)
		}
	case "PHOTO", "LOGO", "SOUND":
		p.Params = removeParamValue(p.Params, "VALUE", "binary")
		if !looksLikeURI(p.Value) {
			return banish(p)
		}
	case "KEY":
		p.Params = removeParamValue(p.Params, "VALUE", "binary")
		if vt == "" && !looksLikeURI(p.Value) {
			p.Params = append([]Param{{Name: "VALUE", Values: []string{"text"}}}, p.Params...)
		}
	}
	return p
}

// removeParamValue removes the parameter name when its value is v.
func removeParamValue(params []Param, name, v string) []Param {
	if strings.EqualFold(paramFirst(params, name), v) {
		return removeParam(params, name)
	}
	return params
}

func prefOK(v string) bool {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' || i >= 3 {
			return false
		}
		n = n*10 + int(v[i]-'0')
	}
	return v != "" && n >= 1 && n <= 100
}

// looksLikeURI reports whether v starts with a URI scheme ("x:").
func looksLikeURI(v string) bool {
	i := strings.IndexByte(v, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := v[j]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return strings.IndexAny(v, " \t\"<>") < 0
}

// date is a parsed vCard date and/or time; empty parts are absent.
type date struct {
	year, month, day string // digits
	time             string // hhmmss, hhmm or hh
	frac             string // digits after the seconds' ',' or '.'
	zone             string // "Z", "+hhmm" or ""
}

// parseDate reads the date and date-time forms of 3.0 (1985-04-12,
// 19850412, 1985-04-12T10:15:30.5+01:00) and 4.0 (19850412, 1985-04,
// 1985, --0412, --04-12, --04, ---12, 19850412T1015, T1015Z), ok false for
// anything else.
func parseDate(v string) (date, bool) {
	var d date
	v = strings.TrimSpace(v)
	ds, ts, hasT := strings.Cut(v, "T")
	if !hasT {
		ds, ts, hasT = strings.Cut(v, "t")
	}
	digits := func(s string, n int) bool {
		if len(s) != n {
			return false
		}
		for i := 0; i < n; i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case ds == "" && hasT:
	case digits(ds, 8):
		d.year, d.month, d.day = ds[:4], ds[4:6], ds[6:]
	case len(ds) == 10 && ds[4] == '-' && ds[7] == '-' && digits(ds[:4], 4) && digits(ds[5:7], 2) && digits(ds[8:], 2):
		d.year, d.month, d.day = ds[:4], ds[5:7], ds[8:]
	case digits(ds, 4) && !hasT:
		d.year = ds
	case len(ds) == 7 && ds[4] == '-' && digits(ds[:4], 4) && digits(ds[5:], 2) && !hasT:
		d.year, d.month = ds[:4], ds[5:]
	case len(ds) == 6 && strings.HasPrefix(ds, "--") && digits(ds[2:], 4):
		d.month, d.day = ds[2:4], ds[4:]
	case len(ds) == 7 && strings.HasPrefix(ds, "--") && ds[4] == '-' && digits(ds[2:4], 2) && digits(ds[5:], 2):
		d.month, d.day = ds[2:4], ds[5:]
	case len(ds) == 4 && strings.HasPrefix(ds, "--") && digits(ds[2:], 2) && !hasT:
		d.month = ds[2:]
	case len(ds) == 5 && strings.HasPrefix(ds, "---") && digits(ds[3:], 2):
		d.day = ds[3:]
	default:
		return d, false
	}
	if d.month != "" && (d.month < "01" || d.month > "12") || d.day != "" && (d.day < "01" || d.day > "31") {
		return d, false
	}
	if !hasT {
		return d, true
	}
	// time [frac] [zone]
	t := ts
	zi := strings.IndexAny(t, "Zz+-")
	if zi == 0 {
		return d, false // truncated times (-1015) are not handled
	}
	if zi > 0 {
		z := t[zi:]
		t = t[:zi]
		switch {
		case z == "Z" || z == "z":
			d.zone = "Z"
		default:
			off, ok := utcOffset(z)
			if !ok {
				return d, false
			}
			d.zone = off
		}
	}
	if i := strings.IndexAny(t, ".,"); i >= 0 {
		d.frac = t[i+1:]
		t = t[:i]
		if !digits(d.frac, len(d.frac)) || d.frac == "" {
			return d, false
		}
	}
	t = strings.ReplaceAll(t, ":", "")
	if !(digits(t, 2) || digits(t, 4) || digits(t, 6)) {
		return d, false
	}
	d.time = t
	return d, true
}

// format30 writes a full date (and time) in RFC 2426's form: 1985-04-12,
// 1985-04-12T10:15:00Z.
func (d date) format30() string {
	s := d.year + "-" + d.month + "-" + d.day
	if d.time == "" {
		return s
	}
	t := (d.time + "0000")[:6]
	s += "T" + t[:2] + ":" + t[2:4] + ":" + t[4:]
	if d.frac != "" {
		s += "." + d.frac
	}
	switch {
	case d.zone == "Z":
		s += "Z"
	case d.zone != "":
		s += d.zone[:3] + ":" + d.zone[3:]
	}
	return s
}

// format40 writes the date in RFC 6350's basic form: 19850412, --0412,
// 1985-04, ---12, 19850412T1015Z (fractions of a second are dropped: 4.0
// has none).
func (d date) format40() string {
	var s string
	switch {
	case d.year != "" && d.month != "" && d.day != "":
		s = d.year + d.month + d.day
	case d.year != "" && d.month != "":
		s = d.year + "-" + d.month
	case d.year != "":
		s = d.year
	case d.month != "" && d.day != "":
		s = "--" + d.month + d.day
	case d.month != "":
		s = "--" + d.month
	case d.day != "":
		s = "---" + d.day
	}
	if d.time != "" {
		s += "T" + d.time + d.zone
	}
	return s
}

// utcOffset reads +hh:mm, +hhmm or +hh (and -) as +hhmm.
func utcOffset(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 3 || (v[0] != '+' && v[0] != '-') {
		return "", false
	}
	rest := strings.Replace(v[1:], ":", "", 1)
	if len(rest) == 2 {
		rest += "00"
	}
	if len(rest) != 4 {
		return "", false
	}
	for i := 0; i < 4; i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return "", false
		}
	}
	if rest[:2] > "14" || rest[2:] > "59" {
		return "", false
	}
	return v[:1] + rest, true
}

// geoOf reads a GEO value, 3.0 "lat;long" (also "lat,long") or a 4.0
// geo: URI, as its latitude and longitude.
func geoOf(v string) (lat, long string, ok bool) {
	v = strings.TrimSpace(v)
	if hasPrefixFold(v, "geo:") {
		v = v[4:]
		if i := strings.IndexByte(v, ';'); i >= 0 {
			v = v[:i]
		}
		parts := strings.Split(v, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return "", "", false
		}
		lat, long = parts[0], parts[1]
	} else {
		v = strings.ReplaceAll(v, `\;`, ";")
		var found bool
		lat, long, found = strings.Cut(v, ";")
		if !found {
			lat, long, found = strings.Cut(v, ",")
		}
		if !found {
			return "", "", false
		}
	}
	lat, long = strings.TrimSpace(lat), strings.TrimSpace(long)
	if !isDecimal(lat, 90) || !isDecimal(long, 180) {
		return "", "", false
	}
	return lat, long, true
}

// isDecimal reports whether s is a decimal number within [-limit, limit].
func isDecimal(s string, limit int) bool {
	t := strings.TrimLeft(s, "+-")
	if len(s)-len(t) > 1 || t == "" {
		return false
	}
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" {
		return false
	}
	n := 0
	for i := 0; i < len(whole); i++ {
		if whole[i] < '0' || whole[i] > '9' {
			return false
		}
		n = n*10 + int(whole[i]-'0')
		if n > 1000 {
			return false
		}
	}
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return false
		}
	}
	if n > limit || (n == limit && strings.Trim(frac, "0") != "") {
		return false
	}
	return true
}
