package graphsim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

const immutable = `IdType="ImmutableId"`

func TestContactCRUD(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	r := e.do("POST", "/v1.0/me/contacts", tok, map[string]any{
		"givenName": "Ada", "surname": "Lovelace",
		"emailAddresses": []map[string]string{{"address": "ada@example.com"}},
		"birthday":       "1815-12-10",
		"homeAddress":    map[string]string{"city": "London"},
	}, "Prefer", immutable)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	c := r.json(t)
	id := c["id"].(string)
	if !strings.HasPrefix(id, "AAkALg") || c["displayName"] != "Ada Lovelace" || c["jobTitle"] != nil {
		t.Fatalf("created: %s", r.body)
	}
	if v, ok := c["businessPhones"].([]any); !ok || len(v) != 0 {
		t.Fatalf("unset array must be []: %v", c["businessPhones"])
	}
	if v, ok := c["businessAddress"].(map[string]any); !ok || len(v) != 0 {
		t.Fatalf("empty address must be {}: %v", c["businessAddress"])
	}
	if c["birthday"] != "1815-12-10T00:00:00Z" {
		t.Fatalf("birthday: %v", c["birthday"])
	}
	if em := c["emailAddresses"].([]any)[0].(map[string]any); em["name"] != "ada@example.com" {
		t.Fatalf("email name default: %v", em)
	}
	ck := c["changeKey"].(string)
	if c["@odata.etag"] != `W/"`+ck+`"` {
		t.Fatalf("etag: %v", c["@odata.etag"])
	}
	if lm := c["lastModifiedDateTime"].(string); !strings.HasSuffix(lm, ":53Z") {
		t.Fatalf("lastModified must have whole seconds: %s", lm)
	}
	// the regular id differs; both address the item; ids are case-sensitive
	g := e.do("GET", "/v1.0/me/contacts/"+id, tok, nil)
	regular := g.json(t)["id"].(string)
	if g.status != 200 || regular == id || !strings.HasPrefix(regular, "AAMkA") {
		t.Fatalf("regular id: %s", g.body)
	}
	if e.do("GET", "/v1.0/me/contacts/"+regular, tok, nil).status != 200 {
		t.Fatal("regular id lookup")
	}
	if r := e.do("GET", "/v1.0/me/contacts/"+strings.ToLower(id[:6])+id[6:], tok, nil); r.status != 400 && r.status != 404 {
		t.Fatalf("ids are case-sensitive: %d", r.status)
	}
	// PATCH: names change, displayName regenerated
	r = e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"givenName": "Augusta Ada"}, "Prefer", immutable, "If-Match", `W/"`+ck+`"`)
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	p := r.json(t)
	if p["displayName"] != "Augusta Ada Lovelace" || p["changeKey"] == ck || p["homeAddress"].(map[string]any)["city"] != "London" {
		t.Fatalf("patched: %s", r.body)
	}
	// displayName sent: kept
	r = e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"surname": "King", "displayName": "Ada"}, "Prefer", immutable)
	if r.json(t)["displayName"] != "Ada" {
		t.Fatalf("displayName sent must win: %s", r.body)
	}
	// stale If-Match
	r = e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"jobTitle": "x"}, "If-Match", `W/"`+ck+`"`)
	if r.status != 412 || r.errCode(t) != "ErrorIrresolvableConflict" {
		t.Fatalf("stale If-Match: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/v1.0/me/contacts/"+id, tok, nil, "If-Match", `W/"`+ck+`"`); r.status != 412 {
		t.Fatalf("stale delete: %d", r.status)
	}
	// array limits
	four := []map[string]string{{"address": "a@x"}, {"address": "b@x"}, {"address": "c@x"}, {"address": "d@x"}}
	r = e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"emailAddresses": four})
	if r.status != 400 || !strings.Contains(string(r.body), "The multi value property EmailAddresses has 4 entries, that exceeds the max allowed value of 3") {
		t.Fatalf("4 emails: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1.0/me/contacts", tok, map[string]any{"businessPhones": []string{"1", "2", "3"}})
	if r.status != 400 || !strings.Contains(string(r.body), "BusinessPhones has 3 entries") {
		t.Fatalf("3 business phones: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1.0/me/contacts", tok, map[string]any{"homePhones": []string{"1", "2", "3"}}); r.status != 400 {
		t.Fatalf("3 home phones: %d", r.status)
	}
	// malformed and unknown
	if r := e.do("POST", "/v1.0/me/contacts", tok, []byte(`{"givenName":`)); r.status != 400 || r.errCode(t) == "" {
		t.Fatalf("malformed: %d", r.status)
	}
	if r := e.do("POST", "/v1.0/me/contacts", tok, map[string]any{"givenNmae": "x"}); r.status != 400 {
		t.Fatalf("unknown property: %d", r.status)
	}
	if r := e.do("POST", "/v1.0/me/contacts", tok, map[string]any{"givenName": 3}); r.status != 400 {
		t.Fatalf("wrong type: %d", r.status)
	}
	// delete
	cur, _ := e.alice.Get(id)
	var cm map[string]any
	json.Unmarshal(cur, &cm)
	if r := e.do("DELETE", "/v1.0/me/contacts/"+id, tok, nil, "If-Match", cm["@odata.etag"].(string)); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1.0/me/contacts/"+id, tok, nil); r.status != 404 || r.errCode(t) != "ErrorItemNotFound" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1.0/me/contacts/not-an-id", tok, nil); r.status != 400 || r.errCode(t) != "ErrorInvalidIdMalformed" {
		t.Fatalf("malformed id: %d %s", r.status, r.body)
	}
}

