package dpforward

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// ClipSequences scales each sequence x[b] of x [B,T,d] to Frobenius norm at most clip: x[b]·min(1, C/‖x[b]‖_F).
func ClipSequences(x *Node, clip float64) *Node {
	norms := Sqrt(ReduceSum(Square(x), 1, 2)) // [B]
	factor := MinScalar(DivScalar(Inverse(MaxScalar(norms, 1e-12)), 1/clip), 1)
	return Mul(x, ExpandAxes(factor, 1, 2))
}

// AddNoise adds i.i.d. N(0, sigma²) noise to every entry of x in place.
func AddNoise(x []float32, sigma float64, rng *rand.Rand) {
	for i := range x {
		x[i] += float32(rng.NormFloat64() * sigma)
	}
}

// NoiseRNG is the client's noise stream for one purpose ("train", "inference"), a function of the run's seed.
func NoiseRNG(seed uint64, purpose string) *rand.Rand {
	h := sha256.New()
	h.Write([]byte("cyphertalk/dp-forward/noise/v1/" + purpose))
	_ = binary.Write(h, binary.BigEndian, seed)
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return rand.New(rand.NewChaCha8(key))
}

// Client is the data owner's half of the split model: it runs the layers up to the noise layer, clips and
// perturbs. It shares the model's variables (the simulation holds both halves in one model; each party's graphs
// read only its own scopes).
type Client struct {
	model *models.Model
	layer int
	clip  float64
	sigma float64
	lower *models.Predictor
}

// NewClient compiles the client's lower part of m, split after layer (0 = the embedding layer).
func NewClient(m *models.Model, layer int, clip, sigma float64) (*Client, error) {
	if layer < 0 || layer > m.Preset.Layers {
		return nil, fmt.Errorf("dp-forward: noise layer %d outside 0…%d for preset %s", layer, m.Preset.Layers, m.Preset.Name)
	}
	c := &Client{model: m, layer: layer, clip: clip, sigma: sigma}
	var err error
	c.lower, err = m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{c.clippedLower(ctx, in)}
	})
	if err != nil {
		return nil, fmt.Errorf("dp-forward client: %w", err)
	}
	return c, nil
}

// clippedLower is the lower part's output on (ids, segments, mask), each sequence clipped to norm C.
func (c *Client) clippedLower(ctx *context.Context, in []*Node) *Node {
	x := c.model.Encode(ctx, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, c.layer)
	return ClipSequences(x, c.clip)
}

// Sigma is the noise standard deviation the client adds to every entry.
func (c *Client) Sigma() float64 { return c.sigma }

// Finalize frees the compiled graph.
func (c *Client) Finalize() { c.lower.Finalize() }

// Clipped returns the clipped lower-part outputs of rows idx of e, flat [B,T,d] with B the preset's batch (rows
// past len(idx) repeat idx[0]).
func (c *Client) Clipped(e *finetune.Encoded, idx []int) ([]float32, error) {
	B := c.model.Preset.BatchSize
	outs, err := c.lower.Run(e.Batch(idx, B, false)[:3]...)
	if err != nil {
		return nil, fmt.Errorf("dp-forward client: %w", err)
	}
	defer outs[0].FinalizeAll()
	return tensors.MustCopyFlatData[float32](outs[0]), nil
}

// Perturb is what the client uploads for rows idx of e: Clipped plus N(0, σ²) noise on every entry.
func (c *Client) Perturb(e *finetune.Encoded, idx []int, rng *rand.Rand) ([]float32, error) {
	x, err := c.Clipped(e, idx)
	if err != nil {
		return nil, err
	}
	AddNoise(x, c.sigma, rng)
	return x, nil
}

// PerturbAll perturbs every row of e once (batch by batch) and returns the uploads, flat [N,T,d].
func (c *Client) PerturbAll(e *finetune.Encoded, rng *rand.Rand) ([]float32, error) {
	B, size := c.model.Preset.BatchSize, e.T*c.model.Preset.Hidden
	out := make([]float32, 0, e.N*size)
	for s := 0; s < e.N; s += B {
		idx := rowRange(s, min(s+B, e.N))
		x, err := c.Perturb(e, idx, rng)
		if err != nil {
			return nil, err
		}
		out = append(out, x[:len(idx)*size]...)
	}
	return out, nil
}

