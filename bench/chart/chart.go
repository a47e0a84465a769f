// Package chart draws the ladder chart of a bench report (gonum/plot).
// It is kept out of the fsshim supervisor, which should link no drawing,
// font or PDF code; cmd/fsshim-chart uses it.
package chart

import (
	"fmt"
	stdcolor "image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"fsshim/bench"
)

// errPoints are points with horizontal error bars (the range of runs).
type errPoints struct {
	plotter.XYs
	plotter.XErrors
}

// Write draws the ladder of r to file: one line per workload row (or
// micro op), one marker per transport at its median with a bar over its
// range, on a log axis. Micro-benchmarks are drawn in ns/op, thread
// counts in iterations per second; PostMark rows, whose
// units differ, as the ratio to native, each point labelled with its
// median. The format follows the file's extension (.png, .svg, also
// .pdf, .eps, .jpg, .tif).
func Write(r *bench.Report, file string) error {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".png", ".svg", ".pdf", ".eps", ".jpg", ".jpeg", ".tif", ".tiff":
	default:
		return fmt.Errorf("%s: unknown image format (use .png or .svg)", file)
	}
	ratio := r.Workload == bench.Postmark
	// Rows of the chart, top to bottom.
	var titles []string
	index := map[string]int{}
	for _, row := range r.Rows {
		k := row.Workload + "/" + row.Item
		if _, ok := index[k]; !ok {
			index[k] = len(titles)
			titles = append(titles, row.Title)
		}
	}
	if len(titles) == 0 {
		return fmt.Errorf("%s: nothing to plot", file)
	}
	n := len(titles)
	ypos := func(i int) float64 { return float64(n - 1 - i) } // first row on top

	perRow := 0.45 // inches per row
	if ratio {
		perRow = 0.8 // room for the labels
	}
	p := plot.New()
	title := "fsshim transports — " + r.Description
	var unavailable []string
	for _, t := range r.Transports {
		if !t.Available {
			unavailable = append(unavailable, t.Name)
		}
	}
	if len(unavailable) > 0 {
		title += "\nnot measured (unavailable): " + strings.Join(unavailable, ", ")
	}
	p.Title.Text = wrap(title, 110)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	switch {
	case ratio:
		p.X.Label.Text = "cost relative to native (× native, log scale; labels: medians)"
	case r.Workload == bench.Threads:
		p.X.Label.Text = "iterations per second, all threads together (median, bars: min–max over runs; log scale)"
	default:
		p.X.Label.Text = "ns per operation (median, bars: min–max over runs; log scale)"
	}
	names := make([]string, n)
	for i, t := range titles {
		names[n-1-i] = t
	}
	p.NominalY(names...)
	p.Add(plotter.NewGrid())

	lo, hi := math.Inf(1), math.Inf(-1)
	nt := len(r.Transports)
	for ti, t := range r.Transports {
		var pts errPoints
		var labels []string
		var labelAt plotter.XYs
		off := (float64(nt-1)/2 - float64(ti)) * 0.6 / float64(max(nt, 1)) // first transport on top
		for _, row := range r.Rows {
			if row.Transport != t.Name || row.N == 0 {
				continue
			}
			x, xmin, xmax := row.Median, row.Min, row.Max
			if ratio {
				if row.Ratio == 0 {
					continue
				}
				// Range of runs as ratios to the native median.
				f := row.Ratio / row.Median
				if row.HigherBetter {
					x, xmin, xmax = row.Ratio, row.Ratio*row.Median/row.Max, row.Ratio*row.Median/row.Min
				} else {
					x, xmin, xmax = row.Ratio, row.Min*f, row.Max*f
				}
			}
			if x <= 0 || xmin <= 0 {
				continue
			}
			y := ypos(index[row.Workload+"/"+row.Item]) + off
			pts.XYs = append(pts.XYs, plotter.XY{X: x, Y: y})
			pts.XErrors = append(pts.XErrors, struct{ Low, High float64 }{x - xmin, xmax - x})
			labelAt = append(labelAt, plotter.XY{X: xmax, Y: y}) // right of the bar
			labels = append(labels, bench.FormatValue(row.Median, row.Unit)+" "+row.Unit)
			lo, hi = math.Min(lo, xmin), math.Max(hi, xmax)
		}
		if len(pts.XYs) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = color(ti)
		sc.GlyphStyle.Shape = plotutil.Shape(ti)
		sc.GlyphStyle.Radius = vg.Points(3.5)
		eb, err := plotter.NewXErrorBars(pts)
		if err != nil {
			return err
		}
		eb.LineStyle.Color = color(ti)
		eb.CapWidth = vg.Points(4)
		p.Add(eb, sc)
		p.Legend.Add(t.Name, sc)
		if ratio {
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: labelAt, Labels: labels})
			if err != nil {
				return err
			}
			for i := range lb.TextStyle {
				lb.TextStyle[i].Font.Size = vg.Points(8)
				lb.TextStyle[i].Color = color(ti)
			}
			lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(-3)}
			p.Add(lb)
		}
	}
	if math.IsInf(lo, 1) {
		return fmt.Errorf("%s: no measured figure to plot", file)
	}
	if ratio {
		lo, hi = math.Min(lo, 1), math.Max(hi, 1)
		one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(n) - 0.5}})
		if err != nil {
			return err
		}
		one.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		one.LineStyle.Color = color(0)
		p.Add(one)
		hi *= 2.5 // room for the labels
	}
	p.X.Min, p.X.Max = lo/1.5, hi*1.5
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	p.Legend.Top = true
	p.Legend.Padding = vg.Points(3)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.XOffs = vg.Points(-4)
	p.Legend.YPosition = draw.PosTop

	h := vg.Inch*1.4 + vg.Length(float64(n)*perRow)*vg.Inch
	return p.Save(10*vg.Inch, h, file)
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
				out = append(out, line)
				line = w
				continue
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// color is the i-th of plotutil's dark colours (the soft ones fade on
// white).
func color(i int) stdcolor.Color {
	return plotutil.DarkColors[i%len(plotutil.DarkColors)]
}
