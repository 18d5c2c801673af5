package vcard

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
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

// corpusSums is the SHA-256 of every corpus file, in sha256sum's format:
// the copy as it was checked against the shared corpus.
const corpusSums = "testdata/corpus.sha256"

// TestCorpusCopyMatchesShared: the corpus under testdata is the one its
// manifest names, file for file and byte for byte (always: a clone has
// no ../shared, and this check must not skip); where the shared corpus
// stands beside the clone (the developers' tree), the manifest is its
// too, so a changed or added shared file says "copy it again".
func TestCorpusCopyMatchesShared(t *testing.T) {
	sums := readSums(t, corpusSums)
	if probs := checkSums(corpusDir, sums); len(probs) > 0 {
		t.Errorf("%s does not match %s (after a deliberate change: cd %s && sha256sum * > ../%s):\n%s", corpusDir, corpusSums, corpusDir, filepath.Base(corpusSums), strings.Join(probs, "\n"))
	}
	if _, err := os.Stat(sharedCorpus); err != nil {
		t.Logf("no shared corpus at %s (a clone has none): the copy is checked against %s only", sharedCorpus, corpusSums)
		return
	}
	if probs := checkSums(sharedCorpus, sums); len(probs) > 0 {
		t.Errorf("the shared corpus %s changed: copy it again to %s and rewrite %s:\n%s", sharedCorpus, corpusDir, corpusSums, strings.Join(probs, "\n"))
	}
}

// readSums reads a sha256sum manifest: file name -> hex digest.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" {
			t.Fatalf("%s:%d: not a sha256sum line: %q", path, i+1, line)
		}
		sums[name] = sum
	}
	return sums
}

// checkSums lists how dir differs from sums: files missing, extra or with
// other content.
func checkSums(dir string, sums map[string]string) []string {
	var probs []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		seen[e.Name()] = true
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		want, listed := sums[e.Name()]
		switch got := fmt.Sprintf("%x", sha256.Sum256(b)); {
		case !listed:
			probs = append(probs, e.Name()+": not in the manifest")
		case got != want:
			probs = append(probs, e.Name()+": other content")
		}
	}
	for name := range sums {
		if !seen[name] {
			probs = append(probs, name+": missing")
		}
	}
	sort.Strings(probs)
	return probs
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
