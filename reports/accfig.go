package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cyphertalk/cyphertalk-go/attacks"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// glyphs: filled shapes first, so that markers stand out at a glance.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{},
	draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}

// opLine is one line of an opts2 figure: an operator at one recovery setting, one point per operator value.
type opLine struct {
	operator, param, recovery string
	points                    []*setting // sorted by operator value
}

func (l *opLine) name() string {
	name := l.operator
	if l.recovery != "" {
		name += ", " + recoveryLabel(l.recovery)
	}
	return name
}

// isChain reports whether a setting applies a chain of operators (no single x on the opts2 axis).
func isChain(s *setting) bool {
	return s.Tags["operator"] == "chain" || strings.Contains(s.Tags["operator"], "+")
}

// opts2Figure builds the accuracy-against-operator-setting figure of one task: x = Extra operator_value,
// y = the task's headline metric, one line per (operator, recovery), dashed without recovery, mean ± sd error
// bars over seeds, horizontal lines for every setting of the reference method (method.IsReference), for every
// setting of a method drawn as a reference line (referenceLines: the bag-of-words model) and, where the records
// carry it, the majority-class score (majorityLine). Chains of operators have no single x: they
// are in the summary table only (the caption says how many).
func opts2Figure(settings []*setting, task, title, metricOverride string) (figure, string, string) {
	metric := headlineMetric(task, metricOverride)
	lines := map[string]*opLine{}
	var lineOrder []string
	var refs []*setting
	chains := 0
	for _, s := range settings {
		if s.Task != task {
			continue
		}
		if method.IsReference(s.Method) && s.metric(metric).ok() {
			refs = append(refs, s)
			continue
		}
		op := s.Tags["operator"]
		if op == "" || !s.metric(metric).ok() {
			continue
		}
		if isChain(s) || math.IsNaN(s.OperatorValue) {
			chains++
			continue
		}
		key := op + "|" + s.Tags["recovery"]
		l := lines[key]
		if l == nil {
			l = &opLine{operator: op, param: cmp.Or(s.Tags["operator_param"], "value"), recovery: s.Tags["recovery"]}
			lines[key] = l
			lineOrder = append(lineOrder, key)
		}
		l.points = append(l.points, s)
	}
	if len(lines) == 0 {
		msg := fmt.Sprintf("no %s run with a single operator setting (Tags operator and operator_param, Extra operator_value) and the dev metric %q",
			taskTitle(task), metric)
		return placeholder(title, msg), "", msg
	}
	sort.Strings(lineOrder)
	// Colour per operator, dashes per recovery setting.
	var operators []string
	for _, k := range lineOrder {
		if op := lines[k].operator; !slices.Contains(operators, op) {
			operators = append(operators, op)
		}
	}

	p := newPlot()
	var legend []legendEntry
	var xs []float64
	var captionParts []string
	// Reference lines span the x range; drawn first, under the operator lines.
	var refParts []string
	refLegend := 0 // legend entries of horizontal lines: the operator lines are listed before them
	slices.SortFunc(refs, compareRows)
	refStyles := []draw.LineStyle{
		{Color: color.Black, Width: 1.6},
		{Color: color.Gray{Y: 0x60}, Width: 1.6, Dashes: []vg.Length{2, 3}},
		{Color: color.Gray{Y: 0x90}, Width: 1.6, Dashes: []vg.Length{8, 3, 2, 3}},
	}
	for i, s := range refs {
		st := s.metric(metric)
		v := st.Mean
		fn := plotter.NewFunction(func(float64) float64 { return v })
		fn.LineStyle = refStyles[i%len(refStyles)]
		p.Add(fn)
		p.Y.Min, p.Y.Max = math.Min(p.Y.Min, v), math.Max(p.Y.Max, v)
		legend = append(legend, legendEntry{text: fmt.Sprintf("%s (%.3f)", s.Label(), v), thumbs: []plot.Thumbnailer{fn}})
		refLegend++
		refParts = append(refParts, fmt.Sprintf("%s %.3f", s.Label(), v))
	}
	refLines := referenceLines(settings, task, metric)
	for _, rl := range refLines {
		p.Add(rl.fn)
		p.Y.Min, p.Y.Max = math.Min(p.Y.Min, rl.value), math.Max(p.Y.Max, rl.value)
		legend = append(legend, legendEntry{text: fmt.Sprintf("%s (%.3f)", rl.label, rl.value), thumbs: []plot.Thumbnailer{rl.fn}})
		refLegend++
		refParts = append(refParts, fmt.Sprintf("%s %.3f", rl.label, rl.value))
	}
	if fn, v, ok := majorityLine(settings, task, metric); ok {
		p.Add(fn)
		p.Y.Min, p.Y.Max = math.Min(p.Y.Min, v), math.Max(p.Y.Max, v)
		legend = append(legend, legendEntry{text: fmt.Sprintf("majority class (%.3f)", v), thumbs: []plot.Thumbnailer{fn}})
		refLegend++
		refParts = append(refParts, fmt.Sprintf("majority class %.3f", v))
	}
	for _, k := range lineOrder {
		l := lines[k]
		slices.SortFunc(l.points, func(a, b *setting) int { return cmp.Compare(a.OperatorValue, b.OperatorValue) })
		xys := make(plotter.XYs, len(l.points))
		errs := make(plotter.YErrors, len(l.points))
		for i, s := range l.points {
			st := s.metric(metric)
			xys[i] = plotter.XY{X: s.OperatorValue, Y: st.Mean}
			errs[i].Low, errs[i].High = st.SD, st.SD
			xs = append(xs, s.OperatorValue)
		}
		oi := slices.Index(operators, l.operator)
		clr := paletteColor(oi)
		line, err := plotter.NewLine(xys)
		if err != nil {
			return placeholder(title, err.Error()), "", fmt.Sprintf("line %s: %v", l.name(), err)
		}
		line.LineStyle = draw.LineStyle{Color: clr, Width: 2}
		if l.recovery == "none" {
			line.LineStyle.Dashes = []vg.Length{6, 4}
		}
		sc, _ := plotter.NewScatter(xys)
		sc.GlyphStyle = draw.GlyphStyle{Color: clr, Radius: 4, Shape: glyphs[oi%len(glyphs)]}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{xys, errs})
		if err != nil {
			return placeholder(title, err.Error()), "", fmt.Sprintf("error bars %s: %v", l.name(), err)
		}
		eb.LineStyle = draw.LineStyle{Color: clr, Width: 1.2}
		eb.CapWidth = 8
		p.Add(line, eb, sc)
		legend = slices.Insert(legend, len(legend)-refLegend, legendEntry{text: l.name(), thumbs: []plot.Thumbnailer{line, sc}})
		first, last := l.points[0], l.points[len(l.points)-1]
		part := fmt.Sprintf("%s %.3f at %s=%s", l.name(), first.metric(metric).Mean, paramSymbol(l.param), formatNumber(first.OperatorValue))
		if len(l.points) > 1 {
			part += fmt.Sprintf(" to %.3f at %s=%s", last.metric(metric).Mean, paramSymbol(l.param), formatNumber(last.OperatorValue))
		}
		captionParts = append(captionParts, part)
	}
	// Margins so that points and error bars do not sit on the frame.
	xlo, xhi := slices.Min(xs), slices.Max(xs)
	if xlo > 0 && xhi/xlo >= 20 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Min, p.X.Max = xlo/1.5, xhi*1.5
	} else {
		pad := 0.06 * (xhi - xlo)
		if pad == 0 {
			pad = math.Max(0.1*math.Abs(xlo), 0.1)
		}
		p.X.Min, p.X.Max = xlo-pad, xhi+pad
	}
	ypad := 0.08 * (p.Y.Max - p.Y.Min)
	if ypad == 0 {
		ypad = 0.02
	}
	p.Y.Min, p.Y.Max = p.Y.Min-ypad, p.Y.Max+ypad
	p.Add(plotter.NewGrid())
	p.X.Label.Text = "operator setting: " + operatorAxis(lines, lineOrder)
	p.Y.Label.Text = fmt.Sprintf("dev %s (mean ± sd over seeds)", metric)

	note := "Solid: with recovery; dashed: no recovery."
	if len(refs) > 0 {
		note += " Horizontal lines: " + refs[0].Name + " (the reference)."
	}
	var refLineLabels []string
	for _, rl := range refLines {
		refLineLabels = append(refLineLabels, rl.label)
	}
	note += referenceLinesNote(refLineLabels)
	if hasMajority(settings, task, metric) {
		note += " Red dotted: always predicting the dev set's majority class."
	}
	if chains > 0 {
		note += fmt.Sprintf(" %d setting(s) without a single operator value (chains, π only) are in the summary table only.", chains)
	}
	if n := taskNote(task); n != "" {
		note += " " + n + "."
	}
	height := 5.2*vg.Inch + noteHeight(note, figureWidth)
	fig := figure{width: figureWidth, height: height, draw: func(dc draw.Canvas) {
		fillBackground(dc)
		body := drawTitle(dc, title)
		body = drawNote(body, note)
		body = drawLegend(body, legend)
		p.Draw(draw.Crop(body, 8, -14, 4, 0))
	}}
	caption := fmt.Sprintf("Dev %s on %s against the operator setting: %s", metric, taskTitle(task), strings.Join(captionParts, "; "))
	if len(refParts) > 0 {
		caption += " (" + strings.Join(refParts, ", ") + ")"
	}
	return fig, caption + ".", ""
}

