// Package ckksmethod owns the he-ckks method of the experiment runner (docs/design.md §5, THE-X style): the
// crypto-friendly variant of the run's model (baselines/cryptorun: teacher fine-tuning, MPCFormer distillation,
// dev-set accuracy in the clear) evaluated on CKKS ciphertexts by the engine of baselines/ckks (lattigo v6; the
// client keeps the secret key, the cloud computes with the evaluation keys; Reciprocal and InvSqrt, and depth
// refreshes, are client round trips).
//
// What it measures, phase by phase:
//
//   - preprocessing: the distillation (in the clear; see cryptorun.Variant.Record).
//   - offline: per row stride used, the client's key generation and the upload of the evaluation keys
//     (relinearisation and Galois keys), measured; once per client.
//   - private-inference: inference_examples dev examples (stratified by length bucket) encrypted, evaluated and
//     decrypted; each one's logits are checked against the reference engine on the same weights, embedded input
//     and mask (max |diff| in extra_logits_max_abs_diff; above logit_tolerance the run fails). Seconds by party,
//     bytes each way and round trips are extrapolated by bucket to the whole dev set (Extrapolated,
//     MeasuredUnits = the sample). The loopback figure (extra_inference_seconds_per_example) is the in-process
//     wall time, serialisation included; _lan and _wan add bytes / bandwidth and two one-way latencies per
//     round trip plus the query's upload and the answer's download (mpc.Network's presets).
//   - private-tuning, per epoch, extrapolated and NOT measured: there is no encrypted backward pass (THE-X and
//     this engine do inference only). The figure is one encrypted forward pass per training example (the
//     sample's per-bucket costs) times 1 + backward_factor, with backward = 2 forward passes by default (the FLOP
//     ratio of back-propagation) — an assumption stated in the record's note, not a measurement.
//
// Cost control. Each example runs on the engine whose row stride is the smallest length bucket holding its real
// tokens (buckets param; the engine only sees the real tokens, so the reference is the same whatever the bucket).
// A stride below the model's head dimension cannot hold an attention product, so buckets are raised to it: on
// the tiny preset (head dimension 64) every example runs at stride 64. Each stride needs its own keys (the
// rotations differ), so engines are built only for the buckets the sample uses.
//
// Timing on a shared machine: wall seconds include waiting for a core; extra_*_cpu_seconds_* are the process's
// CPU time over the same work (client and cloud together).
package ckksmethod

import (
	stdctx "context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/ckks"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptorun"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Name is the method's registry name.
const Name = ckks.Name

func init() { method.Register(Method()) }

// Config is the method's parameters.
type Config struct {
	// InferenceExamples dev examples run encrypted (the rest is extrapolated).
	InferenceExamples int `param:"inference_examples"`
	// Parameters is the CKKS parameter set: "n14-qp438" (128-bit secure, the default) or the test-only
	// "test-n12" / "test-n13" (NOT secure; results are tagged security=insecure-test).
	Parameters string `param:"parameters"`
	// Buckets are the row strides (powers of two) examples are evaluated at, by real-token count.
	Buckets []int `param:"buckets"`
	// Table is "frozen" (default) or "trainable": see cryptorun.Options.TableTrainable.
	Table string `param:"table"`
	// DistillEpochs of the variant's distillation.
	DistillEpochs int `param:"distill_epochs"`
	// LogitTolerance is the largest |encrypted − reference| logit difference accepted.
	LogitTolerance float64 `param:"logit_tolerance"`
	// BackwardFactor is the assumed cost of a backward pass in forward passes (private-tuning extrapolation).
	BackwardFactor float64 `param:"backward_factor"`
}

// DefaultConfig: 8 examples at the secure parameters, buckets 32 and 64, frozen table, the default distillation,
// tolerance 0.01 (the scale 2^34 and exact client-side non-linear layers give errors near 1e-5), backward = 2
// forward passes.
func DefaultConfig() Config {
	return Config{InferenceExamples: 8, Parameters: string(ckks.Secure128), Buckets: []int{32, 64}, Table: "frozen",
		DistillEpochs: cryptofriendly.DefaultDistillConfig().Epochs, LogitTolerance: 0.01, BackwardFactor: 2}
}

// DecodeConfig reads the parameters over DefaultConfig and checks them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := DefaultConfig()
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", Name, err)
	}
	if _, err := ckks.ParameterSet(cfg.Parameters).Literal(); err != nil {
		return cfg, fmt.Errorf("%s: parameters: %w", Name, err)
	}
	if len(cfg.Buckets) == 0 {
		return cfg, fmt.Errorf("%s: buckets is empty, want row strides such as [32, 64]", Name)
	}
	for _, b := range cfg.Buckets {
		if b < 2 || b&(b-1) != 0 {
			return cfg, fmt.Errorf("%s: bucket %d is not a power of two ≥ 2", Name, b)
		}
	}
	switch {
	case cfg.InferenceExamples < 1:
		return cfg, fmt.Errorf("%s: inference_examples = %d, want ≥ 1", Name, cfg.InferenceExamples)
	case cfg.Table != "frozen" && cfg.Table != "trainable":
		return cfg, fmt.Errorf("%s: table = %q, want frozen or trainable", Name, cfg.Table)
	case cfg.DistillEpochs < 1:
		return cfg, fmt.Errorf("%s: distill_epochs = %d, want ≥ 1", Name, cfg.DistillEpochs)
	case !(cfg.LogitTolerance > 0) || math.IsInf(cfg.LogitTolerance, 1):
		return cfg, fmt.Errorf("%s: logit_tolerance = %v, want a positive number", Name, cfg.LogitTolerance)
	case !(cfg.BackwardFactor >= 0) || math.IsInf(cfg.BackwardFactor, 1):
		return cfg, fmt.Errorf("%s: backward_factor = %v, want a number ≥ 0", Name, cfg.BackwardFactor)
	}
	return cfg, nil
}

