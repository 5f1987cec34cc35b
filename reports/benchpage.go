package reports

// The page for the records `cyphertalk bench` writes (one record per measured step kind; with --peer one per
// kind and round, beside the PyTorch peer's measurement of the same kind): "Speed against PyTorch on the same
// CPU" with the ratio figure and table, or, for records without a peer, the throughput table. Every number on
// the page is read from the records: the metrics step_s, ex_per_s, gflops, peer_step_s, peer_ex_per_s, the
// Extra goal, gemm_gflops and over_gemm, and the params kind, batch, steps, round, gomaxprocs, torch_version and
// torch_threads (cmd/cyphertalk/benchrecord.go writes them; docs/design.md §6 for reports, §8 for the bench).

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// benchMethod is the Method of every bench record.
const benchMethod = "bench"

// Record fields of a bench record.
const (
	benchStepS        = "step_s"
	benchExPerS       = "ex_per_s"
	benchGFLOPS       = "gflops"
	benchPeerStepS    = "peer_step_s"
	benchPeerExPerS   = "peer_ex_per_s"
	benchRatio        = "ratio"
	benchGoal         = "goal"
	benchOverGEMM     = "over_gemm"
	benchGEMMGFLOPS   = "gemm_gflops"
	benchParamKind    = "kind"
	benchParamBatch   = "batch"
	benchParamSteps   = "steps"
	benchParamRound   = "round"
	benchParamProcs   = "gomaxprocs"
	benchParamTorch   = "torch_version"
	benchParamThreads = "torch_threads"
)

// benchKinds are the step kinds the bench measures, in its measuring order, with what each one times (the
// kinds of models/bench). A kind not listed here is shown after these, without a description.
var benchKinds = []struct{ name, about string }{
	{"finetune_trainable", "one fine-tuning step (2-label task loss, AdamW, global-norm gradient clipping) with the token table trained"},
	{"finetune_frozen", "one fine-tuning step (2-label task loss, AdamW, global-norm gradient clipping) with the token table frozen: the step private tuning runs"},
	{"infer_b32", "inference (task logits, no dropout) on a batch of 32 examples"},
	{"infer_b128", "inference (task logits, no dropout) on a batch of 128 examples"},
	{"pretrain", "one pre-training step: masked-LM on ⌈0.15·T⌉ slots per sequence with the output tied to the frozen token table, plus the sentence-pair loss"},
}

func benchKindAbout(kind string) string {
	for _, k := range benchKinds {
		if k.name == kind {
			return k.about
		}
	}
	return ""
}

func benchKindRank(kind string) int {
	for i, k := range benchKinds {
		if k.name == kind {
			return i
		}
	}
	return len(benchKinds)
}

// isBenchRecords reports whether every record is a bench measurement.
func isBenchRecords(records []results.Record) bool {
	return len(records) > 0 && !slices.ContainsFunc(records, func(r results.Record) bool { return r.Method != benchMethod })
}

// hasPeer reports whether a bench record holds the PyTorch peer's measurement.
func hasPeer(r results.Record) bool {
	_, ok := r.Metrics[benchPeerStepS]
	return ok
}

// benchGroup is the records of one step kind of one preset on one backend setting: the rounds of a peer
// comparison, or repeated measurements without a peer.
type benchGroup struct {
	Preset, Backend, Kind string
	Records               []results.Record
}

func benchKind(r results.Record) string {
	return cmp.Or(paramText(r.Params[benchParamKind]), r.Label, "unknown kind")
}

func benchBackend(r results.Record) string {
	return cmp.Or(r.Backend, paramText(r.Params["backend"]), r.Tags["backend"])
}

