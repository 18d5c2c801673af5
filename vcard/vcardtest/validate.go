// Package vcardtest holds strict vCard validators for tests: Validate checks
// a vCard's bytes against RFC 2426 (vCard 3.0, with RFC 2425's line rules)
// or RFC 6350 (vCard 4.0) the way a strict client parser reads them, and
// reports every departure with the rule it breaks.
//
// The validators are written from the RFCs' grammars, independently of the
// vcard package, so that tests can hold the package's output to them. They
// check: CRLF line ends and no byte order mark; folding (75 octets, a
// continuation starts with one space or tab, no blank line, UTF-8 not
// split); BEGIN, VERSION and END in place; FN (and N for 3.0) present;
// property and parameter names each version defines (or X- names); VALUE
// types per version; escaping of text, structured and list values; date,
// date-time and timestamp forms (BDAY, ANNIVERSARY, DEATHDATE, REV); GEO;
// TZ; PHOTO/LOGO/SOUND/KEY encodings (ENCODING=b base64 for 3.0, URIs and
// data: URIs for 4.0); KIND, GENDER, LANG, PREF and URI syntax.
package vcardtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Rule names a Problem reports.
const (
	RuleBOM         = "bom"         // a byte order mark
	RuleCRLF        = "crlf"        // a line not ended by CRLF, a bare CR or LF
	RuleLineLength  = "line-length" // a physical line over 75 octets
	RuleFold        = "fold"        // a blank line, a continuation first, a split UTF-8 sequence
	RuleControl     = "control"     // a control character other than HTAB
	RuleSyntax      = "syntax"      // a content line that does not parse
	RuleStructure   = "structure"   // BEGIN/VERSION/END missing, misplaced or repeated
	RuleRequired    = "required"    // FN (3.0 and 4.0) or N (3.0) missing
	RuleCardinality = "cardinality" // a property given more often than allowed
	RuleProperty    = "property"    // a property name the version does not define
	RuleParameter   = "parameter"   // a parameter name or value the version does not define
	RuleValueType   = "value-type"  // a VALUE the version does not allow for the property
	RuleEscape      = "escape"      // an escape or unescaped separator the value syntax forbids
	RuleDate        = "date"        // a BDAY/ANNIVERSARY/DEATHDATE/REV value of the wrong form
	RuleGeo         = "geo"         // a GEO value of the wrong form
	RuleTZ          = "tz"          // a TZ value of the wrong form
	RuleMedia       = "media"       // PHOTO/LOGO/SOUND/KEY encoding
	RuleURI         = "uri"         // a value that must be a URI and is not
	RuleEnum        = "enum"        // KIND, GENDER, LANG, PREF values
	RuleUTF8        = "utf8"        // invalid UTF-8
)

// The versions Validate checks against.
const (
	Version30 = "3.0" // RFC 2426
	Version40 = "4.0" // RFC 6350
)

const maxLineOctets = 75 // RFC 2425 5.8.1 and RFC 6350 3.2

// Problem is one departure from the RFC.
type Problem struct {
	// Line is the 1-based physical line (of the first physical line of a
	// folded content line), 0 for the whole card.
	Line int
	// Rule is one of the Rule* names.
	Rule string
	// Detail says what was found.
	Detail string
}

// String returns "line N: rule: detail".
func (p Problem) String() string { return fmt.Sprintf("line %d: %s: %s", p.Line, p.Rule, p.Detail) }

// contentLine is one unfolded line.
type contentLine struct {
	line   int
	group  string
	name   string // upper-case
	params []param
	value  string
	raw    string
}

type param struct {
	name   string // upper-case
	values []string
	quoted []bool
}

func (c *contentLine) param(name string) (param, bool) {
	for _, p := range c.params {
		if p.name == name {
			return p, true
		}
	}
	return param{}, false
}

