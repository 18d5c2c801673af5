package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Allowed values of the enumerated keys, in the order messages list them.
// They are functions so that the package holds no mutable state.
func sideTypes() []string {
	var out []string
	for _, t := range SideTypes() {
		out = append(out, string(t))
	}
	return out
}
func flows() []string  { return []string{"device", "browser", "client-secret", "client-certificate"} }
func clouds() []string { return []string{"global", "usgov", "usgov-dod", "china"} }
func directions() []string {
	return []string{"two-way", "a-to-b", "b-to-a"}
}
func conflicts() []string {
	return []string{"merge", "newest", "a-wins", "b-wins", "keep-both", "manual"}
}

// Compiled patterns (never modified).
var (
	nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// decoder turns the merged settings tree into a Config, collecting
// problems.
type decoder struct {
	probs     []Problem
	origin    map[string]string   // dotted key -> "$VAR" or "the command line"
	env       map[string]string   // environment (HOME for ~)
	file      string              // config file, "" when none
	fileNames map[string][]string // names under accounts/pairs in the file
}

// add records a problem, saying where the value came from when it was not
// the file.
func (d *decoder) add(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if o := d.origin[key]; o != "" {
		msg += " (from " + o + ")"
	}
	d.probs = append(d.probs, Problem{Key: key, Msg: msg})
}

func join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// asMap returns v as a mapping; nil is an absent one.
func (d *decoder) asMap(v any, key, what string) (map[string]any, bool) {
	switch m := v.(type) {
	case nil:
		return nil, false
	case map[string]any:
		return m, true
	}
	d.add(key, "expected %s, got %s", what, describe(v))
	return nil, false
}

// checkKeys reports keys of m that n does not know. used, when non-nil,
// narrows the keys further (side types); usedBy names the narrowing.
func (d *decoder) checkKeys(m map[string]any, base string, n *node, used []string, usedBy string) {
	allowed := make([]string, 0, len(n.fields))
	for k := range n.fields {
		allowed = append(allowed, k)
	}
	if used != nil {
		allowed = used
	}
	for _, k := range sortedKeys(m) {
		if contains(allowed, k) {
			continue
		}
		msg := "unknown key"
		if _, known := n.fields[k]; known {
			msg = "not used by " + usedBy
		}
		if s := suggest(k, allowed); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		d.add(join(base, k), "%s", msg)
	}
}

// str reads a string key; numbers are taken as written.
func (d *decoder) str(m map[string]any, base, k string) (string, bool) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int, int64, uint64, float64:
		return fmt.Sprint(x), true
	}
	d.add(join(base, k), "expected a string, got %s", describe(v))
	return "", false
}

// oneOf reads an enumerated string key, def when unset.
func (d *decoder) oneOf(m map[string]any, base, k, def string, allowed []string) string {
	s, ok := d.str(m, base, k)
	if !ok {
		return def
	}
	if !contains(allowed, s) {
		d.add(join(base, k), "%q is not one of %s", s, strings.Join(allowed, ", "))
		return def
	}
	return s
}

func (d *decoder) boolean(m map[string]any, base, k string) bool {
	switch x := m[k].(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true
		case "false", "no", "off", "0":
			return false
		}
	}
	d.add(join(base, k), "expected true or false, got %s", describe(m[k]))
	return false
}

func (d *decoder) integer(m map[string]any, base, k string) int {
	switch x := m[k].(type) {
	case nil:
		return 0
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
			return int(x)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n
		}
	}
	d.add(join(base, k), "expected an integer, got %s", describe(m[k]))
	return 0
}

// path reads a path key: ~ expands to the home directory; a relative path
// from the file is relative to the file's directory, one from the
// environment or command line to the working directory.
func (d *decoder) path(m map[string]any, base, k string) string {
	s, ok := d.str(m, base, k)
	if !ok || s == "" {
		return ""
	}
	return d.resolvePath(s, join(base, k))
}

func (d *decoder) resolvePath(s, key string) string {
	s = expandHome(s, d.env)
	if !filepath.IsAbs(s) {
		if d.origin[key] == "" && d.file != "" {
			dir := filepath.Dir(d.file)
			if a, err := filepath.Abs(dir); err == nil {
				dir = a
			}
			s = filepath.Join(dir, s)
		} else if a, err := filepath.Abs(s); err == nil {
			s = a
		}
	}
	return filepath.Clean(s)
}

