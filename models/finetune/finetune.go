// Package finetune owns supervised fine-tuning and evaluation of an encoder on a classification or regression
// task: encoding examples into fixed-shape batches, the seeded training run (on the shared loop of models/train:
// AdamW, warm-up + linear decay, fixed batch, the last partial batch dropped), batched inference, and the task metrics and wall times.
// The shaking protocol reuses its pieces with π-encoded ids: Encoded is what a client uploads.
package finetune

import (
	stdctx "context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/train"
)

// Encoded is a tokenised example set: flat [N,T] ids, segments and masks plus labels.
type Encoded struct {
	N, T                int
	IDs, Segments, Mask []int32
	Labels              []float64
}

// Encode tokenises examples to length T ([CLS] a [SEP] b [SEP], longest-first truncation, padding).
func Encode(tok *wordpiece.Tokenizer, examples []datasets.Example, T int) *Encoded {
	e := &Encoded{N: len(examples), T: T, IDs: make([]int32, 0, len(examples)*T),
		Segments: make([]int32, 0, len(examples)*T), Mask: make([]int32, 0, len(examples)*T)}
	for _, ex := range examples {
		enc := tok.Encode(ex.TextA, ex.TextB, T)
		e.IDs = append(e.IDs, enc.IDs...)
		e.Segments = append(e.Segments, enc.Segments...)
		e.Mask = append(e.Mask, enc.Mask...)
		e.Labels = append(e.Labels, ex.Label)
	}
	return e
}

// MapIDs returns a copy whose ids are mapped through f (the client's π).
func (e *Encoded) MapIDs(f func(int32) int32) *Encoded {
	out := *e
	out.IDs = make([]int32, len(e.IDs))
	for i, id := range e.IDs {
		out.IDs[i] = f(id)
	}
	return &out
}

// Batch gathers rows idx (padding with row idx[0] at weight 0 up to B) into step inputs.
func (e *Encoded) Batch(idx []int, B int, regression bool) []*tensors.Tensor {
	T := e.T
	ids, seg, mask := make([]int32, 0, B*T), make([]int32, 0, B*T), make([]int32, 0, B*T)
	weights := make([]float32, B)
	intLabels, floatLabels := make([]int32, B), make([]float32, B)
	for j := range B {
		r := idx[0]
		if j < len(idx) {
			r, weights[j] = idx[j], 1
		}
		ids = append(ids, e.IDs[r*T:(r+1)*T]...)
		seg = append(seg, e.Segments[r*T:(r+1)*T]...)
		mask = append(mask, e.Mask[r*T:(r+1)*T]...)
		intLabels[j], floatLabels[j] = int32(e.Labels[r]), float32(e.Labels[r])
	}
	out := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(ids, B, T),
		tensors.FromFlatDataAndDimensions(seg, B, T),
		tensors.FromFlatDataAndDimensions(mask, B, T),
	}
	if regression {
		out = append(out, tensors.FromFlatDataAndDimensions(floatLabels, B))
	} else {
		out = append(out, tensors.FromFlatDataAndDimensions(intLabels, B))
	}
	return append(out, tensors.FromFlatDataAndDimensions(weights, B))
}

// Config controls a fine-tuning run.
type Config struct {
	Epochs       int
	LearningRate float64
	WarmupFrac   float64
	WeightDecay  float64
	Seed         uint64
	Progress     bool
	Label        string // progress-bar description
}

// DefaultConfig is the setting the reproduction uses for the tiny preset.
func DefaultConfig() Config {
	return Config{Epochs: 3, LearningRate: 2e-3, WarmupFrac: 0.1, WeightDecay: 0.01, Seed: 1}
}

// Result is what a fine-tuning run measured.
type Result struct {
	Metrics                     map[string]float64
	TrainExamples, EvalExamples int
	Steps                       int
	TrainSecondsPerEpoch        []float64
	InferenceSecondsPerExample  float64
	Curve                       []float64 // mean training loss per epoch
}

