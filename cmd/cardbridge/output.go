package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cardbridge/cardbridge/config"
	"github.com/cardbridge/cardbridge/pairs"
	"github.com/cardbridge/cardbridge/termout"
)

// writeJSON prints v as one line of JSON (termout.JSON escapes what a
// terminal would act on).
func writeJSON(w io.Writer, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("encode JSON: %w", err))
	}
	fmt.Fprintln(w, termout.JSON(line))
	return nil
}

// failed is err as a failure of the command (exit 1), unless it carries
// its exit code already.
func failed(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return withCode(exitFailed, err)
}

// list is what the list commands share: it opens the application layer
// read-only over cfg (the configuration, when nil), reads a list with it
// and prints it: its JSON view under --json, else its text (package
// pairs' tables).
func list[T any](a *app, ctx context.Context, cfg *config.Config, read func(*pairs.Runner, context.Context) (T, error), view func(T) any, text func(io.Writer, T) error) error {
	if cfg == nil {
		var err error
		if cfg, err = a.loadConfig(); err != nil {
			return err
		}
	}
	r, db, err := a.stateRunner(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := read(r, ctx)
	if err != nil {
		return failed(err)
	}
	if a.asJSON {
		return writeJSON(a.stdout, view(v))
	}
	return failed(text(a.stdout, v))
}

// asIs is the JSON view of a list that is its own view.
func asIs[T any](v T) any { return v }

// parseID is an id argument (a conflict's, a trash entry's).
func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, withCode(exitUsage, fmt.Errorf("%q is not an id (a positive number, as listed)", s))
	}
	return id, nil
}
