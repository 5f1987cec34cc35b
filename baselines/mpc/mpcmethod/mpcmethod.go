// Package mpcmethod owns the mpc-2pc method of the experiment runner (docs/design.md §5): the crypto-friendly variant
// of the run's model (baselines/cryptorun: teacher fine-tuning, MPCFormer distillation, dev-set accuracy in the
// clear) evaluated by the two-party engine of baselines/mpc (additive shares over Z_2^64, a trusted dealer's
// correlated randomness, the client and the cloud talking over loopback TCP).
//
// What it measures, phase by phase:
//
//   - preprocessing: the distillation (in the clear; see cryptorun.Variant.Record).
//   - private-inference: inference_examples dev examples (stratified by length) run through the real protocol;
//     each one's revealed logits are checked against the reference engine on the same weights (max |diff| in
//     extra_logits_max_abs_diff; a difference above logit_tolerance fails the run). Seconds by party, bytes each
//     way and rounds (message latencies on the critical path) are extrapolated by length bucket to the whole dev
//     set (Extrapolated, MeasuredUnits = the sample); extra_inference_seconds_per_example is loopback as measured,
//     _lan and _wan the network model's estimates (mpc.Network).
//   - offline: the dealer's correlated randomness (Beaver triples, truncation pairs) and the session set-up, in two
//     records: one for the dev set's inference and one for one epoch of private tuning, both extrapolated.
//   - private-tuning, per epoch, extrapolated: tuning_steps real SGD steps of the classifier on shares
//     (mpc.Head.TrainStep: the variant's pooler and task head composed into one affine map, softmax
//     cross-entropy, batch = the preset's), plus one private encoder forward pass per training example (its
//     per-bucket cost from the inference sample). There is no backward pass of the encoder on shares
//     (baselines/mpc trains a head only), so the figure is the cost of tuning the head on a frozen encoder — a
//     lower bound for full fine-tuning; extra_tuning_seconds_per_epoch_full_model_estimate adds a backward pass
//     at twice the forward's cost (the usual FLOP ratio of back-propagation), a stated assumption, not a
//     measurement.
//
// Timing on a shared machine: the wall seconds include waiting for a core; extra_*_cpu_seconds_* are the
// process's CPU time over the same work (all parties and the dealer together).
package mpcmethod

import (
	stdctx "context"
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptorun"
	"github.com/cyphertalk/cyphertalk-go/baselines/mpc"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Name is the method's registry name.
const Name = "mpc-2pc"

func init() { method.Register(Method()) }

// Config is the method's parameters.
type Config struct {
	// InferenceExamples dev examples run through the protocol (the rest is extrapolated).
	InferenceExamples int `param:"inference_examples"`
	// TuningSteps real training steps of the head on shares (each on one batch of the preset's size).
	TuningSteps int `param:"tuning_steps"`
	// Table is "frozen" (default: the teacher's token table stays the public one the client embeds with) or
	// "trainable".
	Table string `param:"table"`
	// DistillEpochs of the variant's distillation.
	DistillEpochs int `param:"distill_epochs"`
	// FracBits of the fixed-point encoding (1..28) and Truncation ("dealer" or "local"): see baselines/mpc.
	FracBits   int    `param:"frac_bits"`
	Truncation string `param:"truncation"`
	// LogitTolerance is the largest |private − reference| logit difference accepted.
	LogitTolerance float64 `param:"logit_tolerance"`
}

// DefaultConfig: 8 inference examples, 2 tuning steps, frozen table, the default distillation, 16 fractional
// bits with dealer-assisted truncation, tolerance 0.05 (the fixed-point and Newton errors measured on tiny are
// around 1e-3).
func DefaultConfig() Config {
	return Config{InferenceExamples: 8, TuningSteps: 2, Table: "frozen", DistillEpochs: cryptofriendly.DefaultDistillConfig().Epochs,
		FracBits: mpc.DefaultFracBits, Truncation: mpc.TruncDealer.String(), LogitTolerance: 0.05}
}

// DecodeConfig reads the parameters over DefaultConfig and checks them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := DefaultConfig()
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", Name, err)
	}
	switch {
	case cfg.InferenceExamples < 1:
		return cfg, fmt.Errorf("%s: inference_examples = %d, want ≥ 1", Name, cfg.InferenceExamples)
	case cfg.TuningSteps < 1:
		return cfg, fmt.Errorf("%s: tuning_steps = %d, want ≥ 1", Name, cfg.TuningSteps)
	case cfg.Table != "frozen" && cfg.Table != "trainable":
		return cfg, fmt.Errorf("%s: table = %q, want frozen or trainable", Name, cfg.Table)
	case cfg.DistillEpochs < 1:
		return cfg, fmt.Errorf("%s: distill_epochs = %d, want ≥ 1", Name, cfg.DistillEpochs)
	case cfg.FracBits < 1 || cfg.FracBits > 28:
		return cfg, fmt.Errorf("%s: frac_bits = %d, want 1..28", Name, cfg.FracBits)
	case cfg.Truncation != mpc.TruncDealer.String() && cfg.Truncation != mpc.TruncLocal.String():
		return cfg, fmt.Errorf("%s: truncation = %q, want dealer or local", Name, cfg.Truncation)
	case !(cfg.LogitTolerance > 0) || math.IsInf(cfg.LogitTolerance, 1):
		return cfg, fmt.Errorf("%s: logit_tolerance = %v, want a positive number", Name, cfg.LogitTolerance)
	}
	return cfg, nil
}

func (c Config) truncation() mpc.Truncation {
	if c.Truncation == mpc.TruncLocal.String() {
		return mpc.TruncLocal
	}
	return mpc.TruncDealer
}