// decode builds the Config from the settings tree.
func (d *decoder) decode(root *node, all map[string]any) *Config {
	cfg := &Config{Accounts: map[string]Account{}, Pairs: map[string]Pair{}}
	d.checkKeys(all, "", root, nil, "")

	if s, ok := all["state"].(string); ok && IsStateURL(s) {
		cfg.State = s // a database URL, not a path: kept as it is
	} else {
		cfg.State = d.path(all, "", "state")
	}
	if cfg.State == "" {
		cfg.State = DefaultStatePath(envList(d.env))
	}
	cfg.SecretKeyFile = d.path(all, "", "secret_key_file")
	if cfg.SecretKeyFile == "" {
		beside := cfg.State
		if IsStateURL(beside) {
			beside = DefaultStatePath(envList(d.env))
		}
		cfg.SecretKeyFile = DefaultSecretKeyFile(d.file, beside)
	}
	cfg.Trash, _ = d.trash(all, "", DefaultTrash())

	d.entries(all, "accounts", "a mapping of account names", "a mapping (tenant, client_id, flow, ...)", func(name, base string, am map[string]any) {
		cfg.Accounts[name] = d.account(root.fields["accounts"].elem, am, base, name)
	})

	d.entries(all, "pairs", "a mapping of pair names", "a mapping with a, b and options", func(name, base string, pm map[string]any) {
		p := d.pair(root.fields["pairs"].elem, pm, base, name, cfg.Accounts)
		if t, set := d.trash(pm, base, cfg.Trash); set {
			p.Trash = &t
		}
		cfg.Pairs[name] = p
	})

	sm, _ := d.asMap(all["server"], "server", "a mapping (listen, tls_cert, tls_key, public_url)")
	if sm == nil {
		sm = map[string]any{}
	}
	cfg.Server = d.server(root.fields["server"], sm)
	return cfg
}

// trash reads trash_retention and trash_max_size of m (the top level or
// a pair), def for a key not set; set says whether either was.
func (d *decoder) trash(m map[string]any, base string, def Trash) (t Trash, set bool) {
	t = def
	if v, ok := m["trash_retention"]; ok && v != nil {
		set = true
		if r, err := parseRetention(v); err != nil {
			d.add(join(base, "trash_retention"), "%s", err)
		} else {
			t.Retention = r
		}
	}
	if v, ok := m["trash_max_size"]; ok && v != nil {
		set = true
		if n, err := parseSize(v); err != nil {
			d.add(join(base, "trash_max_size"), "%s", err)
		} else {
			t.MaxSize = n
		}
	}
	return t, set
}

// names lists the entries of a map section, including ones the file
// declares empty, and checks each name.
// entries calls add with each entry of the section sect of all (accounts,
// pairs; what it must be) by name, its path and its settings (entryWhat:
// what they must be). An entry named twice, or whose settings are not a
// mapping, is reported and left out; one without settings has none.
func (d *decoder) entries(all map[string]any, sect, what, entryWhat string, add func(name, base string, m map[string]any)) {
	m, ok := d.asMap(all[sect], sect, what)
	if !ok && d.fileNames[sect] == nil {
		return
	}
	for _, name := range d.names(m, sect) {
		base := sect + "." + name
		if contains(d.fileNames["dup:"+sect], name) {
			continue // reported; its settings are a mix of both
		}
		em, ok := d.asMap(m[name], base, entryWhat)
		if !ok {
			if m[name] != nil {
				continue // not a mapping: reported
			}
			em = map[string]any{}
		}
		add(name, base, em)
	}
}

func (d *decoder) names(m map[string]any, sect string) []string {
	set := map[string]bool{}
	for k := range m {
		set[k] = true
	}
	for _, k := range d.fileNames[sect] {
		set[k] = true
	}
	names := sortedKeys(set)
	what := strings.TrimSuffix(sect, "s")
	for _, n := range names {
		if !nameRE.MatchString(n) {
			d.add(sect+"."+n, "%q is not a valid %s name (expected lower-case letters, digits, _ and -, starting with a letter or digit)", n, what)
		}
	}
	return names
}

