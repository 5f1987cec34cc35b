package dpsgd

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// accumulatorScope holds the running sums of clipped per-example gradients between the steps of one batch.
// It is outside the model's scopes, so it is never saved or copied with the weights.
const accumulatorScope = "/dpsgd_accumulator"

// exampleLoss is one example's loss from its [1,k] logits: cross-entropy, or squared error when k = 1.
func exampleLoss(logits, label *Node, k int) *Node {
	if k == 1 {
		return ReduceAllSum(Square(Sub(Reshape(logits, 1), label)))
	}
	return ReduceAllSum(models.CrossEntropy(logits, label))
}

// trainableInUse lists the trainable variables graph g reads, in ctx.IterVariables order (the order gomlx's
// optimizers expect their gradients in).
func trainableInUse(ctx *context.Context, g *Graph) []*context.Variable {
	var out []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			out = append(out, v)
		}
	}
	return out
}

// PerExample is what ClippedGradients builds for one batch.
type PerExample struct {
	// Vars are the trainable variables the gradients are for, in ctx.IterVariables order.
	Vars []*context.Variable
	// Sum is Σ_i w_i · clip(g_i), one node per variable.
	Sum []*Node
	// Losses [B], RawNorms [B] and ClippedNorms [B] are each example's loss, its gradient's L2 norm over all
	// variables, and the norm of the clipped gradient, computed from the clipped tensors themselves.
	Losses, RawNorms, ClippedNorms *Node
}

// ClippedGradients builds per-example gradients the way docs/design.md §8 describes (gomlx has no vmap): the model is
// built once per example of the batch on that example alone, sharing the variables, and each replica's loss is
// differentiated. Each example's gradient g_i (over all trainable variables the model uses) is scaled by
// min(1, clip/‖g_i‖), then weighted by w_i (0 for the padding rows of a partial batch) and summed.
// in is (ids [B,T], segments [B,T], mask [B,T], labels [B], weights [B]); k is the task head's width.
func ClippedGradients(ctx *context.Context, m *models.Model, in []*Node, k int, clip float64) PerExample {
	g := in[0].Graph()
	B := in[0].Shape().Dimensions[0]
	var out PerExample
	var varNodes []*Node
	losses, raw, clipped := make([]*Node, B), make([]*Node, B), make([]*Node, B)
	for i := range B {
		row := func(x *Node) *Node { return Slice(x, AxisRange(i, i+1)) }
		logits := finetune.Logits(m, ctx, []*Node{row(in[0]), row(in[1]), row(in[2])}, k)
		loss := exampleLoss(logits, row(in[3]), k)
		if out.Vars == nil {
			out.Vars = trainableInUse(ctx, g)
			for _, v := range out.Vars {
				varNodes = append(varNodes, v.ValueGraph(g))
			}
		}
		grads := Gradient(loss, varNodes...)
		raw[i] = globalNorm(grads)
		factor := MinScalar(DivScalar(Inverse(MaxScalar(raw[i], 1e-12)), 1/clip), 1)
		for j := range grads {
			grads[j] = Mul(grads[j], factor)
		}
		clipped[i] = globalNorm(grads)
		w := Reshape(row(in[4])) // this example's weight, a scalar
		if out.Sum == nil {
			out.Sum = make([]*Node, len(grads))
		}
		for j, gr := range grads {
			gr = Mul(gr, w)
			if out.Sum[j] == nil {
				out.Sum[j] = gr
			} else {
				out.Sum[j] = Add(out.Sum[j], gr)
			}
		}
		losses[i] = loss
	}
	out.Losses, out.RawNorms, out.ClippedNorms = Stack(losses, 0), Stack(raw, 0), Stack(clipped, 0)
	return out
}

// globalNorm is the L2 norm of the concatenation of xs.
func globalNorm(xs []*Node) *Node {
	var sq *Node
	for _, x := range xs {
		s := ReduceAllSum(Square(x))
		if sq == nil {
			sq = s
		} else {
			sq = Add(sq, s)
		}
	}
	return Sqrt(sq)
}

// gradientUpdater is implemented by gomlx's Adam (the hook for gradients computed by hand).
type gradientUpdater interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// Engine runs DP-SGD on a model: Accumulate adds the clipped per-example gradients of a micro-batch of at most
// the preset's batch size to accumulators (a Poisson-sampled batch may take several), and Apply adds Gaussian
// noise N(0, (σC)²) to the accumulated sum, divides by the expected batch size, takes an AdamW step and clears
// the accumulators. The token table is frozen by the caller: the per-example gradient of a [V,d] table is dense
// here, V·d floats per example.
type Engine struct {
	model       *models.Model
	clip, sigma float64
	optim       models.Optim
	accumulate  *context.Exec
	apply       *context.Exec
	lr          *context.Variable
	vars        []*context.Variable
	accums      []*context.Variable
	steps       int
}

