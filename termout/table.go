package termout

import (
	"bytes"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Table writes the CLI's tables: columns two spaces apart, as wide as
// their widest cell, whatever the width of the names. Cells that come
// from cards or servers go through Cell; the caller flushes the table.
type Table struct {
	tw *tabwriter.Writer
}

// NewTable starts a table on w with the header's column names.
func NewTable(w io.Writer, header ...string) *Table {
	t := &Table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.Row(header...)
	return t
}

// Row writes one row of cells, as they are (see Cell).
func (t *Table) Row(cells ...string) {
	io.WriteString(t.tw, strings.Join(cells, "\t")+"\n")
}

// Flush writes the table out, its columns aligned.
func (t *Table) Flush() error { return t.tw.Flush() }

// Cell is s as a table cell: escaped for the terminal (String, tabs
// included, so that a name cannot break the columns), "-" when empty.
func Cell(s string) string {
	if s == "" {
		return "-"
	}
	return String(s)
}

// StampWriter starts every line written to it with the time it was
// written (RFC 3339, in the zone of now's times), for `sync --every`'s
// output.
type StampWriter struct {
	w       io.Writer
	now     func() time.Time
	midLine bool
}

// NewStampWriter stamps the lines written to w with now's time.
func NewStampWriter(w io.Writer, now func() time.Time) *StampWriter {
	return &StampWriter{w: w, now: now}
}

// Write writes p with a time stamp before each line it begins.
func (s *StampWriter) Write(p []byte) (int, error) {
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
