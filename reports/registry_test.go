package reports

import (
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// The test's own methods: a reference described here, and a method nobody describes.
const (
	toyMethod    = "toy"
	toyReference = "toy-reference"
)

func init() {
	method.Describe(toyReference, method.Display{Label: "Toy reference", Order: -1, Reference: true})
}

// unseenRecords are runs of tasks and methods the reports code never names: MRPC (known to the task registry,
// after SST-2 in its order) and "zzz-task" (unknown to it), the undescribed method "toy" at two operator
// settings with a majority-class extra, and a reference method registered by the test.
func unseenRecords() []results.Record {
	var out []results.Record
	for _, task := range []string{"zzz-task", "mrpc", "sst2"} {
		for seed := uint64(1); seed <= 2; seed++ {
			ref := results.Record{RunID: task + "-ref", Experiment: "unseen", Task: task, Method: toyReference, Seed: seed,
				Preset: "nano", MaxTrain: 100, Epsilon: math.NaN(), Metrics: map[string]float64{"accuracy": 0.81},
				Extra: map[string]float64{"majority_accuracy": 0.68}, GitCommit: "0123456789abcdef0123",
				Costs: []method.Cost{{Phase: method.PhasePrivateInference, CloudSeconds: 2, Units: 100, UnitName: "examples"}}}
			out = append(out, ref)
			for _, v := range []float64{0.5, 2} {
				out = append(out, results.Record{RunID: task + "-toy", Experiment: "unseen", Task: task, Method: toyMethod,
					Seed: seed, Preset: "nano", MaxTrain: 100, Epsilon: math.NaN(), GitCommit: "fedcba9876543210",
					Params:  map[string]any{"level": v},
					Metrics: map[string]float64{"accuracy": 0.8 - 0.05*v},
					Tags:    map[string]string{"operator": "wobble", "operator_param": "level", "recovery": "none"},
					Extra:   map[string]float64{"operator_value": v, "majority_accuracy": 0.68},
					Costs: []method.Cost{{Phase: method.PhasePrivateInference, ClientSeconds: 1, CloudSeconds: 3, Units: 100, UnitName: "examples"},
						{Phase: method.PhaseShaking, ClientSeconds: 0.5}}})
			}
		}
	}
	return out
}

// TestUnseenTaskAndMethod: records of tasks and methods the code has never seen render with titles and order from
// the registries: one opts2 figure per task present, the reference from the display registry, the undescribed
// method under its registry name.
func TestUnseenTaskAndMethod(t *testing.T) {
	dir := t.TempDir()
	idx, err := Render(unseenRecords(), dir, Options{Source: "results/unseen"})
	if err != nil {
		t.Fatal(err)
	}
	var names, titles []string
	for _, f := range idx.Figures {
		names = append(names, f.Name)
		titles = append(titles, f.Title)
		if f.Missing != "" && f.Name != "time-private-tuning" {
			t.Errorf("figure %s is a placeholder: %s", f.Name, f.Missing)
		}
	}
	// Task registry order: sst2, then mrpc, then the task the registry does not know.
	want := []string{"time-preprocessing", "time-private-tuning", "time-private-inference", "opts2", "opts2-mrpc", "opts2-zzz-task"}
	if !slices.Equal(names, want) {
		t.Errorf("figures %v, want %v", names, want)
	}
	for _, title := range []string{"SST-2 accuracy against operator setting", "MRPC accuracy against operator setting",
		"zzz-task accuracy against operator setting"} {
		if !slices.Contains(titles, title) {
			t.Errorf("no figure titled %q in %q", title, titles)
		}
	}
	settings := buildSettings(unseenRecords())
	_, caption, missing := opts2Figure(settings, "mrpc", "t", "")
	if missing != "" {
		t.Fatal(missing)
	}
	for _, w := range []string{"on MRPC", "wobble, no recovery 0.775 at level=0.5 to 0.700 at level=2", "Toy reference 0.810"} {
		if !strings.Contains(caption, w) {
			t.Errorf("opts2 caption %q lacks %q", caption, w)
		}
	}
	// The reference comes from the display registry: the toy method is compared with it.
	_, caption, _ = timeFigure(settings, groupPrivateInference, "t")
	if !strings.Contains(caption, "on MRPC, Toy reference 20.0 ms; relative to it (same table setting): toy 2.0×") {
		t.Errorf("inference caption %q", caption)
	}
	// Summary rows: task title from the registry, the described reference before the undescribed method.
	tbl := summaryTable(settings, map[string]costScale{})
	var order []string
	for _, r := range tbl.Rows {
		order = append(order, r[0]+"/"+r[1])
	}
	if want := []string{"SST-2/Toy reference", "SST-2/toy", "SST-2/toy", "MRPC/Toy reference", "MRPC/toy", "MRPC/toy",
		"zzz-task/Toy reference", "zzz-task/toy", "zzz-task/toy"}; !slices.Equal(order, want) {
		t.Errorf("summary rows %q, want %q", order, want)
	}
	html := readFile(t, filepath.Join(dir, "index.html"))
	if !strings.Contains(html, "Produced from 18 runs in results/unseen; git commits: fedcba987654 (12 runs), 0123456789ab (6 runs).") {
		t.Errorf("index.html lacks the provenance line:\n%s", html[:min(len(html), 2000)])
	}
}

// TestLogAxisBoundary: on a log axis the client's share of a bar ends at the client's seconds, not at the
// client's fraction of the bar's length (4.2 s of 15.9 s drawn near 0.4 s before).
func TestLogAxisBoundary(t *testing.T) {
	row := barRow{party: [3]float64{4.2, 11.7, 0}, total: 15.9, present: true, valueText: "15.9 s"}
	segs := row.segments(0.1)
	want := []barSegment{{Party: 0, From: 0.1, To: 4.2}, {Party: 1, From: 4.2, To: 15.9}}
	if len(segs) != len(want) {
		t.Fatalf("segments %+v, want %+v", segs, want)
	}
	for i := range want {
		if segs[i].Party != want[i].Party || math.Abs(segs[i].From-want[i].From) > 1e-12 || math.Abs(segs[i].To-want[i].To) > 1e-12 {
			t.Errorf("segment %d = %+v, want %+v", i, segs[i], want[i])
		}
	}
	// A share below the axis minimum has no segment; the dealer's ends at the total.
	segs = barRow{party: [3]float64{0.01, 5, 5}, total: 10.01, present: true}.segments(0.1)
	if len(segs) != 2 || segs[0].Party != 1 || segs[0].To != 5.01 || segs[1].Party != 2 || segs[1].To != 10.01 {
		t.Errorf("segments %+v", segs)
	}

	// The drawn client rectangle ends where the log axis puts 4.2 s.
	b := &hbars{rows: []barRow{row}, xmin: 0.1, xmax: 1000}
	p := newPlot()
	p.X.Scale = plot.LogScale{}
	p.X.Min, p.X.Max = 0.1, 1000
	p.Y.Min, p.Y.Max = -0.6, 0.6
	rec := new(recorder.Canvas)
	c := draw.NewCanvas(rec, 400, 100)
	b.Plot(c, p)
	wantX := c.Min.X + (c.Max.X-c.Min.X)*vg.Length((math.Log10(4.2)-math.Log10(0.1))/(math.Log10(1000)-math.Log10(0.1)))
	found := false
	var current color.Color
	for _, a := range rec.Actions {
		if sc, ok := a.(*recorder.SetColor); ok {
			current = sc.Color
			continue
		}
		f, ok := a.(*recorder.Fill)
		if !ok || current == nil || !sameColor(current, partyColors[0]) {
			continue
		}
		right := vg.Length(math.Inf(-1))
		for _, comp := range f.Path {
			right = max(right, comp.Pos.X)
		}
		if math.Abs(float64(right-wantX)) > 0.01 {
			t.Errorf("client segment ends at x = %v pt, want %v pt (4.2 s on the log axis)", right, wantX)
		}
		found = true
	}
	if !found {
		t.Error("no client segment drawn")
	}
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

// insecureRecords are crypto runs at insecure test parameters: one marked by its security tag, one (older)
// only by its recorded lattice parameters, and one at secure parameters.
func insecureRecords() []results.Record {
	base := func(id string, tags map[string]string, extra map[string]float64) results.Record {
		return results.Record{RunID: id, Experiment: "crypto", Task: "sst2", Method: "he-ckks", Seed: 1, Preset: "nano",
			Epsilon: math.NaN(), Metrics: map[string]float64{"accuracy": 0.7}, Tags: tags, Extra: extra,
			Params: map[string]any{"parameters": id},
			Costs:  []method.Cost{{Phase: method.PhasePrivateInference, ClientSeconds: 1, CloudSeconds: 9, Units: 10, UnitName: "examples"}}}
	}
	return []results.Record{
		base("test-n12", map[string]string{"security": "insecure-test"}, nil),
		base("legacy-n13", nil, map[string]float64{"ckks_log_n": 13, "ckks_log_qp": 293}),
		base("n14-qp438", map[string]string{"security": "128-bit"}, map[string]float64{"ckks_log_n": 14, "ckks_log_qp": 437.9}),
	}
}

// TestInsecureLabel: runs at insecure test parameters are marked in every figure and table that shows them.
func TestInsecureLabel(t *testing.T) {
	records := insecureRecords()
	for i, want := range []bool{true, true, false} {
		if got := insecure(records[i]); got != want {
			t.Errorf("insecure(%s) = %v, want %v", records[i].RunID, got, want)
		}
	}
	dir := t.TempDir()
	idx, err := Render(records, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	settings := buildSettings(records)
	var marked int
	for _, s := range settings {
		if strings.HasSuffix(s.Name, insecureMark) {
			marked++
		}
	}
	if marked != 2 {
		t.Errorf("%d settings marked insecure, want 2", marked)
	}
	tbl := idx.Tables[0]
	rows := 0
	for _, r := range tbl.Rows {
		if r[1] == "HE-CKKS (insecure test parameters)" {
			rows++
		}
	}
	if rows != 2 || !slices.Contains(tbl.Notes, insecureNote) {
		t.Errorf("summary: %d marked rows (want 2), notes %q", rows, tbl.Notes)
	}
	_, caption, _ := timeFigure(settings, groupPrivateInference, "t")
	if !strings.Contains(caption, "HE-CKKS (insecure test parameters)") {
		t.Errorf("inference caption %q does not mark the insecure runs", caption)
	}
	md := readFile(t, filepath.Join(dir, "index.md"))
	if !strings.Contains(md, "| HE-CKKS (insecure test parameters) |") || !strings.Contains(md, insecureNote) {
		t.Errorf("index.md does not mark the insecure runs:\n%s", md)
	}
	// The figure's row labels carry the mark (the SVG holds the text).
	svg := readFile(t, filepath.Join(dir, "time-private-inference.svg"))
	if !strings.Contains(svg, "insecure test parameters") {
		t.Error("time-private-inference.svg does not mark the insecure runs")
	}
	// A report without insecure runs says nothing about them.
	settings = buildSettings(records[2:])
	if tbl := summaryTable(settings, map[string]costScale{}); slices.Contains(tbl.Notes, insecureNote) {
		t.Error("secure runs alone got the insecure note")
	}
}

// TestMajorityLine: accuracy figures draw the majority-class line from the majority_<metric> extra when the
// records carry it, and nothing (and no error) when they do not.
func TestMajorityLine(t *testing.T) {
	settings := buildSettings(unseenRecords())
	fn, v, ok := majorityLine(settings, "mrpc", "accuracy")
	if !ok || v != 0.68 || fn.F(3) != 0.68 || fn.LineStyle.Color != majorityStyle.Color {
		t.Fatalf("majority line ok=%v v=%v", ok, v)
	}
	_, caption, missing := opts2Figure(settings, "mrpc", "t", "")
	if missing != "" || !strings.Contains(caption, "majority class 0.680") {
		t.Errorf("opts2 caption %q (missing %q) lacks the majority class", caption, missing)
	}
	if _, _, ok := majorityLine(settings, "mrpc", "f1"); ok {
		t.Error("a majority line for f1, which no record carries")
	}

	var without []results.Record
	for _, r := range unseenRecords() {
		r.Extra = map[string]float64{"operator_value": r.Extra["operator_value"]}
		without = append(without, r)
	}
	settings = buildSettings(without)
	if _, _, ok := majorityLine(settings, "mrpc", "accuracy"); ok {
		t.Error("a majority line without the extra")
	}
	_, caption, missing = opts2Figure(settings, "mrpc", "t", "")
	if missing != "" || strings.Contains(caption, "majority") {
		t.Errorf("opts2 without the extra: caption %q, missing %q", caption, missing)
	}
	if _, err := Render(without, t.TempDir(), Options{}); err != nil {
		t.Fatal(err)
	}
}

// TestIndexMarkdown: index.md (and README.md) hold the figures, the tables as Markdown, the description and
// the provenance line, beside index.html.
func TestIndexMarkdown(t *testing.T) {
	dir := t.TempDir()
	records := fixtureRecords()
	for i := range records {
		records[i].GitCommit = "28c7a81"
		records[i].GitDirty = i == 0
	}
	idx, err := Render(records, dir, Options{Description: "paper figures: costs & accuracy", Source: "measurements/smoke"})
	if err != nil {
		t.Fatal(err)
	}
	md := readFile(t, filepath.Join(dir, "index.md"))
	if readme := readFile(t, filepath.Join(dir, "README.md")); readme != md {
		t.Error("README.md differs from index.md")
	}
	for _, want := range []string{"paper figures: costs & accuracy", "Produced from 52 runs in measurements/smoke; git commits: 28c7a81 (51 runs), 28c7a81 with uncommitted changes (1 run).",
		"| task | method | variant | seeds | accuracy |", "| SST-2 | plaintext | trainable table | 2 | 0.825 ± 0.007 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
	for _, f := range idx.Figures {
		if !strings.Contains(md, "]("+f.PNG+")") {
			t.Errorf("index.md does not show %s", f.Name)
		}
		if _, err := os.Stat(filepath.Join(dir, f.PNG)); err != nil {
			t.Error(err)
		}
	}
	html := readFile(t, filepath.Join(dir, "index.html"))
	if !strings.Contains(html, `<p class="description">paper figures: costs &amp; accuracy</p>`) {
		t.Error("index.html lacks the description")
	}
	// No description: no paragraph for it.
	if _, err := Render(records, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if html := readFile(t, filepath.Join(dir, "index.html")); strings.Contains(html, `class="description"`) {
		t.Error("index.html has a description paragraph without a description")
	}
}