func TestOptionsVariants(t *testing.T) {
	e := newEnv(t, Options{NoDisplayNameRegeneration: true, Birthday: BirthdayDateOnly, EmailNameAsGiven: true, IgnoreIfMatch: true})
	tok := e.tok()
	r := e.do("POST", "/v1.0/me/contacts", tok, map[string]any{"givenName": "A", "displayName": "Custom", "birthday": "2016-10-19T10:37:00Z",
		"emailAddresses": []map[string]string{{"address": "a@x"}}})
	c := r.json(t)
	if c["birthday"] != "2016-10-19" || c["emailAddresses"].([]any)[0].(map[string]any)["name"] != "" {
		t.Fatalf("options: %s", r.body)
	}
	r = e.do("PATCH", "/v1.0/me/contacts/"+c["id"].(string), tok, map[string]any{"givenName": "B"}, "If-Match", `W/"stale"`)
	if r.status != 200 || r.json(t)["displayName"] != "Custom" {
		t.Fatalf("no regeneration / ignore If-Match: %d %s", r.status, r.body)
	}
}

func TestListPagingSelectFilter(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	e.alice.Seed("", 25, 7)
	var got int
	next := "/v1.0/me/contacts?$select=displayName,emailAddresses"
	pages := 0
	for next != "" {
		r := e.do("GET", next, tok, nil, "Prefer", "odata.maxpagesize=10")
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		m := r.json(t)
		vals := m["value"].([]any)
		got += len(vals)
		pages++
		if v := vals[0].(map[string]any); v["givenName"] != nil || v["displayName"] == nil || v["id"] == nil {
			t.Fatalf("$select: %v", v)
		}
		next, _ = m["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, e.ts.URL+"/v1.0/") {
			t.Fatalf("nextLink host: %s", next)
		}
	}
	if got != 25 || pages != 3 {
		t.Fatalf("paging: %d items in %d pages", got, pages)
	}
	r := e.do("GET", "/v1.0/me/contacts?$top=5", tok, nil)
	if n := len(r.json(t)["value"].([]any)); n != 5 {
		t.Fatalf("$top: %d", n)
	}
	if r := e.do("GET", "/v1.0/me/contacts?$top=1001", tok, nil); r.status != 400 {
		t.Fatalf("$top 1001: %d", r.status)
	}
	if r := e.do("GET", "/v1.0/me/contacts?$select=nope", tok, nil); r.status != 400 {
		t.Fatalf("bad $select: %d", r.status)
	}
	// default page is 10
	if n := len(e.do("GET", "/v1.0/me/contacts", tok, nil).json(t)["value"].([]any)); n != 10 {
		t.Fatalf("default page: %d", n)
	}
	e.alice.Put("", []byte(`{"givenName":"Zed","emailAddresses":[{"address":"zed@find.example"}]}`))
	q := url.Values{"$filter": {"emailAddresses/any(a:a/address eq 'zed@find.example')"}}
	if v := e.do("GET", "/v1.0/me/contacts?"+q.Encode(), tok, nil).json(t)["value"].([]any); len(v) != 1 {
		t.Fatalf("email filter: %d", len(v))
	}
	q = url.Values{"$filter": {"startswith(givenName,'Ze') and givenName eq 'Zed'"}}
	if v := e.do("GET", "/v1.0/me/contacts?"+q.Encode(), tok, nil).json(t)["value"].([]any); len(v) != 1 {
		t.Fatalf("startswith filter: %d", len(v))
	}
	if r := e.do("GET", "/v1.0/me/contacts?"+url.Values{"$filter": {"givenName eq"}}.Encode(), tok, nil); r.status != 400 {
		t.Fatalf("bad filter: %d", r.status)
	}
}

