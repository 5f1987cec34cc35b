package shaking

import (
	stdctx "context"
	"fmt"
	"math"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
	"github.com/cyphertalk/cyphertalk-go/models/train"
)

// embeddingExtras are the scopes of the position and segment tables and the embedding LayerNorm.
var embeddingExtras = []string{"/embeddings/position", "/embeddings/segment", "/embeddings/layer_norm"}

// AwarenessScopes are the variables awareness recovery trains: the embedding extras and encoder layers 1..k
// (and the token table when trainTable).
func AwarenessScopes(k int, trainTable bool) []string {
	scopes := append([]string(nil), embeddingExtras...)
	for l := range k {
		scopes = append(scopes, fmt.Sprintf("/encoder/layer_%d/", l))
	}
	if trainTable {
		scopes = append(scopes, models.TokenTableScope)
	}
	return scopes
}

// FunctionScopes are the variables function recovery trains: every encoder layer, the embedding extras and the
// masked-LM head (and the token table when trainTable).
func FunctionScopes(trainTable bool) []string {
	scopes := append(append([]string(nil), embeddingExtras...), "/encoder", "/mlm")
	if trainTable {
		scopes = append(scopes, models.TokenTableScope)
	}
	return scopes
}

// StepConfig is one recovery phase's budget.
type StepConfig struct {
	Steps        int
	LearningRate float64
	Progress     bool
	Label        string
}

// Awareness trains shaken's layers ≤ k so that its layer-k output on π(x) matches the public model's on x:
// minimise ‖h_k(shaken, π(x)) − h_k(public, x)‖² over the real tokens of public text x. It returns the loss
// per step. The caller decides which party runs it.
func Awareness(ctx stdctx.Context, public, shaken *models.Model, smp *pretrain.Sampler, pi func(int32) int32, k int,
	trainTable bool, cfg StepConfig) ([]float64, error) {
	if k < 1 || k > shaken.Preset.Layers {
		return nil, fmt.Errorf("awareness recovery: layer %d outside 1..%d", k, shaken.Preset.Layers)
	}
	target, err := public.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		return []*Node{public.Encode(c, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, k)}
	})
	if err != nil {
		return nil, err
	}
	defer target.Finalize()
	shaken.SetTrainableScopes(AwarenessScopes(k, trainTable)...)
	trainer, err := shaken.NewTrainer(models.Optim{LearningRate: cfg.LearningRate, WarmupSteps: cfg.Steps / 10,
		TotalSteps: cfg.Steps, ClipNorm: 1, Scope: "adam_awareness"}, func(c *context.Context, in []*Node) (*Node, []*Node) {
		h := shaken.Encode(c, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, k)
		mask := ConvertDType(in[2], dtypes.Float32)
		sq := ReduceSum(Square(Sub(h, in[3])), -1) // [B,T]
		d := float64(shaken.Preset.Hidden)
		return Div(ReduceAllSum(Mul(sq, mask)), MulScalar(MaxScalar(ReduceAllSum(mask), 1), d)), nil
	})
	if err != nil {
		return nil, err
	}
	defer trainer.Finalize()
	loop := train.Loop[*pretrain.Batch]{Name: "awareness recovery", Steps: cfg.Steps, CurveEvery: 1,
		Progress: cfg.Progress, Label: cfg.Label,
		Batches: func(int) (*pretrain.Batch, error) { return smp.Batch(shaken.Preset.BatchSize), nil },
		Step: func(_ stdctx.Context, _ int, b *pretrain.Batch) (train.Output, error) {
			outs, err := target.Run(b.Tensors()[:3]...)
			if err != nil {
				return train.Output{}, err
			}
			b.MapIDs(pi)
			loss, _, err := trainer.Step(append(b.Tensors()[:3], outs[0])...)
			outs[0].FinalizeAll()
			if err != nil {
				return train.Output{}, fmt.Errorf("awareness recovery: %w", err)
			}
			return train.Output{Loss: float64(loss)}, nil
		}}
	res, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	return res.Losses(), nil
}

// Upload is one function-recovery batch as the cloud receives it: π-encoded masked public text, π-encoded
// masked-LM targets, and (when distillation is on) the public model's top-k predictions at each masked slot,
// as π-ids with their renormalised probabilities.
type Upload struct {
	Batch   *pretrain.Batch
	K       int
	KDIDs   []int32   // [B·P·K]
	KDProbs []float32 // [B·P·K]
}

// Bytes is the upload's size: int32 ids and targets and positions, one byte per segment id, mask flag and
// target weight, and for distillation an int32 id and a float32 probability per kept prediction.
func (u *Upload) Bytes() int64 {
	b := u.Batch
	n := int64(b.B*b.T)*(4+1+1) + int64(b.B*b.P)*(4+4+1)
	return n + int64(len(u.KDIDs))*4 + int64(len(u.KDProbs))*4
}

