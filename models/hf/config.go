package hf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// File names of a Hugging Face checkpoint directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
	VocabFile   = "vocab.txt"
)

// arbitraryMaxLen caps the sequence length of a checkpoint whose shape is not a registered preset.
const arbitraryMaxLen = 128

// Config is the part of a BERT config.json the project reads and writes.
type Config struct {
	Architectures             []string          `json:"architectures,omitempty"`
	ModelType                 string            `json:"model_type"`
	VocabSize                 int               `json:"vocab_size"`
	HiddenSize                int               `json:"hidden_size"`
	NumHiddenLayers           int               `json:"num_hidden_layers"`
	NumAttentionHeads         int               `json:"num_attention_heads"`
	IntermediateSize          int               `json:"intermediate_size"`
	HiddenAct                 string            `json:"hidden_act"`
	HiddenDropoutProb         float64           `json:"hidden_dropout_prob"`
	AttentionProbsDropoutProb float64           `json:"attention_probs_dropout_prob"`
	MaxPositionEmbeddings     int               `json:"max_position_embeddings"`
	TypeVocabSize             int               `json:"type_vocab_size"`
	InitializerRange          float64           `json:"initializer_range"`
	LayerNormEps              float64           `json:"layer_norm_eps"`
	PadTokenID                int               `json:"pad_token_id"`
	PositionEmbeddingType     string            `json:"position_embedding_type,omitempty"`
	NumLabels                 int               `json:"num_labels,omitempty"`
	ID2Label                  map[string]string `json:"id2label,omitempty"`
	Label2ID                  map[string]int    `json:"label2id,omitempty"`
	ProblemType               string            `json:"problem_type,omitempty"`
}

// ReadConfig reads and checks dir/config.json: a post-LN BERT with exact-GELU activations, absolute positions,
// two segment types and LayerNorm ε = 1e-12, the graph models.Model computes.
func ReadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint's config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	if c.ModelType != "" && c.ModelType != "bert" {
		return fmt.Errorf("model_type %q: only BERT checkpoints (model_type \"bert\") are read", c.ModelType)
	}
	for _, f := range []struct {
		key string
		v   int
	}{{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"intermediate_size", c.IntermediateSize},
		{"max_position_embeddings", c.MaxPositionEmbeddings}} {
		if f.v <= 0 {
			return fmt.Errorf("%s = %d: want a positive size", f.key, f.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("hidden_act = %q: the project's encoder computes exact (erf) GELU, \"gelu\"", c.HiddenAct)
	}
	if c.TypeVocabSize != 2 {
		return fmt.Errorf("type_vocab_size = %d: the project's encoder has 2 segment embeddings", c.TypeVocabSize)
	}
	if c.LayerNormEps != 0 && math.Abs(c.LayerNormEps-1e-12)/1e-12 > 1e-3 {
		return fmt.Errorf("layer_norm_eps = %g: the project's LayerNorm uses 1e-12", c.LayerNormEps)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("position_embedding_type = %q: only \"absolute\" positions are computed", c.PositionEmbeddingType)
	}
	return nil
}

// Preset returns the model shape of the checkpoint. want, when non-nil, is the shape a caller requires
// (e.g. a spec's preset): the checkpoint's hidden size, layers, heads and FFN width must equal it, and its
// sequence length and batch shape are kept. Otherwise a registered preset of the same shape is used (its
// sequence length, batch and dropout), or, for any other shape, a preset named "hf-L<layers>-H<hidden>" with
// sequence length min(max_position_embeddings, 128), batch 32 and dropout hidden_dropout_prob. Position rows
// beyond the sequence length are not imported.
func (c *Config) Preset(want *models.Preset) (models.Preset, error) {
	shape := fmt.Sprintf("L-%d/H-%d/A-%d/FFN-%d", c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize)
	same := func(p models.Preset) bool {
		return p.Hidden == c.HiddenSize && p.Layers == c.NumHiddenLayers && p.Heads == c.NumAttentionHeads && p.FFN == c.IntermediateSize
	}
	var p models.Preset
	switch {
	case want != nil:
		if !same(*want) {
			return models.Preset{}, fmt.Errorf("the checkpoint is %s, preset %s is L-%d/H-%d/A-%d/FFN-%d", shape, want.Name,
				want.Layers, want.Hidden, want.Heads, want.FFN)
		}
		p = *want
	default:
		found := false
		for _, name := range models.PresetNames() {
			if r, err := models.LookupPreset(name); err == nil && same(r) {
				p, found = r, true
				break
			}
		}
		if !found {
			p = models.Preset{Name: fmt.Sprintf("hf-L%d-H%d", c.NumHiddenLayers, c.HiddenSize), Hidden: c.HiddenSize,
				Layers: c.NumHiddenLayers, Heads: c.NumAttentionHeads, FFN: c.IntermediateSize,
				MaxLen: min(c.MaxPositionEmbeddings, arbitraryMaxLen), BatchSize: 32, Dropout: c.HiddenDropoutProb}
		}
	}
	p.PreLN = false
	if c.MaxPositionEmbeddings < p.MaxLen {
		return models.Preset{}, fmt.Errorf("the checkpoint has %d positions, preset %s needs %d", c.MaxPositionEmbeddings, p.Name, p.MaxLen)
	}
	return p, p.Validate()
}

// CheckVocab compares dir/vocab.txt with the project's vocabulary line by line and names the first line that
// differs (1-based, as an editor shows it).
func CheckVocab(dir string, vocab []string) error {
	path := filepath.Join(dir, VocabFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s is missing: the checkpoint's vocabulary must be checked against the project's", path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	n := 0
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if n >= len(vocab) {
			return fmt.Errorf("%s line %d: %q is beyond the project's %d-entry vocabulary", path, n+1, line, len(vocab))
		}
		if line != vocab[n] {
			return fmt.Errorf("%s line %d: %q, the project's vocabulary has %q there", path, n+1, line, vocab[n])
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if n < len(vocab) {
		return fmt.Errorf("%s ends after line %d; the project's vocabulary has %d entries (line %d is %q)", path, n, len(vocab), n+1, vocab[n])
	}
	return nil
}
