package vcardtest

import (
	"bytes"
	"fmt"
	"strings"

	govcard "github.com/emersion/go-vcard"
)

// RuleGoVCard names a Problem where github.com/emersion/go-vcard, the
// reader go-webdav's users get, reads a card differently from the content
// lines Validate sees: a property it drops or adds, another group, other
// parameter values or another value.
const RuleGoVCard = "go-vcard"

// GoVCard reads data (one vCard) with go-vcard's decoder, an independent
// reader, and checks that it finds the same content lines as Validate's
// own parser: for each property name, the same number of properties in
// the same order, each with the same group, the same parameters and the
// same value once go-vcard's unescaping (\\ \n \, decoded, \; kept) is
// applied. Parameter values holding a backslash are not compared: go-vcard
// reads quoted parameter values with Go's string escapes, which the RFCs
// do not have (RFC 6868's ^ escapes it leaves as written, as does this
// check). Validate calls GoVCard, so every card held to the RFCs is held
// to go-vcard too.
func GoVCard(data []byte) []Problem {
	k := &checker{version: Version40}
	cls := k.unfold(k.physicalLines(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))))
	if len(k.out) > 0 {
		return nil // Validate reports the lines it cannot read itself
	}
	gc, err := govcard.NewDecoder(bytes.NewReader(data)).Decode()
	if err != nil {
		return []Problem{{Rule: RuleGoVCard, Detail: fmt.Sprintf("go-vcard cannot read the card: %v", err)}}
	}
	var out []Problem
	add := func(line int, format string, args ...any) {
		out = append(out, Problem{Line: line, Rule: RuleGoVCard, Detail: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i := range cls {
		cl := &cls[i]
		switch cl.name {
		case "BEGIN", "END":
			continue
		}
		n := seen[cl.name]
		seen[cl.name]++
		fields := gc[cl.name]
		if n >= len(fields) {
			add(cl.line, "%s: go-vcard does not read this property (it read %d %s)", cl.name, len(fields), cl.name)
			continue
		}
		f := fields[n]
		if f.Group != cl.group {
			add(cl.line, "%s: go-vcard reads group %q, the line has %q", cl.name, f.Group, cl.group)
		}
		if want := goValue(cl.value); f.Value != want {
			add(cl.line, "%s: go-vcard reads the value %.60q, the line means %.60q", cl.name, f.Value, want)
		}
		comparePar(cl, f.Params, func(format string, args ...any) { add(cl.line, format, args...) })
	}
	for name, fields := range gc {
		if seen[name] < len(fields) {
			add(0, "%s: go-vcard reads %d, the card has %d", name, len(fields), seen[name])
		}
	}
	return out
}

// comparePar checks go-vcard's parameters of one property against cl's.
func comparePar(cl *contentLine, got govcard.Params, add func(string, ...any)) {
	want := map[string][]string{}
	skip := map[string]bool{}
	for _, p := range cl.params {
		for _, v := range p.values {
			if strings.ContainsRune(v, '\\') {
				skip[p.name] = true
			}
			// go-vcard splits quoted values on commas too.
			for _, part := range strings.Split(v, ",") {
				want[p.name] = append(want[p.name], goValue(part))
			}
		}
	}
	for name, vs := range want {
		if skip[name] {
			continue
		}
		if g := got[name]; strings.Join(g, "\x00") != strings.Join(vs, "\x00") {
			add("%s: go-vcard reads %s=%q, the line has %q", cl.name, name, g, vs)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			add("%s: go-vcard reads a parameter %s the line does not have", cl.name, name)
		}
	}
}

// goValue is v as go-vcard's decoder gives it: \\ \n and \, decoded, any
// other backslash sequence (\; \N) left as written.
func goValue(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case ',':
				b.WriteByte(',')
				i++
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