func (d *decoder) account(n *node, m map[string]any, base, name string) Account {
	d.checkKeys(m, base, n, nil, "")
	a := Account{Name: name}
	a.ClientID = d.clientID(m, base, "")
	a.Flow = d.oneOf(m, base, "flow", "device", flows())
	a.ClientSecretEnv, _ = d.str(m, base, "client_secret_env")
	if a.ClientSecretEnv != "" && !envRE.MatchString(a.ClientSecretEnv) {
		d.add(base+".client_secret_env", "%q is not an environment variable name", a.ClientSecretEnv)
	}
	a.ClientSecretFile = d.path(m, base, "client_secret_file")
	a.CertificateFile = d.path(m, base, "certificate_file")
	a.User, _ = d.str(m, base, "user")
	switch a.Flow {
	case "client-secret":
		switch {
		case a.ClientSecretEnv == "" && a.ClientSecretFile == "":
			d.add(base+".client_secret_env", "required by flow client-secret (or client_secret_file)")
		case a.ClientSecretEnv != "" && a.ClientSecretFile != "":
			d.add(base+".client_secret_file", "set either client_secret_env or client_secret_file, not both")
		}
		if a.User == "" && m["mailboxes"] == nil {
			d.add(base+".user", "required by flow client-secret (whose mailbox to sync)")
		}
	case "client-certificate":
		if a.CertificateFile == "" {
			d.add(base+".certificate_file", "required by flow client-certificate (PEM with certificate and private key)")
		}
		if a.User == "" && m["mailboxes"] == nil {
			d.add(base+".user", "required by flow client-certificate (whose mailbox to sync)")
		}
	}
	a.Tenant = d.accountTenant(m, base, a)
	a.Cloud = d.oneOf(m, base, "cloud", "global", clouds())
	a.LoginURL = d.serviceURL(m, base, "login_url")
	a.GraphURL = d.serviceURL(m, base, "graph_url")
	d.mailboxes(m, base, &a)
	a.Directory = d.directoryBook(n, m, base, a)
	return a
}

// directoryBook reads an account's directory key: true (the defaults), a
// mapping of guests and disabled, or absent/false (nil). It needs an
// app-only flow and the tenant id, which it lower-cases in a.
func (d *decoder) directoryBook(n *node, m map[string]any, base string, a Account) *DirectoryBook {
	key := base + ".directory"
	var book *DirectoryBook
	switch v := m["directory"].(type) {
	case nil:
		return nil
	case bool, string:
		if !d.boolean(m, base, "directory") {
			return nil
		}
		book = &DirectoryBook{}
	case map[string]any:
		d.checkKeys(v, key, n.fields["directory"], nil, "")
		book = &DirectoryBook{Guests: d.boolean(v, key, "guests"), Disabled: d.boolean(v, key, "disabled")}
		if _, set := v["group"]; set {
			g, _ := d.str(v, key, "group")
			if !guidRE.MatchString(g) {
				d.add(key+".group", "%q is not a GUID (the group's object id, from the group's Overview page in the Microsoft Entra admin center)", g)
			} else {
				book.Group = strings.ToLower(g)
			}
		}
	default:
		d.add(key, "expected true, false or a mapping of guests and disabled, got %s", describe(v))
		return nil
	}
	if a.Flow != "client-secret" && a.Flow != "client-certificate" {
		d.add(key, "needs an app-only flow (flow: client-secret or client-certificate) with the User.Read.All application permission; flow is %s", a.Flow)
	}
	if !guidRE.MatchString(a.Tenant) {
		d.add(key, "needs tenant as the Directory (tenant) ID, a GUID like 11111111-2222-3333-4444-555555555555 (the tenant's users are known by it); tenant is %q", a.Tenant)
	}
	book.Every = DefaultMailboxEvery
	switch {
	case a.Mailboxes != nil:
		book.Every = a.Mailboxes.Every
	default:
		if dur, ok := d.duration(m, base, "mailbox_every"); ok {
			if dur < time.Minute {
				d.add(join(base, "mailbox_every"), "%s is too short (at least 1m)", dur)
			} else {
				book.Every = dur
			}
		}
	}
	return book
}

// TenantHelp says what to put in a tenant key.
const TenantHelp = "the Directory (tenant) ID or a domain of the organisation, from the app registration's Overview page in the Microsoft Entra admin center (e.g. contoso.onmicrosoft.com); " +
	"common or organizations only if the app's \"Supported account types\" is multitenant; consumers for personal Microsoft accounts (outlook.com, hotmail.com)"

