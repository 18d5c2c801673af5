package vcard

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// addCorpusSeeds adds every .vcf of the shared corpus (good and bad, kept
// in testdata/corpus and checked against ../shared/corpus by
// TestCorpusCopyMatchesShared) to f's seed corpus, and fails when there is
// none: a fuzz target without its seeds would pass without testing much.
func addCorpusSeeds(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.vcf"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus in %s: %v", corpusDir, err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// A few small hand-made quirks the corpus does not spell out.
	for _, s := range []string{
		"BEGIN:VCARD\nVERSION:4.0\nUID:urn:uuid:1\nFN:A\nEND:VCARD\n",
		"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=\r\n=FCrgen\r\nEND:VCARD\r\n",
		"BEGIN:VCARD\r\nVERSION:3.0\r\nitem1.X-ABLabel:\"a;b\"\r\nEMAIL;TYPE=\"a,b\";X-P=\"^^^n^'\":a@b\r\nNOTE:x\\ny\\,z\\;\\\\\r\nEND:VCARD\r\n",
		"BEGIN:VCARD\r\nVERSION:3.0\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\r\n SkZJRg==\r\nTEL;TYPE=pref:+1-555-0100\r\nEND:VCARD\r\n",
		"\xef\xbb\xbfBEGIN:VCARD\rVERSION:3.0\rFN:\xc3\xa9" + strings.Repeat("\xf0\x9f\x98\x80", 40) + "\rEND:VCARD\r",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse: Parse never panics; a card it reads survives Encode → Parse
// unchanged (the same properties, groups, parameters and values; the same
// version for 3.0 and 4.0), Encode is idempotent, Hash is stable across
// the round trip, every encoded line is at most 75 octets, the output is
// always valid UTF-8 (folding never splits a character), and the
// 3.0⇄4.0 conversions neither panic nor lose UID or FN, and give cards
// that encode to readable text.
func FuzzParse(f *testing.F) {
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a card and an error: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("Parse returned an empty error")
			}
			return
		}
		enc := c.Encode()
		checkEncoded(t, enc)
		// Values and parameters that are not UTF-8 are read as
		// Windows-1252, so the text written is always UTF-8.
		if !utf8.Valid(enc) {
			t.Fatalf("Encode wrote invalid UTF-8 (input valid UTF-8: %v, plain: %v):\n%q", utf8.Valid(data), plainUTF8(data), enc)
		}
		back, err := Parse(enc)
		if err != nil {
			t.Fatalf("Parse(Encode(c)) failed: %v\n%s", err, enc)
		}
		if c.Version == V30 || c.Version == V40 {
			if back.Version != c.Version {
				t.Fatalf("version %s became %s", c.Version, back.Version)
			}
		} else if back.Version != V30 {
			t.Fatalf("a %s card encoded as %s, want 3.0", c.Version, back.Version)
		}
		if !sameProps(c, back) {
			t.Fatalf("Encode → Parse changed the card:\nbefore: %#v\nafter:  %#v\nencoded:\n%s", c.Props, back.Props, enc)
		}
		if enc2 := back.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("Encode is not idempotent:\n%s\n---\n%s", enc, enc2)
		}
		if c.Hash() != back.Hash() {
			t.Fatalf("Hash changed across Encode → Parse:\n%s", enc)
		}
		if c.Hash() != c.Clone().Hash() {
			t.Fatal("Hash of a clone differs")
		}
		for _, v := range []string{V30, V40} {
			conv := c.ConvertTo(v)
			if conv.Version != v {
				t.Fatalf("ConvertTo(%s) gave version %s", v, conv.Version)
			}
			if conv.UID() != c.UID() {
				t.Fatalf("ConvertTo(%s) changed UID %q to %q", v, c.UID(), conv.UID())
			}
			if conv.FN() != c.FN() {
				t.Fatalf("ConvertTo(%s) changed FN %q to %q", v, c.FN(), conv.FN())
			}
			cenc := conv.Encode()
			checkEncoded(t, cenc)
			cback, err := Parse(cenc)
			if err != nil {
				t.Fatalf("Parse(Encode(ConvertTo(%s))) failed: %v\n%s", v, err, cenc)
			}
			if cback.UID() != c.UID() || cback.FN() != c.FN() {
				t.Fatalf("UID/FN lost through ConvertTo(%s) → Encode → Parse:\n%s", v, cenc)
			}
			// Converting back and forth ends where one conversion does.
			other := V40
			if v == V40 {
				other = V30
			}
			twice := conv.ConvertTo(other).ConvertTo(v)
			if twice.UID() != c.UID() || twice.FN() != c.FN() {
				t.Fatalf("UID/FN lost through ConvertTo(%s) → %s → %s", v, other, v)
			}
		}
	})
}

