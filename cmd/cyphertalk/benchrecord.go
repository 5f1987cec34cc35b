package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

// The experiment names bench records are written under: <results>/bench/runs/<id>.parquet for `cyphertalk
// bench`, <results>/bench-peer/runs/<id>.parquet for the comparison with the PyTorch peer (`make bench-peer`).
const (
	benchExperiment     = "bench"
	benchPeerExperiment = "bench-peer"
)

// benchEntry is one measured kind: the project's measurement, the GEMM reference (0 where not measured) and, in
// a peer comparison, its round, the peer's measurement of the same kind and the ratio.
type benchEntry struct {
	M        bench.Measurement
	GEMM     float64
	Round    int
	Peer     *bench.PeerResult
	PeerInfo *bench.PeerInfo
	Ratio    float64
}

// benchRecord is one bench measurement as a run record of the results layout, so that a quoted throughput has a
// record behind it (git commit, host, backend) and `cyphertalk report` and DuckDB read it like any run. Each
// measurement is a new record: its id hashes the configuration, the round and the start time, so repeated
// benchmarks keep their history side by side.
//
// Metrics: step_s (median seconds per step), mean_step_s, ex_per_s, gflops; with a peer also peer_step_s,
// peer_mean_step_s, peer_ex_per_s and ratio (peer seconds ÷ project seconds: above 1 the project is faster).
// Params: kind, backend, steps, batch, gomaxprocs; with a peer also round, torch_version, torch_threads.
func benchRecord(experiment string, e benchEntry, start time.Time, dur time.Duration, prov experiments.Provenance) *results.Record {
	r := e.M
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x1f%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%d", experiment, r.Preset, r.Backend, r.Kind,
		r.Steps, e.Round, start.UnixNano()))
	res := method.NewResult()
	rec := &results.Record{
		RunID: hex.EncodeToString(sum[:8]), Experiment: experiment, Task: "none", Method: "bench",
		Label: string(r.Kind), Preset: r.Preset, Pretrain: "none",
		Params: map[string]any{"backend": r.Backend, "kind": string(r.Kind), "steps": int64(r.Steps),
			"batch": int64(r.Batch), "gomaxprocs": int64(runtime.GOMAXPROCS(0))},
		Metrics: map[string]float64{
			"step_s":      r.StepSeconds,
			"mean_step_s": r.MeanStepSeconds,
			"ex_per_s":    r.ExPerSec,
			"gflops":      r.GFLOPS,
		},
		Extra:   map[string]float64{"params": float64(r.Params), "goal": bench.Goal(r.Kind)},
		Tags:    map[string]string{"backend": r.Backend, "kind": string(r.Kind)},
		Epsilon: res.Epsilon, Delta: res.Delta,
		Backend: r.Backend, GoVersion: prov.GoVersion, GitCommit: prov.GitCommit, GitDirty: prov.GitDirty, Host: prov.Host,
		Start: start.UTC(), Duration: dur,
	}
	if e.GEMM > 0 {
		rec.Extra["gemm_gflops"] = e.GEMM
		rec.Extra["over_gemm"] = ratio(r.GFLOPS, e.GEMM)
	}
	if e.Peer != nil {
		rec.Params["round"] = int64(e.Round)
		rec.Metrics["peer_step_s"] = e.Peer.StepSeconds
		rec.Metrics["peer_mean_step_s"] = e.Peer.MeanStepSeconds
		rec.Metrics["peer_ex_per_s"] = e.Peer.ExPerSec
		rec.Metrics["ratio"] = e.Ratio
		rec.Extra["peer_params"] = float64(e.Peer.Params)
		rec.Tags["peer"] = "pytorch"
		if e.PeerInfo != nil {
			rec.Params["torch_version"] = e.PeerInfo.Torch
			rec.Params["torch_threads"] = int64(e.PeerInfo.Threads)
		}
	}
	return rec
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
