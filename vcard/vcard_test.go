package vcard

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	govcard "github.com/emersion/go-vcard"

	"github.com/cardbridge/cardbridge/vcard/vcardtest"
)

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

func mustParse(t *testing.T, s string) *Card {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, s)
	}
	return c
}

func card30(lines ...string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"
}

func card40(lines ...string) string {
	return "BEGIN:VCARD\r\nVERSION:4.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"
}

func get(t *testing.T, c *Card, name string) Property {
	t.Helper()
	p, ok := c.Get(name)
	if !ok {
		t.Fatalf("no %s in %#v", name, c.Props)
	}
	return p
}

func TestQuotedPrintableSoftBreak(t *testing.T) {
	c := readCard(t, filepath.Join(corpusDir, "outlook-21-quoted-printable.vcf"))
	if c.Version != V21 {
		t.Errorf("Version = %q", c.Version)
	}
	want := "Pierwsza linia notatki\r\nDruga linia, która jest dość długa, żeby została złamana miękkim łamaniem."
	want = strings.ReplaceAll(want, "\r\n", "\n")
	if got := get(t, c, "NOTE").Text(); got != want {
		t.Errorf("NOTE = %q\nwant %q", got, want)
	}
	if got := get(t, c, "N").Fields(); !reflect.DeepEqual(got, []string{"Wójcik", "Zdzisław", "", "", ""}) {
		t.Errorf("N = %q", got)
	}
	if got := get(t, c, "FN").Text(); got != "Zdzisław Wójcik" {
		t.Errorf("FN = %q", got)
	}
	if got := get(t, c, "ADR").Fields()[2]; got != "ul. Złota 44" {
		t.Errorf("ADR street = %q", got)
	}
	for _, p := range c.Props {
		if p.Param("ENCODING") != nil || p.Param("CHARSET") != nil {
			t.Errorf("%s keeps ENCODING/CHARSET: %v", p.Name, p.Params)
		}
	}
	tel := c.All("TEL")
	if len(tel) != 2 || !reflect.DeepEqual(tel[0].Param("TYPE"), []string{"WORK", "VOICE"}) {
		t.Errorf("bare 2.1 types: %#v", tel)
	}
	email := get(t, c, "EMAIL")
	if !email.HasType("pref") || !email.HasType("internet") {
		t.Errorf("EMAIL types %v", email.Param("TYPE"))
	}
	enc := string(c.Encode())
	if !strings.HasPrefix(enc, "BEGIN:VCARD\r\nVERSION:3.0\r\n") || strings.Contains(enc, "QUOTED-PRINTABLE") || strings.Contains(enc, "=C5") {
		t.Errorf("2.1 must be written as 3.0 without QP:\n%s", enc)
	}

	// more QP: bare QUOTED-PRINTABLE parameter, ISO-8859-1, soft break
	// followed by a line that looks like a property.
	c = mustParse(t, "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;QUOTED-PRINTABLE;CHARSET=ISO-8859-1:caf=E9 =\r\nFN:not a property=\r\n=3D end\r\nFN:Real\r\nEND:VCARD\r\n")
	if got := get(t, c, "NOTE").Text(); got != "café FN:not a property= end" {
		t.Errorf("NOTE = %q", got)
	}
	if got := c.FN(); got != "Real" {
		t.Errorf("FN = %q", got)
	}
	// a trailing '=' just before END:VCARD does not swallow it
	c = mustParse(t, "BEGIN:VCARD\r\nVERSION:2.1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:abc=\r\nEND:VCARD\r\n")
	if got := get(t, c, "NOTE").Text(); got != "abc" {
		t.Errorf("NOTE = %q", got)
	}
}

func TestEscapedSemicolonInStructured(t *testing.T) {
	c := readCard(t, filepath.Join(corpusDir, "escapes-and-structure.vcf"))
	n := get(t, c, "N")
	if got, want := n.Fields(), []string{"O'Brien;Smith", "Seán", "Pádraig,Liam", "", "Jr."}; !reflect.DeepEqual(got, want) {
		t.Errorf("N.Fields = %q, want %q", got, want)
	}
	if got := n.Components()[2]; !reflect.DeepEqual(got, []string{"Pádraig", "Liam"}) {
		t.Errorf("N given names = %q", got)
	}
	if got, want := get(t, c, "ORG").Fields(), []string{"Smith, Jones & Partners", "Legal; Tax"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ORG = %q, want %q", got, want)
	}
	if got, want := get(t, c, "ADR").Fields()[2], "1 Main St, Floor 2"; got != want {
		t.Errorf("ADR street = %q", got)
	}
	if got, want := get(t, c, "NOTE").Text(), "Line one\nLine two with a comma, a semicolon; and a backslash \\ end"; got != want {
		t.Errorf("NOTE = %q", got)
	}
	if got := get(t, c, "FN").Text(); got != "Seán O'Brien;Smith Jr." {
		t.Errorf("FN = %q", got)
	}
	if !strings.Contains(string(c.Encode()), "\r\nN:O'Brien\\;Smith;Seán;Pádraig,Liam;;Jr.\r\n") {
		t.Errorf("N not written back as read:\n%s", c.Encode())
	}
}