const uidProp = "String {5c2f8a1e-7b3d-4e69-9a40-c6d2b1e8f307} Name cardbridgeUid"

func TestExtendedProperties(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	e.alice.Seed("", 5, 1)
	r := e.do("POST", "/v1.0/me/contacts", tok, map[string]any{"givenName": "U",
		"singleValueExtendedProperties": []map[string]string{{"id": uidProp, "value": "uid-123"}}}, "Prefer", immutable)
	if r.status != 201 || r.json(t)["singleValueExtendedProperties"] != nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	exp := url.Values{"$expand": {"singleValueExtendedProperties($filter=id eq '" + uidProp + "')"}}.Encode()
	g := e.do("GET", "/v1.0/me/contacts/"+id+"?"+exp, tok, nil)
	ext, _ := g.json(t)["singleValueExtendedProperties"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)["value"] != "uid-123" {
		t.Fatalf("expand: %s", g.body)
	}
	// a contact without the property has no singleValueExtendedProperties at all
	other := e.alice.ContactIDs("")[0]
	if g := e.do("GET", "/v1.0/me/contacts/"+other+"?"+exp, tok, nil); g.json(t)["singleValueExtendedProperties"] != nil {
		t.Fatalf("absent property: %s", g.body)
	}
	flt := url.Values{"$filter": {"singleValueExtendedProperties/Any(ep: ep/id eq '" + uidProp + "' and ep/value eq 'uid-123')"}}.Encode()
	l := e.do("GET", "/v1.0/me/contacts?"+flt, tok, nil, "Prefer", immutable)
	vals := l.json(t)["value"].([]any)
	if len(vals) != 1 || vals[0].(map[string]any)["id"] != id {
		t.Fatalf("filter: %s", l.body)
	}
	flt = url.Values{"$filter": {"singleValueExtendedProperties/Any(ep: ep/id eq '" + uidProp + "' and ep/value eq 'other')"}}.Encode()
	if vals := e.do("GET", "/v1.0/me/contacts?"+flt, tok, nil).json(t)["value"].([]any); len(vals) != 0 {
		t.Fatal("filter matched the wrong value")
	}
	// PATCH keeps it unless rewritten; a bad id is refused
	e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"jobTitle": "x"})
	if v, ok := e.alice.ExtendedProperty(id, uidProp); !ok || v != "uid-123" {
		t.Fatal("PATCH lost the property")
	}
	if r := e.do("PATCH", "/v1.0/me/contacts/"+id, tok, map[string]any{"singleValueExtendedProperties": []map[string]string{{"id": "bogus", "value": "x"}}}); r.status != 400 {
		t.Fatalf("bad property id: %d", r.status)
	}
}

