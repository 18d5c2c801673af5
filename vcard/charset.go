package vcard

import (
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// decodeCharset converts s from the named character set to UTF-8. Unknown
// character sets and undecodable input fall back to Windows-1252 (a superset
// of ISO-8859-1) when s is not valid UTF-8, and leave s alone otherwise.
func decodeCharset(s, charset string) string {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return s
	}
	enc := lookupCharset(charset)
	if enc == nil {
		enc = lookupCharset("windows-1252")
	}
	out, err := enc.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return out
}

func lookupCharset(name string) encoding.Encoding {
	if e, err := htmlindex.Get(name); err == nil && e != nil {
		return e
	}
	if e, err := ianaindex.IANA.Encoding(name); err == nil && e != nil {
		return e
	}
	return nil
}
