package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// kind is the type of a schema node.
type kind int

const (
	kString   kind = iota // a string
	kPath                 // a file path (~ and relative expansion)
	kBool                 // true/false
	kInt                  // an integer
	kDuration             // a Go duration
	kLimit                // a Limit: count or percentage
	kSize                 // a size in bytes: 100MB, 1GiB, 0/off
	kList                 // a list of strings (comma-separated from the environment)
	kSection              // fixed keys
	kMap                  // user-chosen names, each an elem
)

// node describes the shape of one level of the configuration.
type node struct {
	kind   kind
	fields map[string]*node // kSection
	elem   *node            // kMap
	// scalar says a kSection may also be given one value (mailboxes: all).
	scalar bool
}

func (n *node) leaf() bool { return n.kind != kSection && n.kind != kMap }

// sideKeys says which side keys each side type uses.
func sideKeys() map[SideType][]string {
	return map[SideType][]string{
		SideVdir:    {"type", "path", "create"},
		SideO365:    {"type", "account", "folder", "photos"},
		SideCardDAV: {"type", "url", "username", "password_env", "password_file", "password_command", "addressbook", "ca_file", "insecure_skip_verify", "create", "multiget_chunk"},
		SideServer:  {"type", "user", "addressbook"},
	}
}

// schema builds the tree of known keys. It is built per load so that the
// package holds no mutable state.
func schema() *node {
	s := func() *node { return &node{kind: kString} }
	p := func() *node { return &node{kind: kPath} }
	side := &node{kind: kSection, fields: map[string]*node{
		"type": s(), "path": p(),
		"account": s(), "folder": s(), "photos": {kind: kBool},
		"url": s(), "username": s(), "password_env": s(), "password_file": p(), "password_command": s(),
		"addressbook": s(), "ca_file": p(),
		"insecure_skip_verify": {kind: kBool}, "create": {kind: kBool}, "multiget_chunk": {kind: kInt},
		"user": s(),
	}}
	side2 := &node{kind: kSection, fields: side.fields}
	account := &node{kind: kSection, fields: map[string]*node{
		"tenant": s(), "client_id": s(), "flow": s(),
		"client_secret_env": s(), "client_secret_file": p(), "certificate_file": p(), "user": s(),
		"cloud": s(), "login_url": s(), "graph_url": s(),
		"mailboxes":    {kind: kSection, scalar: true, fields: map[string]*node{"group": s()}},
		"mailbox_keep": {kind: kDuration}, "mailbox_concurrency": {kind: kInt}, "mailbox_every": {kind: kDuration},
		"directory": {kind: kSection, fields: map[string]*node{"group": s(), "guests": {kind: kBool}, "disabled": {kind: kBool}}},
	}}
	pair := &node{kind: kSection, fields: map[string]*node{
		"a": side, "b": side2,
		"direction": s(), "conflict": s(),
		"max_delete": {kind: kLimit}, "every": {kind: kDuration},
		"trash_retention": {kind: kDuration}, "trash_max_size": {kind: kSize},
	}}
	server := &node{kind: kSection, fields: map[string]*node{
		"listen": s(), "tls_cert": p(), "tls_key": p(), "public_url": s(),
		"max_multiget_hrefs": {kind: kInt},
		"trusted_proxies":    {kind: kList}, "admins": {kind: kList}, "session_lifetime": {kind: kDuration},
		"max_connections": {kind: kInt}, "login_free_failures": {kind: kInt}, "login_max_delay": {kind: kDuration},
		"connect": {kind: kSection, fields: map[string]*node{
			"client_id": s(), "tenant": s(), "cloud": s(), "login_url": s(), "graph_url": s(),
		}},
		"local_passwords": {kind: kBool},
		"microsoft_sign_in": {kind: kSection, fields: map[string]*node{
			"client_id": s(), "tenants": {kind: kList}, "client_secret_env": s(), "client_secret_file": p(), "login_url": s(), "user_names": s(),
			"certificate_file": p(), "graph_url": s(), "contacts": {kind: kBool},
		}},
	}}
	return &node{kind: kSection, fields: map[string]*node{
		"state":    p(),
		"accounts": {kind: kMap, elem: account},
		"pairs":    {kind: kMap, elem: pair},
		"server":   server,

		"secret_key_file": p(),
		"trash_retention": {kind: kDuration}, "trash_max_size": {kind: kSize},
	}}
}

