// Package fields names the properties of a vCard in words a person reads
// ("Mobile phone", "Job title", "Home address") and writes their values as
// text (no escapes, no property names), for the web page and the CLI. It
// also compares the versions of a conflict field by field (Compare) and
// names the sides of a pair to a person by one rule (SideNames), says
// when something happened in words (Ago), and writes a
// conflict as text for a terminal (ConflictText, which escapes what it
// writes with termout).
//
// Values are returned as they are: callers escape them for their output
// (html/template on the page, termout on a terminal).
package fields

import (
	"fmt"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/vcard"
)

// entry is one property in the label table.
type entry struct {
	name string // upper-case property name
	noun string // what one value is, lower-case after the first word
	// kinds maps a TYPE value (upper-case) to the noun it makes instead
	// ("CELL" -> "mobile phone").
	kinds map[string]string
}

// table is every property a person is shown, in the order a page lists
// them. Properties not here are shown with a label made from their name
// (see Label), unless hidden.
var table = []entry{
	{name: "FN", noun: "Name"},
	{name: "N", noun: "Name in parts"},
	{name: "NICKNAME", noun: "Nickname"},
	{name: "X-PHONETIC-FIRST-NAME", noun: "Phonetic first name"},
	{name: "X-PHONETIC-MIDDLE-NAME", noun: "Phonetic middle name"},
	{name: "X-PHONETIC-LAST-NAME", noun: "Phonetic last name"},
	{name: "X-MAIDENNAME", noun: "Maiden name"},
	{name: "ORG", noun: "Organisation"},
	{name: "TITLE", noun: "Job title"},
	{name: "ROLE", noun: "Role"},
	{name: "EMAIL", noun: "E-mail"},
	{name: "TEL", noun: "Phone", kinds: map[string]string{"CELL": "mobile phone", "FAX": "fax", "PAGER": "pager",
		"TEXT": "text phone", "VIDEO": "video phone", "TEXTPHONE": "textphone", "MAIN": "main phone", "CAR": "car phone", "ISDN": "ISDN phone"}},
	{name: "ADR", noun: "Address"},
	{name: "URL", noun: "Web page"},
	{name: "IMPP", noun: "Instant messaging"},
	{name: "X-SOCIALPROFILE", noun: "Social profile"},
	{name: "BDAY", noun: "Birthday"},
	{name: "ANNIVERSARY", noun: "Anniversary"},
	{name: "X-ANNIVERSARY", noun: "Anniversary"},
	{name: "X-ABDATE", noun: "Date"},
	{name: "GENDER", noun: "Gender"},
	{name: "X-GENDER", noun: "Gender"},
	{name: "X-SPOUSE", noun: "Spouse"},
	{name: "X-MANAGER", noun: "Manager"},
	{name: "X-ASSISTANT", noun: "Assistant"},
	{name: "X-CHILD", noun: "Child"},
	{name: "X-ABRELATEDNAMES", noun: "Related person"},
	{name: "RELATED", noun: "Related person"},
	{name: "CATEGORIES", noun: "Categories"},
	{name: "NOTE", noun: "Note"},
	{name: "PHOTO", noun: "Photo"},
	{name: "LOGO", noun: "Logo"},
	{name: "SOUND", noun: "Sound"},
	{name: "GEO", noun: "Location"},
	{name: "TZ", noun: "Time zone"},
	{name: "LANG", noun: "Language"},
	{name: "KIND", noun: "Kind of contact"},
	{name: "X-ADDRESSBOOKSERVER-KIND", noun: "Kind of contact"},
	{name: "MEMBER", noun: "Group member"},
	{name: "X-ADDRESSBOOKSERVER-MEMBER", noun: "Group member"},
	{name: "SORT-STRING", noun: "Sorted as"},
	{name: "CLASS", noun: "Access"},
	{name: "SOURCE", noun: "Source"},
	{name: "KEY", noun: "Public key"},
	{name: "CALURI", noun: "Calendar"},
	{name: "FBURL", noun: "Free/busy URL"},
	{name: "MAILER", noun: "Mail program"},
}

// places are the TYPE values that say where a value belongs, as the word
// put before the noun.
var places = map[string]string{"HOME": "home", "WORK": "work", "OTHER": "other", "SCHOOL": "school"}

// hidden are the properties never shown: bookkeeping a person does not
// decide (REV, UID...) and helpers folded into other labels (X-ABLABEL).
var hidden = map[string]bool{"REV": true, "UID": true, "PRODID": true, "VERSION": true, "X-ABLABEL": true,
	"X-ABSHOWAS": true, "CLIENTPIDMAP": true, "X-ABUID": true, "NAME": true, "PROFILE": true}

// byName indexes table.
var byName = func() map[string]int {
	m := make(map[string]int, len(table))
	for i, e := range table {
		m[e.name] = i
	}
	return m
}()