// NewEngine compiles the two graphs (lazily, on first use) for a task head of width k.
func NewEngine(m *models.Model, k int, clip, noiseMultiplier float64, optim models.Optim) (*Engine, error) {
	adam, ok := optimizers.Adam().LearningRate(optim.LearningRate).WeightDecay(optim.WeightDecay).Scope(optim.Scope).Done().(gradientUpdater)
	if !ok {
		return nil, fmt.Errorf("gomlx Adam does not expose UpdateGraphWithGradients")
	}
	e := &Engine{model: m, clip: clip, sigma: noiseMultiplier, optim: optim,
		lr: optimizers.LearningRateVar(m.Ctx, dtypes.Float32, optim.LearningRate)}
	var err error
	e.accumulate, err = context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, in []*Node) []*Node {
		g := in[0].Graph()
		ctx.SetTraining(g, true)
		pe := ClippedGradients(ctx, m, in, k, clip)
		if e.vars == nil {
			e.vars = pe.Vars
			acc := ctx.InAbsPath(accumulatorScope).WithInitializer(initializers.Zero)
			for j, v := range e.vars {
				a := acc.VariableWithShape(fmt.Sprintf("g%04d", j), v.Shape())
				a.SetTrainable(false)
				e.accums = append(e.accums, a)
			}
		}
		if len(pe.Vars) != len(e.vars) {
			panic(fmt.Sprintf("dp-sgd: %d trainable variables, the accumulators were made for %d", len(pe.Vars), len(e.vars)))
		}
		for j, a := range e.accums {
			a.SetValueGraph(Add(a.ValueGraph(g), pe.Sum[j]))
		}
		weights := in[4]
		return []*Node{ReduceAllSum(Mul(pe.Losses, weights)), ReduceAllSum(weights)}
	})
	if err != nil {
		return nil, fmt.Errorf("building the DP-SGD accumulation step: %w", err)
	}
	e.apply, err = context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, expectedBatch *Node) *Node {
		g := expectedBatch.Graph()
		if e.vars == nil {
			panic("dp-sgd: Apply before any Accumulate")
		}
		for _, v := range e.vars {
			v.ValueGraph(g) // the optimizer updates the variables this graph uses
		}
		noisy := make([]*Node, len(e.accums))
		for j, a := range e.accums {
			sum := a.ValueGraph(g)
			noise := MulScalar(ctx.RandomNormal(g, sum.Shape()), noiseMultiplier*clip)
			noisy[j] = Div(Add(sum, noise), ConvertDType(expectedBatch, sum.DType()))
			a.SetValueGraph(ZerosLike(sum))
		}
		adam.UpdateGraphWithGradients(ctx, noisy, dtypes.Float32)
		return globalNorm(noisy)
	})
	if err != nil {
		return nil, fmt.Errorf("building the DP-SGD update step: %w", err)
	}
	return e, nil
}

// Accumulate adds the clipped gradients of one micro-batch, (ids, segments, mask, labels, weights) as
// finetune.Encoded.Batch makes it, and returns its summed loss and the number of real examples.
func (e *Engine) Accumulate(batch []*tensors.Tensor) (lossSum, count float32, err error) {
	args := make([]any, len(batch))
	for i, b := range batch {
		args[i] = b
	}
	outs, err := e.accumulate.Exec(args...)
	if err != nil {
		return 0, 0, fmt.Errorf("dp-sgd accumulation: %w", err)
	}
	lossSum, count = tensors.ToScalar[float32](outs[0]), tensors.ToScalar[float32](outs[1])
	for _, o := range outs {
		o.FinalizeAll()
	}
	return lossSum, count, nil
}

// Apply noises the accumulated sum, divides it by expectedBatch, takes the optimizer step (learning rate from
// the schedule) and clears the accumulators. It returns the norm of the noisy mean gradient.
func (e *Engine) Apply(expectedBatch float64) (float32, error) {
	if e.vars == nil {
		return 0, fmt.Errorf("dp-sgd: Apply before any Accumulate")
	}
	e.lr.MustSetValue(tensors.FromScalar(float32(e.optim.LearningRateAt(e.steps))))
	out, err := e.apply.Exec(tensors.FromScalar(float32(expectedBatch)))
	if err != nil {
		return 0, fmt.Errorf("dp-sgd update %d: %w", e.steps, err)
	}
	e.steps++
	norm := tensors.ToScalar[float32](out[0])
	out[0].FinalizeAll()
	return norm, nil
}

// Steps is the number of updates applied.
func (e *Engine) Steps() int { return e.steps }

// Finalize frees the compiled graphs.
func (e *Engine) Finalize() {
	e.accumulate.Finalize()
	e.apply.Finalize()
}
