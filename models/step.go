package models

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Optim configures Adam(W) with a linear warm-up then linear decay to zero, and global-norm gradient clipping.
type Optim struct {
	LearningRate float64
	WarmupSteps  int
	TotalSteps   int     // decay reaches 0 here; 0 = constant after warm-up
	WeightDecay  float64 // decoupled (AdamW), 0 = plain Adam
	ClipNorm     float64 // 0 = no clipping
	// Scope separates this trainer's Adam moments from others on the same model (e.g. recovery then tuning).
	Scope string
}

// LearningRateAt is the scheduled learning rate at 0-based step.
func (o Optim) LearningRateAt(step int) float64 {
	lr := o.LearningRate
	if o.WarmupSteps > 0 && step < o.WarmupSteps {
		return lr * float64(step+1) / float64(o.WarmupSteps)
	}
	if o.TotalSteps > 0 {
		rest := o.TotalSteps - o.WarmupSteps
		if rest <= 0 {
			return lr
		}
		frac := float64(step-o.WarmupSteps) / float64(rest)
		return lr * math.Max(0, 1-frac)
	}
	return lr
}

// LossFn builds a scalar training loss from a batch's input nodes (in the order given to Trainer.Step).
// It may return extra scalar metrics (e.g. accuracy) after the loss.
type LossFn func(ctx *context.Context, inputs []*Node) (loss *Node, extras []*Node)

// Trainer is a compiled training step on a model: forward, gradients of the trainable variables, clipping, and
// the Adam update, all in one graph. Shapes are fixed: each distinct input shape compiles once.
type Trainer struct {
	model *Model
	optim Optim
	exec  *context.Exec
	lrVar *context.Variable
	step  int
}

// GradientsFn computes a training step's loss, extra metrics and the gradients the optimizer applies, one per
// trainable variable in use, in ctx.IterVariables order (as ctx.BuildTrainableVariablesGradientsGraph returns
// them). It is the hook a privacy mechanism wraps to change how a step's gradient is made (per-example clipping
// and noise for DP-SGD); Optim.ClipNorm still clips the result unless it is 0.
type GradientsFn func(ctx *context.Context, inputs []*Node, loss LossFn) (l *Node, extras, grads []*Node)

// BackpropGradients is the default GradientsFn: the loss on the whole batch and its gradient.
func BackpropGradients(ctx *context.Context, inputs []*Node, loss LossFn) (*Node, []*Node, []*Node) {
	l, extras := loss(ctx, inputs)
	return l, extras, ctx.BuildTrainableVariablesGradientsGraph(l)
}

// NewTrainer compiles lazily on the first Step; which variables train is decided by their Trainable flag then.
func (m *Model) NewTrainer(optim Optim, loss LossFn) (*Trainer, error) {
	return m.NewTrainerWithGradients(optim, loss, BackpropGradients)
}

// NewTrainerWithGradients is NewTrainer with the gradients computed by grads (nil: BackpropGradients).
func (m *Model) NewTrainerWithGradients(optim Optim, loss LossFn, gradients GradientsFn) (*Trainer, error) {
	if gradients == nil {
		gradients = BackpropGradients
	}
	if optim.LearningRate <= 0 {
		return nil, fmt.Errorf("learning rate must be positive, got %v", optim.LearningRate)
	}
	scope := optim.Scope
	if scope == "" {
		scope = "adam"
	}
	adam := optimizers.Adam().LearningRate(optim.LearningRate).WeightDecay(optim.WeightDecay).Scope(scope).Done()
	updater, ok := adam.(interface {
		UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
	})
	if !ok {
		return nil, fmt.Errorf("gomlx Adam does not expose UpdateGraphWithGradients")
	}
	t := &Trainer{model: m, optim: optim}
	t.lrVar = optimizers.LearningRateVar(m.Ctx, dtypes.Float32, optim.LearningRate)
	exec, err := context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		ctx.SetTraining(g, true)
		l, extras, grads := gradients(ctx, inputs, loss)
		if optim.ClipNorm > 0 {
			grads = ClipByGlobalNorm(grads, optim.ClipNorm)
		}
		updater.UpdateGraphWithGradients(ctx, grads, l.DType())
		return append([]*Node{l}, extras...)
	})
	if err != nil {
		return nil, fmt.Errorf("building training step: %w", err)
	}
	t.exec = exec
	return t, nil
}

// ClipByGlobalNorm scales all gradients by min(1, maxNorm/‖g‖) where ‖g‖ is the norm over all of them.
func ClipByGlobalNorm(grads []*Node, maxNorm float64) []*Node {
	var sq *Node
	for _, gr := range grads {
		s := ReduceAllSum(Square(gr))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	norm := Sqrt(sq)
	factor := MinScalar(DivScalar(Inverse(MaxScalar(norm, 1e-12)), 1/maxNorm), 1)
	out := make([]*Node, len(grads))
	for i, gr := range grads {
		out[i] = Mul(gr, ConvertDType(factor, gr.DType()))
	}
	return out
}

// Step runs one training step with the scheduled learning rate and returns the loss and any extras.
func (t *Trainer) Step(inputs ...*tensors.Tensor) (loss float32, extras []float32, err error) {
	t.lrVar.MustSetValue(tensors.FromScalar(float32(t.optim.LearningRateAt(t.step))))
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	outs, err := t.exec.Exec(args...)
	if err != nil {
		return 0, nil, fmt.Errorf("training step %d: %w", t.step, err)
	}
	t.step++
	vals := make([]float32, len(outs))
	for i, o := range outs {
		vals[i] = tensors.ToScalar[float32](o)
		o.FinalizeAll()
	}
	if math.IsNaN(float64(vals[0])) || math.IsInf(float64(vals[0]), 0) {
		return vals[0], vals[1:], fmt.Errorf("training step %d: loss is %v", t.step-1, vals[0])
	}
	return vals[0], vals[1:], nil
}

// SetStep positions the learning-rate schedule (when resuming from a checkpoint taken at step n).
func (t *Trainer) SetStep(n int) { t.step = n }

// Steps is the number of steps run so far.
func (t *Trainer) Steps() int { return t.step }

// Finalize frees the compiled step.
func (t *Trainer) Finalize() { t.exec.Finalize() }

// ForwardFn builds inference outputs from input nodes.
type ForwardFn func(ctx *context.Context, inputs []*Node) []*Node

// Predictor is a compiled inference graph (training mode off: no dropout).
type Predictor struct{ exec *context.Exec }

// NewPredictor compiles fn lazily on first use.
func (m *Model) NewPredictor(fn ForwardFn) (*Predictor, error) {
	exec, err := context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, inputs []*Node) []*Node {
		ctx.SetTraining(inputs[0].Graph(), false)
		return fn(ctx, inputs)
	})
	if err != nil {
		return nil, fmt.Errorf("building inference graph: %w", err)
	}
	return &Predictor{exec: exec}, nil
}

// Run executes the graph; the caller owns (and should FinalizeAll) the returned tensors.
func (p *Predictor) Run(inputs ...*tensors.Tensor) ([]*tensors.Tensor, error) {
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	outs, err := p.exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("inference: %w", err)
	}
	return outs, nil
}

// Finalize frees the compiled graph.
func (p *Predictor) Finalize() { p.exec.Finalize() }
