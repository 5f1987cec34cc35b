// Package bow owns the "bow" method: a bag-of-words logistic regression trained in plaintext on the same examples
// the compared methods fine-tune on, a reference for what the fine-tuned model adds over word counts. It reads the
// ids the model sees (the project's tokenizer at the run's preset length, truncation included), turns each
// example into unigram (optionally hashed-bigram) features, binary or term counts (for a pair task, each
// sentence's features, the tokens both share, their Jaccard overlap and relative length difference), and fits an
// L2-regularised linear model with L-BFGS (lbfgs.go, on gonum's floats): logistic for two labels, multinomial for more, ridge
// regression for a regression task. Dev scoring is the harness's private inference, as for every method: the
// task's metrics from the model's logits and the majority_<metric> extras.
//
// No base model is loaded or pre-trained. Costs are booked as plaintext's are: the client tokenises its examples
// and uploads the ids (harness.EncodedBytes), the cloud builds the features and trains (private tuning, units:
// L-BFGS iterations), then serves the dev queries and returns their logits (private inference). Reports draw its
// dev score as a horizontal line on the accuracy figures (method.Display.ReferenceLine).
package bow

import (
	stdctx "context"
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Name is the method's registry name.
const Name = "bow"

// Label is the method's name in figures and tables.
const Label = "bag-of-words LR"

// Feature kinds.
const (
	FeaturesBinary = "binary" // 1 when the example has the token
	FeaturesTF     = "tf"     // how many times the example has it
)

func init() {
	method.Register(Method{})
	method.Describe(Name, method.Display{Label: Label, Order: 5, ReferenceLine: true})
}

// Config is the method's parameters.
type Config struct {
	// L2 is the penalty weight: the model minimises the summed training loss plus l2/2·‖w‖² (biases unpenalised);
	// 1 is scikit-learn's default C = 1.
	L2 float64 `param:"l2"`
	// MinCount keeps a feature only when at least that many training examples have it.
	MinCount int `param:"min_count"`
	// Bigrams adds adjacent token pairs within each sentence, hashed into BigramBuckets buckets.
	Bigrams       bool `param:"bigrams"`
	BigramBuckets int  `param:"bigram_buckets"`
	// Features is "binary" or "tf".
	Features string `param:"features"`
	// MaxIterations bounds L-BFGS.
	MaxIterations int `param:"max_iterations"`
}

// DefaultConfig is the configuration an empty parameter table gives: binary unigrams and bigrams seen in at least
// two training examples, l2 = 1 (on 4,000 SST-2 examples: dev accuracy 0.769; unigrams only 0.757).
func DefaultConfig() Config {
	return Config{L2: 1, MinCount: 2, Bigrams: true, BigramBuckets: 1 << 18, Features: FeaturesBinary, MaxIterations: 300}
}

// maxBuckets bounds bigram_buckets (the model has a weight per bucket, block and class).
const maxBuckets = 1 << 24

// DecodeConfig reads the parameters over DefaultConfig and checks them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := DefaultConfig()
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", Name, err)
	}
	switch {
	case !(cfg.L2 > 0) || math.IsInf(cfg.L2, 0):
		return cfg, fmt.Errorf("%s: l2 = %v: want a positive, finite penalty weight (the model minimises the summed loss plus l2/2·‖w‖²; 1 is the usual strength, larger values regularise more)", Name, cfg.L2)
	case cfg.MinCount < 1:
		return cfg, fmt.Errorf("%s: min_count = %d: want at least 1 (a feature is kept when at least min_count training examples have it; 1 keeps every feature)", Name, cfg.MinCount)
	case cfg.BigramBuckets < 1 || cfg.BigramBuckets > maxBuckets:
		return cfg, fmt.Errorf("%s: bigram_buckets = %d: want 1 to %d (bigrams are hashed into this many buckets; used with bigrams = true)", Name, cfg.BigramBuckets, maxBuckets)
	case cfg.Features != FeaturesBinary && cfg.Features != FeaturesTF:
		return cfg, fmt.Errorf("%s: features = %q: want %q (1 when an example has a token) or %q (how many times it has it)", Name, cfg.Features, FeaturesBinary, FeaturesTF)
	case cfg.MaxIterations < 1:
		return cfg, fmt.Errorf("%s: max_iterations = %d: want at least 1 (the L-BFGS iteration limit; the default is %d)", Name, cfg.MaxIterations, DefaultConfig().MaxIterations)
	}
	if _, ok := params["bigram_buckets"]; ok && !cfg.Bigrams {
		return cfg, fmt.Errorf("%s: bigram_buckets is set but bigrams is not: set bigrams = true to use hashed bigrams", Name)
	}
	return cfg, nil
}

