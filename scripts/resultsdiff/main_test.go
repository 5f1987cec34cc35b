package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

func record(id string) results.Record {
	return results.Record{
		RunID: id, Experiment: "e", Task: "sst2", Method: "plaintext", Seed: 1, Preset: "nano", Pretrain: "none",
		MaxTrain: 64, MaxEval: 64, Epochs: 1, LearningRate: 2e-3, Params: map[string]any{"table": "frozen"},
		Metrics: map[string]float64{"accuracy": 0.5}, Extra: map[string]float64{"s_e": 3, "tuning_seconds_per_epoch": 1.5},
		Tags: map[string]string{"table": "frozen"}, Epsilon: math.NaN(), Delta: math.NaN(), TrainExamples: 64,
		EvalExamples: 64, Backend: "go", GoVersion: "go1.26", GitCommit: "abc", Host: "a", Start: time.Unix(1, 0),
		Duration: time.Second, Costs: []method.Cost{{Phase: "private-tuning", CloudSeconds: 1, BytesToCloud: 10, Note: "took 1 s"}},
		Curve:   []method.CurvePoint{{Phase: "tuning", Step: 1, Loss: 0.7}},
		Attacks: []method.AttackResult{{Attack: "nn-cosine", Top1: 0.1, Tokens: 5}},
	}
}

func TestTimingAndProvenanceMayDiffer(t *testing.T) {
	a, b := record("r1"), record("r1")
	b.Host, b.GitCommit, b.Start, b.Duration = "b", "def", time.Unix(99, 0), time.Hour
	b.Costs = []method.Cost{{Phase: "private-tuning", CloudSeconds: 7, BytesToCloud: 10, Note: "took 7 s"}}
	b.Extra = map[string]float64{"s_e": 3, "tuning_seconds_per_epoch": 9}
	if d := compare([]results.Record{a}, []results.Record{b}, 0); len(d) != 0 {
		t.Errorf("timing-only differences reported: %v", d)
	}
}

func TestResultDifferencesAreReported(t *testing.T) {
	for name, change := range map[string]func(r *results.Record){
		"metric":       func(r *results.Record) { r.Metrics["accuracy"] = 0.51 },
		"extra":        func(r *results.Record) { r.Extra["s_e"] = 4 },
		"param":        func(r *results.Record) { r.Params["table"] = "trainable" },
		"curve":        func(r *results.Record) { r.Curve[0].Loss = 0.8 },
		"attack":       func(r *results.Record) { r.Attacks[0].Top1 = 0.2 },
		"bytes":        func(r *results.Record) { r.Costs[0].BytesToCloud = 11 },
		"epsilon":      func(r *results.Record) { r.Epsilon = 8 },
		"tag":          func(r *results.Record) { r.Tags["table"] = "trainable" },
		"missing key":  func(r *results.Record) { delete(r.Metrics, "accuracy") },
		"train counts": func(r *results.Record) { r.TrainExamples = 63 },
	} {
		a, b := record("r1"), record("r1")
		change(&b)
		if d := compare([]results.Record{a}, []results.Record{b}, 0); len(d) != 1 {
			t.Errorf("%s: differences %v, want one", name, d)
		}
	}
	d := compare([]results.Record{record("r1"), record("r2")}, []results.Record{record("r1"), record("r3")}, 0)
	if len(d) != 2 || !strings.Contains(d[0], "r2: only in the first") || !strings.Contains(d[1], "r3: only in the second") {
		t.Errorf("run sets: %v", d)
	}
	a, b := record("r1"), record("r1")
	b.Metrics["accuracy"] = 0.5 * (1 + 1e-12)
	if d := compare([]results.Record{a}, []results.Record{b}, 1e-9); len(d) != 0 {
		t.Errorf("within -tol: %v", d)
	}
	if d := compare([]results.Record{a}, []results.Record{b}, 0); len(d) != 1 {
		t.Errorf("exact comparison: %v", d)
	}
}

func TestTimingKey(t *testing.T) {
	for k, want := range map[string]bool{
		"time_private_tuning_s": true, "distill_seconds": true, "inference_seconds_per_example_lan": true,
		"cloud_ms": true, "elapsed": true, "s_e": false, "accuracy": false, "sampling_rate": false,
		"inference_rounds_per_example": false, "tuning_bytes_per_epoch": false,
	} {
		if timingKey(k) != want {
			t.Errorf("timingKey(%q) = %v", k, !want)
		}
	}
}

func TestCommandOnDirectories(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "e"), filepath.Join(dir, "b", "e")
	for _, d := range []string{a, b} {
		if err := results.Write(d, ptr(record("r1"))); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if rc := run([]string{a, b}, &out, &errOut); rc != 0 || !strings.Contains(out.String(), "agree: 1 runs") {
		t.Errorf("rc %d\n%s%s", rc, out.String(), errOut.String())
	}
	changed := record("r1")
	changed.Metrics["accuracy"] = 0.9
	if err := results.Write(b, &changed); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if rc := run([]string{a, b}, &out, &errOut); rc != 1 || !strings.Contains(out.String(), "metric accuracy: 0.5 != 0.9") {
		t.Errorf("rc %d\n%s", rc, out.String())
	}
	if rc := run([]string{a}, &out, &errOut); rc != 2 {
		t.Errorf("one directory: rc %d", rc)
	}
	if rc := run([]string{a, filepath.Join(dir, "missing")}, &out, &errOut); rc != 2 {
		t.Errorf("missing directory: rc %d", rc)
	}
}

func ptr(r results.Record) *results.Record { return &r }

func TestUnreadableRunIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "e")
	if err := results.Write(dir, ptr(record("r1"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runs", "r2.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if rc := run([]string{dir, dir}, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), dir) {
		t.Errorf("rc %d: %s%s", rc, out.String(), errOut.String())
	}
}

func TestCryptoNoiseNeedOnlyStayWithinTolerance(t *testing.T) {
	a, b := record("r1"), record("r1")
	a.Extra["logit_tolerance"], b.Extra["logit_tolerance"] = 0.05, 0.05
	a.Extra["logits_max_abs_diff"], b.Extra["logits_max_abs_diff"] = 9.7e-8, 6.9e-8
	if d := compare([]results.Record{a}, []results.Record{b}, 0); len(d) != 0 {
		t.Errorf("fresh crypto randomness reported: %v", d)
	}
	b.Extra["logits_max_abs_diff"] = 0.2
	if d := compare([]results.Record{a}, []results.Record{b}, 0); len(d) != 1 || !strings.Contains(d[0], "above the tolerance") {
		t.Errorf("error above tolerance: %v", d)
	}
	delete(b.Extra, "logits_max_abs_diff")
	if d := compare([]results.Record{a}, []results.Record{b}, 0); len(d) != 1 || !strings.Contains(d[0], "present in only one") {
		t.Errorf("missing error figure: %v", d)
	}
}