// operatorAxis names each operator's parameter on the x axis ("gaussian σ, laplace b"), with the unit of
// the noise scales (docs/design.md §2).
func operatorAxis(lines map[string]*opLine, order []string) string {
	var parts []string
	inSE := false
	for _, k := range order {
		l := lines[k]
		part := l.operator + " " + paramSymbol(l.param)
		if !slices.Contains(parts, part) {
			parts = append(parts, part)
		}
		switch l.param {
		case "sigma", "b", "scale":
			inSE = true
		}
	}
	label := strings.Join(parts, ", ")
	if inSE {
		label += " (noise in units of s_E)"
	}
	return label
}

// privacySeries is one coloured series of the privacy figure: a method, and for shaking methods one operator
// at one recovery setting (its points joined in operator-value order).
type privacySeries struct {
	method, operator, recovery string
}

// name is the legend text; settings of a method with no single operator value (chains, …) are "other
// settings" when the method also has operator series.
func (ps privacySeries) name(all []privacySeries) string {
	name := ps.method
	if ps.operator == "" && slices.ContainsFunc(all, func(o privacySeries) bool { return o.method == ps.method && o.operator != "" }) {
		return name + " (other settings)"
	}
	if ps.operator != "" {
		name += " " + ps.operator
	}
	// A label such as "cyphertalk (no recovery)" may already say it.
	if rec := recoveryLabel(ps.recovery); ps.recovery != "" && !strings.Contains(ps.method, rec) {
		name += ", " + rec
	}
	return name
}

