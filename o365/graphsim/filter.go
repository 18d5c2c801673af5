package graphsim

import (
	"fmt"
	"strings"
	"unicode"
)

// A tiny OData $filter subset: and/or/not, parentheses, eq/ne/gt/ge/lt/le
// on string properties, startswith(prop,'x'), and any() lambdas over
// emailAddresses and singleValueExtendedProperties.

type fnode interface{}

type fAnd struct {
	op   string // and, or
	l, r fnode
}
type fNot struct{ x fnode }
type fCmp struct {
	path []string // e.g. [displayName] or [ep, id]
	op   string
	lit  *string // nil: null
}
type fStarts struct {
	path []string
	lit  string
}
type fAny struct {
	coll, v string
	body    fnode // nil: any non-empty
}

type ftok struct {
	kind string // ident, str, punct
	val  string
}

func lexFilter(s string) ([]ftok, error) {
	var out []ftok
	i := 0
	for i < len(s) {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, ftok{"str", b.String()})
		case strings.ContainsRune("(),:/", c):
			out = append(out, ftok{"punct", string(c)})
			i++
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && !strings.ContainsRune("(),:/'", rune(s[j])) {
				j++
			}
			out = append(out, ftok{"ident", s[i:j]})
			i = j
		}
	}
	return out, nil
}

type fparser struct {
	t   []ftok
	pos int
}

func (p *fparser) peek() ftok {
	if p.pos < len(p.t) {
		return p.t[p.pos]
	}
	return ftok{}
}
func (p *fparser) next() ftok { t := p.peek(); p.pos++; return t }
func (p *fparser) expect(k, v string) error {
	t := p.next()
	if t.kind != k || (v != "" && !strings.EqualFold(t.val, v)) {
		return fmt.Errorf("syntax error at position %d: expected %q", p.pos, v)
	}
	return nil
}

func parseFilter(s string) (fnode, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &fparser{t: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.t) {
		return nil, fmt.Errorf("syntax error at position %d", p.pos)
	}
	return n, nil
}

func (p *fparser) or() (fnode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t.kind == "ident" && strings.EqualFold(t.val, "or"); t = p.peek() {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = fAnd{"or", l, r}
	}
	return l, nil
}

func (p *fparser) and() (fnode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for t := p.peek(); t.kind == "ident" && strings.EqualFold(t.val, "and"); t = p.peek() {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = fAnd{"and", l, r}
	}
	return l, nil
}