func TestPhotos(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	id := e.alice.Put("", []byte(`{"givenName":"P"}`))
	path := "/v1.0/me/contacts/" + id + "/photo/$value"
	if r := e.do("GET", path, tok, nil); r.status != 404 || r.errCode(t) != "ErrorItemNotFound" {
		t.Fatalf("no photo: %d %s", r.status, r.body)
	}
	before, _ := e.alice.Get(id)
	pic := testutil.JPEG(t, 200)
	if r := e.do("PUT", path, tok, pic, "Content-Type", "image/jpeg"); r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	r := e.do("GET", path, tok, nil)
	if r.status != 200 || !bytes.Equal(r.body, pic) || r.h.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("get photo: %d %s", r.status, r.h.Get("Content-Type"))
	}
	after, _ := e.alice.Get(id)
	if bytes.Equal(before, after) {
		t.Fatal("a photo PUT must bump changeKey (Exchange stores the photo as an attachment)")
	}
	if m := e.do("GET", "/v1.0/me/contacts/"+id+"/photo", tok, nil).json(t); m["width"].(float64) != 8 { // testutil.JPEG is 8 by 8
		t.Fatalf("photo metadata: %v", m)
	}
	if r := e.do("PUT", path, tok, bytes.Repeat([]byte{1}, MaxPhoto+1), "Content-Type", "image/jpeg"); r.status != 413 {
		t.Fatalf("too big: %d", r.status)
	}
	if r := e.do("PUT", path, tok, []byte("not an image"), "Content-Type", "image/jpeg"); r.status != 400 {
		t.Fatalf("not an image: %d", r.status)
	}
}

