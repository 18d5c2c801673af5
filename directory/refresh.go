package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graph"
	"github.com/cardbridge/cardbridge/state"
)

// Source reads a tenant's /users/delta rounds: *graph.Client with an
// app-only token (User.Read.All).
type Source interface {
	UsersDelta(ctx context.Context, token string) ([]api.DirectoryUser, string, error)
}

// PhotoSource is a Source that also reads people's profile photos
// (*graph.Client): nil, nil for a person without one.
type PhotoSource interface {
	UserPhoto(ctx context.Context, id string) ([]byte, error)
}

// Store keeps one directory copy per tenant: *state.DB.
type Store interface {
	DirectoryToken(ctx context.Context, tenant string) (string, error)
	ApplyDirectoryRound(ctx context.Context, tenant string, r state.DirectoryRound) error
}

// Result says what one Refresh did.
type Result struct {
	// Full is true when the round was a full one: the first, or again
	// after Graph forgot the delta token.
	Full bool
	// Changes is the number of delta entries applied.
	Changes int
	// Photos is the number of photos read.
	Photos int
}

// Refresh brings the tenant's directory copy in st up to date with one
// users delta round from src: from the kept token, or a full round when
// there is none or Graph says it expired (graph.ErrDirectoryTokenExpired).
// When src is also a PhotoSource, each person the round names (not
// removed) has their photo read through src (one request each from a bare
// graph.Client; the Runner wraps it to read them 20 to a $batch) (Graph's users delta
// does not say whether a photo changed); a photo over
// state.MaxDirectoryPhoto is left out. The copy, the photos and the new
// token are stored together; on an error nothing changes.
func Refresh(ctx context.Context, src Source, st Store, tenant string) (Result, error) {
	tok, err := st.DirectoryToken(ctx, tenant)
	if err != nil {
		return Result{}, fmt.Errorf("directory: refresh tenant %s: %w", tenant, err)
	}
	full := tok == ""
	changes, next, err := src.UsersDelta(ctx, tok)
	if err != nil && !full && errors.Is(err, graph.ErrDirectoryTokenExpired) {
		full = true
		changes, next, err = src.UsersDelta(ctx, "")
	}
	if err != nil {
		return Result{}, fmt.Errorf("directory: refresh tenant %s: %w", tenant, err)
	}
	if next == "" {
		return Result{}, fmt.Errorf("directory: refresh tenant %s: the users delta round ended without a delta token", tenant)
	}
	round := state.DirectoryRound{Full: full, Changes: changes, Token: next}
	if ps, ok := src.(PhotoSource); ok {
		round.Photos = map[string][]byte{}
		for _, c := range changes {
			id := strings.ToLower(c.ID)
			if _, done := round.Photos[id]; done || c.Removed != nil {
				continue
			}
			p, err := ps.UserPhoto(ctx, c.ID)
			if err != nil {
				return Result{}, fmt.Errorf("directory: refresh tenant %s: photo of %s: %w", tenant, c.ID, err)
			}
			if len(p) > state.MaxDirectoryPhoto {
				p = nil
			}
			round.Photos[id] = p
		}
	}
	if err := st.ApplyDirectoryRound(ctx, tenant, round); err != nil {
		return Result{}, fmt.Errorf("directory: refresh tenant %s: %w", tenant, err)
	}
	return Result{Full: full, Changes: len(changes), Photos: len(round.Photos)}, nil
}
