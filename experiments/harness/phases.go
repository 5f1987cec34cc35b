package harness

import (
	stdctx "context"
	"math"
	"time"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Tuning describes a method's private tuning (phase 3) over uploads of type U.
type Tuning[U any] struct {
	// Encode is the client's encoding of its tokenised training examples into what it uploads; its time is the
	// client's.
	Encode func(train *finetune.Encoded) (U, error)
	// Bytes is what uploading u costs, booked client → cloud.
	Bytes func(u U) int64
	// Train is the cloud's fine-tuning on the upload with cfg; it returns the loss curve. Its wall time is booked
	// to the cloud, less the seconds it books to the client itself on the ledger (split learning's client steps);
	// it books any bytes exchanged during training itself.
	Train func(ctx stdctx.Context, upload U, cfg finetune.Config, ledger *Ledger) ([]method.CurvePoint, error)
	// Note, when set, is added to the phase's cost record.
	Note string
}

// PrivateTuning runs phase 3: the client encodes its training examples (at the model's length T) and uploads
// them, the cloud trains. It books the phase to ledger (units: cfg.Epochs epochs), appends the curve to res and
// sets res.TrainExamples; it returns the upload.
func PrivateTuning[U any](ctx stdctx.Context, env method.Env, s *Setup, T int, t Tuning[U], cfg finetune.Config, ledger *Ledger, res *method.Result) (U, error) {
	const phase = method.PhasePrivateTuning
	var plain *finetune.Encoded
	var upload U
	if err := ledger.Time(phase, method.Client, func() error {
		plain = finetune.Encode(env.Tok, s.Data.Train, T)
		var err error
		upload, err = t.Encode(plain)
		return err
	}); err != nil {
		return upload, err
	}
	ledger.Send(phase, method.Client, t.Bytes(upload))
	clientBefore := ledger.entry(phase).ClientSeconds
	start := time.Now()
	curve, err := t.Train(ctx, upload, cfg, ledger)
	elapsed := time.Since(start).Seconds()
	ledger.AddSeconds(phase, method.Cloud, elapsed-(ledger.entry(phase).ClientSeconds-clientBefore))
	if err != nil {
		return upload, err
	}
	ledger.Units(phase, cfg.Epochs, "epochs")
	if t.Note != "" {
		ledger.Note(phase, t.Note)
	}
	res.Curve = append(res.Curve, curve...)
	res.TrainExamples = plain.N
	return upload, nil
}

// Inference describes a method's private inference (phase 4) over uploads of type U.
type Inference[U any] struct {
	// Encode is the client's encoding of its tokenised queries into what it uploads; its time is the client's.
	Encode func(queries *finetune.Encoded) (U, error)
	// Bytes is what uploading u costs, booked client → cloud.
	Bytes func(u U) int64
	// Predict is the cloud's work: the logits [N, k] of the uploaded queries (k = finetune.NumOutputs).
	Predict func(ctx stdctx.Context, upload U) ([]float32, error)
	// Note, when set, is added to the phase's cost record.
	Note string
}

// PrivateInference runs phase 4 on the dev set: the client encodes its queries (at length T) and uploads them,
// the cloud returns logits (4 bytes each), the client reads predictions from them and scores them. It sets
// res.Metrics, res.EvalExamples and the majority_<metric> extras (RecordMajority), and returns the upload.
func PrivateInference[U any](ctx stdctx.Context, env method.Env, s *Setup, T int, inf Inference[U], ledger *Ledger, res *method.Result) (U, error) {
	const phase = method.PhasePrivateInference
	info := s.Data.Info
	var plain *finetune.Encoded
	var upload U
	if err := ledger.Time(phase, method.Client, func() error {
		plain = finetune.Encode(env.Tok, s.Data.Dev, T)
		var err error
		upload, err = inf.Encode(plain)
		return err
	}); err != nil {
		return upload, err
	}
	ledger.Send(phase, method.Client, inf.Bytes(upload))
	var logits []float32
	if err := ledger.Time(phase, method.Cloud, func() error {
		var err error
		logits, err = inf.Predict(ctx, upload)
		return err
	}); err != nil {
		return upload, err
	}
	ledger.Send(phase, method.Cloud, int64(len(logits))*4)
	if err := ledger.Time(phase, method.Client, func() error {
		metrics, err := finetune.Score(info, finetune.PredictionsFromLogits(logits, plain.N), plain.Labels)
		if err != nil {
			return err
		}
		res.Metrics = metrics
		res.EvalExamples = plain.N
		ledger.Units(phase, plain.N, "examples")
		return nil
	}); err != nil {
		return upload, err
	}
	if inf.Note != "" {
		ledger.Note(phase, inf.Note)
	}
	return upload, RecordMajority(res, info, plain.Labels)
}

// IDProtocol is phases 3 and 4 of a method whose client uploads token ids (EncodedBytes each way) and whose cloud
// fine-tunes and serves Model.
type IDProtocol struct {
	Model *models.Model
	// EncodeTrain and EncodeQueries are the client's encoding of its training examples and of its queries (nil:
	// the ids as they are).
	EncodeTrain, EncodeQueries func(*finetune.Encoded) (*finetune.Encoded, error)
	// Train is the cloud's fine-tuning of Model (nil: finetune.Train, its curve by TrainCurve).
	Train func(ctx stdctx.Context, upload *finetune.Encoded, cfg finetune.Config, ledger *Ledger) ([]method.CurvePoint, error)
	// TuningNote and InferenceNote, when set, are added to the phases' cost records.
	TuningNote, InferenceNote string
}

// TuneAndInfer runs private tuning with cfg and private inference for p (see PrivateTuning and PrivateInference).
func TuneAndInfer(ctx stdctx.Context, env method.Env, s *Setup, p IDProtocol, cfg finetune.Config, ledger *Ledger, res *method.Result) error {
	m, info := p.Model, s.Data.Info
	identity := func(e *finetune.Encoded) (*finetune.Encoded, error) { return e, nil }
	encTrain, encQueries := p.EncodeTrain, p.EncodeQueries
	if encTrain == nil {
		encTrain = identity
	}
	if encQueries == nil {
		encQueries = identity
	}
	train := p.Train
	if train == nil {
		train = func(ctx stdctx.Context, upload *finetune.Encoded, cfg finetune.Config, _ *Ledger) ([]method.CurvePoint, error) {
			r, err := finetune.Train(ctx, m, info, upload, cfg)
			if err != nil {
				return nil, err
			}
			return TrainCurve(r), nil
		}
	}
	T := m.Preset.MaxLen
	if _, err := PrivateTuning(ctx, env, s, T, Tuning[*finetune.Encoded]{Encode: encTrain, Bytes: EncodedBytes, Train: train, Note: p.TuningNote},
		cfg, ledger, res); err != nil {
		return err
	}
	_, err := PrivateInference(ctx, env, s, T, Inference[*finetune.Encoded]{Encode: encQueries, Bytes: EncodedBytes,
		Predict: func(_ stdctx.Context, q *finetune.Encoded) ([]float32, error) {
			_, logits, err := finetune.Predict(m, info, q)
			return logits, err
		}, Note: p.InferenceNote}, ledger, res)
	return err
}

// TrainCurve is finetune.Train's loss curve as private-tuning points: one per recorded mean loss, at the step it
// was taken.
func TrainCurve(r *finetune.Result) []method.CurvePoint {
	out := make([]method.CurvePoint, len(r.Curve))
	for i, l := range r.Curve {
		out[i] = method.CurvePoint{Phase: method.PhasePrivateTuning, Step: (i + 1) * r.Steps / len(r.Curve), Loss: l}
	}
	return out
}

// MajorityScores scores the constant predictor on labels with the task's own metrics: the most frequent label
// (the smallest on a tie) for a classification task, the mean label for regression. Metrics a constant
// prediction leaves undefined (NaN, such as a correlation) are left out.
func MajorityScores(info datasets.TaskInfo, labels []float64) (map[string]float64, error) {
	if len(labels) == 0 {
		return nil, nil
	}
	var c float64
	if info.NumLabels == 0 {
		for _, l := range labels {
			c += l
		}
		c /= float64(len(labels))
	} else {
		counts := map[float64]int{}
		for _, l := range labels {
			counts[l]++
		}
		best := math.Inf(1)
		for l, n := range counts {
			if n > counts[best] || (n == counts[best] && l < best) {
				best = l
			}
		}
		c = best
	}
	preds := make([]float64, len(labels))
	for i := range preds {
		preds[i] = c
	}
	scores, err := finetune.Score(info, preds, labels)
	if err != nil {
		return nil, err
	}
	for k, v := range scores {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(scores, k)
		}
	}
	return scores, nil
}

// RecordMajority records MajorityScores of the dev labels as res.Extra["majority_<metric>"].
func RecordMajority(res *method.Result, info datasets.TaskInfo, labels []float64) error {
	scores, err := MajorityScores(info, labels)
	if err != nil {
		return err
	}
	for k, v := range scores {
		res.Extra["majority_"+k] = v
	}
	return nil
}
