// Package bench measures what the models cost on this machine: the step kinds every phase is built from
// (fine-tuning steps with the token table trainable and frozen, inference at two batch sizes, the pre-training
// step) of a preset on a backend configuration with random inputs, a float32 GEMM reference (gonum BLAS) run in
// the same process so the model's achieved GFLOP/s is reported as a ratio to what a plain matrix product reaches
// here, and the comparison with the PyTorch peer (scripts/peer/bench.py): parsing its JSON lines and the speed
// ratio of the project to it over alternating rounds (peer.go).
package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// Kind is one measured step kind. The names are shared with the PyTorch peer's JSON lines.
type Kind string

// The step kinds, in the order they are measured.
const (
	// FinetuneTrainable is one fine-tuning step (2-label task loss, AdamW, global-norm clipping) with the token
	// table trained.
	FinetuneTrainable Kind = "finetune_trainable"
	// FinetuneFrozen is the same step with the token table frozen (the private-tuning regime).
	FinetuneFrozen Kind = "finetune_frozen"
	// Infer32 and Infer128 are inference (task logits, no dropout) on batches of 32 and 128 examples.
	Infer32  Kind = "infer_b32"
	Infer128 Kind = "infer_b128"
	// Pretrain is one pre-training step of the default recipe: masked-LM on ⌈0.15·T⌉ slots per sequence with the
	// output tied to the (frozen) token table, plus the sentence-pair loss.
	Pretrain Kind = "pretrain"
)

// AllKinds lists every kind in measuring order.
func AllKinds() []Kind { return []Kind{FinetuneTrainable, FinetuneFrozen, Infer32, Infer128, Pretrain} }

