package davclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// answer is a Doer that gives r to every request and counts them.
func answer(r Response, n *int) Doer {
	return func(context.Context, string, string, string, map[string]string, string) (Response, error) {
		*n++
		return r, nil
	}
}

func multistatus(responses string) []byte {
	return []byte(`<?xml version="1.0"?><D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` + responses + `<D:sync-token>tok-2</D:sync-token></D:multistatus>`)
}

func cardResponse(href, uid string) string {
	return `<D:response><D:href>` + href + `</D:href><D:propstat><D:status>HTTP/1.1 200 OK</D:status><D:prop><D:getetag>"e"</D:getetag><C:address-data>` +
		CardText(uid, 1, "m") + `</C:address-data></D:prop></D:propstat></D:response>`
}

// TestMultiget: the checks both generators rely on, each failing alone.
func TestMultiget(t *testing.T) {
	paths := []string{"/b/x.vcf", "/b/y.vcf"}
	for _, tc := range []struct {
		name string
		r    Response
		want string // "" for no error
	}{
		{"both cards", Response{Status: 207, Body: multistatus(cardResponse("/b/x.vcf", "x") + cardResponse("/b/y.vcf", "y"))}, ""},
		{"one missing", Response{Status: 207, Body: multistatus(cardResponse("/b/x.vcf", "x"))}, "1 of 2 cards"},
		{"not asked", Response{Status: 207, Body: multistatus(cardResponse("/b/z.vcf", "z"))}, "which was not asked for"},
		{"wrong UID", Response{Status: 207, Body: multistatus(cardResponse("/b/x.vcf", "y") + cardResponse("/b/y.vcf", "y"))}, `holds UID "y"`},
		{"status", Response{Status: 500, Body: []byte("boom")}, "unexpected status 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n int
			err := Multiget(t.Context(), answer(tc.r, &n), "/b/", paths)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestSyncCollection: a refused token is ErrTokenRefused, an answer
// without a token an error, a good one gives its token.
func TestSyncCollection(t *testing.T) {
	var n int
	ms, err := SyncCollection(t.Context(), answer(Response{Status: 207, Body: multistatus("")}, &n), "/b/", "tok-1")
	if err != nil || ms.SyncToken != "tok-2" {
		t.Errorf("good answer: %v, %+v", err, ms)
	}
	_, err = SyncCollection(t.Context(), answer(Response{Status: 403, Body: []byte(`<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>`)}, &n), "/b/", "old")
	if !errors.Is(err, ErrTokenRefused) {
		t.Errorf("refused token: %v", err)
	}
	_, err = SyncCollection(t.Context(), answer(Response{Status: 207, Body: []byte(`<D:multistatus xmlns:D="DAV:"/>`)}, &n), "/b/", "")
	if err == nil || !strings.Contains(err.Error(), "no sync-token") {
		t.Errorf("no token: %v", err)
	}
}

// TestJudgeIfMatch: a 2xx needs a new ETag; a 412 is real only when the
// card's ETag changed.
func TestJudgeIfMatch(t *testing.T) {
	reread := func(etag string) func(context.Context, string) (Response, error) {
		return func(context.Context, string) (Response, error) { return Response{Status: 200, ETag: etag}, nil }
	}
	for _, tc := range []struct {
		name    string
		r       Response
		now     string
		want    Outcome
		wantErr string
	}{
		{"new etag", Response{Status: 204, ETag: `"2"`}, `"2"`, Outcome{}, ""},
		{"same etag", Response{Status: 204, ETag: `"1"`}, `"1"`, Outcome{}, `ETag "\"1\"" after a change`},
		{"no etag", Response{Status: 200}, "", Outcome{}, "ETag"},
		{"real 412", Response{Status: 412}, `"3"`, Outcome{Conflict: true, CurETag: `"3"`}, ""},
		{"bogus 412", Response{Status: 412}, `"1"`, Outcome{Conflict: true, CurETag: `"1"`, Bogus: true}, ""},
		{"other", Response{Status: 409, Body: []byte("no")}, "", Outcome{}, "unexpected status 409"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JudgeIfMatch(t.Context(), reread(tc.now), tc.r, "x.vcf", `"1"`)
			if got != tc.want {
				t.Errorf("outcome %+v, want %+v", got, tc.want)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestPhoneEditorAndReadDir: the phone's edits are what ReadDir reads
// back, and ReadDir names a UID found in two files.
func TestPhoneEditorAndReadDir(t *testing.T) {
	dir := t.TempDir()
	p := &PhoneEditor{Dir: dir, UIDs: []string{"a", "b"}, Nums: []int{7, 8}, Rng: rand.New(rand.NewPCG(1, 2)), Last: map[string]string{}}
	ctx, cancel := context.WithTimeout(t.Context(), 1100*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	if p.Err != nil || p.Edits < 2 {
		t.Fatalf("%d edits, %v", p.Edits, p.Err)
	}
	got, dups, err := ReadDir(dir)
	if err != nil || len(dups) != 0 {
		t.Fatal(dups, err)
	}
	for uid, m := range p.Last {
		if got[uid] != m {
			t.Errorf("%s holds %q, the phone's last edit wrote %q", uid, got[uid], m)
		}
	}
	for _, name := range []string{"z.vcf", "copy.vcf"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(CardText("z", 1, "x")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, dups, _ := ReadDir(dir); len(dups) != 1 || dups[0] != "z" {
		t.Errorf("duplicate UIDs %v, want [z]", dups)
	}
}

// TestNewCard: a created card's name is its UID's, its marker is in its
// NOTE, and two clients' cards differ.
func TestNewCard(t *testing.T) {
	href, m, text := NewCard(3, 7)
	if UIDOf([]byte(text))+".vcf" != href || MarkerOf([]byte(text)) != m || m != "created-new-c3-7" {
		t.Errorf("NewCard(3, 7) = %q, %q, card UID %q marker %q", href, m, UIDOf([]byte(text)), MarkerOf([]byte(text)))
	}
	if other, _, _ := NewCard(4, 7); other == href {
		t.Errorf("clients 3 and 4 both create %s", href)
	}
}
