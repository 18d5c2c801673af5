package graphsim

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// TestPhotoWriteChangesChangeKey: Exchange keeps a contact's photo as an
// attachment, and adding or removing one alters the contact's change key
// and modification time; an Outlook-side photo change does too and shows
// in delta (unless Options.UntrackedOutlookPhotos).
func TestPhotoWriteChangesChangeKey(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	id := e.alice.Put("", []byte(`{"givenName":"P"}`))
	read := func() (string, string) {
		t.Helper()
		m := e.do("GET", "/v1.0/me/contacts/"+id+"?$select=changeKey,lastModifiedDateTime", tok, nil).json(t)
		return m["changeKey"].(string), m["lastModifiedDateTime"].(string)
	}
	path := "/v1.0/me/contacts/" + id + "/photo/$value"
	for _, step := range []struct {
		name   string
		method string
		body   []byte
		status int
	}{
		{"PUT", "PUT", testutil.JPEG(t, 200), 200},
		{"PUT again", "PUT", testutil.JPEG(t, 200), 200},
		{"DELETE", "DELETE", nil, 204},
	} {
		ck0, mod0 := read()
		e.clock.Add(3 * time.Second)
		var body any
		if step.body != nil {
			body = step.body
		}
		if r := e.do(step.method, path, tok, body, "Content-Type", "image/jpeg"); r.status != step.status {
			t.Fatalf("%s: %d %s", step.name, r.status, r.body)
		}
		ck1, mod1 := read()
		if ck1 == ck0 || mod1 == mod0 {
			t.Errorf("%s photo: changeKey %s→%s, lastModifiedDateTime %s→%s: both must move", step.name, ck0, ck1, mod0, mod1)
		}
	}
	// A DELETE of no photo changes nothing.
	ck0, _ := read()
	e.do("DELETE", path, tok, nil)
	if ck1, _ := read(); ck1 != ck0 {
		t.Errorf("deleting an absent photo moved changeKey")
	}

	for _, untracked := range []bool{false, true} {
		e := newEnv(t, Options{UntrackedOutlookPhotos: untracked})
		tok := e.tok()
		id := e.alice.Put("", []byte(`{"givenName":"P"}`))
		_, dl, _ := e.round(t, "/v1.0/me/contacts/delta", tok, "10")
		raw, _ := e.alice.Get(id)
		e.alice.SetPhoto(id, testutil.JPEG(t, 200))
		raw2, _ := e.alice.Get(id)
		items, _, _ := e.round(t, dl, tok, "10")
		moved := string(raw) != string(raw2)
		if moved == untracked || (len(items) == 1) == untracked {
			t.Errorf("UntrackedOutlookPhotos=%v: Outlook photo change moved the contact %v, delta reported %d items", untracked, moved, len(items))
		}
	}
}

// TestPersonalMailboxRefusesPhotoWrites: a personal account's mailbox
// refuses contact photo writes (reading works) and the contact is left as
// it was.
func TestPersonalMailboxRefusesPhotoWrites(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	id := e.alice.Put("", []byte(`{"givenName":"P"}`))
	e.alice.SetPhoto(id, testutil.JPEG(t, 200))
	e.alice.SetPersonal(true)
	before, _ := e.alice.Get(id)
	path := "/v1.0/me/contacts/" + id + "/photo/$value"
	for _, method := range []string{"PUT", "PATCH", "DELETE"} {
		r := e.do(method, path, tok, testutil.JPEG(t, 200), "Content-Type", "image/jpeg")
		if r.status != PhotoNotSupportedStatus || r.errCode(t) != PhotoNotSupportedCode {
			t.Errorf("%s on a personal mailbox: %d %s", method, r.status, r.body)
		}
	}
	if r := e.do("GET", path, tok, nil); r.status != 200 {
		t.Errorf("reading a photo on a personal mailbox: %d", r.status)
	}
	if after, _ := e.alice.Get(id); string(after) != string(before) {
		t.Errorf("a refused photo write changed the contact")
	}
	if _, ok := e.alice.Photo(id); !ok {
		t.Errorf("a refused DELETE removed the photo")
	}
	// In a batch too.
	_, res, _ := e.batch(t, tok, []map[string]any{{"id": "1", "method": "PUT", "url": "/me/contacts/" + id + "/photo/$value",
		"headers": map[string]string{"Content-Type": "image/jpeg"}, "body": base64.StdEncoding.EncodeToString(testutil.JPEG(t, 200))}})
	if res["1"].Status != PhotoNotSupportedStatus {
		t.Errorf("photo PUT in a batch on a personal mailbox: %d", res["1"].Status)
	}
	e.alice.SetPersonal(false)
	if r := e.do("PUT", path, tok, testutil.JPEG(t, 200), "Content-Type", "image/jpeg"); r.status != 200 {
		t.Errorf("a work mailbox: %d %s", r.status, r.body)
	}
}