func (c *contentLine) paramValue(name string) string {
	p, ok := c.param(name)
	if !ok || len(p.values) == 0 {
		return ""
	}
	return p.values[0]
}

type checker struct {
	version string
	out     []Problem
}

func (k *checker) add(line int, rule, format string, args ...any) {
	k.out = append(k.out, Problem{Line: line, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// Validate checks data, which must hold exactly one vCard of version
// (Version30 or Version40), and returns its problems (none: valid),
// including where go-vcard reads the card differently (GoVCard).
func Validate(data []byte, version string) []Problem {
	k := &checker{version: version}
	if version != Version30 && version != Version40 {
		k.add(0, RuleStructure, "unknown version %q to validate against", version)
		return k.out
	}
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		k.add(1, RuleBOM, "UTF-8 byte order mark")
		data = data[3:]
	}
	lines := k.physicalLines(data)
	cls := k.unfold(lines)
	k.structure(cls)
	for i := range cls {
		k.property(&cls[i])
	}
	return append(k.out, GoVCard(data)...)
}

type physLine struct {
	n    int
	text string
}

// physicalLines splits data on CRLF, reporting bare CR/LF, a missing final
// CRLF, long lines, control characters and split UTF-8.
func (k *checker) physicalLines(data []byte) []physLine {
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") {
		k.add(strings.Count(s, "\n")+1, RuleCRLF, "the last line does not end in CRLF")
	}
	parts := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	var out []physLine
	n := 0
	for _, p := range parts {
		// bare LF or CR inside: report and split on them so that the rest
		// is still checked
		sub := strings.FieldsFunc(p, func(r rune) bool { return r == '\n' || r == '\r' })
		if len(sub) == 0 {
			sub = []string{""}
		}
		if strings.ContainsAny(p, "\r\n") {
			k.add(n+1, RuleCRLF, "bare CR or LF line end")
		}
		for _, l := range sub {
			n++
			if len(l) > maxLineOctets {
				k.add(n, RuleLineLength, "%d octets (at most %d)", len(l), maxLineOctets)
			}
			if !utf8.ValidString(l) {
				k.add(n, RuleFold, "the line splits a UTF-8 sequence")
			}
			for _, r := range l {
				if (r < 0x20 && r != '\t') || r == 0x7F {
					k.add(n, RuleControl, "control character %U", r)
					break
				}
			}
			out = append(out, physLine{n, l})
		}
	}
	return out
}

// unfold joins continuation lines and parses each content line.
func (k *checker) unfold(lines []physLine) []contentLine {
	var out []contentLine
	var cur *strings.Builder
	start := 0
	flush := func() {
		if cur == nil {
			return
		}
		if cl, ok := k.parseLine(start, cur.String()); ok {
			out = append(out, cl)
		}
		cur = nil
	}
	for _, l := range lines {
		switch {
		case l.text == "":
			flush()
			k.add(l.n, RuleFold, "blank line")
		case l.text[0] == ' ' || l.text[0] == '\t':
			if cur == nil {
				k.add(l.n, RuleFold, "continuation line with nothing to continue")
				continue
			}
			cur.WriteString(l.text[1:])
		default:
			flush()
			cur = &strings.Builder{}
			cur.WriteString(l.text)
			start = l.n
		}
	}
	flush()
	return out
}

func isNameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// parseLine reads [group "."] name *(";" param) ":" value.
func (k *checker) parseLine(n int, s string) (contentLine, bool) {
	cl := contentLine{line: n, raw: s}
	if !utf8.ValidString(s) {
		k.add(n, RuleUTF8, "the content line is not valid UTF-8")
	}
	i := 0
	for i < len(s) && isNameChar(s[i]) {
		i++
	}
	if i == 0 {
		k.add(n, RuleSyntax, "no property name: %.40q", s)
		return cl, false
	}
	name := s[:i]
	if i < len(s) && s[i] == '.' {
		cl.group = name
		j := i + 1
		for i = j; i < len(s) && isNameChar(s[i]); i++ {
		}
		if i == j {
			k.add(n, RuleSyntax, "no property name after group %q", cl.group)
			return cl, false
		}
		name = s[j:i]
	}
	cl.name = strings.ToUpper(name)
	for i < len(s) && s[i] == ';' {
		i++
		j := i
		for i < len(s) && isNameChar(s[i]) {
			i++
		}
		if i == j {
			k.add(n, RuleSyntax, "%s: empty parameter name", cl.name)
			return cl, false
		}
		p := param{name: strings.ToUpper(s[j:i])}
		if i >= len(s) || s[i] != '=' {
			k.add(n, RuleSyntax, "%s: parameter %s without '=' (a vCard 2.1 form)", cl.name, p.name)
			cl.params = append(cl.params, p)
			continue
		}
		i++
		for {
			if i < len(s) && s[i] == '"' {
				e := strings.IndexByte(s[i+1:], '"')
				if e < 0 {
					k.add(n, RuleSyntax, "%s: unterminated quoted parameter value", cl.name)
					return cl, false
				}
				p.values = append(p.values, s[i+1:i+1+e])
				p.quoted = append(p.quoted, true)
				i += e + 2
			} else {
				j := i
				for i < len(s) && s[i] != ';' && s[i] != ':' && s[i] != ',' {
					if s[i] == '"' {
						k.add(n, RuleSyntax, "%s: DQUOTE inside an unquoted value of %s", cl.name, p.name)
					}
					i++
				}
				p.values = append(p.values, s[j:i])
				p.quoted = append(p.quoted, false)
			}
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			break
		}
		cl.params = append(cl.params, p)
	}
	if i >= len(s) || s[i] != ':' {
		k.add(n, RuleSyntax, "%s: no ':' before the value", cl.name)
		return cl, false
	}
	cl.value = s[i+1:]
	return cl, true
}

// structure checks BEGIN, VERSION, END and the required properties.
func (k *checker) structure(cls []contentLine) {
	if len(cls) == 0 {
		k.add(0, RuleStructure, "empty card")
		return
	}
	if cls[0].name != "BEGIN" || !strings.EqualFold(cls[0].value, "VCARD") || cls[0].group != "" {
		k.add(cls[0].line, RuleStructure, "the first line is not BEGIN:VCARD")
	}
	last := cls[len(cls)-1]
	if last.name != "END" || !strings.EqualFold(last.value, "VCARD") {
		k.add(last.line, RuleStructure, "the last line is not END:VCARD")
	}
	versions := 0
	counts := map[string]int{}
	for i, c := range cls {
		counts[c.name]++
		switch c.name {
		case "BEGIN":
			if i != 0 {
				k.add(c.line, RuleStructure, "BEGIN inside the card")
			}
		case "END":
			if i != len(cls)-1 {
				k.add(c.line, RuleStructure, "END before the last line")
			}
		case "VERSION":
			versions++
			if c.value != k.version {
				k.add(c.line, RuleStructure, "VERSION:%s in a %s card", c.value, k.version)
			}
			if k.version == Version40 && i != 1 {
				k.add(c.line, RuleStructure, "VERSION must come right after BEGIN (RFC 6350 6.7.9)")
			}
		}
	}
	if versions != 1 {
		k.add(0, RuleStructure, "%d VERSION properties (exactly one)", versions)
	}
	if counts["FN"] == 0 {
		k.add(0, RuleRequired, "no FN")
	}
	if k.version == Version30 {
		if counts["N"] != 1 {
			k.add(0, RuleRequired, "%d N properties (RFC 2426 requires exactly one)", counts["N"])
		}
		return
	}
	for _, n := range []string{"N", "BDAY", "ANNIVERSARY", "GENDER", "KIND", "PRODID", "REV", "UID", "BIRTHPLACE", "DEATHPLACE", "DEATHDATE"} {
		if counts[n] > 1 {
			k.add(0, RuleCardinality, "%d %s properties (at most one)", counts[n], n)
		}
	}
	if counts["MEMBER"] > 0 {
		group := false
		for _, c := range cls {
			group = group || (c.name == "KIND" && strings.EqualFold(c.value, "group"))
		}
		if !group {
			k.add(0, RuleCardinality, "MEMBER without KIND:group")
		}
	}
}

var props30 = set("SOURCE", "NAME", "PROFILE", "BEGIN", "END", "FN", "N", "NICKNAME", "PHOTO", "BDAY",
	"ADR", "LABEL", "TEL", "EMAIL", "MAILER", "TZ", "GEO", "TITLE", "ROLE", "LOGO", "AGENT", "ORG",
	"CATEGORIES", "NOTE", "PRODID", "REV", "SORT-STRING", "SOUND", "UID", "URL", "VERSION", "CLASS",
	"KEY", "IMPP", "FBURL", "CALURI", "CALADRURI")

var props40 = set("SOURCE", "KIND", "XML", "BEGIN", "END", "FN", "N", "NICKNAME", "PHOTO", "BDAY",
	"ANNIVERSARY", "GENDER", "ADR", "TEL", "EMAIL", "IMPP", "LANG", "TZ", "GEO", "TITLE", "ROLE", "LOGO",
	"ORG", "MEMBER", "RELATED", "CATEGORIES", "NOTE", "PRODID", "REV", "SOUND", "UID", "CLIENTPIDMAP",
	"URL", "VERSION", "KEY", "FBURL", "CALADRURI", "CALURI", "BIRTHPLACE", "DEATHPLACE", "DEATHDATE",
	"EXPERTISE", "HOBBY", "INTEREST", "ORG-DIRECTORY", "CONTACT-URI", "CREATED", "GRAMGENDER",
	"LANGUAGE", "PRONOUNS", "SOCIALPROFILE", "JSPROP")

var params30 = set("TYPE", "VALUE", "ENCODING", "CHARSET", "LANGUAGE", "CONTEXT")

var params40 = set("LANGUAGE", "VALUE", "PREF", "ALTID", "PID", "TYPE", "MEDIATYPE", "CALSCALE",
	"SORT-AS", "GEO", "TZ", "LABEL", "INDEX", "LEVEL", "CC", "AUTHOR", "AUTHOR-NAME", "CREATED",
	"DERIVED", "PHONETIC", "PROP-ID", "SCRIPT", "SERVICE-TYPE", "USERNAME", "JSPTR")

var values30 = set("BINARY", "BOOLEAN", "DATE", "DATE-TIME", "FLOAT", "INTEGER", "TEXT", "TIME", "URI",
	"UTC-OFFSET", "VCARD", "PHONE-NUMBER")

var values40 = set("TEXT", "URI", "DATE", "TIME", "DATE-TIME", "DATE-AND-OR-TIME", "TIMESTAMP",
	"BOOLEAN", "INTEGER", "FLOAT", "UTC-OFFSET", "LANGUAGE-TAG")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func isX(name string) bool { return strings.HasPrefix(name, "X-") }

// property checks one content line's name, parameters and value.
func (k *checker) property(c *contentLine) {
	switch c.name {
	case "BEGIN", "END", "VERSION":
		return
	}
	known := props30
	if k.version == Version40 {
		known = props40
	}
	if !known[c.name] && !isX(c.name) {
		k.add(c.line, RuleProperty, "%s is not a vCard %s property", c.name, k.version)
	}
	k.params(c)
	if isX(c.name) || !known[c.name] {
		return // an extension's value is opaque
	}
	if k.version == Version30 {
		k.value30(c)
	} else {
		k.value40(c)
	}
}

// params checks parameter names and the values that have a syntax.
func (k *checker) params(c *contentLine) {
	known, types := params30, values30
	if k.version == Version40 {
		known, types = params40, values40
	}
	for _, p := range c.params {
		if !known[p.name] && !isX(p.name) {
			k.add(c.line, RuleParameter, "%s: %s is not a vCard %s parameter", c.name, p.name, k.version)
			continue
		}
		for j, v := range p.values {
			if !p.quoted[j] && strings.ContainsAny(v, "\"") {
				k.add(c.line, RuleParameter, "%s: %s=%q needs quoting", c.name, p.name, v)
			}
		}
		switch p.name {
		case "VALUE":
			if len(p.values) != 1 || (!types[strings.ToUpper(p.values[0])] && !isX(strings.ToUpper(p.values[0]))) {
				k.add(c.line, RuleValueType, "%s: VALUE=%s is not a vCard %s value type", c.name, strings.Join(p.values, ","), k.version)
			}
		case "ENCODING":
			if k.version == Version30 && (len(p.values) != 1 || !strings.EqualFold(p.values[0], "b")) {
				k.add(c.line, RuleMedia, "%s: ENCODING=%s (3.0 knows only b)", c.name, strings.Join(p.values, ","))
			}
		case "PREF":
			n, err := strconv.Atoi(strings.Join(p.values, ","))
			if err != nil || n < 1 || n > 100 {
				k.add(c.line, RuleEnum, "%s: PREF=%s (an integer 1 to 100)", c.name, strings.Join(p.values, ","))
			}
		case "TYPE":
			for _, v := range p.values {
				if v == "" {
					k.add(c.line, RuleParameter, "%s: empty TYPE value", c.name)
				}
			}
		}
	}
}

// valueType returns the VALUE parameter upper-cased, or def.
func valueType(c *contentLine, def string) string {
	if v := c.paramValue("VALUE"); v != "" {
		return strings.ToUpper(v)
	}
	return def
}

func (k *checker) allowValue(c *contentLine, def string, allowed ...string) string {
	v := valueType(c, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	k.add(c.line, RuleValueType, "%s: VALUE=%s (allowed: %s)", c.name, v, strings.Join(allowed, ", "))
	return v
}

// value30 checks a value by RFC 2426's grammar for its property.
func (k *checker) value30(c *contentLine) {
	switch c.name {
	case "FN", "NOTE", "TITLE", "ROLE", "PRODID", "SORT-STRING", "CLASS", "MAILER", "LABEL", "NAME",
		"UID", "EMAIL", "TEL", "PROFILE":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, false, false)
	case "N", "ADR":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, true, true)
	case "ORG":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, true, false)
	case "NICKNAME", "CATEGORIES":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, false, true)
	case "BDAY":
		switch k.allowValue(c, "DATE", "DATE", "DATE-TIME") {
		case "DATE":
			if !date30.MatchString(c.value) && !dateTime30.MatchString(c.value) {
				k.add(c.line, RuleDate, "BDAY %q is not an RFC 2426 date (YYYY-MM-DD)", c.value)
			}
		case "DATE-TIME":
			if !dateTime30.MatchString(c.value) {
				k.add(c.line, RuleDate, "BDAY %q is not an RFC 2426 date-time", c.value)
			}
		}
		k.dateRange(c)
	case "REV":
		k.allowValue(c, "DATE-TIME", "DATE-TIME", "DATE")
		if !date30.MatchString(c.value) && !dateTime30.MatchString(c.value) {
			k.add(c.line, RuleDate, "REV %q is not an RFC 2426 date-time", c.value)
		}
	case "GEO":
		k.allowValue(c, "FLOAT", "FLOAT")
		m := geo30.FindStringSubmatch(c.value)
		if m == nil || !latLongOK(m[1], m[2]) {
			k.add(c.line, RuleGeo, "GEO %q is not lat;long (RFC 2426 3.4.2)", c.value)
		}
	case "TZ":
		switch k.allowValue(c, "UTC-OFFSET", "UTC-OFFSET", "TEXT") {
		case "UTC-OFFSET":
			if !offset30.MatchString(c.value) {
				k.add(c.line, RuleTZ, "TZ %q is not a utc-offset (+hh:mm); a name needs VALUE=text", c.value)
			}
		case "TEXT":
			k.text(c, c.value, false, false)
		}
	case "PHOTO", "LOGO", "SOUND":
		k.media30(c, false)
	case "KEY":
		k.media30(c, true)
	case "URL", "IMPP", "SOURCE", "FBURL", "CALURI", "CALADRURI":
		k.allowValue(c, "URI", "URI")
		k.uri(c, c.value)
	case "AGENT":
		if valueType(c, "VCARD") == "URI" {
			k.uri(c, c.value)
		}
	}
}

