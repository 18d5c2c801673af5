package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/testutil/pgtest"
)

// TestNamesNoBackendHolds: names and values that are not UTF-8 or hold
// NUL (which PostgreSQL's text cannot hold: asked for, its query fails)
// answer the same on both backends: 404 for a path naming a book or card,
// 400 with the reason for a MKCOL or PUT creating one or a card whose UID
// holds NUL, 401 for such a user name; never 5xx, and nothing is stored.
func TestNamesNoBackendHolds(t *testing.T) { pgtest.ForBackends(t, testNamesNoBackendHolds) }

func testNamesNoBackendHolds(t *testing.T, be pgtest.Backend) {
	ts := newTestServer(t, be, nil)
	ts.putCard("alice", "a1.vcf", vcard3("a1", "Alice One"))
	hdr := map[string]string{"Depth": "1", "Content-Type": "text/vcard"}
	for _, tc := range []struct {
		name, method, path, user, pass, body string
		status                               int
		want                                 string
	}{
		{"GET of a card name with NUL", "GET", aliceBook + "a%00.vcf", "alice", "alice-pw", "", http.StatusNotFound, ""},
		{"DELETE of a card name not UTF-8", "DELETE", aliceBook + "a%ff.vcf", "alice", "alice-pw", "", http.StatusNotFound, ""},
		{"PROPFIND of a book name with NUL", "PROPFIND", "/addressbooks/alice/b%00/", "alice", "alice-pw", secPropfind, http.StatusNotFound, ""},
		{"PROPFIND of a book name not UTF-8", "PROPFIND", "/addressbooks/alice/%ff/", "alice", "alice-pw", secPropfind, http.StatusNotFound, ""},
		{"PUT into a book name not UTF-8", "PUT", "/addressbooks/alice/%ff/x.vcf", "alice", "alice-pw", vcard3("x", "X"), http.StatusNotFound, ""},
		{"MKCOL of a book name with NUL", "MKCOL", "/addressbooks/alice/b%00/", "alice", "alice-pw", "", http.StatusBadRequest, "U+0000"},
		{"MKCOL of a book name not UTF-8", "MKCOL", "/addressbooks/alice/b%c0%ae/", "alice", "alice-pw", "", http.StatusBadRequest, "not valid UTF-8"},
		{"PUT of a card name with NUL", "PUT", aliceBook + "a%00.vcf", "alice", "alice-pw", vcard3("n", "N"), http.StatusBadRequest, "U+0000"},
		{"multiget of hrefs with NUL and not UTF-8", "REPORT", aliceBook, "alice", "alice-pw", secMultiget(aliceBook+"a%00.vcf", aliceBook+"%ff.vcf", aliceBook+"a1.vcf"), http.StatusMultiStatus, "Alice One"},
		{"user name with NUL", "PROPFIND", "/", "al\x00ice", "alice-pw", secPropfind, http.StatusUnauthorized, ""},
		{"user name not UTF-8", "PROPFIND", "/", "al\xffice", "alice-pw", secPropfind, http.StatusUnauthorized, ""},
		{"UID with NUL", "PUT", aliceBook + "nul.vcf", "alice", "alice-pw", strings.Replace(vcard3("n", "N"), "UID:n", "UID:n\x00", 1), http.StatusBadRequest, ""},
		{"FN with NUL", "PUT", aliceBook + "nulfn.vcf", "alice", "alice-pw", strings.Replace(vcard3("m", "N"), "FN:N", "FN:N\x00", 1), http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := storeSnapshot(t, ts)
			status, _, body := ts.rawDo(t, tc.method, tc.path, tc.user, tc.pass, hdr, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%s %q as %q: %d %q, want %d with %q", tc.method, tc.path, tc.user, status, body, tc.status, tc.want)
			}
			if tc.method != "REPORT" {
				if d := diffSnapshots(before, storeSnapshot(t, ts)); d != "" {
					t.Fatalf("the store changed:\n%s", d)
				}
			}
		})
	}
}
