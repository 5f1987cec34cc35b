package shaking

import (
	stdctx "context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// TestCacheKeysKeepTheirFolders: the implantation and teacher entries keep the directory names of the caches
// written before the recipe cache (a SHA-256 of the recipe with its format first), so those entries stay valid.
func TestCacheKeysKeepTheirFolders(t *testing.T) {
	s := &harness.Setup{Public: testkit.NanoModel(t, 500, 1), BasePath: "/cache/pretrain/nano-0123/model.bin", Pretrain: pretrainConfig("nano")}
	cache := recipecache.New("/c", nil)
	old16 := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])[:16]
	}
	cfg := DefaultConfigWith(map[string]any{"ops": "gaussian:sigma=1", "key_seed": int64(7), "tune_table": true})
	oldCfg := cfg
	oldCfg.TuneTable, oldCfg.KeyFile, oldCfg.KeySeed = false, "", 0
	got, err := cache.Path(implantCacheKey(s, "fp-1", cfg, 7))
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("/c", "implanted", "nano-"+old16(struct {
		Format, Base, Key string
		Cfg               Config
		Seed              uint64
	}{"implant/1", s.BasePath, "fp-1", oldCfg, 7}))
	if got != want {
		t.Errorf("implantation entry %s, the cache before had %s", got, want)
	}
	got, err = cache.Path(teacherKey(s, 9, 12, 4))
	if err != nil {
		t.Fatal(err)
	}
	want = filepath.Join("/c", "teacher", old16(struct {
		Format, Base string
		Seed         uint64
		N, K, T, B   int
		Pretrain     pretrain.Config
	}{"teacher/1", s.BasePath, 9, 12, 4, s.Public.Preset.MaxLen, s.Public.Preset.BatchSize, s.Pretrain}))
	if got != want {
		t.Errorf("teacher entry %s, the file before was %s.gob", got, want)
	}
}

// TestImplantCacheRebuildsACorruptEntry: an implantation entry whose files were changed after it was written is
// not served (it is implanted again), and an entry written before manifests is adopted.
func TestImplantCacheRebuildsACorruptEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.DiscardHandler)}
	base := testkit.NanoModel(t, tok.VocabSize(), 3)
	basePath := filepath.Join(t.TempDir(), "base.bin")
	if err := base.Save(basePath, nil); err != nil {
		t.Fatal(err)
	}
	data, err := finetune.LoadTaskData(dir, "sst2", 16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := &harness.Setup{Data: data, Public: base, BasePath: basePath, Pretrain: pretrainConfig("nano")}
	cfg := DefaultConfigWith(map[string]any{"ops": "gaussian:sigma=1", "awareness_steps": int64(2), "function_steps": int64(0),
		"mlm_eval_batches": int64(0), "key_seed": int64(5)})
	key, err := keyFor(cfg, method.Run{Seed: 1}, tok.VocabSize(), 32, tok.SpecialIDs())
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewClient(key, base)
	if err != nil {
		t.Fatal(err)
	}
	implant := func() *implanted {
		t.Helper()
		_, imp, err := implantKey(stdctx.Background(), env, s, client, cfg, 5)
		if err != nil {
			t.Fatal(err)
		}
		return imp
	}
	if implant().FromCache {
		t.Fatal("the first implantation came from an empty cache")
	}
	entry, err := recipecache.New(env.CacheDir, nil).Path(implantCacheKey(s, client.KeyFingerprint(), cfg, 5))
	if err != nil {
		t.Fatal(err)
	}
	// A record that still parses but says something else (here: that π was exposed) must not be served.
	path := filepath.Join(entry, "implant.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["pi_exposed"] = true
	if b, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if imp := implant(); imp.FromCache || imp.PiExposed {
		t.Fatalf("a changed implant.json was served: from cache %v, π exposed %v", imp.FromCache, imp.PiExposed)
	}
	if imp := implant(); !imp.FromCache || imp.PiExposed {
		t.Fatalf("the rebuilt entry: from cache %v, π exposed %v", imp.FromCache, imp.PiExposed)
	}
	// An entry from before manifests (implant.json and model.bin) is adopted, not implanted again.
	if err := os.Remove(filepath.Join(entry, recipecache.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if !implant().FromCache {
		t.Error("an entry written before manifests was implanted again")
	}
	if _, err := os.Stat(filepath.Join(entry, recipecache.ManifestFile)); err != nil {
		t.Errorf("the adopted entry got no manifest: %v", err)
	}
}

// TestTeacherTargetsCache: the public model's predictions are computed once; a corrupt targets file is computed
// again (to the same values); a file cached before entries were directories is moved into its entry.
func TestTeacherTargetsCache(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.DiscardHandler)}
	base := testkit.NanoModel(t, tok.VocabSize(), 3)
	s := &harness.Setup{Public: base, BasePath: "base.bin", Pretrain: pretrainConfig("nano")}
	const n, k = 2, 3
	targets := func() *teacherTargets {
		t.Helper()
		got, err := cachedTeacherTargets(stdctx.Background(), env, s, 11, n, k)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first, second := targets(), targets()
	if first.cached || !second.cached || !slices.Equal(first.IDs[1], second.IDs[1]) || !slices.Equal(first.Probs[1], second.Probs[1]) {
		t.Fatalf("cached: first %v, second %v (want false, true, the same predictions)", first.cached, second.cached)
	}
	entry, err := recipecache.New(env.CacheDir, nil).Path(teacherKey(s, 11, n, k))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(entry, teacherFile)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if again := targets(); again.cached || !slices.Equal(again.Probs[0], first.Probs[0]) {
		t.Fatalf("after corrupting %s: cached %v, same predictions %v", teacherFile, again.cached, slices.Equal(again.Probs[0], first.Probs[0]))
	}
	// The file cached before: <cache>/teacher/<hash16>.gob.
	if err := os.RemoveAll(entry); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(entry + ".gob")
	if err != nil {
		t.Fatal(err)
	}
	old := *first
	old.Seconds = 123
	if err := gob.NewEncoder(f).Encode(&old); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if moved := targets(); !moved.cached || moved.Seconds != 123 || !slices.Equal(moved.IDs[0], first.IDs[0]) {
		t.Errorf("the old file: cached %v, seconds %v (want true, 123: its own)", moved.cached, moved.Seconds)
	}
	if _, err := os.Stat(entry + ".gob"); err == nil {
		t.Error("the old file was left beside its entry")
	}
	if reopened := targets(); !reopened.cached || reopened.Seconds != 123 {
		t.Errorf("the moved entry: cached %v, seconds %v", reopened.cached, reopened.Seconds)
	}
}
