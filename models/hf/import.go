// Package hf owns the exchange of the project's encoder with Hugging Face BERT checkpoints: reading and writing
// safetensors files, config.json and the vocab.txt check, the mapping of BERT tensor names onto models.Model
// variables, Import (a checkpoint directory → *models.Model), Export (a model → a directory that the
// transformers library loads), and Base (an import cached as a project weight file, the base model of runs that
// start from a checkpoint).
//
// Semantics (docs/design.md describes the encoder): HF nn.Linear weights are [out, in] and are transposed into
// gomlx Dense kernels [in, out...]; the query/key/value kernels are [d, heads, head_dim]. gomlx's
// MultiHeadAttention divides attention logits by head_dim where BERT divides by √head_dim, so the query weight
// and bias are multiplied by √head_dim on import and divided on export. The masked-LM output is tied to the
// token table, with log_scale 0 (scale 1) as in BERT; a model whose log_scale is not 0 is exported with
// exp(log_scale) folded into the MLM LayerNorm's gain and offset, which gives the same logits. Position rows
// beyond the preset's sequence length are dropped on import.
//
// The safetensors format is read and written here directly (an 8-byte little-endian header length, a JSON
// header, raw little-endian data): it takes a page of code, and the project keeps to a short list of
// dependencies.
package hf

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// Options tune Import.
type Options struct {
	// Vocab is the project's vocabulary, one token per id: the checkpoint's vocab.txt must equal it line by line.
	// nil skips the check (tests with a small made-up vocabulary); every command passes the tokenizer's.
	Vocab []string
	// Preset, when set, is the shape the checkpoint must have (its sequence length and batch are kept);
	// nil: Config.Preset picks it.
	Preset *models.Preset
	// Seed seeds the fresh parts (models.New).
	Seed uint64
}

// Report says what Import did.
type Report struct {
	Preset models.Preset
	// Architecture is config.json's first architecture ("" if none is named).
	Architecture string
	// Imported lists the parts read from the checkpoint: "encoder", "pooler", "MLM head", "classifier".
	Imported []string
	// Fresh lists the parts the checkpoint lacks, initialised fresh when the model first builds them.
	Fresh []string
	// NumLabels is the classifier's output count (0: none).
	NumLabels int
	// Ignored are checkpoint tensors the encoder has no place for (next-sentence head, position_ids buffers).
	Ignored []string
}

// String is a one-line summary for logs.
func (r *Report) String() string {
	s := fmt.Sprintf("%s; imported: %s", r.Preset, strings.Join(r.Imported, ", "))
	if len(r.Fresh) > 0 {
		s += "; initialised fresh: " + strings.Join(r.Fresh, ", ")
	}
	if len(r.Ignored) > 0 {
		s += "; ignored: " + strings.Join(r.Ignored, ", ")
	}
	return s
}