// accountTenant reads an account's tenant: required, except that an
// app-only flow with a tenant-qualified user (alice@contoso.com) defaults
// to the user's domain. The app-only flows refuse common, organizations
// and consumers, as Microsoft does (AADSTS50059).
func (d *decoder) accountTenant(m map[string]any, base string, a Account) string {
	appOnly := a.Flow == "client-secret" || a.Flow == "client-certificate"
	if _, set := m["tenant"]; !set {
		if _, domain, ok := strings.Cut(a.User, "@"); appOnly && ok && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "/ \t?#@") {
			return strings.ToLower(domain)
		}
		d.add(base+".tenant", "required: %s", TenantHelp)
		return ""
	}
	t := d.tenant(m, base)
	if appOnly {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "common", "organizations", "consumers":
			d.add(base+".tenant", "%q does not work with flow %s: Microsoft needs the Directory (tenant) ID or a domain of the organisation for app-only sign-in (AADSTS50059), from the app registration's Overview page", t, a.Flow)
		}
	}
	return t
}

// tenant reads the tenant key of an account or of server.connect, which
// is required.
func (d *decoder) tenant(m map[string]any, base string) string {
	t, ok := d.str(m, base, "tenant")
	if !ok {
		if v, set := m["tenant"]; !set || v == nil {
			d.add(base+".tenant", "required: %s", TenantHelp)
		}
		return ""
	}
	switch {
	case strings.TrimSpace(t) == "":
		d.add(base+".tenant", "must not be empty (expected common, organizations, consumers, or a tenant id or domain)")
	case strings.ContainsAny(t, "/ \t?#"):
		d.add(base+".tenant", "%q is not a tenant (expected common, organizations, consumers, or a tenant id or domain)", t)
	}
	return t
}

// clientID reads the required client_id key (a GUID); when says when it
// is required.
func (d *decoder) clientID(m map[string]any, base, when string) string {
	id, _ := d.str(m, base, "client_id")
	switch {
	case id == "":
		d.add(base+".client_id", "required (the application's client id, a GUID)%s", when)
	case !guidRE.MatchString(id):
		d.add(base+".client_id", "%q is not a GUID (like 11111111-2222-3333-4444-555555555555)", id)
	}
	return id
}

// serviceURL reads an https URL override (http allowed for loopback).
func (d *decoder) serviceURL(m map[string]any, base, k string) string {
	s, _ := d.str(m, base, k)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		d.add(join(base, k), "%q is not an absolute https URL", s)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		d.add(join(base, k), "%q must use https (http only for 127.0.0.1, localhost or [::1])", s)
	}
	return s
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

func (d *decoder) pair(n *node, m map[string]any, base, name string, accounts map[string]Account) Pair {
	d.checkKeys(m, base, n, nil, "")
	p := Pair{Name: name}
	for _, s := range []string{"a", "b"} {
		key := base + "." + s
		sm, ok := d.asMap(m[s], key, "a mapping with type and its keys")
		if !ok {
			if _, present := m[s]; !present || m[s] == nil {
				d.add(key, "required (a mapping with type: %s)", strings.Join(sideTypes(), ", "))
			}
			continue
		}
		side := d.side(n.fields[s], sm, key, accounts)
		if s == "a" {
			p.A = side
		} else {
			p.B = side
		}
	}
	p.Direction = d.oneOf(m, base, "direction", "two-way", directions())
	p.Conflict = d.oneOf(m, base, "conflict", "merge", conflicts())

	p.MaxDelete = DefaultLimit()
	switch x := m["max_delete"].(type) {
	case nil:
	case int:
		if x < 0 {
			d.add(base+".max_delete", "%d is negative; expected a count or a percentage (like 25 or 25%%)", x)
		} else {
			p.MaxDelete = Limit{Count: x, Set: true}
		}
	case string:
		if l, err := ParseLimit(x); err != nil {
			d.add(base+".max_delete", "%s", err)
		} else {
			p.MaxDelete = l
		}
	default:
		d.add(base+".max_delete", "expected a count or a percentage (like 25 or 25%%), got %s", describe(x))
	}

	switch x := m["every"].(type) {
	case nil:
	case string:
		dur, err := time.ParseDuration(strings.TrimSpace(x))
		switch {
		case err != nil:
			d.add(base+".every", "%q is not a duration (like 15m or 1h)", x)
		case dur != 0 && dur < time.Minute:
			d.add(base+".every", "%q is too short (at least 1m)", x)
		default:
			p.Every = dur
		}
	default:
		d.add(base+".every", "expected a duration (like 15m or 1h), got %s", describe(x))
	}

	if p.A.Type != "" && p.B.Type != "" {
		if why := sameStore(p.A, p.B); why != "" {
			d.add(base+".b", "is the same store as a (%s)", why)
		}
	}
	return p
}

