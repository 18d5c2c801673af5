package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cardbridge/cardbridge/termout"
)

// newTable is the writer of the CLI's tables: columns two spaces apart,
// as wide as their widest cell, whatever the width of the names. Cells
// are separated by tabs; the caller flushes it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

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

// cell is s as a table cell: escaped for the terminal (tabs included, so
// that a name cannot break the columns), "-" when empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return termout.String(s)
}

// stampWriter starts every line written to w with the time it was
// written (RFC 3339, local zone), for `sync --every`'s output.
type stampWriter struct {
	w       io.Writer
	now     func() time.Time
	midLine bool
}

func newStampWriter(w io.Writer, now func() time.Time) *stampWriter {
	return &stampWriter{w: w, now: now}
}

// Write writes p with a time stamp before each line it begins.
func (s *stampWriter) Write(p []byte) (int, error) {
	var out []byte
	for rest := p; len(rest) > 0; {
		if !s.midLine {
			out = append(out, s.now().Format(time.RFC3339)+" "...)
		}
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		out = append(out, line...)
		rest = rest[len(line):]
		s.midLine = line[len(line)-1] != '\n'
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
