// Package models owns the project's BERT-style encoder: its presets, its graph (token, position and segment
// embeddings; post-LN or pre-LN transformer layers; GELU; [CLS] pooling; classification, regression and masked-LM
// heads, the MLM head tied to the token-embedding table), access to the token-embedding table as a [V×d]float32
// matrix (read, replace, freeze) for the shaking protocol, weight files, and the compiled training and inference
// steps every phase (pre-training, fine-tuning, recovery, baselines) is built from.
package models

import (
	"fmt"
	"strings"
)

// Preset fixes a model's shape and the fixed batch shapes it trains with.
type Preset struct {
	Name      string
	Hidden    int // d, the embedding width
	Layers    int
	Heads     int
	FFN       int // inner width of the feed-forward block
	MaxLen    int // sequence length every batch is padded to
	BatchSize int // fixed training batch
	PreLN     bool
	Dropout   float64
}

// HeadDim is the per-head width.
func (p Preset) HeadDim() int { return p.Hidden / p.Heads }

// String is a short human description of the shape.
func (p Preset) String() string {
	ln := "post-LN"
	if p.PreLN {
		ln = "pre-LN"
	}
	return fmt.Sprintf("%s: d=%d layers=%d heads=%d ffn=%d T=%d batch=%d %s", p.Name, p.Hidden, p.Layers, p.Heads,
		p.FFN, p.MaxLen, p.BatchSize, ln)
}

// Validate checks that the shape is usable.
func (p Preset) Validate() error {
	switch {
	case p.Hidden <= 0 || p.Layers <= 0 || p.Heads <= 0 || p.FFN <= 0 || p.MaxLen < 4 || p.BatchSize <= 0:
		return fmt.Errorf("preset %q: all sizes must be positive (and max length ≥ 4): %s", p.Name, p)
	case p.Hidden%p.Heads != 0:
		return fmt.Errorf("preset %q: hidden %d is not divisible by %d heads", p.Name, p.Hidden, p.Heads)
	case p.Dropout < 0 || p.Dropout >= 1:
		return fmt.Errorf("preset %q: dropout %v outside [0,1)", p.Name, p.Dropout)
	}
	return nil
}

// presets is the registry of named shapes. nano is for tests, tiny for the CPU reproduction, the rest for GPUs.
// Sizes follow the BERT miniatures (Turc et al. 2019) except nano; T and batch are what CPU runs can afford.
var presets = map[string]Preset{
	"nano":  {Name: "nano", Hidden: 32, Layers: 1, Heads: 2, FFN: 64, MaxLen: 32, BatchSize: 16, Dropout: 0},
	"tiny":  {Name: "tiny", Hidden: 128, Layers: 2, Heads: 2, FFN: 512, MaxLen: 64, BatchSize: 32, Dropout: 0.1},
	"mini":  {Name: "mini", Hidden: 256, Layers: 4, Heads: 4, FFN: 1024, MaxLen: 128, BatchSize: 32, Dropout: 0.1},
	"small": {Name: "small", Hidden: 512, Layers: 4, Heads: 8, FFN: 2048, MaxLen: 128, BatchSize: 32, Dropout: 0.1},
	"base":  {Name: "base", Hidden: 768, Layers: 12, Heads: 12, FFN: 3072, MaxLen: 128, BatchSize: 32, Dropout: 0.1},
}

// PresetNames lists the registered presets from smallest to largest.
func PresetNames() []string { return []string{"nano", "tiny", "mini", "small", "base"} }

// LookupPreset returns a registered preset, or an error listing the valid names.
func LookupPreset(name string) (Preset, error) {
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		return Preset{}, fmt.Errorf("unknown model preset %q (valid: %s)", name, strings.Join(PresetNames(), ", "))
	}
	return p, nil
}
