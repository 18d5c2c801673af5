package main

import (
	"bufio"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardbridge/cardbridge/testutil"
)

// bigCard is a vCard 3.0 of about size bytes (a PHOTO of random bytes,
// folded at 75 octets), under the server's default 1 MiB limit.
func bigCard(uid string, size int) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:Big " + uid + "\r\nN:" + uid + ";Big;;;\r\n")
	raw := make([]byte, size*3/4*74/77)
	r := rand.New(rand.NewPCG(1, uint64(len(uid))))
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	line := "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString(raw)
	for len(line) > 75 {
		b.WriteString(line[:75] + "\r\n ")
		line = line[75:]
	}
	b.WriteString(line + "\r\nEND:VCARD\r\n")
	return b.String()
}

// procStatus reads a "Name:   N kB" line of /proc/pid/status in bytes.
func procStatus(t *testing.T, pid int, name string) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the server's /proc status: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, l, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

// TestServeMemoryUnderAmplifyingRequests sends `cardbridge serve` the
// requests that made it allocate without bound — a multiget naming one
// 1 MB card 200 and 2,000 times, and an addressbook-query, a
// sync-collection without a limit and a PROPFIND Depth 1 with address-data
// over a book of 200 such cards (200 MB) — and checks that the server's
// peak resident memory (VmHWM, reset before each request) stays under a
// bound that does not grow with the answer. Before the streaming answers,
// the 200-href multiget alone peaked at hundreds of MB and the 2,000-href
// one was killed for lack of memory.
func TestServeMemoryUnderAmplifyingRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 200 MB")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	const (
		cardSize  = 1_000_000
		bookCards = 200
		// peakBound is what serve may hold at its peak while answering one
		// of the requests: the process itself (about 90 MB after the
		// uploads, SQLite's 32 MB page cache included) and one bounded
		// batch of cards — not the answer, which for the requests over the
		// whole book is larger than the bound on its own (220 MB).
		peakBound = 200 << 20
	)
	dir := t.TempDir()
	port := freePort(t)
	cfg := serveConfig(t, dir, port, "")
	addUser(t, cfg, "alice", "correct horse")
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	pid := cmd.Process.Pid
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	book := "/addressbooks/alice/contacts/"
	client := &http.Client{Timeout: 5 * time.Minute}
	do := func(method, path string, hdr map[string]string, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("alice", "correct horse")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v; serve's log:\n%s", method, path, err, stderr)
		}
		return resp
	}
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "serving CardDAV") }) {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}
	for i := range bookCards {
		uid := fmt.Sprintf("c%03d", i)
		resp := do("PUT", book+uid+".vcf", map[string]string{"Content-Type": "text/vcard"}, bigCard(uid, cardSize))
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %s", uid, resp.Status)
		}
	}
	t.Logf("book of %d cards of about %d bytes; serve's RSS after the uploads %.1f MB, peak so far %.1f MB",
		bookCards, cardSize, mb(procStatus(t, pid, "VmRSS")), mb(procStatus(t, pid, "VmHWM")))

	multiget := func(n int) string {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
		for range n {
			b.WriteString("<D:href>" + book + "c000.vcf</D:href>")
		}
		b.WriteString("</C:addressbook-multiget>")
		return b.String()
	}
	addressData := `<D:prop><D:getetag/><C:address-data/></D:prop>`
	for _, tc := range []struct {
		name      string
		method    string
		hdr       map[string]string
		body      string
		responses int // <D:response> elements in the answer
	}{
		{"multiget of one 1 MB card × 200", "REPORT", map[string]string{"Depth": "1"}, multiget(200), 1},
		{"multiget of one 1 MB card × 2,000", "REPORT", map[string]string{"Depth": "1"}, multiget(2000), 1},
		{"addressbook-query over the 200 MB book", "REPORT", map[string]string{"Depth": "1"},
			`<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` + addressData +
				`<C:filter><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">big</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`,
			bookCards},
		{"sync-collection without a limit", "REPORT", map[string]string{"Depth": "1"},
			`<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token/><D:sync-level>1</D:sync-level>` + addressData + `</D:sync-collection>`,
			bookCards},
		{"PROPFIND Depth 1 with address-data", "PROPFIND", map[string]string{"Depth": "1"},
			`<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` + addressData + `</D:propfind>`,
			bookCards + 1},
	} {
		// Writing 5 to clear_refs resets VmHWM to the current RSS.
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			t.Fatalf("resetting the server's peak RSS: %v", err)
		}
		before := procStatus(t, pid, "VmRSS")
		resp := do(tc.method, book, tc.hdr, tc.body)
		size, responses, err := countMultistatus(resp.Body)
		resp.Body.Close()
		peak := procStatus(t, pid, "VmHWM")
		t.Logf("%s: %s, %d bytes (%d responses); serve's RSS %.1f MB before, peak %.1f MB",
			tc.name, resp.Status, size, responses, mb(before), mb(peak))
		if resp.StatusCode != http.StatusMultiStatus || err != nil {
			t.Fatalf("%s: %s, %v; serve's log:\n%s", tc.name, resp.Status, err, stderr)
		}
		if responses != tc.responses {
			t.Errorf("%s: %d responses, want %d", tc.name, responses, tc.responses)
		}
		if peak > peakBound {
			// Stop here: the next requests are larger still.
			t.Fatalf("%s: serve peaked at %.1f MB, above the bound of %.1f MB", tc.name, mb(peak), mb(peakBound))
		}
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, stderr)
	}
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// countMultistatus reads a 207 body as it arrives, without keeping it,
// and returns its size and the number of DAV:response elements; the
// error of a body that is not a whole, well-formed multistatus.
func countMultistatus(body io.Reader) (size int64, responses int, err error) {
	cr := &countReader{r: body}
	dec := xml.NewDecoder(bufio.NewReader(cr))
	depth, closed := 0, false
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return cr.n, responses, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == "response" {
				responses++
			}
		case xml.EndElement:
			depth--
			if depth == 0 && t.Name.Local == "multistatus" {
				closed = true
			}
		}
	}
	if !closed {
		return cr.n, responses, fmt.Errorf("the multistatus is not closed (%d bytes)", cr.n)
	}
	return cr.n, responses, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestServeMultigetHrefLimitFromConfig: server.max_multiget_hrefs reaches