// Method is the bag-of-words method. It implements method.Method directly: unlike harness.Method it needs no
// base model.
type Method struct{}

// Name implements method.Method.
func (Method) Name() string { return Name }

// Validate implements method.Method.
func (Method) Validate(params map[string]any) error {
	_, err := DecodeConfig(params)
	return err
}

// Run implements method.Method: it loads the run's data and runs Protocol.
func (Method) Run(ctx stdctx.Context, env method.Env, run method.Run) (*method.Result, error) {
	cfg, err := DecodeConfig(run.Params)
	if err != nil {
		return nil, err
	}
	data, err := finetune.LoadTaskData(env.DataDir, run.Task, run.MaxTrain, run.MaxEval, run.Seed)
	if err != nil {
		return nil, err
	}
	if data.Malformed > 0 && env.Log != nil {
		env.Log.Warn("malformed rows skipped", "task", run.Task, "rows", data.Malformed)
	}
	preset, err := models.LookupPreset(run.Preset)
	if err != nil {
		return nil, fmt.Errorf("%s: the run's preset sets the token length the features are read at: %w", Name, err)
	}
	return Protocol(ctx, env, &harness.Setup{Data: data}, preset.MaxLen, cfg)
}

// Protocol trains on s.Data.Train read at T tokens and scores s.Data.Dev (s.Public is not used).
func Protocol(ctx stdctx.Context, env method.Env, s *harness.Setup, T int, cfg Config) (*method.Result, error) {
	if env.Tok == nil {
		return nil, fmt.Errorf("%s: no tokenizer", Name)
	}
	res := method.NewResult()
	res.Tags["features"] = cfg.Features
	res.Tags["ngrams"] = "unigrams"
	if cfg.Bigrams {
		res.Tags["ngrams"] = "unigrams+bigrams"
	}
	tok := env.Tok
	f := &featurizer{cfg: cfg, vocab: tok.VocabSize(), pair: s.Data.Info.Pair,
		special: []int32{tok.PadID(), tok.ClsID(), tok.SepID(), tok.MaskID()}}
	var model *linear
	var stats fitStats
	ledger := harness.NewLedger()
	identity := func(e *finetune.Encoded) (*finetune.Encoded, error) { return e, nil }
	tuning := harness.Tuning[*finetune.Encoded]{Encode: identity, Bytes: harness.EncodedBytes,
		Train: func(ctx stdctx.Context, u *finetune.Encoded, _ finetune.Config, _ *harness.Ledger) ([]method.CurvePoint, error) {
			f.fit(u)
			x := f.transform(u)
			model = newLinear(s.Data.Info.NumLabels, f.dims())
			var err error
			if stats, err = model.fit(ctx, x, u.Labels, cfg.L2, cfg.MaxIterations); err != nil {
				return nil, fmt.Errorf("%s: training on %s: %w", Name, s.Data.Info.Name, err)
			}
			curve := make([]method.CurvePoint, len(stats.Curve))
			for i, l := range stats.Curve {
				curve[i] = method.CurvePoint{Phase: method.PhasePrivateTuning, Step: i + 1, Loss: l}
			}
			return curve, nil
		}}
	if _, err := harness.PrivateTuning(ctx, env, s, T, tuning, finetune.Config{}, ledger, res); err != nil {
		return nil, err
	}
	ledger.Units(method.PhasePrivateTuning, stats.Iterations, "L-BFGS iterations")
	ledger.Note(method.PhasePrivateTuning, fmt.Sprintf("%s; L2 %g; L-BFGS: %s", f.describe(), cfg.L2, stats.Status))
	inference := harness.Inference[*finetune.Encoded]{Encode: identity, Bytes: harness.EncodedBytes,
		Predict: func(_ stdctx.Context, q *finetune.Encoded) ([]float32, error) {
			return model.logits(f.transform(q)), nil
		}}
	if _, err := harness.PrivateInference(ctx, env, s, T, inference, ledger, res); err != nil {
		return nil, err
	}
	res.Costs = ledger.Costs()
	res.Extra["feature_count"] = float64(f.dims())
	res.Extra["lbfgs_iterations"] = float64(stats.Iterations)
	res.Extra["train_objective"] = stats.Loss
	return res, nil
}