// media30 checks PHOTO/LOGO/SOUND (ENCODING=b or VALUE=uri) and KEY
// (ENCODING=b or text).
func (k *checker) media30(c *contentLine, key bool) {
	enc := c.paramValue("ENCODING")
	vt := valueType(c, "")
	switch {
	case enc != "":
		if vt != "" && vt != "BINARY" {
			k.add(c.line, RuleMedia, "%s: ENCODING=b with VALUE=%s", c.name, vt)
		}
		if _, err := base64.StdEncoding.Strict().DecodeString(c.value); err != nil || c.value == "" {
			k.add(c.line, RuleMedia, "%s: ENCODING=b value is not base64: %v", c.name, err)
		}
	case key:
		if vt != "" && vt != "TEXT" {
			k.add(c.line, RuleValueType, "KEY: VALUE=%s (3.0 KEY is ENCODING=b or text)", vt)
		}
		k.text(c, c.value, false, false)
	case vt == "URI":
		k.uri(c, c.value)
		if strings.HasPrefix(strings.ToLower(c.value), "data:") {
			k.add(c.line, RuleMedia, "%s: a data: URI in 3.0 (use ENCODING=b)", c.name)
		}
	default:
		k.add(c.line, RuleMedia, "%s: neither ENCODING=b nor VALUE=uri", c.name)
	}
}

