package config

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults of the server's protection keys, applied by serve where the
// Server field is zero.
const (
	// DefaultSessionLifetime is server.session_lifetime's default: a web
	// session ends a day after sign-in however much it is used.
	DefaultSessionLifetime = 24 * time.Hour
	// DefaultMaxConnections is server.max_connections' default.
	DefaultMaxConnections = 512
)

// userNameRE is what `cardbridge user add` accepts as a user name.
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9._@+-]{1,64}$`)

// serverProtection decodes server.trusted_proxies, admins,
// session_lifetime, max_connections, login_free_failures and
// login_max_delay into s.
func (d *decoder) serverProtection(m map[string]any, s *Server) {
	s.TrustedProxies = d.stringList(m, "server", "trusted_proxies")
	for _, p := range s.TrustedProxies {
		var err error
		if strings.Contains(p, "/") {
			_, err = netip.ParsePrefix(p)
		} else {
			_, err = netip.ParseAddr(p)
		}
		if err != nil {
			d.add("server.trusted_proxies", "%q is not an IP address or CIDR prefix (like 10.0.0.1 or 10.0.0.0/8)", p)
		}
	}
	s.Admins = d.stringList(m, "server", "admins")
	for _, a := range s.Admins {
		if !userNameRE.MatchString(a) {
			d.add("server.admins", "%q is not a user name (letters, digits and ._@+-, at most 64)", a)
		}
	}
	s.SessionLifetime = d.longDuration(m, "server", "session_lifetime", 5*time.Minute)
	s.LoginMaxDelay = d.longDuration(m, "server", "login_max_delay", time.Second)
	for _, k := range []string{"max_connections", "login_free_failures"} {
		if _, set := m[k]; !set {
			continue
		}
		before := len(d.probs)
		n := d.integer(m, "server", k)
		if len(d.probs) > before {
			continue // not an integer: said
		}
		if n < 1 {
			d.add("server."+k, "%d is not a number of at least 1", n)
			continue
		}
		if k == "max_connections" {
			s.MaxConnections = n
		} else {
			s.LoginFreeFailures = n
		}
	}
}

// stringList reads a list of strings: a YAML list, or one string of
// comma-separated items (as the environment gives it). Empty items are
// dropped.
func (d *decoder) stringList(m map[string]any, base, k string) []string {
	var items []string
	switch x := m[k].(type) {
	case nil:
		return nil
	case string:
		items = strings.Split(x, ",")
	case []any:
		for _, v := range x {
			s, ok := v.(string)
			if !ok {
				d.add(join(base, k), "expected a list of strings, got %s in it", describe(v))
				return nil
			}
			items = append(items, s)
		}
	default:
		d.add(join(base, k), "expected a list of strings, got %s", describe(x))
		return nil
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// longDuration reads a duration like 90m, 12h or 7d (a whole number of
// days) of at least least; 0 when unset.
func (d *decoder) longDuration(m map[string]any, base, k string, least time.Duration) time.Duration {
	x, set := m[k]
	if !set || x == nil {
		return 0
	}
	s, ok := x.(string)
	if !ok {
		d.add(join(base, k), "expected a duration (like 12h or 7d), got %s", describe(x))
		return 0
	}
	s = strings.TrimSpace(s)
	var dur time.Duration
	var err error
	if days, found := strings.CutSuffix(s, "d"); found {
		var n int
		n, err = strconv.Atoi(days)
		dur = time.Duration(n) * 24 * time.Hour
	} else {
		dur, err = time.ParseDuration(s)
	}
	switch {
	case err != nil:
		d.add(join(base, k), "%q is not a duration (like 12h or 7d)", s)
		return 0
	case dur < least:
		d.add(join(base, k), "%q is too short (at least %s)", s, least)
		return 0
	}
	return dur
}
