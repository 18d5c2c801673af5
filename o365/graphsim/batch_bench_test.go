package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// BenchmarkBatch20Creates is the simulator's own cost of a $batch of 20
// contact creates, as the export benchmark sends them (no latency, no
// network): the part of each export round trip that is graphsim's and not
// Microsoft's.
func BenchmarkBatch20Creates(b *testing.B) {
	s, _, next := benchServer(b, Options{})
	tok := next()
	n := 0
	body := func() []byte {
		var reqs []string
		for i := range 20 {
			n++
			c := fmt.Sprintf(`{"givenName":"Export","surname":"Person %05d","displayName":"Export Person %05d","emailAddresses":[{"address":"export%05d@example.com","name":"Export Person %05d"}],"mobilePhone":"+48 600 %06d","fileAs":"Person %05d, Export"}`, n, n, n, n, n, n)
			reqs = append(reqs, fmt.Sprintf(`{"id":"%d","method":"POST","url":"/me/contacts?$select=id,changeKey","headers":{"Content-Type":"application/json"},"body":%s}`, i+1, c))
		}
		return []byte(`{"requests":[` + strings.Join(reqs, ",") + `]}`)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		tok = next()
		req := httptest.NewRequest(http.MethodPost, "/v1.0/$batch", bytes.NewReader(body()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		b.StartTimer()
		s.ServeHTTP(w, req)
		if w.Code != 200 || strings.Contains(w.Body.String(), `"status":4`) {
			b.Fatalf("$batch: %d %.300s", w.Code, w.Body.String())
		}
	}
}

// TestEncodeResponsesAsMarshal: the hand-written $batch answer and jstr
// say exactly what json.Marshal says, for plain strings and for those
// json.Marshal escapes (quotes, backslashes, control and HTML characters,
// non-ASCII, invalid UTF-8).
func TestEncodeResponsesAsMarshal(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline", "<b>&amp;</b>", "Zoë ✓", "bad \xff utf8", "line\u2028sep"}
	for _, s := range strs {
		var b bytes.Buffer
		jstr(&b, s)
		want, _ := json.Marshal(s)
		if b.String() != string(want) {
			t.Errorf("jstr(%q) = %s, want %s", s, b.String(), want)
		}
	}
	out := []batchResp{
		{ID: "1", Status: 201, Headers: map[string]string{"Location": "https://x/a?b=<c>", "Content-Type": "application/json", "ETag": `W/"k"`}, Body: json.RawMessage(`{"id":"a","displayName":"Zoë \u003c"}`)},
		{ID: "2", Status: 204},
		{ID: "3 & <4>", Status: 429, Headers: map[string]string{"Retry-After": "3"}, Body: json.RawMessage(`"aGVsbG8="`)},
	}
	want, _ := json.Marshal(map[string]any{"responses": out})
	if got := encodeResponses(out); string(got) != string(want) {
		t.Errorf("encodeResponses:\n got %s\nwant %s", got, want)
	}
}

// benchServer is a simulator with alice's mailbox for a benchmark. next
// moves its clock 10 minutes on (past the mailbox's request budget's
// window, which a benchmark loop would exhaust otherwise) and returns a
// fresh token for alice.
func benchServer(b *testing.B, opts Options) (s *Server, alice *Mailbox, next func() string) {
	clock := testutil.NewClock(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	opts.Seed, opts.Clock = 42, clock.Now
	s = New(opts)
	s.AddApp(App{ClientID: "pub", Audience: AudienceMultipleOrgs, PublicClient: true, RedirectURIs: []string{"http://localhost"}})
	alice = s.AddUser(User{ID: "11111111-1111-4111-8111-111111111111", UPN: "alice@contoso.example", DisplayName: "Alice", Password: "pw"})
	return s, alice, func() string {
		clock.Add(10 * time.Minute)
		tok, err := s.IssueToken("pub", "alice@contoso.example")
		if err != nil {
			b.Fatal(err)
		}
		return tok
	}
}
