package graph

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/testutil"
)

// TestTokenNeverLeaks runs failures whose answers echo the Authorization
// header and checks that no error and no log line (debug level) holds
// the token.
func TestTokenNeverLeaks(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		auth := r.Header.Get("Authorization")
		switch {
		case strings.HasSuffix(r.URL.Path, "/$batch"):
			var b api.Batch
			_ = json.NewDecoder(r.Body).Decode(&b)
			var out []api.BatchResponse
			for _, sr := range b.Requests {
				msg, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "ErrorAccessDenied", "message": "denied for " + auth}})
				out = append(out, api.BatchResponse{ID: sr.ID, Status: 403, Body: msg})
			}
			writeJSON(w, 200, api.BatchResult{Responses: out})
		case strings.Contains(r.URL.Path, "/401"):
			graphErr(w, 401, "InvalidAuthenticationToken", "token "+auth+" is bad")
		case strings.Contains(r.URL.Path, "/500"):
			graphErr(w, 500, "InternalServerError", "while handling "+auth)
		case strings.Contains(r.URL.Path, "/429"):
			w.Header().Set("Retry-After", "99999")
			graphErr(w, 429, "ApplicationThrottled", auth)
		case strings.Contains(r.URL.Path, "/text"):
			w.WriteHeader(400)
			w.Write([]byte("plain text " + auth))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id": "` + auth + `"`)) // broken JSON
		}
	})
	logs := &testutil.LockedBuffer{}
	e := newClient(t, f, func(o *Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.MaxRetries = 2
	})
	ctx := t.Context()
	var errs []error
	for _, p := range []string{"x/401", "x/500", "x/429", "x/text", "x/json", "http://elsewhere.example/x"} {
		_, _, err := e.c.Do(ctx, "GET", p, nil, nil, &map[string]any{})
		if err == nil {
			t.Errorf("%s: no error", p)
		}
		errs = append(errs, err)
	}
	for _, r := range e.c.Batch(ctx, []Op{{Method: "GET", Path: "contacts/a"}}) {
		errs = append(errs, r.Err)
	}
	_, _, err := e.c.Delta(ctx, "F", "", nil)
	errs = append(errs, err)
	for _, err := range errs {
		noToken(t, err)
		var ge *Error
		if errors.As(err, &ge) {
			noToken(t, errors.New(ge.Message))
		}
	}
	if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), "Bearer") {
		t.Errorf("log holds the token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "graph: request") {
		t.Errorf("nothing logged? %s", logs.String())
	}
}

type failingTokens struct{}

func (failingTokens) Token(context.Context) (string, error) {
	return "", errors.New("re-authenticate account a@b.example")
}
func (failingTokens) Invalidate() {}

func TestTokenSourceError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) { w.WriteHeader(200) })
	c, err := New(Options{BaseURL: f.URL + "/v1.0", Tokens: failingTokens{}, Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Do(t.Context(), "GET", "contacts", nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "re-authenticate account a@b.example") || f.hits.Load() != 0 {
		t.Errorf("err %v hits %d", err, f.hits.Load())
	}
}