// the CardDAV server: a multiget naming more hrefs is refused with 403 and
// the limit, one at the limit is answered.
func TestServeMultigetHrefLimitFromConfig(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	cfg := serveConfig(t, dir, port, "  max_multiget_hrefs: 3\n")
	addUser(t, cfg, "alice", "correct horse")
	cmd, stderr := startServe(t, "--config", cfg, "serve")
	if !testutil.Eventually(10*time.Second, func() bool { return strings.Contains(stderr.String(), "serving CardDAV") }) {
		t.Fatalf("serve did not start; stderr:\n%s", stderr)
	}
	for _, tc := range []struct {
		hrefs  int
		status int
		want   string
	}{
		{3, http.StatusMultiStatus, "404 Not Found"},
		{4, http.StatusForbidden, "names 4 hrefs; the server answers at most 3 per request"},
	} {
		body := `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>` +
			strings.Repeat("<D:href>/addressbooks/alice/contacts/x.vcf</D:href>", tc.hrefs) + `</C:addressbook-multiget>`
		req, _ := http.NewRequest("REPORT", fmt.Sprintf("http://127.0.0.1:%d/addressbooks/alice/contacts/", port), strings.NewReader(body))
		req.SetBasicAuth("alice", "correct horse")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
			t.Errorf("%d hrefs: %s %s, want %d with %q", tc.hrefs, resp.Status, b, tc.status, tc.want)
		}
	}
	if code := stopServe(t, cmd, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, stderr)
	}
}
