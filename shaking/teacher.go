package shaking

import (
	stdctx "context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/internal/progress"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// teacherTargets are the public model's top-k masked-LM predictions (plaintext ids) on n recovery batches.
// They depend on the public model and the recovery text only — not on the key — so they are cached and shared
// by every key implanted with the same recovery text.
type teacherTargets struct {
	IDs     [][]int32
	Probs   [][]float32
	Seconds float64 // measured time to compute them (booked to the client on every use)
	cached  bool
}

// teacherFile is the targets' file in their cache entry (gob).
const teacherFile = "targets.gob"

// teacherKey is the recipe-cache key of the targets: the base model, the recovery text's sampler and the shape.
func teacherKey(s *harness.Setup, samplerSeed uint64, n, k int) recipecache.Key {
	public := s.Public
	return recipecache.Key{Kind: "teacher", Version: "teacher/1", Recipe: struct {
		Base       string
		Seed       uint64
		N, K, T, B int
		Pretrain   pretrain.Config
	}{s.BasePath, samplerSeed, n, k, public.Preset.MaxLen, public.Preset.BatchSize, s.Pretrain}}
}

// cachedTeacherTargets returns the targets from the recipe cache (<cache>/teacher/<hash16>/), computing them
// when they are not there. Without a saved base model or a cache directory they are computed every time.
func cachedTeacherTargets(ctx stdctx.Context, env method.Env, s *harness.Setup, samplerSeed uint64, n, k int) (*teacherTargets, error) {
	if s.BasePath == "" || env.CacheDir == "" {
		return computeTeacherTargets(ctx, env, s, samplerSeed, n, k)
	}
	key := teacherKey(s, samplerSeed, n, k)
	cache := recipecache.New(env.CacheDir, env.Log)
	final, err := cache.Path(key)
	if err != nil {
		return nil, err
	}
	var built *teacherTargets
	entry, err := cache.GetOrBuild(ctx, key, recipecache.Options{}, func(ctx stdctx.Context, dir string) error {
		// Targets cached before entries were directories are a file beside the entry: move them in.
		if t, err := readTeacherTargets(final+".gob", n); err == nil {
			if err := os.Rename(final+".gob", filepath.Join(dir, teacherFile)); err != nil {
				return fmt.Errorf("caching teacher predictions: %w", err)
			}
			t.cached, built = true, t
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			env.Log.Warn("computing the teacher predictions again: the cached file is unreadable", "err", err)
		}
		t, err := computeTeacherTargets(ctx, env, s, samplerSeed, n, k)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFunc(filepath.Join(dir, teacherFile), 0o644, func(w io.Writer) error { return gob.NewEncoder(w).Encode(t) }); err != nil {
			return fmt.Errorf("caching teacher predictions: %w", err)
		}
		built = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	if entry.Built {
		return built, nil
	}
	t, err := readTeacherTargets(filepath.Join(entry.Dir, teacherFile), n)
	if err != nil { // the manifest vouched for the file: only a bug gets here
		return nil, fmt.Errorf("cached teacher predictions in %s: %w", entry.Dir, err)
	}
	t.cached = true
	return t, nil
}

// readTeacherTargets decodes a targets file, which must hold n batches.
func readTeacherTargets(path string, n int) (*teacherTargets, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var t teacherTargets
	if err := gob.NewDecoder(f).Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(t.IDs) != n || len(t.Probs) != n {
		return nil, fmt.Errorf("%s: %d batches of predictions, want %d", path, len(t.IDs), n)
	}
	return &t, nil
}

// computeTeacherTargets runs the public model over n batches of the recovery text, timing it.
func computeTeacherTargets(ctx stdctx.Context, env method.Env, s *harness.Setup, samplerSeed uint64, n, k int) (*teacherTargets, error) {
	public := s.Public
	corpus, err := pretrain.BuildCorpus(env.DataDir, env.Tok, s.Pretrain.PublicTasks)
	if err != nil {
		return nil, err
	}
	smp := pretrain.NewSampler(corpus, s.Pretrain, env.Tok, public.Preset.MaxLen, false, samplerSeed)
	teacher, err := NewTeacher(public, k)
	if err != nil {
		return nil, err
	}
	defer teacher.Finalize()
	t := &teacherTargets{IDs: make([][]int32, n), Probs: make([][]float32, n)}
	var bar *progress.Bar
	if env.Progress {
		bar = progress.New(n, "public model's predictions for distillation (client)")
	}
	start := time.Now()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t.IDs[i], t.Probs[i], err = teacher.TopK(smp.Batch(public.Preset.BatchSize)); err != nil {
			return nil, err
		}
		bar.Add(1)
	}
	bar.Finish()
	t.Seconds = time.Since(start).Seconds()
	return t, nil
}
