package pretrain

import (
	stdctx "context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/embedinit"
	"github.com/cyphertalk/cyphertalk-go/models/train"
)

// Config is everything that determines a pre-trained checkpoint (and so its cache key).
type Config struct {
	Preset       string   `json:"preset"`
	Steps        int      `json:"steps"`
	LearningRate float64  `json:"learning_rate"`
	WarmupSteps  int      `json:"warmup_steps"`
	Seed         uint64   `json:"seed"`
	MaskProb     float64  `json:"mask_prob"`
	PublicTasks  []string `json:"public_tasks"`
	// TableInit is "ppmi" (PPMI-SVD on the public corpus) or "random".
	TableInit string  `json:"table_init"`
	TableStd  float64 `json:"table_std"`
	// TrainTable lets MLM update the token table. Off by default: MLM at this scale collapsed the table
	// (docs/design.md §4), and the PPMI-SVD table is the knowledge we want to keep.
	TrainTable    bool    `json:"train_table"`
	PairObjective bool    `json:"pair_objective"`
	HeldOut       float64 `json:"held_out"`
	PreLN         bool    `json:"pre_ln"`
}

// DefaultConfig is the recipe `make reproduce` uses.
func DefaultConfig(preset string) Config {
	return Config{Preset: preset, Steps: 4000, LearningRate: 1e-3, WarmupSteps: 60, Seed: 1, MaskProb: 0.15,
		PublicTasks: []string{"sst2", "qqp"}, TableInit: "ppmi", TableStd: 0.04, PairObjective: true, HeldOut: 0.02}
}

// cacheVersion is the format version of the pre-training recipe (and of an entry's result.json).
const cacheVersion = "pretrain/1"

// cacheKey is the recipe-cache key of a pre-training: the config, the corpus checksum and the vocabulary.
func (c Config) cacheKey(corpusChecksum, vocabFingerprint string) recipecache.Key {
	return recipecache.Key{Kind: "pretrain", Name: c.Preset, Version: cacheVersion, Recipe: struct {
		C      Config
		Corpus string
		Vocab  string
	}{c, corpusChecksum, vocabFingerprint}}
}

// Key is the cache key: the first 16 hex digits of the hash of the config, the corpus checksum and the
// vocabulary. The checkpoint lives in <cache>/pretrain/<preset>-<key>/ (model.bin, result.json, manifest.json).
func (c Config) Key(corpusChecksum, vocabFingerprint string) string {
	h, err := c.cacheKey(corpusChecksum, vocabFingerprint).Hash()
	if err != nil { // a Config always marshals; keep the signature simple
		panic(err)
	}
	return h[:16]
}

// Result describes a finished (or cached) pre-training.
type Result struct {
	Path           string    `json:"path"`
	Config         Config    `json:"config"`
	CorpusChecksum string    `json:"corpus_checksum"`
	CorpusTokens   int       `json:"corpus_tokens"`
	Sources        []string  `json:"sources"`
	Steps          int       `json:"steps"`
	Seconds        float64   `json:"seconds"`
	HeldOutLoss    float64   `json:"held_out_mlm_loss"`
	UnigramLoss    float64   `json:"unigram_loss"`
	Curve          []float64 `json:"curve"` // training MLM loss, mean per 20 steps
	ResumedFrom    int       `json:"resumed_from,omitempty"`
	Cached         bool      `json:"-"`
}

// Options are the run-time settings that do not change the checkpoint.
type Options struct {
	CacheDir string
	// Shipped lists directories laid out like a cache that may hold this recipe's finished checkpoint (committed
	// with the source so that `make reproduce` need not pre-train); nil means ShippedDirs(). A shipped entry is
	// used only if its manifest names exactly this recipe, corpus and vocabulary and its files match.
	Shipped  []string
	Progress bool
	// CheckpointEvery saves the weights every so many steps (0 = 100) so an interrupted run resumes there.
	CheckpointEvery int
	// onStep, if set, is called after each step (tests use it to interrupt a run at a known step).
	onStep func(step int)
}

