package dpsgd

import (
	stdctx "context"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/baselines/accountant"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// clipProbe runs ClippedGradients on one batch and returns each example's raw and clipped gradient norm, and the
// largest difference between the weighted sum of clipped gradients and the gradient of Σ w_i·loss_i computed on
// the whole batch at once (meaningful when the clip is too large to act).
func clipProbe(t *testing.T, m *models.Model, batch []*tensors.Tensor, clip float64) (raw, clipped []float32, sumDiff, sumScale float32) {
	t.Helper()
	pred, err := m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		pe := ClippedGradients(ctx, m, in, 2, clip)
		perExample := models.CrossEntropy(finetune.Logits(m, ctx, in[:3], 2), in[3])
		nodes := make([]*Node, len(pe.Vars))
		for j, v := range pe.Vars {
			nodes[j] = v.ValueGraph(in[0].Graph())
		}
		full := Gradient(ReduceAllSum(Mul(perExample, in[4])), nodes...)
		var diff, scale *Node
		for j := range full {
			d, s := ReduceAllMax(Abs(Sub(pe.Sum[j], full[j]))), ReduceAllMax(Abs(full[j]))
			if diff == nil {
				diff, scale = d, s
			} else {
				diff, scale = Max(diff, d), Max(scale, s)
			}
		}
		return []*Node{pe.RawNorms, pe.ClippedNorms, diff, scale}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pred.Finalize()
	outs, err := pred.Run(batch...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1]),
		tensors.ToScalar[float32](outs[2]), tensors.ToScalar[float32](outs[3])
}

// TestClippingBoundsEveryExample: with C at the median raw per-example gradient norm, every example's clipped
// gradient has norm ≤ C — exactly C for those above it, unchanged below — and with a clip too large to act, the
// weighted sum of the per-example gradients is the gradient of the batch's weighted loss (so the replicas compute
// real per-example gradients, and a zero weight removes an example).
func TestClippingBoundsEveryExample(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	m := testkit.NanoModel(t, tok.VocabSize(), 3)
	m.SetTrainableScopes("/embeddings", "/encoder", "/pooler", "/task_head")
	m.SetTokenTableTrainable(false)
	set, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		t.Fatal(err)
	}
	B := m.Preset.BatchSize
	enc := finetune.Encode(tok, set.Examples[:B], m.Preset.MaxLen)
	idx := make([]int, B)
	for i := range idx {
		idx[i] = i
	}
	batch := enc.Batch(idx, B, false)
	weights := tensors.MustCopyFlatData[float32](batch[4])
	weights[B-1] = 0 // one padding row
	batch[4] = tensors.FromFlatDataAndDimensions(weights, B)

	raw, unclipped, diff, scale := clipProbe(t, m, batch, 1e9)
	if !(scale > 0) || diff > 1e-4*scale {
		t.Fatalf("Σ per-example gradients differs from the batch gradient by %g (scale %g)", diff, scale)
	}
	for i := range raw {
		if !(raw[i] > 0) || math.Abs(float64(unclipped[i]-raw[i])) > 1e-5*float64(raw[i]) {
			t.Fatalf("example %d: raw norm %g, unclipped %g", i, raw[i], unclipped[i])
		}
	}
	sorted := slices.Clone(raw)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	clip := float64(sorted[B/2])
	raw2, clipped, _, _ := clipProbe(t, m, batch, clip)
	above := 0
	for i := range clipped {
		r, c := float64(raw2[i]), float64(clipped[i])
		if c > clip*(1+1e-5) {
			t.Errorf("example %d: clipped gradient norm %g exceeds C = %g", i, c, clip)
		}
		switch {
		case r > clip*(1+1e-5):
			above++
			if math.Abs(c-clip) > 1e-5*clip {
				t.Errorf("example %d: raw norm %g > C, clipped to %g instead of C = %g", i, r, c, clip)
			}
		case r < clip*(1-1e-5) && math.Abs(c-r) > 1e-5*r:
			t.Errorf("example %d: raw norm %g ≤ C changed to %g", i, r, c)
		}
	}
	if above == 0 || above == B {
		t.Errorf("%d of %d examples above C = %g: the test does not exercise both sides", above, B, clip)
	}
}

