package web

// A contact's fields in words: what the contact page shows of a vCard,
// each property under a label a person reads ("Mobile phone", "Job
// title"), never its property name, escape sequences, REV or UID.

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/vcard"
)

// field is one labelled value of a contact.
type field struct {
	Label string
	Lines []string // the value, a line each (an address, a note)
	// Link is the value's mailto:, tel: or http(s) link, "" for none;
	// only those schemes are made, so html/template may take it as it is.
	Link template.URL
}

// contactFields lists the fields of c a person cares about, in a fixed
// order, and the number of other fields it has (not shown: photos, keys,
// program data).
func contactFields(c *vcard.Card) (fields []field, other int) {
	labels := groupLabels(c)
	shown := map[int]bool{}
	add := func(label string, lines []string, link template.URL) {
		var keep []string
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				keep = append(keep, l)
			}
		}
		if len(keep) > 0 {
			fields = append(fields, field{Label: label, Lines: keep, Link: link})
		}
	}
	each := func(name string, fn func(p vcard.Property, custom string)) {
		for i, p := range c.Props {
			if p.Name == name {
				shown[i] = true
				fn(p, labels[strings.ToUpper(p.Group)])
			}
		}
	}
	orDefault := func(custom, label string) string {
		if custom != "" {
			return custom
		}
		return label
	}
	each("FN", func(vcard.Property, string) {}) // the page's title
	each("N", func(p vcard.Property, _ string) {
		fs := p.Fields()
		for i, l := range []string{"Family name", "Given name", "Middle name", "Title before the name", "Title after the name"} {
			if i < len(fs) {
				add(l, []string{strings.ReplaceAll(fs[i], ",", " ")}, "")
			}
		}
	})
	simple := []struct{ name, label string }{
		{"X-PHONETIC-FIRST-NAME", "Given name (pronunciation)"}, {"X-PHONETIC-LAST-NAME", "Family name (pronunciation)"},
		{"NICKNAME", "Nickname"},
	}
	for _, s := range simple {
		each(s.name, func(p vcard.Property, custom string) { add(orDefault(custom, s.label), []string{listText(p)}, "") })
	}
	each("ORG", func(p vcard.Property, _ string) {
		fs := p.Fields()
		add("Organisation", fs[:1], "")
		if len(fs) > 1 {
			add("Department", []string{strings.Join(nonEmpty(fs[1:]), ", ")}, "")
		}
	})
	for _, s := range []struct{ name, label string }{{"TITLE", "Job title"}, {"ROLE", "Role"},
		{"X-MS-OFFICE-LOCATION", "Office"}, {"X-OFFICE-LOCATION", "Office"}, {"X-MANAGER", "Manager"}, {"X-ASSISTANT", "Assistant"}} {
		each(s.name, func(p vcard.Property, custom string) { add(orDefault(custom, s.label), []string{p.Text()}, "") })
	}
	each("EMAIL", func(p vcard.Property, custom string) {
		v := strings.TrimPrefix(p.Text(), "mailto:")
		add(orDefault(custom, typed(p, "e-mail", "E-mail")), []string{v}, template.URL("mailto:"+url.PathEscape(v)))
	})
	each("TEL", func(p vcard.Property, custom string) {
		v := strings.TrimPrefix(p.Text(), "tel:")
		add(orDefault(custom, phoneLabel(p)), []string{v}, telLink(v))
	})
	each("ADR", func(p vcard.Property, custom string) {
		add(orDefault(custom, typed(p, "address", "Address")), addressLines(p), "")
	})
	each("URL", func(p vcard.Property, custom string) {
		v := p.Text()
		var link template.URL
		if l := strings.ToLower(v); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
			link = template.URL(v)
		}
		add(orDefault(custom, typed(p, "website", "Website")), []string{v}, link)
	})
	each("IMPP", func(p vcard.Property, custom string) { add(orDefault(custom, "Chat"), []string{p.Text()}, "") })
	each("X-SOCIALPROFILE", func(p vcard.Property, custom string) {
		add(orDefault(custom, "Social profile"), []string{p.Text()}, "")
	})
	for _, s := range []struct{ name, label string }{{"BDAY", "Birthday"}, {"ANNIVERSARY", "Anniversary"}, {"X-ANNIVERSARY", "Anniversary"}} {
		each(s.name, func(p vcard.Property, custom string) {
			add(orDefault(custom, s.label), []string{dateText(p.Text())}, "")
		})
	}
	each("X-ABDATE", func(p vcard.Property, custom string) {
		add(orDefault(custom, "Date"), []string{dateText(p.Text())}, "")
	})
	for _, s := range []struct{ name, label string }{{"X-SPOUSE", "Partner"}, {"X-CHILD", "Child"}, {"RELATED", "Related person"}, {"X-ABRELATEDNAMES", "Related person"}} {
		each(s.name, func(p vcard.Property, custom string) { add(orDefault(custom, s.label), []string{p.Text()}, "") })
	}
	each("GENDER", func(p vcard.Property, _ string) { add("Gender", []string{genderText(p.Fields())}, "") })
	each("CATEGORIES", func(p vcard.Property, _ string) { add("Groups", []string{listText(p)}, "") })
	for _, s := range []struct{ name, label string }{{"LANG", "Language"}, {"TZ", "Time zone"}, {"GEO", "Location"}} {
		each(s.name, func(p vcard.Property, custom string) { add(orDefault(custom, s.label), []string{p.Text()}, "") })
	}
	each("NOTE", func(p vcard.Property, _ string) { add("Note", strings.Split(p.Text(), "\n"), "") })
	hidden := map[string]bool{"UID": true, "REV": true, "PRODID": true, "VERSION": true, "X-ABLABEL": true, "CLIENTPIDMAP": true,
		"PHOTO": true, "KIND": true, "X-ADDRESSBOOKSERVER-KIND": true, "SOURCE": true, "SORT-STRING": true}
	for i, p := range c.Props {
		if !shown[i] && !hidden[p.Name] {
			other++
		}
	}
	return fields, other
}

