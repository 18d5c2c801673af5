package main

import (
	"encoding/json"
	"fmt"
	"io"

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
