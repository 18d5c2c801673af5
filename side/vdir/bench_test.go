package vdir

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/vcard"
)

// benchCard returns a realistic vCard 3.0 of about 450 bytes.
func benchCard(i int) string {
	return fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:0b1c2d3e-4f50-6172-8394-%012d\r\n"+
		"FN:Katarzyna Wiśniewska %d\r\nN:Wiśniewska;Katarzyna;;;\r\n"+
		"EMAIL;TYPE=INTERNET:katarzyna.wisniewska%d@example.com\r\nEMAIL;TYPE=WORK:kw%d@contoso.com\r\n"+
		"TEL;TYPE=CELL:+48 601 234 %03d\r\nTEL;TYPE=WORK:+48 22 555 %04d\r\n"+
		"ORG:Contoso Ltd.;Sales\r\nTITLE:Manager\r\n"+
		"ADR;TYPE=WORK:;;%d Main St.;Warszawa;Mazowieckie;00-001;Poland\r\n"+
		"NOTE:Met at the conference\\, follow up in spring.\r\nREV:2024-05-01T10:00:00Z\r\nEND:VCARD\r\n",
		i, i, i, i, i%1000, i%10000, i%200)
}

// fill writes n contact files into dir without fsync (setup only).
func fill(b *testing.B, dir string, n int) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("0b1c2d3e-4f50-6172-8394-%012d.vcf", i)
		if err := os.WriteFile(filepath.Join(dir, ids[i]), []byte(benchCard(i)), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// BenchmarkList10k lists a directory of 10,000 contacts.
func BenchmarkList10k(b *testing.B) {
	s, dir := newSide(b)
	fill(b, dir, 10000)
	ctx := context.Background()
	for b.Loop() {
		refs, err := s.List(ctx)
		if err != nil || len(refs) != 10000 {
			b.Fatal(len(refs), err)
		}
	}
}

// BenchmarkGet10k reads and parses 10,000 contacts in one Get.
func BenchmarkGet10k(b *testing.B) {
	s, dir := newSide(b)
	ids := fill(b, dir, 10000)
	ctx := context.Background()
	for b.Loop() {
		items, err := s.Get(ctx, ids)
		if err != nil || items[9999].Err != nil {
			b.Fatal(err, items[9999].Err)
		}
	}
}

func benchCards(b *testing.B, n int) []*vcard.Card {
	cards := make([]*vcard.Card, n)
	for i := range cards {
		c, err := vcard.Parse([]byte(benchCard(i)))
		if err != nil {
			b.Fatal(err)
		}
		cards[i] = c
	}
	return cards
}

// BenchmarkCreate creates one contact per op, one writer at a time: temp
// file, write, fsync, close, link, remove temp, fsync directory.
func BenchmarkCreate(b *testing.B) {
	s, _ := newSide(b)
	cards := benchCards(b, 1000)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		c := cards[i%len(cards)].Clone()
		c.SetUID(fmt.Sprintf("bench-%d", i))
		i++
		if _, err := s.Create(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateParallel creates contacts from 8 concurrent writers (as
// an engine issuing writes concurrently would); directory fsyncs are
// shared between writers.
func BenchmarkCreateParallel(b *testing.B) {
	s, _ := newSide(b)
	cards := benchCards(b, 1000)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // about 8 goroutines
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			c := cards[i%len(cards)].Clone()
			c.SetUID(fmt.Sprintf("bench-%d", i))
			if _, err := s.Create(ctx, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdate rewrites one contact per op (version check, temp file,
// fsync, rename, directory fsync).
func BenchmarkUpdate(b *testing.B) {
	s, _ := newSide(b)
	cards := benchCards(b, 2)
	ctx := context.Background()
	ref, err := s.Create(ctx, cards[0])
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if ref, err = s.Update(ctx, ref, cards[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopy10k is this package's share of a first sync of 10,000
// contacts from one vdir into an empty one: List and Get the source, then
// Create every card in the target from 8 concurrent writers. Run it with
// -benchtime=1x.
func BenchmarkCopy10k(b *testing.B) {
	src, dir := newSide(b)
	fill(b, dir, 10000)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		dst, err := New(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		refs, err := src.List(ctx)
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, len(refs))
		for i, r := range refs {
			ids[i] = r.ID
		}
		items, err := src.Get(ctx, ids)
		if err != nil {
			b.Fatal(err)
		}
		createFrom8(b, len(items), func(i int) error {
			_, err := dst.Create(ctx, items[i].Card)
			return err
		})
	}
}

// BenchmarkWrite1000 is one engine batch's worth of writes into a vdir:
// 1,000 creates from 8 concurrent writers, then Flush when the side is a
// engine.Flusher (the engine calls it before committing state). It reports
// the directory fsyncs each 1,000 writes cost.
func BenchmarkWrite1000(b *testing.B) {
	cards := benchCards(b, 1000)
	ctx := context.Background()
	var fsyncs int64
	for b.Loop() {
		b.StopTimer()
		s, _ := newSide(b)
		before := s.dirSync.fsyncs.Load()
		b.StartTimer()
		createFrom8(b, len(cards), func(i int) error {
			_, err := s.Create(ctx, cards[i])
			return err
		})
		if f, ok := any(s).(engine.Flusher); ok {
			if err := f.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		fsyncs += s.dirSync.fsyncs.Load() - before
	}
	b.ReportMetric(float64(fsyncs)/float64(b.N), "dirfsyncs/op")
}

// createFrom8 calls create(i) for each i below n from 8 concurrent writers,
// each taking the next i; a writer stops at its first error, which fails
// the benchmark.
func createFrom8(b *testing.B, n int, create func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := create(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
