package reports

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

var paperFigures = []string{"time-preprocessing", "time-private-tuning", "time-private-inference", "opts2", "opts2-qqp"}

// TestRenderSmoke renders the smoke sweep's results and checks every file the report promises. With
// REPORT_SAMPLE_DIR set, it also writes the report there for a person to look at.
func TestRenderSmoke(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("REPORT_SAMPLE_DIR"); d != "" {
		dir = d
	}
	records := fixtureRecords()
	idx, err := Render(records, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range idx.Figures {
		names = append(names, f.Name)
		if f.Missing != "" {
			t.Errorf("figure %s is a placeholder: %s", f.Name, f.Missing)
		}
		if f.Caption == "" || !strings.HasSuffix(f.Caption, ".") {
			t.Errorf("figure %s caption %q is not a sentence", f.Name, f.Caption)
		}
		checkPNG(t, filepath.Join(dir, f.PNG))
		checkSVG(t, filepath.Join(dir, f.SVG))
	}
	if want := append(slices.Clone(paperFigures), "privacy-utility"); !slices.Equal(names, want) {
		t.Errorf("figures %v, want %v", names, want)
	}
	if len(idx.Missing) != 0 {
		t.Errorf("missing %v, want none", idx.Missing)
	}
	if len(idx.Notes) != 1 || !strings.Contains(idx.Notes[0], "QQP") {
		t.Errorf("notes %v: want QQP's re-split caveat", idx.Notes)
	}

	html := readFile(t, filepath.Join(dir, "index.html"))
	md := readFile(t, filepath.Join(dir, "README.md"))
	for _, f := range idx.Figures {
		if !strings.Contains(html, `src="`+f.PNG+`"`) || !strings.Contains(html, `href="`+f.SVG+`"`) {
			t.Errorf("index.html does not show %s", f.Name)
		}
		if !strings.Contains(md, "]("+f.PNG+")") {
			t.Errorf("README.md does not show %s", f.Name)
		}
		// html/template escapes; compare on a fragment without special characters.
		frag := f.Caption[:min(30, len(f.Caption))]
		if !strings.Contains(md, f.Caption) || !strings.Contains(html, frag) {
			t.Errorf("caption of %s missing from the index pages", f.Name)
		}
	}

	// Summary: one row per (task, method, variant): 2 plaintext + 6 gaussian + 1 chain + 4 baselines per task.
	rows := readCSV(t, filepath.Join(dir, "summary.csv"))
	if got, want := len(rows)-1, 2*13; got != want {
		t.Errorf("summary.csv has %d rows, want %d", got, want)
	}
	for _, col := range []string{"task", "method", "variant", "seeds", "accuracy_mean", "accuracy_sd", "f1_mean", "epsilon_mean",
		"preprocessing_seconds_mean", "private-tuning_seconds_per_epoch_mean", "private-inference_seconds_per_example_mean",
		"private-inference_seconds_per_example_extrapolated", "attack_top1_mean"} {
		if !slices.Contains(rows[0], col) {
			t.Errorf("summary.csv lacks column %s (has %v)", col, rows[0])
		}
	}
	attacks := readCSV(t, filepath.Join(dir, "attacks.csv"))
	// plaintext 2×1 attack, gaussian 6×2, chain 1×2, dp-forward 1×2 per task.
	if got, want := len(attacks)-1, 2*(2+12+2+2); got != want {
		t.Errorf("attacks.csv has %d rows, want %d", got, want)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// 8.5 in at 192 dpi; shown 816 px wide.
	if w := img.Bounds().Dx(); w != int(math.Round(float64(figureWidth/vg.Inch)*pngDPI)) {
		t.Errorf("%s is %d px wide", path, w)
	}
	// A drawn figure is not blank: count non-white pixels.
	nonWhite := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				nonWhite++
			}
		}
	}
	if nonWhite < 500 {
		t.Errorf("%s looks blank (%d non-white samples)", path, nonWhite)
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, new(any)); err != nil {
		t.Errorf("%s is not valid XML: %v", path, err)
	}
	if !bytes.Contains(data, []byte("<svg")) {
		t.Errorf("%s has no <svg> element", path)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestCaptionsFromData checks that captions carry the ratios the fixture was built to give.
func TestCaptionsFromData(t *testing.T) {
	settings := buildSettings(fixtureRecords())
	_, caption, missing := timeFigure(settings, groupPrivateInference, "t")
	if missing != "" {
		t.Fatal(missing)
	}
	// Per example, plaintext (2.0 + 2.2) / 2 s / 872 = 2.41 ms; HE-CKKS 3,000×, MPC-2PC 200×, CypherTalk 1.075× (1.1×).
	for _, want := range []string{"per example", "on SST-2, plaintext 2.41 ms; relative to it (same table setting): CypherTalk 1.1×", "CypherTalk 1.1×", "HE-CKKS 3,000× (extrapolated)",
		"MPC-2PC 200× (extrapolated)", "DP-Forward 1.1×", "DP-SGD 1.0×", "on QQP"} {
		if !strings.Contains(caption, want) {
			t.Errorf("inference caption %q lacks %q", caption, want)
		}
	}
	_, caption, _ = timeFigure(settings, groupPrivateTuning, "t")
	// Tuning per epoch (cloud + 1% client, × 1.05 for the mean of seeds, / 2 epochs): plaintext frozen 63.6 s,
	// trainable 74.2 s. CypherTalk (frozen table, 125 s) compares with plaintext frozen: 1.04×, not 0.96× against
	// the mean of both; dp-sgd has no table tag and compares with the mean: 404 / 261.3 = 3.1×.
	for _, want := range []string{"per epoch", "plaintext 63.6 s to 74.2 s", "CypherTalk 1.0×", "DP-SGD 3.1×"} {
		if !strings.Contains(caption, want) {
			t.Errorf("tuning caption %q lacks %q", caption, want)
		}
	}
	_, caption, _ = opts2Figure(settings, "sst2", "t", "")
	// gaussian without recovery: seed mean 0.805 at σ=0.5 down to 0.705 at σ=2; plaintext trainable 0.825.
	for _, want := range []string{"gaussian, no recovery 0.805 at σ=0.5 to 0.705 at σ=2",
		"gaussian, awareness+function recovery 0.825 at σ=0.5", "plaintext trainable table 0.825", "plaintext frozen table 0.785"} {
		if !strings.Contains(caption, want) {
			t.Errorf("opts2 caption %q lacks %q", caption, want)
		}
	}
	_, caption, _ = privacyFigure(settings, "t", "")
	if !strings.Contains(caption, "to 100.0% (plaintext") || !strings.Contains(caption, "from 15.0% (CypherTalk chain tilt+gaussian") {
		t.Errorf("privacy caption %q", caption)
	}
}

// TestSummaryStatistics checks mean ± sd over seeds, the extrapolation mark, and normalised costs.
func TestSummaryStatistics(t *testing.T) {
	settings := buildSettings(fixtureRecords())
	scales := map[string]costScale{}
	for _, g := range phaseGroups {
		scales[g] = chooseScale(settings, g)
	}
	tbl := summaryTable(settings, scales)
	row := findRow(t, tbl, "SST-2", "plaintext", "trainable table")
	// 0.82 and 0.83: mean 0.825, sd 0.00707.
	if got := cell(t, tbl, row, "private-tuning (s/epoch)"); got != "74.2 ± 5.0" {
		t.Errorf("plaintext tuning cell %q, want 74.2 ± 5.0", got)
	}
	if got := cell(t, tbl, row, "accuracy"); got != "0.825 ± 0.007" {
		t.Errorf("plaintext accuracy cell %q", got)
	}
	he := findRow(t, tbl, "SST-2", "HE-CKKS", "")
	inf := cell(t, tbl, he, "private-inference (s/example)")
	// 6000 s and 6600 s over 872 examples: mean 7.22 s, extrapolated.
	if !strings.HasPrefix(inf, "7.22 ± ") || !strings.HasSuffix(inf, "*") {
		t.Errorf("he-ckks inference cell %q: want 7.22 ± … *", inf)
	}
	if cell(t, tbl, row, "preprocessing (s)") != "–" {
		t.Errorf("plaintext has no preprocessing, cell %q", cell(t, tbl, row, "preprocessing (s)"))
	}
	dp := findRow(t, tbl, "SST-2", "DP-SGD", "ε=3")
	if got := cell(t, tbl, dp, "ε"); got != "3" {
		t.Errorf("dp-sgd ε cell %q", got)
	}
	// CSV carries the numbers.
	ci := slices.Index(tbl.csvHeader, "accuracy_sd")
	sd, err := strconv.ParseFloat(tbl.csvRows[row][ci], 64)
	if err != nil || math.Abs(sd-0.01/math.Sqrt2) > 1e-12 {
		t.Errorf("accuracy_sd %q, want %g", tbl.csvRows[row][ci], 0.01/math.Sqrt2)
	}
	ei := slices.Index(tbl.csvHeader, "private-inference_seconds_per_example_extrapolated")
	if tbl.csvRows[he][ei] != "true" || tbl.csvRows[row][ei] != "false" {
		t.Errorf("extrapolated flags he-ckks %q plaintext %q", tbl.csvRows[he][ei], tbl.csvRows[row][ei])
	}
}

func findRow(t *testing.T, tbl *Table, task, method, variant string) int {
	t.Helper()
	for i, r := range tbl.Rows {
		if r[0] == task && r[1] == method && r[2] == variant {
			return i
		}
	}
	t.Fatalf("no row %s / %s / %q in %s", task, method, variant, tbl.Name)
	return -1
}

func cell(t *testing.T, tbl *Table, row int, column string) string {
	t.Helper()
	ci := slices.Index(tbl.Columns, column)
	if ci < 0 {
		t.Fatalf("no column %q in %v", column, tbl.Columns)
	}
	return tbl.Rows[row][ci]
}

// TestChooseScale: per-unit costs only when every run says what its units are.
func TestChooseScale(t *testing.T) {
	records := fixtureRecords()
	settings := buildSettings(records)
	if sc := chooseScale(settings, groupPrivateInference); !sc.perUnit || sc.unit != "example" {
		t.Errorf("inference scale %+v, want per example", sc)
	}
	if sc := chooseScale(settings, groupPrivateTuning); !sc.perUnit || sc.unit != "epoch" {
		t.Errorf("tuning scale %+v, want per epoch", sc)
	}
	if sc := chooseScale(settings, groupPreprocessing); sc.perUnit {
		t.Errorf("preprocessing scale %+v, want total", sc)
	}
	// One run counting tuning in steps turns the whole figure to totals, and the axis says so.
	for i, c := range records[0].Costs {
		if c.Phase == method.PhasePrivateTuning {
			records[0].Costs[i].UnitName, records[0].Costs[i].Units = "steps", 50
		}
	}
	sc := chooseScale(buildSettings(records), groupPrivateTuning)
	if sc.perUnit || !strings.Contains(sc.axisLabel(), "in total") {
		t.Errorf("mixed units: scale %+v label %q, want totals", sc, sc.axisLabel())
	}
}

// TestMissingData: a report of plaintext runs alone renders placeholders and lists what is missing (written
// to $REPORT_SAMPLE_DIR-missing when that is set).
func TestMissingData(t *testing.T) {
	var records []results.Record
	for _, r := range fixtureRecords() {
		if r.Method == "plaintext" {
			r.Attacks = nil
			records = append(records, r)
		}
	}
	dir := t.TempDir()
	if d := os.Getenv("REPORT_SAMPLE_DIR"); d != "" {
		dir = d + "-missing"
	}
	idx, err := Render(records, dir, Options{Title: "plaintext only"})
	if err != nil {
		t.Fatal(err)
	}
	missing := map[string]string{}
	for _, f := range idx.Figures {
		missing[f.Name] = f.Missing
		checkPNG(t, filepath.Join(dir, f.PNG))
	}
	if missing["time-preprocessing"] == "" {
		t.Error("time-preprocessing should be a placeholder")
	}
	// No shaking runs: the accuracy-by-method figures instead of opts2.
	for _, name := range []string{"opts2", "opts2-qqp"} {
		if _, ok := missing[name]; ok {
			t.Errorf("%s drawn without shaking runs", name)
		}
	}
	for _, name := range []string{"time-private-tuning", "time-private-inference", "accuracy", "accuracy-qqp"} {
		if missing[name] != "" {
			t.Errorf("%s is a placeholder: %s", name, missing[name])
		}
	}
	if _, ok := missing["privacy-utility"]; ok {
		t.Error("privacy-utility drawn without attack results")
	}
	html := readFile(t, filepath.Join(dir, "index.html"))
	if !strings.Contains(html, "Missing data") || !strings.Contains(html, "opts2: no shaking runs") {
		t.Error("index.html does not list the missing figures")
	}
	if len(idx.Missing) != 3 {
		t.Errorf("missing %v, want 3 entries", idx.Missing)
	}
	if _, err := Render(nil, t.TempDir(), Options{}); err == nil {
		t.Error("Render of no records should fail")
	}
}

// TestVariantLabels: the spec's label names the method; the operator and ε always describe a setting, other
// tags only where they vary within the method; settings whose tags collide are told apart by the parameters
// that differ; a swept run setting separates settings.
func TestVariantLabels(t *testing.T) {
	base := results.Record{Task: "sst2", Method: "cyphertalk", Label: "CypherTalk", Seed: 1, Preset: "nano", MaxTrain: 200,
		Epsilon: math.NaN(), Metrics: map[string]float64{"accuracy": 0.8}}
	tags := func(recovery string) map[string]string {
		return map[string]string{"operator": "gaussian", "operator_param": "sigma", "recovery": recovery,
			"ops": "gaussian:sigma=1;π", "horizontal": "true", "table": "frozen"}
	}
	a, b, c, d, e := base, base, base, base, base
	a.Tags, a.Extra, a.Params = tags("none"), map[string]float64{"operator_value": 1}, map[string]any{"sigma": 1.0, "steps": int64(100)}
	b.Tags, b.Extra, b.Params = tags("none"), a.Extra, map[string]any{"sigma": 1.0, "steps": int64(200)}
	c.Tags, c.Extra, c.Params, c.MaxTrain = tags("none"), a.Extra, a.Params, 400
	d.Tags, d.Extra, d.Params = tags("awareness+function"), a.Extra, map[string]any{"sigma": 1.0, "steps": int64(100), "awareness_steps": int64(4)}
	e.Tags = tags("awareness+function")
	e.Tags["operator"], e.Tags["ops"] = "chain", "tilt:angle=0.1,gaussian:sigma=1;π"
	delete(e.Tags, "operator_param")
	e.Params = map[string]any{"ops": "tilt:angle=0.1,gaussian:sigma=1"}
	dp := results.Record{Task: "sst2", Method: "dp-sgd", Seed: 1, Preset: "nano", MaxTrain: 200, Epsilon: 8,
		Tags: map[string]string{"mechanism": "dp-sgd", "table": "frozen"}, Params: map[string]any{"epsilon": 8.0}}
	settings := buildSettings([]results.Record{a, b, c, d, e, dp})
	var labels []string
	for _, s := range settings {
		labels = append(labels, s.Label())
	}
	want := []string{
		"CypherTalk gaussian σ=1, awareness+function recovery, max_train=200",
		"CypherTalk gaussian σ=1, no recovery, max_train=200, steps=100",
		"CypherTalk gaussian σ=1, no recovery, max_train=200, steps=200",
		"CypherTalk gaussian σ=1, no recovery, max_train=400",
		"CypherTalk tilt:angle=0.1,gaussian:sigma=1;π, awareness+function recovery, max_train=200",
		"DP-SGD ε=8, max_train=200",
	}
	slices.Sort(labels)
	if !slices.Equal(labels, want) {
		t.Errorf("labels\n%q\nwant\n%q", labels, want)
	}
}

// TestHatchStaysInside: hatching of an extrapolated bar never leaves the bar.
func TestHatchStaysInside(t *testing.T) {
	rec := new(recorder.Canvas)
	c := draw.NewCanvas(rec, 200, 100)
	x0, y0, x1, y1 := vg.Length(10), vg.Length(20), vg.Length(73), vg.Length(41)
	hatch(&c, x0, y0, x1, y1)
	lines := 0
	for _, a := range rec.Actions {
		s, ok := a.(*recorder.Stroke)
		if !ok {
			continue
		}
		lines++
		for _, comp := range s.Path {
			p := comp.Pos
			if p.X < x0-1e-9 || p.X > x1+1e-9 || p.Y < y0-1e-9 || p.Y > y1+1e-9 {
				t.Fatalf("hatch point %v outside [%v,%v]×[%v,%v]", p, x0, x1, y0, y1)
			}
		}
	}
	// 45° lines 5 pt apart across a 63 × 21 box: (63 + 21) / 5 ≈ 17.
	if lines < 15 || lines > 18 {
		t.Errorf("%d hatch lines, want about 17", lines)
	}
}

// TestFormatting pins the number formats figures and captions use.
func TestFormatting(t *testing.T) {
	cases := map[string]string{
		formatDuration(0.00229): "2.29 ms", formatDuration(63.6): "63.6 s", formatDuration(300): "5.00 min",
		formatDuration(7.5e-5): "75.0 µs", formatRatio(3000): "3,000×", formatRatio(2876.4): "2,900×",
		formatRatio(1.075): "1.1×", formatRatio(35.2): "35×", secondsTickLabel(-3): "1 ms", secondsTickLabel(4): "10⁴ s",
		secondsTickLabel(-1): "100 ms", secondsTickLabel(0): "1 s",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// TestSecondsTicks: decades are labelled as durations; a short axis also labels 2× and 5×, a long one every
// other decade.
func TestSecondsTicks(t *testing.T) {
	labels := func(lo, hi float64) []string {
		var out []string
		for _, tk := range logSecondsTicks(lo, hi) {
			if tk.Label != "" && tk.Value >= lo && tk.Value <= hi { // gonum draws only ticks on the axis
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got, want := labels(1e-3, 0.06), []string{"1 ms", "2 ms", "5 ms", "10 ms", "20 ms", "50 ms"}; !slices.Equal(got, want) {
		t.Errorf("short axis labels %q, want %q", got, want)
	}
	if got, want := labels(1e-4, 1e3), []string{"100 µs", "10 ms", "1 s", "100 s"}; !slices.Equal(got, want) {
		t.Errorf("long axis labels %q, want %q", got, want)
	}
}

// TestPrivacySeriesNameSaysRecoveryOnce: a label that already names the recovery setting is not repeated.
func TestPrivacySeriesNameSaysRecoveryOnce(t *testing.T) {
	for _, c := range []struct {
		ps   privacySeries
		want string
	}{
		{privacySeries{method: "cyphertalk (no recovery)", operator: "gaussian", recovery: "none"}, "cyphertalk (no recovery) gaussian"},
		{privacySeries{method: "CypherTalk", operator: "gaussian", recovery: "none"}, "CypherTalk gaussian, no recovery"},
		{privacySeries{method: "CypherTalk", operator: "gaussian", recovery: "awareness+function"}, "CypherTalk gaussian, awareness+function recovery"},
		{privacySeries{method: "dp-forward"}, "dp-forward"},
	} {
		if got := c.ps.name(nil); got != c.want {
			t.Errorf("name %q, want %q", got, c.want)
		}
	}
}
