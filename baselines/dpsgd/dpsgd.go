// Package dpsgd owns the dp-sgd baseline (docs/design.md §5): fine-tuning with DP-SGD (Abadi et al. 2016) — each
// example's gradient clipped to L2 norm C, Gaussian noise of standard deviation σC added to the sum of a batch,
// the noise multiplier σ calibrated by the Rényi-DP accountant (baselines/accountant) so that the whole run is
// (ε, δ)-DP, and the ε actually spent recorded per run.
//
// Per-example gradients come from one model replica per example in a single graph (docs/design.md §8: gomlx v0.26.0
// has no vmap), so clipping is exact. The token-embedding table is frozen: its per-example gradient would be a
// dense V×d matrix per example. Sampling is Poisson (each example joins a step with probability q = B/n, the
// accountant's assumption; a step's batch is processed in micro-batches of the preset's size B and noised once)
// or shuffle (fixed batches of B from a shuffled order, the last partial one dropped, as finetune does — the
// accounting then still assumes Poisson sampling, and the results say so).
//
// The guarantee is central: it covers the fine-tuned model, which anyone the model is released to sees. The cloud
// that trains still receives the client's token ids and labels in the clear, and inference is not privatised.
package dpsgd

import (
	stdctx "context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/baselines/accountant"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/train"
)

func init() { method.Register(DPSGD()) }

// Config is the dp-sgd method's parameters.
type Config struct {
	// Epsilon is the target ε of the whole run; Delta its δ (0 = 1/n with n the number of training examples).
	Epsilon float64 `param:"epsilon"`
	Delta   float64 `param:"delta"`
	// Clip is C, the L2 norm each example's gradient is clipped to.
	Clip float64 `param:"clip"`
	// Sampling is "poisson" or "shuffle".
	Sampling string `param:"sampling"`
	// Train names what DP-SGD trains: "encoder" (every weight but the frozen token table: position and segment
	// embeddings, the transformer layers, the pooler and the task head) or "head" (the pooler and the task head
	// only). The noise's norm grows with the square root of the number of parameters it is added to while the
	// clipped signal does not, so fewer trained parameters mean a larger signal-to-noise ratio per step.
	Train string `param:"train"`
	// NoiseMultiplier, when set (≥ 0), is σ itself instead of the one calibrated to Epsilon (the two cannot both
	// be given); the run's ε is then what the accountant gives for it, +Inf for σ = 0 — no privacy, a diagnostic
	// that separates what clipping does from what the noise does. Unset (< 0): calibrated.
	NoiseMultiplier float64 `param:"noise_multiplier"`
}

// Train settings of Config.Train, and the model scopes each trains.
var trainScopes = map[string][]string{
	"encoder": {"/embeddings", "/encoder", "/pooler", "/task_head"},
	"head":    {"/pooler", "/task_head"},
}

// DefaultConfig is ε = 8, δ = 1/n, C = 1, Poisson sampling, the encoder trained.
func DefaultConfig() Config {
	return Config{Epsilon: 8, Clip: 1, Sampling: "poisson", Train: "encoder", NoiseMultiplier: -1}
}

// DecodeConfig reads the method's parameters over DefaultConfig and checks them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := DefaultConfig()
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("dp-sgd: %w", err)
	}
	switch {
	case !(cfg.Epsilon > 0) || math.IsInf(cfg.Epsilon, 1):
		return cfg, fmt.Errorf("dp-sgd: epsilon = %v, want a positive number", cfg.Epsilon)
	case !(cfg.Delta >= 0 && cfg.Delta < 1):
		return cfg, fmt.Errorf("dp-sgd: delta = %v, want 0 ≤ δ < 1 (0 = 1/n)", cfg.Delta)
	case !(cfg.Clip > 0) || math.IsInf(cfg.Clip, 1):
		return cfg, fmt.Errorf("dp-sgd: clip = %v, want a positive number", cfg.Clip)
	case cfg.Sampling != "poisson" && cfg.Sampling != "shuffle":
		return cfg, fmt.Errorf("dp-sgd: sampling = %q, want poisson or shuffle", cfg.Sampling)
	case trainScopes[cfg.Train] == nil:
		return cfg, fmt.Errorf("dp-sgd: train = %q, want encoder or head", cfg.Train)
	case params["noise_multiplier"] != nil && params["epsilon"] != nil:
		return cfg, fmt.Errorf("dp-sgd: epsilon and noise_multiplier both given: σ is either calibrated to ε or given")
	case params["noise_multiplier"] != nil && (!(cfg.NoiseMultiplier >= 0) || math.IsInf(cfg.NoiseMultiplier, 1)):
		return cfg, fmt.Errorf("dp-sgd: noise_multiplier = %v, want σ ≥ 0", cfg.NoiseMultiplier)
	}
	return cfg, nil
}

