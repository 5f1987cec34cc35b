// Package dxtext owns the dx-text baseline (DESIGN.md §5): text sanitisation by metric differential privacy
// (dχ-privacy, Feyisetan et al., "Privacy- and Utility-Preserving Textual Analysis via Calibrated Multivariate
// Perturbations", WSDM 2020; the word-replacement baseline of SanText, Yue et al. 2021). The client replaces
// each token of its text by the vocabulary token nearest to the token's public embedding plus dχ noise — the
// operators' dx-fixp noise, drawn afresh for every occurrence — and uploads only the replaced text; the cloud
// fine-tunes and predicts on sanitised text as if it were plaintext. The replacement works on WordPiece tokens,
// the units the model reads, rather than on whole words.
package dxtext

import (
	stdctx "context"
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/shaking"
)

func init() { method.Register(DXText()) }

// Config is the dx-text method's parameters.
type Config struct {
	// Epsilon is the metric-DP ε per token, in units of the table's s_E as for the dx-fixp operator: two tokens
	// whose embeddings lie a distance D apart are (ε·D/s_E)-indistinguishable. +Inf means no noise. Required.
	Epsilon float64 `param:"epsilon"`
}

// DecodeConfig reads and checks the method's parameters.
func DecodeConfig(params map[string]any) (Config, error) {
	var cfg Config
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("dx-text: %w", err)
	}
	if !(cfg.Epsilon > 0) {
		return cfg, fmt.Errorf("dx-text: epsilon = %v, want a positive number (the per-token metric-DP ε in units of s_E; required)", cfg.Epsilon)
	}
	return cfg, nil
}

// DXText is the dx-text method.
func DXText() shaking.SetupMethod[Config] {
	return shaking.SetupMethod[Config]{MethodName: "dx-text", Decode: DecodeConfig, Protocol: Protocol}
}

// encodedBytes is what uploading e costs: int32 ids, one byte per segment id and per mask flag, and a 4-byte
// label per example (as the plaintext method books it).
func encodedBytes(e *finetune.Encoded) int64 {
	return int64(e.N)*int64(e.T)*(4+1+1) + int64(e.N)*4
}

// Protocol runs private tuning and private inference on sanitised text, on a prepared setup whose public model
// the cloud fine-tunes in place (all of it, token table included, as SanText fine-tunes).
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *shaking.Setup, cfg Config) (*method.Result, error) {
	m := s.Public
	p, info := m.Preset, s.Data.Info
	res := method.NewResult()
	res.Epsilon, res.Delta = cfg.Epsilon, 0
	res.Tags["mechanism"] = "dx-text"
	res.Tags["privacy"] = "local, metric (per token)"
	res.Tags["table"] = "trainable"
	ledger := shaking.NewLedger()

	// The client sanitises with the public table, before the cloud tunes anything.
	const tuning = method.PhasePrivateTuning
	var san *Sanitizer
	var upload *finetune.Encoded
	var replaced float64
	if err := ledger.Time(tuning, method.Client, func() error {
		var err error
		if san, err = NewSanitizer(env.Tok, m.TokenTable(), m.VocabSize, p.Hidden, cfg.Epsilon); err != nil {
			return err
		}
		upload, replaced, err = san.SanitizeEncoded(finetune.Encode(env.Tok, s.Data.Train, p.MaxLen), NoiseSeed(run.Seed, "train"))
		return err
	}); err != nil {
		return nil, err
	}
	res.Extra["s_e"] = san.SE()
	res.Extra["replaced_train"] = replaced
	res.Extra["candidates"] = float64(san.Candidates())
	ledger.Send(tuning, method.Client, encodedBytes(upload))

	ft := finetune.DefaultConfig()
	if run.Epochs > 0 {
		ft.Epochs = run.Epochs
	}
	if run.LearningRate > 0 {
		ft.LearningRate = run.LearningRate
	}
	ft.Seed, ft.Progress, ft.Label = run.Seed, env.Progress, fmt.Sprintf("%s dx-text tuning", run.Task)
	m.SetTrainableScopes("/embeddings", "/encoder", "/pooler", "/task_head")
	m.SetTokenTableTrainable(true)
	var tuned *finetune.Result
	if err := ledger.Time(tuning, method.Cloud, func() error {
		var err error
		tuned, err = finetune.Train(ctx, m, info, upload, ft)
		return err
	}); err != nil {
		return nil, err
	}
	ledger.Units(tuning, ft.Epochs, "epochs")
	ledger.Note(tuning, "the cloud sees sanitised token ids and the labels")
	for i, l := range tuned.Curve {
		res.Curve = append(res.Curve, method.CurvePoint{Phase: tuning, Step: (i + 1) * tuned.Steps / len(tuned.Curve), Loss: l})
	}
	res.TrainExamples = upload.N

	const inference = method.PhasePrivateInference
	var query *finetune.Encoded
	if err := ledger.Time(inference, method.Client, func() error {
		var err error
		query, replaced, err = san.SanitizeEncoded(finetune.Encode(env.Tok, s.Data.Dev, p.MaxLen), NoiseSeed(run.Seed, "inference"))
		return err
	}); err != nil {
		return nil, err
	}
	res.Extra["replaced_eval"] = replaced
	ledger.Send(inference, method.Client, encodedBytes(query))
	var logits []float32
	if err := ledger.Time(inference, method.Cloud, func() error {
		var err error
		_, logits, err = finetune.Predict(m, info, query)
		return err
	}); err != nil {
		return nil, err
	}
	ledger.Send(inference, method.Cloud, int64(len(logits))*4)
	if err := ledger.Time(inference, method.Client, func() error {
		var err error
		res.Metrics, err = finetune.Score(info, finetune.PredictionsFromLogits(logits, query.N), query.Labels)
		return err
	}); err != nil {
		return nil, err
	}
	res.EvalExamples = query.N
	ledger.Units(inference, query.N, "examples")
	if math.IsInf(cfg.Epsilon, 1) {
		ledger.Note(inference, "epsilon = +Inf: no noise (nearest-token rounding only)")
	}
	res.Costs = ledger.Costs()
	return res, nil
}
