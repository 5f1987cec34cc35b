package cryptofriendly

import (
	stdctx "context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/train"
)

// MPCFormerApprox is the variant this package distils by default (MPCFormer, Li et al., ICLR 2023): GELU →
// "Quad" 0.125x² + 0.25x + 0.5, softmax → 2Quad (s + 5)², LayerNorm kept. The pooler's tanh is dropped
// (PoolerTanh = x): the pooler and the head become two affine maps, which cost no non-linear evaluation at
// all, and distillation re-fits the head; a polynomial fitted to tanh on a clipped range would grow without
// bound outside it, where an engine cannot tell it has left the range.
func MPCFormerApprox() models.Approximations {
	return models.Approximations{GELU: []float64{0.5, 0.25, 0.125}, Softmax: models.Softmax2Quad, SoftmaxShift: 5,
		PoolerTanh: []float64{0, 1}}
}

// DistillConfig controls Distill.
type DistillConfig struct {
	Approx       models.Approximations
	Epochs       int
	LearningRate float64
	WarmupFrac   float64
	WeightDecay  float64
	// Temperature τ of the logit loss τ²·KL(softmax(t/τ) ‖ softmax(s/τ)) (classification; regression uses the
	// squared difference of the scores).
	Temperature float64
	// HiddenWeight weighs the mean squared difference of every layer's hidden states over the real tokens
	// (MPCFormer's layer-wise distillation); 0 distils the logits only.
	HiddenWeight float64
	Seed         uint64
	Progress     bool
}

// DefaultDistillConfig is the setting the reproduction uses for the tiny preset.
func DefaultDistillConfig() DistillConfig {
	return DistillConfig{Approx: MPCFormerApprox(), Epochs: 5, LearningRate: 1e-3, WarmupFrac: 0.1, WeightDecay: 0.01,
		Temperature: 1, HiddenWeight: 1, Seed: 1}
}

// Report is what a distillation measured.
type Report struct {
	// KDLossBefore and KDLossAfter are the logit loss of the student against the teacher on the training
	// examples (no dropout), at the start (the teacher's weights under the approximations) and at the end.
	KDLossBefore, KDLossAfter float64
	Curve                     []float64 // mean training loss (logits + hidden) per epoch
	Steps                     int
	TrainExamples             int
	Seconds                   float64
}

