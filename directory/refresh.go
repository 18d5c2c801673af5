package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardbridge/cardbridge/o365/api"
	"github.com/cardbridge/cardbridge/o365/graph"
)

// Source reads a tenant's /users/delta rounds: *graph.Client with an
// app-only token (User.Read.All).
type Source interface {
	UsersDelta(ctx context.Context, token string) ([]api.DirectoryUser, string, error)
}

// Store keeps one directory copy per tenant: *state.DB.
type Store interface {
	DirectoryToken(ctx context.Context, tenant string) (string, error)
	ApplyDirectoryChanges(ctx context.Context, tenant string, full bool, changes []api.DirectoryUser, newToken string) error
}

// Result says what one Refresh did.
type Result struct {
	// Full is true when the round was a full one: the first, or again
	// after Graph forgot the delta token.
	Full bool
	// Changes is the number of delta entries applied.
	Changes int
}

// Refresh brings the tenant's directory copy in st up to date with one
// users delta round from src: from the kept token, or a full round when
// there is none or Graph says it expired (graph.ErrDirectoryTokenExpired).
// The copy and the new token are stored together; on an error nothing
// changes.
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
	if err := st.ApplyDirectoryChanges(ctx, tenant, full, changes, next); err != nil {
		return Result{}, fmt.Errorf("directory: refresh tenant %s: %w", tenant, err)
	}
	return Result{Full: full, Changes: len(changes)}, nil
}
