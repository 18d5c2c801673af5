package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/o365"
	"github.com/cardbridge/cardbridge/serverside"
	"github.com/cardbridge/cardbridge/state"
	"github.com/cardbridge/cardbridge/sync"
	"github.com/cardbridge/cardbridge/sync/memside"
	"github.com/cardbridge/cardbridge/vdir"
)

// openSide turns a side's configuration into a sync.Side. In a dry run
// nothing may be created: a vdir that does not exist yet is shown as an
// empty side.
func (a *app) openSide(ctx context.Context, cfg *config.Config, db *state.DB, sc config.Side, dryRun bool) (sync.Side, error) {
	log := a.log
	switch sc.Type {
	case "server":
		return serverside.New(db, sc.User, sc.Addressbook, serverside.Options{})
	case "o365":
		acc, ok := cfg.Account(sc.Account)
		if !ok {
			return nil, fmt.Errorf("no account %q", sc.Account)
		}
		c, err := a.graphClient(ctx, acc, db)
		if err != nil {
			return nil, err
		}
		return o365.New(ctx, o365.Options{Client: c, Folder: sc.Folder, NoPhotos: sc.NoPhotos, Logger: log})
	case "vdir":
		if dryRun {
			if _, err := os.Stat(sc.Path); errors.Is(err, fs.ErrNotExist) {
				return memside.New(sc.Path + " (does not exist yet)"), nil
			}
		}
		return vdir.New(sc.Path, vdir.Options{Create: !dryRun, Logger: log})
	default:
		return nil, fmt.Errorf("side type %q is not available in this version of cardbridge", sc.Type)
	}
}

// enginePair builds the engine's view of a configured pair.
func (ap *app) enginePair(ctx context.Context, cfg *config.Config, db *state.DB, p config.Pair, dryRun bool) (sync.Pair, error) {
	a, err := ap.openSide(ctx, cfg, db, p.A, dryRun)
	if err != nil {
		return sync.Pair{}, fmt.Errorf("pair %s: side a: %w", p.Name, err)
	}
	b, err := ap.openSide(ctx, cfg, db, p.B, dryRun)
	if err != nil {
		closeSide(a)
		return sync.Pair{}, fmt.Errorf("pair %s: side b: %w", p.Name, err)
	}
	limit := p.MaxDelete
	return sync.Pair{
		Name: p.Name, A: a, B: b,
		Direction: sync.Direction(p.Direction),
		Policy:    sync.Policy(p.Conflict),
		MaxDelete: limit.Allowed,
	}, nil
}

func closeSide(s sync.Side) {
	if c, ok := s.(sync.Closer); ok {
		c.Close()
	}
}

// openState opens the state database. A dry run opens it read-only, or
// an empty in-memory one when the file does not exist yet, so that it
// writes nothing anywhere.
func openState(ctx context.Context, path string, readOnly bool, log *slog.Logger) (*state.DB, error) {
	if readOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return state.Open(ctx, "", state.Options{Logger: log})
		}
	}
	return state.Open(ctx, path, state.Options{ReadOnly: readOnly, Logger: log})
}
