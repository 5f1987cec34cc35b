package reports

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// peerRecord is a bench record of a peer comparison as cmd/cyphertalk/benchrecord.go writes it: the project's
// and PyTorch's seconds per step for one kind in one round, the ratio PyTorch ÷ project and the kind's goal.
func peerRecord(kind string, round int, batch int, project, peer, goal float64) results.Record {
	return results.Record{
		RunID: fmt.Sprintf("%s-%d", kind, round), Experiment: "bench-peer", Task: "none", Method: "bench", Label: kind,
		Preset: "nano", Pretrain: "none",
		Params: map[string]any{"backend": "go:test", "kind": kind, "steps": int64(5), "batch": int64(batch),
			"gomaxprocs": int64(2), "round": int64(round), "torch_version": "2.3.0", "torch_threads": int64(1)},
		Metrics: map[string]float64{"step_s": project, "mean_step_s": project, "ex_per_s": float64(batch) / project, "gflops": 1,
			"peer_step_s": peer, "peer_mean_step_s": peer, "peer_ex_per_s": float64(batch) / peer, "ratio": peer / project},
		Extra:   map[string]float64{"params": 1000, "goal": goal, "peer_params": 1000},
		Tags:    map[string]string{"backend": "go:test", "kind": kind, "peer": "pytorch"},
		Epsilon: math.NaN(), Delta: math.NaN(), Backend: "go:test", GitCommit: "0123456789abcdef0123", Host: "testhost",
		Start: time.Unix(int64(1000+round), 0).UTC(),
	}
}

// peerFixture: finetune_frozen over three rounds with ratios 2.0, 1.5 and 1.0 (goal 1.5: met by the median),
// infer_b32 with ratios 0.5, 0.8 and 0.5 (goal 1: not met). The medians of the seconds per step are not the
// seconds of the median round, so that a table reading the wrong round shows.
func peerFixture() []results.Record {
	return []results.Record{
		peerRecord("infer_b32", 1, 32, 0.004, 0.002, 1),
		peerRecord("finetune_frozen", 1, 16, 0.010, 0.020, 1.5),
		peerRecord("finetune_frozen", 2, 16, 0.012, 0.018, 1.5),
		peerRecord("infer_b32", 2, 32, 0.005, 0.004, 1),
		peerRecord("finetune_frozen", 3, 16, 0.020, 0.020, 1.5),
		peerRecord("infer_b32", 3, 32, 0.008, 0.004, 1),
	}
}

func tableRow(t *testing.T, tbl *Table, kind string) map[string]string {
	t.Helper()
	for _, row := range tbl.Rows {
		if row[0] == kind {
			m := map[string]string{}
			for i, c := range tbl.Columns {
				m[c] = row[i]
			}
			return m
		}
	}
	t.Fatalf("table %s has no row for %s: %v", tbl.Name, kind, tbl.Rows)
	return nil
}

func tableByName(t *testing.T, idx *Index, name string) *Table {
	t.Helper()
	for _, tbl := range idx.Tables {
		if tbl.Name == name {
			return tbl
		}
	}
	t.Fatalf("no table %s among %d", name, len(idx.Tables))
	return nil
}

