package graph

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// other is a server off the Graph host; no request may reach it.
func other(t *testing.T) *fake {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		t.Errorf("request off the Graph host: %s %s (with Authorization: %v)", r.Method, r.URL, r.Header.Get("Authorization") != "")
		writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.deltaLink": "x"})
	})
}

func TestOffHostLinksRefused(t *testing.T) {
	evil := other(t)
	var f *fake
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/delta"):
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "a"}},
				"@odata.nextLink": evil.URL + "/v1.0/me/contacts/delta?$skiptoken=1"})
		case strings.HasSuffix(r.URL.Path, "/redirect"):
			http.Redirect(w, r, evil.URL+"/v1.0/me", http.StatusFound)
		case strings.HasSuffix(r.URL.Path, "/here"):
			http.Redirect(w, r, f.URL+"/v1.0/me", http.StatusFound)
		default:
			writeJSON(w, 200, map[string]any{"id": "me"})
		}
	})
	e := newClient(t, f, nil)
	ctx := t.Context()
	https := strings.Replace(f.URL, "http://", "https://", 1)
	for _, link := range []string{
		evil.URL + "/v1.0/me/contacts/delta?$deltatoken=x",
		https + "/v1.0/me/contacts/delta?$deltatoken=x",                       // another scheme
		"http://user@" + strings.TrimPrefix(evil.URL, "http://") + "/v1.0/me", // user info
		"http://" + strings.TrimPrefix(f.URL, "http://") + "@" + strings.TrimPrefix(evil.URL, "http://") + "/x",
		"//" + strings.TrimPrefix(evil.URL, "http://") + "/v1.0/me",
	} {
		_, _, err := e.c.Do(ctx, "GET", link, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "refusing to leave the Graph host") {
			t.Errorf("Do(%s): err = %v", link, err)
		}
		_, _, err = e.c.Delta(ctx, "F", link, nil)
		if err == nil {
			t.Errorf("Delta(%s) accepted", link)
		}
	}
	// A nextLink in the middle of a round.
	_, _, err := e.c.Delta(ctx, "", "", nil)
	if err == nil || !strings.Contains(err.Error(), "not on the configured Graph endpoint") {
		t.Errorf("nextLink off host: %v", err)
	}
	// A redirect off the host.
	_, _, err = e.c.Do(ctx, "GET", "redirect", nil, nil, nil)
	if err == nil || !errors.Is(err, errOffHost) {
		t.Errorf("redirect off host: %v", err)
	}
	// A redirect on the host is fine.
	if _, _, err := e.c.Do(ctx, "GET", "here", nil, nil, nil); err != nil {
		t.Errorf("redirect on host: %v", err)
	}
	// Batch ops must be relative.
	if r := e.c.Batch(ctx, []Op{{Method: "GET", Path: evil.URL + "/x"}}); r[0].Err == nil {
		t.Error("batch op with a full URL accepted")
	}
	if evil.hits.Load() != 0 {
		t.Errorf("%d requests reached the other host", evil.hits.Load())
	}
}

