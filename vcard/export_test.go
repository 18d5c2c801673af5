package vcard

import (
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/vcard/vcardtest"

	"github.com/cardbridge/cardbridge/testutil"
)

// exportCards are the good corpus files and testdata/extra (TZ, GEO,
// year-less and text dates, properties of one version only).
func exportCards(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, f := range corpusFiles(t) {
		if !isBad(f) {
			files = append(files, f)
		}
	}
	extra, err := filepath.Glob(filepath.Join("testdata", "extra", "*.vcf"))
	if err != nil || len(extra) == 0 {
		t.Fatalf("no cards in testdata/extra: %v", err)
	}
	return append(files, extra...)
}

// TestExportValid: every card exported to 3.0 and to 4.0, from its own
// version and from the other, passes the strict validator of that version;
// 4.0 -> 3.0 -> 4.0 and 3.0 -> 4.0 -> 3.0 give the same properties back
// and the hash never changes; the output matches testdata/golden/export.
func TestExportValid(t *testing.T) {
	for _, f := range exportCards(t) {
		base := strings.TrimSuffix(filepath.Base(f), ".vcf")
		t.Run(base, func(t *testing.T) {
			c := readCard(t, f)
			for _, v := range []string{V30, V40} {
				other := V40
				if v == V40 {
					other = V30
				}
				for _, src := range []*Card{c, c.ConvertTo(other), c.Export(other)} {
					enc := src.Export(v).Encode()
					for _, p := range vcardtest.Validate(enc, v) {
						t.Errorf("%s from %s: %v\n%s", v, src.Version, p, enc)
					}
					back, err := Parse(enc)
					if err != nil {
						t.Fatalf("%s: %v", v, err)
					}
					if back.Hash() != c.Hash() {
						t.Errorf("%s from %s: hash changed: keys %q, original %q", v, src.Version, nonEmptyKeys(back), nonEmptyKeys(c))
					}
				}
				// there and back: the same properties as exporting straight
				there := c.Export(other)
				again := Export2(t, there, v)
				if want := c.Export(v); !reflect.DeepEqual(nonEmptyKeys(again), nonEmptyKeys(want)) {
					t.Errorf("%s -> %s -> %s:\n got %s\nwant %s", c.Version, other, v, again.Encode(), want.Encode())
				}
				golden := filepath.Join("testdata", "golden", "export", base+"."+strings.ReplaceAll(v, ".", "")+".vcf")
				got := c.Export(v).Encode()
				testutil.Golden(t, golden, got, *update, "go test ./vcard -update")
			}
		})
	}
}

// nonEmptyKeys are the sorted Keys of the properties Hash counts.
func nonEmptyKeys(c *Card) []string {
	var ks []string
	for _, p := range c.Props {
		switch p.Name {
		case "REV", "PRODID", "VERSION":
			continue
		}
		if !isEmptyValue(p.Value) {
			ks = append(ks, p.Key())
		}
	}
	sort.Strings(ks)
	return ks
}

