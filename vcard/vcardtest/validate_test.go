package vcardtest

import (
	"strings"
	"testing"
)

func card(version string, lines ...string) string {
	out := "BEGIN:VCARD\r\nVERSION:" + version + "\r\n"
	for _, l := range lines {
		out += l + "\r\n"
	}
	return out + "END:VCARD\r\n"
}

// TestValidate: each case breaks one rule (or none) of one version.
func TestValidate(t *testing.T) {
	long := "NOTE:" + strings.Repeat("x", 80)
	tests := []struct {
		name, version, data string
		want                string // the rule expected, "" for a valid card
	}{
		{"valid 3.0", Version30, card("3.0", "FN:A", "N:A;;;;", `NOTE:a\;b\,c\nd`, "BDAY:1990-01-02", "GEO:48.85;2.35", "TZ:+01:00", "TZ;VALUE=text:Europe/Paris", "PHOTO;ENCODING=b;TYPE=JPEG:/9j/", "PHOTO;VALUE=uri:http://x.example/p.jpg", "EMAIL;TYPE=internet,pref:a@x.example", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-06-02", "X-FOO;X-BAR=1:anything;goes"), ""},
		{"valid 4.0", Version40, card("4.0", "FN:A", `NOTE:a;b\,c\nd`, "BDAY:--0602", "ANNIVERSARY:19900102", "DEATHDATE;VALUE=text:circa 1800", "GEO:geo:48.85,2.35", "TZ:Europe/Paris", "TZ;VALUE=utc-offset:-0500", "PHOTO:data:image/jpeg;base64,/9j/", "EMAIL;PREF=1;TYPE=work:a@x.example", "KIND:group", "MEMBER:urn:uuid:1", "GENDER:F", "LANG;PREF=1:pl", "REV:20261103T120000Z", `ORG:A\;B;C`, "UID:urn:uuid:1", `ADR;LABEL="a\nb":;;x;y;;;`), ""},
		{"bom", Version30, "\xEF\xBB\xBF" + card("3.0", "FN:A", "N:A;;;;"), RuleBOM},
		{"bare LF", Version30, strings.ReplaceAll(card("3.0", "FN:A", "N:A;;;;"), "\r\n", "\n"), RuleCRLF},
		{"no final CRLF", Version40, strings.TrimSuffix(card("4.0", "FN:A"), "\r\n"), RuleCRLF},
		{"long line", Version40, card("4.0", "FN:A", long), RuleLineLength},
		{"folded", Version40, card("4.0", "FN:A", "NOTE:"+strings.Repeat("x", 60), " "+strings.Repeat("y", 60)), ""},
		{"blank line", Version40, card("4.0", "FN:A", ""), RuleFold},
		{"split UTF-8", Version40, card("4.0", "FN:\xc3", " \xa9"), RuleFold},
		{"no FN", Version40, card("4.0", "NOTE:x"), RuleRequired},
		{"3.0 no N", Version30, card("3.0", "FN:A"), RuleRequired},
		{"version late 4.0", Version40, "BEGIN:VCARD\r\nFN:A\r\nVERSION:4.0\r\nEND:VCARD\r\n", RuleStructure},
		{"version late 3.0 is fine", Version30, "BEGIN:VCARD\r\nFN:A\r\nN:A;;;;\r\nVERSION:3.0\r\nEND:VCARD\r\n", ""},
		{"wrong version", Version30, card("4.0", "FN:A", "N:A;;;;"), RuleStructure},
		{"no END", Version40, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\n", RuleStructure},
		{"2.1 bare type", Version30, card("3.0", "FN:A", "N:A;;;;", "TEL;WORK:1"), RuleSyntax},
		{"4.0 property in 3.0", Version30, card("3.0", "FN:A", "N:A;;;;", "KIND:group"), RuleProperty},
		{"ANNIVERSARY in 3.0", Version30, card("3.0", "FN:A", "N:A;;;;", "ANNIVERSARY:19900102"), RuleProperty},
		{"3.0 property in 4.0", Version40, card("4.0", "FN:A", "LABEL:x"), RuleProperty},
		{"PREF in 3.0", Version30, card("3.0", "FN:A", "N:A;;;;", "EMAIL;PREF=1:a@x.example"), RuleParameter},
		{"LABEL param in 3.0", Version30, card("3.0", "FN:A", "N:A;;;;", `ADR;LABEL="x":;;a;b;;;`), RuleParameter},
		{"ENCODING in 4.0", Version40, card("4.0", "FN:A", "PHOTO;ENCODING=b:/9j/"), RuleMedia},
		{"data URI in 3.0", Version30, card("3.0", "FN:A", "N:A;;;;", "PHOTO;VALUE=uri:data:image/jpeg;base64,/9j/"), RuleMedia},
		{"3.0 photo no form", Version30, card("3.0", "FN:A", "N:A;;;;", "PHOTO:http://x.example/p"), RuleMedia},
		{"3.0 bad base64", Version30, card("3.0", "FN:A", "N:A;;;;", "PHOTO;ENCODING=b:!!!"), RuleMedia},
		{"3.0 ENCODING=BASE64", Version30, card("3.0", "FN:A", "N:A;;;;", "PHOTO;ENCODING=BASE64:/9j/"), RuleMedia},
		{"3.0 year-less", Version30, card("3.0", "FN:A", "N:A;;;;", "BDAY:--0602"), RuleDate},
		{"3.0 text bday", Version30, card("3.0", "FN:A", "N:A;;;;", "BDAY;VALUE=text:circa 1800"), RuleValueType},
		{"4.0 extended date", Version40, card("4.0", "FN:A", "BDAY:1990-01-02"), RuleDate},
		{"4.0 bad month", Version40, card("4.0", "FN:A", "BDAY:19901302"), RuleDate},
		{"4.0 VALUE=date", Version40, card("4.0", "FN:A", "BDAY;VALUE=date:19900102"), RuleValueType},
		{"4.0 extended REV", Version40, card("4.0", "FN:A", "REV:2026-11-03T12:00:00Z"), RuleDate},
		{"3.0 geo URI", Version30, card("3.0", "FN:A", "N:A;;;;", "GEO:geo:48.85,2.35"), RuleGeo},
		{"4.0 geo pair", Version40, card("4.0", "FN:A", "GEO:48.85;2.35"), RuleGeo},
		{"3.0 TZ name", Version30, card("3.0", "FN:A", "N:A;;;;", "TZ:Europe/Paris"), RuleTZ},
		{"4.0 TZ offset", Version40, card("4.0", "FN:A", "TZ;VALUE=utc-offset:+01:00"), RuleTZ},
		{"3.0 unescaped ;", Version30, card("3.0", "FN:A", "N:A;;;;", "NOTE:a;b"), RuleEscape},
		{"3.0 unescaped ,", Version30, card("3.0", "FN:A", "N:A;;;;", "NOTE:a,b"), RuleEscape},
		{`4.0 \; in text`, Version40, card("4.0", "FN:A", `NOTE:a\;b`), RuleEscape},
		{"4.0 unescaped , in ORG", Version40, card("4.0", "FN:A", "ORG:a,b"), RuleEscape},
		{"bad escape", Version40, card("4.0", "FN:A", `NOTE:a\qb`), RuleEscape},
		{"4.0 uid not a URI", Version40, card("4.0", "FN:A", "UID:abc def"), RuleURI},
		{"4.0 PREF range", Version40, card("4.0", "FN:A", "EMAIL;PREF=0:a@x.example"), RuleEnum},
		{"4.0 gender", Version40, card("4.0", "FN:A", "GENDER:female"), RuleEnum},
		{"4.0 member without group", Version40, card("4.0", "FN:A", "MEMBER:urn:uuid:1"), RuleCardinality},
		{"4.0 two N", Version40, card("4.0", "FN:A", "N:a;;;;", "N:b;;;;"), RuleCardinality},
		{"control character", Version40, card("4.0", "FN:A\x07"), RuleControl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate([]byte(tt.data), tt.version)
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("valid card gave %v", got)
				}
				return
			}
			for _, p := range got {
				if p.Rule == tt.want {
					return
				}
			}
			t.Fatalf("want a %q problem, got %v", tt.want, got)
		})
	}
}

// TestGoVCard: go-vcard, the independent reader, is held to the content
// lines Validate reads: what it drops, or cannot read at all, is reported.
func TestGoVCard(t *testing.T) {
	tests := []struct {
		name, data string
		want       string // a part of the one problem expected, "" for none
	}{
		{"same reading", card("4.0", "FN:A", `NOTE:a\,b\nc\;d`, `item1.EMAIL;TYPE="work,pref":a@x.example`, "item1.X-ABLABEL:Büro", `X-P;X-Q=^'x^':v`), ""},
		{"a property after END is not read", card("4.0", "FN:A") + "NOTE:late\r\n", "NOTE: go-vcard does not read this property"},
		{"no BEGIN", "VERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n", "go-vcard cannot read the card"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GoVCard([]byte(tt.data))
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("GoVCard = %v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Rule != RuleGoVCard || !strings.Contains(got[0].Detail, tt.want) {
				t.Errorf("GoVCard = %v, want one %s problem with %q", got, RuleGoVCard, tt.want)
			}
		})
	}
}