// Run pre-trains (or reuses the cached checkpoint of) the public base model.
func Run(ctx stdctx.Context, dataDir string, tok *wordpiece.Tokenizer, cfg Config, opts Options) (*Result, error) {
	preset, err := models.LookupPreset(cfg.Preset)
	if err != nil {
		return nil, err
	}
	preset.PreLN = cfg.PreLN
	if cfg.Steps < 0 || cfg.MaskProb <= 0 || cfg.MaskProb >= 1 {
		return nil, fmt.Errorf("pretrain: invalid steps %d or mask probability %v", cfg.Steps, cfg.MaskProb)
	}
	corpus, err := BuildCorpus(dataDir, tok, cfg.PublicTasks)
	if err != nil {
		return nil, err
	}
	key := cfg.cacheKey(corpus.Checksum, tok.Fingerprint())
	cache := recipecache.New(opts.CacheDir, slog.Default())
	final, err := cache.Path(key)
	if err != nil {
		return nil, err
	}
	var built *Result
	shipped := opts.Shipped
	if shipped == nil {
		shipped = ShippedDirs()
	}
	entry, err := cache.GetOrBuild(ctx, key, recipecache.Options{Resume: true, Legacy: legacyEntry, Shipped: shipped},
		func(ctx stdctx.Context, dir string) error {
			built, err = pretrainInto(ctx, dir, final, preset, corpus, tok, cfg, opts)
			return err
		})
	if err != nil {
		return nil, err
	}
	if entry.Built {
		built.Path = filepath.Join(entry.Dir, "model.bin")
		return built, nil
	}
	r, err := readResult(entry.Dir)
	if err != nil { // the manifest vouched for the file: only a bug gets here
		return nil, fmt.Errorf("cached pre-training in %s: %w", entry.Dir, err)
	}
	r.Path, r.Cached = filepath.Join(entry.Dir, "model.bin"), true
	if entry.Shipped != "" {
		slog.Info("pre-trained model copied from the shipped checkpoint", "from", entry.Shipped, "path", r.Path)
	} else {
		slog.Info("pre-trained model found in cache", "path", r.Path)
	}
	return r, nil
}

// ShippedEnv names the environment variable listing shipped-checkpoint directories (separated by the OS's list
// separator); unset, the directory "checkpoints" (relative to the working directory, i.e. the repository root for
// make targets) is looked in.
const ShippedEnv = "CYPHERTALK_CHECKPOINTS"

// ShippedDirs returns the directories Run looks in for a shipped checkpoint when Options.Shipped is nil.
func ShippedDirs() []string {
	if v, ok := os.LookupEnv(ShippedEnv); ok {
		return filepath.SplitList(v)
	}
	return []string{"checkpoints"}
}

// readResult reads an entry's result.json.
func readResult(dir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("result.json: %w", err)
	}
	return &r, nil
}

// legacyEntry accepts a finished entry written before the cache kept manifests: a readable result.json and the
// model beside it. (An unfinished one, holding only partial.*, is continued from its checkpoint instead.)
func legacyEntry(dir string) error {
	if _, err := readResult(dir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "model.bin")); err != nil {
		return err
	}
	for _, f := range []string{"partial.json", "partial.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%s is left from an unfinished run", f)
		}
	}
	return nil
}