// Distill makes the crypto-friendly student of teacher (a model fine-tuned on the task): a copy of the teacher's
// weights with cfg.Approx set, trained on train's examples to match the teacher's logits (and hidden states).
// Which weights train follows the teacher's Trainable flags.
func Distill(ctx stdctx.Context, teacher *models.Model, info datasets.TaskInfo, data *finetune.Encoded, cfg DistillConfig) (*models.Model, *Report, error) {
	start := time.Now()
	p := teacher.Preset
	B := p.BatchSize
	switch {
	case data.N < B:
		return nil, nil, fmt.Errorf("distilling %s: %d training examples is fewer than one batch of %d", info.Name, data.N, B)
	case cfg.Epochs <= 0 || cfg.LearningRate <= 0 || cfg.Temperature <= 0 || cfg.HiddenWeight < 0:
		return nil, nil, fmt.Errorf("distilling %s: epochs, learning rate and temperature must be positive, hidden weight ≥ 0", info.Name)
	}
	if err := cfg.Approx.Validate(); err != nil {
		return nil, nil, fmt.Errorf("distilling %s: %w", info.Name, err)
	}
	k := max(info.NumLabels, 1)
	targets, err := teacherTargets(teacher, data, k, cfg.HiddenWeight > 0)
	if err != nil {
		return nil, nil, fmt.Errorf("distilling %s: teacher targets: %w", info.Name, err)
	}
	student, err := copyModel(teacher, cfg.Seed)
	if err != nil {
		return nil, nil, fmt.Errorf("distilling %s: %w", info.Name, err)
	}
	approx := cfg.Approx
	student.Approx = &approx
	rep := &Report{TrainExamples: data.N}
	if rep.KDLossBefore, err = studentKDLoss(student, info, data, targets.logits, k, cfg.Temperature); err != nil {
		return nil, nil, fmt.Errorf("distilling %s: %w", info.Name, err)
	}

	perEpoch := data.N / B
	total := perEpoch * cfg.Epochs
	trainer, err := student.NewTrainer(models.Optim{LearningRate: cfg.LearningRate, WarmupSteps: int(cfg.WarmupFrac * float64(total)),
		TotalSteps: total, WeightDecay: cfg.WeightDecay, ClipNorm: 1, Scope: "adam_distill"},
		func(c *context.Context, in []*Node) (*Node, []*Node) {
			return distillLoss(student, c, in, k, cfg), nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("distilling %s: %w", info.Name, err)
	}
	defer trainer.Finalize()
	rows := train.NewShuffled(data.N, B, rand.New(rand.NewPCG(cfg.Seed, 0xd157)))
	loop := train.Loop[[]*tensors.Tensor]{Name: "distillation", Steps: total, StepsPerEpoch: perEpoch,
		Progress: cfg.Progress, Label: "distilling " + info.Name,
		Batches: func(step int) ([]*tensors.Tensor, error) {
			idx := rows.Rows(step)
			return targets.batch(data.Batch(idx, B, k == 1), idx), nil
		},
		Step: func(ctx stdctx.Context, step int, batch []*tensors.Tensor) (train.Output, error) {
			out, err := finetune.TrainerStep(trainer)(ctx, step, batch)
			if err != nil {
				return out, fmt.Errorf("distilling %s: %w", info.Name, err)
			}
			return out, nil
		}}
	run, err := loop.Run(ctx)
	if err != nil {
		return nil, nil, err
	}
	rep.Curve = run.Losses()
	for _, pt := range run.Curve {
		slog.Debug("distillation epoch", "task", info.Name, "epoch", pt.Epoch, "loss", pt.Loss)
	}
	rep.Steps = trainer.Steps()
	if rep.KDLossAfter, err = studentKDLoss(student, info, data, targets.logits, k, cfg.Temperature); err != nil {
		return nil, nil, fmt.Errorf("distilling %s: %w", info.Name, err)
	}
	rep.Seconds = time.Since(start).Seconds()
	return student, rep, nil
}

// copyModel returns a new model holding copies of m's weights (not its optimizer state), with the same
// trainable flags.
func copyModel(m *models.Model, seed uint64) (*models.Model, error) {
	out, err := models.New(m.Preset, m.VocabSize, seed)
	if err != nil {
		return nil, fmt.Errorf("copying the teacher: %w", err)
	}
	// The scopes holding a model's weights (not optimizer or RNG state; the MLM head is not needed).
	modelScopes := []string{"/embeddings", "/encoder", "/pooler", "/task_head"}
	for v := range m.Ctx.IterVariables() {
		if !v.HasValue() || !slices.ContainsFunc(modelScopes, func(s string) bool { return strings.HasPrefix(v.Scope(), s) }) {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("copying %s: %w", v.ScopeAndName(), err)
		}
		c := tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](t), v.Shape().Dimensions...)
		dst := out.Ctx.GetVariableByScopeAndName(v.Scope(), v.Name())
		if dst == nil {
			dst = out.Ctx.InAbsPath(v.Scope()).VariableWithValue(v.Name(), c)
		} else if err := dst.SetValue(c); err != nil {
			return nil, fmt.Errorf("copying %s: %w", v.ScopeAndName(), err)
		}
		dst.SetTrainable(v.Trainable)
	}
	return out, nil
}

// hiddenAndFinal returns the output of every layer but the last, and the encoder's final output.
func hiddenAndFinal(m *models.Model, c *context.Context, in []*Node, withHidden bool) ([]*Node, *Node) {
	inputs := models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}
	var hidden []*Node
	if withHidden {
		for l := 1; l < m.Preset.Layers; l++ {
			hidden = append(hidden, m.Encode(c, inputs, l))
		}
	}
	final := m.Encode(c, inputs, -1)
	if withHidden {
		hidden = append(hidden, final)
	}
	return hidden, final
}

