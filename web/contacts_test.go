package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cardbridge/cardbridge/state"
	"golang.org/x/net/html"
)

// page parses an HTML page.
func page(t *testing.T, body string) *html.Node {
	t.Helper()
	n, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the page: %v", err)
	}
	return n
}

// attr is n's attribute key.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// find lists the elements under n for which match holds, in order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func byID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "id") == id }
}

func byClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return slices.Contains(strings.Fields(attr(n, "class")), class) }
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

// text is the text under n, spaces collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && n.Data == "br" {
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// one is the only element under n that match finds.
func one(t *testing.T, n *html.Node, what string, match func(*html.Node) bool) *html.Node {
	t.Helper()
	got := find(n, match)
	if len(got) != 1 {
		t.Fatalf("%s: %d elements, want 1", what, len(got))
	}
	return got[0]
}

// vcf is a vCard 3.0 of the given lines.
func vcf(lines ...string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n")
}

// photoLine is a PHOTO property holding a w×h PNG inline.
func photoLine(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return "PHOTO;ENCODING=b;TYPE=PNG:" + base64.StdEncoding.EncodeToString(b.Bytes())
}

// putCards stores cards (href → data) in user's default book and returns
// the book and the cards' etags.
func (e *env) putCards(user string, cards map[string][]byte) (state.AddressBook, map[string]string) {
	e.t.Helper()
	ctx := context.Background()
	b, err := e.db.AddressBook(ctx, user, state.DefaultAddressBook)
	if err != nil {
		e.t.Fatal(err)
	}
	etags := map[string]string{}
	for href, data := range cards {
		et, _, err := e.db.PutCard(ctx, b.ID, href, "", data, state.Precondition{})
		if err != nil {
			e.t.Fatal(err)
		}
		etags[href] = et
	}
	return b, etags
}

// contactNames is the names of the list's rows.
func contactNames(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, n := range find(page(t, body), byClass("name")) {
		out = append(out, text(n))
	}
	return out
}