// Strides are the row strides a model of maxLen tokens and head dimension headDim is evaluated at: each bucket
// raised to the smallest power of two ≥ headDim (an attention product needs it), and one holding maxLen tokens
// added when no bucket does; ascending, without repeats.
func Strides(buckets []int, maxLen, headDim int) []int {
	floor := pow2AtLeast(headDim)
	var out []int
	for _, b := range buckets {
		out = append(out, max(b, floor))
	}
	if top := slices.Max(out); top < maxLen {
		out = append(out, max(pow2AtLeast(maxLen), floor))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func pow2AtLeast(n int) int { return max(2, 1<<bits.Len(uint(n-1))) }

// Method is the he-ckks method.
func Method() harness.Method[Config] {
	return harness.Method[Config]{MethodName: Name, Decode: DecodeConfig, Protocol: Protocol}
}

// Protocol runs the he-ckks method on a prepared setup: the crypto-friendly variant (cryptorun), then private
// inference on a sample of the dev set and the cost of private tuning.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
	p := s.Public.Preset
	v, _, err := cryptorun.ForRun(ctx, env, run, s, cfg.Table == "trainable", cfg.DistillEpochs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	res := method.NewResult()
	if err := v.Record(res); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	set := ckks.ParameterSet(cfg.Parameters)
	res.Tags["table"] = cfg.Table
	res.Tags["ckks_parameters"] = cfg.Parameters
	res.Tags["security"] = "128-bit"
	if !set.Secure() {
		res.Tags["security"] = "insecure-test"
	}
	res.Tags["tuning"] = "extrapolated-from-encrypted-forward"
	strides := Strides(cfg.Buckets, p.MaxLen, p.HeadDim())
	res.Tags["row_strides"] = joinInts(strides)

	sample, err := v.Sample(cfg.InferenceExamples, strides, run.Seed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	m := &measurement{v: v, sample: sample, cfg: cfg, set: set, res: res, env: env, engines: map[int]*ckks.Engine{}}
	if err := m.inference(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	m.costs()
	return res, nil
}

// measurement is one run's measured encrypted work.
type measurement struct {
	v       *cryptorun.Variant
	sample  *cryptorun.Sample
	cfg     Config
	set     ckks.ParameterSet
	res     *method.Result
	env     method.Env
	engines map[int]*ckks.Engine // by row stride, built on first use
	// Per example: the engine's online costs, the wall and CPU seconds of the whole forward pass.
	online    []ckks.Costs
	wall, cpu []float64
}

// engine returns the engine of a row stride, building it (key generation: the offline phase) on first use.
func (m *measurement) engine(stride int) (*ckks.Engine, error) {
	if e, ok := m.engines[stride]; ok {
		return e, nil
	}
	e, err := ckks.NewEngine(ckks.Config{Parameters: m.set, MaxRows: stride, RowStride: stride, Log: m.env.Log})
	if err != nil {
		return nil, err
	}
	m.engines[stride] = e
	return e, nil
}

// inference runs the sample encrypted and checks every example's logits.
func (m *measurement) inference(ctx stdctx.Context) error {
	var maxDiff float64
	for _, ex := range m.sample.Examples {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("private inference interrupted: %w", err)
		}
		e, err := m.engine(ex.Bucket)
		if err != nil {
			return err
		}
		e.ResetOnline()
		start, cpu0 := time.Now(), cryptorun.CPUSeconds()
		got, err := cryptofriendly.Forward(e, m.v.Weights, ex.Embedded, ex.Mask)
		if err != nil {
			return fmt.Errorf("encrypted inference of dev example %d (%d tokens, stride %d): %w", ex.Index, ex.Tokens, ex.Bucket, err)
		}
		m.wall = append(m.wall, time.Since(start).Seconds())
		m.cpu = append(m.cpu, cryptorun.CPUSeconds()-cpu0)
		m.online = append(m.online, e.Online())
		diff, err := cryptorun.Check(Name, ex.Index, got, ex.Reference, m.cfg.LogitTolerance)
		if err != nil {
			return err
		}
		maxDiff = max(maxDiff, diff)
		m.env.Log.Debug("he-ckks example", "dev_index", ex.Index, "tokens", ex.Tokens, "stride", ex.Bucket, "seconds", m.wall[len(m.wall)-1],
			"cpu_seconds", m.cpu[len(m.cpu)-1], "max_abs_diff", diff)
	}
	m.res.Extra["logits_max_abs_diff"] = maxDiff
	return nil
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}