func (p *fparser) unary() (fnode, error) {
	t := p.peek()
	if t.kind == "ident" && strings.EqualFold(t.val, "not") {
		p.next()
		x, err := p.unary()
		return fNot{x}, err
	}
	if t.kind == "punct" && t.val == "(" {
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		return x, p.expect("punct", ")")
	}
	if t.kind == "ident" && strings.EqualFold(t.val, "startswith") {
		p.next()
		if err := p.expect("punct", "("); err != nil {
			return nil, err
		}
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		if err := p.expect("punct", ","); err != nil {
			return nil, err
		}
		lit := p.next()
		if lit.kind != "str" {
			return nil, fmt.Errorf("startswith needs a string literal")
		}
		return fStarts{path, lit.val}, p.expect("punct", ")")
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	// lambda: coll/any(v: body)
	if t := p.peek(); t.kind == "punct" && t.val == "(" && len(path) >= 2 && strings.EqualFold(path[len(path)-1], "any") {
		p.next()
		a := fAny{coll: strings.Join(path[:len(path)-1], "/")}
		if t := p.peek(); t.kind == "punct" && t.val == ")" {
			p.next()
			return a, nil
		}
		v := p.next()
		if v.kind != "ident" {
			return nil, fmt.Errorf("lambda variable expected")
		}
		a.v = v.val
		if err := p.expect("punct", ":"); err != nil {
			return nil, err
		}
		body, err := p.or()
		if err != nil {
			return nil, err
		}
		a.body = body
		return a, p.expect("punct", ")")
	}
	op := p.next()
	if op.kind != "ident" {
		return nil, fmt.Errorf("operator expected after %s", strings.Join(path, "/"))
	}
	o := strings.ToLower(op.val)
	switch o {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("unsupported operator %q", op.val)
	}
	lit := p.next()
	switch {
	case lit.kind == "str":
		return fCmp{path, o, &lit.val}, nil
	case lit.kind == "ident" && lit.val == "null":
		return fCmp{path, o, nil}, nil
	}
	return nil, fmt.Errorf("only string literals and null are supported")
}

func (p *fparser) path() ([]string, error) {
	t := p.next()
	if t.kind != "ident" {
		return nil, fmt.Errorf("property expected at position %d", p.pos)
	}
	out := []string{t.val}
	for {
		if n := p.peek(); n.kind == "punct" && n.val == "/" {
			p.next()
			t := p.next()
			if t.kind != "ident" {
				return nil, fmt.Errorf("property expected after /")
			}
			out = append(out, t.val)
			continue
		}
		return out, nil
	}
}

// filterEnv resolves paths for evaluation.
type filterEnv struct {
	get  func(name string) (*string, bool)             // a top-level string property
	coll func(name string) ([]map[string]string, bool) // a collection for any()
	vars map[string]map[string]string
}

func evalFilter(n fnode, env *filterEnv) (bool, error) {
	switch x := n.(type) {
	case fAnd:
		l, err := evalFilter(x.l, env)
		if err != nil {
			return false, err
		}
		r, err := evalFilter(x.r, env)
		if err != nil {
			return false, err
		}
		if x.op == "and" {
			return l && r, nil
		}
		return l || r, nil
	case fNot:
		v, err := evalFilter(x.x, env)
		return !v, err
	case fCmp:
		v, err := env.resolve(x.path)
		if err != nil {
			return false, err
		}
		if x.lit == nil || v == nil {
			eq := (x.lit == nil) == (v == nil)
			switch x.op {
			case "eq":
				return eq, nil
			case "ne":
				return !eq, nil
			}
			return false, nil
		}
		c := strings.Compare(strings.ToLower(*v), strings.ToLower(*x.lit))
		switch x.op {
		case "eq":
			return c == 0, nil
		case "ne":
			return c != 0, nil
		case "gt":
			return c > 0, nil
		case "ge":
			return c >= 0, nil
		case "lt":
			return c < 0, nil
		default:
			return c <= 0, nil
		}
	case fStarts:
		v, err := env.resolve(x.path)
		if err != nil || v == nil {
			return false, err
		}
		return strings.HasPrefix(strings.ToLower(*v), strings.ToLower(x.lit)), nil
	case fAny:
		items, ok := env.coll(x.coll)
		if !ok {
			return false, fmt.Errorf("'%s' is not a collection that supports any()", x.coll)
		}
		if x.body == nil {
			return len(items) > 0, nil
		}
		for _, it := range items {
			sub := &filterEnv{get: env.get, coll: env.coll, vars: map[string]map[string]string{x.v: it}}
			for k, v := range env.vars {
				sub.vars[k] = v
			}
			ok, err := evalFilter(x.body, sub)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("unsupported filter")
}

func (env *filterEnv) resolve(path []string) (*string, error) {
	if len(path) == 2 && env.vars != nil {
		if it, ok := env.vars[path[0]]; ok {
			v, ok := it[strings.ToLower(path[1])]
			if !ok {
				return nil, fmt.Errorf("could not find a property named '%s'", path[1])
			}
			return &v, nil
		}
	}
	if len(path) == 1 && env.vars != nil {
		if it, ok := env.vars[path[0]]; ok {
			if v, ok := it["$this"]; ok {
				return &v, nil
			}
		}
	}
	if len(path) == 1 {
		v, ok := env.get(path[0])
		if !ok {
			return nil, fmt.Errorf("could not find a property named '%s' on type 'microsoft.graph.contact'", path[0])
		}
		return v, nil
	}
	if len(path) == 2 {
		// complex property: homeAddress/city
		v, ok := env.get(path[0] + "/" + path[1])
		if ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("unsupported property path '%s'", strings.Join(path, "/"))
}

// contactFilterEnv exposes a contact to the filter evaluator.
func contactFilterEnv(m *Mailbox, c *contact) *filterEnv {
	return &filterEnv{
		get: func(name string) (*string, bool) {
			canon := canonicalProp(name)
			if i := strings.IndexByte(name, '/'); i > 0 {
				a, ok := c.addr[canonicalProp(name[:i])]
				if propKinds[canonicalProp(name[:i])] != kAddress {
					return nil, false
				}
				var v string
				switch strings.ToLower(name[i+1:]) {
				case "street":
					v = a.Street
				case "city":
					v = a.City
				case "state":
					v = a.State
				case "countryorregion":
					v = a.CountryOrRegion
				case "postalcode":
					v = a.PostalCode
				default:
					return nil, false
				}
				if !ok || v == "" {
					return nil, true
				}
				return &v, true
			}
			switch canon {
			case "id":
				v := m.contactID(c, true)
				return &v, true
			case "parentFolderId":
				return &c.folder.id, true
			case "changeKey":
				return &c.changeKey, true
			}
			if propKinds[canon] != kString {
				return nil, false
			}
			v, ok := c.str[canon]
			if !ok {
				return nil, true
			}
			return &v, true
		},
		coll: func(name string) ([]map[string]string, bool) {
			switch canonicalProp(name) {
			case "emailAddresses":
				var out []map[string]string
				for _, e := range c.emails {
					out = append(out, map[string]string{"name": e.Name, "address": e.Address})
				}
				return out, true
			case "singleValueExtendedProperties":
				var out []map[string]string
				for _, k := range sortedKeys(c.ext) {
					out = append(out, map[string]string{"id": c.ext[k].ID, "value": c.ext[k].Value})
				}
				return out, true
			case "categories", "businessPhones", "homePhones", "imAddresses", "children":
				var out []map[string]string
				for _, v := range c.arr[canonicalProp(name)] {
					out = append(out, map[string]string{"$this": v})
				}
				return out, true
			}
			return nil, false
		},
	}
}

// canonicalProp maps a case-insensitive property name to its canonical spelling.
func canonicalProp(name string) string {
	if _, ok := propKinds[name]; ok {
		return name
	}
	for k := range propKinds {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}
