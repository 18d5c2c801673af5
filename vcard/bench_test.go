package vcard

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genCards returns n realistic vCard 3.0 texts, like
// bench/gen_vcards.py writes (deterministic).
func genCards(n int) [][]byte {
	first := strings.Fields("Anna Jan Piotr Maria Katarzyna Tomasz Olivia Liam Noah Emma Ava Sophia Lucas Mateo Chloé Zoë Øyvind Ñandú Łukasz Żaneta Jürgen Ångström 李 明 Андрей Ольга")
	last := strings.Fields("Kowalski Nowak Wiśniewska Smith Johnson Müller García Dubois Rossi O'Brien Van-der-Berg Nakamura 王 Иванов Østergaard")
	orgs := []string{"Contoso Ltd.", "Fabrikam, Inc.", "Northwind Traders", "Adventure Works; Cycles", "Tailspin Toys", ""}
	cities := [][4]string{{"Warszawa", "Mazowieckie", "00-001", "Poland"}, {"Seattle", "WA", "98101", "USA"}, {"Berlin", "", "10115", "Germany"}, {"Tokyo", "", "100-0001", "Japan"}}
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	esc := func(s string) string { return escapeText(s, false) }
	out := make([][]byte, n)
	for i := range out {
		fn, ln := pick(first), pick(last)
		lines := []string{"BEGIN:VCARD", "VERSION:3.0",
			fmt.Sprintf("UID:%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()>>16),
			fmt.Sprintf("FN:%s %d", esc(fn+" "+ln), i), fmt.Sprintf("N:%s;%s;;;", esc(ln), esc(fn))}
		for k := range []int{0, 1, 1, 2, 3}[r.IntN(5)] {
			lines = append(lines, fmt.Sprintf("EMAIL;TYPE=%s:%s.%s%d.%d@example%d.com", pick([]string{"INTERNET", "WORK", "HOME"}), strings.ToLower(fn), strings.ToLower(strings.ReplaceAll(ln, "'", "")), i, k, k))
		}
		for range r.IntN(4) {
			lines = append(lines, fmt.Sprintf("TEL;TYPE=%s:+48 %d %d %d", pick([]string{"CELL", "WORK", "HOME", "VOICE"}), 100+r.IntN(900), 100+r.IntN(900), 100+r.IntN(900)))
		}
		if r.Float64() < 0.6 {
			if org := pick(orgs); org != "" {
				lines = append(lines, "ORG:"+esc(org)+";Sales", "TITLE:"+pick([]string{"Engineer", "Manager", "CEO", "Intern"}))
			}
		}
		if r.Float64() < 0.4 {
			c := cities[r.IntN(len(cities))]
			lines = append(lines, fmt.Sprintf("ADR;TYPE=%s:;;%d Main St.;%s;%s;%s;%s", pick([]string{"WORK", "HOME"}), 1+r.IntN(200), c[0], c[1], c[2], c[3]))
		}
		if r.Float64() < 0.3 {
			lines = append(lines, fmt.Sprintf("BDAY:%d-%02d-%02d", 1950+r.IntN(56), 1+r.IntN(12), 1+r.IntN(28)))
		}
		if r.Float64() < 0.2 {
			lines = append(lines, "NOTE:"+esc(strings.Repeat("Met at conference.\nLikes coffee, tea; and cake. ", 1+r.IntN(4))))
		}
		if r.Float64() < 0.15 {
			lines = append(lines, "CATEGORIES:"+pick([]string{"Friends", "Family", "Work,VIP", "Family,Friends"}))
		}
		if r.Float64() < 0.1 {
			lines = append(lines, fmt.Sprintf("URL:https://example.org/~%d", i))
		}
		lines = append(lines, fmt.Sprintf("REV:2026-01-%02dT%02d:00:00Z", 1+r.IntN(28), r.IntN(24)), "END:VCARD")
		var b []byte
		for _, l := range lines {
			b = appendFolded(b, []byte(l))
		}
		out[i] = b
	}
	return out
}

// benchCards is 10,000 generated cards, or the .vcf files of
// $CARDBRIDGE_BENCH_DIR (e.g. the output of gen_vcards.py).
func benchCards(b *testing.B) [][]byte {
	b.Helper()
	if dir := os.Getenv("CARDBRIDGE_BENCH_DIR"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.vcf"))
		out := make([][]byte, 0, len(files))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, data)
		}
		if len(out) > 0 {
			return out
		}
	}
	return genCards(10000)
}

func setBytes(b *testing.B, cards [][]byte) {
	n := 0
	for _, c := range cards {
		n += len(c)
	}
	b.SetBytes(int64(n))
}

// BenchmarkParse parses 10,000 cards per iteration.
func BenchmarkParse(b *testing.B) {
	benchEachRaw(b, func(data []byte) {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkEncode encodes 10,000 parsed cards per iteration.
func BenchmarkEncode(b *testing.B) {
	benchEachParsed(b, func(c *Card) { _ = c.Encode() })
}

// BenchmarkHash hashes 10,000 parsed cards per iteration.
func BenchmarkHash(b *testing.B) {
	benchEachParsed(b, func(c *Card) { _ = c.Hash() })
}

// BenchmarkParseHash is the engine's hot path: parse and hash 10,000 cards.
func BenchmarkParseHash(b *testing.B) {
	benchEachRaw(b, func(data []byte) {
		c, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.Hash()
	})
}

// benchEachRaw times do on each of the 10,000 encoded bench cards per
// iteration, reporting their bytes and the allocations.
func benchEachRaw(b *testing.B, do func(data []byte)) {
	cards := benchCards(b)
	setBytes(b, cards)
	b.ReportAllocs()
	for b.Loop() {
		for _, data := range cards {
			do(data)
		}
	}
}

// BenchmarkConvert converts 10,000 cards to 4.0 and encodes them.
func BenchmarkConvert(b *testing.B) {
	benchEachParsed(b, func(c *Card) { _ = c.ConvertTo(V40).Encode() })
}

// benchEachParsed times do on each of the 10,000 parsed bench cards per
// iteration, reporting allocations.
func benchEachParsed(b *testing.B, do func(c *Card)) {
	cards := parsedBenchCards(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cards {
			do(c)
		}
	}
}

func parsedBenchCards(b *testing.B) []*Card {
	raw := benchCards(b)
	out := make([]*Card, len(raw))
	for i, data := range raw {
		c, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = c
	}
	return out
}

// TestGeneratedCardsRoundTrip checks the benchmark cards themselves.
func TestGeneratedCardsRoundTrip(t *testing.T) {
	for i, data := range genCards(500) {
		c, err := Parse(data)
		if err != nil {
			t.Fatalf("card %d: %v\n%s", i, err, data)
		}
		enc := c.Encode()
		checkLines(t, enc)
		back, err := Parse(enc)
		if err != nil || back.Hash() != c.Hash() || c.ConvertTo(V40).Hash() != c.Hash() {
			t.Fatalf("card %d: round trip: %v\n%s\n%s", i, err, data, enc)
		}
	}
}
