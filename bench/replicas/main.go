// Command replicas is cardbridge's multi-replica test (issue 17):
//
//	go run ./bench/replicas [-replicas 3] [-clients 50] [-duration 60s] [-postgres URL] [-json]
//
// It builds (or takes with -binary) the cardbridge binary, creates an
// empty PostgreSQL database on the cluster of -postgres (default
// $TEST_POSTGRES_URL; scripts/postgres.sh's start_postgres starts a
// throwaway one), writes one configuration per replica (the same state
// URL, users and pairs; its own loopback port), and starts -replicas
// `cardbridge serve` processes over the one database. Two pairs: "book",
// the clients' book ⇄ a vCard directory a "phone" edits (run on its
// schedule and after client changes), and "sched", a book nobody writes ⇄
// another directory (run on its schedule only). Then -clients CardDAV
// clients spread their requests over the replicas for -duration:
// If-Match PUTs of their own cards and of cards all share, creates,
// deletes, sync-collection from their own token, multigets, GETs. Halfway
// through one replica is killed with SIGKILL and restarted.
//
// At the end it checks, each check by name: lost-writes (every
// acknowledged PUT is in the final state unless a write was made against
// its ETag; every acknowledged DELETE's card is gone; no two writes
// acknowledged against one ETag; the phone's edits reached the book),
// duplicate-uids (in each book and the directory), sync-streams (each
// client's deltas, replayed from its first sync, are the final listing;
// no token refused), converged (book = directory), statuses (no 5xx or
// unexpected answer, no failed check of a client), pair-runs-overlap (from
// the state's runs table) and schedule-once-per-period ("sched" runs once
// per period across the replicas, no period missed beyond -grace). It
// prints a report (text, and with -json one JSON object on stdout, the
// text then on stderr) and exits 1 on any violation.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cardbridge/cardbridge/bench/loadgen"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "cardbridge serve replicas over the one database")
	flag.IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent CardDAV clients")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the clients work (a replica is killed halfway)")
	flag.IntVar(&cfg.Owned, "owned", cfg.Owned, "cards each client owns")
	flag.IntVar(&cfg.Shared, "shared", cfg.Shared, "cards every client writes")
	flag.IntVar(&cfg.PhoneCards, "phone-cards", cfg.PhoneCards, "cards the phone edits in the directory")
	flag.DurationVar(&cfg.Every, "every", cfg.Every, "the pairs' schedule (at least 1m)")
	flag.DurationVar(&cfg.Debounce, "debounce", cfg.Debounce, "serve --debounce")
	flag.DurationVar(&cfg.Grace, "grace", cfg.Grace, "how late a scheduled run may be (a killed replica's lease)")
	flag.StringVar(&cfg.Binary, "binary", os.Getenv("CARDBRIDGE_BIN"), "the cardbridge binary (default: built from this module)")
	flag.StringVar(&cfg.PostgresAdmin, "postgres", os.Getenv("TEST_POSTGRES_URL"), "a PostgreSQL URL whose user may create databases")
	flag.Int64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the clients' choices")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the work directory and the database")
	asJSON := flag.Bool("json", false, "print the report as one JSON object on stdout (the text goes to stderr)")
	loadgen.Main("replicas", asJSON, &cfg, Config.validate, Run)
}

// Config is what one run does.
type Config struct {
	Replicas   int
	Clients    int
	Duration   time.Duration
	Owned      int
	Shared     int
	PhoneCards int
	Every      time.Duration
	Debounce   time.Duration
	Grace      time.Duration
	Binary     string
	// PostgresAdmin is the cluster a database is created on, unless
	// StateURL names one to use as it is.
	PostgresAdmin string
	StateURL      string
	Seed          int64
	Keep          bool
}

func defaultConfig() Config {
	return Config{Replicas: 3, Clients: 50, Duration: 60 * time.Second, Owned: 4, Shared: 10, PhoneCards: 10,
		Every: time.Minute, Debounce: time.Second, Grace: 40 * time.Second, Seed: 1}
}

func (c Config) validate() error {
	switch {
	case c.Replicas < 1:
		return fmt.Errorf("-replicas %d: at least 1", c.Replicas)
	case c.Clients < 1:
		return fmt.Errorf("-clients %d: at least 1", c.Clients)
	case c.Duration <= 0:
		return fmt.Errorf("-duration %v: must be positive", c.Duration)
	case c.Owned < 1 || c.Shared < 1 || c.PhoneCards < 0:
		return fmt.Errorf("-owned %d / -shared %d / -phone-cards %d: need at least one owned and one shared card", c.Owned, c.Shared, c.PhoneCards)
	case c.Every < time.Minute:
		return fmt.Errorf("-every %v: the configuration takes at least 1m", c.Every)
	case c.Debounce <= 0 || c.Grace < 0:
		return fmt.Errorf("-debounce %v / -grace %v: must be positive", c.Debounce, c.Grace)
	}
	return nil
}