// pointLabel is the text next to a point of the privacy figure: the operator value for a shaking setting (its
// series names the rest), else the variant.
func pointLabel(s *setting) string {
	if !isChain(s) && !math.IsNaN(s.OperatorValue) {
		return paramSymbol(cmp.Or(s.Tags["operator_param"], "value")) + "=" + formatNumber(s.OperatorValue)
	}
	if s.Tags["label"] != "" {
		return s.Tags["label"]
	}
	return s.Variant
}

// privacyFigure plots utility against privacy: one panel per task, x = top-1 token recovery of the strongest
// attack (max over attacks, mean over seeds), y = the headline metric, one point per method setting.
func privacyFigure(settings []*setting, title, metricOverride string) (figure, string, string) {
	tasks := orderedTasks(settings)
	var withAttacks []*setting
	for _, s := range settings {
		if s.hasAttacks() {
			withAttacks = append(withAttacks, s)
		}
	}
	if len(withAttacks) == 0 {
		msg := "no run recorded attack results"
		return placeholder(title, msg), "", msg
	}
	// Series, in settings order (method order), shared by all panels so that colours agree.
	var series []privacySeries
	seriesOf := func(s *setting) int {
		ps := privacySeries{method: s.Name}
		if !isChain(s) && !math.IsNaN(s.OperatorValue) {
			ps.operator, ps.recovery = s.Tags["operator"], s.Tags["recovery"]
		}
		if i := slices.Index(series, ps); i >= 0 {
			return i
		}
		series = append(series, ps)
		return len(series) - 1
	}
	for _, s := range withAttacks {
		seriesOf(s)
	}
	var methods []string
	for _, ps := range series {
		if !slices.Contains(methods, ps.method) {
			methods = append(methods, ps.method)
		}
	}

	var plots []*plot.Plot
	var captionParts []string
	var priorThumb, majorityThumb plot.Thumbnailer
	var refLineLabels []string // reference lines drawn on any panel, in first-drawn order
	refLineThumbs := map[string]plot.Thumbnailer{}
	used := make([]bool, len(series))
	thumbs := make([][]plot.Thumbnailer, len(series))
	for _, task := range tasks {
		metric := headlineMetric(task, metricOverride)
		var pts []*setting
		for _, s := range withAttacks {
			if s.Task == task && s.metric(metric).ok() {
				pts = append(pts, s)
			}
		}
		if len(pts) == 0 {
			continue
		}
		p := newPlot()
		p.Title.Text = taskTitle(task)
		if taskNote(task) != "" {
			p.Title.Text += " †"
		}
		p.X.Label.Text = "top-1 token recovery of the strongest attack (%)"
		p.Y.Label.Text = "dev " + metric
		labels := &pointLabels{}
		for si, ps := range series {
			var mine []*setting
			for _, s := range pts {
				if seriesOf(s) == si {
					mine = append(mine, s)
				}
			}
			if len(mine) == 0 {
				continue
			}
			slices.SortFunc(mine, func(a, b *setting) int { return compareNaNLast(a.OperatorValue, b.OperatorValue) })
			var xys plotter.XYs
			var xerr plotter.XErrors
			var yerr plotter.YErrors
			for _, s := range mine {
				rec, _ := s.strongestAttack()
				acc := s.metric(metric)
				xy := plotter.XY{X: 100 * rec.Mean, Y: acc.Mean}
				xys = append(xys, xy)
				xerr = append(xerr, struct{ Low, High float64 }{100 * rec.SD, 100 * rec.SD})
				yerr = append(yerr, struct{ Low, High float64 }{acc.SD, acc.SD})
				labels.xys = append(labels.xys, xy)
				labels.texts = append(labels.texts, pointLabel(s))
			}
			clr := paletteColor(si)
			mi := slices.Index(methods, ps.method)
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return placeholder(title, err.Error()), "", fmt.Sprintf("points of %s: %v", ps.name(series), err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: clr, Radius: 5, Shape: glyphs[mi%len(glyphs)]}
			xe, err := plotter.NewXErrorBars(struct {
				plotter.XYs
				plotter.XErrors
			}{xys, xerr})
			if err != nil {
				return placeholder(title, err.Error()), "", fmt.Sprintf("error bars of %s: %v", ps.name(series), err)
			}
			ye, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, yerr})
			if err != nil {
				return placeholder(title, err.Error()), "", fmt.Sprintf("error bars of %s: %v", ps.name(series), err)
			}
			xe.LineStyle = draw.LineStyle{Color: clr, Width: 1}
			ye.LineStyle = draw.LineStyle{Color: clr, Width: 1}
			thumbs[si] = []plot.Thumbnailer{sc}
			if ps.operator != "" && len(xys) > 1 {
				line, err := plotter.NewLine(xys)
				if err != nil {
					return placeholder(title, err.Error()), "", fmt.Sprintf("line of %s: %v", ps.name(series), err)
				}
				line.LineStyle = draw.LineStyle{Color: clr, Width: 1.3}
				if ps.recovery == "none" {
					line.LineStyle.Dashes = []vg.Length{5, 3}
				}
				p.Add(line)
				thumbs[si] = []plot.Thumbnailer{line, sc}
			}
			p.Add(xe, ye, sc)
			used[si] = true
		}
		p.Add(labels, plotter.NewGrid())
		p.X.Min, p.X.Max = 0, math.Min(105, math.Max(p.X.Max*1.1, 10))
		ypad := 0.1 * (p.Y.Max - p.Y.Min)
		if ypad == 0 {
			ypad = 0.02
		}
		if fn, v, ok := majorityLine(settings, task, metric); ok {
			p.Add(fn)
			p.Y.Min, p.Y.Max = math.Min(p.Y.Min, v-ypad), math.Max(p.Y.Max, v+ypad)
			majorityThumb = fn
		}
		for _, rl := range referenceLines(settings, task, metric) {
			p.Add(rl.fn)
			p.Y.Min, p.Y.Max = math.Min(p.Y.Min, rl.value-ypad), math.Max(p.Y.Max, rl.value+ypad)
			if _, seen := refLineThumbs[rl.label]; !seen {
				refLineLabels = append(refLineLabels, rl.label)
			}
			refLineThumbs[rl.label] = rl.fn
		}
		p.Y.Min, p.Y.Max = p.Y.Min-ypad, p.Y.Max+ypad
		// The frequency-prior baseline (guess the most frequent public tokens without looking) as a dotted line.
		prior := math.NaN()
		for _, s := range pts {
			if st := s.baselineRecovery(attacks.NameFrequencyPrior); st.ok() && !(st.Mean <= prior) {
				prior = st.Mean
			}
		}
		if !math.IsNaN(prior) {
			line, err := plotter.NewLine(plotter.XYs{{X: 100 * prior, Y: p.Y.Min}, {X: 100 * prior, Y: p.Y.Max}})
			if err != nil {
				return placeholder(title, err.Error()), "", fmt.Sprintf("prior line: %v", err)
			}
			line.LineStyle = draw.LineStyle{Color: color.Gray{Y: 110}, Width: 1.2, Dashes: []vg.Length{2, 3}}
			p.Add(line)
			priorThumb = line
		}
		plots = append(plots, p)
		captionParts = append(captionParts, privacyCaptionPart(task, pts, metric))
	}
	if len(plots) == 0 {
		msg := "no run with attack results has a dev metric"
		return placeholder(title, msg), "", msg
	}
	var legend []legendEntry
	for si, ps := range series {
		if used[si] {
			legend = append(legend, legendEntry{text: ps.name(series), thumbs: thumbs[si]})
		}
	}
	if priorThumb != nil {
		legend = append(legend, legendEntry{text: "always guessing the most frequent public token (no attack)", thumbs: []plot.Thumbnailer{priorThumb}})
	}
	for _, label := range refLineLabels {
		legend = append(legend, legendEntry{text: label, thumbs: []plot.Thumbnailer{refLineThumbs[label]}})
	}
	if majorityThumb != nil {
		legend = append(legend, legendEntry{text: "majority class", thumbs: []plot.Thumbnailer{majorityThumb}})
	}
	note := "One point per method setting (mean over seeds, bars ± sd); lines join one operator's settings, dashed " +
		"without recovery. Recovery: share of uploaded tokens the best attack names exactly (top-1); the guessing " +
		"baselines are not attacks (dotted: top-1 of always guessing the most frequent public token)."
	note += referenceLinesNote(refLineLabels)
	if majorityThumb != nil {
		note += " Red dotted: always predicting the dev set's majority class."
	}
	if slices.ContainsFunc(withAttacks, func(s *setting) bool { return s.Insecure }) {
		note += " " + insecureNote
	}
	for _, task := range tasks {
		if n := taskNote(task); n != "" {
			note += " † " + n + "."
		}
	}
	panelHeight := 3.6 * vg.Inch
	_, legendH := legendLayout(legend, figureWidth-20)
	height := vg.Length(len(plots))*panelHeight + 0.7*vg.Inch + legendH + noteHeight(note, figureWidth)
	fig := figure{width: figureWidth, height: height, draw: func(dc draw.Canvas) {
		fillBackground(dc)
		body := drawTitle(dc, title)
		body = drawNote(body, note)
		body = drawLegend(body, legend)
		grid := make([][]*plot.Plot, len(plots))
		for i, p := range plots {
			grid[i] = []*plot.Plot{p}
		}
		canvases := plot.Align(grid, draw.Tiles{Rows: len(plots), Cols: 1, PadY: 12}, draw.Crop(body, 8, -14, 4, 0))
		for i, p := range plots {
			p.Draw(canvases[i][0])
		}
	}}
	return fig, "Accuracy against the strongest attack's token recovery: " + strings.Join(captionParts, "; ") + ".", ""
}

