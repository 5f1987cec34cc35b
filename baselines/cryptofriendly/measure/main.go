// Command measure produces the crypto-friendly variant's accuracy for the results table: it fine-tunes a
// plaintext teacher on a task's private-pool training examples (from the cached pre-trained base model when one
// exists, else from scratch), distils the variant from it, scores both on the dev set (cryptorun.Prepare, the
// pipeline the he-ckks and mpc-2pc methods run), and runs a sample of dev examples through the reference engine
// to check the exported forward and count its operations per sequence. Run it from the repository root (cached checkpoints record relative paths):
//
//	nice -n 15 go run ./baselines/cryptofriendly/measure -task sst2 -preset tiny -train 2000
package main

import (
	stdctx "context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptorun"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

type options struct {
	dataDir, cacheDir, task, preset, table string
	train, eval, engineSample              int
	seed                                   uint64
	distillEpochs                          int
	hiddenWeight                           float64
}

func main() {
	var o options
	flag.StringVar(&o.dataDir, "data", "", "data directory (default: $DATA_DIR, ../shared/data, ./data)")
	flag.StringVar(&o.cacheDir, "cache", "cache", "cache directory holding pre-trained checkpoints")
	flag.StringVar(&o.task, "task", "sst2", "task")
	flag.StringVar(&o.preset, "preset", "tiny", "model preset")
	flag.StringVar(&o.table, "table", "trainable", "teacher's token table during fine-tuning: trainable or frozen")
	flag.IntVar(&o.train, "train", 2000, "training examples from the private pool")
	flag.IntVar(&o.eval, "eval", 0, "dev examples (0 = the full dev set)")
	flag.IntVar(&o.engineSample, "engine-sample", 16, "dev examples also run through the reference engine")
	flag.Uint64Var(&o.seed, "seed", 1, "seed")
	flag.IntVar(&o.distillEpochs, "distill-epochs", cryptofriendly.DefaultDistillConfig().Epochs, "distillation epochs")
	flag.Float64Var(&o.hiddenWeight, "hidden-weight", cryptofriendly.DefaultDistillConfig().HiddenWeight, "weight of the hidden-state loss")
	flag.Parse()
	ctx, stop := signal.NotifyContext(stdctx.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		slog.Error("measure", "err", err)
		os.Exit(1)
	}
}

func run(ctx stdctx.Context, o options) error {
	dir, err := datasets.ResolveDataDir(o.dataDir)
	if err != nil {
		return err
	}
	tok, err := wordpiece.Load(datasets.VocabPath(dir))
	if err != nil {
		return err
	}
	preset, err := models.LookupPreset(o.preset)
	if err != nil {
		return err
	}
	info, err := datasets.Task(o.task)
	if err != nil {
		return err
	}
	trainSet, err := datasets.Load(dir, o.task, "train")
	if err != nil {
		return err
	}
	devSet, err := datasets.Load(dir, o.task, "dev")
	if err != nil {
		return err
	}
	private, _ := datasets.Pools(trainSet.Examples)
	train := finetune.Encode(tok, datasets.Subsample(private, o.train, o.seed), preset.MaxLen)
	dev := finetune.Encode(tok, datasets.Subsample(devSet.Examples, o.eval, 0), preset.MaxLen)

	base, err := cachedBase(ctx, dir, o.cacheDir, tok, o.preset)
	if err != nil {
		return err
	}
	var teacher *models.Model
	if base != "" {
		teacher, _, err = models.Load(base, o.seed, "/task_head", "/mlm")
		preset = teacher.Preset
	} else {
		teacher, err = models.New(preset, tok.VocabSize(), o.seed)
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s, %s: %d training examples, %d dev, base %q\n", preset, info.Name, train.N, dev.N, base)

	ft := finetune.DefaultConfig()
	ft.Seed, ft.Progress, ft.Label = o.seed, true, "teacher "+info.Name
	cfg := cryptofriendly.DefaultDistillConfig()
	cfg.Seed, cfg.Progress, cfg.Epochs, cfg.HiddenWeight = o.seed, true, o.distillEpochs, o.hiddenWeight
	opts := cryptorun.Options{FineTune: ft, Distill: cfg, TableTrainable: o.table == "trainable", CalibrationExamples: 256, CalibrationMargin: 2}
	v, err := cryptorun.Prepare(ctx, teacher, info, train, dev, opts)
	if err != nil {
		return err
	}
	headline := info.Metrics[0]
	fmt.Printf("teacher (plaintext):        dev %s %.4f  (fine-tuning %.0f s, %d epochs, table %s)\n", headline, v.TeacherMetrics[headline], v.TeacherSeconds, ft.Epochs, o.table)
	fmt.Printf("crypto-friendly (distilled): dev %s %.4f  (distillation %.0f s, %d epochs, %d steps)\n", headline,
		v.Metrics[headline], v.Distill.Seconds, cfg.Epochs, v.Distill.Steps)
	fmt.Printf("KD loss on the training examples: %.4f before, %.4f after; training loss per epoch %.4f\n",
		v.Distill.KDLossBefore, v.Distill.KDLossAfter, v.Distill.Curve)
	return engineCheck(v, o.engineSample)
}

// cachedBase returns the cached pre-trained checkpoint for the preset's default recipe, or "" when there is none
// (the teacher then starts from scratch rather than pre-training for many minutes here).
func cachedBase(ctx stdctx.Context, dataDir, cacheDir string, tok *wordpiece.Tokenizer, preset string) (string, error) {
	cfg := pretrain.DefaultConfig(preset)
	corpus, err := pretrain.BuildCorpus(dataDir, tok, cfg.PublicTasks)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "pretrain", preset+"-"+cfg.Key(corpus.Checksum, tok.Fingerprint()))
	if _, err := os.Stat(filepath.Join(dir, "result.json")); errors.Is(err, os.ErrNotExist) {
		slog.Warn("no cached pre-trained model; the teacher starts from scratch", "looked_in", dir)
		return "", nil
	}
	res, err := pretrain.Run(ctx, dataDir, tok, cfg, pretrain.Options{CacheDir: cacheDir})
	if err != nil {
		return "", err
	}
	if !res.Cached {
		return "", fmt.Errorf("pre-training was expected to be cached in %s", dir)
	}
	return res.Path, nil
}

// engineCheck runs n dev examples of the prepared (exported, calibrated) variant through the reference engine:
// logits against gomlx's, and the operations per sequence.
func engineCheck(v *cryptorun.Variant, n int) error {
	n = min(n, v.Dev.N)
	if n == 0 {
		return nil
	}
	w, part := v.Weights, cryptorun.Head(v.Dev, n)
	k := w.NumLabels()
	engine := cryptofriendly.NewPlainEngine()
	var maxDiff float64
	tokens := 0
	start := time.Now()
	for i := range n {
		x, mask, err := w.EmbedExample(part, i)
		if err != nil {
			return err
		}
		for _, ok := range mask {
			if ok {
				tokens++
			}
		}
		got, err := cryptofriendly.Forward(engine, w, x, mask)
		if err != nil {
			return err
		}
		for j := range k {
			maxDiff = max(maxDiff, math.Abs(got.Data[j]-float64(v.Logits[i*k+j])))
		}
	}
	fmt.Printf("reference engine on %d dev examples (mean %.1f tokens): max |logit − gomlx| %.2g, %d Reciprocal/InvSqrt inputs outside the calibrated bounds, %.1f ms/sequence\n",
		n, float64(tokens)/float64(n), maxDiff, engine.OutOfRange(), 1000*time.Since(start).Seconds()/float64(n))
	tot := engine.Counts().Total()
	fmt.Printf("per sequence: %.3g private multiplications, %.3g plaintext-weight MACs\n%s", float64(tot.Mults)/float64(n),
		float64(tot.MACs)/float64(n), engine.Counts())
	return nil
}