// value40 checks a value by RFC 6350's grammar for its property.
func (k *checker) value40(c *contentLine) {
	if c.paramValue("ENCODING") != "" {
		k.add(c.line, RuleMedia, "%s: ENCODING is not a 4.0 parameter", c.name)
	}
	switch c.name {
	case "FN", "NOTE", "TITLE", "ROLE", "PRODID", "EMAIL", "XML", "EXPERTISE", "HOBBY", "INTEREST",
		"PRONOUNS", "GRAMGENDER":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, false, false)
	case "BIRTHPLACE", "DEATHPLACE":
		if k.allowValue(c, "TEXT", "TEXT", "URI") == "URI" {
			k.uri(c, c.value)
		} else {
			k.text(c, c.value, false, false)
		}
	case "N", "ADR":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, true, true)
	case "ORG", "GENDER", "CLIENTPIDMAP":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, true, false)
		if c.name == "GENDER" && !gender40.MatchString(c.value) {
			k.add(c.line, RuleEnum, "GENDER %q: the sex is one of M F O N U or empty", c.value)
		}
	case "NICKNAME", "CATEGORIES":
		k.allowValue(c, "TEXT", "TEXT")
		k.text(c, c.value, false, true)
	case "KIND":
		k.allowValue(c, "TEXT", "TEXT")
		if !token.MatchString(c.value) {
			k.add(c.line, RuleEnum, "KIND %q is not a token", c.value)
		}
	case "LANG":
		k.allowValue(c, "LANGUAGE-TAG", "LANGUAGE-TAG")
		if !langTag.MatchString(c.value) {
			k.add(c.line, RuleEnum, "LANG %q is not a language tag", c.value)
		}
	case "BDAY", "ANNIVERSARY", "DEATHDATE":
		if k.allowValue(c, "DATE-AND-OR-TIME", "DATE-AND-OR-TIME", "TEXT") == "TEXT" {
			k.text(c, c.value, false, false)
			return
		}
		if !dateAndOrTime40(c.value) {
			k.add(c.line, RuleDate, "%s %q is not an RFC 6350 date-and-or-time (basic format: 19850412, --0412, 1985-04)", c.name, c.value)
		}
		k.dateRange(c)
	case "REV", "CREATED":
		k.allowValue(c, "TIMESTAMP", "TIMESTAMP")
		if !timestamp40.MatchString(c.value) {
			k.add(c.line, RuleDate, "%s %q is not an RFC 6350 timestamp (19951031T222710Z)", c.name, c.value)
		}
	case "GEO":
		k.allowValue(c, "URI", "URI")
		m := geo40.FindStringSubmatch(c.value)
		if m == nil || !latLongOK(m[1], m[2]) {
			k.add(c.line, RuleGeo, "GEO %q is not a geo: URI (RFC 5870)", c.value)
		}
	case "TZ":
		switch k.allowValue(c, "TEXT", "TEXT", "URI", "UTC-OFFSET") {
		case "TEXT":
			k.text(c, c.value, false, false)
		case "URI":
			k.uri(c, c.value)
		case "UTC-OFFSET":
			if !offset40.MatchString(c.value) {
				k.add(c.line, RuleTZ, "TZ %q is not an RFC 6350 utc-offset (-0500)", c.value)
			}
		}
	case "TEL", "UID", "KEY", "RELATED", "SOCIALPROFILE":
		def := "URI"
		if c.name == "TEL" {
			def = "TEXT" // RFC 6350 6.4.1: free-form text by default
		}
		if k.allowValue(c, def, "URI", "TEXT") == "URI" {
			k.uri(c, c.value)
		} else {
			k.text(c, c.value, false, false)
		}
	case "PHOTO", "LOGO", "SOUND", "URL", "IMPP", "SOURCE", "FBURL", "CALURI", "CALADRURI", "MEMBER",
		"ORG-DIRECTORY", "CONTACT-URI":
		k.allowValue(c, "URI", "URI")
		k.uri(c, c.value)
	}
}