// TestContactsList: the dashboard counts each book's contacts and links
// its list; the list shows name, e-mail, phone, organisation and a
// thumbnail for the cards with a photo; the search finds by part of a
// name, e-mail, organisation and by phone digits whatever the spaces and
// punctuation; hostile card data is escaped; another user's book is not
// found.
func TestContactsList(t *testing.T) {
	e := newEnv(t)
	e.putCards("alice", map[string][]byte{
		"ann.vcf":       vcf("UID:uid-ann-1", "FN:Ann Müller", "EMAIL;TYPE=work:ann@contoso.example", "TEL;TYPE=cell:+49 (30) 1234-567", "ORG:Contoso;Sales", photoLine(t, 300, 200), "REV:2026-01-02T03:04:05Z"),
		"bob.vcf":       vcf("UID:uid-bob-2", "FN:Bob Stone", "EMAIL:bob@fabrikam.example", "TEL:030 999 11", "ORG:Fabrikam"),
		"we ird?#%.vcf": vcf("UID:uid-odd-4", "FN:Odd Href"),
		"evil.vcf":      vcf("UID:uid-evil-3", `FN:<script>alert(1)</script>\, Eve`, `EMAIL:"><img src=x onerror=alert(2)>@x.example`, "ORG:<b>Org</b>"),
	})
	e.putCards("bob", map[string][]byte{"b.vcf": vcf("UID:uid-b", "FN:Bob's Friend")})
	b := e.browser()
	b.signIn("alice")

	st, _, body := b.get("/ui/")
	if st != http.StatusOK {
		t.Fatalf("dashboard: %d", st)
	}
	row := one(t, page(t, body), "the book's row", func(n *html.Node) bool { return attr(n, "data-book") == "contacts" })
	count := one(t, row, "the count", byClass("count"))
	if text(count) != "4 contacts" {
		t.Errorf("dashboard count %q, want 4 contacts", text(count))
	}
	if a := find(count, byTag("a")); len(a) != 1 || attr(a[0], "href") != "/ui/books/contacts/" {
		t.Errorf("the count does not link the list: %v", a)
	}

	st, _, body = b.get("/ui/books/contacts/")
	if st != http.StatusOK {
		t.Fatalf("list: %d\n%s", st, body)
	}
	doc := page(t, body)
	if got := contactNames(t, body); !slices.Equal(got, []string{`<script>alert(1)</script>, Eve`, "Ann Müller", "Bob Stone", "Odd Href"}) {
		t.Errorf("names %q", got)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<b>Org") {
		t.Errorf("hostile card data reached the page unescaped:\n%s", body)
	}
	for _, hidden := range []string{"uid-ann-1", "uid-bob-2", "2026-01-02T03:04:05Z", "REV", "UID"} {
		if strings.Contains(body, hidden) {
			t.Errorf("the list shows %q", hidden)
		}
	}
	rows := find(doc, byClass("contact"))
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	// An href with characters that mean something in a URL still links
	// its page.
	odd := attr(one(t, rows[3], "odd link", byTag("a")), "href")
	if st, _, body := b.get(odd); st != http.StatusOK || !strings.Contains(body, "Odd Href") {
		t.Errorf("GET %s: %d", odd, st)
	}
	ann := rows[1]
	if got := text(one(t, ann, "e-mail", byClass("email"))); got != "ann@contoso.example" {
		t.Errorf("e-mail %q", got)
	}
	phone := one(t, ann, "phone", byClass("phone"))
	if text(phone) != "+49 (30) 1234-567" || attr(find(phone, byTag("a"))[0], "href") != "tel:+49301234567" {
		t.Errorf("phone %q", text(phone))
	}
	if got := text(one(t, ann, "org", byClass("org"))); got != "Contoso" {
		t.Errorf("org %q", got)
	}
	img := find(ann, byTag("img"))
	if len(img) != 1 || attr(img[0], "src") != "/ui/books/contacts/cards/ann.vcf/photo" {
		t.Errorf("ann's thumbnail: %v", img)
	}
	if len(find(rows[2], byTag("img"))) != 0 {
		t.Errorf("bob has no photo but a thumbnail")
	}
	if l := one(t, doc, "search box label", byTag("label")); attr(l, "for") != "q" {
		t.Errorf("the search box has no label")
	}

	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"müll", []string{"Ann Müller"}},
		{"STONE", []string{"Bob Stone"}},
		{"fabrikam", []string{"Bob Stone"}},
		{"ann@contoso", []string{"Ann Müller"}},
		{"301234567", []string{"Ann Müller"}},
		{"30 1234 567", []string{"Ann Müller"}},
		{"(030) 999-11", []string{"Bob Stone"}},
		{"script", []string{`<script>alert(1)</script>, Eve`}},
		{"friend", nil}, // bob's
		{"nobody", nil},
	} {
		st, _, body := b.get("/ui/books/contacts/?q=" + strings.ReplaceAll(tc.q, " ", "+"))
		if st != http.StatusOK {
			t.Fatalf("search %q: %d", tc.q, st)
		}
		if got := contactNames(t, body); !slices.Equal(got, tc.want) {
			t.Errorf("search %q: %q, want %q", tc.q, got, tc.want)
		}
		if box := one(t, page(t, body), "search box", byID("q")); attr(box, "value") != tc.q {
			t.Errorf("search %q: the box holds %q", tc.q, attr(box, "value"))
		}
		if len(tc.want) == 0 && len(find(page(t, body), byID("no-contacts"))) != 1 {
			t.Errorf("search %q: no 'no contact matches'", tc.q)
		}
	}

	// bob sees his own book under the same name, never alice's.
	bb := e.browser()
	bb.signIn("bob")
	if _, _, body := bb.get("/ui/books/contacts/"); !slices.Equal(contactNames(t, body), []string{"Bob's Friend"}) {
		t.Errorf("bob's list: %q", contactNames(t, body))
	}
	for _, p := range []string{"/ui/books/nosuch/", "/ui/books/contacts/cards/ann.vcf", "/ui/books/contacts/cards/ann.vcf/photo"} {
		if st, _, _ := bb.get(p); st != http.StatusNotFound {
			t.Errorf("bob GET %s: %d, want 404", p, st)
		}
	}
	// Signed out: to the sign-in page.
	if st, loc, _ := e.browser().get("/ui/books/contacts/"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login") {
		t.Errorf("signed out: %d %s", st, loc)
	}
}