// Shown reports whether a person is shown the property name: false for
// REV, UID, PRODID, VERSION, X-ABLabel (it labels another property),
// and cardbridge's own X-CARDBRIDGE- properties.
func Shown(name string) bool {
	n := strings.ToUpper(name)
	return !hidden[n] && !strings.HasPrefix(n, vcard.XPrefix)
}

// Label is the words for property p: the table's noun, refined by its TYPE
// ("Work e-mail", "Mobile phone", "Home address"); an Apple label
// (itemN.X-ABLabel in card c, which may be nil) is used as the place. A
// property not in the table is named from its name ("X-FAVOURITE-DRINK"
// is "Favourite drink").
func Label(c *vcard.Card, p vcard.Property) string {
	name := strings.ToUpper(p.Name)
	i, ok := byName[name]
	if !ok {
		return fromName(name)
	}
	e := table[i]
	noun, place := e.noun, ""
	for _, t := range p.Param("TYPE") {
		t = strings.ToUpper(t)
		if k, ok := e.kinds[t]; ok {
			noun = k
		} else if w, ok := places[t]; ok && place == "" {
			place = w
		}
	}
	if l := appleLabel(c, p); l != "" {
		place = l
	}
	if place == "" {
		return capitalise(noun)
	}
	if noun == e.noun {
		noun = lowerFirst(noun)
	}
	return capitalise(place + " " + noun)
}

// appleLabel is the X-ABLabel of p's group in c, Apple's "_$!<Mobile>!$_"
// written "mobile".
func appleLabel(c *vcard.Card, p vcard.Property) string {
	if c == nil || p.Group == "" {
		return ""
	}
	for _, q := range c.Props {
		if strings.EqualFold(q.Name, "X-ABLABEL") && strings.EqualFold(q.Group, p.Group) {
			l := q.Text()
			if strings.HasPrefix(l, "_$!<") && strings.HasSuffix(l, ">!$_") {
				l = strings.ToLower(l[4 : len(l)-4])
			}
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// fromName is a label made from a property name not in the table.
func fromName(name string) string {
	n := strings.TrimPrefix(name, "X-")
	n = strings.ToLower(strings.ReplaceAll(n, "-", " "))
	if n == "" {
		return "Other field"
	}
	return capitalise(n)
}

// capitalise upper-cases the first letter of s.
func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lowerFirst lower-cases the first letter of s unless it is an acronym.
func lowerFirst(s string) string {
	if len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z' {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// Value is the value of p as a person reads it: text unescaped, a name or
// an address in reading order, a date as YYYY-MM-DD, a photo as "photo,
// 12 KB", a tel: URI as its number.
func Value(p vcard.Property) string {
	switch strings.ToUpper(p.Name) {
	case "N":
		f := p.Fields()
		for len(f) < 5 {
			f = append(f, "")
		}
		return joinNonEmpty(" ", f[3], f[1], f[2], f[0], f[4])
	case "ADR":
		f := p.Fields()
		return joinNonEmpty(", ", f...)
	case "ORG":
		return joinNonEmpty(", ", p.Fields()...)
	case "GENDER":
		f := p.Fields()
		words := map[string]string{"M": "male", "F": "female", "O": "other", "N": "none", "U": "unknown"}
		g := words[strings.ToUpper(f[0])]
		if len(f) > 1 && f[1] != "" {
			return joinNonEmpty(", ", g, f[1])
		}
		if g == "" {
			return f[0]
		}
		return g
	case "CATEGORIES", "NICKNAME":
		return strings.Join(p.List(), ", ")
	case "PHOTO", "LOGO", "SOUND", "KEY":
		return binaryValue(p)
	case "BDAY", "ANNIVERSARY", "X-ANNIVERSARY", "X-ABDATE":
		return dateValue(p.Text())
	case "TEL", "EMAIL":
		v := p.Text()
		for _, scheme := range []string{"tel:", "mailto:"} {
			if len(v) > len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) {
				v = v[len(scheme):]
			}
		}
		return v
	}
	return p.Text()
}

// binaryValue describes an inline or linked photo, logo, sound or key.
func binaryValue(p vcard.Property) string {
	what := strings.ToLower(table[byName[strings.ToUpper(p.Name)]].noun)
	v := p.Value
	size := len(v) * 3 / 4 // base64
	if strings.HasPrefix(strings.ToLower(v), "data:") {
		if i := strings.IndexByte(v, ','); i >= 0 {
			size = (len(v) - i - 1) * 3 / 4
		}
	} else if u, err := url.Parse(v); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return what + " at " + v
	}
	if size < 1024 {
		return fmt.Sprintf("%s, %d bytes", what, size)
	}
	return fmt.Sprintf("%s, %d KB", what, (size+512)/1024)
}

// dateValue writes a vCard date (19800102, 1980-01-02, --0102, with or
// without a time) as YYYY-MM-DD, or "2 January" without a year.
func dateValue(v string) string {
	d := strings.ReplaceAll(strings.SplitN(v, "T", 2)[0], "-", "")
	months := []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	digits := strings.Trim(d, "0123456789") == ""
	switch {
	case digits && len(d) == 8:
		return d[:4] + "-" + d[4:6] + "-" + d[6:]
	case digits && len(d) == 4 && strings.HasPrefix(v, "--"):
		var m, day int
		fmt.Sscanf(d, "%2d%2d", &m, &day)
		if m >= 1 && m <= 12 {
			return fmt.Sprintf("%d %s", day, months[m-1])
		}
	}
	return v
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}

// Row is one field of a comparison: its label and each version's values
// (none when that version lacks the field).
type Row struct {
	Label              string
	Base, A, B, Merged []string
	// Differs is true when A's and B's values are not the same.
	Differs bool
}

// Compare lists the shown fields of base (nil when there is none), a, b
// and merged (nil when there is none) by label, in the table's order, each
// with the values of every version.
func Compare(base, a, b, merged *vcard.Card) []Row {
	rows := map[string]*Row{}
	rank := map[string]int{}
	first := map[string]int{}
	n := 0
	add := func(c *vcard.Card, col func(*Row) *[]string) {
		if c == nil {
			return
		}
		for _, p := range c.Props {
			if !Shown(p.Name) {
				continue
			}
			l := Label(c, p)
			r := rows[l]
			if r == nil {
				r = &Row{Label: l}
				rows[l] = r
				first[l] = n
				n++
				rank[l] = len(table)
				if i, ok := byName[strings.ToUpper(p.Name)]; ok {
					rank[l] = i
				}
			}
			*col(r) = append(*col(r), Value(p))
		}
	}
	add(merged, func(r *Row) *[]string { return &r.Merged })
	add(a, func(r *Row) *[]string { return &r.A })
	add(b, func(r *Row) *[]string { return &r.B })
	add(base, func(r *Row) *[]string { return &r.Base })
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		r.Differs = !sameValues(r.A, r.B)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		li, lj := out[i].Label, out[j].Label
		if rank[li] != rank[lj] {
			return rank[li] < rank[lj]
		}
		return first[li] < first[lj]
	})
	return out
}

