package web

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Content type and file suffix of an Apple configuration profile.
const (
	mobileconfigType   = "application/x-apple-aspen-config"
	mobileconfigSuffix = ".mobileconfig"
)

// profile is what an Apple configuration profile for one address book
// holds: a CardDAV account (payload com.apple.carddav.account) on server
// (the URL a phone reaches) for user, with password only when asked for.
type profile struct {
	Server   *url.URL // the server's root: scheme, host, port and any path prefix
	User     string
	Book     string // the book's name (its URL segment)
	Title    string // what the account is called on the phone
	Password string // "" leaves it out: the phone asks for it
}

// plistItem is one key and its value in a property list dict: a string,
// an int, a bool or a nested []plistItem dict (or a []any array of
// dicts).
type plistItem struct {
	Key   string
	Value any
}

// mobileconfig encodes p as an unsigned configuration profile (an XML
// property list). Its identifiers and UUIDs derive from the server, user
// and book, so that installing it again replaces the earlier one.
func mobileconfig(p profile) ([]byte, error) {
	host := p.Server.Hostname()
	if host == "" {
		return nil, fmt.Errorf("mobileconfig: no host in %q", p.Server)
	}
	useSSL := p.Server.Scheme == "https"
	port := 80
	if useSSL {
		port = 443
	}
	if s := p.Server.Port(); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("mobileconfig: port %q of %q", s, p.Server)
		}
		port = n
	}
	principal := strings.TrimRight(p.Server.String(), "/") + "/principals/" + url.PathEscape(p.User) + "/"
	id := "cardbridge." + reverseHost(host) + "." + xmlSafeID(p.User) + "." + xmlSafeID(p.Book)
	seed := p.Server.Scheme + "://" + p.Server.Host + "/" + p.User + "/" + p.Book
	account := []plistItem{
		{"CardDAVAccountDescription", p.Title},
		{"CardDAVHostName", host},
		{"CardDAVPort", port},
		{"CardDAVPrincipalURL", principal},
		{"CardDAVUseSSL", useSSL},
		{"CardDAVUsername", p.User},
	}
	if p.Password != "" {
		account = append(account, plistItem{"CardDAVPassword", p.Password})
	}
	account = append(account,
		plistItem{"PayloadDescription", "The contacts of " + p.Title + " on " + p.Server.Host + " (cardbridge)"},
		plistItem{"PayloadDisplayName", p.Title + " (CardDAV)"},
		plistItem{"PayloadIdentifier", id + ".carddav"},
		plistItem{"PayloadType", "com.apple.carddav.account"},
		plistItem{"PayloadUUID", strUUID(seed + "#carddav")},
		plistItem{"PayloadVersion", 1},
	)
	top := []plistItem{
		{"PayloadContent", []any{account}},
		{"PayloadDescription", "Adds the CardDAV account of " + p.User + " on " + p.Server.Host + " to Contacts. Made by cardbridge, unsigned."},
		{"PayloadDisplayName", "cardbridge: " + p.Title},
		{"PayloadIdentifier", id},
		{"PayloadOrganization", "cardbridge"},
		{"PayloadRemovalDisallowed", false},
		{"PayloadType", "Configuration"},
		{"PayloadUUID", strUUID(seed)},
		{"PayloadVersion", 1},
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString(`<plist version="1.0">` + "\n")
	if err := writePlist(&b, top, ""); err != nil {
		return nil, err
	}
	b.WriteString("</plist>\n")
	return b.Bytes(), nil
}

// writePlist writes v (see plistItem) at indent.
func writePlist(b *bytes.Buffer, v any, indent string) error {
	switch v := v.(type) {
	case string:
		b.WriteString(indent + "<string>")
		if err := xml.EscapeText(b, []byte(v)); err != nil {
			return err
		}
		b.WriteString("</string>\n")
	case int:
		fmt.Fprintf(b, "%s<integer>%d</integer>\n", indent, v)
	case bool:
		if v {
			b.WriteString(indent + "<true/>\n")
		} else {
			b.WriteString(indent + "<false/>\n")
		}
	case []plistItem:
		b.WriteString(indent + "<dict>\n")
		for _, it := range v {
			b.WriteString(indent + "\t<key>")
			if err := xml.EscapeText(b, []byte(it.Key)); err != nil {
				return err
			}
			b.WriteString("</key>\n")
			if err := writePlist(b, it.Value, indent+"\t"); err != nil {
				return err
			}
		}
		b.WriteString(indent + "</dict>\n")
	case []any:
		b.WriteString(indent + "<array>\n")
		for _, it := range v {
			if err := writePlist(b, it, indent+"\t"); err != nil {
				return err
			}
		}
		b.WriteString(indent + "</array>\n")
	default:
		return fmt.Errorf("mobileconfig: cannot write a %T", v)
	}
	return nil
}

// reverseHost is host in reverse-DNS order ("dav.example.com" ->
// "com.example.dav"); an IP address is kept with its dots (and an IPv6
// one with its colons as dashes).
func reverseHost(host string) string {
	if ip := net.ParseIP(host); ip != nil {
		return "ip-" + xmlSafeID(ip.String())
	}
	var parts []string
	start := 0
	for i := 0; i <= len(host); i++ {
		if i == len(host) || host[i] == '.' {
			parts = append([]string{host[start:i]}, parts...)
			start = i + 1
		}
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "."
		}
		out += p
	}
	return xmlSafeID(out)
}

// xmlSafeID keeps letters, digits, '.' and '-' of s, writing others '-'
// (a payload identifier is a reverse-DNS name).
func xmlSafeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// strUUID is the name-based (SHA-1) UUID of seed, upper-case as Apple
// writes them.
func strUUID(seed string) string {
	u := uuid.NewSHA1(uuid.NameSpaceURL, []byte(seed))
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