// Teacher computes the public model's top-k masked-LM predictions on plaintext batches (the client side of
// distillation).
type Teacher struct {
	pred *models.Predictor
	k    int
	v    int
}

// NewTeacher compiles the public model's masked-LM logits.
func NewTeacher(public *models.Model, k int) (*Teacher, error) {
	pred, err := public.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		hidden := public.Encode(c, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
		return []*Node{public.MLMLogits(c, public.MLMTransform(c, models.GatherPositions(hidden, in[3])))}
	})
	if err != nil {
		return nil, err
	}
	return &Teacher{pred: pred, k: k, v: public.VocabSize}, nil
}

// Finalize frees the compiled graph.
func (t *Teacher) Finalize() { t.pred.Finalize() }

// TopK returns, for every masked slot of b (plaintext), the k most likely ids and their probabilities
// renormalised over those k (zeros for padding slots).
func (t *Teacher) TopK(b *pretrain.Batch) (ids []int32, probs []float32, err error) {
	outs, err := t.pred.Run(b.Tensors()[:4]...)
	if err != nil {
		return nil, nil, fmt.Errorf("teacher predictions: %w", err)
	}
	logits := tensors.MustCopyFlatData[float32](outs[0])
	outs[0].FinalizeAll()
	n := b.B * b.P
	ids, probs = make([]int32, n*t.k), make([]float32, n*t.k)
	idx := make([]int32, t.v)
	for r := range n {
		if b.Weights[r] == 0 {
			continue
		}
		row := logits[r*t.v : (r+1)*t.v]
		for i := range idx {
			idx[i] = int32(i)
		}
		top := topK(row, idx, t.k)
		mx := float64(row[top[0]])
		var z float64
		for j, id := range top {
			p := math.Exp(float64(row[id]) - mx)
			ids[r*t.k+j], probs[r*t.k+j] = id, float32(p)
			z += p
		}
		for j := range top {
			probs[r*t.k+j] = float32(float64(probs[r*t.k+j]) / z)
		}
	}
	return ids, probs, nil
}

// topK returns the ids of the k largest values of row, largest first (ties by smaller id). idx is scratch space
// holding 0..len(row)-1.
func topK(row []float32, idx []int32, k int) []int32 {
	k = min(k, len(row))
	// Partial selection: keep a sorted window of the k best seen so far.
	best := make([]int32, 0, k)
	less := func(a, b int32) bool { return row[a] > row[b] || (row[a] == row[b] && a < b) }
	for _, id := range idx {
		if len(best) == k && !less(id, best[k-1]) {
			continue
		}
		pos := sort.Search(len(best), func(i int) bool { return less(id, best[i]) })
		if len(best) < k {
			best = append(best, 0)
		}
		copy(best[pos+1:], best[pos:len(best)-1])
		best[pos] = id
	}
	return best
}

// UnigramBias is the add-one-smoothed log-frequency of every π-id in the uploads (real input tokens and masked
// targets): the masked-LM output bias the cloud starts function recovery from, computed from what it sees.
func UnigramBias(uploads []*Upload, vocab int) []float32 {
	counts := make([]float64, vocab)
	var total float64
	for _, u := range uploads {
		b := u.Batch
		for i, id := range b.IDs {
			if b.Mask[i] == 1 {
				counts[id]++
				total++
			}
		}
		for i, id := range b.Targets {
			if b.Weights[i] > 0 {
				counts[id]++
				total++
			}
		}
	}
	out := make([]float32, vocab)
	for i, c := range counts {
		out[i] = float32(math.Log((c + 1) / (total + float64(vocab))))
	}
	return out
}

// Function restores the whole model's function in shaken space on the cloud: masked-LM on the π-encoded uploads
// (output vocabulary tied to E_s, so already in π-space) plus kdWeight × the cross-entropy to the public model's
// top-k predictions. E_s stays frozen unless trainTable. It returns the total loss per step.
func Function(ctx stdctx.Context, m *models.Model, uploads []*Upload, kdWeight float64, trainTable bool, cfg StepConfig) ([]float64, error) {
	m.SetTrainableScopes(FunctionScopes(trainTable)...)
	return mlmSteps(ctx, m, uploads, kdWeight, "function recovery", "adam_function", cfg)
}

// FitOutputBias trains only the masked-LM output bias and logit scale on the uploads (everything else frozen):
// the cloud's cheap first stage of function recovery, which adapts its frequency-based bias to the public
// encoder before the encoder itself moves. Adam moves a parameter by about one learning rate per step, so the
// bias needs a larger rate than the encoder.
func FitOutputBias(ctx stdctx.Context, m *models.Model, uploads []*Upload, kdWeight float64, cfg StepConfig) ([]float64, error) {
	m.SetTrainableFunc(func(scope, name string) bool {
		return scope == "/mlm" && (name == "output_bias" || name == "log_scale")
	})
	return mlmSteps(ctx, m, uploads, kdWeight, "output-bias fit", "adam_bias", cfg)
}