// side decodes the side at base of a pair: its type, the keys of that type
// (the others are reported), and the checks of the type.
func (d *decoder) side(n *node, m map[string]any, base string, accounts map[string]Account) Side {
	var typ SideType
	t, ok := d.str(m, base, "type")
	keys := sideKeys()
	used := []string(nil)
	usedBy := ""
	switch {
	case !ok:
		d.add(base+".type", "required (one of %s)", strings.Join(sideTypes(), ", "))
	case !contains(sideTypes(), t):
		d.add(base+".type", "%q is not one of %s", t, strings.Join(sideTypes(), ", "))
	default:
		typ = SideType(t)
		used = keys[typ]
		usedBy = "a side of type " + t
	}
	d.checkKeys(m, base, n, used, usedBy)
	s := d.readSideKeys(m, base, used)
	s.Type = typ
	d.checkSide(s, base, accounts)
	return s
}

// readSideKeys reads the keys of a side at base; used are the keys of its
// type (nil: all), the only ones read (others were reported by
// checkKeys).
func (d *decoder) readSideKeys(m map[string]any, base string, used []string) Side {
	var s Side
	has := func(k string) bool { return used == nil || contains(used, k) }
	get := func(k string) string {
		if !has(k) {
			return ""
		}
		v, _ := d.str(m, base, k)
		return v
	}
	if has("path") {
		s.Path = d.path(m, base, "path")
	}
	s.Account = strings.ToLower(get("account"))
	s.Folder = get("folder")
	s.URL = get("url")
	s.Username = get("username")
	s.PasswordEnv = get("password_env")
	if has("password_file") {
		s.PasswordFile = d.path(m, base, "password_file")
	}
	s.PasswordCommand = get("password_command")
	s.Addressbook = get("addressbook")
	if has("ca_file") {
		s.CAFile = d.path(m, base, "ca_file")
	}
	if has("insecure_skip_verify") {
		s.InsecureSkipVerify = d.boolean(m, base, "insecure_skip_verify")
	}
	if has("create") {
		s.Create = d.boolean(m, base, "create")
	}
	if _, set := m["photos"]; set && has("photos") {
		s.NoPhotos = !d.boolean(m, base, "photos")
	}
	if has("multiget_chunk") {
		s.MultigetChunk = d.integer(m, base, "multiget_chunk")
	}
	s.User = get("user")
	return s
}

// checkSide reports what side s at base lacks or gets wrong for its type.
func (d *decoder) checkSide(s Side, base string, accounts map[string]Account) {
	switch s.Type {
	case SideVdir:
		if s.Path == "" {
			d.add(base+".path", "required by a vdir side (the vCard directory)")
		}
	case SideO365:
		switch _, found := accounts[s.Account]; {
		case s.Account == "":
			d.add(base+".account", "required by an o365 side (the name of an entry under accounts)")
		case !found:
			msg := fmt.Sprintf("%q is not an account defined under accounts", s.Account)
			if names := sortedKeys(accounts); len(names) > 0 {
				msg += " (defined: " + strings.Join(names, ", ") + ")"
			}
			d.add(base+".account", "%s", msg)
		case accounts[s.Account].User == "" && (accounts[s.Account].Flow == "client-secret" || accounts[s.Account].Flow == "client-certificate"):
			d.add(base+".account", "account %s names no user (whose mailbox an o365 side of it reads); its mailboxes get their pairs by themselves", s.Account)
		}
	case SideCardDAV:
		d.checkCardDAVSide(s, base)
	case SideServer:
		if s.User == "" {
			d.add(base+".user", "required by a server side (a user of the built-in server)")
		}
		if s.Addressbook == "" {
			d.add(base+".addressbook", "required by a server side (an address book of the user)")
		}
	}
}