func TestEscapeNormalisation(t *testing.T) {
	tests := []struct {
		line string
		want string // canonical Value
		text string // Text()
	}{
		{`NOTE:a,b;c`, `a\,b\;c`, "a,b;c"},
		{`NOTE:a\,b\;c`, `a\,b\;c`, "a,b;c"},
		{`NOTE:x\Ny\nz`, `x\ny\nz`, "x\ny\nz"},
		{`NOTE:C:\Users\me`, `C:\\Users\\me`, `C:\Users\me`},
		{`NOTE:ends\`, `ends\\`, `ends\`},
		{`NOTE:a\:b`, `a:b`, "a:b"},
		{`ORG:A, B;C`, `A\, B;C`, "A, B;C"},
		{`N:Doe;John,Paul;;;`, `Doe;John,Paul;;;`, "Doe;John,Paul;;;"},
		{`CATEGORIES:a,b\,c`, `a,b\,c`, "a,b,c"},
		{`URL:https://x.example/a\,b`, `https://x.example/a,b`, "https://x.example/a,b"},
		{`X-ANDROID-CUSTOM:vnd/x;Bob;1;;`, `vnd/x;Bob;1;;`, "vnd/x;Bob;1;;"},
		{`NOTE:`, ``, ""},
	}
	for _, tt := range tests {
		c := mustParse(t, card30(tt.line))
		p := c.Props[0]
		if p.Value != tt.want {
			t.Errorf("%s: Value = %q, want %q", tt.line, p.Value, tt.want)
		}
		if got := p.Text(); got != tt.text {
			t.Errorf("%s: Text = %q, want %q", tt.line, got, tt.text)
		}
	}
}

func TestCategoriesList(t *testing.T) {
	c := readCard(t, filepath.Join(corpusDir, "v4-full.vcf"))
	cat := get(t, c, "CATEGORIES")
	want := []string{"Science", "Nobel, twice", "Family"}
	if got := cat.List(); !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	for _, v := range []string{V30, V40} {
		enc := c.ConvertTo(v).Encode()
		if !bytes.Contains(enc, []byte("\r\nCATEGORIES:Science,Nobel\\, twice,Family\r\n")) {
			t.Errorf("%s: CATEGORIES not written as a list:\n%s", v, enc)
		}
		back, err := Parse(enc)
		if err != nil {
			t.Fatal(err)
		}
		if got := get(t, back, "CATEGORIES").List(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip List = %q", v, got)
		}
	}
	p := NewList("categories", "Science", "Nobel, twice", "Family")
	if p.Value != `Science,Nobel\, twice,Family` || p.Name != "CATEGORIES" {
		t.Errorf("NewList = %#v", p)
	}
	if got := NewList("NICKNAME", "Jim; Jimmy").List(); !reflect.DeepEqual(got, []string{"Jim; Jimmy"}) {
		t.Errorf("NewList(NICKNAME) = %q", got)
	}
}

func TestNewConstructors(t *testing.T) {
	tests := []struct {
		p    Property
		want string
	}{
		{NewText("fn", "a, b; c\\d\ne"), `a\, b\; c\\d\ne`},
		{NewText("URL", "https://x.example/?a=1,2;b"), "https://x.example/?a=1,2;b"},
		{NewText("X-FOO", "a,b"), `a\,b`},
		{NewStructured("ORG", "Smith, Jones", "Legal; Tax"), `Smith\, Jones;Legal\; Tax`},
		{NewStructured("N", "O'Brien;Smith", "Seán", "Pádraig,Liam", "", "Jr."), `O'Brien\;Smith;Seán;Pádraig,Liam;;Jr.`},
	}
	for _, tt := range tests {
		if tt.p.Value != tt.want {
			t.Errorf("%s: Value = %q, want %q", tt.p.Name, tt.p.Value, tt.want)
		}
		// constructors give canonical values: a parse of the encoding is equal
		c := New(V40)
		c.Props = append(c.Props, tt.p)
		back := mustParse(t, string(c.Encode()))
		if !reflect.DeepEqual(back.Props[0], tt.p) {
			t.Errorf("%s: after encode/parse %#v, want %#v", tt.p.Name, back.Props[0], tt.p)
		}
	}
	if got := NewText("FN", "a, b; c\\d\ne").Text(); got != "a, b; c\\d\ne" {
		t.Errorf("Text = %q", got)
	}
	if got := NewStructured("ORG", "Smith, Jones", "Legal; Tax").Fields(); !reflect.DeepEqual(got, []string{"Smith, Jones", "Legal; Tax"}) {
		t.Errorf("Fields = %q", got)
	}
}

func TestFoldingUTF8(t *testing.T) {
	c := readCard(t, filepath.Join(corpusDir, "utf8-emoji-long.vcf"))
	note := get(t, c, "NOTE").Text()
	if !strings.Contains(note, "🎉") || !utf8.ValidString(note) {
		t.Fatalf("NOTE = %q", note)
	}
	for _, v := range []string{V30, V40} {
		enc := c.ConvertTo(v).Encode()
		checkLines(t, enc)
		back := mustParse(t, string(enc))
		if got := get(t, back, "NOTE").Text(); got != note {
			t.Errorf("%s: NOTE changed:\n%q\n%q", v, got, note)
		}
	}
	// every offset of a 4-byte character against the fold point
	for pad := 0; pad < 8; pad++ {
		c := New(V30)
		c.Props = append(c.Props, NewText("NOTE", strings.Repeat("x", pad)+strings.Repeat("🎉é文", 40)))
		enc := c.Encode()
		checkLines(t, enc)
		if got := get(t, mustParse(t, string(enc)), "NOTE"); !reflect.DeepEqual(got, c.Props[0]) {
			t.Errorf("pad %d: %q", pad, got.Value)
		}
	}
	// exactly 75 octets: not folded; 76: folded
	for n, folded := range map[int]bool{75: false, 76: true} {
		c := New(V30)
		c.Props = append(c.Props, NewText("NOTE", strings.Repeat("a", n-len("NOTE:"))))
		lines := strings.Split(strings.TrimSuffix(string(c.Encode()), "\r\n"), "\r\n")
		if got := len(lines) == 5; got != folded {
			t.Errorf("%d octets: folded=%v, lines %q", n, got, lines)
		}
	}
}

func TestLineEndingsAndFolding(t *testing.T) {
	crlf := card30("UID:x", "NOTE:abc", " def", "\tghi", "FN:X")
	lf := strings.ReplaceAll(crlf, "\r\n", "\n")
	cr := strings.ReplaceAll(crlf, "\r\n", "\r")
	for name, s := range map[string]string{"crlf": crlf, "lf": lf, "cr": cr} {
		c := mustParse(t, s)
		if got := get(t, c, "NOTE").Text(); got != "abcdefghi" {
			t.Errorf("%s: NOTE = %q", name, got)
		}
		if c.FN() != "X" {
			t.Errorf("%s: FN = %q", name, c.FN())
		}
	}
	c := readCard(t, filepath.Join(corpusDir, "lf-and-tab-folding.vcf"))
	if got := get(t, c, "NOTE").Text(); !strings.HasSuffix(got, "and usesLF line endings, as some Unix tools write.") {
		t.Errorf("NOTE = %q", got)
	}
}

func TestParamQuotingAndCaret(t *testing.T) {
	c := New(V40)
	c.Props = append(c.Props,
		NewStructured("ADR", "", "", "Main St").WithParam("LABEL", "a:b;c"),
		NewText("X-A", "v").WithParam("X-Q", `say "hi"`+"\nbye ^ caret"),
		NewText("X-B", "v").WithParam("X-LIST", "one", "two,three"),
	)
	enc := string(c.Encode())
	for _, want := range []string{
		"ADR;LABEL=\"a:b;c\":;;Main St\r\n",
		"X-A;X-Q=say ^'hi^'^nbye ^^ caret:v\r\n",
		"X-B;X-LIST=one,\"two,three\":v\r\n",
	} {
		if !strings.Contains(enc, want) {
			t.Errorf("encoding lacks %q:\n%s", want, enc)
		}
	}
	back := mustParse(t, enc)
	if !reflect.DeepEqual(back.Props, c.Props) {
		t.Errorf("round trip:\n got %#v\nwant %#v", back.Props, c.Props)
	}

	// input: quoted values with : ; , and caret escapes, TYPE lists
	in := mustParse(t, card40(
		`ADR;TYPE="work,pref";LABEL="1 Main St.^nSpringfield, IL ^'USA^'":;;1 Main St.;Springfield;IL;;USA`,
		`ADR;TYPE=work;LABEL="Rue 11\n75005 Paris":;;Rue 11;Paris;;75005;France`,
		`X-Y;X-P="a:b";X-Q=plain:value:with:colons`,
	))
	adr := in.Props[0]
	if got := adr.Param("TYPE"); !reflect.DeepEqual(got, []string{"work", "pref"}) {
		t.Errorf("TYPE = %q", got)
	}
	if got := adr.Param("label"); !reflect.DeepEqual(got, []string{"1 Main St.\nSpringfield, IL \"USA\""}) {
		t.Errorf("LABEL = %q", got)
	}
	if got := in.Props[1].Param("LABEL"); !reflect.DeepEqual(got, []string{"Rue 11\n75005 Paris"}) {
		t.Errorf("LABEL with \\n = %q", got)
	}
	x := in.Props[2]
	if x.Value != "value:with:colons" || x.Param("X-P")[0] != "a:b" || x.Param("X-Q")[0] != "plain" {
		t.Errorf("X-Y = %#v", x)
	}
}

func TestPrefConversion(t *testing.T) {
	c3 := mustParse(t, card30("UID:p", "FN:P", "EMAIL;type=INTERNET;type=pref:a@x.example", "TEL;TYPE=pref:+1 555", "EMAIL;TYPE=HOME:b@x.example"))
	c4 := c3.ConvertTo(V40)
	e := c4.Props[2]
	if e.HasType("pref") || !reflect.DeepEqual(e.Param("PREF"), []string{"1"}) || !reflect.DeepEqual(e.Param("TYPE"), []string{"INTERNET"}) {
		t.Errorf("3->4 EMAIL params %#v", e.Params)
	}
	if tel := c4.Props[3]; tel.Param("TYPE") != nil || !reflect.DeepEqual(tel.Param("PREF"), []string{"1"}) {
		t.Errorf("3->4 TEL params %#v", tel.Params)
	}
	if h := c4.Props[4]; h.Param("PREF") != nil {
		t.Errorf("3->4 no pref: %#v", h.Params)
	}
	back := c4.ConvertTo(V30)
	if e := back.Props[2]; !e.HasType("pref") || e.Param("PREF") != nil {
		t.Errorf("4->3 EMAIL params %#v", e.Params)
	}
	if !strings.Contains(string(back.Encode()), "EMAIL;TYPE=INTERNET,pref:a@x.example") {
		t.Errorf("4->3:\n%s", back.Encode())
	}
	// PREF other than 1 survives a trip through 3.0
	v4 := mustParse(t, card40("LANG;PREF=1:pl", "LANG;PREF=2:fr"))
	rt := v4.ConvertTo(V30).ConvertTo(V40)
	if !reflect.DeepEqual(rt.Props, v4.Props) {
		t.Errorf("4->3->4: %#v", rt.Props)
	}
	if c3.Hash() != c4.Hash() || c3.Hash() != back.Hash() {
		t.Errorf("hash changes with pref representation")
	}
}

func TestPhotoConversion(t *testing.T) {
	c3 := readCard(t, filepath.Join(corpusDir, "apple-30-labels-photo.vcf"))
	p3 := get(t, c3, "PHOTO")
	raw3, err := base64.StdEncoding.DecodeString(p3.Value)
	if err != nil {
		t.Fatalf("PHOTO base64: %v", err)
	}
	c4 := c3.ConvertTo(V40)
	p4 := get(t, c4, "PHOTO")
	if !strings.HasPrefix(p4.Value, "data:image/jpeg;base64,") || p4.Params != nil {
		t.Fatalf("4.0 PHOTO = %#v", p4)
	}
	back := get(t, c4.ConvertTo(V30), "PHOTO")
	if !reflect.DeepEqual(back.Param("ENCODING"), []string{"b"}) || !reflect.DeepEqual(back.Param("TYPE"), []string{"JPEG"}) {
		t.Errorf("3.0 PHOTO params %#v", back.Params)
	}
	raw33, err := base64.StdEncoding.DecodeString(back.Value)
	if err != nil || !bytes.Equal(raw33, raw3) {
		t.Errorf("PHOTO bytes changed after 3->4->3 (%v)", err)
	}
	// 4.0 data URI -> 3.0 and back
	v4 := readCard(t, filepath.Join(corpusDir, "v4-full.vcf"))
	d := get(t, v4, "PHOTO")
	p := get(t, v4.ConvertTo(V30), "PHOTO")
	if p.Param("ENCODING") == nil || strings.HasPrefix(p.Value, "data:") {
		t.Errorf("4->3 PHOTO %#v", p.Params)
	}
	if got := get(t, v4.ConvertTo(V30).ConvertTo(V40), "PHOTO"); got.Value != d.Value {
		t.Errorf("4->3->4 PHOTO changed")
	}
	// URI photos: VALUE=uri in 3.0, none in 4.0
	g := readCard(t, filepath.Join(corpusDir, "google-export.vcf"))
	if got := get(t, g.ConvertTo(V30), "PHOTO"); !reflect.DeepEqual(got.Param("VALUE"), []string{"uri"}) {
		t.Errorf("3.0 URI PHOTO params %#v", got.Params)
	}
	if got := get(t, g.ConvertTo(V40), "PHOTO"); got.Params != nil || got.Value != "https://lh3.example.com/photo/abc.jpg" {
		t.Errorf("4.0 URI PHOTO %#v", got)
	}
	// 2.1 BASE64 PHOTO with unindented continuation and a blank line
	c21 := mustParse(t, "BEGIN:VCARD\r\nVERSION:2.1\r\nPHOTO;ENCODING=BASE64;TYPE=PNG:iVBORw0K\r\n  GgoAAAAN\r\nSUhEUg==\r\n\r\nFN:x\r\nEND:VCARD\r\n")
	ph := get(t, c21, "PHOTO")
	if ph.Value != "iVBORw0KGgoAAAANSUhEUg==" || ph.Param("ENCODING")[0] != "b" {
		t.Errorf("2.1 PHOTO = %#v", ph)
	}
	if got := get(t, c21.ConvertTo(V40), "PHOTO").Value; got != "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==" {
		t.Errorf("2.1 PHOTO in 4.0 = %q", got)
	}
}

func TestGroupCards(t *testing.T) {
	apple := readCard(t, filepath.Join(corpusDir, "apple-30-group.vcf"))
	v4 := apple.ConvertTo(V40)
	if got := get(t, v4, "KIND").Text(); got != "group" {
		t.Errorf("KIND = %q", got)
	}
	if m := v4.All("MEMBER"); len(m) != 2 || m[0].Value != "urn:uuid:4F3A9C1E-2D7B-4C36-9E1A-7B0C5D2E8F11" {
		t.Errorf("MEMBER = %#v", m)
	}
	if len(v4.All("X-ADDRESSBOOKSERVER-MEMBER")) != 0 || len(v4.All("X-ADDRESSBOOKSERVER-KIND")) != 0 {
		t.Errorf("Apple properties left in 4.0")
	}
	if apple.Hash() != v4.Hash() {
		t.Errorf("hash differs between the Apple and the 4.0 form")
	}

	g4 := readCard(t, filepath.Join(corpusDir, "v4-group.vcf"))
	g3 := g4.ConvertTo(V30)
	enc := string(g3.Encode())
	for _, want := range []string{
		"\r\nX-ADDRESSBOOKSERVER-KIND:group\r\n",
		"\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:0b6f6a53-9a5e-4f0e-b1c9-3a4f8d2e7c60\r\n",
		"\r\nX-ADDRESSBOOKSERVER-MEMBER:mailto:ola@example.net\r\n",
	} {
		if !strings.Contains(enc, want) {
			t.Errorf("3.0 group lacks %q:\n%s", want, enc)
		}
	}
	if strings.Contains(enc, "\r\nKIND") || strings.Contains(enc, "\r\nMEMBER") {
		t.Errorf("4.0 properties left in 3.0:\n%s", enc)
	}
	if !reflect.DeepEqual(g3.ConvertTo(V40).Props, g4.Props) {
		t.Errorf("4->3->4 group changed")
	}
	if g3.Hash() != g4.Hash() {
		t.Errorf("hash differs")
	}
}

func TestTelURI(t *testing.T) {
	v4 := mustParse(t, card40("TEL;VALUE=uri;TYPE=cell:tel:+1-555-0100", "TEL;VALUE=uri:tel:+33-1-55;ext=123", "TEL;VALUE=uri:sip:alice@example.com", "TEL:+1 555 0199"))
	v3 := v4.ConvertTo(V30)
	want3 := []string{"TEL;TYPE=cell:+1-555-0100", `TEL:+33-1-55\;ext=123`, "TEL;VALUE=uri:sip:alice@example.com", "TEL:+1 555 0199"}
	for i, w := range want3 {
		if got := strings.TrimSuffix(string(appendProperty(nil, &v3.Props[i], false)), "\r\n"); got != w {
			t.Errorf("4->3 TEL %d = %q, want %q", i, got, w)
		}
	}
	if got := v3.Props[0].Text(); got != "+1-555-0100" {
		t.Errorf("Text = %q", got)
	}
	back := v3.ConvertTo(V40)
	if !reflect.DeepEqual(back.Props, v4.Props) {
		t.Errorf("4->3->4:\n got %#v\nwant %#v", back.Props, v4.Props)
	}
	// 3.0 text -> 4.0: a tel: URI when the text is a valid global number,
	// text otherwise (4.0 allows text; spaces are not allowed in tel: URIs)
	c3 := mustParse(t, card30("TEL;TYPE=WORK:+1-555", "TEL:(650) 555-0111"))
	c4 := c3.ConvertTo(V40)
	if p := c4.Props[0]; p.Value != "tel:+1-555" || p.Param("VALUE")[0] != "uri" {
		t.Errorf("3->4 TEL = %#v", p)
	}
	if p := c4.Props[1]; p.Value != "(650) 555-0111" || p.Param("VALUE") != nil {
		t.Errorf("3->4 local TEL = %#v", p)
	}
	if !reflect.DeepEqual(c4.ConvertTo(V30).Props, c3.Props) {
		t.Errorf("3->4->3 TEL changed: %#v", c4.ConvertTo(V30).Props)
	}
	if v3.Hash() != v4.Hash() || c3.Hash() != c4.Hash() {
		t.Errorf("hash differs between tel: URI and text")
	}
	if v3.Props[0].Key() != v4.Props[0].Key() {
		t.Errorf("Key %q != %q", v3.Props[0].Key(), v4.Props[0].Key())
	}
}

func TestHash(t *testing.T) {
	base := card30(
		"UID:h-1", "FN:Anna Nowak", "N:Nowak;Anna;;;",
		"EMAIL;TYPE=WORK;TYPE=pref:anna@x.example",
		"TEL;TYPE=CELL:+48 600 100 200",
		"NOTE:one\\, two",
		"REV:20260101T000000Z", "PRODID:-//A//EN",
	)
	h := mustParse(t, base).Hash()
	if len(h) != 64 {
		t.Fatalf("Hash = %q", h)
	}
	same := map[string]string{
		"4.0": string(mustParse(t, base).ConvertTo(V40).Encode()),
		"reordered, REV and PRODID changed": card30(
			"REV:2027-05-05T10:00:00Z", "PRODID:-//B//EN",
			"NOTE:one\\, two", "TEL;TYPE=CELL:+48 600 100 200",
			"FN:Anna Nowak", "EMAIL;type=pref;type=work:anna@x.example", "N:Nowak;Anna", "UID:h-1"),
		"folding and LF": strings.ReplaceAll(card30(
			"UID:h-1", "FN:Anna", "  Nowak", "N:Nowak;Anna;;;",
			"EMAIL;TYPE=WORK,PREF:anna@x.example", "TEL;TYPE=CELL:+48 600 100 200", "NOTE:one\\,", "\t two"), "\r\n", "\n"),
		"lower-case names, no REV": card30(
			"uid:h-1", "fn:Anna Nowak", "n:Nowak;Anna;;;",
			"email;type=work;pref=1:anna@x.example", "tel;type=cell:+48 600 100 200", "note:one\\, two"),
		"2.1 with QP": "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:h-1\r\nFN;ENCODING=QUOTED-PRINTABLE:Anna=20Nowak\r\nN:Nowak;Anna;;;\r\nEMAIL;WORK;PREF:anna@x.example\r\nTEL;CELL:+48 600 100 200\r\nNOTE:one, two\r\nEND:VCARD\r\n",
		"empty N of a company": card30(
			"UID:h-1", "FN:Anna Nowak", "N:Nowak;Anna;;;", "ORG:;", "EMAIL;TYPE=WORK;TYPE=pref:anna@x.example",
			"TEL;TYPE=CELL:+48 600 100 200", "NOTE:one\\, two"),
	}
	for name, s := range same {
		if got := mustParse(t, s).Hash(); got != h {
			t.Errorf("%s: hash differs:\n%s", name, s)
		}
	}
	different := map[string]string{
		"value changed":  strings.Replace(base, "+48 600 100 200", "+48 600 100 201", 1),
		"type changed":   strings.Replace(base, "TYPE=CELL", "TYPE=HOME", 1),
		"comma escaping": strings.Replace(base, "NOTE:one\\, two", "NOTE:one\\; two", 1),
		"property added": strings.Replace(base, "REV:", "TITLE:Boss\r\nREV:", 1),
		"group added":    strings.Replace(base, "TEL;", "item1.TEL;", 1),
		"pref dropped":   strings.Replace(base, ";TYPE=pref", "", 1),
	}
	for name, s := range different {
		if got := mustParse(t, s).Hash(); got == h {
			t.Errorf("%s: hash unchanged", name)
		}
	}
}

func TestKey(t *testing.T) {
	pairs := [][2]string{
		{"EMAIL;TYPE=HOME;TYPE=pref:a@x", "EMAIL;PREF=1;type=home:a@x"},
		{"item1.URL;VALUE=uri:https://x", "ITEM1.URL:https://x"},
		{"BDAY;VALUE=date:1975-02-24", "BDAY:19750224"},
		{"N:Doe;John;;;", "N:Doe;John"},
		{"X-ADDRESSBOOKSERVER-KIND:group", "KIND:GROUP"},
		{"TEL;VALUE=uri:tel:+1-555", "TEL:+1-555"},
		{"PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=", "PHOTO:data:image/png;base64,iVBORw0KGgo="},
		{"TEL;TYPE=\"voice,cell\":1", "TEL;TYPE=CELL;TYPE=VOICE:1"},
	}
	for _, pr := range pairs {
		a, b := mustParse(t, card30(pr[0])).Props[0], mustParse(t, card40(pr[1])).Props[0]
		if a.Key() != b.Key() {
			t.Errorf("Key(%s) = %q\nKey(%s) = %q", pr[0], a.Key(), pr[1], b.Key())
		}
	}
	if a, b := mustParse(t, card30("NOTE:a")).Props[0], mustParse(t, card30("NOTE:b")).Props[0]; a.Key() == b.Key() {
		t.Errorf("different values, same key")
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, in string
		err      error
		msg      string
	}{
		{"no colon", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nTHIS LINE IS BROKEN\r\nEND:VCARD\r\n", ErrMalformedLine, "line 4"},
		{"no colon after params", "BEGIN:VCARD\nVERSION:3.0\nTEL;TYPE=CELL\nEND:VCARD\n", ErrMalformedLine, "line 3"},
		{"unterminated quote", "BEGIN:VCARD\nVERSION:3.0\nADR;LABEL=\"abc:;;x\nEND:VCARD\n", ErrMalformedLine, "line 3"},
		{"bad name", "BEGIN:VCARD\nVERSION:3.0\nF@N:x\nEND:VCARD\n", ErrMalformedLine, "line 3"},
		{"not a vcard", "hello world\n", ErrNotVCard, "line 1"},
		{"vcalendar", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ErrNotVCard, "BEGIN:VCALENDAR"},
		{"empty", "", ErrNotVCard, "empty"},
		{"blank", "\r\n \r\n", ErrNotVCard, "empty"},
		{"missing end", "BEGIN:VCARD\nVERSION:3.0\nFN:x\n", ErrMissingEnd, "line 1"},
		{"begin inside", "BEGIN:VCARD\nVERSION:3.0\nFN:x\nBEGIN:VCARD\nFN:y\nEND:VCARD\n", ErrMissingEnd, "line 4"},
		{"two cards", "BEGIN:VCARD\nFN:x\nEND:VCARD\nBEGIN:VCARD\nFN:y\nEND:VCARD\n", ErrMultipleCards, "line 4"},
		{"junk after end", "BEGIN:VCARD\nFN:x\nEND:VCARD\ntrailing\n", ErrMalformedLine, "line 4"},
		{"version", "BEGIN:VCARD\nVERSION:5.0\nFN:x\nEND:VCARD\n", ErrVersion, "line 2"},
		{"binary", "BEGIN:VCARD\nFN:\x00\x01\nEND:VCARD\n", ErrNotVCard, "binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestTolerance(t *testing.T) {
	in := "\uFEFF\r\n\r\nbegin:vcard  \r\nversion:3.0\r\nfn:Lower Case\r\n\r\nitem1.email;type=internet;type=HOME;TYPE=pref:l@x.example\r\n" +
		"bday;value=date:1980-01-02\r\nNOTE:\r\nTITLE:Boss  \r\nTEL;;TYPE=CELL:1\r\nX-EMPTY;X-P=:v\r\nORG :Acme\r\nend:vcard\r\n\r\n"
	c := mustParse(t, in)
	if c.Version != V30 || c.FN() != "Lower Case" {
		t.Fatalf("card %#v", c)
	}
	e := get(t, c, "EMAIL")
	if e.Group != "item1" || !reflect.DeepEqual(e.Param("TYPE"), []string{"internet", "HOME", "pref"}) {
		t.Errorf("EMAIL %#v", e)
	}
	if b := get(t, c, "BDAY"); b.Value != "1980-01-02" || b.Param("VALUE")[0] != "date" {
		t.Errorf("BDAY %#v", b)
	}
	if n := get(t, c, "NOTE"); n.Value != "" {
		t.Errorf("NOTE %#v", n)
	}
	if got := get(t, c, "TITLE").Text(); got != "Boss  " {
		t.Errorf("TITLE %q", got)
	}
	if got := get(t, c, "ORG").Fields(); !reflect.DeepEqual(got, []string{"Acme"}) {
		t.Errorf("ORG %q", got)
	}
	if got := get(t, c, "X-EMPTY").Param("X-P"); !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("X-P %q", got)
	}
	// no VERSION: 3.0; UTF-16 with BOM; invalid UTF-8 read as Windows-1252
	if c := mustParse(t, "BEGIN:VCARD\nFN:x\nEND:VCARD"); c.Version != V30 {
		t.Errorf("default version %q", c.Version)
	}
	u16 := []byte{0xFF, 0xFE}
	for _, r := range "BEGIN:VCARD\r\nFN:Zoë\r\nEND:VCARD\r\n" {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	if c, err := Parse(u16); err != nil || c.FN() != "Zoë" {
		t.Errorf("UTF-16: %v %#v", err, c)
	}
	if c := mustParse(t, "BEGIN:VCARD\nFN:caf\xe9\nEND:VCARD"); c.FN() != "café" {
		t.Errorf("latin-1 FN %q", c.FN())
	}
}

func TestCardMethods(t *testing.T) {
	c := New(V30)
	c.SetUID("u-1")
	c.SetFN("First")
	c.Add(NewText("email", "a@x"))
	c.Add(NewText("EMAIL", "b@x"))
	c.SetFN("Second")
	if c.UID() != "u-1" || c.FN() != "Second" || len(c.Props) != 4 || c.Props[1].Name != "FN" {
		t.Errorf("card %#v", c.Props)
	}
	if got := c.All("email"); len(got) != 2 || got[1].Text() != "b@x" {
		t.Errorf("All = %#v", got)
	}
	clone := c.Clone()
	clone.Props[2].Params = append(clone.Props[2].Params, Param{Name: "TYPE", Values: []string{"HOME"}})
	clone.Set(NewText("EMAIL", "only@x"))
	if len(c.All("EMAIL")) != 2 || c.Props[2].Params != nil {
		t.Errorf("Clone shares data with the original")
	}
	if got := clone.All("EMAIL"); len(got) != 1 || got[0].Text() != "only@x" {
		t.Errorf("Set = %#v", got)
	}
	c.Remove("Email")
	if _, ok := c.Get("EMAIL"); ok || len(c.Props) != 2 {
		t.Errorf("Remove left %#v", c.Props)
	}
	if _, ok := c.Rev(); ok {
		t.Errorf("Rev without REV")
	}
	for in, want := range map[string]time.Time{
		"20250103T101500Z":          time.Date(2025, 1, 3, 10, 15, 0, 0, time.UTC),
		"2026-10-02T08:16:00Z":      time.Date(2026, 10, 2, 8, 16, 0, 0, time.UTC),
		"2026-10-02T10:16:00+02:00": time.Date(2026, 10, 2, 8, 16, 0, 0, time.UTC),
		"20261002T101600+0200":      time.Date(2026, 10, 2, 8, 16, 0, 0, time.UTC),
		"2026-10-02":                time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC),
		"20261002":                  time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC),
		"2026-10-02T08:16:00.123Z":  time.Date(2026, 10, 2, 8, 16, 0, 123e6, time.UTC),
	} {
		c.Set(NewText("REV", in))
		got, ok := c.Rev()
		if !ok || !got.Equal(want) {
			t.Errorf("Rev(%s) = %v %v, want %v", in, got, ok, want)
		}
	}
	v4 := readCard(t, filepath.Join(corpusDir, "v4-full.vcf"))
	if v4.UID() != "urn:uuid:0b6f6a53-9a5e-4f0e-b1c9-3a4f8d2e7c60" {
		t.Errorf("4.0 UID %q", v4.UID())
	}
	if x := get(t, v4, "X-CUSTOM-FIELD"); x.Text() != "must survive a round trip" || x.Param("x-param")[0] != "keep" {
		t.Errorf("X- property %#v", x)
	}
}

func TestIsSingle(t *testing.T) {
	for _, n := range []string{"FN", "n", "BDAY", "ANNIVERSARY", "GENDER", "KIND", "X-ADDRESSBOOKSERVER-KIND", "UID", "REV", "PRODID", "NOTE", "ORG", "TITLE", "ROLE", "PHOTO", "LOGO", "NICKNAME", "TZ", "GEO", "BIRTHPLACE"} {
		if !IsSingle(n) {
			t.Errorf("IsSingle(%s) = false", n)
		}
	}
	for _, n := range []string{"EMAIL", "TEL", "ADR", "URL", "IMPP", "MEMBER", "X-ADDRESSBOOKSERVER-MEMBER", "CATEGORIES", "RELATED", "LANG", "X-UNKNOWN", "X-ABLabel"} {
		if IsSingle(n) {
			t.Errorf("IsSingle(%s) = true", n)
		}
	}
}

// TestGoVCardReadsWhatWeWrite: every corpus card as the project stores it
// (Encode) and as it serves it (Export to 3.0 and 4.0) reads the same with
// github.com/emersion/go-vcard, an independent reader (go-webdav's), as
// with the strict validator's own parser; and go-vcard's view of a few
// values is the one a client would show.
func TestGoVCardReadsWhatWeWrite(t *testing.T) {
	for _, f := range corpusFiles(t) {
		if isBad(f) {
			continue
		}
		c := readCard(t, f)
		for _, enc := range [][]byte{c.Encode(), c.Export(V30).Encode(), c.Export(V40).Encode()} {
			for _, p := range vcardtest.GoVCard(enc) {
				t.Errorf("%s: %v\n%s", filepath.Base(f), p, enc)
			}
		}
	}
	gc, err := govcard.NewDecoder(bytes.NewReader(readCard(t, filepath.Join(corpusDir, "escapes-and-structure.vcf")).Encode())).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if got := gc.Value("NOTE"); got != "Line one\nLine two with a comma, a semicolon\\; and a backslash \\ end" {
		t.Errorf("go-vcard NOTE %q", got)
	}
	if got := gc.Categories(); !reflect.DeepEqual(got, []string{"Clients", "VIP"}) {
		t.Errorf("go-vcard categories %q", got)
	}
	gc, err = govcard.NewDecoder(bytes.NewReader(readCard(t, filepath.Join(corpusDir, "no-uid.vcf")).Encode())).Decode()
	if n := gc.Name(); err != nil || n == nil || n.GivenName != "Nobody" || n.FamilyName != "Knows" {
		t.Errorf("go-vcard name %#v (%v)", n, err)
	}
}

func TestNoGroupLoss(t *testing.T) {
	c := readCard(t, filepath.Join(corpusDir, "apple-30-labels-photo.vcf"))
	groups := map[string]int{}
	for _, p := range c.Props {
		groups[p.Group]++
	}
	if groups["item1"] != 2 || groups["item4"] != 2 {
		t.Errorf("groups %v", groups)
	}
	enc := string(c.ConvertTo(V40).Encode())
	for _, want := range []string{"\r\nitem1.EMAIL;TYPE=INTERNET;PREF=1:", "\r\nitem1.X-ABLabel:_$!<Other>!$_\r\n", "\r\nitem4.URL;PREF=1:https://orchard.example/johnny\r\n"} {
		if !strings.Contains(enc, want) {
			t.Errorf("lacks %q:\n%s", want, enc)
		}
	}
}

func TestCorpusFilesReadable(t *testing.T) {
	// guard against a corpus copy that lost its bytes (e.g. CRLF conversion)
	b, err := os.ReadFile(filepath.Join(corpusDir, "apple-30-group.vcf"))
	if err != nil || !bytes.Contains(b, []byte("\r\n")) {
		t.Errorf("corpus copy lost its CRLF line endings (%v)", err)
	}
}
