package o365

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docFieldRows reads the field table of docs/mapping.md: per row whose
// Graph column names fields (not "—" or the "address fields" row) and
// that is read from the vCard (its "vCard → Graph" column is not "—" or
// "never sent"), the Graph fields and the vCard property's name.
func docFieldRows(t *testing.T, doc string) (fields, props []string) {
	t.Helper()
	tick := regexp.MustCompile("`([^`]+)`")
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "| Graph field | vCard |") {
			in = true
			continue
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		if len(cols) < 4 {
			t.Fatalf("docs/mapping.md: field table row with %d columns: %q", len(cols), line)
		}
		toGraph := strings.TrimSpace(cols[2])
		if strings.HasPrefix(toGraph, "—") || strings.HasPrefix(toGraph, "never sent") {
			continue
		}
		for _, m := range tick.FindAllStringSubmatch(cols[0], -1) {
			if f := m[1]; !strings.Contains(f, "/") && f != "singleValueExtendedProperties" {
				fields = append(fields, f)
			}
		}
		// The vCard column's first property names the row; a row of n
		// fields with n properties (the yomi names) names one each.
		nf, ps := len(tick.FindAllString(cols[0], -1)), tick.FindAllStringSubmatch(cols[1], -1)
		switch {
		case nf == 0:
		case len(ps) == 0:
			props = append(props, "")
		case nf > 1 && len(ps) == nf:
			for _, m := range ps {
				props = append(props, propName(m[1]))
			}
		default:
			props = append(props, propName(ps[0][1]))
		}
	}
	if len(fields) == 0 {
		t.Fatal("docs/mapping.md: no field table found (header \"| Graph field | vCard |\")")
	}
	return fields, props
}

// propName is the property name of a vCard column entry (`TEL;TYPE=CELL`).
func propName(s string) string { return strings.ToUpper(strings.SplitN(s, ";", 2)[0]) }

// TestFieldRulesMatchDoc checks that fieldRules and the field table of
// docs/mapping.md list the same Graph fields and vCard properties, so the
// two cannot drift.
func TestFieldRulesMatchDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/mapping.md")
	if err != nil {
		t.Fatalf("read the mapping doc: %v", err)
	}
	docFields, docProps := docFieldRows(t, string(b))
	var fields, props []string
	for _, r := range fieldRules {
		fields = append(fields, r.graph...)
		props = append(props, r.vcard)
	}
	sortedDiff := func(what string, doc, code []string) {
		d, c := slices.Clone(doc), slices.Clone(code)
		slices.Sort(d)
		slices.Sort(c)
		d, c = slices.Compact(d), slices.Compact(c) // a rule may fill several rows
		if !slices.Equal(d, c) {
			t.Errorf("%s: docs/mapping.md has %q,\nfieldRules has %q", what, d, c)
		}
	}
	sortedDiff("Graph fields", docFields, fields)
	sortedDiff("vCard properties", docProps, props)
}

// TestDocFieldRowsDetectsDrift checks that the doc parser sees a field
// the table lacks.
func TestDocFieldRowsDetectsDrift(t *testing.T) {
	doc := "| Graph field | vCard | vCard → Graph | Graph → vCard |\n|---|---|---|---|\n" +
		"| `jobTitle` | `TITLE` | the first | `TITLE:` |\n| `newField` | `X-NEW;TYPE=A` | the first | x |\n" +
		"| `lastModifiedDateTime` | `REV` | — (read-only) | `REV:` |\n"
	fields, props := docFieldRows(t, doc)
	if !slices.Equal(fields, []string{"jobTitle", "newField"}) || !slices.Equal(props, []string{"TITLE", "X-NEW"}) {
		t.Fatalf("parsed %q %q", fields, props)
	}
}
