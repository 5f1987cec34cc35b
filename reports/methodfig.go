package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// hasSingleOperator reports whether a setting shakes with one operator at one value: a point of the opts2
// figures.
func hasSingleOperator(s *setting) bool {
	return s.Tags["operator"] != "" && !isChain(s) && !math.IsNaN(s.OperatorValue)
}

// methodLabel names a setting on the accuracy-by-method figure as the summary table's method and variant
// columns do: "plaintext, trainable table", "bag-of-words LR".
func methodLabel(s *setting) string {
	if s.Variant == "" {
		return s.Name
	}
	return s.Name + ", " + s.Variant
}

// methodBar is one bar of the accuracy-by-method figure.
type methodBar struct {
	label     string
	mean, sd  float64 // sd is NaN when the setting ran with a single seed
	clr       color.Color
	valueText string
}

// methodBars draws horizontal bars from 0 to each mean, an error bar of ± sd where known, and the value to the
// right of the bar (row i at y = n-1-i, so that the first row is on top).
type methodBars struct {
	bars []methodBar
}

func (b *methodBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(b.bars)
	sty := textStyle(noteSize+0.5, false)
	sty.YAlign = draw.YCenter
	sty.Color = color.Gray{Y: 0x20}
	errStyle := draw.LineStyle{Color: color.Black, Width: 1.3}
	for i, bar := range b.bars {
		y := float64(n - 1 - i)
		x0, x1 := trX(math.Max(p.X.Min, 0)), trX(bar.mean)
		y0, y1 := trY(y-0.32), trY(y+0.32)
		c.FillPolygon(bar.clr, c.ClipPolygonXY(rectPoints(x0, y0, x1, y1)))
		right := x1
		if !math.IsNaN(bar.sd) && bar.sd > 0 {
			lo, hi := trX(bar.mean-bar.sd), trX(bar.mean+bar.sd)
			yc, cap := trY(y), (y1-y0)/4
			c.StrokeLine2(errStyle, lo, yc, hi, yc)
			c.StrokeLine2(errStyle, lo, yc-cap, lo, yc+cap)
			c.StrokeLine2(errStyle, hi, yc-cap, hi, yc+cap)
			right = max(right, hi)
		}
		c.FillText(sty, vg.Point{X: right + 6, Y: trY(y)}, bar.valueText)
	}
}

// DataRange covers the bars and their error bars; the caller widens X for the value labels.
func (b *methodBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = 0, 0
	for _, bar := range b.bars {
		lo, hi := bar.mean, bar.mean
		if !math.IsNaN(bar.sd) {
			lo, hi = bar.mean-bar.sd, bar.mean+bar.sd
		}
		xmin, xmax = math.Min(xmin, lo), math.Max(xmax, hi)
	}
	return xmin, xmax, -0.5, float64(len(b.bars)) - 0.5
}

// accuracyFigure builds the accuracy-by-method figure of one task, for reports without shaking runs at a single
// operator setting (those get opts2 instead): one horizontal bar per setting that has the task's headline
// metric, in the summary table's order, at the mean over seeds with ± sd over seeds where there are several,
// the value written beside it, and a red dotted vertical line at the majority-class score where the records
// carry it (majorityLine).
func accuracyFigure(settings []*setting, task, title, metricOverride string) (figure, string, string) {
	metric := headlineMetric(task, metricOverride)
	var rows []*setting
	for _, s := range settings {
		if s.Task == task && s.metric(metric).ok() {
			rows = append(rows, s)
		}
	}
	if len(rows) == 0 {
		msg := fmt.Sprintf("no %s run recorded the dev metric %q", taskTitle(task), metric)
		return placeholder(title, msg), "", msg
	}
	slices.SortStableFunc(rows, compareRows)
	var methods []string
	for _, s := range rows {
		if !slices.Contains(methods, s.Method) {
			methods = append(methods, s.Method)
		}
	}
	bars := &methodBars{}
	var ticks []plot.Tick
	var captionParts []string
	multiSeed, insecure := false, false
	for i, s := range rows {
		st := s.metric(metric)
		bar := methodBar{label: methodLabel(s), mean: st.Mean, sd: math.NaN(), valueText: fmt.Sprintf("%.3f", st.Mean)}
		if st.N > 1 {
			bar.sd = st.SD
			bar.valueText += fmt.Sprintf(" ± %.3f", st.SD)
			multiSeed = true
		}
		bar.clr = paletteColor(slices.Index(methods, s.Method))
		if d, _ := method.DisplayOf(s.Method); d.ReferenceLine {
			bar.clr = referenceLineStyles[0].Color
		}
		insecure = insecure || s.Insecure
		bars.bars = append(bars.bars, bar)
		ticks = append(ticks, plot.Tick{Value: float64(len(rows) - 1 - i), Label: bar.label})
		captionParts = append(captionParts, fmt.Sprintf("%s %s (%d seed%s)", bar.label, bar.valueText, st.N, plural(st.N)))
	}

	p := newPlot()
	grid := plotter.NewGrid()
	grid.Horizontal.Color = nil // the rows are categories
	p.Add(grid, bars)
	xmin, xmax, _, _ := bars.DataRange()
	majority, hasMaj := majorityValue(settings, task, metric)
	var legend []legendEntry
	if hasMaj {
		xmin, xmax = math.Min(xmin, majority), math.Max(xmax, majority)
		line, err := plotter.NewLine(plotter.XYs{{X: majority, Y: -0.5}, {X: majority, Y: float64(len(rows)) - 0.5}})
		if err != nil {
			return placeholder(title, err.Error()), "", fmt.Sprintf("majority line: %v", err)
		}
		line.LineStyle = majorityStyle
		p.Add(line)
		legend = append(legend, legendEntry{text: fmt.Sprintf("majority class (%.3f)", majority), thumbs: []plot.Thumbnailer{line}})
	}
	// Room on the right for the value labels: about a quarter of the data width.
	p.X.Min = xmin
	if xmin < 0 {
		p.X.Min = xmin - 0.05*(xmax-xmin)
	}
	p.X.Max = xmax + 0.32*(xmax-p.X.Min)
	p.Y.Min, p.Y.Max = -0.6, float64(len(rows))-0.4
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Length = 0
	p.Y.Padding = 0
	p.X.Label.Text = fmt.Sprintf("dev %s (mean ± sd over seeds)", metric)

	note := "Bar: mean over seeds"
	if multiSeed {
		note += "; whiskers: ± sd over seeds"
	}
	note += "."
	if hasMaj {
		note += " Red dotted: always predicting the dev set's majority class."
	}
	if insecure {
		note += " " + insecureNote
	}
	if n := taskNote(task); n != "" {
		note += " " + n + "."
	}
	height := vg.Length(len(rows))*0.42*vg.Inch + 1.9*vg.Inch + noteHeight(note, figureWidth)
	if len(legend) > 0 {
		_, lh := legendLayout(legend, figureWidth-20)
		height += lh
	}
	fig := figure{width: figureWidth, height: height, draw: func(dc draw.Canvas) {
		fillBackground(dc)
		body := drawTitle(dc, title)
		body = drawNote(body, note)
		body = drawLegend(body, legend)
		p.Draw(draw.Crop(body, 8, -14, 4, 0))
	}}
	caption := fmt.Sprintf("Dev %s on %s by method: %s", metric, taskTitle(task), strings.Join(captionParts, "; "))
	if hasMaj {
		caption += fmt.Sprintf(" (majority class %.3f)", majority)
	}
	return fig, caption + ".", ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
