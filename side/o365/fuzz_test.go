package o365

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/cardbridge/cardbridge/engine/sidetest"
	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/vcard"
)

// FuzzMapping fuzzes both directions of the Graph mapping at once.
//
// vCard text → Graph contact → vCard: for a card that parses (and is no
// group), what comes back through the POST/PATCH JSON is exactly
// Project(card) — every property Office 365 can hold is kept, with its
// spelling — and, merged over the original the way the side does (fill),
// it is the original card; Project is idempotent and ToVCard's card is its
// own projection; the contact is within Graph's limits.
//
// Graph JSON → vCard → Graph: for JSON that decodes into a contact, ToVCard
// gives a card that reads back, and the contact that card maps to is
// stable: mapping it again gives the same JSON (a photo comes back as
// given).
//
// Nothing panics on any input.
func FuzzMapping(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(sidetest.CorpusDir(), "*.vcf"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus in %s: %v", sidetest.CorpusDir(), err)
	}
	jsons, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	if len(jsons) == 0 {
		f.Fatal("no Graph JSON in testdata/")
	}
	sort.Strings(files)
	sort.Strings(jsons)
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		js, err := os.ReadFile(jsons[i%len(jsons)])
		if err != nil {
			f.Fatal(err)
		}
		photo := []byte(nil)
		if i%3 == 0 {
			photo = []byte("\xff\xd8\xff\xe0fuzz photo")
		}
		f.Add(data, js, photo)
	}
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nEMAIL;TYPE=pref:a@x\r\nEMAIL:b@x\r\nEMAIL:c@x\r\nEMAIL:d@x\r\nTEL;TYPE=WORK:1\r\nTEL;TYPE=WORK:2\r\nTEL;TYPE=WORK:3\r\nBDAY:--0412\r\nEND:VCARD\r\n"),
		[]byte(`{"displayName":"  x ","emailAddresses":[{"address":"a@x","name":"A"},{"address":""}],"birthday":"1600-01-01T00:00:00Z","homeAddress":{"street":"a\nb"}}`), []byte(nil))

	f.Fuzz(func(t *testing.T, cardText, graphJSON, photo []byte) {
		if card, err := vcard.Parse(cardText); err == nil && !IsGroup(card) {
			checkCardViaGraph(t, card)
		}
		var x api.Contact
		if err := json.Unmarshal(graphJSON, &x); err == nil {
			checkContactViaVCard(t, x, photo)
		}
	})
}

// dedupe returns c without exact duplicate properties (the engine's fill
// works on a set of property keys, so a second identical line is not kept
// apart anyway) and with one UID (the first, the one that counts: the
// engine sets the UID itself).
func dedupe(c *vcard.Card) *vcard.Card {
	out := vcard.New(c.Version)
	seen := make(map[string]bool)
	for _, p := range c.Props {
		if p.Name == "UID" {
			if seen["UID"] {
				continue
			}
			seen["UID"] = true
		}
		if k := p.Key(); !seen[k] {
			seen[k] = true
			out.Props = append(out.Props, p)
		}
	}
	return out
}

