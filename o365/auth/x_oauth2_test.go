package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

// TestRefreshScopeTransport: the refresh requests golang.org/x/oauth2's token
// source sends to the token endpoint get Microsoft's required scope; every
// other request goes out as it was.
func TestRefreshScopeTransport(t *testing.T) {
	const tokenURL = "https://login.example/t/oauth2/v2.0/token"
	scopes := []string{"https://graph.microsoft.com/Contacts.ReadWrite", "offline_access"}
	for _, tc := range []struct {
		name, url, form, wantScope string
	}{
		{"refresh without scope", tokenURL, "grant_type=refresh_token&refresh_token=r", strings.Join(scopes, " ")},
		{"refresh with scope", tokenURL, "grant_type=refresh_token&refresh_token=r&scope=x", "x"},
		{"another grant", tokenURL, "grant_type=client_credentials", ""},
		{"another endpoint", "https://login.example/t/oauth2/v2.0/devicecode", "grant_type=refresh_token", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got url.Values
			var gotLen int64
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				b, _ := io.ReadAll(r.Body)
				got, _ = url.ParseQuery(string(b))
				gotLen = r.ContentLength
				if int64(len(b)) != gotLen {
					t.Errorf("ContentLength %d, body %d bytes", gotLen, len(b))
				}
				return &http.Response{StatusCode: 204, Body: http.NoBody, Request: r}, nil
			})
			hc := withRefreshScope(&http.Client{Transport: base, Timeout: time.Minute}, tokenURL, scopes)
			if hc.Timeout != time.Minute {
				t.Errorf("the client's timeout was not kept")
			}
			resp, err := hc.Post(tc.url, "application/x-www-form-urlencoded", strings.NewReader(tc.form))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got.Get("scope") != tc.wantScope {
				t.Errorf("scope %q, want %q (form %v)", got.Get("scope"), tc.wantScope, got)
			}
			if got.Get("grant_type") == "" {
				t.Errorf("the form lost its grant_type: %v", got)
			}
		})
	}
}

// roundTripFunc is a function as an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