func TestFolders(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	r := e.do("POST", "/v1.0/me/contactFolders", tok, map[string]string{"displayName": "Work"})
	if r.status != 201 {
		t.Fatalf("create folder: %d %s", r.status, r.body)
	}
	fid := r.json(t)["id"].(string)
	if r := e.do("POST", "/v1.0/me/contactFolders", tok, map[string]string{"displayName": "work"}); r.status != 409 || r.errCode(t) != "ErrorFolderExists" {
		t.Fatalf("duplicate folder: %d", r.status)
	}
	l := e.do("GET", "/v1.0/me/contactFolders", tok, nil).json(t)["value"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["displayName"] != "Work" {
		t.Fatalf("list excludes the default folder: %v", l)
	}
	if g := e.do("GET", "/v1.0/me/contactFolders/Contacts", tok, nil); g.status != 200 || g.json(t)["id"] != e.alice.DefaultFolderID() {
		t.Fatalf("well-known Contacts: %d %s", g.status, g.body)
	}
	flt := url.Values{"$filter": {"displayName eq 'Work'"}}.Encode()
	if l := e.do("GET", "/v1.0/me/contactFolders?"+flt, tok, nil).json(t)["value"].([]any); len(l) != 1 {
		t.Fatal("folder filter")
	}
	c := e.do("POST", "/v1.0/me/contactFolders/"+fid+"/childFolders", tok, map[string]string{"displayName": "Sub"})
	cid := c.json(t)["id"].(string)
	if r := e.do("POST", "/v1.0/me/contactFolders/"+fid+"/childFolders/"+cid+"/contacts", tok, map[string]string{"givenName": "Deep"}); r.status != 201 || r.json(t)["parentFolderId"] != cid {
		t.Fatalf("nested contact: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1.0/me/contactFolders/"+fid+"/contacts", tok, map[string]string{"givenName": "InWork"}); r.status != 201 {
		t.Fatal("folder contact")
	}
	if n := len(e.do("GET", "/v1.0/me/contactFolders('"+fid+"')/contacts", tok, nil).json(t)["value"].([]any)); n != 1 {
		t.Fatalf("OData key syntax: %d", n)
	}
	d := e.do("GET", "/v1.0/me/contactFolders/delta", tok, nil).json(t)
	if len(d["value"].([]any)) != 2 || d["@odata.deltaLink"] == nil {
		t.Fatalf("folder delta: %v", d)
	}
	if r := e.do("DELETE", "/v1.0/me/contactFolders/"+fid, tok, nil); r.status != 204 {
		t.Fatalf("delete folder: %d", r.status)
	}
	d2 := e.do("GET", d["@odata.deltaLink"].(string), tok, nil).json(t)
	if len(d2["value"].([]any)) != 2 {
		t.Fatalf("folder delta after delete: %v", d2)
	}
	if r := e.do("DELETE", "/v1.0/me/contactFolders/Contacts", tok, nil); r.status != 400 {
		t.Fatalf("delete default: %d", r.status)
	}
	if r := e.do("GET", "/v1.0/me/contactFolders/"+fid+"/contacts", tok, nil); r.status != 404 {
		t.Fatalf("deleted folder: %d", r.status)
	}
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	if r := e.do("GET", "/v1.0/me/contacts", "", nil); r.status != 401 || r.errCode(t) != "InvalidAuthenticationToken" {
		t.Fatalf("no token: %d", r.status)
	}
	if r := e.do("GET", "/v1.0/me/contacts", "garbage", nil); r.status != 401 {
		t.Fatalf("unknown token: %d", r.status)
	}
	e.clock.Add(61 * time.Minute)
	if r := e.do("GET", "/v1.0/me/contacts", tok, nil); r.status != 401 || r.errCode(t) != "InvalidAuthenticationToken" || r.h.Get("WWW-Authenticate") == "" {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
	tok = e.tok()
	e.s.ExpireAccessTokens()
	if r := e.do("GET", "/v1.0/me", tok, nil); r.status != 401 {
		t.Fatalf("ExpireAccessTokens: %d", r.status)
	}
	tok = e.tok()
	if r := e.do("GET", "/v1.0/users/bob@contoso.example/contacts", tok, nil); r.status != 403 {
		t.Fatalf("delegated other user: %d", r.status)
	}
	if r := e.do("GET", "/v1.0/users/ALICE@contoso.example/contacts", tok, nil); r.status != 200 {
		t.Fatalf("delegated self by upn: %d", r.status)
	}
	ro, _ := e.s.IssueToken("pub", "alice@contoso.example", "Contacts.Read")
	if r := e.do("GET", "/v1.0/me/contacts", ro, nil); r.status != 200 {
		t.Fatalf("read-only read: %d", r.status)
	}
	if r := e.do("POST", "/v1.0/me/contacts", ro, map[string]any{"givenName": "x"}); r.status != 403 {
		t.Fatalf("read-only write: %d", r.status)
	}
}

func TestHostileInput(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	huge := append([]byte(`{"givenName":"`), bytes.Repeat([]byte("a"), MaxBody+10)...)
	huge = append(huge, `"}`...)
	if r := e.do("POST", "/v1.0/me/contacts", tok, huge); r.status != 413 {
		t.Fatalf("huge body: %d", r.status)
	}
	for _, p := range []string{"/v1.0/", "/v1.0/me/nothing", "/v1.0/me/contacts/x/y/z/w", "/v1.0/me/contactFolders/AAMkAunknownunknownunknown/contacts", "/beta/me", "/nothing", "/v1.0/users", "/v1.0/me/contacts/a%2Fb", "/v1.0/me/contacts('x')"} {
		r := e.do("GET", p, tok, nil)
		if r.status < 400 {
			t.Errorf("%s: %d", p, r.status)
			continue
		}
		{
			var m map[string]any
			if json.Unmarshal(r.body, &m) != nil || m["error"] == nil {
				t.Errorf("%s: not a JSON error: %d %s", p, r.status, r.body)
			}
		}
	}
	for _, body := range []string{`[]`, `null`, `"x"`, `{"emailAddresses":"x"}`, `{"homeAddress":[1]}`, `{"birthday":"soon"}`, `{"emailAddresses":[{"address":1}]}`, `{} {}`} {
		if r := e.do("POST", "/v1.0/me/contacts", tok, []byte(body)); r.status != 400 {
			t.Errorf("%s: %d", body, r.status)
		}
	}
}

func TestConcurrencyThrottle(t *testing.T) {
	e := newEnv(t, Options{Latency: 300 * time.Millisecond})
	tok := e.tok()
	var wg sync.WaitGroup
	codes := make([]int, 5)
	retry := make([]string, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("GET", "/v1.0/me/contacts", tok, nil)
			codes[i], retry[i] = r.status, r.h.Get("Retry-After")
		}()
	}
	wg.Wait()
	n429 := 0
	for i, c := range codes {
		if c == 429 {
			n429++
			if retry[i] == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if n429 != 1 {
		t.Fatalf("want exactly one 429 of 5 concurrent, got %v", codes)
	}
	st := e.s.Stats()
	if st.MaxConcurrent != 5 || st.Throttled429 != 1 || st.PerMailbox["alice@contoso.example"].Throttled429 != 1 {
		t.Fatalf("stats: %+v", st)
	}
	// other mailbox is independent
	e.s.ResetStats()
	if e.s.Stats().Requests != 0 {
		t.Fatal("ResetStats")
	}
}

func TestRateWindow(t *testing.T) {
	e := newEnv(t, Options{RateLimit: 5, RateWindow: time.Minute})
	tok := e.tok()
	for i := range 5 {
		if r := e.do("GET", "/v1.0/me/contacts", tok, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := e.do("GET", "/v1.0/me/contacts", tok, nil)
	if r.status != 429 || r.h.Get("Retry-After") != "60" || r.errCode(t) != "ApplicationThrottled" {
		t.Fatalf("over the rate: %d %q %s", r.status, r.h.Get("Retry-After"), r.body)
	}
	e.clock.Add(30 * time.Second)
	if r := e.do("GET", "/v1.0/me/contacts", tok, nil); r.status != 429 || r.h.Get("Retry-After") != "30" {
		t.Fatalf("still over: %d %s", r.status, r.h.Get("Retry-After"))
	}
	e.clock.Add(31 * time.Second)
	if r := e.do("GET", "/v1.0/me/contacts", tok, nil); r.status != 200 {
		t.Fatalf("window freed: %d", r.status)
	}
}

func TestFailNextAndLatency(t *testing.T) {
	e := newEnv(t, Options{Latency: 40 * time.Millisecond})
	tok := e.tok()
	e.s.FailNext(3, 503, 2*time.Second)
	for i := range 3 {
		r := e.do("GET", "/v1.0/me/contacts", tok, nil)
		if r.status != 503 || r.h.Get("Retry-After") != "2" {
			t.Fatalf("fault %d: %d %q", i, r.status, r.h.Get("Retry-After"))
		}
	}
	start := time.Now()
	if r := e.do("GET", "/v1.0/me/contacts", tok, nil); r.status != 200 {
		t.Fatalf("after faults: %d", r.status)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Fatalf("latency not applied: %v", el)
	}
	if st := e.s.Stats(); st.Injected != 3 {
		t.Fatalf("injected: %d", st.Injected)
	}
	e.s.FailNextToken(1)
	if c, _ := e.form(tenantPath+"/devicecode", url.Values{}).json(t)["error"].(string); c == "" {
		t.Log("devicecode is not the token endpoint")
	}
	r := e.form(tenantPath+"/token", url.Values{"client_id": {"pub"}, "grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	if c, _ := r.aad(t); r.status != 503 || c != "temporarily_unavailable" {
		t.Fatalf("token fault: %d %s", r.status, c)
	}
}