// text checks the escapes of a text value: structured (';' separates
// components) and list (',' separates items) as the property says.
func (k *checker) text(c *contentLine, v string, structured, list bool) {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if i+1 >= len(v) {
				k.add(c.line, RuleEscape, "%s: a backslash ends the value", c.name)
				return
			}
			switch v[i+1] {
			case '\\', ',', 'n', 'N':
			case ';':
				if k.version == Version40 && !structured {
					k.add(c.line, RuleEscape, `%s: \; in a 4.0 text value (RFC 6350's TEXT-CHAR has no \; escape: readers such as ical.js keep the backslash)`, c.name)
				}
			default:
				k.add(c.line, RuleEscape, "%s: unknown escape \\%c", c.name, v[i+1])
			}
			i++
		case ';':
			if !structured && k.version == Version30 {
				k.add(c.line, RuleEscape, "%s: unescaped ';' in a 3.0 text value", c.name)
			}
		case ',':
			if !list {
				k.add(c.line, RuleEscape, "%s: unescaped ',' in a text value", c.name)
			}
		}
	}
}

func (k *checker) uri(c *contentLine, v string) {
	if !uriRe.MatchString(v) {
		k.add(c.line, RuleURI, "%s: %.60q is not a URI", c.name, v)
		return
	}
	if strings.HasPrefix(strings.ToLower(v), "data:") {
		comma := strings.IndexByte(v, ',')
		if comma < 0 {
			k.add(c.line, RuleURI, "%s: data: URI without ','", c.name)
			return
		}
		if strings.HasSuffix(strings.ToLower(v[:comma]), ";base64") {
			if _, err := base64.StdEncoding.Strict().DecodeString(v[comma+1:]); err != nil {
				k.add(c.line, RuleMedia, "%s: data: URI with bad base64: %v", c.name, err)
			}
		}
	}
}