// TestBenchPeerPage renders peer records and checks the page: the figure files, the table's medians over
// rounds computed from the records, the goal verdicts, the CSV, the kind descriptions and the provenance.
func TestBenchPeerPage(t *testing.T) {
	out := t.TempDir()
	idx, err := Render(peerFixture(), out, Options{Source: "results/bench-peer"})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Title != "Speed against PyTorch on the same CPU" || idx.Runs != 6 {
		t.Errorf("title %q, runs %d", idx.Title, idx.Runs)
	}
	if len(idx.Figures) != 1 || idx.Figures[0].Missing != "" {
		t.Fatalf("figures %+v, want the drawn speed figure", idx.Figures)
	}
	checkPNG(t, filepath.Join(out, "speed-vs-pytorch.png"))
	checkSVG(t, filepath.Join(out, "speed-vs-pytorch.svg"))
	wantCaption := "finetune_frozen 1.50× over 3 rounds (goal ≥ 1.5× met) and infer_b32 0.50× over 3 rounds (goal ≥ 1× not met)"
	if !strings.Contains(idx.Figures[0].Caption, wantCaption) {
		t.Errorf("caption %q lacks %q", idx.Figures[0].Caption, wantCaption)
	}

	tbl := tableByName(t, idx, "speed-vs-pytorch")
	if tbl.Rows[0][0] != "finetune_frozen" || tbl.Rows[1][0] != "infer_b32" {
		t.Errorf("rows not in the bench's kind order: %v", tbl.Rows)
	}
	frozen := tableRow(t, tbl, "finetune_frozen")
	for col, want := range map[string]string{"rounds": "3", "project s/step": "0.0120", "PyTorch s/step": "0.0200",
		"project ex/s": "1,333", "PyTorch ex/s": "800", "ratio [min–max]": "1.50× [1.00–2.00×]", "goal": "≥ 1.5×",
		"goal met": "met", "torch": "2.3.0", "torch threads": "1", "GOMAXPROCS": "2", "backend": "go:test", "preset": "nano"} {
		if frozen[col] != want {
			t.Errorf("finetune_frozen %s = %q, want %q", col, frozen[col], want)
		}
	}
	infer := tableRow(t, tbl, "infer_b32")
	for col, want := range map[string]string{"project s/step": "0.00500", "PyTorch s/step": "0.00400",
		"ratio [min–max]": "0.50× [0.50–0.80×]", "goal met": "not met"} {
		if infer[col] != want {
			t.Errorf("infer_b32 %s = %q, want %q", col, infer[col], want)
		}
	}

	rows := readCSV(t, filepath.Join(out, "speed-vs-pytorch.csv"))
	col := slices.Index(rows[0], "ratio_median")
	if col < 0 || len(rows) != 3 {
		t.Fatalf("CSV: %v", rows)
	}
	for i, want := range []float64{1.5, 0.5} {
		if got, err := strconv.ParseFloat(rows[i+1][col], 64); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("CSV row %d ratio_median %q, want %v", i+1, rows[i+1][col], want)
		}
	}

	md := readFile(t, filepath.Join(out, "index.md"))
	for _, want := range []string{"# Speed against PyTorch on the same CPU", "![Project speed ÷ PyTorch's per step kind](speed-vs-pytorch.png)",
		"| finetune_frozen | 16 | one fine-tuning step", "with the token table frozen",
		"Produced from 6 runs in results/bench-peer; git commit: 0123456789ab (6 runs).", "in each of 3 rounds", "Host: testhost.",
		"median over 5 timed steps"} {
		if !strings.Contains(md, want) {
			t.Errorf("index.md lacks %q:\n%s", want, md)
		}
	}
	for _, unwanted := range []string{"time-preprocessing", "opts2", "Missing data"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("the bench page shows %q:\n%s", unwanted, md)
		}
	}
	html := readFile(t, filepath.Join(out, "index.html"))
	if !strings.Contains(html, `<img src="speed-vs-pytorch.png"`) || !strings.Contains(html, "<td>1.50× [1.00–2.00×]</td>") {
		t.Errorf("index.html lacks the figure or the ratio cell")
	}
}

