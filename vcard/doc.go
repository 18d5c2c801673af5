// Package vcard reads, writes, converts and compares vCards (RFC 2425/2426
// vCard 3.0, RFC 6350 vCard 4.0 and the older vCard 2.1) for cardbridge.
//
// Parsing is tolerant of what real clients write: QUOTED-PRINTABLE values
// with CHARSET and soft line breaks (2.1), CRLF, LF or CR line endings,
// space or tab folding, a byte order mark, blank lines, lower-case names and
// parameters, repeated TYPE parameters, bare 2.1 TYPE parameters
// (TEL;WORK;VOICE:) and RFC 6868 caret encoding in parameter values. It is
// not silent about real damage: a content line without a colon, a card
// without END:VCARD, binary data or two cards where one is expected are
// errors that say what is wrong and on which line (see [ParseError]).
//
// Every [Property] keeps its value in one canonical escaped wire form, chosen
// by the property's kind (text, structured, list, URI, binary or unknown), so
// that equal values give equal strings whatever escaping the writer used.
// [Card.Encode] writes CRLF lines folded at 75 octets on UTF-8 boundaries,
// quotes parameter values that need it and never writes QUOTED-PRINTABLE.
// [Card.ConvertTo] converts between 3.0 and 4.0 (PHOTO ENCODING=b and data:
// URIs, TYPE=pref and PREF=1, Apple's X-ADDRESSBOOKSERVER-KIND/MEMBER and
// KIND/MEMBER, tel: URIs and text telephone numbers). [Property.Key] and
// [Card.Hash] give a version-independent identity of a property and a
// normalised content hash of a card for the sync engine.
//
// github.com/emersion/go-vcard, which go-webdav uses, is the tests'
// independent reader: every card this package writes must read the same
// with it (vcardtest.GoVCard).
package vcard

// The vCard versions this package reads. It writes V30 and V40; a V21 card
// is written as 3.0.
const (
	V21 = "2.1"
	V30 = "3.0"
	V40 = "4.0"
)