// TestSchedule: σ meets the target ε exactly (within the calibration's tolerance), and the step counts follow the
// sampling.
func TestSchedule(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Epsilon = 3
	s, err := NewSchedule(cfg, 2000, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Steps != 187 || s.Q != 0.016 || s.Delta != 1.0/2000 {
		t.Errorf("poisson schedule %+v, want ⌊3/0.016⌋ = 187 steps at q = 0.016, δ = 1/2000", s)
	}
	g, err := accountant.Epsilon(s.Q, s.NoiseMultiplier, s.Steps, s.Delta)
	if err != nil {
		t.Fatal(err)
	}
	if g.Epsilon > 3 || g.Epsilon < 2.99 {
		t.Errorf("σ = %g spends ε = %g, want just under 3", s.NoiseMultiplier, g.Epsilon)
	}
	cfg.Sampling = "shuffle"
	if s, err = NewSchedule(cfg, 2000, 32, 3); err != nil || s.Steps != 3*62 {
		t.Errorf("shuffle schedule %+v (%v), want 3 × 62 steps", s, err)
	}
	if _, err := NewSchedule(cfg, 10, 32, 1); err == nil {
		t.Error("fewer examples than a batch accepted")
	}
	for _, bad := range []map[string]any{{"epsilon": -1.0}, {"clip": 0.0}, {"sampling": "uniform"}, {"table": "frozen"}} {
		if err := DPSGD().Validate(bad); err == nil {
			t.Errorf("params %v accepted", bad)
		}
	}
}

// TestProtocolEndToEnd runs dp-sgd on SST-2 (64 training, 48 dev examples, nano, from scratch) with both
// samplings (shuffle through the method registry): σ calibrated to the target and ε the accountant's for the
// recorded σ, q and steps, the curve ending at the accounted step, the token table untouched and the encoder
// trained, the metrics the trained model's, and the costs booked to the parties.
func TestProtocolEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	data, err := finetune.LoadTaskData(dir, "sst2", 64, 48, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, sampling := range []string{"poisson", "shuffle"} {
		t.Run(sampling, func(t *testing.T) {
			run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 48, Seed: 1, Epochs: 1,
				Params: map[string]any{"epsilon": 8.0, "sampling": sampling}}
			var res *method.Result
			if sampling == "shuffle" {
				// Through the registry, as the runner calls it.
				mth, err := method.Lookup("dp-sgd")
				if err != nil {
					t.Fatal(err)
				}
				if res, err = mth.Run(stdctx.Background(), env, run); err != nil {
					t.Fatal(err)
				}
			} else {
				// Through Protocol, to look at the model's weights afterwards.
				cfg, err := DecodeConfig(run.Params)
				if err != nil {
					t.Fatal(err)
				}
				m := testkit.NanoModel(t, tok.VocabSize(), 1)
				if _, _, err := finetune.Predict(m, data.Info, finetune.Encode(tok, data.Dev[:1], m.Preset.MaxLen)); err != nil {
					t.Fatal(err) // creates the variables, so that their initial values can be compared
				}
				table, before := m.TokenTable(), weights(m, "/encoder")
				if res, err = Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: m}, cfg); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(table, m.TokenTable()) {
					t.Error("the frozen token table moved")
				}
				if len(before) == 0 || sameWeights(before, weights(m, "/encoder")) {
					t.Error("the encoder did not train")
				}
				// Inference is not privatised: the run scores the trained model's plaintext predictions.
				dev := finetune.Encode(tok, data.Dev, m.Preset.MaxLen)
				preds, _, err := finetune.Predict(m, data.Info, dev)
				if err != nil {
					t.Fatal(err)
				}
				if plain, err := finetune.Score(data.Info, preds, dev.Labels); err != nil || !maps.Equal(res.Metrics, plain) {
					t.Errorf("metrics %v; the trained model's in the clear %v (%v)", res.Metrics, plain, err)
				}
			}
			if res.Delta != 1.0/64 || res.Extra["sampling_rate"] != 0.25 || res.Extra["dp_steps"] != 4 || res.Tags["mechanism"] != "dp-sgd" {
				t.Errorf("privacy record ε %v δ %v extra %v tags %v", res.Epsilon, res.Delta, res.Extra, res.Tags)
			}
			// The recorded σ is the one calibrated to ε = 8 for q = 16/64 and ⌊1/q⌋ = 4 steps, and the recorded ε is
			// the accountant's for the recorded σ, q and steps (not the target), just under 8.
			sigma, err := accountant.CalibrateSigma(8, 1.0/64, 0.25, 4)
			if err != nil {
				t.Fatal(err)
			}
			g, err := accountant.Epsilon(res.Extra["sampling_rate"], res.Extra["noise_multiplier"], int(res.Extra["dp_steps"]), res.Delta)
			if err != nil {
				t.Fatal(err)
			}
			if res.Extra["noise_multiplier"] != sigma || res.Epsilon != g.Epsilon || res.Extra["rdp_order"] != g.Order ||
				!(res.Epsilon <= 8 && res.Epsilon > 7.9) || res.Extra["epsilon_target"] != 8 {
				t.Errorf("recorded σ %v, ε %v at order %v; calibrated σ %v, accountant ε %v at order %v (extra %v)",
					res.Extra["noise_multiplier"], res.Epsilon, res.Extra["rdp_order"], sigma, g.Epsilon, g.Order, res.Extra)
			}
			if assumed := strings.Contains(res.Tags["accounting"], "assumed"); assumed != (sampling == "shuffle") {
				t.Errorf("accounting tag %q for %s sampling", res.Tags["accounting"], sampling)
			}
			costs := map[string]method.Cost{}
			for _, c := range res.Costs {
				costs[c.Phase] = c
			}
			tune, inf := costs[method.PhasePrivateTuning], costs[method.PhasePrivateInference]
			if tune.BytesToCloud != 64*32*6+64*4 || tune.CloudSeconds <= 0 || tune.Units != 1 {
				t.Errorf("tuning cost %+v", tune)
			}
			if inf.BytesToCloud != 48*32*6+48*4 || inf.BytesToClient != 48*2*4 || inf.Units != 48 {
				t.Errorf("inference cost %+v", inf)
			}
			// One epoch of 4 steps: one curve point, at the last step the accountant counted.
			if _, ok := res.Metrics["accuracy"]; !ok || res.EvalExamples != 48 || len(res.Curve) != 1 || res.Curve[0].Step != 4 ||
				!(res.Curve[0].Loss > 0) {
				t.Errorf("metrics %v on %d examples, curve %v", res.Metrics, res.EvalExamples, res.Curve)
			}
		})
	}
}

