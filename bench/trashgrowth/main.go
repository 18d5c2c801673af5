// Command trashgrowth measures how the state file grows with the trash
// (issue 13, item 10).
//
//	go run ./bench/trashgrowth [-cards 10000] [-runs 1000] [-runs-per-day 10]
//	    [-change 0.01] [-retention 30d] [-max-size 100MB] [-every-days 10]
//
// It drives the engine in-process over a pair of two in-memory sides
// (side/mem) with a real SQLite state file, whose clock (state
// Options.Now) the program moves: one simulated day every -runs-per-day
// runs. Every run, -change of the cards (1%: 100 of 10,000) are edited on
// side a; the run writes them to b, and b's old versions go to the trash.
// The pair's trash limits are -retention and -max-size, as
// trash_retention and trash_max_size set them ("off" for none: the old
// behaviour, nothing ever purged). A tenth of the cards carry a 4 kB
// photo, so a trashed version is about 1 kB on average.
//
// It prints a Markdown table every -every-days simulated days: the trash's
// entries and bytes, the database's size (pages × page size, free pages
// included) and free bytes, and the files on disk (database and WAL).
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/engine"
	"github.com/cardbridge/cardbridge/side/mem"
	"github.com/cardbridge/cardbridge/state"
)

// params are one simulation's settings.
type params struct {
	Cards      int
	Runs       int
	RunsPerDay int
	Change     float64 // fraction of the cards edited per run
	Photos     float64 // fraction of the cards with a photo
	PhotoBytes int
	Limits     state.TrashLimits
	EveryDays  int    // a row every this many simulated days
	Dir        string // where the state file goes
	Seed       uint64
}

// row is the state of the file at the end of one simulated day.
type row struct {
	Day, Runs    int
	Entries      int
	TrashBytes   int64
	DBSize, Free int64 // pages × page size, and the free ones
	FileSize     int64 // the database file on disk
	WALSize      int64 // its -wal file
	Elapsed      time.Duration
}

