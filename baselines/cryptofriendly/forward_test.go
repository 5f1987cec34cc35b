package cryptofriendly

import (
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

const testVocab = 1000

var binary = datasets.TaskInfo{Name: "synthetic", NumLabels: 2, Metrics: []string{"accuracy"}}

func nanoModel(t *testing.T, preLN bool, seed uint64) *models.Model {
	t.Helper()
	p, err := models.LookupPreset("nano")
	if err != nil {
		t.Fatal(err)
	}
	p.PreLN = preLN
	m, err := models.New(p, testVocab, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomEncoded is n sequences of length T with random lengths (≥ 3), a [CLS] at 0, pairs with segment 1 tails.
func randomEncoded(n, T int, seed uint64) *finetune.Encoded {
	rng := rand.New(rand.NewPCG(seed, 11))
	e := &finetune.Encoded{N: n, T: T}
	for i := range n {
		length := 3 + rng.IntN(T-2)
		split := 1 + rng.IntN(length)
		for t := range T {
			id, seg, m := int32(0), int32(0), int32(0)
			if t < length {
				id, m = 5+rng.Int32N(testVocab-5), 1
				if t >= split {
					seg = 1
				}
			}
			e.IDs, e.Segments, e.Mask = append(e.IDs, id), append(e.Segments, seg), append(e.Mask, m)
		}
		e.IDs[i*T] = 1
		e.Labels = append(e.Labels, float64(i%2))
	}
	return e
}

// perturb adds N(0, std²) noise to every weight of m (so that attention and the polynomials see inputs of a
// realistic spread rather than the near-zero ones of a fresh initialisation).
func perturb(t *testing.T, m *models.Model, std float64, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	for v := range m.Ctx.IterVariables() {
		if !strings.HasPrefix(v.Scope(), "/embeddings") && !strings.HasPrefix(v.Scope(), "/encoder") &&
			!strings.HasPrefix(v.Scope(), "/pooler") && !strings.HasPrefix(v.Scope(), "/task_head") {
			continue
		}
		vals := tensors.MustCopyFlatData[float32](v.MustValue())
		for i := range vals {
			vals[i] += float32(rng.NormFloat64() * std)
		}
		v.MustSetValue(tensors.FromFlatDataAndDimensions(vals, v.Shape().Dimensions...))
	}
}

func numVariables(m *models.Model) int {
	n := 0
	for range m.Ctx.IterVariables() {
		n++
	}
	return n
}

func gomlxLogits(t *testing.T, m *models.Model, e *finetune.Encoded) []float32 {
	t.Helper()
	_, logits, err := finetune.Predict(m, binary, e)
	if err != nil {
		t.Fatal(err)
	}
	return logits
}

// TestPlainForwardMatchesGomlx: the exported variant run through Forward on the reference engine gives the
// gomlx variant's logits (padded batches, key masks) to 1e-4, post-LN and pre-LN, with tanh dropped or replaced
// by a polynomial; the variant's hand-written attention reuses the plaintext model's variables.
func TestPlainForwardMatchesGomlx(t *testing.T) {
	cases := []struct {
		name  string
		preLN bool
		tanh  []float64
	}{
		{"post-LN, tanh dropped", false, []float64{0, 1}},
		{"pre-LN, cubic tanh", true, []float64{0, 1, 0, -0.2}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := nanoModel(t, c.preLN, uint64(10+i))
			data := randomEncoded(20, m.Preset.MaxLen, uint64(i))
			exact := gomlxLogits(t, m, data) // creates the variables with layers.MultiHeadAttention
			vars := numVariables(m)
			perturb(t, m, 0.3, uint64(i))
			exact = gomlxLogits(t, m, data)
			approx := MPCFormerApprox()
			approx.PoolerTanh = c.tanh
			m.Approx = &approx
			want := gomlxLogits(t, m, data)
			if got := numVariables(m); got != vars {
				t.Fatalf("the variant created new variables: %d, plaintext model had %d", got, vars)
			}
			var moved float64
			for j := range want {
				moved = max(moved, math.Abs(float64(want[j]-exact[j])))
			}
			if moved < 1e-2 {
				t.Fatalf("approximations barely change the logits (max %v): are they in the graph?", moved)
			}
			w, err := Export(m)
			if err != nil {
				t.Fatal(err)
			}
			engine := NewPlainEngine()
			for n := range data.N {
				x, mask, err := w.EmbedExample(data, n)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Forward(engine, w, x, mask)
				if err != nil {
					t.Fatal(err)
				}
				if got.Rows != 1 || got.Cols != 2 {
					t.Fatalf("logits %d×%d, want 1×2", got.Rows, got.Cols)
				}
				for j := range 2 {
					g := want[n*2+j]
					if d := math.Abs(got.Data[j] - float64(g)); d > 1e-4*max(1, math.Abs(float64(g))) {
						t.Errorf("example %d logit %d: plain engine %v, gomlx %v", n, j, got.Data[j], g)
					}
				}
			}
		})
	}
}

// TestZeroApproximationsAreExact: a non-nil Approximations with every field zero builds the plaintext graph.
func TestZeroApproximationsAreExact(t *testing.T) {
	m := nanoModel(t, false, 3)
	data := randomEncoded(16, m.Preset.MaxLen, 3)
	gomlxLogits(t, m, data)
	perturb(t, m, 0.3, 3)
	want := gomlxLogits(t, m, data)
	m.Approx = &models.Approximations{}
	got := gomlxLogits(t, m, data)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d: %v with zero approximations, %v without", i, got[i], want[i])
		}
	}
}

