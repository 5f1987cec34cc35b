package hf

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// outputs are a model's inference outputs on one batch, flattened row-major.
type outputs struct{ seq, pooled, mlm, cls []float32 }

// forward runs m in inference mode: the sequence output, pooler output, MLM logits at every position and the
// task head's logits (numLabels outputs).
func forward(t *testing.T, m *models.Model, ids, segs, mask []int32, b, T, numLabels int) outputs {
	t.Helper()
	pr, err := m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		h := m.Encode(ctx, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
		pooled := m.Pool(ctx, h)
		flat := Reshape(h, b*T, m.Preset.Hidden)
		return []*Node{h, pooled, m.MLMLogits(ctx, m.MLMTransform(ctx, flat)), m.TaskHead(ctx, pooled, numLabels)}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Finalize()
	outs, err := pr.Run(tensors.FromFlatDataAndDimensions(ids, b, T), tensors.FromFlatDataAndDimensions(segs, b, T),
		tensors.FromFlatDataAndDimensions(mask, b, T))
	if err != nil {
		t.Fatal(err)
	}
	var o outputs
	for i, dst := range []*[]float32{&o.seq, &o.pooled, &o.mlm, &o.cls} {
		*dst = tensors.MustCopyFlatData[float32](outs[i])
		outs[i].FinalizeAll()
	}
	return o
}

func maxAbsDiff[T float32 | float64](t *testing.T, what string, got []float32, want []T) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i])-float64(want[i])))
	}
	return worst
}

type parityFixture struct {
	Batch, SeqLen, Hidden, Vocab, Labels               int
	IDs, Segments, Mask                                []int32
	SequenceOutput, PoolerOutput, MLMLogits, ClsLogits []float64
}

