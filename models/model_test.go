package models

import (
	"encoding/gob"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

const testVocab = 1000

func nano(t *testing.T, seed uint64) *Model {
	t.Helper()
	p, err := LookupPreset("nano")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(p, testVocab, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomBatch returns ids (no specials except [CLS] at 0), segments, mask with a few padded tails, and labels.
func randomBatch(p Preset, seed uint64) []*tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	B, T := p.BatchSize, p.MaxLen
	ids, seg, mask := make([]int32, B*T), make([]int32, B*T), make([]int32, B*T)
	labels := make([]int32, B)
	for b := range B {
		n := T/2 + rng.IntN(T/2)
		for t := range T {
			if t < n {
				ids[b*T+t], mask[b*T+t] = 5+rng.Int32N(testVocab-5), 1
			}
		}
		ids[b*T] = 1
		labels[b] = int32(b % 2)
	}
	return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ids, B, T), tensors.FromFlatDataAndDimensions(seg, B, T),
		tensors.FromFlatDataAndDimensions(mask, B, T), tensors.FromFlatDataAndDimensions(labels, B)}
}

func classifierLoss(m *Model) LossFn {
	return func(ctx *context.Context, in []*Node) (*Node, []*Node) {
		h := m.Encode(ctx, Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
		logits := m.TaskHead(ctx, m.Pool(ctx, h), 2)
		return ReduceAllMean(CrossEntropy(logits, in[3])), nil
	}
}

func TestTokenTableRoundTrip(t *testing.T) {
	m := nano(t, 1)
	table := RandomTable(testVocab, m.Preset.Hidden, 1, 99)
	if err := m.SetTokenTable(table); err != nil {
		t.Fatal(err)
	}
	got := m.TokenTable()
	for i := range table {
		if got[i] != table[i] {
			t.Fatalf("entry %d: got %v, set %v", i, got[i], table[i])
		}
	}
	if err := m.SetTokenTable(table[:10]); err == nil {
		t.Fatal("a table of the wrong size must be refused")
	}
}

func TestSameSeedSameInitialTable(t *testing.T) {
	a, b, c := nano(t, 7).TokenTable(), nano(t, 7).TokenTable(), nano(t, 8).TokenTable()
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same || !differ {
		t.Fatalf("same seed identical: %v, other seed differs: %v", same, differ)
	}
}

// TestFreezeTokenTable: with the table frozen, training moves the encoder but leaves the table bit-identical;
// unfrozen, the table moves.
func TestFreezeTokenTable(t *testing.T) {
	for _, trainable := range []bool{false, true} {
		m := nano(t, 2)
		m.SetTokenTableTrainable(trainable)
		before := m.TokenTable()
		tr, err := m.NewTrainer(Optim{LearningRate: 1e-2}, classifierLoss(m))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := tr.Step(randomBatch(m.Preset, 9)...); err != nil { // creates the encoder variables
			t.Fatal(err)
		}
		ffnBefore := tensors.MustCopyFlatData[float32](mustVar(t, m, "/encoder/layer_0/ffn_in/dense", "weights").MustValue())
		for s := range 3 {
			if _, _, err := tr.Step(randomBatch(m.Preset, uint64(s))...); err != nil {
				t.Fatal(err)
			}
		}
		after := m.TokenTable()
		changed := 0
		for i := range before {
			if before[i] != after[i] {
				changed++
			}
		}
		ffnAfter := tensors.MustCopyFlatData[float32](mustVar(t, m, "/encoder/layer_0/ffn_in/dense", "weights").MustValue())
		if ffnAfter[0] == ffnBefore[0] && ffnAfter[1] == ffnBefore[1] {
			t.Errorf("trainable=%v: encoder weights did not move", trainable)
		}
		if !trainable && changed != 0 {
			t.Errorf("frozen table changed in %d entries", changed)
		}
		if trainable && changed == 0 {
			t.Error("trainable table did not change")
		}
	}
}

// TestFrozenScopesStayFrozen: after SetTrainableScopes("/pooler", "/task_head"), a training step compiled and run
// afterwards moves the head and nothing else — not even the LayerNorm gains and offsets of the encoder it runs
// through, which gomlx's LayerNormalization marks trainable again on every graph build.
func TestFrozenScopesStayFrozen(t *testing.T) {
	m := nano(t, 4)
	warm, err := m.NewTrainer(Optim{LearningRate: 1e-2}, classifierLoss(m))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := warm.Step(randomBatch(m.Preset, 1)...); err != nil { // creates every variable
		t.Fatal(err)
	}
	warm.Finalize()
	m.SetTrainableScopes("/pooler", "/task_head")
	before := map[string][]float32{}
	for v := range m.Ctx.IterVariables() {
		if isModelVariable(v) {
			before[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](v.MustValue())
		}
	}
	tr, err := m.NewTrainer(Optim{LearningRate: 1e-2, Scope: "adam_head"}, classifierLoss(m))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Finalize()
	for s := range 2 {
		if _, _, err := tr.Step(randomBatch(m.Preset, uint64(10+s))...); err != nil {
			t.Fatal(err)
		}
	}
	norms, head := 0, 0
	for v := range m.Ctx.IterVariables() {
		old, ok := before[v.ScopeAndName()]
		if !ok {
			continue
		}
		moved := !slices.Equal(old, tensors.MustCopyFlatData[float32](v.MustValue()))
		trained := strings.HasPrefix(v.Scope(), "/pooler") || strings.HasPrefix(v.Scope(), "/task_head")
		if strings.Contains(v.Scope(), "layer_normalization") {
			norms++
		}
		if trained {
			head++
		}
		if moved != trained {
			t.Errorf("%s: moved = %v, want %v", v.ScopeAndName(), moved, trained)
		}
	}
	if norms == 0 || head == 0 {
		t.Fatalf("%d LayerNorm and %d head variables: the test does not exercise both", norms, head)
	}
}

func mustVar(t *testing.T, m *Model, scope, name string) *context.Variable {
	t.Helper()
	v := m.Ctx.GetVariableByScopeAndName(scope, name)
	if v == nil {
		var names []string
		for v := range m.Ctx.IterVariables() {
			names = append(names, v.ScopeAndName())
		}
		t.Fatalf("no variable %s/%s; have %v", scope, name, names)
	}
	return v
}

// TestSaveLoadKeepsLogits: a saved then loaded model computes the same logits; skipping the task head changes them.
func TestSaveLoadKeepsLogits(t *testing.T) {
	m := nano(t, 3)
	tr, err := m.NewTrainer(Optim{LearningRate: 1e-2}, classifierLoss(m))
	if err != nil {
		t.Fatal(err)
	}
	batch := randomBatch(m.Preset, 5)
	if _, _, err := tr.Step(batch...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.bin")
	if err := m.Save(path, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	logits := func(m *Model) []float32 {
		p, err := m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
			h := m.Encode(ctx, Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
			return []*Node{m.TaskHead(ctx, m.Pool(ctx, h), 2)}
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(batch[:3]...)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out[0])
	}
	want := logits(m)
	loaded, meta, err := Load(path, 99)
	if err != nil {
		t.Fatal(err)
	}
	if meta["k"] != "v" {
		t.Errorf("metadata lost: %v", meta)
	}
	got := logits(loaded)
	for i := range want {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("logit %d: loaded %v, original %v", i, got[i], want[i])
		}
	}
	fresh, _, err := Load(path, 99, "/task_head")
	if err != nil {
		t.Fatal(err)
	}
	if other := logits(fresh); other[0] == want[0] && other[1] == want[1] {
		t.Error("skipping /task_head should give a freshly initialised head")
	}
}

func TestPresetsValid(t *testing.T) {
	for _, name := range PresetNames() {
		p, err := LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
	if _, err := LookupPreset("huge"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestLearningRateSchedule(t *testing.T) {
	o := Optim{LearningRate: 1, WarmupSteps: 10, TotalSteps: 110}
	for step, want := range map[int]float64{0: 0.1, 9: 1, 10: 1, 60: 0.5, 110: 0, 200: 0} {
		if got := o.LearningRateAt(step); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("step %d: lr %v, want %v", step, got, want)
		}
	}
}

// TestGradientsHook: a trainer built with a GradientsFn applies the gradients the hook returns (here zero: the
// weights stay put although the loss is non-zero) and reports the hook's loss and extras; nil is plain backprop.
func TestGradientsHook(t *testing.T) {
	m := nano(t, 4)
	warm, err := m.NewTrainer(Optim{LearningRate: 1e-2}, classifierLoss(m))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := warm.Step(randomBatch(m.Preset, 1)...); err != nil { // creates the variables
		t.Fatal(err)
	}
	w := mustVar(t, m, "/encoder/layer_0/ffn_in/dense", "weights")
	before := tensors.MustCopyFlatData[float32](w.MustValue())
	zero := func(ctx *context.Context, in []*Node, loss LossFn) (*Node, []*Node, []*Node) {
		l, _, grads := BackpropGradients(ctx, in, loss)
		for i, g := range grads {
			grads[i] = ZerosLike(g)
		}
		return l, []*Node{MulScalar(l, 2)}, grads
	}
	tr, err := m.NewTrainerWithGradients(Optim{LearningRate: 1e-2, ClipNorm: 1, Scope: "adam_zero"}, classifierLoss(m), zero)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Finalize()
	loss, extras, err := tr.Step(randomBatch(m.Preset, 2)...)
	if err != nil {
		t.Fatal(err)
	}
	if loss <= 0 || len(extras) != 1 || extras[0] != 2*loss {
		t.Errorf("loss %v extras %v", loss, extras)
	}
	if !slices.Equal(before, tensors.MustCopyFlatData[float32](w.MustValue())) {
		t.Error("zero gradients moved the weights")
	}
	plain, err := m.NewTrainerWithGradients(Optim{LearningRate: 1e-2, Scope: "adam_plain"}, classifierLoss(m), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Finalize()
	if _, _, err := plain.Step(randomBatch(m.Preset, 2)...); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before, tensors.MustCopyFlatData[float32](w.MustValue())) {
		t.Error("the default gradients did not move the weights")
	}
}

// TestWeightsFormats checks that weight files store 4 bytes per value and that files of the earlier format (values
// gob-encoded one by one) still load, to the same weights.
func TestWeightsFormats(t *testing.T) {
	m := nano(t, 5)
	dir := t.TempDir()
	path := filepath.Join(dir, "w.bin")
	if err := m.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	values := 0
	for v := range m.Ctx.IterVariables() {
		if isModelVariable(v) && v.HasValue() {
			values += v.Shape().Size()
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if size := int(st.Size()); size < 4*values || size > 4*values+8192 {
		t.Errorf("weight file of %d values is %d bytes, want about 4 per value", values, size)
	}
	wf, err := readWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	old := *wf
	old.Format = weightsFormatV1
	old.Vars = nil
	for _, sv := range wf.Vars {
		old.Vars = append(old.Vars, savedVar{Scope: sv.Scope, Name: sv.Name, Dims: sv.Dims, Data: sv.values()})
	}
	oldPath := filepath.Join(dir, "v1.bin")
	f, err := os.Create(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := gob.NewEncoder(f).Encode(&old); err != nil {
		t.Fatal(err)
	}
	f.Close()
	loaded, _, err := Load(oldPath, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.TokenTable(), m.TokenTable(); !slices.Equal(got, want) {
		t.Error("a format /1 file loads a different token table")
	}
	// A truncated variable is refused with its name.
	bad := *wf
	bad.Vars = append([]savedVar(nil), wf.Vars...)
	bad.Vars[0].Raw = bad.Vars[0].Raw[:8]
	badPath := filepath.Join(dir, "bad.bin")
	f, _ = os.Create(badPath)
	_ = gob.NewEncoder(f).Encode(&bad)
	f.Close()
	if _, _, err := Load(badPath, 7); err == nil || !strings.Contains(err.Error(), bad.Vars[0].Name) {
		t.Errorf("truncated variable: err = %v, want one naming %s", err, bad.Vars[0].Name)
	}
}
