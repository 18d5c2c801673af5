package testutil

import (
	"net/http"
	"strings"
	"testing"
)

// PutVCard PUTs card to target (a card's URL) with Basic auth, and with
// If-Match etag unless etag is "", and returns the answer's status; it
// fails the test when no answer came.
func PutVCard(t testing.TB, target, user, password, card, etag string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, target, strings.NewReader(card))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "text/vcard; charset=utf-8")
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