// Import reads a Hugging Face BERT checkpoint directory (config.json, model.safetensors, vocab.txt) into a new
// model. BertModel names and the "bert."-prefixed names of BertForMaskedLM, BertForPreTraining and
// BertForSequenceClassification are accepted, with LayerNorm weight/bias or the old gamma/beta. A tensor whose
// shape differs from what config.json implies is refused, naming it and both shapes.
func Import(dir string, opts Options) (*models.Model, *Report, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, nil, err
	}
	preset, err := cfg.Preset(opts.Preset)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if opts.Vocab != nil {
		if cfg.VocabSize != len(opts.Vocab) {
			return nil, nil, fmt.Errorf("%s: vocab_size = %d, the project's vocabulary has %d entries", filepath.Join(dir, ConfigFile), cfg.VocabSize, len(opts.Vocab))
		}
		if err := CheckVocab(dir, opts.Vocab); err != nil {
			return nil, nil, err
		}
	}
	path := filepath.Join(dir, WeightsFile)
	ts, err := ReadSafetensors(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the checkpoint's weights: %w", err)
	}
	byName := map[string]Tensor{}
	prefix := ""
	for _, t := range ts {
		byName[t.Name] = t
		if strings.HasPrefix(t.Name, encoderPrefix) {
			prefix = encoderPrefix
		}
	}
	numLabels := 0
	if c, ok := byName["classifier.weight"]; ok && len(c.Shape) == 2 {
		numLabels = c.Shape[0]
	}
	rep := &Report{Preset: preset, NumLabels: numLabels}
	if len(cfg.Architectures) > 0 {
		rep.Architecture = cfg.Architectures[0]
	}
	m, err := models.New(preset, cfg.VocabSize, opts.Seed)
	if err != nil {
		return nil, nil, err
	}
	used := map[string]bool{}
	byPart := map[string][]param{}
	var parts []string
	for _, pm := range params(preset, cfg.VocabSize, cfg.MaxPositionEmbeddings, numLabels) {
		if _, ok := byPart[pm.part]; !ok {
			parts = append(parts, pm.part)
		}
		byPart[pm.part] = append(byPart[pm.part], pm)
	}
	for _, part := range parts {
		var found, missing []string
		var vals []Tensor
		for _, pm := range byPart[part] {
			names := pm.names(prefix)
			var t Tensor
			ok := false
			for _, n := range names {
				if t, ok = byName[n]; ok {
					break
				}
			}
			if !ok {
				missing = append(missing, names[0])
				continue
			}
			if t.Data == nil {
				return nil, nil, fmt.Errorf("%s: tensor %s has dtype %s; weights must be F32, F64, F16 or BF16", path, t.Name, t.DType)
			}
			if !slices.Equal(t.Shape, pm.hfShape) {
				return nil, nil, fmt.Errorf("%s: tensor %s has shape %v, %s implies %v", path, t.Name, t.Shape, ConfigFile, pm.hfShape)
			}
			used[t.Name] = true
			found = append(found, t.Name)
			vals = append(vals, Tensor{Name: pm.scope + "/" + pm.name, Shape: pm.shape, Data: pm.toModel(t.Data)})
		}
		switch {
		case len(missing) == 0:
			for i, pm := range byPart[part] {
				t := tensors.FromFlatDataAndDimensions(vals[i].Data, pm.shape...)
				if v := m.Ctx.GetVariableByScopeAndName(pm.scope, pm.name); v != nil { // the token table models.New made
					v.MustSetValue(t)
				} else {
					m.Ctx.InAbsPath(pm.scope).VariableWithValue(pm.name, t)
				}
			}
			rep.Imported = append(rep.Imported, part)
		case part == partEncoder || len(found) > 0:
			return nil, nil, fmt.Errorf("%s: the %s is incomplete: %s missing (found %d of its %d tensors)", path, part,
				strings.Join(missing, ", "), len(found), len(byPart[part]))
		default:
			rep.Fresh = append(rep.Fresh, part)
		}
	}
	if numLabels == 0 {
		rep.Fresh = append(rep.Fresh, partClassifier)
	}
	if slices.Contains(rep.Imported, partMLM) {
		if err := m.InitMLMOutput(m.MLMBias(), 0); err != nil {
			return nil, nil, err
		}
	}
	// The decoder weight of the MLM head is the word-embedding table in BERT; the model ties them.
	for _, n := range []string{"cls.predictions.decoder.weight"} {
		t, ok := byName[n]
		if !ok {
			continue
		}
		used[n] = true
		if !slices.Equal(t.Data, m.TokenTable()) {
			return nil, nil, fmt.Errorf("%s: tensor %s differs from the word embeddings; the project's MLM head is tied to them", path, n)
		}
	}
	for _, t := range ts {
		if !used[t.Name] {
			rep.Ignored = append(rep.Ignored, t.Name)
		}
	}
	sort.Strings(rep.Ignored)
	return m, rep, nil
}