// FitTable trains only the token table E_s and the output bias/scale on the uploads: with the encoder frozen, the
// cloud re-learns the rows of the tokens it sees often in shaken space (the per-row noise is something no shared
// weight can undo). Used when the spec lets E_s move during recovery.
func FitTable(ctx stdctx.Context, m *models.Model, uploads []*Upload, kdWeight float64, cfg StepConfig) ([]float64, error) {
	m.SetTrainableFunc(func(scope, name string) bool {
		return scope == models.TokenTableScope || (scope == "/mlm" && (name == "output_bias" || name == "log_scale"))
	})
	return mlmSteps(ctx, m, uploads, kdWeight, "shaken-table fit", "adam_table", cfg)
}

// mlmSteps runs cfg.Steps masked-LM (plus distillation) steps on the uploads, one upload a step, with the
// optimiser state under scope; name says which pass it is (errors, default progress label).
func mlmSteps(ctx stdctx.Context, m *models.Model, uploads []*Upload, kdWeight float64, name, scope string, cfg StepConfig) ([]float64, error) {
	if len(uploads) < cfg.Steps {
		return nil, fmt.Errorf("%s: %d uploads for %d steps", name, len(uploads), cfg.Steps)
	}
	V := m.VocabSize
	trainer, err := m.NewTrainer(models.Optim{LearningRate: cfg.LearningRate, WarmupSteps: cfg.Steps / 10,
		TotalSteps: cfg.Steps, WeightDecay: 0.01, ClipNorm: 1, Scope: scope}, func(c *context.Context, in []*Node) (*Node, []*Node) {
		ids, seg, mask, pos, targets, weights := in[0], in[1], in[2], in[3], in[4], in[5]
		hidden := m.Encode(c, models.Inputs{IDs: ids, Segments: seg, Mask: mask}, -1)
		n := pos.Shape().Size()
		h := m.MLMTransform(c, models.GatherPositions(hidden, pos))
		logits := m.MLMLogits(c, h) // [N,V]
		lse := models.LogSumExp(logits)
		w := Reshape(weights, n)
		wSum := MaxScalar(ReduceAllSum(w), 1)
		ce := Sub(lse, m.MLMLabelLogits(c, h, Reshape(targets, n)))
		mlm := Div(ReduceAllSum(Mul(ce, w)), wSum)
		if len(in) == 6 {
			return mlm, []*Node{mlm, ZerosLike(mlm)}
		}
		kdIDs, kdProbs := in[6], in[7] // [N,K]
		k := kdIDs.Shape().Dimensions[1]
		offsets := MulScalar(Iota(logits.Graph(), shapes.Make(dtypes.Int32, n, k), 0), float64(V))
		picked := Reshape(Gather(Reshape(logits, n*V), Reshape(Add(kdIDs, offsets), n*k, 1)), n, k)
		logq := Sub(picked, InsertAxes(lse, -1))
		kd := Div(Neg(ReduceAllSum(Mul(ReduceSum(Mul(kdProbs, logq), -1), w))), wSum)
		return Add(mlm, MulScalar(kd, kdWeight)), []*Node{mlm, kd}
	})
	if err != nil {
		return nil, err
	}
	defer trainer.Finalize()
	label := cfg.Label
	if label == "" {
		label = name
	}
	loop := train.Loop[*Upload]{Name: name, Steps: cfg.Steps, CurveEvery: 1, Progress: cfg.Progress, Label: label,
		Batches: func(step int) (*Upload, error) { return uploads[step], nil },
		Step: func(_ stdctx.Context, _ int, u *Upload) (train.Output, error) {
			in := u.Batch.Tensors()[:6]
			if kdWeight > 0 {
				n := u.Batch.B * u.Batch.P
				in = append(in, tensors.FromFlatDataAndDimensions(u.KDIDs, n, u.K), tensors.FromFlatDataAndDimensions(u.KDProbs, n, u.K))
			}
			loss, extras, err := trainer.Step(in...)
			if err != nil {
				return train.Output{}, fmt.Errorf("%s: %w", name, err)
			}
			return train.Output{Loss: float64(loss), Extras: extras}, nil
		},
		OnStep: func(s train.State) error {
			if (s.Step+1)%10 == 0 {
				s.Bar.Describe(fmt.Sprintf("%s (MLM %.2f, KD %.2f)", label, s.Out.Extras[0], s.Out.Extras[1]))
			}
			return nil
		}}
	res, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	return res.Losses(), nil
}
