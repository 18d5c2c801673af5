package crash

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// CreateDatabase creates an empty database named prefix_<random> on the
// PostgreSQL cluster of admin (a postgres:// URL whose user may create
// databases; scripts/postgres.sh's start_postgres starts a throwaway one)
// and returns its URL and the function that drops it.
func CreateDatabase(ctx context.Context, admin, prefix string) (string, func(), error) {
	if admin == "" {
		return "", nil, errors.New("no PostgreSQL URL (scripts/postgres.sh's start_postgres starts a throwaway cluster and sets TEST_POSTGRES_URL)")
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("%q: not a postgres:// URL", admin)
	}
	var b [6]byte
	rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, fmt.Errorf("postgres %s: %w", u.Redacted(), err)
	}
	defer db.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(cctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("postgres %s: create database: %w", u.Redacted(), err)
	}
	drop := func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