// weights copies the values of m's variables under scope, by scope and name.
func weights(m *models.Model, scope string) map[string][]float32 {
	out := map[string][]float32{}
	for v := range m.Ctx.IterVariables() {
		if strings.HasPrefix(v.Scope(), scope) && v.HasValue() {
			out[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](v.MustValue())
		}
	}
	return out
}

func sameWeights(a, b map[string][]float32) bool {
	return maps.EqualFunc(a, b, func(x, y []float32) bool { return slices.Equal(x, y) })
}

// TestNoiseScale: a step on which no example was drawn (all weights 0) updates with pure noise, whose norm is
// σC·√P/B for P trainable parameters (a χ with P degrees of freedom: relative spread 1/√(2P), under 0.1% here).
func TestNoiseScale(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	m := testkit.NanoModel(t, tok.VocabSize(), 4)
	m.SetTrainableScopes("/embeddings", "/encoder", "/pooler", "/task_head")
	m.SetTokenTableTrainable(false)
	data, err := finetune.LoadTaskData(dir, "sst2", 16, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	const sigma, clip = 1.5, 0.25
	e, err := NewEngine(m, 2, clip, sigma, models.Optim{LearningRate: 1e-3, Scope: "adam_test"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Finalize()
	B := m.Preset.BatchSize
	train := finetune.Encode(tok, data.Train, m.Preset.MaxLen)
	if _, n, err := e.Accumulate(microBatch(train, nil, B, false)); err != nil || n != 0 {
		t.Fatalf("empty micro-batch counted %v examples (%v)", n, err)
	}
	P := 0
	for _, v := range e.vars {
		P += v.Shape().Size()
	}
	for range 2 {
		norm, err := e.Apply(float64(B))
		if err != nil {
			t.Fatal(err)
		}
		want := sigma * clip * math.Sqrt(float64(P)) / float64(B)
		if math.Abs(float64(norm)/want-1) > 0.01 {
			t.Errorf("noise-only update has norm %g, want σC√P/B = %g (P = %d)", norm, want, P)
		}
	}
}

// TestTrainHeadOnly: train = "head" moves the pooler and the task head and leaves every encoder weight (and the
// token table) as it was; a setting other than encoder or head is refused, naming the valid ones.
func TestTrainHeadOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	for _, bad := range []any{"all", ""} {
		if _, err := DecodeConfig(map[string]any{"train": bad}); err == nil || !strings.Contains(err.Error(), "want encoder or head") {
			t.Errorf("train = %q: %v", bad, err)
		}
	}
	env, data, run := nanoSST2Run(t, map[string]any{"epsilon": 8.0, "train": "head"})
	tok := env.Tok
	cfg, err := DecodeConfig(run.Params)
	if err != nil {
		t.Fatal(err)
	}
	m := testkit.NanoModel(t, tok.VocabSize(), 1)
	if _, _, err := finetune.Predict(m, data.Info, finetune.Encode(tok, data.Dev[:1], m.Preset.MaxLen)); err != nil {
		t.Fatal(err) // creates the variables, so that their initial values can be compared
	}
	encoder, embeddings, head := weights(m, "/encoder"), weights(m, "/embeddings"), weights(m, "/task_head")
	res, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: m}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(encoder) == 0 || !sameWeights(encoder, weights(m, "/encoder")) || !sameWeights(embeddings, weights(m, "/embeddings")) {
		t.Error("train = head moved the encoder or the embeddings")
	}
	if len(head) == 0 || sameWeights(head, weights(m, "/task_head")) {
		t.Error("train = head did not train the task head")
	}
	if res.Tags["trained"] != "head" {
		t.Errorf("tags %v", res.Tags)
	}
}

// TestEngineWithoutNoiseOrClippingIsAdam: with a clip too large to act and no noise, ten DP-SGD updates on a real
// batch follow finetune's plain training step loss for loss (same weights, same AdamW, same schedule): the
// per-example replicas, the accumulators and the pairing of gradients with variables in the update are exact, so
// what DP-SGD changes in a run is its clipping and its noise alone. (Adam is nearly blind to a gradient's scale,
// so the division by the expected batch is TestNoiseScale's to check.)
func TestEngineWithoutNoiseOrClippingIsAdam(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	set, err := datasets.Load(dir, "sst2", "train")
	if err != nil {
		t.Fatal(err)
	}
	dp, plain := testkit.NanoModel(t, tok.VocabSize(), 3), testkit.NanoModel(t, tok.VocabSize(), 3)
	B := dp.Preset.BatchSize
	enc := finetune.Encode(tok, set.Examples[:B], dp.Preset.MaxLen)
	idx := make([]int, B)
	for i := range idx {
		idx[i] = i
	}
	batch := enc.Batch(idx, B, false)
	optim := models.Optim{LearningRate: 1e-3, WarmupSteps: 3, TotalSteps: 20, WeightDecay: 0.01}
	optim.Scope = "adam_dpsgd"
	engine, err := NewEngine(dp, 2, 1e9, 0, optim)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Finalize()
	optim.Scope = "adam_finetune"
	trainer, err := finetune.NewTrainer(plain, 2, optim)
	if err != nil {
		t.Fatal(err)
	}
	defer trainer.Finalize()
	var first, last float32
	for s := range 10 {
		lossSum, count, err := engine.Accumulate(batch)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := engine.Apply(float64(B)); err != nil {
			t.Fatal(err)
		}
		want, _, err := trainer.Step(batch...)
		if err != nil {
			t.Fatal(err)
		}
		got := lossSum / count
		if math.Abs(float64(got-want)) > 1e-4 {
			t.Fatalf("step %d: DP-SGD loss %.6f, plain step %.6f", s, got, want)
		}
		if s == 0 {
			first = got
		}
		last = got
	}
	if !(last < first) {
		t.Errorf("loss %.4f → %.4f: the comparison did not train", first, last)
	}
}

// TestGivenNoiseMultiplier: noise_multiplier replaces the calibration (and cannot be given with epsilon); σ = 0 is
// recorded as no privacy, ε = +Inf, never as a finite guarantee.
func TestGivenNoiseMultiplier(t *testing.T) {
	for _, c := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"epsilon": 8.0, "noise_multiplier": 1.0}, "both given"},
		{map[string]any{"noise_multiplier": -1.0}, "want σ ≥ 0"},
	} {
		if _, err := DecodeConfig(c.params); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.params, err)
		}
	}
	cfg, err := DecodeConfig(map[string]any{"noise_multiplier": 0.75})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := NewSchedule(cfg, 2000, 32, 3); err != nil || s.NoiseMultiplier != 0.75 {
		t.Errorf("given σ: %+v, %v", s, err)
	}
	if testing.Short() {
		return
	}
	env, data, run := nanoSST2Run(t, map[string]any{"noise_multiplier": 0.0})
	tok := env.Tok
	if cfg, err = DecodeConfig(run.Params); err != nil {
		t.Fatal(err)
	}
	res, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: testkit.NanoModel(t, tok.VocabSize(), 1)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(res.Epsilon, 1) || !strings.HasPrefix(res.Tags["privacy"], "none") || res.Extra["noise_multiplier"] != 0 {
		t.Errorf("σ = 0: ε %v, tags %v, extra %v", res.Epsilon, res.Tags, res.Extra)
	}
	if _, ok := res.Extra["epsilon_target"]; ok {
		t.Errorf("σ = 0 recorded a target ε: %v", res.Extra)
	}
}