// checkCardDAVSide reports what carddav side s at base lacks or gets
// wrong: its URL, its password sources (at most one), the password
// variable's name and the multiget chunk.
func (d *decoder) checkCardDAVSide(s Side, base string) {
	if s.URL == "" {
		d.add(base+".url", "required by a carddav side (the server or address book URL)")
	} else if u, err := url.Parse(s.URL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		d.add(base+".url", "%q is not an absolute http or https URL", s.URL)
	}
	var set []string
	for k, v := range map[string]string{"password_env": s.PasswordEnv, "password_file": s.PasswordFile, "password_command": s.PasswordCommand} {
		if v != "" {
			set = append(set, k)
		}
	}
	sort.Strings(set)
	if len(set) > 1 {
		d.add(base+"."+set[1], "set at most one of password_env, password_file, password_command (%s are set)", strings.Join(set, " and "))
	}
	if s.PasswordEnv != "" && !envRE.MatchString(s.PasswordEnv) {
		d.add(base+".password_env", "%q is not an environment variable name", s.PasswordEnv)
	}
	if s.MultigetChunk < 0 {
		d.add(base+".multiget_chunk", "%d is negative (expected a positive count, or 0 for the default)", s.MultigetChunk)
	}
}

// sameStore says why a and b are the same store, or "".
func sameStore(a, b Side) string {
	if a.Type != b.Type {
		return ""
	}
	switch a.Type {
	case SideVdir:
		if a.Path != "" && filepath.Clean(a.Path) == filepath.Clean(b.Path) {
			return "path " + filepath.Clean(a.Path)
		}
	case SideO365:
		if a.Account != "" && a.Account == b.Account && strings.EqualFold(a.Folder, b.Folder) {
			return fmt.Sprintf("account %s, folder %q", a.Account, a.Folder)
		}
	case SideCardDAV:
		if a.URL != "" && strings.TrimSuffix(a.URL, "/") == strings.TrimSuffix(b.URL, "/") &&
			a.Addressbook == b.Addressbook && a.Username == b.Username {
			return "url " + a.URL
		}
	case SideServer:
		if a.User != "" && a.User == b.User && a.Addressbook == b.Addressbook {
			return fmt.Sprintf("user %s, addressbook %s", a.User, a.Addressbook)
		}
	}
	return ""
}

func (d *decoder) server(n *node, m map[string]any) Server {
	d.checkKeys(m, "server", n, nil, "")
	s := Server{Listen: DefaultListen}
	if l, ok := d.str(m, "server", "listen"); ok {
		s.Listen = l
		host, port, err := net.SplitHostPort(l)
		pn, perr := strconv.Atoi(port)
		switch {
		case err != nil:
			d.add("server.listen", "%q is not host:port (like 127.0.0.1:5232)", l)
		case perr != nil || pn < 1 || pn > 65535:
			d.add("server.listen", "%q: port %q is not a number from 1 to 65535", l, port)
		case strings.ContainsAny(host, " /"):
			d.add("server.listen", "%q: %q is not a host", l, host)
		}
	}
	s.TLSCert = d.path(m, "server", "tls_cert")
	s.TLSKey = d.path(m, "server", "tls_key")
	switch {
	case s.TLSCert != "" && s.TLSKey == "":
		d.add("server.tls_key", "required when tls_cert is set (set both or neither)")
	case s.TLSCert == "" && s.TLSKey != "":
		d.add("server.tls_cert", "required when tls_key is set (set both or neither)")
	}
	s.PublicURL, _ = d.str(m, "server", "public_url")
	if s.PublicURL != "" {
		if u, err := url.Parse(s.PublicURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			d.add("server.public_url", "%q is not an absolute http or https URL", s.PublicURL)
		}
	}
	if s.MaxMultigetHrefs = d.integer(m, "server", "max_multiget_hrefs"); s.MaxMultigetHrefs < 0 {
		d.add("server.max_multiget_hrefs", "%d is negative (expected a positive count, or 0 for the default of 10000)", s.MaxMultigetHrefs)
	}
	d.serverProtection(m, &s)
	if cm, ok := d.asMap(m["connect"], "server.connect", "a mapping (client_id, tenant, cloud, login_url, graph_url)"); ok {
		s.Connect = d.connect(n.fields["connect"], cm)
	}
	if mm, ok := d.asMap(m["microsoft_sign_in"], "server.microsoft_sign_in", "a mapping (client_id, tenants, client_secret_env, client_secret_file or certificate_file, login_url, contacts)"); ok {
		s.MicrosoftSignIn = d.microsoftSignIn(n.fields["microsoft_sign_in"], mm)
	}
	if v, set := m["local_passwords"]; set && v != nil {
		s.NoLocalPasswords = !d.boolean(m, "server", "local_passwords")
		if s.NoLocalPasswords && !s.MicrosoftSignIn.Configured() {
			d.add("server.local_passwords", "false needs server.microsoft_sign_in: without passwords or Microsoft, nobody could sign in to the web page")
		}
	}
	return s
}