// pointLabels writes a label beside each point: right of it, else left, above or below, whichever first
// overlaps no point and no label already placed. Unlike plotter.Labels it reports no glyph boxes, so long
// labels do not shrink the data area.
type pointLabels struct {
	xys   plotter.XYs
	texts []string
}

func (l *pointLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := textStyle(noteSize, false)
	sty.Color = color.Gray{Y: 0x30}
	const gap, radius = 8, 6
	var taken []vg.Rectangle
	for _, xy := range l.xys {
		x, y := trX(xy.X), trY(xy.Y)
		taken = append(taken, vg.Rectangle{Min: vg.Point{X: x - radius, Y: y - radius}, Max: vg.Point{X: x + radius, Y: y + radius}})
	}
	for i, xy := range l.xys {
		x, y := trX(xy.X), trY(xy.Y)
		w, h := sty.Width(l.texts[i]), sty.Height(l.texts[i])
		// Candidate lower-left corners: right, left, above, below, then above and below ending at the point.
		corners := []vg.Point{{X: x + gap, Y: y - h/2}, {X: x - gap - w, Y: y - h/2}, {X: x - w/2, Y: y + gap},
			{X: x - w/2, Y: y - gap - h}, {X: x - w, Y: y + gap}, {X: x - w, Y: y - gap - h}}
		best := corners[0]
		if x+gap+w > c.Max.X {
			best = corners[1]
		}
		for _, corner := range corners {
			r := vg.Rectangle{Min: corner, Max: vg.Point{X: corner.X + w, Y: corner.Y + h}}
			if r.Min.X < c.Min.X || r.Max.X > c.Max.X || r.Min.Y < c.Min.Y || r.Max.Y > c.Max.Y {
				continue
			}
			if !slices.ContainsFunc(taken, func(t vg.Rectangle) bool { return overlaps(r, t) }) {
				best = corner
				break
			}
		}
		taken = append(taken, vg.Rectangle{Min: best, Max: vg.Point{X: best.X + w, Y: best.Y + h}})
		c.FillText(sty, best, l.texts[i])
	}
}