// Export2 encodes c, parses it back (as a client would read and write it)
// and exports that to v.
func Export2(t *testing.T, c *Card, v string) *Card {
	t.Helper()
	back, err := Parse(c.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return back.Export(v)
}

// TestExportProperties: the 3.0 and 4.0 forms of single properties.
func TestExportProperties(t *testing.T) {
	tests := []struct {
		name  string
		from  string // version of in
		in    string // content line
		want3 string // Export(V30) line
		want4 string // Export(V40) line
		back4 string // Export(V40) of the 3.0 form, when not want4
	}{
		{"tz name", V40, "TZ:Europe/Paris", "TZ;VALUE=text:Europe/Paris", "TZ:Europe/Paris", ""},
		{"tz offset 4.0", V40, "TZ;VALUE=utc-offset:-0500", "TZ:-05:00", "TZ;VALUE=utc-offset:-0500", ""},
		{"tz offset 3.0", V30, "TZ:+01:00", "TZ:+01:00", "TZ;VALUE=utc-offset:+0100", ""},
		{"tz text 3.0", V30, "TZ;VALUE=text:America/New_York", "TZ;VALUE=text:America/New_York", "TZ:America/New_York", ""},
		{"tz uri", V40, "TZ;VALUE=uri:https://tz.example/Paris", "X-CARDBRIDGE-TZ;VALUE=uri:https://tz.example/Paris", "TZ;VALUE=uri:https://tz.example/Paris", ""},
		{"geo 4.0", V40, "GEO:geo:48.8566,2.3522", "GEO:48.8566;2.3522", "GEO:geo:48.8566,2.3522", ""},
		{"geo 3.0", V30, "GEO:48.8566;2.3522", "GEO:48.8566;2.3522", "GEO:geo:48.8566,2.3522", ""},
		{"geo altitude", V40, "GEO:geo:1.5,2.5,30;u=10", `GEO;X-CARDBRIDGE-URI="geo:1.5,2.5,30;u=10":1.5;2.5`, "GEO:geo:1.5,2.5,30;u=10", ""},
		{"bday year-less", V40, "BDAY:--0602", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-06-02", "BDAY:--0602", ""},
		{"bday apple", V30, "BDAY;X-APPLE-OMIT-YEAR=1604:1604-06-02", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-06-02", "BDAY:--0602", ""},
		{"bday extended", V30, "BDAY;VALUE=date:1975-02-24", "BDAY:1975-02-24", "BDAY:19750224", ""},
		{"bday basic", V40, "BDAY:19750224", "BDAY:1975-02-24", "BDAY:19750224", ""},
		{"bday time", V40, "BDAY:19850412T1015", "BDAY:1985-04-12T10:15:00", "BDAY:19850412T1015", "BDAY:19850412T101500"},
		{"bday text", V40, "BDAY;VALUE=text:circa 1800", "X-CARDBRIDGE-BDAY;VALUE=text:circa 1800", "BDAY;VALUE=text:circa 1800", ""},
		{"bday month", V40, "BDAY:--04", "X-CARDBRIDGE-BDAY:--04", "BDAY:--04", ""},
		{"bday junk 3.0", V30, "BDAY:someday", "X-CARDBRIDGE-BDAY:someday", "BDAY;VALUE=text:someday", ""},
		{"anniversary", V40, "ANNIVERSARY:20010915", "X-CARDBRIDGE-ANNIVERSARY:20010915", "ANNIVERSARY:20010915", ""},
		{"rev extended", V30, "REV:2026-10-02T08:16:00Z", "REV:2026-10-02T08:16:00Z", "REV:20261002T081600Z", ""},
		{"rev date", V30, "REV:2026-10-02", "REV:2026-10-02", "REV:20261002T000000Z", ""},
		{"lang", V40, "LANG;PREF=2:fr", "X-CARDBRIDGE-LANG;X-CARDBRIDGE-PREF=2:fr", "LANG;PREF=2:fr", ""},
		{"pref 1", V40, "EMAIL;PREF=1:a@x.example", "EMAIL;TYPE=pref:a@x.example", "EMAIL;PREF=1:a@x.example", ""},
		{"label param", V40, `ADR;LABEL="a\nb":;;x;y;;;`, `ADR;X-CARDBRIDGE-LABEL=a^nb:;;x;y;;;`, `ADR;LABEL=a^nb:;;x;y;;;`, ""},
		{"label property", V30, `LABEL;TYPE=work:1 Main St\nTown`, `LABEL;TYPE=work:1 Main St\nTown`, `X-CARDBRIDGE-LABEL;TYPE=work:1 Main St\nTown`, ""},
		{"class", V30, "CLASS:PUBLIC", "CLASS:PUBLIC", "X-CARDBRIDGE-CLASS:PUBLIC", ""},
		{"kind", V40, "KIND:group", "X-ADDRESSBOOKSERVER-KIND:group", "KIND:group", ""},
		{"gender", V40, "GENDER:M;he/him", "X-CARDBRIDGE-GENDER:M;he/him", "GENDER:M;he/him", ""},
		{"clientpidmap", V40, "CLIENTPIDMAP:1;urn:uuid:1", "X-CARDBRIDGE-CLIENTPIDMAP:1;urn:uuid:1", "CLIENTPIDMAP:1;urn:uuid:1", ""},
		{"pid", V40, "EMAIL;PID=1.1:a@x.example", "EMAIL;X-CARDBRIDGE-PID=1.1:a@x.example", "EMAIL;PID=1.1:a@x.example", ""},
		{"photo uri", V40, "PHOTO;MEDIATYPE=image/png:https://x.example/p.png", "PHOTO;X-CARDBRIDGE-MEDIATYPE=image/png;VALUE=uri:https://x.example/p.png", "PHOTO;MEDIATYPE=image/png:https://x.example/p.png", ""},
		{"photo data", V40, "PHOTO:data:image/jpeg;base64,/9j/", "PHOTO;ENCODING=b;TYPE=JPEG:/9j/", "PHOTO:data:image/jpeg;base64,/9j/", ""},
		{"tel sip", V40, "TEL;VALUE=uri:sip:a@x.example", "X-CARDBRIDGE-TEL;VALUE=uri:sip:a@x.example", "TEL;VALUE=uri:sip:a@x.example", ""},
		{"uid text", V30, "UID:abc-1", "UID:abc-1", "UID;VALUE=text:abc-1", ""},
		{"uid urn", V30, "UID:urn:uuid:1", "UID:urn:uuid:1", "UID:urn:uuid:1", ""},
		{"note semicolon", V40, `NOTE:a;b\,c`, `NOTE:a\;b\,c`, `NOTE:a;b\,c`, ""},
		{"org semicolon", V40, `ORG:A\;B;C`, `ORG:A\;B;C`, `ORG:A\;B;C`, ""},
		{"x kept", V40, "X-FOO;X-BAR=1:x;y", "X-FOO;X-BAR=1:x;y", "X-FOO;X-BAR=1:x;y", ""},
	}
	line := func(t *testing.T, c *Card, skip string) string {
		t.Helper()
		var out []string
		for _, l := range strings.Split(strings.TrimSuffix(string(c.Encode()), "\r\n"), "\r\n") {
			switch {
			case strings.HasPrefix(l, "BEGIN:"), strings.HasPrefix(l, "END:"), strings.HasPrefix(l, "VERSION:"), l == skip, l == "N:;;;;", l == "FN:x":
				continue
			}
			out = append(out, l)
		}
		return strings.Join(out, "|")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte("BEGIN:VCARD\r\nVERSION:" + tt.from + "\r\nFN:x\r\n" + tt.in + "\r\nEND:VCARD\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := line(t, c.Export(V30), ""); got != tt.want3 {
				t.Errorf("3.0: %s, want %s", got, tt.want3)
			}
			if got := line(t, c.Export(V40), ""); got != tt.want4 {
				t.Errorf("4.0: %s, want %s", got, tt.want4)
			}
			// back from the 3.0 form: the same 4.0 line, the same hash
			back, err := Parse(c.Export(V30).Encode())
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want4
			if tt.back4 != "" {
				want = tt.back4
			}
			if got := line(t, back.Export(V40), ""); got != want {
				t.Errorf("3.0 -> 4.0: %s, want %s", got, want)
			}
			if back.Hash() != c.Hash() {
				t.Errorf("hash of the 3.0 form differs")
			}
		})
	}
}