// errAmbiguous is a name that splits into a new pair/account name in more
// than one way.
type errAmbiguous struct{ options []string }

func (e *errAmbiguous) Error() string {
	return "is ambiguous: it could mean " + strings.Join(e.options, " or ") + "; define the name in the config file to settle it"
}

// resolve matches words against n (whose current value in the tree is
// tree) and returns the key path. leafOnly requires the path to end at a
// value. The rules are described in the package comment.
func resolve(n *node, tree any, words []string, leafOnly bool) ([]string, error) {
	if len(words) == 0 {
		if n.leaf() || n.scalar || !leafOnly {
			return []string{}, nil
		}
		return nil, noMatch{}
	}
	if n.leaf() {
		return nil, noMatch{}
	}
	m, _ := tree.(map[string]any)
	switch n.kind {
	case kSection:
		for i := len(words); i >= 1; i-- {
			key := strings.Join(words[:i], "_")
			f, ok := n.fields[key]
			if !ok {
				continue
			}
			rest, err := resolve(f, m[key], words[i:], leafOnly)
			if err == nil {
				return append([]string{key}, rest...), nil
			}
			if amb, ok := err.(*errAmbiguous); ok {
				for j := range amb.options {
					amb.options[j] = key + "." + amb.options[j]
				}
				return nil, amb
			}
		}
	case kMap:
		for i := len(words); i >= 1; i-- {
			name := strings.Join(words[:i], "_")
			sub, ok := m[name]
			if !ok {
				continue
			}
			if rest, err := resolve(n.elem, sub, words[i:], leafOnly); err == nil {
				return append([]string{name}, rest...), nil
			}
		}
		var found [][]string
		for i := 1; i <= len(words); i++ {
			name := strings.Join(words[:i], "_")
			if _, exists := m[name]; exists {
				continue
			}
			if rest, err := resolve(n.elem, nil, words[i:], leafOnly); err == nil {
				found = append(found, append([]string{name}, rest...))
			}
		}
		switch len(found) {
		case 0:
		case 1:
			return found[0], nil
		default:
			opts := make([]string, len(found))
			for i, f := range found {
				opts[i] = strings.Join(f, ".")
			}
			return nil, &errAmbiguous{options: opts}
		}
	}
	return nil, noMatch{}
}

// noMatch is the error of resolve when the words name no key.
type noMatch struct{}

func (noMatch) Error() string { return "no match" }

// envOverlay is one CARDBRIDGE_* variable matched to a key.
type envOverlay struct {
	name, value string
	path        []string
}