// handWeights is a 1-layer model with d = 4, 2 heads, FFN 6 and 2 labels, random weights, no gomlx involved.
func handWeights(seed uint64) *Weights {
	rng := rand.New(rand.NewPCG(seed, 9))
	mat := func(r, c int) Matrix {
		m := NewMatrix(r, c)
		for i := range m.Data {
			m.Data[i] = rng.NormFloat64() * 0.5
		}
		return m
	}
	vec := func(n int) []float64 { return mat(1, n).Data }
	dense := func(in, out int) Dense { return Dense{W: mat(in, out), B: vec(out)} }
	norm := func() Norm { return Norm{Gain: vec(4), Offset: vec(4)} }
	p := models.Preset{Name: "hand", Hidden: 4, Layers: 1, Heads: 2, FFN: 6, MaxLen: 8, BatchSize: 1}
	en := norm()
	return &Weights{Preset: p, VocabSize: 10, Approx: MPCFormerApprox(), Token: mat(10, 4), Position: mat(8, 4),
		Segment: mat(2, 4), EmbeddingNorm: &en, Pooler: dense(4, 4), Head: dense(4, 2),
		Layers: []Layer{{Query: dense(4, 4), Key: dense(4, 4), Value: dense(4, 4), Output: dense(4, 4),
			AttentionNorm: norm(), FFNNorm: norm(), FFNIn: dense(4, 6), FFNOut: dense(6, 4)}}}
}

