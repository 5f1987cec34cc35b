package shaking

import (
	stdctx "context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
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

func cachedTeacherTargets(ctx stdctx.Context, env method.Env, s *harness.Setup, samplerSeed uint64, n, k int) (*teacherTargets, error) {
	public := s.Public
	recipe, _ := json.Marshal(struct {
		Format, Base string
		Seed         uint64
		N, K, T, B   int
		Pretrain     pretrain.Config
	}{"teacher/1", s.BasePath, samplerSeed, n, k, public.Preset.MaxLen, public.Preset.BatchSize, s.Pretrain})
	sum := sha256.Sum256(recipe)
	path := ""
	if s.BasePath != "" && env.CacheDir != "" {
		path = filepath.Join(env.CacheDir, "teacher", hex.EncodeToString(sum[:])[:16]+".gob")
		if f, err := os.Open(path); err == nil {
			var t teacherTargets
			err := gob.NewDecoder(f).Decode(&t)
			f.Close()
			if err == nil && len(t.IDs) == n {
				t.cached = true
				return &t, nil
			}
		}
	}
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
	bar := newBar(StepConfig{Steps: n, Progress: env.Progress, Label: "public model's predictions for distillation (client)"})
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
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("caching teacher predictions: %w", err)
		}
		if err := atomicfile.WriteFunc(path, 0o644, func(w io.Writer) error { return gob.NewEncoder(w).Encode(t) }); err != nil {
			return nil, fmt.Errorf("caching teacher predictions: %w", err)
		}
	}
	return t, nil
}
