package auth

import (
	"fmt"
	"regexp"
	"strings"
)

// NeedLoginError says that a delegated account must sign in again: it has
// no token, its refresh token was revoked or expired, or its configuration
// changed. It is returned once per failing refresh token, never retried.
type NeedLoginError struct {
	// Account is the account's name.
	Account string
	// Reason is why, e.g. "AADSTS70008: The refresh token has expired."
	// or "not logged in".
	Reason string
	// Hint is the advice for Reason's AADSTS code (see Hint); may be empty.
	Hint string
}

// Error is "account work needs `cardbridge login work`: REASON", followed
// by "; hint: HINT" when there is one.
func (e *NeedLoginError) Error() string {
	s := fmt.Sprintf("account %s needs `cardbridge login %s`: %s", e.Account, e.Account, e.Reason)
	if e.Hint != "" {
		s += "; hint: " + e.Hint
	}
	return s
}

// OAuthError is an error answer of the identity platform, reduced to what
// is safe to show: the OAuth error code, the AADSTS code and the first
// sentence of error_description (with any secret of the request removed).
type OAuthError struct {
	// Endpoint is "token" or "devicecode".
	Endpoint string
	// Status is the HTTP status of the answer.
	Status int
	// Code is the OAuth error code (invalid_grant, invalid_client, ...).
	Code string
	// Description is "AADSTS70008: The refresh token has expired." (the
	// first sentence only); may be empty.
	Description string
	// AADSTS is the AADSTS code ("AADSTS70008"), when there is one.
	AADSTS string
	// TraceID and CorrelationID identify the request for Microsoft support.
	TraceID, CorrelationID string
	// Hint is the one-line advice for AADSTS (see Hint); may be empty.
	Hint string
}

// Error is "ENDPOINT endpoint: CODE: DESCRIPTION (HTTP STATUS)", followed
// by "; hint: HINT" when the AADSTS code has one.
func (e *OAuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s endpoint: %s", e.Endpoint, e.Code)
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	if e.Endpoint == "authorize" {
		b.WriteString(" (sign-in page)")
	} else {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Hint != "" {
		b.WriteString("; hint: " + e.Hint)
	}
	return b.String()
}

// reason is the text of a NeedLoginError made from e: the first sentence of
// its description (which starts with the AADSTS code), or the code.
func (e *OAuthError) reason() string {
	switch {
	case e.Description == "":
		return e.Code
	case e.AADSTS != "":
		return e.Description
	default:
		return e.Code + ": " + e.Description
	}
}

// needsLogin reports whether e means that the user must sign in again.
func (e *OAuthError) needsLogin() bool {
	switch e.Code {
	case "invalid_grant", "interaction_required", "consent_required", "login_required":
		return true
	}
	return false
}

var aadstsRE = regexp.MustCompile(`^AADSTS\d+`)

// firstSentence is s up to and including its first sentence end (". " or a
// line break), at most 300 bytes.
func firstSentence(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.TrimSpace(s)
}

// redactor removes secrets from text that reaches errors and logs.
type redactor []string

// Token-like text that is removed even when it is no known secret: JWTs
// (access and id tokens) and long runs of token characters (refresh tokens,
// codes). Words of Microsoft's messages (GUIDs, domains, URLs) are shorter.
var (
	jwtRE      = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
	longWordRE = regexp.MustCompile(`[A-Za-z0-9._~+/=*!-]{48,}`)
)

// scrub replaces every secret of r found in s, and anything that looks like
// a token.
func (r redactor) scrub(s string) string {
	for _, sec := range r {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	s = jwtRE.ReplaceAllString(s, "[redacted]")
	return longWordRE.ReplaceAllString(s, "[redacted]")
}

// sanitizeTokenError turns a parsed error answer into an *OAuthError
// without secrets.
func sanitizeTokenError(endpoint string, status int, code, desc, trace, corr string, r redactor) *OAuthError {
	e := &OAuthError{Endpoint: endpoint, Status: status, Code: r.scrub(safeWord(code)),
		TraceID: r.scrub(safeWord(trace)), CorrelationID: r.scrub(safeWord(corr))}
	e.Description = r.scrub(firstSentence(desc))
	e.AADSTS = aadstsRE.FindString(e.Description)
	e.Hint = Hint(e.AADSTS)
	return e
}

// safeWord keeps s when it is a short word of [A-Za-z0-9_.:-]; otherwise
// it returns "invalid" (an error code is never free text).
func safeWord(s string) string {
	if len(s) > 100 {
		return "invalid"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.:-", c)) {
			return "invalid"
		}
	}
	return s
}
