package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
)

// secretParams are the form parameters whose values never reach an error or a log.
var secretParams = []string{"client_secret", "client_assertion", "refresh_token", "code", "code_verifier", "device_code"}

// maxAnswer bounds the body read from the identity platform.
const maxAnswer = 1 << 20

// defaultHTTPClient is used when none is given.
var defaultHTTPClient = &http.Client{Timeout: 60 * time.Second}

// post sends form to endpointURL and decodes a success answer into out. An
// error answer of the identity platform is an *OAuthError; other failures
// are plain errors. Neither ever holds a value of secretParams (nor the
// extra secrets given).
func post(ctx context.Context, hc *http.Client, endpoint, endpointURL string, form url.Values, out any, extra ...string) error {
	var red redactor
	for _, k := range secretParams {
		if v := form.Get(k); v != "" {
			red = append(red, v)
		}
	}
	red = append(red, extra...)
	if hc == nil {
		hc = defaultHTTPClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpointURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s endpoint: %s", endpoint, red.scrub(err.Error()))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s endpoint: %w", endpoint, ctxErr)
		}
		// *url.Error names the method and URL (no secret there) and the
		// transport's error; scrub anyway.
		return fmt.Errorf("%s endpoint: %s", endpoint, red.scrub(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s endpoint: reading the answer (HTTP %d): %s", endpoint, resp.StatusCode, red.scrub(err.Error()))
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && len(body) > 0 && body[0] == '{')
	if resp.StatusCode == http.StatusOK {
		if !isJSON {
			return fmt.Errorf("%s endpoint: answer is %q, not JSON (HTTP 200)", endpoint, mt)
		}
		if err := json.Unmarshal(body, out); err != nil {
			// json errors quote no input beyond a type or offset.
			return fmt.Errorf("%s endpoint: malformed answer: %s", endpoint, red.scrub(err.Error()))
		}
		return nil
	}
	var te api.TokenError
	if isJSON && json.Unmarshal(body, &te) == nil && te.Error != "" {
		return sanitizeTokenError(endpoint, resp.StatusCode, te.Error, te.ErrorDescription, te.TraceID, te.CorrelationID, red)
	}
	// Not an OAuth error answer (a proxy's page, a 5xx): the body is not shown.
	return fmt.Errorf("%s endpoint: HTTP %d %s", endpoint, resp.StatusCode, http.StatusText(resp.StatusCode))
}

// requestToken posts form to the token endpoint (the device code flow's
// polls, whose pace LoginOptions.Sleep sets) and checks the answer has an
// access token.
func requestToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values, extra ...string) (*api.TokenResponse, error) {
	var tr api.TokenResponse
	if err := post(ctx, hc, "token", tokenURL, form, &tr, extra...); err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, errors.New("token endpoint: the answer has no access_token")
	}
	if tt := strings.ToLower(tr.TokenType); tt != "" && tt != "bearer" {
		return nil, errors.New("token endpoint: the token_type of the answer is not Bearer")
	}
	return &tr, nil
}