// ParseKinds reads kind names ("all" = every kind), rejecting unknown ones with the valid names.
func ParseKinds(names []string) ([]Kind, error) {
	var out []Kind
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "all" {
			return AllKinds(), nil
		}
		k := Kind(n)
		if !slices.Contains(AllKinds(), k) {
			return nil, fmt.Errorf("unknown bench kind %q (valid: all, %s)", n, strings.Join(kindNames(), ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no bench kind given (valid: all, %s)", strings.Join(kindNames(), ", "))
	}
	return out, nil
}

func kindNames() []string {
	var s []string
	for _, k := range AllKinds() {
		s = append(s, string(k))
	}
	return s
}

// Training reports whether the kind is a training step (timed per step) rather than inference.
func (k Kind) Training() bool { return k == FinetuneTrainable || k == FinetuneFrozen || k == Pretrain }

// Batch is the number of examples one step of the kind processes on preset p.
func (k Kind) Batch(p models.Preset) int {
	switch k {
	case Infer32:
		return 32
	case Infer128:
		return 128
	default:
		return p.BatchSize
	}
}

// ForwardFLOPs counts the multiply-adds ×2 of one example's forward pass through the encoder and the pooler:
// per layer, Q/K/V/output projections (4·T·d²), attention scores and context (2·T²·d), the FFN (2·T·d·f).
func ForwardFLOPs(p models.Preset) float64 {
	T, d, f := float64(p.MaxLen), float64(p.Hidden), float64(p.FFN)
	perLayer := 4*T*d*d + 2*T*T*d + 2*T*d*f
	return 2 * (float64(p.Layers)*perLayer + d*d)
}

// FLOPsPerExample is the counted work of one example in a step of the kind: the forward pass, ×3 for training
// (forward and backward). The masked-LM output product of the pre-training step is not counted.
func (k Kind) FLOPsPerExample(p models.Preset) float64 {
	if k.Training() {
		return 3 * ForwardFLOPs(p)
	}
	return ForwardFLOPs(p)
}

// Measurement is one timed step kind.
type Measurement struct {
	Kind    Kind
	Preset  string
	Backend string
	// Params counts the model's trainable values (for inference: those of the trainable-table model).
	Params int
	Batch  int
	Steps  int
	// StepSeconds is the median wall time of one timed step (one batch for inference); MeanStepSeconds the mean.
	StepSeconds, MeanStepSeconds float64
	// ExPerSec is Batch / StepSeconds.
	ExPerSec float64
	GFLOPS   float64
}

// String renders a measurement.
func (r Measurement) String() string {
	return fmt.Sprintf("%s on %s, %s: %.4f s/step, %.1f ex/s", r.Preset, r.Backend, r.Kind, r.StepSeconds, r.ExPerSec)
}

// Warmup is the number of untimed steps run before each kind's timed ones: the first compiles the graph.
const Warmup = 2

// MeasureKinds times steps steps of each kind (after Warmup untimed ones) on preset p with random inputs on the
// given backend configuration. Each kind gets a fresh model.
func MeasureKinds(p models.Preset, vocab int, backendConfig string, kinds []Kind, steps int) ([]Measurement, error) {
	if steps <= 0 {
		return nil, fmt.Errorf("bench: steps must be positive, got %d", steps)
	}
	b, err := backend.New(backendConfig)
	if err != nil {
		return nil, err
	}
	defer b.Finalize()
	var out []Measurement
	for _, k := range kinds {
		m, err := models.New(p, vocab, 1)
		if err != nil {
			return nil, err
		}
		m.Backend = b
		times, params, err := timeKind(m, k, steps)
		if err != nil {
			return nil, fmt.Errorf("bench %s on %s, %s: %w", p.Name, backendConfig, k, err)
		}
		med, mean := Median(times), mean(times)
		batch := k.Batch(p)
		out = append(out, Measurement{Kind: k, Preset: p.Name, Backend: backendConfig, Params: params, Batch: batch,
			Steps: steps, StepSeconds: med, MeanStepSeconds: mean, ExPerSec: float64(batch) / med,
			GFLOPS: k.FLOPsPerExample(p) * float64(batch) / med / 1e9})
	}
	return out, nil
}

// timeKind runs Warmup + steps steps of kind k on m and returns the timed steps' wall seconds and the number of
// trainable values.
func timeKind(m *models.Model, k Kind, steps int) ([]float64, int, error) {
	p := m.Preset
	rng := rand.New(rand.NewPCG(1, 2))
	batch := k.Batch(p)
	var step func() error
	switch k {
	case FinetuneTrainable, FinetuneFrozen:
		m.SetTokenTableTrainable(k == FinetuneTrainable)
		cfg := finetune.DefaultConfig()
		trainer, err := finetune.NewTrainer(m, 2, models.Optim{LearningRate: cfg.LearningRate, WarmupSteps: 0,
			WeightDecay: cfg.WeightDecay, ClipNorm: 1, Scope: "adam_finetune"})
		if err != nil {
			return nil, 0, err
		}
		defer trainer.Finalize()
		enc := randomEncoded(rng, batch, p.MaxLen, m.VocabSize)
		step = func() error {
			_, _, err := trainer.Step(enc.Batch(seq(batch), batch, false)...)
			return err
		}
	case Infer32, Infer128:
		pred, err := m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
			return []*Node{finetune.Logits(m, c, in, 2)}
		})
		if err != nil {
			return nil, 0, err
		}
		defer pred.Finalize()
		enc := randomEncoded(rng, batch, p.MaxLen, m.VocabSize)
		step = func() error {
			outs, err := pred.Run(enc.Batch(seq(batch), batch, false)[:3]...)
			if err != nil {
				return err
			}
			_ = tensors.MustCopyFlatData[float32](outs[0]) // the logits reach the caller, as in finetune.Predict
			for _, o := range outs {
				o.FinalizeAll()
			}
			return nil
		}
	case Pretrain:
		// The default recipe: the token table is frozen (pretrain.Config.TrainTable), AdamW with weight decay 0.01
		// and clipping at 1, the loss MLM + pair.
		cfg := pretrain.DefaultConfig(p.Name)
		m.SetTokenTableTrainable(cfg.TrainTable)
		trainer, err := m.NewTrainer(models.Optim{LearningRate: cfg.LearningRate, WeightDecay: 0.01, ClipNorm: 1,
			Scope: "adam_pretrain"}, func(c *context.Context, in []*Node) (*Node, []*Node) {
			mlm, pair := pretrain.Loss(m, c, in)
			return Add(mlm, pair), []*Node{mlm}
		})
		if err != nil {
			return nil, 0, err
		}
		defer trainer.Finalize()
		b := RandomPretrainBatch(rng, batch, p.MaxLen, cfg.MaskProb, m.VocabSize)
		step = func() error {
			_, _, err := trainer.Step(b.Tensors()...)
			return err
		}
	default:
		return nil, 0, fmt.Errorf("unknown bench kind %q", k)
	}
	var times []float64
	for i := range Warmup + steps {
		start := time.Now()
		if err := step(); err != nil {
			return nil, 0, err
		}
		if i >= Warmup {
			times = append(times, time.Since(start).Seconds())
		}
	}
	return times, TrainableParams(m), nil
}

// TrainableParams counts the trainable values of m's model variables built so far (optimizer state excluded).
func TrainableParams(m *models.Model) int {
	n := 0
	for v := range m.Ctx.IterVariables() {
		if v.Trainable && isModelScope(v.Scope()) {
			n += v.Shape().Size()
		}
	}
	return n
}