// groupLabels maps each group of c (item1...) to the label an
// X-ABLABEL of the group gives its properties (Apple's custom labels;
// "_$!<Mobile>!$_" is "Mobile").
func groupLabels(c *vcard.Card) map[string]string {
	out := map[string]string{}
	for _, p := range c.All("X-ABLABEL") {
		if p.Group == "" {
			continue
		}
		l := p.Text()
		if s, ok := strings.CutPrefix(l, "_$!<"); ok {
			l, _ = strings.CutSuffix(s, ">!$_")
		}
		if l = strings.TrimSpace(l); l != "" {
			out[strings.ToUpper(p.Group)] = l
		}
	}
	out[""] = ""
	return out
}

// typed is "Work e-mail", "Home e-mail" or plain for a property by its TYPE.
func typed(p vcard.Property, what, plain string) string {
	switch {
	case p.HasType("work"):
		return "Work " + what
	case p.HasType("home"):
		return "Home " + what
	}
	return plain
}

// phoneLabel names a phone number by its TYPE.
func phoneLabel(p vcard.Property) string {
	switch {
	case p.HasType("cell") || p.HasType("mobile") || p.HasType("iphone"):
		if p.HasType("work") {
			return "Work mobile phone"
		}
		return "Mobile phone"
	case p.HasType("fax"):
		return typed(p, "fax", "Fax")
	case p.HasType("pager"):
		return "Pager"
	case p.HasType("main"):
		return "Main phone"
	}
	return typed(p, "phone", "Phone")
}

// telLink is the tel: link of a phone number: its digits and a leading +.
func telLink(v string) template.URL {
	d := ""
	for i, r := range strings.TrimSpace(v) {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			d += string(r)
		}
	}
	if d == "" || d == "+" {
		return ""
	}
	return template.URL("tel:" + d)
}

// addressLines is an ADR as lines: PO box, extended, street, postal code
// and locality, region, country.
func addressLines(p vcard.Property) []string {
	fs := p.Fields()
	for len(fs) < 7 {
		fs = append(fs, "")
	}
	join := func(s string) string { return strings.ReplaceAll(s, ",", ", ") }
	return nonEmpty([]string{join(fs[0]), join(fs[1]), join(fs[2]), strings.TrimSpace(fs[5] + " " + fs[3]), fs[4], fs[6]})
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// listText is a list value (NICKNAME, CATEGORIES) joined by ", ".
func listText(p vcard.Property) string { return strings.Join(nonEmpty(p.List()), ", ") }

// genderText is a GENDER value in words.
func genderText(fs []string) string {
	words := map[string]string{"M": "Male", "F": "Female", "O": "Other", "N": "None", "U": "Unknown"}
	out := words[strings.ToUpper(strings.TrimSpace(fs[0]))]
	if len(fs) > 1 && strings.TrimSpace(fs[1]) != "" {
		if out != "" {
			return out + " (" + strings.TrimSpace(fs[1]) + ")"
		}
		return strings.TrimSpace(fs[1])
	}
	return out
}

// dateText writes a vCard date ("1980-04-05", "19800405", "--0405",
// "--04-05", with or without a time) as "5 April 1980" or "5 April";
// anything else is shown as it is.
func dateText(v string) string {
	v = strings.TrimSpace(v)
	d, _, _ := strings.Cut(v, "T")
	year := ""
	if rest, ok := strings.CutPrefix(d, "--"); ok {
		d = rest
	} else if len(d) >= 8 {
		year, d = d[:4], strings.TrimPrefix(d[4:], "-")
	} else {
		return v
	}
	d = strings.ReplaceAll(d, "-", "")
	if len(d) != 4 {
		return v
	}
	m, err1 := strconv.Atoi(d[:2])
	day, err2 := strconv.Atoi(d[2:])
	y, err3 := strconv.Atoi(year)
	if err1 != nil || err2 != nil || (year != "" && err3 != nil) || m < 1 || m > 12 || day < 1 || day > 31 {
		return v
	}
	out := strconv.Itoa(day) + " " + time.Month(m).String()
	if year != "" {
		out += " " + strconv.Itoa(y)
	}
	return out
}
