package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
)

func TestBenchWritesRecords(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		out, err := run(t, "bench", "--presets", "nano", "--configs", backend.DefaultConfig, "--steps", "1", "--gemm", "64", "--results", dir)
		if err != nil {
			t.Fatal(err, out)
		}
		if !strings.Contains(out, "records: "+filepath.Join(dir, "bench")) {
			t.Fatalf("output does not name the records:\n%s", out)
		}
	}
	recs, err := results.ReadExperiment(filepath.Join(dir, "bench"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].RunID == recs[1].RunID {
		t.Fatalf("two benchmarks wrote %d records (want 2, distinct ids)", len(recs))
	}
	for _, r := range recs {
		if r.Method != "bench" || r.Preset != "nano" || r.Tags["backend"] != backend.DefaultConfig || r.GitCommit == "" {
			t.Errorf("record %+v lacks its identity or provenance", r)
		}
		if !(r.Metrics["train_ex_per_s"] > 0) || !(r.Metrics["infer_ex_per_s"] > 0) || !(r.Extra["gemm_gflops"] > 0) {
			t.Errorf("record %s: metrics %v extra %v", r.RunID, r.Metrics, r.Extra)
		}
		if got, want := r.Extra["train_over_gemm"], r.Metrics["train_gflops"]/r.Extra["gemm_gflops"]; got != want {
			t.Errorf("train_over_gemm %v, want %v", got, want)
		}
	}
}
