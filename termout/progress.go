package termout

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// ProgressMin is the fewest items for which a bar is worth drawing.
const ProgressMin = 300

// Progress draws a bar on a terminal for long runs (ProgressMin items or
// more) and stays silent in pipes and logs. It is safe for concurrent use.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	on    bool
	drawn bool
	last  time.Time
}

// NewProgress returns the bar of label, drawn on w when w is a terminal
// and quiet is not set.
func NewProgress(w io.Writer, label string, quiet bool) *Progress {
	p := &Progress{w: w, label: label}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

// Update draws done of total, at most every 100 ms (and at the end).
func (p *Progress) Update(done, total int) {
	if !p.on || total < ProgressMin {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if done != total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
	p.drawn = true
}

// Done clears the bar's line if it was drawn.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