func TestDelta(t *testing.T) {
	var f *fake
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/v1.0/me/contactFolders/F1/contacts/delta" && q.Get("$skiptoken") == "" && q.Get("$deltatoken") == "":
			if q.Get("$select") != "id,changeKey" {
				t.Errorf("$select = %q", q.Get("$select"))
			}
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "a", "changeKey": "1"}, map[string]any{"id": "b"}},
				"@odata.nextLink": f.URL + "/v1.0/me/contactFolders/F1/contacts/delta?$skiptoken=p2"})
		case q.Get("$skiptoken") == "p2":
			writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.nextLink": f.URL + "/v1.0/me/contactFolders/F1/contacts/delta?$skiptoken=p3"})
		case q.Get("$skiptoken") == "p3":
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "c", "@removed": map[string]any{"reason": "deleted"}}},
				"@odata.deltaLink": f.URL + "/v1.0/me/contactFolders/F1/contacts/delta?$deltatoken=d1"})
		case q.Get("$deltatoken") == "d1":
			writeJSON(w, 200, map[string]any{"value": []any{}, "@odata.deltaLink": f.URL + "/v1.0/me/contactFolders/F1/contacts/delta?$deltatoken=d2"})
		case q.Get("$deltatoken") == "old":
			graphErr(w, 410, "SyncStateNotFound", "The sync state generation is not found")
		case q.Get("$deltatoken") == "old2":
			graphErr(w, 400, "resyncRequired", "start again")
		case r.URL.Path == "/v1.0/me/contacts/delta":
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "z"}}})
		default:
			t.Errorf("unexpected %s", r.URL)
			w.WriteHeader(500)
		}
	})
	e := newClient(t, f, func(o *Options) { o.MaxPageSize = 2 })
	ctx := t.Context()
	items, link, err := e.c.Delta(ctx, "F1", "", []string{"id", "changeKey"})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || link != f.URL+"/v1.0/me/contactFolders/F1/contacts/delta?$deltatoken=d1" {
		t.Errorf("items %d link %q", len(items), link)
	}
	for _, r := range f.requests() {
		if p := r.Header.Get("Prefer"); !strings.Contains(p, "odata.maxpagesize=2") || !strings.Contains(p, `IdType="ImmutableId"`) {
			t.Errorf("Prefer = %q", p)
		}
	}
	items, link, err = e.c.Delta(ctx, "F1", link, nil)
	if err != nil || len(items) != 0 || !strings.HasSuffix(link, "d2") {
		t.Errorf("second round: %v %d %q", err, len(items), link)
	}
	for _, tok := range []string{"old", "old2"} {
		_, _, err = e.c.Delta(ctx, "F1", f.URL+"/v1.0/me/contactFolders/F1/contacts/delta?$deltatoken="+tok, nil)
		if !IsGone(err) || IsNotFound(err) {
			t.Errorf("expired link %s: %v", tok, err)
		}
	}
	// A page with neither link is an error, not an endless round.
	if _, _, err := e.c.Delta(ctx, "", "", nil); err == nil {
		t.Error("delta page without links accepted")
	}
}

func TestListsPageUntilNoNextLink(t *testing.T) {
	var f *fake
	f = newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/v1.0/me/contactFolders":
			if q.Get("$skiptoken") == "" {
				writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "A", "displayName": "Work"}},
					"@odata.nextLink": f.URL + "/v1.0/me/contactFolders?$skiptoken=2"})
				return
			}
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "B", "displayName": "Home"}}})
		case "/v1.0/me/contactFolders/A/childFolders":
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "A1", "displayName": "Team", "parentFolderId": "A"}}})
		case "/v1.0/me/contactFolders/A1/childFolders":
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "A11", "displayName": "Sub"}}})
		case "/v1.0/me/contactFolders/A11/childFolders", "/v1.0/me/contactFolders/B/childFolders":
			writeJSON(w, 200, map[string]any{"value": []any{}})
		case "/v1.0/me/contacts":
			if q.Get("$skiptoken") == "" && !strings.Contains(q.Get("$expand"), "singleValueExtendedProperties($filter=id eq 'String {") {
				t.Errorf("$expand = %q", q.Get("$expand"))
			}
			if f := q.Get("$filter"); f != "" && f != "singleValueExtendedProperties/Any(ep: ep/id eq 'String {5c2f8a1e-7b3d-4e69-9a40-c6d2b1e8f307} Name cardbridgeUid' and ep/value eq 'it''s-1')" {
				t.Errorf("$filter = %q", f)
			}
			if q.Get("$skiptoken") == "" {
				writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "c1"}},
					"@odata.nextLink": f.URL + "/v1.0/me/contacts?$skiptoken=x"})
				return
			}
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": "c2",
				"singleValueExtendedProperties": []any{map[string]any{"id": "p", "value": "uid-2"}}}}})
		case "/v1.0/me/contactFolders/A/contacts/c%2F1", "/v1.0/me/contactFolders/A/contacts/c/1":
			writeJSON(w, 200, map[string]any{"id": "c/1", "changeKey": "k"})
		default:
			t.Errorf("unexpected %s", r.URL)
			w.WriteHeader(404)
		}
	})
	e := newClient(t, f, nil)
	ctx := t.Context()
	fs, err := e.c.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fd := range fs {
		names = append(names, fd.ID+"="+fd.DisplayName)
	}
	if got := strings.Join(names, ","); got != "A=Work,A1=Work/Team,A11=Work/Team/Sub,B=Home" {
		t.Errorf("folders %s", got)
	}
	cs, err := e.c.ListContacts(ctx, "")
	if err != nil || len(cs) != 2 || cs[1].SingleValueExtendedProperties[0].Value != "uid-2" {
		t.Errorf("ListContacts: %v %+v", err, cs)
	}
	cs, err = e.c.FindByUID(ctx, "", "it's-1")
	if err != nil || len(cs) != 2 {
		t.Errorf("FindByUID: %v %+v", err, cs)
	}
	c, err := e.c.GetContact(ctx, "A", "c/1")
	if err != nil || c.ChangeKey != "k" {
		t.Errorf("GetContact: %v %+v", err, c)
	}
	if e.c.FolderPath("") != "contacts" || e.c.FolderPath("X=") != "contactFolders/X=/contacts" {
		t.Error(e.c.FolderPath(""), e.c.FolderPath("X="))
	}
}