// Logits builds the task logits [B,numLabels] (numLabels 1 = regression score) for inputs ids, seg, mask.
func Logits(m *models.Model, ctx *context.Context, in []*Node, numLabels int) *Node {
	hidden := m.Encode(ctx, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
	return m.TaskHead(ctx, m.Pool(ctx, hidden), numLabels)
}

// TaskLoss is the weighted mean cross-entropy (classification) or squared error (regression, numLabels 1) of
// logits [B,numLabels] against labels [B] with weights [B] (0 for a partial batch's padding rows).
func TaskLoss(logits, labels, weights *Node, numLabels int) *Node {
	var per *Node
	if numLabels == 1 {
		per = Square(Sub(Squeeze(logits, 1), labels))
	} else {
		per = models.CrossEntropy(logits, labels)
	}
	return Div(ReduceAllSum(Mul(per, weights)), MaxScalar(ReduceAllSum(weights), 1))
}

// NumOutputs is the width of a task's head: its number of labels, or 1 for a regression task.
func NumOutputs(info datasets.TaskInfo) int {
	if info.NumLabels == 0 {
		return 1
	}
	return info.NumLabels
}

// NewTrainer compiles Train's step: the task loss of m's logits (head width k) on a batch from Encoded.Batch
// (ids, segments, mask, labels, weights), its gradient on every trainable variable, and optim's update.
func NewTrainer(m *models.Model, k int, optim models.Optim) (*models.Trainer, error) {
	return m.NewTrainer(optim, func(c *context.Context, in []*Node) (*Node, []*Node) {
		return TaskLoss(Logits(m, c, in, k), in[3], in[4], k), nil
	})
}

// Train fine-tunes m on train; which variables train follows their Trainable flags (freeze the token table
// with m.SetTokenTableTrainable(false) first).
func Train(ctx stdctx.Context, m *models.Model, info datasets.TaskInfo, data *Encoded, cfg Config) (*Result, error) {
	B := m.Preset.BatchSize
	if data.N < B {
		return nil, fmt.Errorf("fine-tuning %s: %d training examples is fewer than one batch of %d", info.Name, data.N, B)
	}
	if cfg.Epochs <= 0 {
		return nil, fmt.Errorf("fine-tuning %s: epochs must be positive", info.Name)
	}
	k := NumOutputs(info)
	perEpoch := data.N / B
	total := perEpoch * cfg.Epochs
	trainer, err := NewTrainer(m, k, models.Optim{LearningRate: cfg.LearningRate, WarmupSteps: int(cfg.WarmupFrac * float64(total)),
		TotalSteps: total, WeightDecay: cfg.WeightDecay, ClipNorm: 1, Scope: "adam_finetune"})
	if err != nil {
		return nil, err
	}
	defer trainer.Finalize()
	rows := train.NewShuffled(data.N, B, rand.New(rand.NewPCG(cfg.Seed, 0x5eed)))
	loop := train.Loop[[]*tensors.Tensor]{Name: "fine-tuning", Steps: total, StepsPerEpoch: perEpoch,
		Progress: cfg.Progress, Label: cfg.Label,
		Batches: func(step int) ([]*tensors.Tensor, error) { return data.Batch(rows.Rows(step), B, k == 1), nil },
		Step:    TrainerStep(trainer)}
	run, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	return &Result{TrainExamples: data.N, TrainSecondsPerEpoch: run.EpochSeconds, Curve: run.Losses(), Steps: trainer.Steps()}, nil
}

// TrainerStep is a train.Step running a compiled trainer step on the batch; the curve records its loss.
func TrainerStep(t *models.Trainer) train.Step[[]*tensors.Tensor] {
	return func(_ stdctx.Context, _ int, batch []*tensors.Tensor) (train.Output, error) {
		loss, extras, err := t.Step(batch...)
		return train.Output{Loss: float64(loss), Extras: extras}, err
	}
}

// Predict runs inference over all of e and returns one prediction per example: the argmax class, or the
// regression score. It also returns the logits, row-major [N,k].
func Predict(m *models.Model, info datasets.TaskInfo, e *Encoded) (preds []float64, logits []float32, err error) {
	k := NumOutputs(info)
	B := m.Preset.BatchSize
	pred, err := m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		return []*Node{Logits(m, c, in, k)}
	})
	if err != nil {
		return nil, nil, err
	}
	defer pred.Finalize()
	logits = make([]float32, 0, e.N*k)
	for s := 0; s < e.N; s += B {
		idx := make([]int, 0, B)
		for i := s; i < min(s+B, e.N); i++ {
			idx = append(idx, i)
		}
		outs, err := pred.Run(e.Batch(idx, B, k == 1)[:3]...)
		if err != nil {
			return nil, nil, err
		}
		flat := tensors.MustCopyFlatData[float32](outs[0])
		outs[0].FinalizeAll()
		logits = append(logits, flat[:len(idx)*k]...)
	}
	preds = PredictionsFromLogits(logits, e.N)
	return preds, logits, nil
}

