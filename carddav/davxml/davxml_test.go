package davxml

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// TestWriterReadByClientTypes: a multistatus written by the server's
// Writer (one response at a time) is read back by the client's types with
// the same hrefs, statuses, properties and sync-token — the two ends share
// one set of element names.
func TestWriterReadByClientTypes(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Header()
	w.Start(DAV("multistatus"))
	etag, data := `"e1"`, "BEGIN:VCARD\r\nFN:A & <B>\r\nEND:VCARD\r\n"
	w.Response("/book/a.vcf", 0,
		PropGroup{Status: 200, Props: []*Element{
			{Name: DAV("getetag"), Text: etag},
			{Name: CardDAV("address-data"), Text: data},
			{Name: DAV("resourcetype")},
		}},
		PropGroup{Status: 404, Props: []*Element{{Name: xml.Name{Space: "urn:x", Local: "color"}}}})
	w.Response("/book/gone.vcf", 404)
	w.TextElem(DAV("sync-token"), "http://example/sync/7")
	w.End()
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMultistatus(b.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(ms.Responses) != 2 || ms.SyncToken != "http://example/sync/7" {
		t.Fatalf("responses %d, token %q:\n%s", len(ms.Responses), ms.SyncToken, b.String())
	}
	r := ms.Responses[0]
	if len(r.Hrefs) != 1 || r.Hrefs[0] != "/book/a.vcf" || len(r.Propstats) != 2 {
		t.Fatalf("first response %+v", r)
	}
	p := r.Propstats[0]
	if ParseStatus(p.Status) != 200 || p.Prop.ETag == nil || *p.Prop.ETag != etag ||
		p.Prop.AddressData == nil || *p.Prop.AddressData != data || p.Prop.ResourceType == nil {
		t.Errorf("propstat 200 read as %+v", p)
	}
	if ParseStatus(r.Propstats[1].Status) != 404 {
		t.Errorf("second propstat status %q", r.Propstats[1].Status)
	}
	if g := ms.Responses[1]; g.Hrefs[0] != "/book/gone.vcf" || ParseStatus(g.Status) != 404 {
		t.Errorf("gone response %+v", g)
	}
}

// TestRequestBodies: every request body the client sends is well-formed
// XML with its root in the right namespace.
func TestRequestBodies(t *testing.T) {
	props := []xml.Name{DAV("getetag"), CardDAV("address-data")}
	for _, tt := range []struct {
		name string
		body []byte
		root xml.Name
		has  string
	}{
		{"propfind", Propfind{Props: props}.Encode(), DAV("propfind"), "<D:getetag/>"},
		{"multiget", AddressbookMultiget{Props: props, Hrefs: []string{"/b/a&b.vcf"}}.Encode(), CardDAV("addressbook-multiget"), "/b/a&amp;b.vcf"},
		{"query", AddressbookQuery{Props: props}.Encode(), CardDAV("addressbook-query"), "<C:address-data/>"},
		{"sync initial", SyncCollection{Level: "1", Props: props}.Encode(), DAV("sync-collection"), "<D:sync-token></D:sync-token>"},
		{"sync token", SyncCollection{Token: "t<1>", Level: "1", Props: props}.Encode(), DAV("sync-collection"), "<D:sync-token>t&lt;1&gt;</D:sync-token>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := xml.NewDecoder(bytes.NewReader(tt.body))
			for {
				tok, err := d.Token()
				if err != nil {
					t.Fatalf("%v:\n%s", err, tt.body)
				}
				if se, ok := tok.(xml.StartElement); ok {
					if se.Name != tt.root {
						t.Errorf("root %v, want %v", se.Name, tt.root)
					}
					break
				}
			}
			if !strings.Contains(string(tt.body), tt.has) {
				t.Errorf("body lacks %s:\n%s", tt.has, tt.body)
			}
		})
	}
}

// TestPropMerge: for each property of Prop, a src holding only that one
// sets it in the destination and leaves the properties already there; a
// src holding nothing changes nothing.
func TestPropMerge(t *testing.T) {
	n := reflect.TypeFor[Prop]().NumField()
	for i := range n {
		name := reflect.TypeFor[Prop]().Field(i).Name
		t.Run(name, func(t *testing.T) {
			var src, dst Prop
			held := reflect.New(reflect.TypeFor[Prop]().Field(i).Type.Elem())
			reflect.ValueOf(&src).Elem().Field(i).Set(held)
			other := "kept"
			if name != "DisplayName" {
				dst.DisplayName = &other
			}
			dst.Merge(&src)
			dv := reflect.ValueOf(&dst).Elem()
			if dv.Field(i).Pointer() != held.Pointer() {
				t.Fatalf("%s not merged", name)
			}
			if name != "DisplayName" && dst.DisplayName != &other {
				t.Fatalf("merging %s lost DisplayName", name)
			}
			dst.Merge(&Prop{})
			if dv.Field(i).Pointer() != held.Pointer() {
				t.Fatalf("an empty src cleared %s", name)
			}
		})
	}
}