func loadParity(t *testing.T) *parityFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "parity_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Batch          int       `json:"batch"`
		SeqLen         int       `json:"seq_len"`
		Hidden         int       `json:"hidden"`
		Vocab          int       `json:"vocab"`
		Labels         int       `json:"labels"`
		IDs            []int32   `json:"ids"`
		Segments       []int32   `json:"segments"`
		Mask           []int32   `json:"mask"`
		SequenceOutput []float64 `json:"sequence_output"`
		PoolerOutput   []float64 `json:"pooler_output"`
		MLMLogits      []float64 `json:"mlm_logits"`
		ClsLogits      []float64 `json:"classifier_logits"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return &parityFixture{raw.Batch, raw.SeqLen, raw.Hidden, raw.Vocab, raw.Labels, raw.IDs, raw.Segments, raw.Mask,
		raw.SequenceOutput, raw.PoolerOutput, raw.MLMLogits, raw.ClsLogits}
}

// TestParityWithPyTorch imports the checkpoint written by scripts/peer/hf_parity.py and matches the Go forward
// to that script's independent PyTorch forward (Hugging Face BERT semantics) within 1e-4.
func TestParityWithPyTorch(t *testing.T) {
	fx := loadParity(t)
	dir := filepath.Join("testdata", "parity")
	short := models.Preset{Name: "parity-16", Hidden: 32, Layers: 2, Heads: 2, FFN: 64, MaxLen: 16, BatchSize: 4}
	for _, c := range []struct {
		name   string
		preset *models.Preset
		maxLen int
	}{{"config shape", nil, 48}, {"16 of 48 position rows", &short, 16}} {
		t.Run(c.name, func(t *testing.T) {
			m, rep, err := Import(dir, Options{Preset: c.preset, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if m.Preset.MaxLen != c.maxLen || m.VocabSize != fx.Vocab || rep.NumLabels != fx.Labels {
				t.Fatalf("imported %s with V=%d and %d labels, want T=%d V=%d %d labels", m.Preset, m.VocabSize, rep.NumLabels, c.maxLen, fx.Vocab, fx.Labels)
			}
			if want := []string{partEncoder, partPooler, partMLM, partClassifier}; !slices.Equal(rep.Imported, want) || len(rep.Fresh) != 0 {
				t.Fatalf("imported %v, fresh %v; want all of %v", rep.Imported, rep.Fresh, want)
			}
			got := forward(t, m, fx.IDs, fx.Segments, fx.Mask, fx.Batch, fx.SeqLen, fx.Labels)
			for _, o := range []struct {
				what string
				got  []float32
				want []float64
			}{{"sequence output", got.seq, fx.SequenceOutput}, {"pooler output", got.pooled, fx.PoolerOutput},
				{"MLM logits", got.mlm, fx.MLMLogits}, {"classifier logits", got.cls, fx.ClsLogits}} {
				if d := maxAbsDiff(t, o.what, o.got, o.want); d > 1e-4 {
					t.Errorf("%s: max |Go − PyTorch| = %.3g, want ≤ 1e-4", o.what, d)
				} else {
					t.Logf("%s: max |Go − PyTorch| = %.3g", o.what, d)
				}
			}
		})
	}
}

// randomModel is a nano model with every variable (heads included) built and set to random values far from
// the initialisation, and a non-zero MLM log-scale.
func randomModel(t *testing.T, vocab, numLabels int, seed uint64) *models.Model {
	t.Helper()
	p, err := models.LookupPreset("nano")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New(p, vocab, seed)
	if err != nil {
		t.Fatal(err)
	}
	ids, segs, mask := batch(p.MaxLen/2, vocab, 2)
	forward(t, m, ids, segs, mask, 2, p.MaxLen/2, numLabels) // creates every variable
	rng := rand.New(rand.NewPCG(seed, 7))
	for v := range m.Ctx.IterVariables() {
		if strings.HasPrefix(v.Scope(), "/adam") || v.Name() == "#rngState" {
			continue
		}
		data := tensors.MustCopyFlatData[float32](v.MustValue())
		for i := range data {
			data[i] = float32(rng.NormFloat64() * 0.3)
			if v.Name() == "gain" {
				data[i] += 1
			}
		}
		v.MustSetValue(tensors.FromFlatDataAndDimensions(data, v.Shape().Dimensions...))
	}
	if err := m.InitMLMOutput(m.MLMBias(), 0.4); err != nil {
		t.Fatal(err)
	}
	return m
}

// batch is b sequences of length T with ids in [5, vocab), mixed segments and a padded tail on the second.
func batch(T, vocab, b int) (ids, segs, mask []int32) {
	rng := rand.New(rand.NewPCG(11, 13))
	ids, segs, mask = make([]int32, b*T), make([]int32, b*T), make([]int32, b*T)
	for i := range ids {
		ids[i], mask[i] = 5+rng.Int32N(int32(vocab-5)), 1
		if i%T >= T/2 {
			segs[i] = 1
		}
	}
	for j := T - 3; j < T && b > 1; j++ {
		ids[T+j], mask[T+j] = 0, 0
	}
	return ids, segs, mask
}

func vocabOf(n int) []string {
	v := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	for i := len(v); i < n; i++ {
		v = append(v, fmt.Sprintf("tok%d", i))
	}
	return v
}

func weightsOf(t *testing.T, m *models.Model) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range m.Ctx.IterVariables() {
		if strings.HasPrefix(v.Scope(), "/embeddings") || strings.HasPrefix(v.Scope(), "/encoder") ||
			strings.HasPrefix(v.Scope(), "/pooler") || strings.HasPrefix(v.Scope(), "/task_head") || strings.HasPrefix(v.Scope(), "/mlm") {
			out[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](v.MustValue())
		}
	}
	return out
}

// TestExportImportRoundTrip exports a model, checks the files, imports them back and gets the same logits and
// (with log_scale 0) bit-identical weights.
func TestExportImportRoundTrip(t *testing.T) {
	const vocab, labels = 60, 3
	vocabList := vocabOf(vocab)
	for _, logScale := range []float32{0, 0.4} {
		t.Run(fmt.Sprintf("log_scale=%g", logScale), func(t *testing.T) {
			m := randomModel(t, vocab, labels, 5)
			if err := m.InitMLMOutput(m.MLMBias(), logScale); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := Export(m, dir, vocabList); err != nil {
				t.Fatal(err)
			}
			cfg, err := ReadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Architectures, []string{"BertForMaskedLM", "BertForSequenceClassification"}) || cfg.NumLabels != labels ||
				cfg.MaxPositionEmbeddings != m.Preset.MaxLen {
				t.Fatalf("config %+v", cfg)
			}
			ts, err := ReadSafetensors(filepath.Join(dir, WeightsFile))
			if err != nil {
				t.Fatal(err)
			}
			names := map[string][]int{}
			for _, x := range ts {
				names[x.Name] = x.Shape
			}
			for name, shape := range map[string][]int{
				"bert.encoder.layer.0.attention.self.query.weight": {32, 32}, "bert.embeddings.position_embeddings.weight": {32, 32},
				"cls.predictions.bias": {vocab}, "classifier.weight": {labels, 32}, "bert.pooler.dense.weight": {32, 32},
				"bert.encoder.layer.0.intermediate.dense.weight": {64, 32}, "cls.predictions.transform.LayerNorm.weight": {32},
			} {
				if !slices.Equal(names[name], shape) {
					t.Errorf("%s: shape %v, want %v", name, names[name], shape)
				}
			}
			back, rep, err := Import(dir, Options{Vocab: vocabList, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			if back.Preset != m.Preset || rep.NumLabels != labels || len(rep.Fresh) != 0 || len(rep.Ignored) != 0 {
				t.Fatalf("imported %s, report %s (labels %d), want %s with everything imported", back.Preset, rep, rep.NumLabels, m.Preset)
			}
			ids, segs, mask := batch(m.Preset.MaxLen, vocab, 3)
			a := forward(t, m, ids, segs, mask, 3, m.Preset.MaxLen, labels)
			b := forward(t, back, ids, segs, mask, 3, m.Preset.MaxLen, labels)
			for _, o := range [][2][]float32{{a.seq, b.seq}, {a.pooled, b.pooled}, {a.mlm, b.mlm}, {a.cls, b.cls}} {
				if d := maxAbsDiff(t, "outputs", o[1], o[0]); d > 1e-5 {
					t.Errorf("round trip moved outputs by %.3g", d)
				}
			}
			if logScale != 0 {
				if back.MLMLogScale() != 0 {
					t.Errorf("imported log_scale %v, want 0 (folded into the MLM LayerNorm)", back.MLMLogScale())
				}
				return
			}
			wa, wb := weightsOf(t, m), weightsOf(t, back)
			if len(wa) != len(wb) {
				t.Fatalf("%d variables exported, %d imported", len(wa), len(wb))
			}
			for k, v := range wa {
				if !slices.Equal(v, wb[k]) {
					t.Errorf("%s differs after the round trip", k)
				}
			}
		})
	}
}

// rewrite copies the checkpoint in src to a new directory, passing its tensors through edit.
func rewrite(t *testing.T, src string, edit func([]Tensor) []Tensor) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{ConfigFile, VocabFile} {
		if b, err := os.ReadFile(filepath.Join(src, f)); err == nil {
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ts, err := ReadSafetensors(filepath.Join(src, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), edit(ts), nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImportRefusals(t *testing.T) {
	const vocab = 60
	vocabList := vocabOf(vocab)
	m := randomModel(t, vocab, 2, 1)
	good := t.TempDir()
	if err := Export(m, good, vocabList); err != nil {
		t.Fatal(err)
	}
	t.Run("shape mismatch names the tensor and both shapes", func(t *testing.T) {
		dir := rewrite(t, good, func(ts []Tensor) []Tensor {
			for i := range ts {
				if ts[i].Name == "bert.encoder.layer.0.intermediate.dense.weight" {
					ts[i].Shape = []int{32, 64} // as if transposed
				}
			}
			return ts
		})
		_, _, err := Import(dir, Options{Vocab: vocabList})
		if err == nil || !strings.Contains(err.Error(), "bert.encoder.layer.0.intermediate.dense.weight") ||
			!strings.Contains(err.Error(), "[32 64]") || !strings.Contains(err.Error(), "[64 32]") {
			t.Fatalf("got %v, want a refusal naming the tensor and both shapes", err)
		}
	})
	t.Run("vocabulary mismatch names the line", func(t *testing.T) {
		other := slices.Clone(vocabList)
		other[16] = "different"
		_, _, err := Import(good, Options{Vocab: other})
		if err == nil || !strings.Contains(err.Error(), "line 17") || !strings.Contains(err.Error(), "different") {
			t.Fatalf("got %v, want a refusal naming line 17", err)
		}
		if _, _, err := Import(good, Options{Vocab: vocabList[:vocab-1]}); err == nil || !strings.Contains(err.Error(), "vocab_size") {
			t.Fatalf("a vocabulary of another size: got %v", err)
		}
	})
	t.Run("incomplete encoder names the missing tensor", func(t *testing.T) {
		dir := rewrite(t, good, func(ts []Tensor) []Tensor {
			return slices.DeleteFunc(ts, func(x Tensor) bool { return x.Name == "bert.encoder.layer.0.output.LayerNorm.bias" })
		})
		_, _, err := Import(dir, Options{Vocab: vocabList})
		if err == nil || !strings.Contains(err.Error(), "bert.encoder.layer.0.output.LayerNorm.bias") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("preset of another shape", func(t *testing.T) {
		tiny, _ := models.LookupPreset("tiny")
		if _, _, err := Import(good, Options{Vocab: vocabList, Preset: &tiny}); err == nil || !strings.Contains(err.Error(), "preset tiny") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestImportBertModelOldNames reads a BertModel checkpoint (no prefix, no heads) with gamma/beta LayerNorm names
// and reports the heads as fresh.
func TestImportBertModelOldNames(t *testing.T) {
	const vocab = 60
	vocabList := vocabOf(vocab)
	m := randomModel(t, vocab, 2, 2)
	good := t.TempDir()
	if err := Export(m, good, vocabList); err != nil {
		t.Fatal(err)
	}
	dir := rewrite(t, good, func(ts []Tensor) []Tensor {
		var out []Tensor
		for _, x := range ts {
			if !strings.HasPrefix(x.Name, "bert.") {
				continue
			}
			x.Name = strings.TrimPrefix(x.Name, "bert.")
			if strings.Contains(x.Name, "LayerNorm.") {
				x.Name = strings.Replace(strings.Replace(x.Name, "LayerNorm.weight", "LayerNorm.gamma", 1), "LayerNorm.bias", "LayerNorm.beta", 1)
			}
			out = append(out, x)
		}
		return append(out, Tensor{Name: "embeddings.position_ids", Shape: []int{1, 32}, Data: make([]float32, 32)})
	})
	back, rep, err := Import(dir, Options{Vocab: vocabList})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Imported, []string{partEncoder, partPooler}) || !slices.Equal(rep.Fresh, []string{partMLM, partClassifier}) ||
		!slices.Equal(rep.Ignored, []string{"embeddings.position_ids"}) {
		t.Fatalf("report %s", rep)
	}
	ids, segs, mask := batch(16, vocab, 2)
	a, b := forward(t, m, ids, segs, mask, 2, 16, 2), forward(t, back, ids, segs, mask, 2, 16, 2)
	if d := maxAbsDiff(t, "pooler", b.pooled, a.pooled); d > 1e-5 {
		t.Errorf("pooler output moved by %.3g", d)
	}
	if !strings.Contains(rep.String(), "initialised fresh: MLM head, classifier") {
		t.Errorf("summary %q does not say which parts are fresh", rep)
	}
}

func TestSafetensorsHalfPrecision(t *testing.T) {
	// 1.0, -2.5, 65504 (max half), 2^-24 (smallest subnormal) in F16; 1.0 and -3.0 in BF16; an I64 buffer of
	// two ids (not decoded); 0.1 in F64.
	f16 := []uint16{0x3c00, 0xc100, 0x7bff, 0x0001}
	bf16 := []uint16{0x3f80, 0xc040}
	hdr := `{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},` +
		`"c":{"dtype":"I64","shape":[1,2],"data_offsets":[12,28]},"d":{"dtype":"F64","shape":[],"data_offsets":[28,36]}}`
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	buf = append(buf, hdr...)
	for _, h := range append(f16, bf16...) {
		buf = append(buf, byte(h), byte(h>>8))
	}
	buf = append(buf, make([]byte, 16)...)
	buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(0.1))
	path := filepath.Join(t.TempDir(), "h.safetensors")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, -2.5, 65504, float32(math.Ldexp(1, -24))}; !slices.Equal(ts[0].Data, want) {
		t.Errorf("F16 decoded %v, want %v", ts[0].Data, want)
	}
	if want := []float32{1, -3}; !slices.Equal(ts[1].Data, want) {
		t.Errorf("BF16 decoded %v, want %v", ts[1].Data, want)
	}
	if ts[2].Data != nil || ts[2].DType != "I64" || !slices.Equal(ts[2].Shape, []int{1, 2}) {
		t.Errorf("I64 tensor read as %+v, want its shape and dtype without values", ts[2])
	}
	if len(ts[3].Data) != 1 || ts[3].Data[0] != float32(0.1) {
		t.Errorf("F64 decoded %v, want [0.1]", ts[3].Data)
	}
	bad := slices.Clone(buf)
	copy(bad[8:], strings.Replace(hdr, `"data_offsets":[8,12]`, `"data_offsets":[8,14]`, 1))
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSafetensors(path); err == nil || !strings.Contains(err.Error(), `"b"`) {
		t.Errorf("offsets past the data: got %v, want an error naming tensor b", err)
	}
}
