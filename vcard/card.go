package vcard

import (
	"strings"
	"time"
)

// Card is one vCard. Props are in file order and exclude BEGIN, END and
// VERSION; Version is V21, V30 or V40.
type Card struct {
	Version string
	Props   []Property
}

// New returns an empty card of the given version.
func New(version string) *Card { return &Card{Version: version} }

// Clone returns a deep copy of c.
func (c *Card) Clone() *Card {
	out := &Card{Version: c.Version, Props: make([]Property, len(c.Props))}
	for i, p := range c.Props {
		out.Props[i] = p.clone()
	}
	return out
}

// Get returns the first property named name (case-insensitive).
func (c *Card) Get(name string) (Property, bool) {
	name = upperASCII(name)
	for _, p := range c.Props {
		if p.Name == name {
			return p, true
		}
	}
	return Property{}, false
}

// All returns the properties named name (case-insensitive), in order.
func (c *Card) All(name string) []Property {
	name = upperASCII(name)
	var out []Property
	for _, p := range c.Props {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// Add appends p.
func (c *Card) Add(p Property) {
	p.Name = upperASCII(p.Name)
	c.Props = append(c.Props, p)
}

// Set replaces all properties named p.Name by p, at the place of the first
// of them, or appends p if there is none. It does not write into the old
// Props array (a shallow copy of c keeps its properties).
func (c *Card) Set(p Property) {
	p.Name = upperASCII(p.Name)
	out := make([]Property, 0, len(c.Props)+1)
	done := false
	for _, q := range c.Props {
		if q.Name == p.Name {
			if !done {
				out = append(out, p)
				done = true
			}
			continue
		}
		out = append(out, q)
	}
	if !done {
		out = append(out, p)
	}
	c.Props = out
}

// Remove removes all properties named name (case-insensitive).
func (c *Card) Remove(name string) {
	name = upperASCII(name)
	out := make([]Property, 0, len(c.Props))
	for _, q := range c.Props {
		if q.Name != name {
			out = append(out, q)
		}
	}
	c.Props = out
}

// UID returns the card's UID as written (a 4.0 "urn:uuid:..." keeps its
// prefix), or "".
func (c *Card) UID() string {
	if p, ok := c.Get("UID"); ok {
		return p.Text()
	}
	return ""
}

// SetUID sets the UID.
func (c *Card) SetUID(uid string) { c.Set(NewText("UID", uid)) }

// FN returns the formatted name, or "".
func (c *Card) FN() string {
	if p, ok := c.Get("FN"); ok {
		return p.Text()
	}
	return ""
}

// SetFN sets the formatted name.
func (c *Card) SetFN(fn string) { c.Set(NewText("FN", fn)) }

// Rev returns the REV time. It reads the basic (20250103T101500Z) and
// extended (2026-10-02T08:16:00Z) forms, with or without seconds, fractions
// or a UTC offset, and date-only values; ok is false when REV is absent or
// unreadable.
func (c *Card) Rev() (time.Time, bool) {
	p, ok := c.Get("REV")
	if !ok {
		return time.Time{}, false
	}
	return ParseTimestamp(p.Text())
}

// ParseTimestamp reads a vCard timestamp or date (see Card.Rev).
func ParseTimestamp(s string) (time.Time, bool) {
	layouts := [...]string{
		"20060102T150405Z",
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700",
		"20060102T150405Z0700",
		"20060102T150405Z07",
		"20060102T150405",
		"2006-01-02T15:04:05",
		"20060102T1504Z",
		"2006-01-02T15:04Z07:00",
		"20060102",
		"2006-01-02",
	}
	s = strings.TrimSpace(s)
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// IsSingle reports whether the property name (case-insensitive) holds one
// value per card for merge purposes (FN, N, BDAY, UID, NOTE, ORG, PHOTO,
// NICKNAME...). Multi-valued properties (EMAIL, TEL, ADR, URL, IMPP,
// MEMBER, CATEGORIES, RELATED, LANG, unknown X- properties...) give false.
func IsSingle(name string) bool {
	switch upperASCII(name) {
	case "FN", "N", "BDAY", "ANNIVERSARY", "GENDER", "KIND", "X-ADDRESSBOOKSERVER-KIND", "UID",
		"REV", "PRODID", "NOTE", "ORG", "TITLE", "ROLE", "PHOTO", "LOGO", "NICKNAME", "TZ", "GEO",
		"BIRTHPLACE", "DEATHPLACE", "DEATHDATE", "SORT-STRING", "CLASS", "NAME", "VERSION",
		"SOUND", "MAILER", "AGENT", "X-ABSHOWAS", "X-PHONETIC-FIRST-NAME", "X-PHONETIC-LAST-NAME",
		"X-PHONETIC-MIDDLE-NAME", "X-MAIDENNAME", "X-SPOUSE", "X-MANAGER", "X-ASSISTANT",
		"X-GENDER", "X-ANNIVERSARY":
		return true
	}
	return false
}
