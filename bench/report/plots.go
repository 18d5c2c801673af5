package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlots draws every plot the document links to into dir (the folder
// holding the document); a plot with no data is not written and its link is
// dropped from the section.
func (r *Results) writePlots(dir string, doc *Doc) error {
	if err := os.MkdirAll(filepath.Join(dir, "bench"), 0o755); err != nil {
		return fmt.Errorf("write plots: %w", err)
	}
	keep := func(sec *Section, draw func(Plot) (bool, error)) error {
		var kept []Plot
		for _, p := range sec.Plots {
			ok, err := draw(p)
			if err != nil {
				return fmt.Errorf("write plot %s: %w", p.File, err)
			}
			if ok {
				kept = append(kept, p)
			}
		}
		sec.Plots = kept
		return nil
	}
	if err := keep(&doc.Scaling, func(p Plot) (bool, error) {
		return r.plotScaling(filepath.Join(dir, p.File), p.File == "bench/scaling-rss.png")
	}); err != nil {
		return err
	}
	if err := keep(&doc.Servers, func(p Plot) (bool, error) {
		var n int
		fmt.Sscanf(filepath.Base(p.File), "servers-%d.png", &n)
		return r.plotServers(filepath.Join(dir, p.File), n)
	}); err != nil {
		return err
	}
	return keep(&doc.Engine, func(p Plot) (bool, error) {
		var n int
		fmt.Sscanf(filepath.Base(p.File), "engine-%d.png", &n)
		return r.plotEngine(filepath.Join(dir, p.File), n)
	})
}

// plotScaling draws wall time (log–log) or peak RSS (linear) against the
// number of contacts, one line per step.
func (r *Results) plotScaling(file string, memory bool) (bool, error) {
	data := r.scalingData()
	p := plot.New()
	p.X.Label.Text = "contacts"
	if memory {
		p.Title.Text = "vdir <-> vdir: peak RSS of the whole process"
		p.Y.Label.Text = "peak RSS (MB)"
	} else {
		p.Title.Text = "vdir <-> vdir: wall time (log-log)"
		p.Y.Label.Text = "seconds"
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	p.Legend.Top, p.Legend.Left = true, true
	var xs []float64
	for _, pt := range data["first"] {
		xs = append(xs, float64(pt.n))
	}
	p.X.Tick.Marker = sizeTicks(xs)
	drawn := false
	lo, hi := math.Inf(1), 0.0
	for i, st := range scalingSteps() {
		var xys plotter.XYs
		for _, pt := range data[st.key] {
			if pt.wall.N == 0 {
				continue
			}
			y := pt.wall.Med
			if memory {
				y = pt.rss.Med / 1e6
			}
			if y <= 0 {
				continue // log scale: a 0.00 s reading of /usr/bin/time
			}
			xys = append(xys, plotter.XY{X: float64(pt.n), Y: y})
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
		if len(xys) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(xys)
		if err != nil {
			return false, err
		}
		l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
		l.Width = vg.Points(1.5)
		s.Shape = plotutil.Shape(i)
		p.Add(l, s)
		p.Legend.Add(st.label, l, s)
		drawn = true
	}
	if !drawn {
		return false, nil
	}
	// Room above the lines for the legend.
	if memory {
		p.Y.Min, p.Y.Max = 0, hi*1.5
	} else {
		p.Y.Min, p.Y.Max = lo/1.5, hi*8
	}
	p.Add(plotter.NewGrid())
	return true, p.Save(7*vg.Inch, 4.5*vg.Inch, file)
}

// sizeTicks labels exactly the sizes measured.
func sizeTicks(xs []float64) plot.ConstantTicks {
	var ts []plot.Tick
	for _, x := range xs {
		ts = append(ts, plot.Tick{Value: x, Label: thousands(int(x))})
	}
	return ts
}

// logTicks marks 1, 2 and 5 of every decade, which plain LogTicks leave
// unlabelled.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for d := math.Pow(10, math.Floor(math.Log10(min))); d <= max; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v >= min && v <= max {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return ts
}

// groupedBars draws groups of bars (one group per label, one bar per
// series); a missing figure (0) draws no bar. When the figures span more
// than a factor of 20 the y axis is logarithmic, so that the small bars stay
// readable next to the large ones.
func groupedBars(file, title, ylabel string, labels []string, series []string, vals [][]float64, ref []float64, refLabel string) (bool, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	lo, hi := math.Inf(1), 0.0
	for _, row := range vals {
		for _, v := range row {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		return false, nil
	}
	for _, y := range ref {
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	base := 0.0
	if hi/lo > 20 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, logTicks{}
		base = lo / 2
		p.Y.Min, p.Y.Max = base, hi*4 // room for the legend
		p.Y.Label.Text += " (log scale)"
	} else {
		p.Y.Min, p.Y.Max = 0, hi*1.3
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil // horizontal lines only, behind the bars
	p.Add(grid)
	const group = 0.8 // the width of a group of bars, in x units
	k := float64(len(series))
	for i, name := range series {
		var bar *plotter.Polygon
		for g, v := range vals[i] {
			if v <= 0 {
				continue
			}
			x0 := float64(g) - group/2 + float64(i)*group/k
			x1 := x0 + group/k*0.9
			poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: base}, {X: x1, Y: base}, {X: x1, Y: v}, {X: x0, Y: v}})
			if err != nil {
				return false, err
			}
			poly.Color = plotutil.Color(i)
			poly.LineStyle.Width = 0
			p.Add(poly)
			bar = poly
		}
		if bar != nil {
			p.Legend.Add(name, bar)
		}
	}
	for _, y := range ref {
		l, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: y}, {X: float64(len(labels)) - 0.5, Y: y}})
		if err != nil {
			return false, err
		}
		l.Color = color.Gray{Y: 90}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		if y == ref[len(ref)-1] {
			p.Legend.Add(refLabel, l)
		}
	}
	var ticks plot.ConstantTicks
	for g, l := range labels {
		ticks = append(ticks, plot.Tick{Value: float64(g), Label: l})
	}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
	return true, p.Save(7*vg.Inch, 4*vg.Inch, file)
}