// overlayEnv sets the keys named by CARDBRIDGE_* variables of env.
func (d *decoder) overlayEnv(v *viper.Viper, root *node, env, ignore []string) {
	tree := v.AllSettings()
	skip := map[string]bool{EnvConfig: true, EnvSecretKey: true}
	for _, n := range ignore {
		skip[n] = true
	}
	// Variables named by *_env keys hold secrets, not configuration.
	secretRefs(tree, skip)

	type unmatched struct{ name, msg string }
	var matched []envOverlay
	var bad []unmatched
	seen := map[string]bool{}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || value == "" || seen[name] {
			continue
		}
		seen[name] = true
		words := strings.Split(strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), "_")
		path, err := resolve(root, tree, words, true)
		if err == nil {
			matched = append(matched, envOverlay{name: name, value: value, path: path})
			last := path[len(path)-1]
			if last == "password_env" || last == "client_secret_env" {
				skip[value] = true
			}
			continue
		}
		if amb, ok := err.(*errAmbiguous); ok {
			bad = append(bad, unmatched{name, amb.Error()})
			continue
		}
		msg := "environment variable matches no config key"
		if p, err := resolve(root, tree, words, false); err == nil && len(p) > 0 && endsAtField(root, p) {
			msg = fmt.Sprintf("names the section %s, not a single key", strings.Join(p, "."))
		}
		bad = append(bad, unmatched{name, msg})
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].name < matched[j].name })
	sort.Slice(bad, func(i, j int) bool { return bad[i].name < bad[j].name })
	for _, b := range bad {
		if !skip[b.name] {
			d.probs = append(d.probs, Problem{Key: b.name, Msg: b.msg})
		}
	}
	for _, o := range matched {
		if skip[o.name] {
			continue
		}
		key := strings.Join(o.path, ".")
		v.Set(strings.Join(o.path, keyDelim), o.value)
		d.origin[key] = "$" + o.name
	}
}

// endsAtField reports whether the last element of path is a schema key
// (not a pair or account name).
func endsAtField(root *node, path []string) bool {
	n, field := root, false
	for _, w := range path {
		if n.kind == kMap {
			n, field = n.elem, false
		} else {
			n, field = n.fields[w], true
		}
	}
	return field
}

// overlaySet sets the keys given on the command line.
func (d *decoder) overlaySet(v *viper.Viper, root *node, set map[string]string) {
	for _, key := range sortedKeys(set) {
		lk := strings.ToLower(key)
		path := strings.Split(lk, ".")
		n := root
		ok := true
		for _, w := range path {
			switch {
			case n.kind == kSection && n.fields[w] != nil:
				n = n.fields[w]
			case n.kind == kMap && w != "":
				n = n.elem
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		if !ok || !(n.leaf() || n.scalar) {
			d.probs = append(d.probs, Problem{Key: key, Msg: "set on the command line: no such config key"})
			continue
		}
		v.Set(strings.Join(path, keyDelim), set[key])
		d.origin[lk] = "the command line"
	}
}

// secretRefs adds the values of client_secret_env and password_env keys
// found in tree to skip.
func secretRefs(tree map[string]any, skip map[string]bool) {
	for _, sect := range []string{"accounts", "pairs"} {
		m, _ := tree[sect].(map[string]any)
		for _, e := range m {
			em, _ := e.(map[string]any)
			if s, ok := em["client_secret_env"].(string); ok {
				skip[s] = true
			}
			for _, side := range []string{"a", "b"} {
				sm, _ := em[side].(map[string]any)
				if s, ok := sm["password_env"].(string); ok {
					skip[s] = true
				}
			}
		}
	}
}

// fileNames parses the YAML again to find what viper hides: names that
// differ only in case (viper would merge them silently) and pairs or
// accounts left empty (viper drops them). It returns the problems and the
// lower-case names present under accounts and pairs; names defined twice
// are listed under "dup:accounts" and "dup:pairs".
func fileNames(data []byte) ([]Problem, map[string][]string) {
	var doc yaml.Node
	names := map[string][]string{}
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil, names
	}
	var probs []Problem
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if n.Kind != yaml.MappingNode {
			return
		}
		seen := map[string]string{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			lk := strings.ToLower(k)
			full := lk
			if path != "" {
				full = path + "." + lk
			}
			if prev, dup := seen[lk]; dup {
				probs = append(probs, Problem{Key: full, Msg: fmt.Sprintf("defined twice (%q and %q; names are case-insensitive)", prev, k)})
				if depth == 1 {
					names["dup:"+path] = append(names["dup:"+path], lk)
				}
			}
			seen[lk] = k
			if depth == 1 && (path == "accounts" || path == "pairs") {
				names[path] = append(names[path], lk)
			}
			walk(n.Content[i+1], full, depth+1)
		}
	}
	walk(doc.Content[0], "", 0)
	return probs, names
}
