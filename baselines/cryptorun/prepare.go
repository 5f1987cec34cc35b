// Package cryptorun owns what the two cryptographic methods of the experiment runner share: he-ckks
// (baselines/ckks/ckksmethod) and mpc-2pc (baselines/mpc/mpcmethod). Both run the same pipeline around their
// engine:
//
//   - Prepare makes a run's crypto-friendly variant (docs/design.md §5): it fine-tunes the plaintext teacher on the
//     run's training examples, distils the variant from it (cryptofriendly.Distill, MPCFormer style), scores
//     both on the dev set in the clear, exports the variant's weights for the engines and calibrates their
//     Reciprocal/InvSqrt ranges on training examples. The accuracy a crypto method reports is the variant's,
//     evaluated in the clear on the full dev set: an engine computes the same function (Infer checks it example
//     by example), so running the whole dev set encrypted would cost hours and change no prediction.
//   - Sample draws the dev examples that run through the real protocol, stratified by sequence-length bucket, and
//     computes their reference logits on the reference engine (cryptofriendly.PlainEngine) with the same weights,
//     embedded input and mask; Check compares an engine's revealed logits with them.
//   - Extrapolate scales per-example measurements to a data set by length bucket (per-bucket means times the
//     set's bucket counts), the operation-count extrapolation the crypto baselines report (flagged Extrapolated).
//   - Project applies the network model (mpc.Network: loopback as measured, LAN and WAN estimated from bytes and
//     message latencies) to a measured figure.
//
// baselines/cryptofriendly/measure is the same pipeline as a stand-alone command.
package cryptorun

