package cryptorun

import (
	stdctx "context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Cache says where PrepareCached keeps prepared variants, so that the two crypto methods of one experiment (same
// base model, data, seed and training settings) fine-tune and distil once. Dir "" disables it, and so does an
// untrained base (Base ""), as in shaking's implantation cache.
type Cache struct {
	Dir  string // the runner's cache directory; variants go under Dir/cryptofriendly/
	Base string // the teacher's starting weights (pre-trained checkpoint path)
	Seed uint64 // the run's seed (model construction on load)
	Log  *slog.Logger
}

// cachedVariant is what the cache stores beside the student's weights.
type cachedVariant struct {
	TeacherMetrics, Metrics map[string]float64
	TeacherSeconds          float64
	Distill                 cryptofriendly.Report
}

// PrepareCached is Prepare, reusing a variant prepared before with the same recipe (the variant's weights; the
// teacher's metrics and the measured seconds as they were then: Variant.FromCache says so). Variants live in the
// recipe cache under <Dir>/cryptofriendly/<preset>-<hash16>/ (student.bin, variant.json). A cached variant that
// no longer scores as recorded is prepared again.
func PrepareCached(ctx stdctx.Context, c Cache, teacher *models.Model, info datasets.TaskInfo, train, dev *finetune.Encoded, opts Options) (*Variant, error) {
	if c.Dir == "" || c.Base == "" {
		return Prepare(ctx, teacher, info, train, dev, opts)
	}
	key := recipeKey(c.Base, teacher, info, train, dev, opts)
	cache := recipecache.New(c.Dir, c.Log)
	legacy := func(dir string) error {
		var cv cachedVariant
		b, err := os.ReadFile(filepath.Join(dir, "variant.json"))
		if err == nil {
			err = json.Unmarshal(b, &cv)
		}
		if err == nil {
			_, err = os.Stat(filepath.Join(dir, "student.bin"))
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		var built *Variant
		entry, err := cache.GetOrBuild(ctx, key, recipecache.Options{Legacy: legacy}, func(ctx stdctx.Context, dir string) error {
			v, err := Prepare(ctx, teacher, info, train, dev, opts)
			if err != nil {
				return err
			}
			if err := v.Student.Save(filepath.Join(dir, "student.bin"), map[string]string{"task": info.Name}); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(cachedVariant{TeacherMetrics: v.TeacherMetrics, Metrics: v.Metrics, TeacherSeconds: v.TeacherSeconds, Distill: *v.Distill}, "", "  ")
			if err := atomicfile.Write(filepath.Join(dir, "variant.json"), b, 0o644); err != nil {
				return err
			}
			built = v
			return nil
		})
		if err != nil {
			return nil, err
		}
		if entry.Built {
			return built, nil
		}
		v, err := loadVariant(entry.Dir, c.Seed, info, train, dev, opts)
		if err == nil {
			if c.Log != nil {
				c.Log.Info("crypto-friendly variant found in cache", "dir", entry.Dir)
			}
			return v, nil
		}
		if attempt > 0 {
			return nil, fmt.Errorf("crypto-friendly variant prepared again in %s: %w", entry.Dir, err)
		}
		if c.Log != nil {
			c.Log.Warn("cached crypto-friendly variant does not load as recorded; preparing again", "dir", entry.Dir, "err", err)
		}
		if err := os.RemoveAll(entry.Dir); err != nil {
			return nil, fmt.Errorf("removing the cached crypto-friendly variant %s: %w", entry.Dir, err)
		}
	}
}

// loadVariant reads a cached variant, re-scores it on dev (the metrics must be the cached ones) and exports and
// calibrates it again.
func loadVariant(dir string, seed uint64, info datasets.TaskInfo, train, dev *finetune.Encoded, opts Options) (*Variant, error) {
	b, err := os.ReadFile(filepath.Join(dir, "variant.json"))
	if err != nil {
		return nil, err
	}
	var cv cachedVariant
	if err := json.Unmarshal(b, &cv); err != nil {
		return nil, err
	}
	student, _, err := models.Load(filepath.Join(dir, "student.bin"), seed)
	if err != nil {
		return nil, err
	}
	approx := opts.Distill.Approx
	student.Approx = &approx
	v := &Variant{Info: info, Train: train, Dev: dev, TeacherMetrics: cv.TeacherMetrics, TeacherSeconds: cv.TeacherSeconds,
		Distill: &cv.Distill, Student: student, FromCache: true}
	if err := v.score(); err != nil {
		return nil, err
	}
	for m, x := range cv.Metrics {
		if math.Abs(v.Metrics[m]-x) > 1e-9 {
			return nil, fmt.Errorf("cached variant scores %s %v, recorded %v", m, v.Metrics[m], x)
		}
	}
	if err := v.export(train, opts); err != nil {
		return nil, err
	}
	return v, nil
}

// recipeKey identifies a preparation: the base weights, preset, task, the exact encoded data and the options.
func recipeKey(base string, teacher *models.Model, info datasets.TaskInfo, train, dev *finetune.Encoded, opts Options) recipecache.Key {
	ft, ds := opts.FineTune, opts.Distill
	ft.Progress, ft.Label, ds.Progress = false, "", false
	return recipecache.Key{Kind: "cryptofriendly", Name: teacher.Preset.Name, Version: "cryptofriendly-variant/1", Recipe: struct {
		Base, Task  string
		Preset      models.Preset
		Vocab       int
		Train, Dev  string
		FineTune    finetune.Config
		Distill     cryptofriendly.DistillConfig
		Table       bool
		Calibration int
		Margin      float64
	}{base, info.Name, teacher.Preset, teacher.VocabSize, fingerprint(train), fingerprint(dev),
		ft, ds, opts.TableTrainable, opts.CalibrationExamples, opts.CalibrationMargin}}
}

// fingerprint is the SHA-256 of an encoded set's ids, segments, mask and labels.
func fingerprint(e *finetune.Encoded) string {
	h := sha256.New()
	writeInts := func(h hash.Hash, xs []int32) {
		buf := make([]byte, 4*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(x))
		}
		h.Write(buf)
	}
	fmt.Fprintf(h, "%d %d\n", e.N, e.T)
	writeInts(h, e.IDs)
	writeInts(h, e.Segments)
	writeInts(h, e.Mask)
	for _, l := range e.Labels {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(l))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
