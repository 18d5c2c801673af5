// Command load is cardbridge's CardDAV load generator (issue 7, item 6).
//
//	go run ./bench/load -clients 50 -duration 60s [-cards 2000] [-json]
//
// It builds (or takes with -binary) the cardbridge binary, creates a user
// with one address book of -cards cards, and starts `cardbridge serve`
// with a pair between that book and a vCard directory (every: 1m, the
// shortest schedule the configuration accepts, and a run -debounce after
// client edits, which under steady edits means a run every few seconds).
// Then -clients concurrent CardDAV clients work for -duration, each doing
// a mix of incremental sync-collection REPORTs from its own sync token,
// multigets, GETs and If-Match PUTs of the cards it owns and of a few
// cards every client shares (to provoke 412s, after which the client
// re-reads and retries), plus a few creates and deletes; meanwhile a
// "phone" edits other cards in the directory, so the pair writes to the
// server under load too.
//
// At the end it checks: no 5xx or otherwise unexpected status; no lost
// update (each owned card holds its owner's last acknowledged PUT, no two
// acknowledged PUTs of a shared card were made against the same ETag, and
// every 412 was answered to an ETag that had really changed); the
// directory and the book converge to the same cards after a final
// `cardbridge sync`. It prints p50/p90/p99/max latency per request kind,
// throughput and error counts as a table (stdout, or stderr with -json)
// and, with -json, as one JSON object on stdout (for bench/run). It exits
// 1 when a check failed.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cardbridge/cardbridge/bench/davclient"
	"github.com/cardbridge/cardbridge/bench/loadgen"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent CardDAV clients")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the clients work")
	flag.IntVar(&cfg.Cards, "cards", cfg.Cards, "cards in the address book at the start")
	flag.IntVar(&cfg.Shared, "shared", cfg.Shared, "cards every client edits (the rest are split among the clients)")
	flag.IntVar(&cfg.PhoneCards, "phone-cards", cfg.PhoneCards, "cards edited in the vCard directory during the run")
	flag.DurationVar(&cfg.Debounce, "debounce", cfg.Debounce, "serve --debounce: how soon after client edits the pair runs")
	flag.StringVar(&cfg.Binary, "binary", os.Getenv("CARDBRIDGE_BIN"), "the cardbridge binary (default: built from this module)")
	flag.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the clients' choices")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the work directory (config, state, vdir, serve log)")
	asJSON := flag.Bool("json", false, "print the result as one JSON object on stdout (the table goes to stderr)")
	loadgen.Main("load", asJSON, &cfg, Config.validate, Run)
}

// Config is what one load run does.
type Config struct {
	Clients    int
	Duration   time.Duration
	Cards      int
	Shared     int
	PhoneCards int
	Debounce   time.Duration
	Binary     string
	Seed       int64
	Keep       bool
	// Mix is the share of each operation, in percent (see defaultMix).
	Mix map[string]int
}

func defaultConfig() Config {
	return Config{Clients: 50, Duration: 60 * time.Second, Cards: 2000, Shared: 20, PhoneCards: 20,
		Debounce: time.Second, Seed: 1, Mix: defaultMix()}
}

// defaultMix: what a client does, in percent of its operations.
func defaultMix() map[string]int {
	return map[string]int{
		davclient.KindSync:     30,
		davclient.KindMultiget: 15,
		davclient.KindGet:      20,
		davclient.OpPutOwned:   20,
		davclient.OpPutShared:  10,
		davclient.KindCreate:   3,
		davclient.KindDelete:   2,
	}
}

func (c Config) validate() error {
	switch {
	case c.Clients < 1:
		return fmt.Errorf("-clients %d: at least 1", c.Clients)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case c.Shared < 1 || c.PhoneCards < 0:
		return fmt.Errorf("-shared %d / -phone-cards %d: need at least one shared card", c.Shared, c.PhoneCards)
	case c.Cards < c.Shared+c.PhoneCards+c.Clients:
		return fmt.Errorf("-cards %d: need at least -shared + -phone-cards + -clients (%d) so that every client owns a card",
			c.Cards, c.Shared+c.PhoneCards+c.Clients)
	case c.Debounce <= 0:
		return fmt.Errorf("-debounce %v: must be positive", c.Debounce)
	}
	total := 0
	for _, v := range c.Mix {
		total += v
	}
	if total != 100 {
		return fmt.Errorf("the operation mix adds up to %d%%, not 100%%", total)
	}
	return nil
}