// paramText writes a parameter value as it reads ("" for none).
func paramText(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// benchGroups groups records by (preset, backend, kind): presets by model size (Extra params) then name,
// backends by name, kinds in the bench's measuring order.
func benchGroups(records []results.Record) []*benchGroup {
	type key struct{ preset, backend, kind string }
	byKey := map[key]*benchGroup{}
	var groups []*benchGroup
	size := map[string]float64{}
	for _, r := range records {
		k := key{r.Preset, benchBackend(r), benchKind(r)}
		g := byKey[k]
		if g == nil {
			g = &benchGroup{Preset: k.preset, Backend: k.backend, Kind: k.kind}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.Records = append(g.Records, r)
		if p, ok := r.Extra["params"]; ok && p > 0 {
			size[r.Preset] = p
		}
	}
	slices.SortFunc(groups, func(a, b *benchGroup) int {
		return cmp.Or(compareNaNLast(sizeOr(size, a.Preset), sizeOr(size, b.Preset)), cmp.Compare(a.Preset, b.Preset),
			cmp.Compare(a.Backend, b.Backend), cmp.Compare(benchKindRank(a.Kind), benchKindRank(b.Kind)),
			cmp.Compare(a.Kind, b.Kind))
	})
	for _, g := range groups {
		slices.SortStableFunc(g.Records, func(a, b results.Record) int {
			return cmp.Or(cmp.Compare(paramInt(a.Params[benchParamRound]), paramInt(b.Params[benchParamRound])), a.Start.Compare(b.Start))
		})
	}
	return groups
}

func sizeOr(size map[string]float64, preset string) float64 {
	if s, ok := size[preset]; ok {
		return s
	}
	return math.NaN()
}

func paramInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	}
	return 0
}

// median of the finite values of xs; NaN when there are none.
func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// metricValues is the value of a metric in each record (NaN where a record lacks it).
func metricValues(records []results.Record, name string) []float64 {
	out := make([]float64, len(records))
	for i, r := range records {
		v, ok := r.Metrics[name]
		if !ok {
			v = math.NaN()
		}
		out[i] = v
	}
	return out
}

// roundRatio is the project's speed over PyTorch's in one round: PyTorch's seconds per step ÷ the project's
// (above 1 the project is faster). NaN when either time is missing or the record's ratio is NaN (the bench
// writes NaN when the two measured different batches).
func roundRatio(r results.Record) float64 {
	project, peer := r.Metrics[benchStepS], r.Metrics[benchPeerStepS]
	if q, ok := r.Metrics[benchRatio]; ok && math.IsNaN(q) {
		return math.NaN()
	}
	if !(project > 0) || !(peer > 0) {
		return math.NaN()
	}
	return peer / project
}

// peerSummary is one group of a peer comparison, summarised over its rounds.
type peerSummary struct {
	*benchGroup
	Rounds                       int     // rounds with a ratio
	StepS, PeerStepS             float64 // medians over rounds of each round's median seconds per step
	ExPerS, PeerExPerS           float64
	Ratio, RatioMin, RatioMax    float64 // median, min and max over rounds; NaN without a round
	Goal                         float64 // NaN when the records name none
	Torch, Threads, Procs, Batch string  // distinct values over rounds, joined by " / "
}

// Met reports whether the median ratio reaches the goal. The comparison allows a relative 1e-9 for rounding:
// 0.018 s ÷ 0.012 s is 1.4999999999999998 in floating point, and a ratio shown as 1.50× meets a 1.5× goal.
func (s peerSummary) Met() bool {
	return s.Rounds > 0 && !math.IsNaN(s.Goal) && s.Ratio >= s.Goal*(1-1e-9)
}