// pretrainInto pre-trains into dir (continuing from a checkpoint there), which becomes the entry final.
func pretrainInto(ctx stdctx.Context, dir, final string, preset models.Preset, corpus *Corpus, tok *wordpiece.Tokenizer,
	cfg Config, opts Options) (*Result, error) {
	start := time.Now()
	m, err := models.New(preset, tok.VocabSize(), cfg.Seed)
	if err != nil {
		return nil, err
	}
	if cfg.TableInit == "ppmi" {
		table, st, err := embedinit.Build(corpus.Sentences(), tok.VocabSize(), embedinit.Config{Dim: preset.Hidden,
			TargetStd: cfg.TableStd, Seed: cfg.Seed, Skip: tok.SpecialIDs()})
		if err != nil {
			return nil, fmt.Errorf("PPMI-SVD token table: %w", err)
		}
		slog.Info("PPMI-SVD token table built", "seen_ids", st.Seen, "nnz", st.NNZ, "seconds", fmt.Sprintf("%.1f", st.Seconds))
		if err := m.SetTokenTable(table); err != nil {
			return nil, err
		}
	} else if cfg.TableInit != "random" {
		return nil, fmt.Errorf("pretrain: table_init %q is not ppmi or random", cfg.TableInit)
	}
	m.SetTokenTableTrainable(cfg.TrainTable)

	trainView, heldView := split(corpus, cfg.HeldOut)
	logProbs := unigramLogProbs(trainView, tok.VocabSize())
	res := &Result{Config: cfg, CorpusChecksum: corpus.Checksum, CorpusTokens: corpus.Tokens, Sources: corpus.Sources,
		UnigramLoss: crossEntropyUnder(logProbs, heldView)}
	// Start the MLM output at the unigram distribution, with logits h·Eᵀ of standard deviation ≈ 1 at
	// initialisation (h is layer-normalised: unit variance per dimension).
	if err := m.InitMLMOutput(logProbs, float32(math.Log(1/(tableStd(m.TokenTable())*math.Sqrt(float64(preset.Hidden)))))); err != nil {
		return nil, err
	}
	trainer, err := m.NewTrainer(models.Optim{LearningRate: cfg.LearningRate, WarmupSteps: cfg.WarmupSteps,
		TotalSteps: cfg.Steps, WeightDecay: 0.01, ClipNorm: 1, Scope: "adam_pretrain"}, func(c *context.Context, in []*Node) (*Node, []*Node) {
		mlm, pair := Loss(m, c, in)
		return Add(mlm, pair), []*Node{mlm}
	})
	if err != nil {
		return nil, err
	}
	defer trainer.Finalize()
	ckpt := checkpoint{dir: dir}
	first, err := ckpt.resume(m, res)
	if err != nil {
		return nil, err
	}
	trainer.SetStep(first)
	resumed := res.Curve
	// A resumed run draws batches from a stream seeded by its starting step, so it does not replay the batches
	// before the checkpoint. Adam's moments restart at a resume (only the weights are checkpointed).
	smp := newSampler(trainView, tok, preset.MaxLen, cfg.MaskProb, cfg.PairObjective, cfg.Seed+uint64(first)*0x9e3779b9)
	every := opts.CheckpointEvery
	if every <= 0 {
		every = 100
	}
	curveOf := func(pts []train.Point) []float64 {
		out := slices.Clone(resumed)
		for _, p := range pts {
			out = append(out, p.Loss)
		}
		return out
	}
	loop := train.Loop[*Batch]{Name: "pre-training", Start: first, Steps: cfg.Steps, CurveEvery: 20,
		Progress: opts.Progress, Label: "pre-training " + cfg.Preset,
		Describe: func(p train.Point) string { return fmt.Sprintf("pre-training %s (MLM loss %.2f)", cfg.Preset, p.Loss) },
		Batches:  func(int) (*Batch, error) { return smp.batch(preset.BatchSize), nil },
		Step: func(_ stdctx.Context, _ int, b *Batch) (train.Output, error) {
			_, extras, err := trainer.Step(b.Tensors()...)
			if err != nil {
				return train.Output{}, err
			}
			return train.Output{Loss: float64(extras[0]), Extras: extras}, nil // the curve is the MLM loss
		},
		Checkpoint: train.Checkpoint{Every: every, Save: func(next int, pts []train.Point) error {
			res.Curve = curveOf(pts)
			return ckpt.save(m, next, res)
		}},
	}
	if opts.onStep != nil {
		loop.OnStep = func(s train.State) error { opts.onStep(s.Step); return nil }
	}
	run, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	res.Curve = curveOf(run.Curve)
	res.Steps = cfg.Steps
	res.HeldOutLoss, err = HeldOutLoss(m, &Sampler{newSampler(heldView, tok, preset.MaxLen, cfg.MaskProb, cfg.PairObjective, 7)}, 16)
	if err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.Path = filepath.Join(final, "model.bin")
	meta := map[string]string{"corpus_checksum": corpus.Checksum, "config_key": filepath.Base(final)}
	if err := m.Save(filepath.Join(dir, "model.bin"), meta); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := atomicfile.Write(filepath.Join(dir, "result.json"), b, 0o644); err != nil {
		return nil, err
	}
	ckpt.remove()
	slog.Info("pre-training done", "steps", res.Steps, "held_out_mlm_loss", fmt.Sprintf("%.3f", res.HeldOutLoss),
		"unigram_loss", fmt.Sprintf("%.3f", res.UnigramLoss), "seconds", fmt.Sprintf("%.0f", res.Seconds))
	return res, nil
}