// DPSGD is the dp-sgd method.
func DPSGD() harness.Method[Config] {
	return harness.Method[Config]{MethodName: "dp-sgd", Decode: DecodeConfig, Protocol: Protocol}
}

// Schedule is a run's sampling and its accounting: sampling rate q = B/n, the number of noisy steps, and the
// noise multiplier σ calibrated so that those steps are (ε, δ)-DP.
type Schedule struct {
	Q               float64
	Steps           int
	NoiseMultiplier float64
	Delta           float64
}

// NewSchedule calibrates σ for n examples, batch B and epochs passes: ⌊epochs/q⌋ steps with Poisson sampling,
// epochs·⌊n/B⌋ with shuffling (accounted as Poisson at the same q).
func NewSchedule(cfg Config, n, B, epochs int) (Schedule, error) {
	if n < B {
		return Schedule{}, fmt.Errorf("dp-sgd: %d training examples is fewer than one batch of %d", n, B)
	}
	if epochs <= 0 {
		return Schedule{}, fmt.Errorf("dp-sgd: epochs must be positive")
	}
	s := Schedule{Q: float64(B) / float64(n), Delta: cfg.Delta}
	if s.Delta == 0 {
		s.Delta = 1 / float64(n)
	}
	if cfg.Sampling == "poisson" {
		var err error
		if s.Steps, err = accountant.StepsForEpochs(float64(epochs), s.Q); err != nil {
			return Schedule{}, fmt.Errorf("dp-sgd: %w", err)
		}
	} else {
		s.Steps = epochs * (n / B)
	}
	if cfg.NoiseMultiplier >= 0 {
		s.NoiseMultiplier = cfg.NoiseMultiplier
		return s, nil
	}
	sigma, err := accountant.CalibrateSigma(cfg.Epsilon, s.Delta, s.Q, s.Steps)
	if err != nil {
		return Schedule{}, fmt.Errorf("dp-sgd: %w", err)
	}
	s.NoiseMultiplier = sigma
	return s, nil
}

// Protocol runs private tuning with DP-SGD and (plaintext) inference on a prepared setup, whose public model is
// fine-tuned in place.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
	m := s.Public
	B, k := m.Preset.BatchSize, finetune.NumOutputs(s.Data.Info)
	ft := harness.FineTuneConfig(run, env.Progress, "dp-sgd tuning")
	sched, err := NewSchedule(cfg, len(s.Data.Train), B, ft.Epochs)
	if err != nil {
		return nil, err
	}
	res := method.NewResult()
	res.Tags["mechanism"] = "dp-sgd"
	res.Tags["privacy"] = "central"
	res.Tags["table"] = "frozen"
	if cfg.Train != DefaultConfig().Train {
		// Only when not the default: runs made before the setting existed group with today's in reports.
		res.Tags["trained"] = cfg.Train
	}
	res.Tags["sampling"] = cfg.Sampling
	res.Tags["accounting"] = "rdp, poisson-subsampled gaussian"
	if cfg.Sampling == "shuffle" {
		res.Tags["accounting"] += " (assumed: batches were shuffled, not poisson-sampled)"
	}
	res.Extra["noise_multiplier"] = sched.NoiseMultiplier
	if cfg.NoiseMultiplier < 0 {
		res.Extra["epsilon_target"] = cfg.Epsilon
	}
	res.Extra["sampling_rate"] = sched.Q
	res.Extra["clip"] = cfg.Clip
	res.Extra["dp_steps"] = float64(sched.Steps)
	ledger := harness.NewLedger()

	// 3: the client uploads its examples; the cloud trains with DP-SGD. 4: inference is not privatised: the
	// client sends its ids, the cloud returns logits.
	m.SetTrainableScopes(trainScopes[cfg.Train]...)
	m.SetTokenTableTrainable(false)
	trainDPSGD := func(ctx stdctx.Context, train *finetune.Encoded, ft finetune.Config, _ *harness.Ledger) ([]method.CurvePoint, error) {
		optim := models.Optim{LearningRate: ft.LearningRate, WarmupSteps: int(ft.WarmupFrac * float64(sched.Steps)),
			TotalSteps: sched.Steps, WeightDecay: ft.WeightDecay, Scope: "adam_dpsgd"}
		return trainDP(ctx, env, run, m, train, k, cfg, sched, optim)
	}
	if err := harness.TuneAndInfer(ctx, env, s, harness.IDProtocol{Model: m, Train: trainDPSGD,
		TuningNote:    "central DP: the cloud sees the token ids and labels; ε covers the fine-tuned model",
		InferenceNote: "not privatised: plaintext ids"}, ft, ledger, res); err != nil {
		return nil, err
	}
	if sched.NoiseMultiplier == 0 {
		res.Epsilon, res.Delta = math.Inf(1), sched.Delta
		res.Tags["privacy"] = "none (noise_multiplier = 0: clipping only)"
	} else {
		g, err := accountant.Epsilon(sched.Q, sched.NoiseMultiplier, sched.Steps, sched.Delta)
		if err != nil {
			return nil, fmt.Errorf("dp-sgd: accounting the run: %w", err)
		}
		res.Epsilon, res.Delta = g.Epsilon, g.Delta
		res.Extra["rdp_order"] = g.Order
	}
	res.Costs = ledger.Costs()
	return res, nil
}