// microsoftSignIn decodes server.microsoft_sign_in: the web page's "Sign in
// with Microsoft" app.
func (d *decoder) microsoftSignIn(n *node, m map[string]any) MicrosoftSignIn {
	const base = "server.microsoft_sign_in"
	d.checkKeys(m, base, n, nil, "")
	c := MicrosoftSignIn{}
	c.ClientID = d.clientID(m, base, " when server.microsoft_sign_in is set")
	before := len(d.probs)
	c.Tenants = d.stringList(m, base, "tenants")
	if len(c.Tenants) == 0 && len(d.probs) == before {
		d.add(base+".tenants", "required: the tenant ids (GUIDs, from the Entra admin center's Overview page) whose people may sign in")
	}
	for i, t := range c.Tenants {
		if !guidRE.MatchString(t) {
			d.add(base+".tenants", "%q is not a tenant id (a GUID like 11111111-2222-3333-4444-555555555555; names like common or a domain are not accepted, as people are identified by tenant id)", t)
		}
		c.Tenants[i] = strings.ToLower(t)
	}
	c.ClientSecretEnv, _ = d.str(m, base, "client_secret_env")
	if c.ClientSecretEnv != "" && !envRE.MatchString(c.ClientSecretEnv) {
		d.add(base+".client_secret_env", "%q is not an environment variable name", c.ClientSecretEnv)
	}
	c.ClientSecretFile = d.path(m, base, "client_secret_file")
	c.CertificateFile = d.path(m, base, "certificate_file")
	creds := 0
	for _, v := range []string{c.ClientSecretEnv, c.ClientSecretFile, c.CertificateFile} {
		if v != "" {
			creds++
		}
	}
	switch {
	case creds == 0:
		d.add(base+".client_secret_env", "required: the web app's client secret (client_secret_env or client_secret_file) or its certificate (certificate_file)")
	case creds > 1:
		d.add(base+".certificate_file", "set exactly one credential of the web app: client_secret_env, client_secret_file or certificate_file")
	}
	c.LoginURL = d.serviceURL(m, base, "login_url")
	c.GraphURL = d.serviceURL(m, base, "graph_url")
	c.Contacts = d.boolean(m, base, "contacts")
	c.UserNames = d.oneOf(m, base, "user_names", "local-part", []string{"local-part", "upn"})
	return c
}

// connect decodes server.connect: the web UI's Office 365 app.
func (d *decoder) connect(n *node, m map[string]any) Connect {
	const base = "server.connect"
	d.checkKeys(m, base, n, nil, "")
	c := Connect{}
	c.ClientID = d.clientID(m, base, " when server.connect is set")
	c.Tenant = d.tenant(m, base)
	c.Cloud = d.oneOf(m, base, "cloud", "global", clouds())
	c.LoginURL = d.serviceURL(m, base, "login_url")
	c.GraphURL = d.serviceURL(m, base, "graph_url")
	return c
}

// describe names a YAML value's type for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case int, int64, uint64, float64:
		return fmt.Sprint(x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// envList turns a map back into KEY=VALUE form.
func envList(m map[string]string) []string {
	l := make([]string, 0, len(m))
	for k, v := range m {
		l = append(l, k+"="+v)
	}
	return l
}

// suggest returns the candidate closest to s, if close enough to be a
// likely typo.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := levenshtein(s, c)
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > 2 || bestD >= len(s) {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
