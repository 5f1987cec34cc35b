package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

func TestBenchWritesRecords(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		out, err := run(t, "bench", "--presets", "nano", "--configs", backend.DefaultConfig, "--kinds", "finetune_frozen,infer_b128",
			"--steps", "1", "--gemm", "64", "--results", dir)
		if err != nil {
			t.Fatal(err, out)
		}
		if !strings.Contains(out, "records: "+filepath.Join(dir, "bench")) || !strings.Contains(out, "infer_b128") {
			t.Fatalf("output does not name the records or the kinds:\n%s", out)
		}
	}
	recs, err := results.ReadExperiment(filepath.Join(dir, "bench"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("two benchmarks of two kinds wrote %d records, want 4", len(recs))
	}
	ids := map[string]bool{}
	kinds := map[string]int{}
	for _, r := range recs {
		ids[r.RunID] = true
		kinds[r.Params["kind"].(string)]++
		if r.Method != "bench" || r.Preset != "nano" || r.Tags["backend"] != backend.DefaultConfig || r.GitCommit == "" {
			t.Errorf("record %+v lacks its identity or provenance", r)
		}
		if !(r.Metrics["step_s"] > 0) || !(r.Metrics["ex_per_s"] > 0) || !(r.Extra["gemm_gflops"] > 0) {
			t.Errorf("record %s: metrics %v extra %v", r.RunID, r.Metrics, r.Extra)
		}
		if got, want := r.Extra["over_gemm"], r.Metrics["gflops"]/r.Extra["gemm_gflops"]; got != want {
			t.Errorf("over_gemm %v, want %v", got, want)
		}
		if _, has := r.Metrics["ratio"]; has {
			t.Errorf("a plain bench record carries a peer ratio: %v", r.Metrics)
		}
	}
	if len(ids) != 4 || kinds["finetune_frozen"] != 2 || kinds["infer_b128"] != 2 {
		t.Fatalf("records: %d distinct ids, kinds %v", len(ids), kinds)
	}
	if _, err := run(t, "bench", "--presets", "nano", "--kinds", "finetune"); err == nil || !strings.Contains(err.Error(), `unknown bench kind "finetune"`) {
		t.Fatalf("unknown kind: %v", err)
	}
}

// TestBenchRecordRoundTrip writes a peer comparison's record and reads it back through the results layout.
func TestBenchRecordRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), benchPeerExperiment)
	m := bench.Measurement{Kind: bench.FinetuneFrozen, Preset: "tiny", Backend: backend.DefaultConfig, Params: 422018, Batch: 32,
		Steps: 5, StepSeconds: 0.05, MeanStepSeconds: 0.055, ExPerSec: 640, GFLOPS: 3.5}
	peer := bench.PeerResult{Kind: bench.FinetuneFrozen, Batch: 32, Steps: 5, StepSeconds: 0.08, MeanStepSeconds: 0.09, ExPerSec: 400,
		Params: 422018, Threads: 2}
	info := bench.PeerInfo{Torch: "1.13.0a0", Threads: 2}
	prov := experiments.Provenance{Backend: backend.DefaultConfig, GoVersion: "go1.26", GitCommit: "0123abcd", GitDirty: true, Host: "h"}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	e := benchEntry{M: m, Round: 3, Peer: &peer, PeerInfo: &info, Ratio: bench.Ratio(m, peer)}
	if err := results.Write(dir, benchRecord(benchPeerExperiment, e, start, 7*time.Second, prov)); err != nil {
		t.Fatal(err)
	}
	e.Round = 4 // another round at the same start is another record
	if err := results.Write(dir, benchRecord(benchPeerExperiment, e, start, 7*time.Second, prov)); err != nil {
		t.Fatal(err)
	}
	recs, err := results.ReadExperiment(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if r.Params["round"] != int64(3) {
		r = recs[1]
	}
	want := map[string]float64{"step_s": 0.05, "mean_step_s": 0.055, "ex_per_s": 640, "gflops": 3.5, "peer_step_s": 0.08,
		"peer_mean_step_s": 0.09, "peer_ex_per_s": 400, "ratio": 1.6}
	for k, v := range want {
		if got := r.Metrics[k]; got < v*(1-1e-12) || got > v*(1+1e-12) {
			t.Errorf("metric %s = %v, want %v", k, got, v)
		}
	}
	if r.Experiment != benchPeerExperiment || r.Label != "finetune_frozen" || r.Params["kind"] != "finetune_frozen" ||
		r.Params["torch_version"] != "1.13.0a0" || r.Params["torch_threads"] != int64(2) || r.Params["round"] != int64(3) ||
		r.Params["steps"] != int64(5) || r.Params["batch"] != int64(32) || r.Tags["peer"] != "pytorch" {
		t.Errorf("record identity: %+v", r)
	}
	if r.GitCommit != "0123abcd" || !r.GitDirty || r.Extra["goal"] != 1.5 || r.Extra["params"] != 422018 || r.Duration != 7*time.Second {
		t.Errorf("record provenance or extras: commit %q dirty %v extra %v duration %v", r.GitCommit, r.GitDirty, r.Extra, r.Duration)
	}
}

func TestBenchPeerNeedsTorch(t *testing.T) {
	out, err := run(t, "bench", "--presets", "nano", "--configs", backend.DefaultConfig, "--peer", "../../scripts/peer/bench.py",
		"--python", "/nonexistent/python3")
	if err == nil || !strings.Contains(err.Error(), "apt-get install python3-torch") {
		t.Fatalf("no torch: error %v (output %s), want what to install", err, out)
	}
	if _, err := run(t, "bench", "--presets", "nano,tiny", "--peer", "x.py"); err == nil || !strings.Contains(err.Error(), "one preset") {
		t.Fatalf("two presets with a peer: %v", err)
	}
}

// TestBenchPeerNano alternates with the PyTorch peer on nano for two rounds where torch is importable (skips
// otherwise, as on CI): records per kind and round, and the summary lines last.
func TestBenchPeerNano(t *testing.T) {
	if _, err := bench.FindPython(bench.PythonCandidates); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	out, err := run(t, "bench", "--presets", "nano", "--configs", backend.DefaultConfig, "--kinds", "finetune_frozen,infer_b32,pretrain",
		"--steps", "1", "--rounds", "2", "--peer", "../../scripts/peer/bench.py", "--peer-threads", "1", "--results", dir)
	if err != nil {
		t.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-3:]
	if !strings.HasPrefix(last[0], "finetune_frozen") || !strings.Contains(last[0], "over 2 rounds") || !strings.Contains(last[0], "goal ≥ 1.5×") ||
		!strings.HasPrefix(last[1], "infer_b32") || !strings.Contains(last[1], "goal ≥ 1.0×") || !strings.HasPrefix(last[2], "pretrain") {
		t.Fatalf("last lines are not the per-kind summary:\n%s", out)
	}
	recs, err := results.ReadExperiment(filepath.Join(dir, benchPeerExperiment))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 {
		t.Fatalf("%d records, want 3 kinds × 2 rounds", len(recs))
	}
	for _, r := range recs {
		// both sides built the same model: the same trainable values in every kind
		if r.Extra["params"] != r.Extra["peer_params"] {
			t.Errorf("%s: the project trains %v values, the peer %v", r.Label, r.Extra["params"], r.Extra["peer_params"])
		}
		if !(r.Metrics["ratio"] > 0) || !(r.Metrics["peer_step_s"] > 0) || r.Params["torch_threads"] != int64(1) || r.Params["torch_version"] == "" {
			t.Errorf("peer record %v / %v", r.Metrics, r.Params)
		}
	}
}