func isModelScope(s string) bool {
	for _, p := range []string{"/embeddings", "/encoder", "/pooler", "/task_head", "/mlm"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// FinetuneParams builds the fine-tuning model of preset p (a 2-label task head) and returns its trainable values
// with the token table trainable and frozen: for tiny with the bert-base-uncased vocabulary, 4,328,834 and
// 422,018. The PyTorch peer asserts the same counts.
func FinetuneParams(p models.Preset, vocab int) (trainable, frozen int, err error) {
	m, err := models.New(p, vocab, 1)
	if err != nil {
		return 0, 0, err
	}
	pred, err := m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		return []*Node{finetune.Logits(m, c, in, 2)}
	})
	if err != nil {
		return 0, 0, err
	}
	defer pred.Finalize()
	enc := randomEncoded(rand.New(rand.NewPCG(1, 2)), 1, p.MaxLen, vocab)
	outs, err := pred.Run(enc.Batch([]int{0}, 1, false)[:3]...) // builds the variables
	if err != nil {
		return 0, 0, err
	}
	for _, o := range outs {
		o.FinalizeAll()
	}
	trainable = TrainableParams(m)
	m.SetTokenTableTrainable(false)
	return trainable, TrainableParams(m), nil
}

// randomEncoded is n single-segment sequences of T random regular ids (no padding) with alternating labels.
func randomEncoded(rng *rand.Rand, n, T, vocab int) *finetune.Encoded {
	enc := &finetune.Encoded{N: n, T: T}
	for range n * T {
		enc.IDs = append(enc.IDs, 999+rng.Int32N(int32(vocab-999)))
		enc.Segments = append(enc.Segments, 0)
		enc.Mask = append(enc.Mask, 1)
	}
	for i := range n {
		enc.Labels = append(enc.Labels, float64(i%2))
	}
	return enc
}

// RandomPretrainBatch is a pre-training batch of B random full-length sequences of T ids shaped like the
// sampler's: ⌈maskProb·T⌉ masked slots per sequence at distinct positions 1..T-2 (the first round(maskProb·(T-2))
// weighted 1), random targets, and a sentence-pair label on every example.
func RandomPretrainBatch(rng *rand.Rand, B, T int, maskProb float64, vocab int) *pretrain.Batch {
	P := pretrain.MaxPredictions(T, maskProb)
	k := min(P, int(maskProb*float64(T-2)+0.5))
	b := &pretrain.Batch{B: B, T: T, P: P, Positions: make([]int32, B*P), Targets: make([]int32, B*P),
		Weights: make([]float32, B*P), IsNext: make([]int32, B), PairWeights: make([]float32, B)}
	for i := range B {
		for t := range T {
			b.IDs = append(b.IDs, 999+rng.Int32N(int32(vocab-999)))
			b.Segments = append(b.Segments, int32(min(1, 2*t/T)))
			b.Mask = append(b.Mask, 1)
		}
		perm := rng.Perm(T - 2)
		for j := range P {
			b.Positions[i*P+j] = int32(1 + perm[j])
			b.Targets[i*P+j] = 999 + rng.Int32N(int32(vocab-999))
			if j < k {
				b.Weights[i*P+j] = 1
			}
		}
		b.IsNext[i], b.PairWeights[i] = int32(rng.IntN(2)), 1
	}
	return b
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// Median of xs (NaN-free; 0 for none). xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// GEMM measures float32 n×n×n matrix products with gonum's BLAS, split over GOMAXPROCS goroutines by rows,
// and returns GFLOP/s (best of reps).
func GEMM(n, reps int) float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func() blas32.General {
		g := blas32.General{Rows: n, Cols: n, Stride: n, Data: make([]float32, n*n)}
		for i := range g.Data {
			g.Data[i] = rng.Float32()
		}
		return g
	}
	a, bm, c := mk(), mk(), mk()
	workers := runtime.GOMAXPROCS(0)
	best := 0.0
	for range reps {
		start := time.Now()
		var wg sync.WaitGroup
		rows := (n + workers - 1) / workers
		for w := range workers {
			lo, hi := w*rows, min(n, (w+1)*rows)
			if lo >= hi {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sa := blas32.General{Rows: hi - lo, Cols: n, Stride: n, Data: a.Data[lo*n:]}
				sc := blas32.General{Rows: hi - lo, Cols: n, Stride: n, Data: c.Data[lo*n:]}
				blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, sa, bm, 0, sc)
			}()
		}
		wg.Wait()
		if g := 2 * float64(n) * float64(n) * float64(n) / time.Since(start).Seconds() / 1e9; g > best {
			best = g
		}
	}
	return best
}