// PredictionsFromLogits turns row-major [n,k] logits into predictions: the argmax class, or the regression
// score when k = 1.
func PredictionsFromLogits(logits []float32, n int) []float64 {
	preds := make([]float64, n)
	if n == 0 {
		return preds
	}
	k := len(logits) / n
	for i := range preds {
		row := logits[i*k : (i+1)*k]
		if k == 1 {
			preds[i] = float64(row[0])
			continue
		}
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		preds[i] = float64(best)
	}
	return preds
}

// Score computes the task's metrics of predictions against labels.
func Score(info datasets.TaskInfo, preds, labels []float64) (map[string]float64, error) {
	m, err := datasets.Evaluate(info, preds, labels)
	if err != nil {
		return nil, fmt.Errorf("scoring %s: %w", info.Name, err)
	}
	return m, nil
}

// Evaluate predicts eval and scores it with the task's metrics; it fills the result's metrics and latency.
func Evaluate(m *models.Model, info datasets.TaskInfo, eval *Encoded, res *Result) error {
	start := time.Now()
	preds, _, err := Predict(m, info, eval)
	if err != nil {
		return err
	}
	res.InferenceSecondsPerExample = time.Since(start).Seconds() / float64(max(eval.N, 1))
	res.EvalExamples = eval.N
	res.Metrics, err = datasets.Evaluate(info, preds, eval.Labels)
	if err != nil {
		return fmt.Errorf("scoring %s: %w", info.Name, err)
	}
	return nil
}

// MeanStd is a helper for reports: mean and sample standard deviation.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}

// TaskData is one run's data: the task, training examples drawn from its private pool, and the dev set.
type TaskData struct {
	Info       datasets.TaskInfo
	Train, Dev []datasets.Example
	Malformed  int // malformed rows in the task's files, reported by the loader
}

// LoadTaskData loads task from dataDir: maxTrain training examples subsampled with seed from the private pool
// (0 = all of it), and maxEval dev examples (a fixed subsample, 0 = the full dev set).
func LoadTaskData(dataDir, task string, maxTrain, maxEval int, seed uint64) (*TaskData, error) {
	info, err := datasets.Task(task)
	if err != nil {
		return nil, err
	}
	trainSet, err := datasets.Load(dataDir, task, "train")
	if err != nil {
		return nil, err
	}
	devSet, err := datasets.Load(dataDir, task, "dev")
	if err != nil {
		return nil, err
	}
	private, _ := datasets.Pools(trainSet.Examples)
	return &TaskData{Info: info, Train: datasets.Subsample(private, maxTrain, seed),
		Dev: datasets.Subsample(devSet.Examples, maxEval, 0), Malformed: len(trainSet.Malformed) + len(devSet.Malformed)}, nil
}
