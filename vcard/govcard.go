package vcard

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	govcard "github.com/emersion/go-vcard"
)

// ToGoVCard returns c as a github.com/emersion/go-vcard Card (for
// go-webdav). Values are given in go-vcard's convention, exactly as its
// decoder would read c.Encode(): \\ \n \, decoded, \; left as it is.
// go-vcard cards are maps, so property order is lost.
func (c *Card) ToGoVCard() govcard.Card {
	version := c.Version
	if version != V40 {
		version = V30
	}
	gc := make(govcard.Card, len(c.Props)+1)
	gc[govcard.FieldVersion] = []*govcard.Field{{Value: version}}
	for _, p := range c.Props {
		if p.Name == "VERSION" {
			continue
		}
		f := &govcard.Field{Group: p.Group, Value: toGoValue(p.Value)}
		if len(p.Params) > 0 {
			f.Params = make(govcard.Params, len(p.Params))
			for _, q := range p.Params {
				f.Params[q.Name] = append(f.Params[q.Name], q.Values...)
			}
		}
		gc[p.Name] = append(gc[p.Name], f)
	}
	return gc
}

// toGoValue decodes \\ \n \, the way go-vcard's decoder does.
func toGoValue(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '\\':
				b = append(b, '\\')
				i++
				continue
			case 'n':
				b = append(b, '\n')
				i++
				continue
			case ',':
				b = append(b, ',')
				i++
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// FromGoVCard converts a go-vcard Card (in go-vcard's value convention, see
// ToGoVCard) to a Card. Properties come in name order (FN, N and UID first)
// since go-vcard cards are maps. A card without VERSION is taken as 3.0.
func FromGoVCard(gc govcard.Card) (*Card, error) {
	if gc == nil {
		return nil, errors.New("vcard: nil go-vcard card")
	}
	c := &Card{Version: V30}
	if f := gc.Get(govcard.FieldVersion); f != nil {
		switch v := strings.TrimSpace(f.Value); v {
		case V21, V30, V40:
			c.Version = v
		default:
			return nil, fmt.Errorf("vcard: go-vcard card: %w: %q", ErrVersion, v)
		}
	}
	names := make([]string, 0, len(gc))
	for k := range gc {
		names = append(names, k)
	}
	rank := func(n string) int {
		switch n {
		case "UID":
			return 0
		case "FN":
			return 1
		case "N":
			return 2
		}
		return 3
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		uname := upperASCII(name)
		switch uname {
		case "VERSION", "BEGIN", "END":
			continue
		}
		for _, f := range gc[name] {
			if f == nil {
				continue
			}
			p := Property{Group: f.Group, Name: uname}
			pkeys := make([]string, 0, len(f.Params))
			for k := range f.Params {
				pkeys = append(pkeys, k)
			}
			sort.Strings(pkeys)
			for _, k := range pkeys {
				for _, v := range f.Params[k] {
					p.Params = addParam(p.Params, upperASCII(k), v)
				}
			}
			k := kindOf(uname, p.Params, f.Value)
			p.Value = normalizeValue(k, fromGoValue(f.Value, k))
			c.Props = append(c.Props, p)
		}
	}
	return c, nil
}

// fromGoValue escapes a go-vcard value the way go-vcard's encoder does
// (backslashes, newlines, commas), except that commas separating the items
// of a list or of an N/ADR component stay separators and a \; go-vcard left
// undecoded stays an escaped ';'. normalizeValue does the rest.
func fromGoValue(v string, k kind) string {
	switch k {
	case kindURI, kindBinary:
		return v
	}
	commaSep := k == kindList || k == kindStructuredLists
	b := make([]byte, 0, len(v)+8)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) && v[i+1] == ';' {
				b = append(b, '\\', ';')
				i++
				continue
			}
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case ',':
			if commaSep {
				b = append(b, ',')
			} else {
				b = append(b, '\\', ',')
			}
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