// plotServers draws section 2 at n contacts: seconds per step and server.
// A timed-out step is drawn at its timeout (the real figure is higher).
func (r *Results) plotServers(file string, n int) (bool, error) {
	servers := []string{"cardbridge", "radicale", "xandikos"}
	var labels, names []string
	for _, st := range davSteps() {
		labels = append(labels, st.label)
	}
	vals := make([][]float64, len(servers))
	for i, srv := range servers {
		name := r.serverName(srv)
		for _, st := range davSteps() {
			v := r.davValue(n, srv, st.key)
			if v.Bound {
				name += " (" + st.label + " timed out: bar = timeout)"
			}
			vals[i] = append(vals[i], v.S)
		}
		names = append(names, name)
	}
	return groupedBars(file, fmt.Sprintf("vdirsyncer against three servers, %s contacts (lower is better)", thousands(n)), "seconds", labels, names, vals, nil, "")
}

// plotEngine draws section 1 at n contacts as speed-ups: vdirsyncer's time
// over cardbridge's, per job and server, with the 1× and 3× targets dashed.
func (r *Results) plotEngine(file string, n int) (bool, error) {
	var labels []string
	for _, c := range engineCols() {
		labels = append(labels, c)
	}
	var names []string
	var vals [][]float64
	for _, srv := range []string{"cardbridge", "radicale", "xandikos"} {
		var vds, cb *EngineRow
		for i := range r.Engine {
			e := &r.Engine[i]
			if e.N == n && e.Server == srv {
				switch e.Tool {
				case "vdirsyncer":
					vds = e
				case "cardbridge":
					cb = e
				}
			}
		}
		if vds == nil || cb == nil {
			continue
		}
		var row []float64
		for i := range engineCols() {
			row = append(row, speedup(vds.values()[i], cb.values()[i]).X)
		}
		names = append(names, "against "+r.serverName(srv))
		vals = append(vals, row)
	}
	if len(vals) == 0 {
		return false, nil
	}
	return groupedBars(file, fmt.Sprintf("cardbridge vs vdirsyncer, %s contacts: how many times faster (higher is better)", thousands(n)), "vdirsyncer's time / cardbridge's", labels, names, vals, []float64{1, 3}, "targets: 1x (no slower) and 3x")
}
