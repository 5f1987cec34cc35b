package hf

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/models"
)

// Export writes m as a Hugging Face BERT checkpoint into dir: config.json, model.safetensors and vocab.txt (the
// vocab, one token per id, whose length must be the model's vocabulary size). With an MLM head the tensors have
// BertForMaskedLM names ("bert." prefix, cls.predictions.*), plus classifier.* when the model has a task head
// (then config.json names both architectures, the masked-LM one first); with only a task head they have
// BertForSequenceClassification names; with neither, BertModel names. Each file is written atomically. Pre-LN
// models are refused: BERT is post-LN.
func Export(m *models.Model, dir string, vocab []string) error {
	p := m.Preset
	if p.PreLN {
		return fmt.Errorf("preset %s is pre-LN; Hugging Face BERT is post-LN", p.Name)
	}
	if len(vocab) != m.VocabSize {
		return fmt.Errorf("the vocabulary has %d entries, the model %d", len(vocab), m.VocabSize)
	}
	has := func(scope, name string) *context.Variable {
		v := m.Ctx.GetVariableByScopeAndName(scope, name)
		if v == nil || !v.HasValue() {
			return nil
		}
		return v
	}
	numLabels := 0
	if v := has("/task_head/dense", "weights"); v != nil {
		numLabels = v.Shape().Dimensions[len(v.Shape().Dimensions)-1]
	}
	hasPart := map[string]bool{partEncoder: true, partClassifier: numLabels > 0,
		partPooler: has("/pooler/dense", "weights") != nil, partMLM: has("/mlm/transform/dense", "weights") != nil}
	prefix, archs := encoderPrefix, []string{}
	switch {
	case hasPart[partMLM]:
		archs = append(archs, "BertForMaskedLM")
		if numLabels > 0 {
			archs = append(archs, "BertForSequenceClassification")
		}
	case numLabels > 0:
		archs = append(archs, "BertForSequenceClassification")
	default:
		prefix, archs = "", append(archs, "BertModel")
	}
	// exp(log_scale) multiplies the MLM logits before the bias; BERT has no such scale, so it goes into the MLM
	// LayerNorm's gain and offset (the logits are linear in them).
	mlmScale := math.Exp(float64(m.MLMLogScale()))
	var ts []Tensor
	for _, pm := range params(p, m.VocabSize, p.MaxLen, numLabels) {
		if !hasPart[pm.part] {
			continue
		}
		v := has(pm.scope, pm.name)
		if v == nil {
			return fmt.Errorf("the model has no variable %s/%s (a %s needs all of its weights)", pm.scope, pm.name, pm.part)
		}
		if got := v.Shape().Dimensions; !equalInts(got, pm.shape) {
			return fmt.Errorf("variable %s/%s has shape %v, preset %s implies %v", pm.scope, pm.name, got, p.Name, pm.shape)
		}
		data := pm.toHF(tensors.MustCopyFlatData[float32](v.MustValue()))
		if pm.scope == "/mlm/layer_norm/layer_normalization" && mlmScale != 1 {
			for i, x := range data {
				data[i] = float32(float64(x) * mlmScale)
			}
		}
		ts = append(ts, Tensor{Name: pm.fullName(prefix, pm.hf), Shape: pm.hfShape, Data: data})
	}
	cfg := Config{Architectures: archs, ModelType: "bert", VocabSize: m.VocabSize, HiddenSize: p.Hidden,
		NumHiddenLayers: p.Layers, NumAttentionHeads: p.Heads, IntermediateSize: p.FFN, HiddenAct: "gelu",
		HiddenDropoutProb: p.Dropout, AttentionProbsDropoutProb: 0, MaxPositionEmbeddings: p.MaxLen, TypeVocabSize: 2,
		InitializerRange: models.InitStd, LayerNormEps: 1e-12, PositionEmbeddingType: "absolute"}
	if numLabels > 0 {
		cfg.NumLabels, cfg.ID2Label, cfg.Label2ID = numLabels, map[string]string{}, map[string]int{}
		for i := range numLabels {
			name := "LABEL_" + strconv.Itoa(i)
			cfg.ID2Label[strconv.Itoa(i)], cfg.Label2ID[name] = name, i
		}
		if numLabels == 1 {
			cfg.ProblemType = "regression"
		}
	}
	if pad := indexOf(vocab, "[PAD]"); pad >= 0 {
		cfg.PadTokenID = pad
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, ConfigFile), append(cj, '\n'), 0o644); err != nil {
		return err
	}
	meta := map[string]string{"format": "pt", "producer": "cyphertalk export-hf", "preset": p.Name}
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), ts, meta); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, VocabFile), []byte(strings.Join(vocab, "\n")+"\n"), 0o644)
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}