func summarizePeer(g *benchGroup) peerSummary {
	s := peerSummary{benchGroup: g, Ratio: math.NaN(), RatioMin: math.NaN(), RatioMax: math.NaN()}
	var ratios, goals []float64
	for _, r := range g.Records {
		if q := roundRatio(r); !math.IsNaN(q) {
			ratios = append(ratios, q)
		}
		if v, ok := r.Extra[benchGoal]; ok {
			goals = append(goals, v)
		}
	}
	s.Rounds = len(ratios)
	if s.Rounds > 0 {
		s.Ratio, s.RatioMin, s.RatioMax = median(ratios), slices.Min(ratios), slices.Max(ratios)
	}
	s.Goal = median(goals)
	s.StepS, s.PeerStepS = median(metricValues(g.Records, benchStepS)), median(metricValues(g.Records, benchPeerStepS))
	s.ExPerS, s.PeerExPerS = median(metricValues(g.Records, benchExPerS)), median(metricValues(g.Records, benchPeerExPerS))
	s.Torch = distinctParams(g.Records, benchParamTorch)
	s.Threads = distinctParams(g.Records, benchParamThreads)
	s.Procs = distinctParams(g.Records, benchParamProcs)
	s.Batch = distinctParams(g.Records, benchParamBatch)
	return s
}

// distinctParams joins the distinct values of a parameter over records, in the order they first appear.
func distinctParams(records []results.Record, name string) string {
	var vals []string
	for _, r := range records {
		if v := paramText(r.Params[name]); v != "" && !slices.Contains(vals, v) {
			vals = append(vals, v)
		}
	}
	return strings.Join(vals, " / ")
}

// formatSpeedRatio writes a speed ratio with two decimals, as `cyphertalk bench --peer` prints it.
func formatSpeedRatio(q float64) string {
	if math.IsNaN(q) {
		return "–"
	}
	return strconv.FormatFloat(q, 'f', 2, 64) + "×"
}

func formatGoal(g float64) string {
	if math.IsNaN(g) {
		return "–"
	}
	return "≥ " + strconv.FormatFloat(g, 'g', 3, 64) + "×"
}

func formatSeconds(s float64) string {
	if math.IsNaN(s) {
		return "–"
	}
	return formatSecondsStat(stat{Mean: s, N: 1})
}

