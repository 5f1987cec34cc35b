package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// costScale says how a time figure normalises each run's seconds.
type costScale struct {
	perUnit bool
	unit    string // singular unit name when perUnit ("example", "epoch")
}

// axisLabel names what the bars measure.
func (c costScale) axisLabel() string {
	if c.perUnit {
		return fmt.Sprintf("wall seconds per %s, all parties (log scale)", c.unit)
	}
	return "wall seconds in total, all parties (log scale)"
}

func (c costScale) phrase() string {
	if c.perUnit {
		return "per " + c.unit
	}
	return "in total"
}

// chooseScale picks the figure's normalisation: private inference per example and private tuning per epoch
// when every run's costs of the group say how many units they cover (one unit name throughout); otherwise the
// total seconds, so that every bar of a figure measures the same thing.
func chooseScale(settings []*setting, group string) costScale {
	if group == groupPreprocessing {
		return costScale{}
	}
	names := map[string]bool{}
	for _, s := range settings {
		for _, r := range s.Records {
			gc, ok := costsByGroup(r.Costs)[group]
			if !ok {
				continue
			}
			if gc.Units <= 0 || gc.UnitName == "" {
				return costScale{}
			}
			names[gc.UnitName] = true
		}
	}
	if len(names) != 1 {
		return costScale{}
	}
	var name string
	for n := range names {
		name = n
	}
	unit := singular(name)
	if group == groupPrivateTuning && unit != "epoch" {
		return costScale{}
	}
	return costScale{perUnit: true, unit: unit}
}

// singular turns a unit name into its singular ("examples" → "example", "queries" → "query").
func singular(name string) string {
	if base, ok := strings.CutSuffix(name, "ies"); ok {
		return base + "y"
	}
	return strings.TrimSuffix(name, "s")
}

// barRow is one bar: the mean seconds of each party over seeds.
type barRow struct {
	party        [3]float64
	total        float64
	extrapolated bool
	present      bool
	valueText    string
}

// hbars draws horizontal bars on a log x axis. Each bar runs from the axis minimum to the total; on a log axis
// a stack cannot be drawn by adding segment lengths (4.2 s of 15.9 s would end near 0.4 s), so the party
// segments are split at cumulative seconds read off the axis: the client's segment ends at the client's
// seconds, the cloud's at client + cloud, the dealer's at the total (barRow.segments). Extrapolated bars are
// lighter and hatched. No gonum plotter splits bars at data values on a log axis or hatches, hence this one.
type hbars struct {
	rows       []barRow // row i is drawn at y = len(rows)-1-i (first row on top)
	xmin, xmax float64
}

const barThickness = 0.68 // in row units

// barSegment is one party's part of a bar, in seconds on the x axis: it is drawn from From to To.
type barSegment struct {
	Party    int // index into parties
	From, To float64
}

// segments splits a bar at cumulative party seconds, starting at the axis minimum xmin: a segment ends at
// the sum of the seconds of its party and the parties before it. Parties without time have no segment; a
// segment that would end below xmin is left out (too small to show on the axis).
func (r barRow) segments(xmin float64) []barSegment {
	var out []barSegment
	from, cum := xmin, 0.0
	for k := range parties {
		if r.party[k] <= 0 {
			continue
		}
		cum += r.party[k]
		to := math.Min(cum, r.total)
		if to <= from {
			continue
		}
		out = append(out, barSegment{Party: k, From: from, To: to})
		from = to
	}
	return out
}

func (b *hbars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := textStyle(tickSize, false)
	sty.YAlign = draw.YCenter
	for i, r := range b.rows {
		y := float64(len(b.rows) - 1 - i)
		y0, y1 := trY(y-barThickness/2), trY(y+barThickness/2)
		x0 := trX(p.X.Min)
		if !r.present {
			grey := sty
			grey.Color = color.Gray{Y: 0x70}
			c.FillText(grey, vg.Point{X: x0 + 4, Y: trY(y)}, r.valueText)
			continue
		}
		x1 := trX(r.total)
		for _, seg := range r.segments(p.X.Min) {
			fill := partyColors[seg.Party]
			if r.extrapolated {
				fill = lighten(fill, 0.55)
			}
			c.FillPolygon(fill, rectPoints(trX(seg.From), y0, trX(seg.To), y1))
		}
		if r.extrapolated {
			hatch(&c, x0, y0, x1, y1)
		}
		pts := rectPoints(x0, y0, x1, y1)
		c.StrokeLines(draw.LineStyle{Color: barOutline, Width: 0.8}, append(pts, pts[0]))
		c.FillText(sty, vg.Point{X: x1 + 4, Y: trY(y)}, r.valueText)
	}
}