// Method is the mpc-2pc method.
func Method() harness.Method[Config] {
	return harness.Method[Config]{MethodName: Name, Decode: DecodeConfig, Protocol: Protocol}
}

// Strata are the length buckets the inference sample is stratified by and extrapolated with: powers of two
// from 16 up to the first one ≥ maxLen (the protocol's cost grows with the number of real tokens).
func Strata(maxLen int) []int {
	out := []int{16}
	for out[len(out)-1] < maxLen {
		out = append(out, 2*out[len(out)-1])
	}
	return out
}

// Protocol runs the mpc-2pc method on a prepared setup: the crypto-friendly variant (cryptorun), then private
// inference on a sample of the dev set and the cost of private tuning.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
	T := s.Public.Preset.MaxLen
	v, opts, err := cryptorun.ForRun(ctx, env, run, s, cfg.Table == "trainable", cfg.DistillEpochs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	res := method.NewResult()
	if err := v.Record(res); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	res.Tags["table"] = cfg.Table
	res.Tags["truncation"] = cfg.Truncation
	res.Tags["security"] = "semi-honest-2pc-trusted-dealer"
	res.Tags["tuning"] = "head-on-shares+encoder-forward"
	res.Extra["frac_bits"] = float64(cfg.FracBits)

	sample, err := v.Sample(cfg.InferenceExamples, Strata(T), run.Seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	eng, err := mpc.New(ctx, mpc.Config{FracBits: uint(cfg.FracBits), Truncation: cfg.truncation(), Logger: env.Log})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	m := &measurement{eng: eng, v: v, sample: sample, cfg: cfg, res: res, setup: eng.Stats()}
	if err := m.inference(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	if err := m.tuning(ctx, opts.FineTune.LearningRate); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	m.costs()
	return res, nil
}

// measurement is one run's measured protocol work.
type measurement struct {
	eng    *mpc.Engine
	v      *cryptorun.Variant
	sample *cryptorun.Sample
	cfg    Config
	res    *method.Result
	setup  mpc.Stats // the session set-up (offline)

	// Per inference example: its online and offline counters and process CPU seconds.
	online, offline []mpc.Counters
	cpu             []float64
	// Per tuning step: the head's online and offline counters and CPU seconds.
	stepOnline, stepOffline []mpc.Counters
	stepCPU                 []float64
	stepsPerEpoch           int
}

// inference runs the sample through the protocol and checks every example's logits.
func (m *measurement) inference(ctx stdctx.Context) error {
	var maxDiff float64
	for _, ex := range m.sample.Examples {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("private inference interrupted: %w", err)
		}
		before, cpu0 := m.eng.Stats(), cryptorun.CPUSeconds()
		got, err := cryptofriendly.Forward(m.eng, m.v.Weights, ex.Embedded, ex.Mask)
		if err != nil {
			return fmt.Errorf("private inference of dev example %d: %w", ex.Index, err)
		}
		d := m.eng.Stats().Sub(before)
		m.cpu = append(m.cpu, cryptorun.CPUSeconds()-cpu0)
		m.online, m.offline = append(m.online, d.Online), append(m.offline, d.Offline)
		diff, err := cryptorun.Check(Name, ex.Index, got, ex.Reference, m.cfg.LogitTolerance)
		if err != nil {
			return err
		}
		maxDiff = max(maxDiff, diff)
	}
	m.res.Extra["logits_max_abs_diff"] = maxDiff
	return nil
}

// tuning runs TuningSteps SGD steps of the classifier on shares, on features the variant's encoder gives the
// first training examples.
func (m *measurement) tuning(ctx stdctx.Context, lr float64) error {
	w, train := m.v.Weights, m.v.Train
	B := w.Preset.BatchSize
	m.stepsPerEpoch = train.N / B
	if m.stepsPerEpoch == 0 {
		return fmt.Errorf("%d training examples is fewer than one batch of %d", train.N, B)
	}
	k := w.NumLabels()
	if k < 2 {
		m.res.Tags["tuning"] = "encoder-forward-only"
		m.res.Extra["tuning_steps_measured"] = 0
		return nil // regression: mpc.Head trains classifiers only
	}
	init := composedHead(w)
	xs := make([]cryptofriendly.Matrix, m.cfg.TuningSteps)
	labels := make([][]int, m.cfg.TuningSteps)
	var spread float64
	for step := range xs {
		rows := make([]int, B)
		labels[step] = make([]int, B)
		for j := range rows {
			rows[j] = (step*B + j) % train.N
			labels[step][j] = int(train.Labels[rows[j]])
		}
		var err error
		if xs[step], err = clsFeatures(w, train, rows); err != nil {
			return err
		}
		spread = max(spread, logitSpread(xs[step], init))
	}
	// The softmax's range must hold the logits the steps see (mpc.HeadConfig.LogitBound).
	bound := max(6, 1.25*spread)
	m.res.Extra["tuning_logit_bound"] = bound
	head, err := mpc.NewHead(m.eng, mpc.HeadConfig{Inputs: w.Preset.Hidden, Classes: k, LogitBound: bound}, init)
	if err != nil {
		return err
	}
	for step, x := range xs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("private tuning interrupted: %w", err)
		}
		before, cpu0 := m.eng.Stats(), cryptorun.CPUSeconds()
		if err := head.TrainStep(x, labels[step], lr); err != nil {
			return fmt.Errorf("private tuning step %d: %w", step, err)
		}
		d := m.eng.Stats().Sub(before)
		m.stepCPU = append(m.stepCPU, cryptorun.CPUSeconds()-cpu0)
		m.stepOnline, m.stepOffline = append(m.stepOnline, d.Online), append(m.stepOffline, d.Offline)
	}
	m.res.Extra["tuning_steps_measured"] = float64(m.cfg.TuningSteps)
	return nil
}
