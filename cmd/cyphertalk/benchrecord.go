package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

// benchExperiment is the experiment name bench records are written under: <results>/bench/runs/<id>.parquet.
const benchExperiment = "bench"

// benchRecord is one bench measurement as a run record of the results layout, so that a quoted throughput has a
// record behind it (git commit, host, backend) and `cyphertalk report` and DuckDB read it like any run. Each
// measurement is a new record: its id hashes the configuration and the start time, so repeated benchmarks keep
// their history side by side.
func benchRecord(r bench.Row, gemm float64, steps int, start time.Time, dur time.Duration, prov experiments.Provenance) *results.Record {
	sum := sha256.Sum256(fmt.Appendf(nil, "bench\x1f%s\x1f%s\x1f%d\x1f%d", r.Preset, r.Backend, steps, start.UnixNano()))
	res := method.NewResult()
	return &results.Record{
		RunID: hex.EncodeToString(sum[:8]), Experiment: benchExperiment, Task: "none", Method: "bench",
		Label: r.Backend, Preset: r.Preset, Pretrain: "none",
		Params: map[string]any{"backend": r.Backend, "steps": int64(steps)},
		Metrics: map[string]float64{
			"train_step_s":   r.TrainStepSeconds,
			"train_ex_per_s": r.TrainExPerSec,
			"infer_ex_per_s": r.InferExPerSec,
			"train_gflops":   r.TrainGFLOPS,
			"infer_gflops":   r.InferGFLOPS,
		},
		Extra: map[string]float64{
			"params":          float64(r.Params),
			"gemm_gflops":     gemm,
			"train_over_gemm": ratio(r.TrainGFLOPS, gemm),
			"infer_over_gemm": ratio(r.InferGFLOPS, gemm),
		},
		Tags:    map[string]string{"backend": r.Backend},
		Epsilon: res.Epsilon, Delta: res.Delta,
		Backend: r.Backend, GoVersion: prov.GoVersion, GitCommit: prov.GitCommit, GitDirty: prov.GitDirty, Host: prov.Host,
		Start: start.UTC(), Duration: dur,
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