func (b *hbars) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.xmin, b.xmax, -0.6, float64(len(b.rows)) - 0.4
}

// logSecondsTicks marks powers of ten, labelled as durations (every other one when there are more than six),
// and minor ticks between them (2× and 5× labelled too when the axis spans two decades or less).
func logSecondsTicks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	lo, hi := math.Floor(math.Log10(min)), math.Ceil(math.Log10(max))
	step := math.Ceil((hi - lo + 1) / 6)
	for e := lo; e <= hi; e++ {
		v := math.Pow(10, e)
		label := ""
		if math.Mod(e-lo, step) == 0 {
			label = secondsTickLabel(e)
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: label})
		for k := 2; k < 10; k++ {
			minor := plot.Tick{Value: v * float64(k)}
			if hi-lo <= 2 && (k == 2 || k == 5) && e >= -6 && e < 2 {
				minor.Label = strings.Replace(secondsTickLabel(e), "1", strconv.Itoa(k), 1) // 1 ms → 2 ms
			}
			ticks = append(ticks, minor)
		}
	}
	return ticks
}

func secondsTickLabel(exp float64) string {
	e := int(exp)
	switch {
	case e <= -7:
		return "10" + superscript(e) + " s"
	case e < -3:
		return fmt.Sprintf("%g µs", math.Pow(10, float64(e+6)))
	case e < 0:
		return fmt.Sprintf("%g ms", math.Pow(10, float64(e+3)))
	case e < 3:
		return fmt.Sprintf("%g s", math.Pow(10, float64(e)))
	}
	return "10" + superscript(e) + " s"
}

func superscript(n int) string {
	digits := []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")
	var b strings.Builder
	if n < 0 {
		b.WriteRune('⁻')
		n = -n
	}
	for _, d := range fmt.Sprint(n) {
		b.WriteRune(digits[d-'0'])
	}
	return b.String()
}