// formatRate writes examples per second: whole numbers with thousands separators from 100 on.
func formatRate(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 100:
		return groupThousands(strconv.FormatFloat(v, 'f', 0, 64))
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func csvFloat(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// groupLabel names a group in the figure: its kind, with the preset and backend when the page has several.
func groupLabel(g *benchGroup, manyPresets, manyBackends bool) string {
	var extra []string
	if manyPresets {
		extra = append(extra, g.Preset)
	}
	if manyBackends {
		extra = append(extra, g.Backend)
	}
	if len(extra) == 0 {
		return g.Kind
	}
	return g.Kind + " (" + strings.Join(extra, ", ") + ")"
}

func distinctOf(groups []*benchGroup, f func(*benchGroup) string) []string {
	var out []string
	for _, g := range groups {
		if v := f(g); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// renderBench writes the page of bench records: with peer records the speed ratio figure and table, without
// the throughput table; the step kinds present with what each one times; the provenance line.
func renderBench(records []results.Record, outDir string, opts Options) (*Index, error) {
	var peer, local []results.Record
	for _, r := range records {
		if hasPeer(r) {
			peer = append(peer, r)
		} else {
			local = append(local, r)
		}
	}
	title := "Speed against PyTorch on the same CPU"
	if len(peer) == 0 {
		title = "Step throughput on the CPU"
	}
	idx := &Index{Title: cmp.Or(opts.Title, title), Dir: outDir, Runs: len(records),
		Description: cmp.Or(opts.Description, benchDescription(peer, local)), Provenance: provenance(records, opts.Source)}
	if len(peer) > 0 {
		groups := benchGroups(peer)
		sums := make([]peerSummary, len(groups))
		for i, g := range groups {
			sums[i] = summarizePeer(g)
		}
		const name = "speed-vs-pytorch"
		figTitle := "Project speed ÷ PyTorch's per step kind"
		fig, caption, missing := ratioFigure(sums, figTitle)
		if err := fig.save(outDir, name); err != nil {
			return nil, err
		}
		f := Figure{Name: name, Title: figTitle, Caption: caption, PNG: name + ".png", SVG: name + ".svg", Missing: missing}
		if missing != "" {
			f.Caption = "Not drawn: " + missing + "."
			idx.Missing = append(idx.Missing, name+": "+missing)
		}
		idx.Figures = append(idx.Figures, f)
		idx.Tables = append(idx.Tables, peerTable(sums))
	}
	if len(local) > 0 {
		idx.Tables = append(idx.Tables, throughputTable(benchGroups(local)))
	}
	idx.Tables = append(idx.Tables, kindsTable(records))
	if err := idx.write(outDir); err != nil {
		return nil, err
	}
	return idx, nil
}

// benchDescription says how the records were measured, from the records: presets, hosts, timed steps, rounds.
func benchDescription(peer, local []results.Record) string {
	all := append(slices.Clone(peer), local...)
	presets := distinctField(all, func(r results.Record) string { return r.Preset })
	hosts := distinctField(all, func(r results.Record) string { return r.Host })
	steps := distinctParams(all, benchParamSteps)
	var b strings.Builder
	if len(peer) > 0 {
		rounds := int64(0)
		for _, r := range peer {
			rounds = max(rounds, paramInt(r.Params[benchParamRound]))
		}
		fmt.Fprintf(&b, "Measured by cyphertalk bench --peer: in each of %d rounds the project's steps of the %s preset "+
			"are timed, then the PyTorch model of the same preset (scripts/peer/bench.py) with inputs of the same shapes, in the same "+
			"process tree on the same CPU.", rounds, joinAnd(presets))
	} else {
		fmt.Fprintf(&b, "Measured by cyphertalk bench on the %s preset.", joinAnd(presets))
	}
	if steps != "" {
		fmt.Fprintf(&b, " Seconds per step are the median over %s timed steps, after an untimed compiling warm-up.", steps)
	}
	if len(hosts) > 0 {
		fmt.Fprintf(&b, " Host: %s.", joinAnd(hosts))
	}
	return b.String()
}

func distinctField(records []results.Record, f func(results.Record) string) []string {
	var out []string
	for _, r := range records {
		if v := f(r); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// peerTable is one row per (preset, backend, kind): medians over rounds and the ratio's range.
func peerTable(sums []peerSummary) *Table {
	t := &Table{Name: "speed-vs-pytorch", Title: "Project against PyTorch per step kind: medians over rounds", CSV: "speed-vs-pytorch.csv",
		Columns: []string{"kind", "preset", "rounds", "project s/step", "PyTorch s/step", "project ex/s", "PyTorch ex/s",
			"ratio [min–max]", "goal", "goal met", "torch", "torch threads", "GOMAXPROCS", "backend"},
		csvHeader: []string{"kind", "preset", "rounds", "step_s_median", "peer_step_s_median", "ex_per_s_median",
			"peer_ex_per_s_median", "ratio_median", "ratio_min", "ratio_max", "goal", "goal_met", "torch_version",
			"torch_threads", "gomaxprocs", "backend"}}
	for _, s := range sums {
		ratio := formatSpeedRatio(s.Ratio)
		met, metCSV := "–", ""
		if s.Rounds > 0 {
			ratio += " [" + strings.TrimSuffix(formatSpeedRatio(s.RatioMin), "×") + "–" + formatSpeedRatio(s.RatioMax) + "]"
			if !math.IsNaN(s.Goal) {
				met, metCSV = "not met", "false"
				if s.Met() {
					met, metCSV = "met", "true"
				}
			}
		}
		t.Rows = append(t.Rows, []string{s.Kind, s.Preset, strconv.Itoa(s.Rounds), formatSeconds(s.StepS), formatSeconds(s.PeerStepS),
			formatRate(s.ExPerS), formatRate(s.PeerExPerS), ratio, formatGoal(s.Goal), met, s.Torch, s.Threads, s.Procs, s.Backend})
		t.csvRows = append(t.csvRows, []string{s.Kind, s.Preset, strconv.Itoa(s.Rounds), csvFloat(s.StepS), csvFloat(s.PeerStepS),
			csvFloat(s.ExPerS), csvFloat(s.PeerExPerS), csvFloat(s.Ratio), csvFloat(s.RatioMin), csvFloat(s.RatioMax),
			csvFloat(s.Goal), metCSV, s.Torch, s.Threads, s.Procs, s.Backend})
	}
	t.Notes = append(t.Notes, "ratio = PyTorch's seconds per step ÷ the project's in the same round (above 1× the project "+
		"is faster); the cell is the median over rounds with the lowest and highest round in brackets. Seconds per step "+
		"and ex/s are medians over rounds of each round's median over its timed steps. The goal is met when the median "+
		"ratio reaches it.")
	return t
}

// throughputTable is one row per (preset, backend, kind) of measurements without a peer: medians over the
// records (repeated benchmarks keep their history side by side).
func throughputTable(groups []*benchGroup) *Table {
	hasGEMM := slices.ContainsFunc(groups, func(g *benchGroup) bool {
		return slices.ContainsFunc(g.Records, func(r results.Record) bool { _, ok := r.Extra[benchOverGEMM]; return ok })
	})
	t := &Table{Name: "throughput", Title: "Throughput per step kind: medians over measurements", CSV: "throughput.csv",
		Columns:   []string{"kind", "preset", "measurements", "s/step", "ex/s", "GFLOP/s"},
		csvHeader: []string{"kind", "preset", "measurements", "step_s_median", "ex_per_s_median", "gflops_median"}}
	if hasGEMM {
		t.Columns = append(t.Columns, "÷ GEMM")
		t.csvHeader = append(t.csvHeader, "over_gemm_median", "gemm_gflops_median")
	}
	t.Columns = append(t.Columns, "GOMAXPROCS", "backend")
	t.csvHeader = append(t.csvHeader, "gomaxprocs", "backend")
	for _, g := range groups {
		stepS, exps, gflops := median(metricValues(g.Records, benchStepS)), median(metricValues(g.Records, benchExPerS)),
			median(metricValues(g.Records, benchGFLOPS))
		procs := distinctParams(g.Records, benchParamProcs)
		n := strconv.Itoa(len(g.Records))
		row := []string{g.Kind, g.Preset, n, formatSeconds(stepS), formatRate(exps), fixed2(gflops)}
		csvRow := []string{g.Kind, g.Preset, n, csvFloat(stepS), csvFloat(exps), csvFloat(gflops)}
		if hasGEMM {
			over, gemm := median(extraValues(g.Records, benchOverGEMM)), median(extraValues(g.Records, benchGEMMGFLOPS))
			row = append(row, fixed2(over))
			csvRow = append(csvRow, csvFloat(over), csvFloat(gemm))
		}
		t.Rows = append(t.Rows, append(row, procs, g.Backend))
		t.csvRows = append(t.csvRows, append(csvRow, procs, g.Backend))
	}
	t.Notes = append(t.Notes, "GFLOP/s counts the encoder's matrix products (training = 3× forward), not the embedding "+
		"gather, softmax, element-wise work or the masked-LM output.")
	if hasGEMM {
		t.Notes = append(t.Notes, "÷ GEMM = the step's GFLOP/s over a plain float32 matrix product (gonum BLAS) timed in the same process.")
	}
	return t
}

func fixed2(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func extraValues(records []results.Record, name string) []float64 {
	out := make([]float64, len(records))
	for i, r := range records {
		v, ok := r.Extra[name]
		if !ok {
			v = math.NaN()
		}
		out[i] = v
	}
	return out
}

// kindsTable says what each step kind present times, with its batch as recorded.
func kindsTable(records []results.Record) *Table {
	groups := benchGroups(records)
	t := &Table{Name: "step-kinds", Title: "What each step kind times", CSV: "step-kinds.csv",
		Columns: []string{"kind", "batch", "what is timed"}, csvHeader: []string{"kind", "batch", "description"}}
	var kinds []string
	for _, g := range groups {
		if !slices.Contains(kinds, g.Kind) {
			kinds = append(kinds, g.Kind)
		}
	}
	slices.SortStableFunc(kinds, func(a, b string) int { return cmp.Compare(benchKindRank(a), benchKindRank(b)) })
	for _, k := range kinds {
		var recs []results.Record
		for _, g := range groups {
			if g.Kind == k {
				recs = append(recs, g.Records...)
			}
		}
		about := cmp.Or(benchKindAbout(k), "no description (a kind this version does not know)")
		row := []string{k, distinctParams(recs, benchParamBatch), about}
		t.Rows = append(t.Rows, row)
		t.csvRows = append(t.csvRows, slices.Clone(row))
	}
	return t
}

// Colours of the ratio figure: green where the goal is met, vermillion where it is not.
var (
	metColor    = palette[2]
	notMetColor = palette[4]
	noGoalColor = palette[6]
	parityStyle = draw.LineStyle{Color: color.Gray{Y: 0x40}, Width: 1.2, Dashes: []vg.Length{5, 3}}
	rangeStyle  = draw.LineStyle{Color: color.Black, Width: 1.3}
)

// ratioRow is one bar of the ratio figure.
type ratioRow struct {
	median, lo, hi, goal float64 // goal NaN: none recorded
	met                  bool
	text                 string
}

func (r ratioRow) color() color.RGBA {
	switch {
	case math.IsNaN(r.goal):
		return noGoalColor
	case r.met:
		return metColor
	}
	return notMetColor
}

// ratioBars draws one horizontal bar per row from PyTorch's speed (1×) to the median ratio, the min–max range
// over rounds as a whisker and the row's goal as a diamond. gonum/plot has no bar plotter that starts bars at
// a value other than zero on a log axis, hence this one.
type ratioBars struct {
	rows       []ratioRow // row i is drawn at y = len(rows)-1-i (first row on top)
	xmin, xmax float64
}

func (b *ratioBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(b.rows)
	x1 := trX(1)
	c.StrokeLine2(parityStyle, x1, trY(-0.6), x1, trY(float64(n)-0.4))
	sty := textStyle(tickSize, false)
	sty.YAlign = draw.YCenter
	for i, r := range b.rows {
		y := float64(n - 1 - i)
		yc := trY(y)
		y0, y1 := trY(y-barThickness/2), trY(y+barThickness/2)
		fill := r.color()
		xa, xb := trX(math.Min(1, r.median)), trX(math.Max(1, r.median))
		pts := rectPoints(xa, y0, xb, y1)
		c.FillPolygon(lighten(fill, 0.3), pts)
		c.StrokeLines(draw.LineStyle{Color: barOutline, Width: 0.8}, append(pts, pts[0]))
		// Whisker: min–max over rounds, with caps.
		cap := (y1 - y0) / 4
		lo, hi := trX(r.lo), trX(r.hi)
		c.StrokeLine2(rangeStyle, lo, yc, hi, yc)
		c.StrokeLine2(rangeStyle, lo, yc-cap, lo, yc+cap)
		c.StrokeLine2(rangeStyle, hi, yc-cap, hi, yc+cap)
		right := math.Max(r.hi, math.Max(r.median, 1))
		if !math.IsNaN(r.goal) {
			drawGoal(&c, vg.Point{X: trX(r.goal), Y: yc}, (y1-y0)/3)
			right = math.Max(right, r.goal)
		}
		c.FillText(sty, vg.Point{X: trX(right) + 8, Y: yc}, r.text)
	}
}

// drawGoal draws the goal mark: a black diamond centred on at, outlined in white so that it stays visible on
// a bar or a whisker.
func drawGoal(c *draw.Canvas, at vg.Point, r vg.Length) {
	pts := []vg.Point{{X: at.X, Y: at.Y + r}, {X: at.X + r*0.8, Y: at.Y}, {X: at.X, Y: at.Y - r}, {X: at.X - r*0.8, Y: at.Y}}
	c.FillPolygon(color.Black, pts)
	c.StrokeLines(draw.LineStyle{Color: color.White, Width: 0.8}, append(pts, pts[0]))
}

func (b *ratioBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.xmin, b.xmax, -0.6, float64(len(b.rows)) - 0.4
}

// goalThumb, rangeThumb and parityThumb are the ratio figure's legend swatches.
type goalThumb struct{}

func (goalThumb) Thumbnail(c *draw.Canvas) {
	drawGoal(c, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2}, (c.Max.Y-c.Min.Y)/2)
}

type lineThumb struct {
	sty  draw.LineStyle
	caps bool
}

func (t lineThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(t.sty, c.Min.X, y, c.Max.X, y)
	if t.caps {
		c.StrokeLine2(t.sty, c.Min.X, c.Min.Y, c.Min.X, c.Max.Y)
		c.StrokeLine2(t.sty, c.Max.X, c.Min.Y, c.Max.X, c.Max.Y)
	}
}

// ratioAxis chooses the x axis of the ratio figure: linear from 0, or logarithmic when the measured ratios
// span more than 10×; the range holds every ratio, goal and 1×, with room on the right for the value labels
// (about 40% of the width).
func ratioAxis(sums []peerSummary) (xmin, xmax float64, log bool) {
	lo, hi := 1.0, 1.0
	rlo, rhi := math.Inf(1), math.Inf(-1)
	for _, s := range sums {
		if s.Rounds == 0 {
			continue
		}
		rlo, rhi = math.Min(rlo, s.RatioMin), math.Max(rhi, s.RatioMax)
		lo, hi = math.Min(lo, s.RatioMin), math.Max(hi, s.RatioMax)
		if !math.IsNaN(s.Goal) && s.Goal > 0 {
			lo, hi = math.Min(lo, s.Goal), math.Max(hi, s.Goal)
		}
	}
	if rhi/rlo > 10 {
		xmin = math.Pow(10, math.Floor(math.Log10(lo)))
		decades := math.Log10(hi / xmin)
		return xmin, xmin * math.Pow(10, decades/0.6), true
	}
	return 0, hi / 0.6, false
}

// ratioTicks labels a linear ratio axis with round values written as multiples ("0.5×").
func ratioTicks(lo, hi float64) []plot.Tick {
	ticks := niceTicks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label += "×"
		}
	}
	return ticks
}

// logRatioTicks labels 1, 2 and 5 × 10^k on a log ratio axis ("0.2×", "1×", "50×"); over more than three
// decades only the powers of ten.
func logRatioTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	few := math.Log10(hi/lo) <= 3
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for k := 1; k < 10; k++ {
			v := float64(k) * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 || (few && (k == 2 || k == 5)) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64) + "×"
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// ratioFigure draws the project's speed over PyTorch's per group: the median over rounds as a bar from 1×, the
// range over rounds and the goal. It returns the figure, its caption written from the data and, when no group
// has a ratio, what is missing.
func ratioFigure(sums []peerSummary, title string) (figure, string, string) {
	var shown []peerSummary
	var absent []string
	var groups []*benchGroup
	for _, s := range sums {
		groups = append(groups, s.benchGroup)
	}
	manyPresets := len(distinctOf(groups, func(g *benchGroup) string { return g.Preset })) > 1
	manyBackends := len(distinctOf(groups, func(g *benchGroup) string { return g.Backend })) > 1
	for _, s := range sums {
		if s.Rounds > 0 {
			shown = append(shown, s)
		} else {
			absent = append(absent, groupLabel(s.benchGroup, manyPresets, manyBackends))
		}
	}
	if len(shown) == 0 {
		msg := "no bench record holds both the project's and PyTorch's seconds per step"
		return placeholder(title, msg), "", msg
	}
	xmin, xmax, logAxis := ratioAxis(shown)
	b := &ratioBars{xmin: xmin, xmax: xmax}
	var ticks []plot.Tick
	var parts []string
	anyMet, anyNotMet, anyNoGoal := false, false, false
	for i, s := range shown {
		row := ratioRow{median: s.Ratio, lo: s.RatioMin, hi: s.RatioMax, goal: s.Goal, met: s.Met(), text: formatSpeedRatio(s.Ratio)}
		if s.Rounds > 1 {
			row.text += " (" + strings.TrimSuffix(formatSpeedRatio(s.RatioMin), "×") + "–" + formatSpeedRatio(s.RatioMax) + ")"
		}
		b.rows = append(b.rows, row)
		label := groupLabel(s.benchGroup, manyPresets, manyBackends)
		ticks = append(ticks, plot.Tick{Value: float64(len(shown) - 1 - i), Label: label})
		part := fmt.Sprintf("%s %s over %s", label, formatSpeedRatio(s.Ratio), roundsText(s.Rounds))
		if !math.IsNaN(s.Goal) {
			verdict := "not met"
			if s.Met() {
				verdict, anyMet = "met", true
			} else {
				anyNotMet = true
			}
			part += fmt.Sprintf(" (goal %s %s)", formatGoal(s.Goal), verdict)
		} else {
			anyNoGoal = true
		}
		parts = append(parts, part)
	}
	p := newPlot()
	p.Add(b)
	p.X.Min, p.X.Max = xmin, xmax
	xLabel := "project's speed ÷ PyTorch's (above 1× the project is faster)"
	if logAxis {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.TickerFunc(logRatioTicks)
		xLabel += ", log scale"
	} else {
		p.X.Tick.Marker = plot.TickerFunc(ratioTicks)
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Padding = 0

	var legend []legendEntry
	if anyMet {
		legend = append(legend, legendEntry{text: "goal met", thumbs: []plot.Thumbnailer{swatch{fill: lighten(metColor, 0.3)}}})
	}
	if anyNotMet {
		legend = append(legend, legendEntry{text: "below goal", thumbs: []plot.Thumbnailer{swatch{fill: lighten(notMetColor, 0.3)}}})
	}
	if anyNoGoal {
		legend = append(legend, legendEntry{text: "no goal recorded", thumbs: []plot.Thumbnailer{swatch{fill: lighten(noGoalColor, 0.3)}}})
	}
	legend = append(legend, legendEntry{text: "min–max over rounds", thumbs: []plot.Thumbnailer{lineThumb{sty: rangeStyle, caps: true}}})
	if anyMet || anyNotMet {
		legend = append(legend, legendEntry{text: "goal", thumbs: []plot.Thumbnailer{goalThumb{}}})
	}
	legend = append(legend, legendEntry{text: "PyTorch's speed (1×)", thumbs: []plot.Thumbnailer{lineThumb{sty: parityStyle}}})

	note := "Bar: from PyTorch's speed (1×) to the median over rounds of PyTorch's seconds per step ÷ the project's, " +
		"each timed in the same round on the same CPU."
	if len(absent) > 0 {
		note += " No ratio recorded: " + strings.Join(absent, "; ") + "."
	}
	height := vg.Length(len(shown))*0.42*vg.Inch + 1.6*vg.Inch + noteHeight(note, figureWidth)
	fig := figure{width: figureWidth, height: height, draw: func(dc draw.Canvas) {
		fillBackground(dc)
		body := drawTitle(dc, title)
		body = drawNote(body, note)
		body = drawLegend(body, legend)
		// The x-axis label is written here: gonum/plot centres it on the arithmetic middle of the data range,
		// which on a log axis lies near the right end, and then narrows the plot to make room for it.
		lsty := textStyle(labelSize, false)
		lsty.XAlign = draw.XCenter
		dc.FillText(lsty, vg.Point{X: (body.Min.X + body.Max.X) / 2, Y: body.Min.Y + 4}, xLabel)
		p.Draw(draw.Crop(body, 6, -12, lsty.Height(xLabel)+10, 0))
	}}
	caption := "Project's speed ÷ PyTorch's on the same CPU, median over rounds: " + joinAnd(parts) + "."
	return fig, caption, ""
}

func roundsText(n int) string {
	if n == 1 {
		return "1 round"
	}
	return strconv.Itoa(n) + " rounds"
}
