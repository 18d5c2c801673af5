package vcard

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// UIDName returns uid+".vcf", the name a side gives a card after its UID,
// when uid is safe as a name: not empty, at most maxLen bytes, not starting
// with '.', and made of ASCII letters, digits, '@', '.', '_', '-' and the
// bytes of extra only. Otherwise it returns "" (the side then uses
// RandomName).
func UIDName(uid string, maxLen int, extra string) string {
	if uid == "" || len(uid) > maxLen || uid[0] == '.' {
		return ""
	}
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '@', c == '.', c == '_', c == '-':
		case strings.IndexByte(extra, c) >= 0:
		default:
			return ""
		}
	}
	return uid + ".vcf"
}

// RandomName returns 32 random hex digits plus ".vcf", the name of a card
// whose UID cannot be its name.
func RandomName() string {
	var b [16]byte
	rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:]) + ".vcf"
}