// distillLoss: in = ids, segments, mask, labels, weights (Encoded.Batch), teacher logits [B,k], then one
// teacher hidden-state tensor [B,T,d] per layer when cfg.HiddenWeight > 0.
func distillLoss(m *models.Model, c *context.Context, in []*Node, k int, cfg DistillConfig) *Node {
	hidden, final := hiddenAndFinal(m, c, in, cfg.HiddenWeight > 0)
	logits := m.TaskHead(c, m.Pool(c, final), k)
	weights, teacher := in[4], in[5]
	var per *Node
	if k == 1 {
		per = Square(Sub(Squeeze(logits, 1), Squeeze(teacher, 1)))
	} else {
		tau := cfg.Temperature
		logPs := logSoftmax(DivScalar(logits, tau))
		logPt := logSoftmax(DivScalar(teacher, tau))
		per = MulScalar(ReduceSum(Mul(Exp(logPt), Sub(logPt, logPs)), -1), tau*tau)
	}
	loss := Div(ReduceAllSum(Mul(per, weights)), MaxScalar(ReduceAllSum(weights), 1))
	if cfg.HiddenWeight == 0 {
		return loss
	}
	// Real tokens of the weighted examples: [B,T,1].
	tokenWeight := InsertAxes(Mul(ConvertDType(in[2], weights.DType()), InsertAxes(weights, -1)), -1)
	d := float64(m.Preset.Hidden)
	var sq *Node
	for l, h := range hidden {
		s := ReduceAllSum(Mul(Square(Sub(h, in[6+l])), tokenWeight))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	tokens := MaxScalar(ReduceAllSum(tokenWeight), 1)
	mse := DivScalar(Div(sq, tokens), d*float64(len(hidden)))
	return Add(loss, MulScalar(mse, cfg.HiddenWeight))
}

func logSoftmax(x *Node) *Node { return Sub(x, InsertAxes(models.LogSumExp(x), -1)) }

// targets are the teacher's outputs on every training example.
type targets struct {
	k, T, d int
	logits  []float32   // [N,k]
	hidden  [][]float32 // per layer, [N,T,d]
}

// teacherTargets runs the teacher (no dropout) over all of train.
func teacherTargets(teacher *models.Model, train *finetune.Encoded, k int, withHidden bool) (*targets, error) {
	p := teacher.Preset
	B := p.BatchSize
	tg := &targets{k: k, T: train.T, d: p.Hidden}
	if withHidden {
		tg.hidden = make([][]float32, p.Layers)
	}
	pred, err := teacher.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		hidden, final := hiddenAndFinal(teacher, c, in, withHidden)
		return append([]*Node{teacher.TaskHead(c, teacher.Pool(c, final), k)}, hidden...)
	})
	if err != nil {
		return nil, err
	}
	defer pred.Finalize()
	for s := 0; s < train.N; s += B {
		idx := make([]int, 0, B)
		for i := s; i < min(s+B, train.N); i++ {
			idx = append(idx, i)
		}
		outs, err := pred.Run(train.Batch(idx, B, k == 1)[:3]...)
		if err != nil {
			return nil, err
		}
		n := len(idx)
		tg.logits = append(tg.logits, tensors.MustCopyFlatData[float32](outs[0])[:n*k]...)
		for l := range tg.hidden {
			tg.hidden[l] = append(tg.hidden[l], tensors.MustCopyFlatData[float32](outs[1+l])[:n*tg.T*tg.d]...)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	return tg, nil
}

// batch appends the targets of rows idx to a training batch from Encoded.Batch.
func (tg *targets) batch(inputs []*tensors.Tensor, idx []int) []*tensors.Tensor {
	B := len(idx)
	logits := make([]float32, 0, B*tg.k)
	for _, r := range idx {
		logits = append(logits, tg.logits[r*tg.k:(r+1)*tg.k]...)
	}
	inputs = append(inputs, tensors.FromFlatDataAndDimensions(logits, B, tg.k))
	size := tg.T * tg.d
	for _, layer := range tg.hidden {
		h := make([]float32, 0, B*size)
		for _, r := range idx {
			h = append(h, layer[r*size:(r+1)*size]...)
		}
		inputs = append(inputs, tensors.FromFlatDataAndDimensions(h, B, tg.T, tg.d))
	}
	return inputs
}

// studentKDLoss is the mean logit loss of m against the teacher's logits over e (inference mode).
func studentKDLoss(m *models.Model, info datasets.TaskInfo, e *finetune.Encoded, teacher []float32, k int, tau float64) (float64, error) {
	_, logits, err := finetune.Predict(m, info, e)
	if err != nil {
		return 0, fmt.Errorf("student logits: %w", err)
	}
	return KDLoss(logits, teacher, k, tau), nil
}

// KDLoss is the mean over rows of τ²·KL(softmax(t/τ) ‖ softmax(s/τ)) for student s and teacher t logits
// (row-major [N,k]); for k = 1 (regression) the mean squared difference.
func KDLoss(student, teacher []float32, k int, tau float64) float64 {
	n := len(teacher) / k
	if n == 0 {
		return math.NaN()
	}
	var total float64
	ls, lt := make([]float64, k), make([]float64, k)
	for i := range n {
		s, t := student[i*k:(i+1)*k], teacher[i*k:(i+1)*k]
		if k == 1 {
			diff := float64(s[0]) - float64(t[0])
			total += diff * diff
			continue
		}
		logSoftmaxInto(ls, s, tau)
		logSoftmaxInto(lt, t, tau)
		for j := range k {
			total += tau * tau * math.Exp(lt[j]) * (lt[j] - ls[j])
		}
	}
	return total / float64(n)
}

func logSoftmaxInto(dst []float64, logits []float32, tau float64) {
	mx := math.Inf(-1)
	for j, v := range logits {
		dst[j] = float64(v) / tau
		mx = max(mx, dst[j])
	}
	var sum float64
	for _, v := range dst {
		sum += math.Exp(v - mx)
	}
	lse := mx + math.Log(sum)
	for j := range dst {
		dst[j] -= lse
	}
}