// checkpoint is the partial state of an unfinished pre-training: weights and progress.
type checkpoint struct{ dir string }

type checkpointState struct {
	Step  int       `json:"step"`
	Curve []float64 `json:"curve"`
}

func (c checkpoint) weights() string { return filepath.Join(c.dir, "partial.bin") }
func (c checkpoint) state() string   { return filepath.Join(c.dir, "partial.json") }

// resume loads a checkpoint into m if one exists and returns the step to continue from (0 if none).
func (c checkpoint) resume(m *models.Model, res *Result) (int, error) {
	b, err := os.ReadFile(c.state())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading checkpoint: %w", err)
	}
	var st checkpointState
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", c.state(), err)
	}
	if _, err := m.LoadWeights(c.weights()); err != nil {
		return 0, fmt.Errorf("resuming pre-training: %w", err)
	}
	res.Curve, res.ResumedFrom = st.Curve, st.Step
	slog.Info("resuming pre-training from checkpoint", "step", st.Step, "dir", c.dir)
	return st.Step, nil
}

// save writes the weights, then the state that points at them (each atomically).
func (c checkpoint) save(m *models.Model, step int, res *Result) error {
	if err := m.Save(c.weights(), nil); err != nil {
		return fmt.Errorf("checkpointing at step %d: %w", step, err)
	}
	b, _ := json.Marshal(checkpointState{Step: step, Curve: res.Curve})
	return atomicfile.Write(c.state(), b, 0o644)
}

func (c checkpoint) remove() {
	_ = os.Remove(c.state())
	_ = os.Remove(c.weights())
}

// Loss builds the masked-LM loss (mean over masked slots) and the sentence-pair loss (mean over pair examples)
// from the inputs of Batch.Tensors.
func Loss(m *models.Model, ctx *context.Context, in []*Node) (mlm, pair *Node) {
	ids, seg, mask, pos, targets, weights, isNext, pairW := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
	hidden := m.Encode(ctx, models.Inputs{IDs: ids, Segments: seg, Mask: mask}, -1)
	mlmSum, wSum := MaskedLMSums(m, ctx, hidden, pos, targets, weights)
	mlm = Div(mlmSum, MaxScalar(wSum, 1))
	logits := layers.Dense(ctx.In("mlm").In("pair"), m.Pool(ctx, hidden), true, 2)
	ce := models.CrossEntropy(logits, isNext)
	pair = Div(ReduceAllSum(Mul(ce, pairW)), MaxScalar(ReduceAllSum(pairW), 1))
	return mlm, pair
}