// nanoSST2Run is the small end-to-end set-up of the protocol tests: the environment, 64 SST-2 training and 16 dev
// examples, and a one-epoch nano run from random weights with the given parameters.
func nanoSST2Run(t *testing.T, params map[string]any) (method.Env, *finetune.TaskData, method.Run) {
	t.Helper()
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	data, err := finetune.LoadTaskData(dir, "sst2", 64, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	return env, data, method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 16, Seed: 1,
		Epochs: 1, Params: params}
}

// TestNoiselessFullBatchRunIsAdam: with as many training examples as the batch holds (q = 1: every step's
// Poisson batch is the whole set, in order), σ = 0 and a clip no gradient reaches, a dp-sgd run is plain
// full-batch AdamW fine-tuning of what the method says it trains (the token table frozen, the rest of the encoder
// trained) with the run's schedule (warm-up fraction and learning rate of the fine-tuning config over the
// accounted steps): the same loss at every step (to 10⁻⁵), the same weights afterwards (to 10⁻⁴) and the same dev
// metrics. The engine's own equivalence is TestEngineWithoutNoiseOrClippingIsAdam; this one guards what the
// method adds around it: the trained scopes, the schedule, the sampling, the curve and the scoring.
func TestNoiselessFullBatchRunIsAdam(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two nano models")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	const n, epochs = 16, 10
	data, err := finetune.LoadTaskData(dir, "sst2", n, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: n, MaxEval: 32, Seed: 1, Epochs: epochs,
		Params: map[string]any{"noise_multiplier": 0.0, "clip": 1e9}}
	cfg, err := DecodeConfig(run.Params)
	if err != nil {
		t.Fatal(err)
	}
	m := testkit.NanoModel(t, tok.VocabSize(), 1)
	B, T := m.Preset.BatchSize, m.Preset.MaxLen
	if B != n || m.Preset.Dropout != 0 {
		t.Fatalf("nano batch %d (want %d, one full batch) and dropout %v (want 0, the replicas would draw their own masks)", B, n, m.Preset.Dropout)
	}
	train, dev := finetune.Encode(tok, data.Train, T), finetune.Encode(tok, data.Dev, T)
	if _, _, err := finetune.Predict(m, data.Info, dev); err != nil {
		t.Fatal(err) // creates every variable, so that the reference starts from the same weights
	}
	ref, err := m.Clone(1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: m}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Extra["sampling_rate"] != 1 || res.Extra["dp_steps"] != epochs {
		t.Fatalf("q = %v over %v steps, want 1 over %d", res.Extra["sampling_rate"], res.Extra["dp_steps"], epochs)
	}

	harness.PrepareTuning(ref, false)
	ft := harness.FineTuneConfig(run, false, "reference")
	trainer, err := finetune.NewTrainer(ref, 2, models.Optim{LearningRate: ft.LearningRate, WarmupSteps: int(ft.WarmupFrac * epochs),
		TotalSteps: epochs, WeightDecay: ft.WeightDecay, Scope: "adam_reference"})
	if err != nil {
		t.Fatal(err)
	}
	defer trainer.Finalize()
	batch := train.Batch(rangeRows(n), B, false)
	if len(res.Curve) != epochs {
		t.Fatalf("curve %v, want one point per step", res.Curve)
	}
	for s := range epochs {
		want, _, err := trainer.Step(batch...)
		if err != nil {
			t.Fatal(err)
		}
		if p := res.Curve[s]; p.Step != s+1 || math.Abs(p.Loss-float64(want)) > 1e-5 {
			t.Errorf("step %d: dp-sgd curve point %+v, full-batch AdamW loss %.6f", s+1, p, want)
		}
	}
	if math.Abs(res.Curve[0].Loss-res.Curve[epochs-1].Loss) < 1e-6 {
		t.Errorf("the loss did not move (%v): the comparison does not exercise training", res.Curve)
	}
	for _, scope := range []string{"/embeddings", "/encoder", "/pooler", "/task_head"} {
		got, want := weights(m, scope), weights(ref, scope)
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d variables after dp-sgd, %d in the reference", scope, len(got), len(want))
		}
		for name, w := range want {
			for i := range w {
				if math.Abs(float64(got[name][i]-w[i])) > 1e-4 {
					t.Fatalf("%s[%d]: %g after dp-sgd, %g in the reference", name, i, got[name][i], w[i])
				}
			}
		}
	}
	preds, _, err := finetune.Predict(ref, data.Info, dev)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := finetune.Score(data.Info, preds, dev.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.Metrics, plain) || res.EvalExamples != dev.N {
		t.Errorf("dp-sgd metrics %v on %d examples; full-batch AdamW %v on %d", res.Metrics, res.EvalExamples, plain, dev.N)
	}
}

func rangeRows(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