// sameValues reports whether x and y hold the same values in any order.
func sameValues(x, y []string) bool {
	if len(x) != len(y) {
		return false
	}
	count := map[string]int{}
	for _, v := range x {
		count[v]++
	}
	for _, v := range y {
		if count[v] == 0 {
			return false
		}
		count[v]--
	}
	return true
}

// SideName is how a side of a pair is named to a person, in a word or
// two, the same on the dashboard's pair line, the conflicts page and
// `cardbridge conflicts show`: "Office 365" (with the contact folder
// when not the default: "Office 365 (Team)"), the book's title for an
// address book of this server ("address book NAME" when title is ""),
// "folder NAME" for a vdir, "CardDAV HOST" for a CardDAV server.
func SideName(s config.Side, title string) string {
	switch s.Type {
	case config.SideO365:
		if s.Folder != "" {
			return "Office 365 (" + s.Folder + ")"
		}
		return "Office 365"
	case config.SideServer:
		if t := strings.TrimSpace(title); t != "" {
			return t
		}
		if s.Addressbook != "" {
			return "address book " + s.Addressbook
		}
		return "address book"
	case config.SideVdir:
		if b := filepath.Base(filepath.Clean(s.Path)); s.Path != "" && b != "." && b != string(filepath.Separator) {
			return "folder " + b
		}
		return "folder"
	case config.SideCardDAV:
		if u, err := url.Parse(s.URL); err == nil && u.Hostname() != "" {
			return "CardDAV " + u.Hostname()
		}
		return "CardDAV server"
	}
	return string(s.Type)
}

// SideNames names both sides of a pair (SideName) so that a person can
// tell them apart: when the two names read the same (an address book
// titled "Office 365", the web page's default, opposite Office 365), an
// address book's name gets " book" after it ("Office 365 book"); when
// they still read the same (two folders of one name), " (A)" and " (B)".
func SideNames(a, b config.Side, titleA, titleB string) (string, string) {
	na, nb := SideName(a, titleA), SideName(b, titleB)
	if !strings.EqualFold(na, nb) {
		return na, nb
	}
	if a.Type == config.SideServer {
		na += " book"
	}
	if b.Type == config.SideServer {
		nb += " book"
	}
	if strings.EqualFold(na, nb) {
		return na + " (A)", nb + " (B)"
	}
	return na, nb
}