// formatDuration writes seconds with three significant digits in a readable unit.
func formatDuration(s float64) string {
	switch {
	case s <= 0:
		return "0 s"
	case s < 1e-3:
		return sig3(s*1e6) + " µs"
	case s < 1:
		return sig3(s*1e3) + " ms"
	case s < 120:
		return sig3(s) + " s"
	case s < 7200:
		return sig3(s/60) + " min"
	case s < 2*86400:
		return sig3(s/3600) + " h"
	}
	return sig3(s/86400) + " d"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return groupThousands(fmt.Sprintf("%.0f", v))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// formatRatio writes a cost ratio: 0.19×, 1.1×, 35×, 3,000×.
func formatRatio(r float64) string {
	switch {
	case r < 1:
		return strconv.FormatFloat(r, 'g', 2, 64) + "×"
	case r >= 100:
		return groupThousands(fmt.Sprintf("%.0f", float64(roundSig(r, 2)))) + "×"
	case r >= 10:
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

func roundSig(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

func groupThousands(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// timeRowKey identifies a bar row across task panels: the method's registry name (method.IsReference),
// its display name and the variant.
type timeRowKey struct{ method, name, variant string }

func rowKey(s *setting) timeRowKey { return timeRowKey{s.Method, s.Name, s.Variant} }

// timeCell is one setting's cost in one task panel; ok when there is a positive cost to draw. table is the
// setting's "table" tag: a method is compared with the reference at the same table setting.
type timeCell struct {
	gs    groupSeconds
	ok    bool
	table string
}

// timeFigure builds time-<group>: one panel per task, one horizontal bar per method setting. It returns the
// figure, its one-sentence caption and, when there is nothing to plot, what is missing.
func timeFigure(settings []*setting, group, title string) (figure, string, string) {
	scale := chooseScale(settings, group)
	tasks := orderedTasks(settings)
	// Rows: every method setting that has the group in some task, in method order.
	cells := map[string]map[timeRowKey]timeCell{}
	var rowKeys []timeRowKey
	var rowSettings []*setting
	var absent []string
	for _, s := range settings {
		key := rowKey(s)
		gs := s.groupSeconds(group, scale.perUnit)
		if cells[s.Task] == nil {
			cells[s.Task] = map[timeRowKey]timeCell{}
		}
		ok := gs.Total.ok() && gs.Total.Mean > 0
		cells[s.Task][key] = timeCell{gs: gs, ok: ok, table: s.Tags["table"]}
		if ok && !slices.Contains(rowKeys, key) {
			rowKeys = append(rowKeys, key)
			rowSettings = append(rowSettings, s)
		}
	}
	for _, s := range settings {
		key := rowKey(s)
		if !slices.Contains(rowKeys, key) && !slices.Contains(absent, s.Label()) {
			absent = append(absent, s.Label())
		}
	}
	if len(rowKeys) == 0 {
		msg := fmt.Sprintf("no run recorded a %s cost", group)
		return placeholder(title, msg), "", msg
	}
	slices.SortStableFunc(rowSettings, compareRows)
	rowKeys = rowKeys[:0]
	for _, s := range rowSettings {
		rowKeys = append(rowKeys, rowKey(s))
	}

	// Shared x range over all panels, with room on the right for the value labels.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, byKey := range cells {
		for _, c := range byKey {
			if c.ok {
				lo, hi = math.Min(lo, c.gs.Total.Mean), math.Max(hi, c.gs.Total.Mean)
			}
		}
	}
	xmin := math.Pow(10, math.Floor(math.Log10(lo)))
	if xmin == lo {
		xmin /= 10
	}
	// The value labels take about a third of the data width.
	decades := math.Max(math.Log10(hi/xmin), 1)
	xmax := xmin * math.Pow(10, decades/0.66)

	var plots []*plot.Plot
	var captionParts []string
	anyExtrapolated := false
	for _, task := range tasks {
		b := &hbars{xmin: xmin, xmax: xmax}
		for _, key := range rowKeys {
			c, has := cells[task][key]
			var row barRow
			switch {
			case !has:
				row.valueText = "not run"
			case !c.ok:
				row.valueText = "no " + group + " cost"
			default:
				row.present = true
				row.total = c.gs.Total.Mean
				for k := range parties {
					row.party[k] = c.gs.Party[k].Mean
				}
				row.extrapolated = c.gs.Extrapolated
				anyExtrapolated = anyExtrapolated || row.extrapolated
				row.valueText = formatDuration(row.total)
				if ref := referenceCost(cells[task], c.table); ref > 0 && !method.IsReference(key.method) {
					row.valueText += " (" + formatRatio(row.total/ref) + ")"
				}
			}
			b.rows = append(b.rows, row)
		}
		p := newPlot()
		p.Title.Text = taskTitle(task)
		if taskNote(task) != "" {
			p.Title.Text += " †"
		}
		p.Add(b)
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.TickerFunc(logSecondsTicks)
		p.X.Min, p.X.Max = xmin, xmax
		var ticks []plot.Tick
		for i, key := range rowKeys {
			ticks = append(ticks, plot.Tick{Value: float64(len(rowKeys) - 1 - i), Label: rowLabel(key)})
		}
		p.Y.Tick.Marker = plot.ConstantTicks(ticks)
		p.Y.Padding = 0
		plots = append(plots, p)
		captionParts = append(captionParts, timeCaptionPart(task, cells[task], rowSettings))
	}

	legend := []legendEntry{}
	for k, party := range parties {
		if partyUsed(cells, k) {
			legend = append(legend, legendEntry{text: party, thumbs: []plot.Thumbnailer{swatch{fill: partyColors[k]}}})
		}
	}
	if anyExtrapolated {
		legend = append(legend, legendEntry{text: "extrapolated from a measured sample",
			thumbs: []plot.Thumbnailer{swatch{fill: lighten(color.RGBA{0x80, 0x80, 0x80, 0xff}, 0.55), hatched: true}}})
	}
	note := "Bar: total wall time over parties (mean over seeds). Colours split it at cumulative seconds read " +
		"off the axis: the client's part ends at the client's seconds, the cloud's at client + cloud (a part " +
		"that ends left of the axis is not visible)."
	if hasRatio(cells) {
		note += " (n×) = multiple of " + referenceName(rowSettings) + " at the same table setting."
	}
	if slices.ContainsFunc(rowSettings, func(s *setting) bool { return s.Insecure }) {
		note += " " + insecureNote
	}
	for _, task := range tasks {
		if n := taskNote(task); n != "" {
			note += " † " + n + "."
		}
	}
	if len(absent) > 0 {
		note += " No " + group + " cost: " + strings.Join(absent, "; ") + "."
	}

	panelHeight := vg.Length(len(rowKeys))*0.3*vg.Inch + 0.75*vg.Inch
	height := vg.Length(len(tasks))*panelHeight + 1.3*vg.Inch + noteHeight(note, figureWidth)
	xLabel := scale.axisLabel()
	fig := figure{width: figureWidth, height: height, draw: func(dc draw.Canvas) {
		fillBackground(dc)
		body := drawTitle(dc, title)
		body = drawNote(body, note)
		body = drawLegend(body, legend)
		// The shared x-axis label goes under the panels.
		lsty := textStyle(labelSize, false)
		lsty.XAlign = draw.XCenter
		dc.FillText(lsty, vg.Point{X: (body.Min.X + body.Max.X) / 2, Y: body.Min.Y + 4}, xLabel)
		body = draw.Crop(body, 6, -12, lsty.Height(xLabel)+10, 0)
		// Task panels stacked, so that the row labels are written once per panel at full width.
		grid := make([][]*plot.Plot, len(plots))
		for i, p := range plots {
			grid[i] = []*plot.Plot{p}
		}
		canvases := plot.Align(grid, draw.Tiles{Rows: len(plots), Cols: 1, PadY: 10}, body)
		for i, p := range plots {
			p.Draw(canvases[i][0])
		}
	}}
	caption := fmt.Sprintf("%s %s: %s.", titleCase(groupPhrase(group)), scale.phrase(), strings.Join(captionParts, "; "))
	return fig, caption, ""
}

func rowLabel(k timeRowKey) string {
	if k.variant == "" {
		return k.name
	}
	return k.name + " " + k.variant
}

// partyUsed reports whether any bar has time booked to party k.
func partyUsed(cells map[string]map[timeRowKey]timeCell, k int) bool {
	for _, byKey := range cells {
		for _, c := range byKey {
			if c.ok && c.gs.Party[k].Mean > 0 {
				return true
			}
		}
	}
	return false
}

func hasRatio(cells map[string]map[timeRowKey]timeCell) bool {
	for _, byKey := range cells {
		if referenceCost(byKey, "") > 0 {
			return true
		}
	}
	return false
}

// referenceCost is the cost a setting is compared with: the mean over the task's settings of the reference
// method (method.IsReference) with the same table tag, else over all of them (0 when there is none).
func referenceCost(byKey map[timeRowKey]timeCell, table string) float64 {
	var same, all []float64
	for key, c := range byKey {
		if !method.IsReference(key.method) || !c.ok {
			continue
		}
		all = append(all, c.gs.Total.Mean)
		if table != "" && c.table == table {
			same = append(same, c.gs.Total.Mean)
		}
	}
	switch {
	case len(same) > 0:
		return newStat(same).Mean
	case len(all) > 0:
		return newStat(all).Mean
	}
	return 0
}

func groupPhrase(group string) string {
	switch group {
	case groupPreprocessing:
		return "preprocessing (key implantation and other set-up)"
	case groupPrivateTuning:
		return "private tuning"
	}
	return "private inference"
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// timeCaptionPart summarises one task: the reference method's cost, then each other method's as a multiple of
// the reference at the same table setting (a range over the method's settings), or in seconds without one.
func timeCaptionPart(task string, byKey map[timeRowKey]timeCell, rows []*setting) string {
	type agg struct {
		xs           []float64
		extrapolated bool
	}
	per := map[string]*agg{}
	var names []string
	var plain []float64
	hasPlain := referenceCost(byKey, "") > 0
	refName := referenceName(rows)
	for _, s := range rows {
		c, has := byKey[rowKey(s)]
		if !has || !c.ok {
			continue
		}
		if method.IsReference(s.Method) {
			plain = append(plain, c.gs.Total.Mean)
			continue
		}
		a := per[s.Name]
		if a == nil {
			a = &agg{}
			per[s.Name] = a
			names = append(names, s.Name)
		}
		v := c.gs.Total.Mean
		if hasPlain {
			v /= referenceCost(byKey, c.table)
		}
		a.xs = append(a.xs, v)
		a.extrapolated = a.extrapolated || c.gs.Extrapolated
	}
	format := formatDuration
	if hasPlain {
		format = formatRatio
	}
	var parts []string
	for _, m := range names {
		// One value for a method with one setting, else the range over its settings.
		lo, hi := format(slices.Min(per[m].xs)), format(slices.Max(per[m].xs))
		txt := m + " " + lo
		if lo != hi {
			txt = m + " " + lo + " to " + hi
		}
		if per[m].extrapolated {
			txt += " (extrapolated)"
		}
		parts = append(parts, txt)
	}
	switch {
	case len(parts) == 0 && len(plain) == 0:
		return "on " + taskTitle(task) + " no run has this cost"
	case len(plain) == 0:
		return fmt.Sprintf("on %s, %s", taskTitle(task), joinAnd(parts))
	}
	plainText := formatDuration(slices.Min(plain))
	if hi := formatDuration(slices.Max(plain)); hi != plainText {
		plainText += " to " + hi
	}
	if len(parts) == 0 {
		return fmt.Sprintf("on %s, %s %s", taskTitle(task), refName, plainText)
	}
	return fmt.Sprintf("on %s, %s %s; relative to it (same table setting): %s",
		taskTitle(task), refName, plainText, joinAnd(parts))
}

// referenceName is the display name of the reference method among settings (the first one's, in order), or
// "the reference" when none is present.
func referenceName(settings []*setting) string {
	for _, s := range settings {
		if method.IsReference(s.Method) {
			return s.Name
		}
	}
	return "the reference"
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
