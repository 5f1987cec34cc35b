package hf

import (
	stdctx "context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/models"
)

// InitPrefix marks a Hugging Face checkpoint directory where a starting point is named: "hf:DIR".
const InitPrefix = "hf:"

// ParseInit returns DIR of "hf:DIR", or ok = false when s does not name a checkpoint.
func ParseInit(s string) (dir string, ok bool, err error) {
	rest, found := strings.CutPrefix(s, InitPrefix)
	if !found {
		return "", false, nil
	}
	if strings.TrimSpace(rest) == "" {
		return "", true, fmt.Errorf("%q names no directory: write hf:DIR, DIR holding config.json, model.safetensors and vocab.txt", s)
	}
	return rest, true, nil
}

const baseVersion = "hf-import/1"

// Base imports the checkpoint in dir (Import with the vocabulary check and, when preset is non-nil, that
// shape) and saves it as a project weight file in cacheDir, keyed by the checksums of config.json and
// model.safetensors, the vocabulary and the preset; a later call with the same inputs reuses the file. The
// weight file keeps every imported part (task heads included: callers skip what they re-initialise).
// cacheDir "" converts into a fresh temporary directory.
func Base(ctx stdctx.Context, dir string, vocab []string, preset *models.Preset, cacheDir string) (string, *Report, error) {
	if vocab == nil {
		return "", nil, fmt.Errorf("hf base %s: the project's vocabulary is required", dir)
	}
	cfg, err := ReadConfig(dir)
	if err != nil {
		return "", nil, err
	}
	shape, err := cfg.Preset(preset)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	// The vocabulary is checked on every call, not only when the cache entry is built: the key below does not
	// cover vocab.txt.
	if cfg.VocabSize != len(vocab) {
		return "", nil, fmt.Errorf("%s: vocab_size = %d, the project's vocabulary has %d entries", filepath.Join(dir, ConfigFile), cfg.VocabSize, len(vocab))
	}
	if err := CheckVocab(dir, vocab); err != nil {
		return "", nil, err
	}
	var sums [2]string
	for i, f := range []string{ConfigFile, WeightsFile} {
		if sums[i], err = fileSHA256(filepath.Join(dir, f)); err != nil {
			return "", nil, fmt.Errorf("reading the checkpoint: %w", err)
		}
	}
	vh := sha256.Sum256([]byte(strings.Join(vocab, "\n")))
	key := recipecache.Key{Kind: "hf-import", Name: shape.Name, Version: baseVersion, Recipe: struct {
		Config, Weights, Vocab string
		Preset                 models.Preset
	}{sums[0], sums[1], hex.EncodeToString(vh[:]), shape}}
	var rep *Report
	entry, err := recipecache.New(cacheDir, slog.Default()).GetOrBuild(ctx, key, recipecache.Options{},
		func(_ stdctx.Context, out string) error {
			m, r, err := Import(dir, Options{Vocab: vocab, Preset: &shape, Seed: 1})
			if err != nil {
				return err
			}
			rep = r
			return m.Save(filepath.Join(out, "model.bin"), map[string]string{"source": "hf", "report": r.String()})
		})
	if err != nil {
		return "", nil, err
	}
	if rep == nil {
		slog.Info("imported checkpoint found in cache", "dir", entry.Dir)
	} else {
		slog.Info("checkpoint imported", "dir", dir, "summary", rep.String())
	}
	return filepath.Join(entry.Dir, "model.bin"), rep, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Tokens lists a tokenizer's vocabulary, one token per id: the Vocab that Import checks vocab.txt against and
// that Export writes.
func Tokens(tok *wordpiece.Tokenizer) []string {
	out := make([]string, tok.VocabSize())
	for i := range out {
		out[i] = tok.Token(int32(i))
	}
	return out
}