// trainDP runs sched.Steps DP-SGD steps on the one training loop (models/train) and returns the mean training
// loss of each epoch's worth of steps (an epoch whose Poisson batches were all empty records no point). The
// privacy mechanism is the loop's batch source (Poisson sampling of rows) and its step (per-example clipping and
// one noisy update per batch), not a loop of its own.
func trainDP(ctx stdctx.Context, env method.Env, run method.Run, m *models.Model, data *finetune.Encoded, k int,
	cfg Config, sched Schedule, optim models.Optim) ([]method.CurvePoint, error) {
	B := m.Preset.BatchSize
	engine, err := NewEngine(m, k, cfg.Clip, sched.NoiseMultiplier, optim)
	if err != nil {
		return nil, err
	}
	defer engine.Finalize()
	rng := rand.New(rand.NewPCG(run.Seed, 0xd95d))
	perEpoch := max(1, int(math.Round(1/sched.Q)))
	batches := poissonRows(data.N, sched.Q, rng)
	if cfg.Sampling == "shuffle" {
		rows := train.NewShuffled(data.N, B, rng)
		perEpoch = rows.StepsPerEpoch()
		batches = func(step int) ([]int, error) { return rows.Rows(step), nil }
	}
	loop := train.Loop[[]int]{Name: "dp-sgd tuning", Steps: sched.Steps, StepsPerEpoch: perEpoch, CurvePartial: true,
		Weighted: true, Progress: env.Progress, Label: fmt.Sprintf("%s dp-sgd tuning", run.Task), Batches: batches,
		Step: func(_ stdctx.Context, _ int, batch []int) (train.Output, error) {
			var lossSum, count float64
			// Micro-batches of at most B; an empty Poisson batch still takes a (noise-only) step.
			for lo := 0; lo < max(len(batch), 1); lo += B {
				in := microBatch(data, batch[lo:min(lo+B, len(batch))], B, k == 1)
				l, c, err := engine.Accumulate(in)
				if err != nil {
					return train.Output{}, err
				}
				lossSum, count = lossSum+float64(l), count+float64(c)
			}
			if _, err := engine.Apply(float64(B)); err != nil {
				return train.Output{}, err
			}
			out := train.Output{Sum: lossSum, Weight: count}
			if count > 0 {
				out.Loss = lossSum / count
			}
			return out, nil
		}}
	res, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	curve := make([]method.CurvePoint, len(res.Curve))
	for i, p := range res.Curve {
		curve[i] = method.CurvePoint{Phase: method.PhasePrivateTuning, Step: p.Step, Loss: p.Loss}
	}
	return curve, nil
}

// poissonRows draws each step's batch by Poisson sampling: every one of the n rows joins with probability q.
func poissonRows(n int, q float64, rng *rand.Rand) train.Batches[[]int] {
	return func(int) ([]int, error) {
		var batch []int
		for i := range n {
			if rng.Float64() < q {
				batch = append(batch, i)
			}
		}
		return batch, nil
	}
}

// microBatch is rows idx of e as step inputs padded to B rows; with no rows it is one padding row of weight 0.
func microBatch(e *finetune.Encoded, idx []int, B int, regression bool) []*tensors.Tensor {
	if len(idx) > 0 {
		return e.Batch(idx, B, regression)
	}
	in := e.Batch([]int{0}, B, regression)
	in[4] = tensors.FromFlatDataAndDimensions(make([]float32, B), B)
	return in
}
