package config

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// schemaKeys lists every key of the schema tree n under prefix, with its
// type's name, as the reference writes them: <name> for a name under
// accounts and pairs, <side> for a pair's a and b (which share their keys).
func schemaKeys(n *node, prefix string, out map[string]string) {
	switch n.kind {
	case kSection:
		for k, f := range n.fields {
			key := prefix + k
			out[key] = kindName(f.kind)
			if prefix == "pairs.<name>." && (k == "a" || k == "b") {
				schemaKeys(f, "pairs.<name>.<side>.", out)
				continue
			}
			schemaKeys(f, key+".", out)
		}
	case kMap:
		schemaKeys(n.elem, prefix+"<name>.", out)
	}
}

// kindName is the type column of the reference for a kind.
func kindName(k kind) string {
	return map[kind]string{kString: "string", kPath: "path", kBool: "bool", kInt: "int", kDuration: "duration",
		kLimit: "limit", kSize: "size", kList: "list", kSection: "mapping", kMap: "mapping"}[k]
}

// TestConfigReferenceListsEveryKey: docs/config.md has one row per key
// of the schema Load checks, with a type, a default and an example, and
// no row for a key that does not exist.
func TestConfigReferenceListsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	schemaKeys(schema(), "", want)
	row := regexp.MustCompile("^\\| `([a-z0-9_.<>]+)` \\|")
	documented := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 5 {
			t.Errorf("row of %s has %d cells, want key, type, default, example, meaning: %q", m[1], len(cells), line)
			continue
		}
		for i, what := range []string{"type", "default", "example", "meaning"} {
			if strings.TrimSpace(cells[i+1]) == "" {
				t.Errorf("%s: no %s", m[1], what)
			}
		}
		if !strings.Contains(cells[3], "`") {
			t.Errorf("%s: the example %q is not code", m[1], cells[3])
		}
		if typ, ok := want[m[1]]; ok && strings.TrimSpace(cells[1]) != typ {
			t.Errorf("%s: type %q, the schema says %s", m[1], cells[1], typ)
		}
		if documented[m[1]] {
			t.Errorf("%s is listed twice", m[1])
		}
		documented[m[1]] = true
	}
	var missing, unknown []string
	for k := range want {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if _, ok := want[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(unknown)
	if len(missing) > 0 {
		t.Errorf("docs/config.md lacks %d keys: %s", len(missing), strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		t.Errorf("docs/config.md lists keys the configuration does not have: %s", strings.Join(unknown, ", "))
	}
	if len(want) < 50 {
		t.Errorf("the schema walk found only %d keys", len(want))
	}
}
