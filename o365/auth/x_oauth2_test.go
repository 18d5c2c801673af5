package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestTokenErrorFromRetrieveError: every error golang.org/x/oauth2 returns
// becomes the project's: an error answer is an *OAuthError with its code,
// AADSTS code, hint and trace ids, and no secret of the request or
// token-like text of the body survives.
func TestTokenErrorFromRetrieveError(t *testing.T) {
	secret := "the-client-secret-value"
	resp := &http.Response{StatusCode: 400}
	tests := []struct {
		name       string
		err        error
		code, aads string
		wantHint   bool
		want       string // substring of Error()
	}{
		{"single-tenant", &oauth2.RetrieveError{Response: resp, ErrorCode: "invalid_request",
			ErrorDescription: "AADSTS50059: No tenant-identifying information found. Trace ID: x",
			Body:             []byte(`{"error":"invalid_request","trace_id":"t-1","correlation_id":"c-1"}`)},
			"invalid_request", "AADSTS50059", true, "AADSTS50059: No tenant-identifying information found."},
		{"secret in description", &oauth2.RetrieveError{Response: resp, ErrorCode: "invalid_client",
			ErrorDescription: "AADSTS7000215: Invalid client secret " + secret + " provided. More."},
			"invalid_client", "AADSTS7000215", true, "invalid_client"},
		{"no error code", &oauth2.RetrieveError{Response: &http.Response{StatusCode: 502}, Body: []byte("<html>" + secret + "</html>")},
			"", "", false, "token endpoint: HTTP 502 Bad Gateway"},
		{"transport", errors.New(`Post "https://login/x": dial ` + secret),
			"", "", false, "token endpoint: Post"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tokenError(context.Background(), "token", tc.err, secret)
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("secret in %q", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
			var oe *OAuthError
			if !errors.As(err, &oe) {
				if tc.code != "" {
					t.Fatalf("%v is not an *OAuthError", err)
				}
				return
			}
			if oe.Code != tc.code || oe.AADSTS != tc.aads || (oe.Hint != "") != tc.wantHint || oe.Status != 400 {
				t.Fatalf("got %+v", oe)
			}
			if oe.Hint != Hint(tc.aads) || !strings.Contains(err.Error(), "; hint: ") {
				t.Fatalf("hint %q not in %q", Hint(tc.aads), err)
			}
			if tc.name == "single-tenant" && (oe.TraceID != "t-1" || oe.CorrelationID != "c-1") {
				t.Fatalf("trace ids %+v", oe)
			}
		})
	}
}