func main() {
	p := params{Cards: 10000, Runs: 1000, RunsPerDay: 10, Change: 0.01, Photos: 0.1, PhotoBytes: 4000, EveryDays: 10, Seed: 1}
	retention := flag.String("retention", "30d", "trash_retention of the pair (off: no age limit)")
	maxSize := flag.String("max-size", "100MB", "trash_max_size of the pair (off: no cap)")
	flag.IntVar(&p.Cards, "cards", p.Cards, "cards in the pair")
	flag.IntVar(&p.Runs, "runs", p.Runs, "runs")
	flag.IntVar(&p.RunsPerDay, "runs-per-day", p.RunsPerDay, "runs per simulated day (the clock moves a day after them)")
	flag.Float64Var(&p.Change, "change", p.Change, "fraction of the cards edited before each run")
	flag.Float64Var(&p.Photos, "photos", p.Photos, "fraction of the cards with a photo")
	flag.IntVar(&p.PhotoBytes, "photo-bytes", p.PhotoBytes, "bytes of a photo (before base64)")
	flag.IntVar(&p.EveryDays, "every-days", p.EveryDays, "a table row every this many simulated days")
	keep := flag.String("dir", "", "keep the state file in this directory (default: a temporary one, removed)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "trashgrowth: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	var err error
	if p.Limits.Retention, err = config.ParseRetention(*retention); err != nil {
		fmt.Fprintln(os.Stderr, "trashgrowth: -retention:", err)
		os.Exit(2)
	}
	if p.Limits.MaxBytes, err = config.ParseSize(*maxSize); err != nil {
		fmt.Fprintln(os.Stderr, "trashgrowth: -max-size:", err)
		os.Exit(2)
	}
	p.Dir = *keep
	if p.Dir == "" {
		d, err := os.MkdirTemp("", "trashgrowth-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "trashgrowth:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		p.Dir = d
	}
	fmt.Printf("%d cards, %d runs, %d runs a simulated day, %.1f%% edited per run, %.0f%% with a %d-byte photo; trash_retention %s, trash_max_size %s\n\n",
		p.Cards, p.Runs, p.RunsPerDay, p.Change*100, p.Photos*100, p.PhotoBytes, *retention, *maxSize)
	start := time.Now()
	rows, err := simulate(context.Background(), p, func(r row) { printRow(os.Stdout, r, r.Day == 0) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "trashgrowth:", err)
		os.Exit(1)
	}
	last := rows[len(rows)-1]
	fmt.Printf("\n%d runs in %s (%.0f ms a run); final database %s\n", last.Runs, time.Since(start).Round(time.Second),
		float64(time.Since(start).Milliseconds())/float64(max(1, last.Runs)), mb(last.DBSize))
}

// printRow prints one table row (and the header first).
func printRow(w io.Writer, r row, header bool) {
	if header {
		fmt.Fprintln(w, "| day | runs | trash entries | trash (vCards) | database | of it free | db file | WAL file | elapsed |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	}
	fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %s | %s | %s | %s |\n", r.Day, r.Runs, r.Entries, mb(r.TrashBytes),
		mb(r.DBSize), mb(r.Free), mb(r.FileSize), mb(r.WALSize), r.Elapsed.Round(time.Second))
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// simulate runs the scenario of p and returns a row every p.EveryDays
// days (day 0 is after the first sync), calling each as it is made.
func simulate(ctx context.Context, p params, each func(row)) ([]row, error) {
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	path := filepath.Join(p.Dir, "state.db")
	db, err := state.Open(ctx, path, state.Options{Now: now})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(p.Seed, 13))
	a, b := mem.New("a"), mem.New("b")
	photo := make([]byte, p.PhotoBytes)
	for i := range photo {
		photo[i] = byte(rng.UintN(256))
	}
	photoText := base64.StdEncoding.EncodeToString(photo)
	withPhoto := make([]bool, p.Cards)
	revs := make([]int, p.Cards)
	for i := range withPhoto {
		withPhoto[i] = rng.Float64() < p.Photos
		a.Put(cardID(i), contact(i, 0, withPhoto[i], photoText))
	}
	pair := engine.Pair{Name: "bench", A: a, B: b, Direction: engine.TwoWay, Policy: engine.PolicyMerge, Trash: p.Limits}
	eng := engine.New(db, nil)
	run := func() error {
		res, err := eng.Run(ctx, pair, engine.Options{})
		if err != nil {
			return err
		}
		if len(res.Errors) > 0 {
			return fmt.Errorf("run: %s", strings.Join(res.ErrorStrings(), "; "))
		}
		return nil
	}
	started := time.Now()
	var rows []row
	record := func(day, runs int) error {
		r := row{Day: day, Runs: runs, Elapsed: time.Since(started)}
		es, err := db.ListTrash(ctx, pair.Name)
		if err != nil {
			return err
		}
		r.Entries = len(es)
		for _, e := range es {
			r.TrashBytes += int64(len(e.Card))
		}
		if r.DBSize, r.Free, err = db.FileSize(ctx); err != nil {
			return err
		}
		if fi, err := os.Stat(path); err == nil {
			r.FileSize = fi.Size()
		}
		if fi, err := os.Stat(path + "-wal"); err == nil {
			r.WALSize = fi.Size()
		}
		rows = append(rows, r)
		if each != nil {
			each(r)
		}
		return nil
	}
	if err := run(); err != nil { // the first sync: everything to b
		return nil, err
	}
	if err := record(0, 0); err != nil {
		return nil, err
	}
	changes := max(1, int(float64(p.Cards)*p.Change))
	for n := 1; n <= p.Runs; n++ {
		for _, i := range rng.Perm(p.Cards)[:changes] {
			revs[i]++
			a.Put(cardID(i), contact(i, revs[i], withPhoto[i], photoText))
		}
		if err := run(); err != nil {
			return nil, fmt.Errorf("run %d: %w", n, err)
		}
		if n%p.RunsPerDay == 0 {
			mu.Lock()
			clock = clock.Add(24 * time.Hour)
			mu.Unlock()
			if day := n / p.RunsPerDay; day%p.EveryDays == 0 || n == p.Runs {
				if err := record(day, n); err != nil {
					return nil, err
				}
			}
		}
	}
	return rows, nil
}

func cardID(i int) string { return fmt.Sprintf("c%05d.vcf", i) }

// contact is card i at revision rev: a realistic contact, with a photo
// when photo is set.
func contact(i, rev int, photo bool, photoText string) []byte {
	var s strings.Builder
	fmt.Fprintf(&s, "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bench-%05d\r\nFN:Person %05d\r\nN:%05d;Person;;;\r\n", i, i, i)
	fmt.Fprintf(&s, "EMAIL;TYPE=work:person%05d@example.com\r\nEMAIL;TYPE=home:p%05d@mail.example.org\r\n", i, i)
	fmt.Fprintf(&s, "TEL;TYPE=cell:+48 600 %03d %03d\r\nTEL;TYPE=work:+48 22 %03d %02d %02d\r\n", i/1000, i%1000, i%1000, i%100, i%97)
	fmt.Fprintf(&s, "ORG:Example Company %d;Department %d\r\nTITLE:Engineer\r\n", i%50, i%7)
	fmt.Fprintf(&s, "ADR;TYPE=work:;;Street %d;City %d;;%05d;Country\r\n", i%300, i%40, i)
	fmt.Fprintf(&s, "NOTE:revision %d of contact %d\\, edited by the benchmark\r\n", rev, i)
	if photo {
		s.WriteString("PHOTO;ENCODING=b;TYPE=JPEG:")
		for k := 0; k < len(photoText); k += 74 { // folded like a real card
			if k > 0 {
				s.WriteString("\r\n ")
			}
			s.WriteString(photoText[k:min(k+74, len(photoText))])
		}
		s.WriteString("\r\n")
	}
	s.WriteString("END:VCARD\r\n")
	return []byte(s.String())
}