import (
	stdctx "context"
	"fmt"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Options controls Prepare.
type Options struct {
	// FineTune is the teacher's fine-tuning (finetune.DefaultConfig with the run's epochs and learning rate).
	FineTune finetune.Config
	// Distill is the distillation of the variant (cryptofriendly.DefaultDistillConfig).
	Distill cryptofriendly.DistillConfig
	// TableTrainable lets the teacher's fine-tuning (and so the distillation) train the token table. Off by
	// default: the client embeds its tokens itself, with the public table (Weights.Embed), so a table the
	// fine-tuning changed would have to be handed to every client.
	TableTrainable bool
	// CalibrationExamples training examples calibrate the Reciprocal/InvSqrt ranges, widened by
	// CalibrationMargin on both sides (cryptofriendly.Calibrate).
	CalibrationExamples int
	CalibrationMargin   float64
}

// DefaultOptions is the teacher's and the variant's training as the reproduction runs it, with run's epochs,
// learning rate and seed.
func DefaultOptions(run method.Run, progress bool) Options {
	ft := harness.FineTuneConfig(run, progress, "teacher fine-tuning")
	d := cryptofriendly.DefaultDistillConfig()
	d.Seed, d.Progress = run.Seed, progress
	return Options{FineTune: ft, Distill: d, CalibrationExamples: 256, CalibrationMargin: 2}
}

// Variant is a prepared crypto-friendly model and what preparing it measured.
type Variant struct {
	Info       datasets.TaskInfo
	Train, Dev *finetune.Encoded
	// TeacherMetrics and Metrics are the teacher's and the variant's dev metrics, both in the clear.
	TeacherMetrics, Metrics map[string]float64
	// TeacherSeconds is the teacher's fine-tuning time, Distill the distillation's report (its Seconds).
	TeacherSeconds float64
	Distill        *cryptofriendly.Report
	Student        *models.Model
	// Weights are the variant's exported, calibrated weights: what the engines run.
	Weights *cryptofriendly.Weights
	// Logits are the variant's (gomlx) dev logits, row-major [Dev.N, k].
	Logits []float32
	// FromCache marks a variant PrepareCached found in its cache: its teacher metrics and seconds were measured
	// when it was first prepared.
	FromCache bool
}

// Prepare fine-tunes teacher (in place) on train, distils the crypto-friendly variant from it, scores both on
// dev, and exports and calibrates the variant. teacher's encoder, pooler and task head train; its token table
// trains only with opts.TableTrainable.
func Prepare(ctx stdctx.Context, teacher *models.Model, info datasets.TaskInfo, train, dev *finetune.Encoded, opts Options) (*Variant, error) {
	if dev.N == 0 {
		return nil, fmt.Errorf("crypto-friendly variant of %s: no dev examples", info.Name)
	}
	harness.PrepareTuning(teacher, opts.TableTrainable)
	v := &Variant{Info: info, Train: train, Dev: dev}
	start := time.Now()
	tuned, err := finetune.Train(ctx, teacher, info, train, opts.FineTune)
	if err != nil {
		return nil, fmt.Errorf("fine-tuning the teacher: %w", err)
	}
	v.TeacherSeconds = time.Since(start).Seconds()
	if err := finetune.Evaluate(teacher, info, dev, tuned); err != nil {
		return nil, fmt.Errorf("scoring the teacher: %w", err)
	}
	v.TeacherMetrics = tuned.Metrics
	if v.Student, v.Distill, err = cryptofriendly.Distill(ctx, teacher, info, train, opts.Distill); err != nil {
		return nil, err
	}
	if err := v.score(); err != nil {
		return nil, err
	}
	if err := v.export(train, opts); err != nil {
		return nil, err
	}
	return v, nil
}

// score fills the variant's dev metrics and logits.
func (v *Variant) score() error {
	preds, logits, err := finetune.Predict(v.Student, v.Info, v.Dev)
	if err != nil {
		return fmt.Errorf("scoring the variant: %w", err)
	}
	if v.Metrics, err = finetune.Score(v.Info, preds, v.Dev.Labels); err != nil {
		return err
	}
	v.Logits = logits
	return nil
}

// export exports the variant's weights and calibrates them on the first training examples.
func (v *Variant) export(train *finetune.Encoded, opts Options) error {
	var err error
	if v.Weights, err = cryptofriendly.Export(v.Student); err != nil {
		return err
	}
	return cryptofriendly.Calibrate(v.Weights, Head(train, max(1, min(train.N, opts.CalibrationExamples))), opts.CalibrationMargin)
}

// Head is the first n examples of e (sharing its storage).
func Head(e *finetune.Encoded, n int) *finetune.Encoded {
	n = min(n, e.N)
	T := e.T
	return &finetune.Encoded{N: n, T: T, IDs: e.IDs[:n*T], Segments: e.Segments[:n*T], Mask: e.Mask[:n*T], Labels: e.Labels[:n]}
}

// Record fills res with what preparing the variant measured: the variant's dev metrics as the run's metrics,
// the teacher's as Extra "teacher_<metric>", the distillation's figures, the example counts, and a
// preprocessing cost (the distillation, run in the clear), and the dev set's majority-class scores
// (harness.RecordMajority).
func (v *Variant) Record(res *method.Result) error {
	res.Metrics = v.Metrics
	for m, x := range v.TeacherMetrics {
		res.Extra["teacher_"+m] = x
	}
	res.Extra["teacher_finetune_seconds"] = v.TeacherSeconds
	res.Extra["distill_seconds"] = v.Distill.Seconds
	res.Extra["distill_steps"] = float64(v.Distill.Steps)
	res.Extra["kd_loss_before"] = v.Distill.KDLossBefore
	res.Extra["kd_loss_after"] = v.Distill.KDLossAfter
	res.TrainExamples, res.EvalExamples = v.Train.N, v.Dev.N
	res.Tags["variant"] = "mpcformer-2quad-quad"
	res.Tags["accuracy"] = "variant-in-the-clear"
	cached := ""
	if v.FromCache {
		res.Tags["variant_cached"] = "true"
		cached = "; measured when this variant was first prepared (cached)"
	}
	res.Costs = append(res.Costs, method.Cost{
		Phase:        method.PhasePreprocessing,
		CloudSeconds: v.Distill.Seconds,
		Note: fmt.Sprintf("distillation of the crypto-friendly variant from the fine-tuned teacher, in the clear on the %d training examples "+
			"(MPCFormer); the teacher's fine-tuning, also in the clear, took %.1f s (extra_teacher_finetune_seconds): a private "+
			"deployment would pay the private-tuning figure for it instead%s", v.Train.N, v.TeacherSeconds, cached),
	})
	return harness.RecordMajority(res, v.Info, v.Dev.Labels)
}

// ForRun prepares (or finds in env's cache) the variant of a run: s's data encoded at the preset's length, the
// teacher started from s's public model, DefaultOptions with the table and distillation epochs given.
func ForRun(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, tableTrainable bool, distillEpochs int) (*Variant, Options, error) {
	T := s.Public.Preset.MaxLen
	opts := DefaultOptions(run, env.Progress)
	opts.TableTrainable = tableTrainable
	opts.Distill.Epochs = distillEpochs
	cache := Cache{Dir: env.CacheDir, Base: s.BasePath, Seed: run.Seed, Log: env.Log}
	v, err := PrepareCached(ctx, cache, s.Public, s.Data.Info, finetune.Encode(env.Tok, s.Data.Train, T), finetune.Encode(env.Tok, s.Data.Dev, T), opts)
	return v, opts, err
}