func rowRange(lo, hi int) []int {
	idx := make([]int, 0, hi-lo)
	for i := lo; i < hi; i++ {
		idx = append(idx, i)
	}
	return idx
}

// gatherRows copies rows idx of the flat [N,size] uploads into a [B,T,d] tensor, padding with row idx[0].
func gatherRows(x []float32, idx []int, B, T, d int) *tensors.Tensor {
	size := T * d
	out := make([]float32, 0, B*size)
	for j := range B {
		r := idx[0]
		if j < len(idx) {
			r = idx[j]
		}
		out = append(out, x[r*size:(r+1)*size]...)
	}
	return tensors.FromFlatDataAndDimensions(out, B, T, d)
}

// upperLogits is the cloud's half: layers above the cut, pooler and task head, on x [B,T,d] and mask [B,T].
func upperLogits(m *models.Model, ctx *context.Context, x, mask *Node, layer, k int) *Node {
	hidden := m.EncodeFrom(ctx, x, mask, layer)
	return m.TaskHead(ctx, m.Pool(ctx, hidden), k)
}

// gradientUpdater is implemented by gomlx's Adam (the hook for gradients computed by hand).
type gradientUpdater interface {
	UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType)
}

// trainStep is one party's compiled training step: build gives a scalar loss and the nodes whose gradients the
// step also returns (the cloud's gradient at the cut); every trainable variable the graph uses gets its gradient,
// clipped to the global norm optim.ClipNorm, and an AdamW update with optim's schedule. models.Trainer cannot be
// used: it returns scalars only, and it always trains with dropout on.
type trainStep struct {
	exec  *context.Exec
	lr    *context.Variable
	optim models.Optim
	steps int
}

func newTrainStep(m *models.Model, optim models.Optim, training bool,
	build func(ctx *context.Context, in []*Node) (loss *Node, wrt []*Node)) (*trainStep, error) {
	adam, ok := optimizers.Adam().LearningRate(optim.LearningRate).WeightDecay(optim.WeightDecay).Scope(optim.Scope).Done().(gradientUpdater)
	if !ok {
		return nil, fmt.Errorf("gomlx Adam does not expose UpdateGraphWithGradients")
	}
	t := &trainStep{optim: optim, lr: optimizers.LearningRateVar(m.Ctx, dtypes.Float32, optim.LearningRate)}
	exec, err := context.NewExec(m.Backend, m.Ctx, func(ctx *context.Context, in []*Node) []*Node {
		g := in[0].Graph()
		ctx.SetTraining(g, training)
		loss, wrt := build(ctx, in)
		var vars []*Node
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				vars = append(vars, v.ValueGraph(g))
			}
		}
		grads := Gradient(loss, append(vars, wrt...)...)
		varGrads := grads[:len(vars)]
		if optim.ClipNorm > 0 {
			varGrads = models.ClipByGlobalNorm(varGrads, optim.ClipNorm)
		}
		adam.UpdateGraphWithGradients(ctx, varGrads, loss.DType())
		return append([]*Node{loss}, grads[len(vars):]...)
	})
	if err != nil {
		return nil, fmt.Errorf("building training step: %w", err)
	}
	t.exec = exec
	return t, nil
}

// run executes one step and returns the loss and the requested gradients (owned by the caller).
func (t *trainStep) run(inputs ...*tensors.Tensor) (float32, []*tensors.Tensor, error) {
	t.lr.MustSetValue(tensors.FromScalar(float32(t.optim.LearningRateAt(t.steps))))
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	outs, err := t.exec.Exec(args...)
	if err != nil {
		return 0, nil, fmt.Errorf("training step %d: %w", t.steps, err)
	}
	t.steps++
	loss := tensors.ToScalar[float32](outs[0])
	outs[0].FinalizeAll()
	return loss, outs[1:], nil
}

func (t *trainStep) finalize() { t.exec.Finalize() }
