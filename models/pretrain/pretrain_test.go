package pretrain

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/internal/testdata"
	"github.com/cyphertalk/cyphertalk-go/models"
)

// sharedData finds the real data directory (../shared/data from the repository root, or $DATA_DIR).
func sharedData(t *testing.T) string { return testdata.DirOrSkip(t) }

// smallDataDir makes a data directory with the real vocabulary and the first n lines of the real Brown corpus.
func smallDataDir(t *testing.T, n int) (string, *wordpiece.Tokenizer) {
	t.Helper()
	src := sharedData(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "corpus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "vocab", "bert-base-uncased"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(datasets.VocabPath(src), datasets.VocabPath(dir)); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(datasets.CorpusPath(src))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(datasets.CorpusPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(in)
	for i := 0; i < n && sc.Scan(); i++ {
		out.WriteString(sc.Text() + "\n")
	}
	out.Close()
	tok, err := wordpiece.Load(datasets.VocabPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return dir, tok
}

// TestMasking checks BERT's masking rule on real text: ⌈15%⌉ slots at most, never a special token, targets are
// the original ids, and about 80% [MASK] / 10% random / 10% kept.
func TestMasking(t *testing.T) {
	dir, tok := smallDataDir(t, 3000)
	c, err := BuildCorpus(dir, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := split(c, 0.02)
	s := newSampler(train, tok, 64, 0.15, true, 1)
	if s.P != 10 {
		t.Fatalf("P = %d, want ⌈0.15·64⌉ = 10", s.P)
	}
	special := map[int32]bool{}
	for _, id := range tok.SpecialIDs() {
		special[id] = true
	}
	var masked, random, kept, pairs, next float64
	for range 40 {
		b := s.batch(32)
		for i := range b.B {
			if b.PairWeights[i] == 1 {
				pairs++
				next += float64(b.IsNext[i])
			}
			for j := range b.P {
				k := i*b.P + j
				if b.Weights[k] == 0 {
					continue
				}
				pos := int(b.Positions[k])
				target, got := b.Targets[k], b.IDs[i*b.T+pos]
				if special[target] {
					t.Fatalf("a special token (%d) was chosen for prediction", target)
				}
				if b.Mask[i*b.T+pos] != 1 {
					t.Fatal("a padding position was chosen for prediction")
				}
				switch {
				case got == tok.MaskID():
					masked++
				case got == target:
					kept++
				default:
					random++
				}
			}
		}
	}
	total := masked + random + kept
	if f := masked / total; f < 0.77 || f > 0.83 {
		t.Errorf("[MASK] share %.3f, want ≈0.8", f)
	}
	if f := random / total; f < 0.07 || f > 0.13 {
		t.Errorf("random share %.3f, want ≈0.1", f)
	}
	if f := next / pairs; f < 0.45 || f > 0.55 {
		t.Errorf("true next-sentence share %.3f, want ≈0.5", f)
	}
}

// TestRunCachesCheckpoint: a second run with the same recipe reuses the checkpoint; another seed trains anew.
func TestRunCachesCheckpoint(t *testing.T) {
	dir, tok := smallDataDir(t, 2000)
	cfg := DefaultConfig("nano")
	cfg.Steps, cfg.WarmupSteps, cfg.PublicTasks, cfg.TableInit = 4, 1, nil, "random"
	opts := Options{CacheDir: t.TempDir()}
	first, err := Run(context.Background(), dir, tok, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || first.HeldOutLoss <= 0 || first.UnigramLoss <= 0 {
		t.Fatalf("first run: cached=%v held-out %v unigram %v", first.Cached, first.HeldOutLoss, first.UnigramLoss)
	}
	second, err := Run(context.Background(), dir, tok, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Cached || second.Path != first.Path {
		t.Fatalf("second run not served from cache: %+v", second)
	}
	cfg.Seed = 2
	third, err := Run(context.Background(), dir, tok, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if third.Cached || third.Path == first.Path {
		t.Fatal("a different seed must not reuse the cached checkpoint")
	}
	// A damaged checkpoint is detected by the entry's manifest and pre-trained again.
	if err := os.WriteFile(first.Path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 1
	fourth, err := Run(context.Background(), dir, tok, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fourth.Cached || fourth.Path != first.Path {
		t.Fatalf("damaged entry: cached %v, path %s (want %s rebuilt)", fourth.Cached, fourth.Path, first.Path)
	}
	if _, _, err := models.Load(fourth.Path, 1); err != nil {
		t.Fatalf("rebuilt checkpoint does not load: %v", err)
	}
}

// TestKeyUnchanged: the cache key is the hash the pre-training cache used before it moved onto the recipe cache,
// so existing checkpoints (and the caches keyed by their paths) stay valid.
func TestKeyUnchanged(t *testing.T) {
	cfg := DefaultConfig("tiny")
	b, _ := json.Marshal(struct {
		Format string
		C      Config
		Corpus string
		Vocab  string
	}{"pretrain/1", cfg, "corpus-sum", "vocab-fp"})
	h := sha256.Sum256(b)
	if got, want := cfg.Key("corpus-sum", "vocab-fp"), hex.EncodeToString(h[:])[:16]; got != want {
		t.Fatalf("key %s, the legacy key is %s", got, want)
	}
}

// TestLegacyEntryAdopted: a finished entry written before manifests (result.json and model.bin only) is served
// from the cache, not pre-trained again (the cancelled context would stop any training), and gets a manifest.
func TestLegacyEntryAdopted(t *testing.T) {
	dir, tok := smallDataDir(t, 500)
	cfg := DefaultConfig("nano")
	cfg.PublicTasks, cfg.TableInit = nil, "random"
	corpus, err := BuildCorpus(dir, tok, cfg.PublicTasks)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	entry := filepath.Join(cache, "pretrain", "nano-"+cfg.Key(corpus.Checksum, tok.Fingerprint()))
	p, _ := models.LookupPreset("nano")
	m, err := models.New(p, tok.VocabSize(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(entry, "model.bin"), nil); err != nil {
		t.Fatal(err)
	}
	old := Result{Path: filepath.Join(entry, "model.bin"), Config: cfg, Steps: cfg.Steps, HeldOutLoss: 6.5}
	b, _ := json.Marshal(old)
	if err := os.WriteFile(filepath.Join(entry, "result.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, dir, tok, cfg, Options{CacheDir: cache})
	if err != nil {
		t.Fatalf("legacy entry not reused: %v", err)
	}
	if !res.Cached || res.Path != old.Path || res.HeldOutLoss != 6.5 {
		t.Fatalf("legacy entry: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(entry, recipecache.ManifestFile)); err != nil {
		t.Errorf("legacy entry got no manifest: %v", err)
	}
}

func TestRunInterrupted(t *testing.T) {
	dir, tok := smallDataDir(t, 500)
	cfg := DefaultConfig("nano")
	cfg.PublicTasks, cfg.TableInit = nil, "random"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cache := t.TempDir()
	if _, err := Run(ctx, dir, tok, cfg, Options{CacheDir: cache}); err == nil {
		t.Fatal("a cancelled run must fail")
	}
	matches, _ := filepath.Glob(filepath.Join(cache, "pretrain", "*", "result.json"))
	if len(matches) != 0 {
		t.Fatalf("an interrupted run left a cache entry: %v", matches)
	}
}

// TestResumeFromCheckpoint: a run interrupted after its step-4 checkpoint resumes at step 4 and finishes; the
// partial files are gone afterwards.
func TestResumeFromCheckpoint(t *testing.T) {
	dir, tok := smallDataDir(t, 1000)
	cfg := DefaultConfig("nano")
	cfg.Steps, cfg.WarmupSteps, cfg.PublicTasks, cfg.TableInit = 7, 1, nil, "random"
	cache := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := Options{CacheDir: cache, CheckpointEvery: 2, onStep: func(step int) {
		if step == 4 { // checkpoints were written after steps 2 and 4 (0-based steps 1 and 3)
			cancel()
		}
	}}
	if _, err := Run(ctx, dir, tok, cfg, opts); err == nil {
		t.Fatal("the interrupted run should fail")
	}
	partial, _ := filepath.Glob(filepath.Join(cache, "pretrain", "*", "partial.json"))
	if len(partial) != 1 {
		t.Fatalf("want one checkpoint, got %v", partial)
	}
	res, err := Run(context.Background(), dir, tok, cfg, Options{CacheDir: cache, CheckpointEvery: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedFrom != 4 || res.Steps != 7 {
		t.Fatalf("resumed from %d (want 4), steps %d", res.ResumedFrom, res.Steps)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "pretrain", "*", "partial.*")); len(left) != 0 {
		t.Fatalf("checkpoint files left after completion: %v", left)
	}
}

// TestShippedCheckpointUsed: a run whose recipe has a shipped checkpoint (a cache folder committed with the
// source) copies it instead of pre-training; the shipped folder of another seed is not used.
func TestShippedCheckpointUsed(t *testing.T) {
	dir, tok := smallDataDir(t, 2000)
	cfg := DefaultConfig("nano")
	cfg.Steps, cfg.WarmupSteps, cfg.PublicTasks, cfg.TableInit = 4, 1, nil, "random"
	shipped := t.TempDir()
	made, err := Run(context.Background(), dir, tok, cfg, Options{CacheDir: shipped, Shipped: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	opts := Options{CacheDir: t.TempDir(), Shipped: []string{shipped}, onStep: func(int) { steps++ }}
	got, err := Run(context.Background(), dir, tok, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 0 || !got.Cached || got.HeldOutLoss != made.HeldOutLoss {
		t.Fatalf("with a shipped checkpoint: %d steps run, cached %v, held-out %v (shipped %v)", steps, got.Cached, got.HeldOutLoss, made.HeldOutLoss)
	}
	a, _, err := models.Load(made.Path, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := models.Load(got.Path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.TokenTable(), b.TokenTable()) {
		t.Fatal("the copied checkpoint differs from the shipped one")
	}
	cfg.Seed = 2
	if _, err := Run(context.Background(), dir, tok, cfg, opts); err != nil {
		t.Fatal(err)
	}
	if steps == 0 {
		t.Fatal("another seed used the shipped checkpoint of seed 1")
	}
}
