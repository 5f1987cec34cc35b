package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

// TestReportCommand writes a small experiment with the results writer, renders it with "report" and checks
// that the five paper figures are drawn (no placeholder) and linked from index.html, that the page shows the
// embedded spec's description (no spec.toml beside the results) and the provenance line, and that index.md
// holds the tables.
func TestReportCommand(t *testing.T) {
	expDir := filepath.Join(t.TempDir(), "results", "smoke")
	n := 0
	write := func(task, name, label string, params map[string]any, tags map[string]string, extra map[string]float64, acc float64, costs []method.Cost) {
		n++
		rec := &results.Record{RunID: fmt.Sprintf("run%02d", n), Experiment: "smoke", Task: task, Method: name, Label: label,
			Seed: 1, Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 64, Epochs: 1, LearningRate: 2e-3,
			Params: params, Metrics: map[string]float64{"accuracy": acc}, Extra: extra, Tags: tags,
			Epsilon: math.NaN(), Delta: math.NaN(), Start: time.Unix(0, 0).UTC(), Costs: costs}
		if err := results.Write(expDir, rec); err != nil {
			t.Fatal(err)
		}
	}
	tune := method.Cost{Phase: method.PhasePrivateTuning, CloudSeconds: 3, Units: 1, UnitName: "epochs"}
	infer := method.Cost{Phase: method.PhasePrivateInference, CloudSeconds: 0.2, Units: 64, UnitName: "examples"}
	for _, task := range []string{"sst2", "qqp"} {
		for _, table := range []string{"trainable", "frozen"} {
			write(task, "plaintext", "plaintext", map[string]any{"table": table}, map[string]string{"table": table}, nil, 0.6,
				[]method.Cost{tune, infer})
		}
		for _, sigma := range []float64{0.5, 1} {
			write(task, "cyphertalk", "CypherTalk", map[string]any{"ops": fmt.Sprintf("gaussian:sigma=%g", sigma)},
				map[string]string{"operator": "gaussian", "operator_param": "sigma", "recovery": "none"},
				map[string]float64{"operator_value": sigma}, 0.6-0.05*sigma,
				[]method.Cost{{Phase: method.PhaseShaking, ClientSeconds: 0.4}, tune, infer})
		}
	}
	outDir := filepath.Join(t.TempDir(), "report")
	cmd := newReportCmd(&globals{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{expDir, "-o", outDir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	html, err := os.ReadFile(filepath.Join(outDir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fig := range []string{"time-preprocessing", "time-private-tuning", "time-private-inference", "opts2", "opts2-qqp"} {
		if !strings.Contains(out.String(), fig) || strings.Contains(out.String(), fig+" placeholder") {
			t.Errorf("%s not drawn:\n%s", fig, out.String())
		}
		for _, ext := range []string{".png", ".svg"} {
			if _, err := os.Stat(filepath.Join(outDir, fig+ext)); err != nil {
				t.Error(err)
			}
		}
		if !strings.Contains(string(html), fig+".png") {
			t.Errorf("index.html does not show %s", fig)
		}
	}
	if strings.Contains(out.String(), "placeholder") {
		t.Errorf("placeholders in:\n%s", out.String())
	}
	embedded := "every method, both tasks, nano model, tiny data: does the whole pipeline run?"
	provenance := "Produced from 8 runs in " + filepath.ToSlash(filepath.Clean(expDir)) + "; git commit: not recorded (8 runs)."
	for _, want := range []string{embedded, provenance} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	md, err := os.ReadFile(filepath.Join(outDir, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{embedded, provenance, "| task | method | variant | seeds | accuracy |", "](opts2-qqp.png)", "summary.csv"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
	if !strings.Contains(out.String(), "8 runs") {
		t.Errorf("output %q does not count 8 runs", out.String())
	}

	cmd = newReportCmd(&globals{})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{filepath.Join(t.TempDir(), "nothing-here")})
	if err := cmd.Execute(); err == nil {
		t.Error("report of a missing directory should fail")
	}
}

// TestReportDescriptionAndDefaultOut: the description comes from RESULTS_DIR/spec.toml when the runner wrote
// one (before the embedded spec of the same name), a broken spec.toml is an error naming it, and without -o the
// report goes to out/<experiment>, outside the Go package folders.
func TestReportDescriptionAndDefaultOut(t *testing.T) {
	root := t.TempDir()
	expDir := filepath.Join(root, "results", "smoke")
	rec := &results.Record{RunID: "run01", Experiment: "smoke", Task: "mrpc", Method: "plaintext", Seed: 1, Preset: "nano",
		Pretrain: "none", Params: map[string]any{}, Metrics: map[string]float64{"accuracy": 0.7}, Epsilon: math.NaN(),
		Delta: math.NaN(), Start: time.Unix(0, 0).UTC(), GitCommit: "abcdef0123456789",
		Costs: []method.Cost{{Phase: method.PhasePrivateInference, CloudSeconds: 0.2, Units: 64, UnitName: "examples"}}}
	if err := results.Write(expDir, rec); err != nil {
		t.Fatal(err)
	}
	spec := "experiment = \"smoke\"\ndescription = \"the copy beside the results\"\nunknown_key = 3\n"
	if err := os.WriteFile(filepath.Join(expDir, "spec.toml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	run := func() (string, error) {
		cmd := newReportCmd(&globals{})
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{filepath.Join("results", "smoke")})
		err := cmd.Execute()
		return out.String(), err
	}
	if out, err := run(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	html, err := os.ReadFile(filepath.Join(root, "out", "smoke", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"the copy beside the results", "Produced from 1 run in results/smoke; git commit: abcdef012345 (1 run).", "MRPC"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("out/smoke/index.html lacks %q", want)
		}
	}
	if strings.Contains(string(html), "does the whole pipeline run") {
		t.Error("the embedded description was used although spec.toml is there")
	}
	if err := os.WriteFile(filepath.Join(expDir, "spec.toml"), []byte("description = \"unterminated\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(); err == nil || !strings.Contains(err.Error(), "spec.toml") {
		t.Errorf("a broken spec.toml gave %v, want an error naming it", err)
	}
}

// TestReportCommittedMeasurements renders the committed records of an experiment as the result pages are made
// (cyphertalk report measurements/<exp> -o docs/results/<exp>).
func TestReportCommittedMeasurements(t *testing.T) {
	dir := filepath.Join("..", "..", "measurements", "dp")
	if _, err := os.Stat(filepath.Join(dir, "runs")); err != nil {
		t.Skipf("no committed measurements: %v", err)
	}
	outDir := filepath.Join(t.TempDir(), "docs", "results", "dp")
	cmd := newReportCmd(&globals{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{dir, "-o", outDir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	md, err := os.ReadFile(filepath.Join(outDir, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Produced from ", " runs in ../../measurements/dp", "| task | method |", "| SST-2 |", "time-private-tuning.png"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
	for _, f := range []string{"index.html", "summary.csv", "time-private-tuning.png", "time-private-tuning.svg"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestReportBenchPeer writes a peer comparison's records with the bench's record builder, reads them back
// through the results layout and renders them: the page is the speed comparison with PyTorch, its table holds
// the median over rounds of PyTorch's seconds ÷ the project's, and the figure is drawn.
func TestReportBenchPeer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), benchPeerExperiment)
	prov := experiments.Provenance{Backend: backend.DefaultConfig, GoVersion: "go1.26", GitCommit: "feedc0de12345678", Host: "h"}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// Project seconds per step over three rounds against PyTorch's 0.09 s: ratios 1.8, 1.5 and 0.9.
	for round, s := range []float64{0.05, 0.06, 0.10} {
		m := bench.Measurement{Kind: bench.FinetuneFrozen, Preset: "tiny", Backend: backend.DefaultConfig, Params: 422018, Batch: 32,
			Steps: 5, StepSeconds: s, MeanStepSeconds: s, ExPerSec: 32 / s, GFLOPS: 3.5}
		peer := bench.PeerResult{Kind: bench.FinetuneFrozen, Batch: 32, Steps: 5, StepSeconds: 0.09, MeanStepSeconds: 0.09,
			ExPerSec: 32 / 0.09, Params: 422018, Threads: 2}
		e := benchEntry{M: m, Round: round + 1, Peer: &peer, PeerInfo: &bench.PeerInfo{Torch: "2.3.0", Threads: 2}, Ratio: bench.Ratio(m, peer)}
		if err := results.Write(dir, benchRecord(benchPeerExperiment, e, start, time.Second, prov)); err != nil {
			t.Fatal(err)
		}
	}
	outDir := filepath.Join(t.TempDir(), "report")
	cmd := newReportCmd(&globals{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{dir, "-o", outDir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "speed-vs-pytorch         drawn") {
		t.Errorf("output does not list the drawn speed figure:\n%s", out.String())
	}
	md, err := os.ReadFile(filepath.Join(outDir, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Speed against PyTorch on the same CPU", "| finetune_frozen | tiny | 3 | 0.0600 | 0.0900 |",
		"| 1.50× [0.90–1.80×] | ≥ 1.5× | met | 2.3.0 | 2 |", "git commit: feedc0de1234 (3 runs)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("index.md lacks %q:\n%s", want, md)
		}
	}
	for _, f := range []string{"speed-vs-pytorch.png", "speed-vs-pytorch.svg", "speed-vs-pytorch.csv", "index.html"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Error(err)
		}
	}
}