// MaskedLMSums returns Σ w·CE over the masked slots and Σ w, so callers can average over many batches.
func MaskedLMSums(m *models.Model, ctx *context.Context, hidden, positions, targets, weights *Node) (sum, count *Node) {
	n := positions.Shape().Size()
	h := m.MLMTransform(ctx, models.GatherPositions(hidden, positions))
	logits := m.MLMLogits(ctx, h)
	flatTargets := Reshape(targets, n)
	ce := Sub(models.LogSumExp(logits), m.MLMLabelLogits(ctx, h, flatTargets))
	w := Reshape(weights, n)
	return ReduceAllSum(Mul(ce, w)), ReduceAllSum(w)
}

// HeldOutLoss is the mean masked-LM cross-entropy (nats) over n batches drawn with a fixed seed from s.
func HeldOutLoss(m *models.Model, s *Sampler, n int) (float64, error) {
	return HeldOutLossMapped(m, s, n, nil)
}

// HeldOutLossMapped is HeldOutLoss with every batch's ids mapped through f first (π: the loss in shaken space).
func HeldOutLossMapped(m *models.Model, s *Sampler, n int, f func(int32) int32) (float64, error) {
	pred, err := m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		hidden := m.Encode(ctx, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
		sum, count := MaskedLMSums(m, ctx, hidden, in[3], in[4], in[5])
		return []*Node{sum, count}
	})
	if err != nil {
		return 0, err
	}
	defer pred.Finalize()
	var total, count float64
	for range n {
		b := s.Batch(m.Preset.BatchSize)
		if f != nil {
			b.MapIDs(f)
		}
		outs, err := pred.Run(b.Tensors()[:6]...)
		if err != nil {
			return 0, err
		}
		total += float64(tensors.ToScalar[float32](outs[0]))
		count += float64(tensors.ToScalar[float32](outs[1]))
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	if count == 0 {
		return 0, errors.New("held-out set produced no masked tokens")
	}
	return total / count, nil
}

// forEachToken calls fn for every token of a view.
func forEachToken(v view, fn func(id int32)) {
	v.eachUnit(func(ids []int32) {
		for _, id := range ids {
			fn(id)
		}
	})
}

// unigramLogProbs is the add-one-smoothed log unigram distribution of a view's tokens.
func unigramLogProbs(v view, vocab int) []float32 {
	counts := make([]float64, vocab)
	total := 0.0
	forEachToken(v, func(id int32) { counts[id]++; total++ })
	out := make([]float32, vocab)
	for i, c := range counts {
		out[i] = float32(math.Log((c + 1) / (total + float64(vocab))))
	}
	return out
}

// crossEntropyUnder is the mean cross-entropy (nats) of a view's tokens under log-probabilities: with the training
// unigram distribution, the plateau an MLM that has learnt nothing beyond frequencies sits on.
func crossEntropyUnder(logProbs []float32, v view) float64 {
	var ce, n float64
	forEachToken(v, func(id int32) { ce -= float64(logProbs[id]); n++ })
	if n == 0 {
		return 0
	}
	return ce / n
}

// tableStd is the standard deviation of all entries of a table.
func tableStd(t []float32) float64 {
	var s, s2 float64
	for _, x := range t {
		s += float64(x)
		s2 += float64(x) * float64(x)
	}
	n := float64(len(t))
	return math.Sqrt(max(s2/n-(s/n)*(s/n), 1e-12))
}

// Base returns the path of the public base model for a preset and recipe: "default" pre-trains with
// DefaultConfig(preset) (or reuses the cached checkpoint), "none" returns "" (train from scratch).
func Base(ctx stdctx.Context, dataDir string, tok *wordpiece.Tokenizer, preset, recipe string, opts Options) (string, *Result, error) {
	switch recipe {
	case "none", "scratch":
		return "", nil, nil
	case "", "default":
		res, err := Run(ctx, dataDir, tok, DefaultConfig(preset), opts)
		if err != nil {
			return "", nil, fmt.Errorf("pre-training the %s base model: %w", preset, err)
		}
		return res.Path, res, nil
	default:
		return "", nil, fmt.Errorf("unknown pre-training recipe %q (valid: default, none)", recipe)
	}
}