func checkCardViaGraph(t *testing.T, card *vcard.Card) {
	card = dedupe(card)
	back := viaGraph(t, card)
	proj := Project(card)
	if back.Hash() != proj.Hash() {
		t.Fatalf("ToVCard(FromVCard(c)) differs from Project(c):\n%s\ncard:\n%s", diffCards(proj, back), card.Encode())
	}
	if Project(proj).Hash() != proj.Hash() {
		t.Fatalf("Project is not idempotent:\n%s\ncard:\n%s", diffCards(proj, Project(proj)), card.Encode())
	}
	if Project(back).Hash() != back.Hash() {
		t.Fatalf("Project(ToVCard(x)) != ToVCard(x):\n%s\ncard:\n%s", diffCards(back, Project(back)), card.Encode())
	}
	// Without an FN, Project composes one that the card does not hold;
	// the side then keeps it, so the merge is the card plus that FN.
	// The merge is in ToVCard's version (3.0), as the engine's fill makes
	// it: it is compared with the card in that version (the fidelity of
	// 3.0⇄4.0 conversion is the vcard package's own concern).
	if card.FN() != "" {
		want := card
		if want.Version != back.Version {
			want = card.ConvertTo(back.Version)
		}
		if m := fill(back, card, Project); m.Hash() != want.Hash() {
			t.Fatalf("merged over the original differs from it:\n%s\ncard:\n%s", diffCards(want, m), card.Encode())
		}
	}
	contact, _ := FromVCard(card)
	raw, err := ContactJSON(contact)
	if err != nil {
		t.Fatalf("ContactJSON: %v", err)
	}
	var chk api.Contact
	if err := json.Unmarshal(raw, &chk); err != nil {
		t.Fatalf("ContactJSON gave bad JSON: %v\n%s", err, raw)
	}
	if len(chk.EmailAddresses) > MaxEmails || len(chk.BusinessPhones) > MaxBusinessPhones ||
		len(chk.HomePhones) > MaxHomePhones || len(chk.ImAddresses) > MaxIMAddresses {
		t.Fatalf("over Graph's limits: %s\ncard:\n%s", raw, card.Encode())
	}
}

func checkContactViaVCard(t *testing.T, x api.Contact, photo []byte) {
	card := ToVCard(x, photo)
	parsed, err := vcard.Parse(card.Encode())
	if err != nil {
		t.Fatalf("ToVCard gave an unreadable card: %v\n%s", err, card.Encode())
	}
	if parsed.Hash() != card.Hash() {
		t.Fatalf("ToVCard's card changes when encoded and parsed:\n%s", card.Encode())
	}
	y, photo1 := FromVCard(parsed)
	card2 := ToVCard(y, photo1)
	parsed2, err := vcard.Parse(card2.Encode())
	if err != nil {
		t.Fatalf("second ToVCard gave an unreadable card: %v\n%s", err, card2.Encode())
	}
	z, photo2 := FromVCard(parsed2)
	if a, b := canonicalJSON(t, y), canonicalJSON(t, z); a != b {
		t.Fatalf("the mapping is not stable:\nvCard 1:\n%s\nvCard 2:\n%s\nonce:  %s\ntwice: %s", card.Encode(), card2.Encode(), a, b)
	}
	if !bytes.Equal(photo1, photo2) {
		t.Fatal("the photo changed on the second trip")
	}
	if len(photo) > 0 && len(photo) <= MaxPhotoBytes && !bytes.Equal(photo, photo1) {
		t.Fatalf("photo of %d bytes lost or changed (%d bytes back)", len(photo), len(photo1))
	}
}

// TestPhotoSpelling is FuzzMapping's finding about photos as a plain test:
// Graph keeps a photo's bytes only, so a PHOTO goes to Graph when ToVCard
// gives it back as the card spells it, and otherwise stays on the vCard
// side (where a respelt photo coming back would count as a change).
func TestPhotoSpelling(t *testing.T) {
	jpeg := "/9j/4AAQSkZJRgABAQ=="
	for _, tc := range []struct {
		line  string
		taken bool
	}{
		{"PHOTO;ENCODING=b;TYPE=JPEG:" + jpeg, true},
		{"PHOTO;ENCODING=b;TYPE=jpeg:" + jpeg, true},
		{"PHOTO;ENCODING=b;TYPE=GIF:" + jpeg, false},
		{"item1.PHOTO;ENCODING=b;TYPE=JPEG:" + jpeg, false},
		{"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ", true}, // unpadded: read as padded
	} {
		card := mustParse(t, "VERSION:3.0", "UID:p1", "FN:Photo Person", tc.line)
		_, photo := FromVCard(card)
		if (photo != nil) != tc.taken {
			t.Errorf("%s: photo taken %v, want %v", tc.line, photo != nil, tc.taken)
		}
		checkCardViaGraph(t, card)
	}
}