func overlaps(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

func privacyCaptionPart(task string, pts []*setting, metric string) string {
	type pt struct {
		s        *setting
		rec, acc float64
	}
	var all []pt
	for _, s := range pts {
		rec, _ := s.strongestAttack()
		all = append(all, pt{s, rec.Mean, s.metric(metric).Mean})
	}
	lo := slices.MinFunc(all, func(a, b pt) int { return cmp.Compare(a.rec, b.rec) })
	hi := slices.MaxFunc(all, func(a, b pt) int { return cmp.Compare(a.rec, b.rec) })
	txt := fmt.Sprintf("on %s recovery ranges from %.1f%% (%s, %s %.3f) to %.1f%% (%s, %s %.3f)",
		taskTitle(task), 100*lo.rec, lo.s.Label(), metric, lo.acc, 100*hi.rec, hi.s.Label(), metric, hi.acc)
	return txt
}

// majorityExtra is the record extra that holds the dev score of always predicting the majority class for a
// metric ("majority_accuracy"): the floor every accuracy figure shows when the records carry it.
func majorityExtra(metric string) string { return "majority_" + metric }

// majorityValue is the mean over a task's records of majorityExtra(metric); ok is false when no record of the
// task has it.
func majorityValue(settings []*setting, task, metric string) (v float64, ok bool) {
	var xs []float64
	for _, s := range settings {
		if s.Task != task {
			continue
		}
		for _, r := range s.Records {
			if x, has := r.Extra[majorityExtra(metric)]; has {
				xs = append(xs, x)
			}
		}
	}
	st := newStat(xs)
	return st.Mean, st.ok()
}

func hasMajority(settings []*setting, task, metric string) bool {
	_, ok := majorityValue(settings, task, metric)
	return ok
}

// majorityStyle draws the majority-class line: dotted, dark red.
var majorityStyle = draw.LineStyle{Color: color.RGBA{0xa0, 0x1c, 0x1c, 0xff}, Width: 1.6, Dashes: []vg.Length{1.5, 3}}

// majorityLine is the horizontal majority-class line of a task's accuracy panel at its value, when the
// records carry majorityExtra(metric).
func majorityLine(settings []*setting, task, metric string) (*plotter.Function, float64, bool) {
	v, ok := majorityValue(settings, task, metric)
	if !ok {
		return nil, math.NaN(), false
	}
	fn := plotter.NewFunction(func(float64) float64 { return v })
	fn.LineStyle = majorityStyle
	return fn, v, true
}

// refLine is a horizontal line of an accuracy panel at the dev score of a method the display registry draws as
// a reference line (method.Display.ReferenceLine): a plaintext model trained on the same examples, such as the
// bag-of-words logistic regression, that the compared methods should be read against.
type refLine struct {
	fn    *plotter.Function
	value float64
	label string // the setting's label: the spec's label for the method block, else the method's display label
}

// referenceLineStyles draw reference lines, dash-dotted, in turn.
var referenceLineStyles = []draw.LineStyle{
	{Color: color.RGBA{0x1b, 0x7a, 0x3a, 0xff}, Width: 1.6, Dashes: []vg.Length{6, 2, 1.5, 2}},
	{Color: color.RGBA{0x6a, 0x3d, 0x9a, 0xff}, Width: 1.6, Dashes: []vg.Length{6, 2, 1.5, 2}},
	{Color: color.RGBA{0x8c, 0x56, 0x1e, 0xff}, Width: 1.6, Dashes: []vg.Length{6, 2, 1.5, 2}},
}

// referenceLines are a task's reference lines for metric, one per setting of a method drawn as a reference line
// that has the metric (mean over seeds), in settings order.
func referenceLines(settings []*setting, task, metric string) []refLine {
	var out []refLine
	for _, s := range settings {
		if s.Task != task {
			continue
		}
		if d, _ := method.DisplayOf(s.Method); !d.ReferenceLine {
			continue
		}
		st := s.metric(metric)
		if !st.ok() {
			continue
		}
		v := st.Mean
		fn := plotter.NewFunction(func(float64) float64 { return v })
		fn.LineStyle = referenceLineStyles[len(out)%len(referenceLineStyles)]
		out = append(out, refLine{fn: fn, value: v, label: s.Label()})
	}
	return out
}

// referenceLinesNote is the sentence of a figure's note that names its reference lines ("" when it has none).
func referenceLinesNote(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	return fmt.Sprintf(" Dash-dotted: %s (plaintext, trained on the same examples).", strings.Join(labels, ", "))
}