// plainUTF8 reports whether data is text whose values are taken as
// written: no byte order mark or UTF-16, no QUOTED-PRINTABLE, CHARSET or
// base64 that decode to other bytes.
func plainUTF8(data []byte) bool {
	if len(data) >= 2 && (data[0] == 0xFF || data[0] == 0xFE) {
		return false
	}
	up := bytes.ToUpper(data)
	for _, s := range []string{"QUOTED-PRINTABLE", "CHARSET", "ENCODING", "=QP", "QUOTED"} {
		if bytes.Contains(up, []byte(s)) {
			return false
		}
	}
	return true
}

// checkEncoded checks the shape of Encode's output: CRLF line ends, no
// line longer than 75 octets, continuation lines that begin with one space,
// and, when the whole is valid UTF-8, no line that splits a character.
func checkEncoded(t *testing.T, enc []byte) {
	t.Helper()
	if !bytes.HasPrefix(enc, []byte("BEGIN:VCARD\r\nVERSION:")) || !bytes.HasSuffix(enc, []byte("END:VCARD\r\n")) {
		t.Fatalf("Encode gave no BEGIN/VERSION/END frame:\n%q", enc)
	}
	valid := utf8.Valid(enc)
	lines := bytes.Split(enc[:len(enc)-2], []byte("\r\n"))
	for i, l := range lines {
		if len(l) > maxLine {
			t.Fatalf("line %d is %d octets (max %d): %q", i+1, len(l), maxLine, l)
		}
		if bytes.IndexByte(l, '\n') >= 0 || bytes.IndexByte(l, '\r') >= 0 {
			t.Fatalf("line %d holds a bare CR or LF: %q", i+1, l)
		}
		if valid && !utf8.Valid(l) {
			t.Fatalf("line %d splits a UTF-8 character: %q", i+1, l)
		}
		if len(l) == 0 {
			t.Fatalf("line %d is empty", i+1)
		}
	}
}

// sameCard reports whether a and b hold the same version and properties.
func sameCard(a, b *Card) bool { return a.Version == b.Version && sameProps(a, b) }

// sameProps compares properties: names, groups, parameters (nil and empty
// value lists alike) and values, in order.
func sameProps(a, b *Card) bool {
	norm := func(c *Card) []Property {
		out := make([]Property, 0, len(c.Props))
		for _, p := range c.Props {
			q := Property{Group: p.Group, Name: p.Name, Value: p.Value}
			for _, prm := range p.Params {
				vals := append([]string{}, prm.Values...)
				q.Params = append(q.Params, Param{Name: prm.Name, Values: vals})
			}
			out = append(out, q)
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestFuzzFindings are FuzzParse's findings as plain cases: each input
// reads, and reads back from its encoding as the same card.
func TestFuzzFindings(t *testing.T) {
	for _, tc := range []struct{ in, prop string }{
		{"BEGIN:VCARD\n00;,:\nEND:VCARD", "00:"},                              // a bare ',' parameter
		{"BEGIN:VCARD\n0;=:0\nEND:VCARD", "0:0"},                              // a parameter without a name
		{"BEGIN:VCARD\n00;0,QUOTED-PRINTABLE:0=00\nEND:VCARD", "00;TYPE=0:0"}, // =00
		{"BEGIN:VCARD\n0;0\r0:\nEND:VCARD", "0;TYPE=0^n0:"},                   // a CR in a parameter
		{"BEGIN:VCARD\nPHOTO;ENCODING=b;TYPE=JPEG:P/Z\nEND:VCARD", "PHOTO;ENCODING=b;TYPE=JPEG:P/Y="},
		{"BEGIN:VCARD\n0;\xff=x:0\nEND:VCARD", "0;\u00ff=x:0"},                   // a name that is not UTF-8
		{"BEGIN:VCARD\nN;O\rG=x:0\nEND:VCARD", "N;OG=x:0"},                       // a CR in a name
		{"BEGIN:VCARD\n0;\xa0=:0\nEND:VCARD", "0:0"},                             // a name that is white space
		{"BEGIN:VCARD\n0;TYPE=a\xffb:0\nEND:VCARD", "0;TYPE=a\u00ffb:0"},         // a value that is not UTF-8
		{"BEGIN:VCARD\nURL:http\\://x/a\\\\b\nEND:VCARD", "URL:http://x/a\\\\b"}, // \\ in a URI is kept
	} {
		c, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		enc := c.Encode()
		if !bytes.Contains(enc, []byte("\r\n"+tc.prop+"\r\n")) {
			t.Errorf("%q encodes as\n%s\nwant the line %q", tc.in, enc, tc.prop)
		}
		back, err := Parse(enc)
		if err != nil || !sameCard(c, back) {
			t.Errorf("%q: the encoding does not read back as the card (%v)", tc.in, err)
		}
	}
}
