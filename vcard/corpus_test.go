package vcard

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cardbridge/cardbridge/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const corpusDir = "testdata/corpus"

// sharedCorpus is the corpus beside the clone (CI and the dev tree).
var sharedCorpus = filepath.Join("..", "..", "shared", "corpus")

func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.vcf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus in %s: %v", corpusDir, err)
	}
	sort.Strings(files)
	return files
}

func isBad(path string) bool {
	b := filepath.Base(path)
	return strings.HasPrefix(b, "bad-") && !strings.HasPrefix(b, "bad-duplicate-uid-")
}

func readCard(t testing.TB, path string) *Card {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestCorpusCopyMatchesShared(t *testing.T) {
	shared, err := os.ReadDir(sharedCorpus)
	if err != nil {
		t.Skipf("no shared corpus at %s: %v", sharedCorpus, err)
	}
	for _, e := range shared {
		if e.IsDir() {
			continue
		}
		want, err := os.ReadFile(filepath.Join(sharedCorpus, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(corpusDir, e.Name()))
		if err != nil {
			t.Errorf("%s missing from %s (copy it): %v", e.Name(), corpusDir, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (copy it again)", e.Name(), sharedCorpus)
		}
	}
	local, _ := os.ReadDir(corpusDir)
	if len(local) != len(shared) {
		t.Errorf("%s has %d files, %s has %d", corpusDir, len(local), sharedCorpus, len(shared))
	}
}

// TestCorpusRoundTrip: every good file parses, encodes and parses back to
// the same properties, in its own version and converted to 3.0 and 4.0;
// the hash does not change with the version.
func TestCorpusRoundTrip(t *testing.T) {
	for _, f := range corpusFiles(t) {
		if isBad(f) {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			c := readCard(t, f)
			if len(c.Props) == 0 {
				t.Fatal("no properties")
			}
			for _, conv := range []struct {
				name string
				card *Card
			}{
				{"same", c},
				{"3.0", c.ConvertTo(V30)},
				{"4.0", c.ConvertTo(V40)},
				{"4.0->3.0", c.ConvertTo(V40).ConvertTo(V30)},
				{"3.0->4.0", c.ConvertTo(V30).ConvertTo(V40)},
			} {
				enc := conv.card.Encode()
				back, err := Parse(enc)
				if err != nil {
					t.Fatalf("%s: re-parse: %v\n%s", conv.name, err, enc)
				}
				if !reflect.DeepEqual(back.Props, conv.card.Props) {
					t.Errorf("%s: properties differ after encode/parse:\n got %#v\nwant %#v", conv.name, back.Props, conv.card.Props)
				}
				if again := back.Encode(); !bytes.Equal(again, enc) {
					t.Errorf("%s: second encoding differs:\n%s\n---\n%s", conv.name, enc, again)
				}
				if h, h0 := back.Hash(), c.Hash(); h != h0 {
					t.Errorf("%s: hash %s, original %s", conv.name, h, h0)
				}
				checkLines(t, enc)
			}
			// 3 -> 4 -> 3 keeps every property (as a multiset of keys).
			if got, want := sortedKeys(c.ConvertTo(V40).ConvertTo(V30)), sortedKeys(c.ConvertTo(V30)); !reflect.DeepEqual(got, want) {
				t.Errorf("3->4->3 keys:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func sortedKeys(c *Card) []string {
	var ks []string
	for _, p := range c.Props {
		ks = append(ks, p.Key())
	}
	sort.Strings(ks)
	return ks
}

// checkLines checks the wire rules of an encoded card: CRLF only, no line
// over 75 octets, continuation lines start with one space, lines are valid
// UTF-8 on their own.
func checkLines(t *testing.T, enc []byte) {
	t.Helper()
	if !bytes.HasSuffix(enc, []byte("\r\n")) {
		t.Errorf("does not end in CRLF")
	}
	lines := bytes.Split(bytes.TrimSuffix(enc, []byte("\r\n")), []byte("\r\n"))
	for i, l := range lines {
		if bytes.IndexByte(l, '\n') >= 0 || bytes.IndexByte(l, '\r') >= 0 {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, l)
		}
		if len(l) > maxLine {
			t.Errorf("line %d is %d octets: %q", i+1, len(l), l)
		}
		if !utf8Valid(l) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, l)
		}
		if len(l) > 1 && l[0] == ' ' && l[1] == ' ' && i > 0 && len(lines[i-1]) < maxLine-4 {
			t.Errorf("line %d: continuation of a short line: %q", i+1, l)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, f := range corpusFiles(t) {
		if isBad(f) {
			continue
		}
		c := readCard(t, f)
		base := strings.TrimSuffix(filepath.Base(f), ".vcf")
		for _, v := range []string{V30, V40} {
			got := c.ConvertTo(v).Encode()
			golden := filepath.Join("testdata", "golden", base+"."+strings.ReplaceAll(v, ".", "")+".vcf")
			testutil.Golden(t, golden, got, *update, "go test ./vcard -update")
		}
	}
}

func TestBadCorpusFiles(t *testing.T) {
	tests := []struct {
		file    string
		wantErr error  // nil: must parse
		wantMsg string // part of the message
	}{
		{"bad-binary-garbage.vcf", ErrNotVCard, "binary data"},
		{"bad-missing-end.vcf", ErrMissingEnd, "line 4"},
		{"bad-two-cards-in-one-file.vcf", ErrMultipleCards, "line 6"},
		{"bad-duplicate-uid-a.vcf", nil, ""},
		{"bad-duplicate-uid-b.vcf", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if c.UID() != "dup-0001" {
					t.Errorf("UID = %q", c.UID())
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
	// every bad-* file of the corpus is covered above
	for _, f := range corpusFiles(t) {
		if !strings.HasPrefix(filepath.Base(f), "bad-") {
			continue
		}
		found := false
		for _, tt := range tests {
			found = found || tt.file == filepath.Base(f)
		}
		if !found {
			t.Errorf("%s has no expectation in TestBadCorpusFiles", f)
		}
	}
}
