package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// round follows links until a deltaLink; it returns the entries and the deltaLink.
func (e *testEnv) round(t *testing.T, start, tok string, pageSize string) (items []map[string]any, deltaLink string, pages int) {
	t.Helper()
	next := start
	for next != "" {
		hdr := []string{"Prefer", immutable}
		if pageSize != "" {
			hdr = []string{"Prefer", immutable + ", odata.maxpagesize=" + pageSize}
		}
		r := e.do("GET", next, tok, nil, hdr...)
		if r.status != 200 {
			t.Fatalf("delta page: %d %s", r.status, r.body)
		}
		m := r.json(t)
		nl, hasNext := m["@odata.nextLink"].(string)
		dl, hasDelta := m["@odata.deltaLink"].(string)
		if hasNext == hasDelta {
			t.Fatalf("a page must have exactly one of nextLink/deltaLink: %s", r.body)
		}
		if hasNext && !strings.Contains(nl, "$skiptoken=") || hasDelta && !strings.Contains(dl, "$deltatoken=") {
			t.Fatalf("links: %s %s", nl, dl)
		}
		for _, v := range m["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		pages++
		if pages > 1000 {
			t.Fatal("delta does not end")
		}
		next, deltaLink = nl, dl
	}
	return items, deltaLink, pages
}

func TestDeltaRounds(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.tok()
	e.alice.Seed("", 25, 3)
	items, dl, pages := e.round(t, "/v1.0/me/contacts/delta", tok, "10")
	if len(items) != 25 || pages != 3 {
		t.Fatalf("first round: %d items, %d pages", len(items), pages)
	}
	for _, it := range items {
		if it["@odata.type"] != "#microsoft.graph.contact" || it["@removed"] != nil || !strings.HasPrefix(it["id"].(string), "AAkALg") {
			t.Fatalf("first-round item: %v", it)
		}
	}
	// nothing changed: an empty round
	items, dl, _ = e.round(t, dl, tok, "10")
	if len(items) != 0 {
		t.Fatalf("unchanged round: %d", len(items))
	}
	ids := e.alice.ContactIDs("")
	e.alice.Put("", []byte(`{"id":"`+ids[0]+`","jobTitle":"Boss"}`))
	e.alice.Delete(ids[1])
	newID := e.alice.Put("", []byte(`{"givenName":"New"}`))
	items, dl, _ = e.round(t, dl, tok, "10")
	byID := map[string]map[string]any{}
	for _, it := range items {
		byID[it["id"].(string)] = it
	}
	if len(byID) != 3 || byID[ids[0]]["jobTitle"] != "Boss" || byID[newID]["givenName"] != "New" {
		t.Fatalf("incremental: %v", items)
	}
	rm := byID[ids[1]]
	if rm["@removed"].(map[string]any)["reason"] != "deleted" || rm["@odata.type"] != "#microsoft.graph.contact" || len(rm) != 3 {
		t.Fatalf("removed entry: %v", rm)
	}
	// $top refused; expired tokens 410
	if r := e.do("GET", "/v1.0/me/contacts/delta?$top=5", tok, nil); r.status != 400 {
		t.Fatalf("$top: %d", r.status)
	}
	e.s.ExpireDeltaTokens()
	r := e.do("GET", dl, tok, nil)
	if r.status != 410 || r.errCode(t) != CodeSyncStateNotFound {
		t.Fatalf("expired: %d %s", r.status, r.body)
	}
	// a mid-round nextLink expires too
	first := e.do("GET", "/v1.0/me/contacts/delta", tok, nil, "Prefer", "odata.maxpagesize=5").json(t)
	e.s.ExpireDeltaTokens()
	if r := e.do("GET", first["@odata.nextLink"].(string), tok, nil); r.status != 410 {
		t.Fatalf("expired nextLink: %d", r.status)
	}
	// a forged token
	if r := e.do("GET", "/v1.0/me/contacts/delta?$deltatoken=abc.def", tok, nil); r.status != 400 {
		t.Fatalf("forged token: %d", r.status)
	}
}

func TestDeltaTTLSelectAndCode(t *testing.T) {
	e := newEnv(t, Options{DeltaTokenTTL: time.Hour, ExpiredCode: CodeResyncRequired})
	tok := e.tok()
	fid := e.alice.AddFolder("Friends")
	e.alice.Seed(fid, 4, 9)
	items, dl, _ := e.round(t, "/v1.0/me/contactFolders/"+fid+"/contacts/delta?$select=givenName,surname", tok, "")
	if len(items) != 4 || items[0]["emailAddresses"] != nil || items[0]["givenName"] == nil {
		t.Fatalf("select: %v", items)
	}
	if !strings.Contains(dl, "contactFolders('"+fid+"')") {
		t.Fatalf("deltaLink form: %s", dl)
	}
	// $select is remembered in the token
	id := e.alice.ContactIDs(fid)[0]
	e.alice.Put("", []byte(`{"id":"`+id+`","surname":"Changed"}`))
	items, dl, _ = e.round(t, dl, tok, "")
	if len(items) != 1 || items[0]["surname"] != "Changed" || items[0]["emailAddresses"] != nil {
		t.Fatalf("select kept: %v", items)
	}
	// the default folder's delta does not see this folder
	if items, _, _ := e.round(t, "/v1.0/me/contacts/delta", tok, ""); len(items) != 0 {
		t.Fatalf("default folder delta: %d", len(items))
	}
	e.clock.Add(2 * time.Hour)
	tok = e.tok()
	if r := e.do("GET", dl, tok, nil); r.status != 410 || r.errCode(t) != CodeResyncRequired {
		t.Fatalf("ttl: %d %s", r.status, r.body)
	}
	// a token of one folder on another folder's URL
	_, dl2, _ := e.round(t, "/v1.0/me/contacts/delta", tok, "")
	tokPart := dl2[strings.Index(dl2, "$deltatoken="):]
	if r := e.do("GET", "/v1.0/me/contactFolders/"+fid+"/contacts/delta?"+tokPart, tok, nil); r.status != 400 {
		t.Fatalf("token on another folder: %d", r.status)
	}
	_ = base64.StdEncoding
}

func TestDeltaDuplicatesAndEmptyPages(t *testing.T) {
	e := newEnv(t, Options{DeltaDuplicates: true, DeltaEmptyPages: 0.3, Seed: 5})
	tok := e.tok()
	e.alice.Seed("", 60, 1)
	items, dl, _ := e.round(t, "/v1.0/me/contacts/delta", tok, "7")
	seen := map[string]int{}
	for _, it := range items {
		seen[it["id"].(string)]++
	}
	if len(seen) != 60 {
		t.Fatalf("distinct ids: %d", len(seen))
	}
	if len(items) == 60 {
		t.Fatal("expected some duplicates")
	}
	// changes during a round are delivered (now or next round), never lost
	next := e.do("GET", "/v1.0/me/contacts/delta", tok, nil, "Prefer", "odata.maxpagesize=10").json(t)
	ids := e.alice.ContactIDs("")
	e.alice.Put("", []byte(`{"id":"`+ids[0]+`","jobTitle":"Mid-round"}`))
	var all []map[string]any
	for _, v := range next["value"].([]any) {
		all = append(all, v.(map[string]any))
	}
	rest, dl2, _ := e.round(t, next["@odata.nextLink"].(string), tok, "10")
	all = append(all, rest...)
	more, _, _ := e.round(t, dl2, tok, "10")
	all = append(all, more...)
	found := false
	for _, it := range all {
		if it["id"] == ids[0] && it["jobTitle"] == "Mid-round" {
			found = true
		}
	}
	if !found {
		t.Fatal("mid-round change lost")
	}
	_ = dl
	var raw json.RawMessage
	_ = raw
}