// dateRange checks the month and day numbers of a date value.
func (k *checker) dateRange(c *contentLine) {
	v := c.value
	var mm, dd string
	switch {
	case len(v) >= 10 && v[4] == '-' && v[7] == '-':
		mm, dd = v[5:7], v[8:10]
	case len(v) >= 8 && allDigits(v[:8]):
		mm, dd = v[4:6], v[6:8]
	case strings.HasPrefix(v, "--") && len(v) >= 6 && allDigits(v[2:6]):
		mm, dd = v[2:4], v[4:6]
	default:
		return
	}
	m, _ := strconv.Atoi(mm)
	d, _ := strconv.Atoi(dd)
	if m < 1 || m > 12 || d < 1 || d > 31 {
		k.add(c.line, RuleDate, "%s %q: month %s day %s out of range", c.name, v, mm, dd)
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func latLongOK(lat, long string) bool {
	a, err1 := strconv.ParseFloat(lat, 64)
	b, err2 := strconv.ParseFloat(long, 64)
	return err1 == nil && err2 == nil && a >= -90 && a <= 90 && b >= -180 && b <= 180
}

var (
	date30     = regexp.MustCompile(`^\d{4}(-\d{2}-\d{2}|\d{4})$`)
	dateTime30 = regexp.MustCompile(`^\d{4}(-\d{2}-\d{2}|\d{4})T\d{2}(:\d{2}:\d{2}|\d{4})([.,]\d+)?(Z|[+-]\d{2}:?\d{2})?$`)
	geo30      = regexp.MustCompile(`^([+-]?\d+(?:\.\d+)?);([+-]?\d+(?:\.\d+)?)$`)
	offset30   = regexp.MustCompile(`^[+-]\d{2}:\d{2}$`)
	geo40      = regexp.MustCompile(`^geo:([+-]?\d+(?:\.\d+)?),([+-]?\d+(?:\.\d+)?)(?:,[+-]?\d+(?:\.\d+)?)?(?:;[A-Za-z0-9-]+=[^;\s]+)*$`)
	offset40   = regexp.MustCompile(`^[+-]\d{2}(\d{2})?$`)
	gender40   = regexp.MustCompile(`^[MFONUmfonu]?(;.*)?$`)
	token      = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	langTag    = regexp.MustCompile(`^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$`)
	uriRe      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:[^\s"<>\\^` + "`" + `{|}\x00-\x1f]*$`)
	// RFC 6350 4.3: basic format only.
	timestamp40 = regexp.MustCompile(`^\d{8}T\d{6}(Z|[+-]\d{2}(\d{2})?)?$`)
	date40      = regexp.MustCompile(`^(\d{4}(\d{4})?|\d{4}-\d{2}|--\d{2}(\d{2})?|---\d{2})$`)
	dateNoReduc = regexp.MustCompile(`^(\d{8}|--\d{4}|---\d{2})$`)
	timeNoTrunc = regexp.MustCompile(`^\d{2}(\d{2}(\d{2})?)?(Z|[+-]\d{2}(\d{2})?)?$`)
	time40      = regexp.MustCompile(`^(\d{2}(\d{2}(\d{2})?)?|-\d{2}(\d{2})?|--\d{2})(Z|[+-]\d{2}(\d{2})?)?$`)
)

// dateAndOrTime40 matches RFC 6350's date-and-or-time: date-time / date /
// "T" time.
func dateAndOrTime40(v string) bool {
	if strings.HasPrefix(v, "T") {
		return time40.MatchString(v[1:])
	}
	if d, t, ok := strings.Cut(v, "T"); ok {
		return dateNoReduc.MatchString(d) && timeNoTrunc.MatchString(t)
	}
	return date40.MatchString(v)
}