// TestOpCountsHandCount: the reference engine's counters for one sequence of 3 real tokens (2 padded) through
// the hand-sized model match a count done by hand.
func TestOpCountsHandCount(t *testing.T) {
	w := handWeights(1)
	x, err := w.Embed([]int32{1, 4, 7, 0, 0}, []int32{0, 0, 1, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	engine := NewPlainEngine()
	if _, err := Forward(engine, w, x, []bool{true, true, true, false, false}); err != nil {
		t.Fatal(err)
	}
	// T = 3, d = 4, heads = 2 (hd = 2), FFN = 6. Three LayerNorms (embedding, attention, FFN), each: centring
	// Linear 3·4·4 = 48 MACs, MulElem 12, RowSum 3, AddPlain 3, InvSqrt 3, MulRows 12, gain Linear 48 MACs.
	// Attention: Q, K, V, output Linears 48 MACs each; per head 3 SliceCols of 3×2, MatMulT 3·2·3 = 18 mults,
	// Poly (s+c)² on 9 elements (degree 2: 9 mults), RowSum 3, Reciprocal 3, MatMul 3·3·2 = 18, MulRows 6.
	// FFN: Linear 3·4·6 = 72, Poly GELU on 18 (18 mults), Linear 3·6·4 = 72. Two residual Adds of 12.
	// Pooler Linear 1·4·4 = 16, tanh dropped, head Linear 1·4·2 = 8, Reveal 2.
	want := map[string]OpStat{
		OpInput:      {Calls: 1, Elements: 12},
		OpLinear:     {Calls: 14, Elements: 3*12 + 3*12 + 4*12 + 18 + 12 + 4 + 2, MACs: 3*96 + 4*48 + 72 + 72 + 16 + 8},
		OpMulElem:    {Calls: 3, Elements: 36, Mults: 36},
		OpRowSum:     {Calls: 5, Elements: 15},
		OpAddPlain:   {Calls: 3, Elements: 9},
		OpInvSqrt:    {Calls: 3, Elements: 9},
		OpMulRows:    {Calls: 5, Elements: 48, Mults: 48},
		OpSliceCols:  {Calls: 6, Elements: 36},
		OpMatMulT:    {Calls: 2, Elements: 18, Mults: 36},
		OpPoly:       {Calls: 3, Elements: 36, Mults: 36},
		OpReciprocal: {Calls: 2, Elements: 6},
		OpMatMul:     {Calls: 2, Elements: 12, Mults: 36},
		OpConcatCols: {Calls: 1, Elements: 12},
		OpAdd:        {Calls: 2, Elements: 24},
		OpSliceRows:  {Calls: 1, Elements: 4},
		OpReveal:     {Calls: 1, Elements: 2},
	}
	got := engine.Counts()
	if !maps.Equal(got.Ops, want) {
		for k := range maps.Keys(want) {
			if got.Ops[k] != want[k] {
				t.Errorf("%s: counted %+v, hand count %+v", k, got.Ops[k], want[k])
			}
		}
		for k := range maps.Keys(got.Ops) {
			if _, ok := want[k]; !ok {
				t.Errorf("%s counted but not expected: %+v", k, got.Ops[k])
			}
		}
	}
	if tot := got.Total(); tot.Mults != 192 || tot.MACs != 648 {
		t.Errorf("totals: %d mults, %d MACs; hand count 192 and 648", tot.Mults, tot.MACs)
	}
	if !maps.Equal(got.PolyDegrees, map[int]int64{2: 36}) {
		t.Errorf("polynomial degrees %v, want 36 elements of degree 2", got.PolyDegrees)
	}
	// Padding does not change the work: the same sequence without its padded tail counts the same.
	engine2 := NewPlainEngine()
	x3 := Matrix{Rows: 3, Cols: 4, Data: x.Data[:12]}
	if _, err := Forward(engine2, w, x3, []bool{true, true, true}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(engine2.Counts().Ops, got.Ops) {
		t.Error("counts depend on the padding")
	}
}

// TestCalibrate: after calibration on a set, no Reciprocal/InvSqrt input of that set falls outside its bounds,
// every site has bounds, and bounds too narrow are reported by the reference engine.
func TestCalibrate(t *testing.T) {
	m := nanoModel(t, false, 4)
	data := randomEncoded(12, m.Preset.MaxLen, 4)
	gomlxLogits(t, m, data)
	perturb(t, m, 0.3, 4)
	approx := MPCFormerApprox()
	m.Approx = &approx
	w, err := Export(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := Calibrate(w, data, 2); err != nil {
		t.Fatal(err)
	}
	p := m.Preset
	if want := 1 + p.Layers*(2+p.Heads); len(w.Bounds) != want {
		t.Errorf("%d calibrated sites %v, want %d", len(w.Bounds), w.Bounds, want)
	}
	run := func() int64 {
		engine := NewPlainEngine()
		for i := range data.N {
			x, mask, err := w.EmbedExample(data, i)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Forward(engine, w, x, mask); err != nil {
				t.Fatal(err)
			}
		}
		return engine.OutOfRange()
	}
	if n := run(); n != 0 {
		t.Errorf("%d inputs outside the calibrated bounds", n)
	}
	b := w.Bounds["layer_0/head_0/softmax"]
	mid := math.Sqrt(b.Lo * b.Hi)
	w.Bounds["layer_0/head_0/softmax"] = Interval{Lo: mid, Hi: mid * 1.0001}
	if n := run(); n == 0 {
		t.Error("a too-narrow interval went unnoticed")
	}
}

// TestForwardRefusesWhatEnginesCannotEvaluate: exact non-linear layers and a masked [CLS] are errors.
func TestForwardRefusesWhatEnginesCannotEvaluate(t *testing.T) {
	w := handWeights(2)
	x, err := w.Embed([]int32{1, 2, 3}, []int32{0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	exact := *w
	exact.Approx.GELU = nil
	if _, err := Forward(NewPlainEngine(), &exact, x, []bool{true, true, true}); !errors.Is(err, ErrNotCryptoFriendly) {
		t.Errorf("exact GELU: got %v, want ErrNotCryptoFriendly", err)
	}
	exact = *w
	exact.Approx.Softmax = models.SoftmaxExact
	if _, err := Forward(NewPlainEngine(), &exact, x, []bool{true, true, true}); !errors.Is(err, ErrNotCryptoFriendly) {
		t.Errorf("exact softmax: got %v, want ErrNotCryptoFriendly", err)
	}
	if _, err := Forward(NewPlainEngine(), w, x, []bool{false, true, true}); err == nil {
		t.Error("a masked [CLS] row was accepted")
	}
	if _, err := w.Embed([]int32{1, 99}, []int32{0, 0}); err == nil {
		t.Error("an id outside the vocabulary was embedded")
	}
}

func TestExportNeedsVariables(t *testing.T) {
	m := nanoModel(t, false, 5) // only the token table exists before a graph is built
	if _, err := Export(m); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("export of an unbuilt model: %v", err)
	}
}

func TestKDLoss(t *testing.T) {
	same := []float32{1, -2, 0.5, 3}
	if l := KDLoss(same, same, 2, 1); math.Abs(l) > 1e-12 {
		t.Errorf("KD loss of identical logits %v, want 0", l)
	}
	// Teacher (0, 0): p = (½, ½); student (log 3, 0): q = (¾, ¼). KL = ½ log(⅔) + ½ log 2.
	want := 0.5*math.Log(2.0/3) + 0.5*math.Log(2)
	if l := KDLoss([]float32{float32(math.Log(3)), 0}, []float32{0, 0}, 2, 1); math.Abs(l-want) > 1e-6 {
		t.Errorf("KD loss %v, want %v", l, want)
	}
	if l := KDLoss([]float32{1, 3}, []float32{2, 1}, 1, 1); math.Abs(l-2.5) > 1e-9 {
		t.Errorf("regression KD loss %v, want (1+4)/2", l)
	}
}