func TestPhotos(t *testing.T) {
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1.0/me/contacts/has/photo/$value":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpeg)
		case r.Method == "GET":
			graphErr(w, 404, "ErrorItemNotFound", "The photo wasn't found.")
		case r.Method == "PUT":
			if r.Header.Get("Content-Type") != "image/jpeg" {
				t.Errorf("PUT Content-Type %q", r.Header.Get("Content-Type"))
			}
			w.WriteHeader(200)
		}
	})
	e := newClient(t, f, nil)
	ctx := t.Context()
	b, err := e.c.GetPhoto(ctx, "contacts/has")
	if err != nil || string(b) != string(jpeg) {
		t.Errorf("GetPhoto: %v %x", err, b)
	}
	b, err = e.c.GetPhoto(ctx, "contacts/none")
	if err != nil || b != nil {
		t.Errorf("no photo: %v %x", err, b)
	}
	if err := e.c.PutPhoto(ctx, "contacts/has", jpeg); err != nil {
		t.Error(err)
	}
	rs := f.requests()
	if last := rs[len(rs)-1]; string(last.Body) != string(jpeg) || last.Path != "/v1.0/me/contacts/has/photo/$value" {
		t.Errorf("PUT %s %x", last.Path, last.Body)
	}
	if err := e.c.PutPhoto(ctx, "contacts/has", make([]byte, MaxPhotoSize+1)); err == nil {
		t.Error("oversized photo accepted")
	}
}

func TestErrorHelpers(t *testing.T) {
	mk := func(st int, code string) error {
		return fmt.Errorf("wrapped: %w", &Error{Status: st, Code: code})
	}
	cases := []struct {
		err                      error
		nf, pre, gone, throttled bool
	}{
		{mk(404, "ErrorItemNotFound"), true, false, false, false},
		{mk(400, "itemNotFound"), true, false, false, false},
		{mk(412, "ErrorIrresolvableConflict"), false, true, false, false},
		{mk(410, "SyncStateNotFound"), false, false, true, false},
		{mk(400, "SyncStateInvalid"), false, false, true, false},
		{mk(400, "syncstateinvalid"), false, false, true, false},
		{mk(400, "ResyncRequired"), false, false, true, false},
		{mk(429, "ApplicationThrottled"), false, false, false, true},
		{mk(503, ""), false, false, false, true},
		{errors.New("plain"), false, false, false, false},
		{nil, false, false, false, false},
	}
	for _, c := range cases {
		if IsNotFound(c.err) != c.nf || IsPrecondition(c.err) != c.pre || IsGone(c.err) != c.gone || IsThrottled(c.err) != c.throttled {
			t.Errorf("%v: %v %v %v %v", c.err, IsNotFound(c.err), IsPrecondition(c.err), IsGone(c.err), IsThrottled(c.err))
		}
	}
	e := newError("GET", "/v1.0/me/contacts/x", 404, http.Header{"Retry-After": {"2"}},
		[]byte(`{"error":{"code":"ErrorItemNotFound","message":"gone `+testToken+`","innerError":{"request-id":"r1"}}}`), testToken)
	want := "graph: GET /v1.0/me/contacts/x: 404 ErrorItemNotFound: gone [REDACTED] (retry after 2s) [request-id r1]"
	if e.Error() != want {
		t.Errorf("%q\nwant %q", e.Error(), want)
	}
	if e := newError("GET", "/p", 502, nil, []byte("<html>bad gateway</html>"), ""); e.Message != "<html>bad gateway</html>" || !strings.Contains(e.Error(), "502 Bad Gateway") {
		t.Errorf("non-JSON error: %q", e.Error())
	}
}
