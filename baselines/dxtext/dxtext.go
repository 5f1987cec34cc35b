// Package dxtext owns the dx-text baseline (docs/design.md §5): text sanitisation by metric differential privacy
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

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
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
func DXText() harness.Method[Config] {
	return harness.Method[Config]{MethodName: "dx-text", Decode: DecodeConfig, Protocol: Protocol}
}

// Protocol runs private tuning and private inference on sanitised text, on a prepared setup whose public model
// the cloud fine-tunes in place (all of it, token table included, as SanText fine-tunes).
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
	m := s.Public
	p := m.Preset
	res := method.NewResult()
	res.Epsilon, res.Delta = cfg.Epsilon, 0
	res.Tags["mechanism"] = "dx-text"
	res.Tags["privacy"] = "local, metric (per token)"
	res.Tags["table"] = "trainable"
	ledger := harness.NewLedger()

	// The client sanitises with the public table, before the cloud tunes anything.
	var san *Sanitizer
	sanitizeTrain := func(e *finetune.Encoded) (*finetune.Encoded, error) {
		var err error
		if san, err = NewSanitizer(env.Tok, m.TokenTable(), m.VocabSize, p.Hidden, cfg.Epsilon); err != nil {
			return nil, err
		}
		upload, replaced, err := san.SanitizeEncoded(e, NoiseSeed(run.Seed, "train"))
		res.Extra["s_e"] = san.SE()
		res.Extra["replaced_train"] = replaced
		res.Extra["candidates"] = float64(san.Candidates())
		return upload, err
	}
	sanitizeQueries := func(e *finetune.Encoded) (*finetune.Encoded, error) {
		query, replaced, err := san.SanitizeEncoded(e, NoiseSeed(run.Seed, "inference"))
		res.Extra["replaced_eval"] = replaced
		return query, err
	}
	harness.PrepareTuning(m, true)
	proto := harness.IDProtocol{Model: m, EncodeTrain: sanitizeTrain, EncodeQueries: sanitizeQueries,
		TuningNote: "the cloud sees sanitised token ids and the labels"}
	if math.IsInf(cfg.Epsilon, 1) {
		proto.InferenceNote = "epsilon = +Inf: no noise (nearest-token rounding only)"
	}
	if err := harness.TuneAndInfer(ctx, env, s, proto, harness.FineTuneConfig(run, env.Progress, "dx-text tuning"), ledger, res); err != nil {
		return nil, err
	}
	res.Costs = ledger.Costs()
	return res, nil
}