// TestContactsPages: 50 a page by name, with Previous/Next links that keep
// the search, and the range shown.
func TestContactsPages(t *testing.T) {
	e := newEnv(t)
	cards := map[string][]byte{}
	for i := range 120 {
		cards[fmt.Sprintf("p%03d.vcf", i)] = vcf(fmt.Sprintf("UID:u%d", i), fmt.Sprintf("FN:Person %03d", i))
	}
	cards["other.vcf"] = vcf("UID:o", "FN:Someone Else")
	e.putCards("alice", cards)
	b := e.browser()
	b.signIn("alice")
	_, _, body := b.get("/ui/books/contacts/?q=person")
	doc := page(t, body)
	if names := contactNames(t, body); len(names) != 50 || names[0] != "Person 000" {
		t.Fatalf("page 1: %d names, first %v", len(names), names[:1])
	}
	if len(find(doc, byID("prev"))) != 0 {
		t.Error("page 1 has a Previous link")
	}
	next := attr(one(t, doc, "next", byID("next")), "href")
	if next != "/ui/books/contacts/?page=2&q=person" {
		t.Errorf("next %q", next)
	}
	if got := text(one(t, doc, "count", byID("result-count"))); got != "120 of 121 contacts match “person”; showing 1–50." {
		t.Errorf("count line %q", got)
	}
	_, _, body = b.get("/ui/books/contacts/?page=3&q=person")
	doc = page(t, body)
	if names := contactNames(t, body); len(names) != 20 || names[0] != "Person 100" {
		t.Errorf("page 3: %d names", len(names))
	}
	if len(find(doc, byID("next"))) != 0 || attr(one(t, doc, "prev", byID("prev")), "href") != "/ui/books/contacts/?page=2&q=person" {
		t.Errorf("page 3 links wrong")
	}
	for _, bad := range []string{"?page=-4", "?page=x", "?page=99999999999999999999"} {
		if st, _, body := b.get("/ui/books/contacts/" + bad); st != http.StatusOK || len(contactNames(t, body)) == 0 && !strings.Contains(bad, "9999") {
			t.Errorf("%s: %d", bad, st)
		}
	}
}

// TestContactPhoto: the photo comes from the card's inline PHOTO, as a
// JPEG of at most photoSize pixels a side; a PHOTO naming a URL is never
// fetched, and a photo too large or not an image is not served.
func TestContactPhoto(t *testing.T) {
	var fetched atomic.Int32
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer remote.Close()
	e := newEnv(t)
	big := make([]byte, maxPhotoBytes+10)
	e.putCards("alice", map[string][]byte{
		"wide.vcf":  vcf("UID:1", "FN:Wide", photoLine(t, 640, 320)),
		"small.vcf": vcf("UID:2", "FN:Small", photoLine(t, 20, 30)),
		"url.vcf":   vcf("UID:3", "FN:Url", "PHOTO;VALUE=uri:"+remote.URL+"/p.jpg"),
		"datauri.vcf": []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:4\r\nFN:Data\r\nPHOTO:data:image/png;base64," +
			strings.TrimPrefix(photoLine(t, 8, 8), "PHOTO;ENCODING=b;TYPE=PNG:") + "\r\nEND:VCARD\r\n"),
		"huge.vcf": vcf("UID:5", "FN:Huge", "PHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString(big)),
		"html.vcf": vcf("UID:6", "FN:Html", "PHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString([]byte("<html><script>alert(1)</script>"))),
		"none.vcf": vcf("UID:7", "FN:None"),
		"bomb.vcf": vcf("UID:8", "FN:Bomb", photoLine(t, 2100, 2100)), // small file, too many pixels
	})
	b := e.browser()
	b.signIn("alice")
	for _, tc := range []struct {
		href string
		w, h int // 0: 404
	}{
		{"wide.vcf", 160, 80}, {"small.vcf", 20, 30}, {"datauri.vcf", 8, 8},
		{"url.vcf", 0, 0}, {"huge.vcf", 0, 0}, {"bomb.vcf", 0, 0}, {"html.vcf", 0, 0}, {"none.vcf", 0, 0}, {"nosuch.vcf", 0, 0},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.ui.URL+"/ui/books/contacts/cards/"+tc.href+"/photo", nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		raw.ReadFrom(resp.Body)
		resp.Body.Close()
		if tc.w == 0 {
			if resp.StatusCode != http.StatusNotFound || strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
				t.Errorf("%s: %d %s, want 404", tc.href, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q", tc.href, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		img, err := jpeg.Decode(&raw)
		if err != nil {
			t.Errorf("%s: not a JPEG: %v", tc.href, err)
			continue
		}
		if got := img.Bounds().Size(); got.X != tc.w || got.Y != tc.h {
			t.Errorf("%s: %v, want %dx%d", tc.href, got, tc.w, tc.h)
		}
	}
	// The card's ETag answers a revalidation without decoding again.
	req, _ := http.NewRequest(http.MethodGet, e.ui.URL+"/ui/books/contacts/cards/small.vcf/photo", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req.Header.Set("If-None-Match", etag)
	if resp, err = b.c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if etag == "" || resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: %d, want 304", etag, resp.StatusCode)
	}
	b.get("/ui/books/contacts/")
	b.get("/ui/books/contacts/cards/url.vcf")
	if n := fetched.Load(); n != 0 {
		t.Errorf("the photo URL a card names was fetched %d times", n)
	}
}