// TestBenchRatioDirection: the ratio is the project's speed over PyTorch's, PyTorch's seconds ÷ the project's;
// a project twice and a half as fast as PyTorch reads 2.50×, meets the 1.5× goal and its bar runs right of 1×.
func TestBenchRatioDirection(t *testing.T) {
	rec := peerRecord("finetune_frozen", 1, 16, 0.1, 0.25, 1.5)
	delete(rec.Metrics, "ratio") // computed from the two times, not copied
	s := summarizePeer(benchGroups([]results.Record{rec})[0])
	if math.Abs(s.Ratio-2.5) > 1e-12 || !s.Met() {
		t.Fatalf("ratio %v (met %v), want 2.5 (met)", s.Ratio, s.Met())
	}
	idx, err := Render([]results.Record{rec}, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	row := tableRow(t, tableByName(t, idx, "speed-vs-pytorch"), "finetune_frozen")
	if row["ratio [min–max]"] != "2.50× [2.50–2.50×]" || row["goal met"] != "met" {
		t.Errorf("row %v, want ratio 2.50× and the goal met", row)
	}
	// A slower project: below 1× and the goal not met.
	slow := peerRecord("infer_b32", 1, 32, 0.4, 0.1, 1)
	s = summarizePeer(benchGroups([]results.Record{slow})[0])
	if math.Abs(s.Ratio-0.25) > 1e-12 || s.Met() {
		t.Fatalf("slow project: ratio %v (met %v), want 0.25 (not met)", s.Ratio, s.Met())
	}
	// A round whose ratio the bench recorded as NaN (the two measured different batches) is left out.
	bad := peerRecord("infer_b32", 2, 32, 0.4, 0.1, 1)
	bad.Metrics["ratio"] = math.NaN()
	if s := summarizePeer(benchGroups([]results.Record{slow, bad})[0]); s.Rounds != 1 {
		t.Errorf("rounds %d, want 1 (the NaN round left out)", s.Rounds)
	}
}

// TestBenchRatioAxis: linear from 0 while the ratios span at most 10×, logarithmic beyond; the axis holds every
// ratio, goal and 1×.
func TestBenchRatioAxis(t *testing.T) {
	sum := func(lo, hi, goal float64) peerSummary {
		return peerSummary{Rounds: 2, Ratio: (lo + hi) / 2, RatioMin: lo, RatioMax: hi, Goal: goal}
	}
	xmin, xmax, log := ratioAxis([]peerSummary{sum(0.4, 0.7, 1.5), sum(0.42, 0.47, 1)})
	if log || xmin != 0 || xmax < 1.5 {
		t.Errorf("narrow ratios: axis %v–%v log %v, want linear from 0 past the 1.5× goal", xmin, xmax, log)
	}
	xmin, xmax, log = ratioAxis([]peerSummary{sum(0.05, 0.06, 1.5), sum(2, 3, 1)})
	if !log || xmin > 0.05 || xmax < 3 {
		t.Errorf("ratios over 60×: axis %v–%v log %v, want a log axis holding 0.05–3", xmin, xmax, log)
	}
	for _, tk := range logRatioTicks(0.01, 10) {
		if tk.Value == 1 && tk.Label != "1×" {
			t.Errorf("log tick at 1 labelled %q", tk.Label)
		}
	}
	// Drawing a log-axis figure works.
	fig, _, missing := ratioFigure([]peerSummary{{benchGroup: &benchGroup{Kind: "a"}, Rounds: 2, Ratio: 0.05, RatioMin: 0.05,
		RatioMax: 0.06, Goal: 1}, {benchGroup: &benchGroup{Kind: "b"}, Rounds: 1, Ratio: 3, RatioMin: 3, RatioMax: 3, Goal: math.NaN()}}, "t")
	if missing != "" {
		t.Fatal(missing)
	}
	if err := fig.save(t.TempDir(), "log"); err != nil {
		t.Fatal(err)
	}
}

// TestBenchLocalPage: records without a peer give the throughput table (medians over repeated measurements),
// no figure, and no speed comparison.
func TestBenchLocalPage(t *testing.T) {
	var recs []results.Record
	for i, s := range []float64{0.03, 0.01, 0.02} {
		r := peerRecord("infer_b128", 0, 128, s, 0, 1)
		r.RunID, r.Experiment = fmt.Sprintf("local%d", i), "bench"
		for _, k := range []string{"peer_step_s", "peer_mean_step_s", "peer_ex_per_s", "ratio"} {
			delete(r.Metrics, k)
		}
		for _, k := range []string{"round", "torch_version", "torch_threads"} {
			delete(r.Params, k)
		}
		r.Metrics["gflops"] = float64(i + 1)
		r.Extra["gemm_gflops"] = 10
		r.Extra["over_gemm"] = float64(i+1) / 10
		recs = append(recs, r)
	}
	out := t.TempDir()
	idx, err := Render(recs, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Title != "Step throughput on the CPU" || len(idx.Figures) != 0 {
		t.Errorf("title %q, %d figures", idx.Title, len(idx.Figures))
	}
	row := tableRow(t, tableByName(t, idx, "throughput"), "infer_b128")
	for col, want := range map[string]string{"measurements": "3", "s/step": "0.0200", "ex/s": "6,400", "GFLOP/s": "2.00",
		"÷ GEMM": "0.20", "backend": "go:test", "GOMAXPROCS": "2"} {
		if row[col] != want {
			t.Errorf("%s = %q, want %q", col, row[col], want)
		}
	}
	md := readFile(t, filepath.Join(out, "index.md"))
	if strings.Contains(md, "## Figures") || strings.Contains(md, "PyTorch") {
		t.Errorf("index.md of a bench without a peer:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(out, "throughput.csv")); err != nil {
		t.Error(err)
	}
}

// TestBenchPageOnlyForBenchRecords: a results folder that mixes bench records with other runs keeps the
// experiment page.
func TestBenchPageOnlyForBenchRecords(t *testing.T) {
	if isBenchRecords(append(peerFixture(), fixtureRecords()[0])) {
		t.Error("a mixed folder read as bench records")
	}
	if !isBenchRecords(peerFixture()) {
		t.Error("bench records not recognised")
	}
}
