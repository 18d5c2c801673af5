package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressMin is the fewest items for which a bar is worth drawing.
const progressMin = 300

// progress draws a bar on a terminal for long runs and stays silent in
// pipes and logs.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	on    bool
	drawn bool
	last  time.Time
}

func newProgress(w io.Writer, label string, quiet bool) *progress {
	p := &progress{w: w, label: label}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) update(done, total int) {
	if !p.on || total < progressMin {
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

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
