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
	now   func() time.Time // the clock (time.Now)

	// start and startDone are the time and count of the first update:
	// the rate is measured from there.
	start     time.Time
	startDone int
}

// NewProgress returns the bar of label, drawn on w when w is a terminal
// and quiet is not set.
func NewProgress(w io.Writer, label string, quiet bool) *Progress {
	p := &Progress{w: w, label: label, now: time.Now}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

// Update draws done of total, at most every 100 ms (and at the end),
// with the rate and the time left once they can be measured (after a
// second).
func (p *Progress) Update(done, total int) {
	if !p.on || total < ProgressMin {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start, p.startDone = now, done
	}
	if done != total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d%s\033[K", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total, p.pace(now, done, total))
	p.drawn = true
}

// pace is ", 150/s, 2s left" (", 150/s" at the end), or "" before a
// second has passed or while nothing moved.
func (p *Progress) pace(now time.Time, done, total int) string {
	elapsed := now.Sub(p.start)
	moved := done - p.startDone
	if elapsed < time.Second || moved <= 0 {
		return ""
	}
	rate := float64(moved) / elapsed.Seconds()
	out := fmt.Sprintf(", %.0f/s", rate)
	if done < total {
		left := time.Duration(float64(total-done) / rate * float64(time.Second))
		out += ", " + roundLeft(left) + " left"
	}
	return out
}

// roundLeft is d in whole seconds, or minutes and seconds beyond a minute.
func roundLeft(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return d.String()
}

// Done clears the bar's line if it was drawn.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
