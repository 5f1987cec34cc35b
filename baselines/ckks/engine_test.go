package ckks

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/tuneinsight/lattigo/v6/examples"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/models"
)

// Tests run on TestN12 (NOT secure, test-only: N = 2^12 with a 438-bit modulus) with row stride 16, so that an
// engine is built in seconds. Tolerance: the largest error relative to the largest magnitude of the expected
// matrix (scale 2^34 gives about 1e-7 on one product; 1e-3 leaves room for deep chains and refreshes).
const tolerance = 1e-3

var testEngine = sync.OnceValues(func() (*Engine, error) {
	return NewEngine(Config{Parameters: TestN12, MaxRows: 16})
})

func engine(t *testing.T) *Engine {
	t.Helper()
	e, err := testEngine()
	if err != nil {
		t.Fatal(err)
	}
	e.ResetOnline()
	return e
}

func randomMatrix(rng *rand.Rand, rows, cols int, scale float64) cryptofriendly.Matrix {
	m := cryptofriendly.NewMatrix(rows, cols)
	for i := range m.Data {
		m.Data[i] = (2*rng.Float64() - 1) * scale
	}
	return m
}

// relErr is max|got − want| / max|want|.
func relErr(t *testing.T, got, want cryptofriendly.Matrix) float64 {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols {
		t.Fatalf("shape %d×%d, want %d×%d", got.Rows, got.Cols, want.Rows, want.Cols)
	}
	var diff, norm float64
	for i := range want.Data {
		diff = max(diff, math.Abs(got.Data[i]-want.Data[i]))
		norm = max(norm, math.Abs(want.Data[i]))
	}
	return diff / max(norm, 1e-300)
}

// compare runs f on the reference engine and on the CKKS engine and checks the revealed results agree.
func compare(t *testing.T, name string, f func(e cryptofriendly.Engine) (cryptofriendly.Value, error)) {
	t.Helper()
	ref := cryptofriendly.NewPlainEngine()
	want, err := reveal(ref, f)
	if err != nil {
		t.Fatalf("%s on the reference engine: %v", name, err)
	}
	got, err := reveal(engine(t), f)
	if err != nil {
		t.Fatalf("%s on the ckks engine: %v", name, err)
	}
	if e := relErr(t, got, want); e > tolerance || math.IsNaN(e) {
		t.Errorf("%s: relative error %.3g > %g\ngot  %v\nwant %v", name, e, tolerance, got.Data, want.Data)
	} else {
		t.Logf("%s: relative error %.2g", name, e)
	}
}

func reveal(e cryptofriendly.Engine, f func(e cryptofriendly.Engine) (cryptofriendly.Value, error)) (cryptofriendly.Matrix, error) {
	v, err := f(e)
	if err != nil {
		return cryptofriendly.Matrix{}, err
	}
	return e.Reveal(v)
}

func TestSecureParametersAreLattigosExample(t *testing.T) {
	lit, err := Secure128.Literal()
	if err != nil {
		t.Fatal(err)
	}
	ex := examples.CKKSComplexParamsN14QP438
	if lit.LogN != ex.LogN || !slices.Equal(lit.LogQ, ex.LogQ) || !slices.Equal(lit.LogP, ex.LogP) || lit.LogDefaultScale != ex.LogDefaultScale {
		t.Errorf("Secure128 = %+v, lattigo's example = %+v", lit, ex)
	}
	for _, set := range []ParameterSet{Secure128, TestN12, TestN13} {
		lit, err := set.Literal()
		if err != nil {
			t.Fatal(err)
		}
		logQP := NominalLogQP(lit)
		if secure := logQP <= MaxLogQP128(lit.LogN); secure != set.Secure() {
			t.Errorf("%s: log QP %.0f at log N %d, 128-bit bound %.0f, but Secure() = %v", set, logQP, lit.LogN, MaxLogQP128(lit.LogN), set.Secure())
		}
	}
	if _, err := ParameterSet("n15").Literal(); err == nil {
		t.Error("unknown parameter set accepted")
	}
}

func TestLinearMatchesPlaintext(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// The last case spans two ciphertexts each way; its weights are a band plus a few far entries, so that the
	// maps have few diagonals (the test's cost) but every pair of input and output ciphertexts has some.
	for _, c := range []struct {
		rows, in, out int
		sparse        bool
	}{{5, 12, 7, false}, {16, 3, 1, false}, {1, 9, 4, false}, {3, 140, 135, true}} {
		x := randomMatrix(rng, c.rows, c.in, 2)
		w := randomMatrix(rng, c.in, c.out, 0.5)
		if c.sparse {
			far := map[[2]int]bool{{0, 130}: true, {135, 2}: true, {70, 134}: true, {139, 64}: true}
			for j := range c.in {
				for k := range c.out {
					if (j-k > 1 || k-j > 1) && !far[[2]int{j, k}] {
						w.Data[j*c.out+k] = 0
					}
				}
			}
		}
		b := randomMatrix(rng, 1, c.out, 1).Data
		compare(t, "Linear", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
			v, err := e.Input(x)
			if err != nil {
				return nil, err
			}
			return e.Linear(v, w, b)
		})
	}
}

func TestAttentionProductsMatchPlaintext(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	q, k := randomMatrix(rng, 6, 5, 1), randomMatrix(rng, 7, 5, 1)
	compare(t, "MatMulT", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		qv, err := e.Input(q)
		if err != nil {
			return nil, err
		}
		kv, err := e.Input(k)
		if err != nil {
			return nil, err
		}
		return e.MatMulT(qv, kv)
	})
	p, v := randomMatrix(rng, 16, 16, 1), randomMatrix(rng, 16, 9, 1) // the full row stride: masks
	compare(t, "MatMul", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		pv, err := e.Input(p)
		if err != nil {
			return nil, err
		}
		vv, err := e.Input(v)
		if err != nil {
			return nil, err
		}
		return e.MatMul(pv, vv)
	})
	a, c := randomMatrix(rng, 5, 3, 1), randomMatrix(rng, 3, 1, 1)
	compare(t, "MatMul into one column", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		av, err := e.Input(a)
		if err != nil {
			return nil, err
		}
		cv, err := e.Input(c)
		if err != nil {
			return nil, err
		}
		return e.MatMul(av, cv)
	})
}

func TestSoftmaxAndNormPiecesMatchPlaintext(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := randomMatrix(rng, 6, 10, 2)
	compare(t, "Poly, RowSum, Reciprocal, MulRows", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		v, err := e.Input(x)
		if err != nil {
			return nil, err
		}
		sq, err := e.Poly(v, []float64{4, 4, 1}) // (x+2)²
		if err != nil {
			return nil, err
		}
		sum, err := e.RowSum(sq)
		if err != nil {
			return nil, err
		}
		inv, err := e.Reciprocal(sum, 1e-3, 1e3)
		if err != nil {
			return nil, err
		}
		return e.MulRows(sq, inv)
	})
	compare(t, "MulElem, RowSum, InvSqrt, MulRows", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		v, err := e.Input(x)
		if err != nil {
			return nil, err
		}
		sq, err := e.MulElem(v, v)
		if err != nil {
			return nil, err
		}
		sum, err := e.RowSum(sq)
		if err != nil {
			return nil, err
		}
		inv, err := e.InvSqrt(sum, 1e-3, 1e3)
		if err != nil {
			return nil, err
		}
		return e.MulRows(v, inv)
	})
	compare(t, "odd Poly of degree 5 after Scale", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		v, err := e.Input(x)
		if err != nil {
			return nil, err
		}
		if v, err = e.Scale(v, 0.25); err != nil {
			return nil, err
		}
		return e.Poly(v, []float64{0, 0.8, 0, -0.2, 0, 0.03})
	})
}

func TestSlicesConcatAndElementwiseMatchPlaintext(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x, y := randomMatrix(rng, 9, 20, 1), randomMatrix(rng, 9, 20, 1)
	p := randomMatrix(rng, 4, 13, 1)
	compare(t, "SliceCols, ConcatCols, SliceRows, Add, AddPlain, Scale, MulElem", func(e cryptofriendly.Engine) (cryptofriendly.Value, error) {
		xv, err := e.Input(x)
		if err != nil {
			return nil, err
		}
		yv, err := e.Input(y)
		if err != nil {
			return nil, err
		}
		a, err := e.SliceCols(xv, 3, 10) // 7 columns, rotated
		if err != nil {
			return nil, err
		}
		b, err := e.SliceCols(yv, 12, 13) // one column, replicated
		if err != nil {
			return nil, err
		}
		c, err := e.SliceCols(yv, 0, 5)
		if err != nil {
			return nil, err
		}
		if c, err = e.MulElem(c, c); err != nil { // another factor
			return nil, err
		}
		cat, err := e.ConcatCols(a, b, c)
		if err != nil {
			return nil, err
		}
		if cat, err = e.Scale(cat, -1.5); err != nil {
			return nil, err
		}
		if cat, err = e.SliceRows(cat, 2, 6); err != nil {
			return nil, err
		}
		if cat, err = e.AddPlain(cat, p); err != nil {
			return nil, err
		}
		return e.Add(cat, cat)
	})
}

func TestRefreshesWhenDepthRunsOut(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewPCG(9, 10))
	x := randomMatrix(rng, 4, 6, 1)
	v, err := e.Input(x)
	if err != nil {
		t.Fatal(err)
	}
	want := x
	coeffs := []float64{0.1, 0.5, 0.3} // 2 levels each; the test parameters have 4 above level 1
	for range 4 {
		if v, err = e.Poly(v, coeffs); err != nil {
			t.Fatal(err)
		}
		next := cryptofriendly.NewMatrix(want.Rows, want.Cols)
		for i, a := range want.Data {
			next.Data[i] = coeffs[0] + coeffs[1]*a + coeffs[2]*a*a
		}
		want = next
	}
	got, err := e.Reveal(v)
	if err != nil {
		t.Fatal(err)
	}
	if re := relErr(t, got, want); re > tolerance {
		t.Errorf("relative error %.3g after refreshes", re)
	}
	c := e.Online()
	// Levels 5 → 3 → 1, refresh, 5 → 3 → 1: one refresh.
	if c.Refreshes != 1 || c.Rounds != 1 || c.ClientNonlinear != 0 {
		t.Errorf("refreshes %d, rounds %d, client non-linear %d; want 1, 1, 0", c.Refreshes, c.Rounds, c.ClientNonlinear)
	}
	// v·v at level 1 needs one more level: v goes to the client once, not once per operand.
	down := c.CiphertextsToClient
	if _, err := e.MulElem(v, v); err != nil {
		t.Fatal(err)
	}
	if c = e.Online(); c.Refreshes != 2 || c.CiphertextsToClient != down+1 {
		t.Errorf("squaring at level 1: %d refreshes (want 2), %d ciphertexts to the client (want %d)", c.Refreshes, c.CiphertextsToClient, down+1)
	}
}

func TestByteCountsAreMarshalledSizes(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewPCG(11, 12))
	x := randomMatrix(rng, 8, 300, 1) // three ciphertexts of 128 columns
	v, err := e.Input(x)
	if err != nil {
		t.Fatal(err)
	}
	ev := v.(*EncryptedMatrix)
	if ev.Ciphertexts() != 3 {
		t.Fatalf("%d ciphertexts for 300 columns with %d blocks", ev.Ciphertexts(), e.Layout().BlocksPerCiphertext)
	}
	up := marshalledSize(t, ev.cts...)
	w := cryptofriendly.NewMatrix(300, 2) // a few weights: the map's cost is its diagonals
	w.Data[2*5], w.Data[2*150+1], w.Data[2*299] = 1, -2, 0.5
	out, err := e.Linear(v, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	down := marshalledSize(t, out.(*EncryptedMatrix).cts...)
	if _, err := e.Reveal(out); err != nil {
		t.Fatal(err)
	}
	c := e.Online()
	if c.BytesToCloud != up || c.BytesToClient != down {
		t.Errorf("bytes to cloud %d, to client %d; marshalled sizes %d and %d", c.BytesToCloud, c.BytesToClient, up, down)
	}
	if down >= up/2 {
		t.Errorf("a 1-ciphertext result one level down (%d B) should be under half the 3-ciphertext input (%d B)", down, up)
	}
	keys := marshalledSize(t, e.cloud.relinKey)
	for _, gk := range e.cloud.galoisKeys {
		keys += marshalledSize(t, gk)
	}
	off := e.Offline()
	if off.BytesToCloud != keys || off.EvaluationKeys != int64(1+len(e.cloud.galoisKeys)) {
		t.Errorf("offline bytes %d for %d keys; marshalled keys %d for %d", off.BytesToCloud, off.EvaluationKeys, keys, 1+len(e.cloud.galoisKeys))
	}
}

func marshalledSize[T interface{ MarshalBinary() ([]byte, error) }](t *testing.T, objs ...T) int64 {
	t.Helper()
	var n int64
	for _, o := range objs {
		b, err := o.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		n += int64(len(b))
	}
	return n
}

func TestErrorsNameTheProblem(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewPCG(13, 14))
	if _, err := e.Input(randomMatrix(rng, 17, 2, 1)); err == nil {
		t.Error("17 rows accepted with row stride 16")
	}
	v, err := e.Input(randomMatrix(rng, 3, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Linear(v, randomMatrix(rng, 5, 2, 1), nil); err == nil {
		t.Error("5×2 weights accepted for 4 columns")
	}
	if _, err := e.MatMul(v, v); err == nil {
		t.Error("3×4 · 3×4 accepted")
	}
	if _, err := e.SliceCols(v, 2, 5); err == nil {
		t.Error("columns [2, 5) of 4 accepted")
	}
	foreign, err := cryptofriendly.NewPlainEngine().Input(randomMatrix(rng, 3, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Linear(foreign, randomMatrix(rng, 4, 2, 1), nil); err == nil {
		t.Error("a foreign value accepted")
	}
}

// TestForwardMatchesPlainEngine runs the crypto-friendly model generic forward pass (a hand-sized model) on the
// CKKS engine: the decrypted logits match the reference engine's.
func TestForwardMatchesPlainEngine(t *testing.T) {
	w := handWeights(21)
	x, err := w.Embed([]int32{1, 4, 7, 2, 3}, []int32{0, 0, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	mask := []bool{true, true, true, true, false}
	want, err := cryptofriendly.Forward(cryptofriendly.NewPlainEngine(), w, x, mask)
	if err != nil {
		t.Fatal(err)
	}
	e := engine(t)
	got, err := cryptofriendly.Forward(e, w, x, mask)
	if err != nil {
		t.Fatal(err)
	}
	if re := relErr(t, got, want); re > tolerance {
		t.Errorf("logits %v, reference %v: relative error %.3g", got.Data, want.Data, re)
	}
	c := e.Online()
	t.Logf("forward: %d refreshes, %d client non-linear round trips, %.0f kB up, %.0f kB down, %d rotations", c.Refreshes, c.ClientNonlinear, float64(c.BytesToCloud)/1e3, float64(c.BytesToClient)/1e3, c.Primitives.Rotations)
	// One Reciprocal per head and layer, one InvSqrt per LayerNorm (two per layer and the embeddings' one).
	layers := int64(len(w.Layers))
	if want := layers*int64(w.Preset.Heads) + 2*layers + 1; c.ClientNonlinear != want || c.Rounds != c.ClientNonlinear+c.Refreshes {
		t.Errorf("client non-linear round trips %d (want %d), rounds %d, refreshes %d", c.ClientNonlinear, want, c.Rounds, c.Refreshes)
	}
}

// handWeights is a 1-layer model with d = 4, 2 heads, FFN 6 and 2 labels, random weights.
func handWeights(seed uint64) *cryptofriendly.Weights {
	rng := rand.New(rand.NewPCG(seed, 9))
	mat := func(r, c int) cryptofriendly.Matrix {
		m := cryptofriendly.NewMatrix(r, c)
		for i := range m.Data {
			m.Data[i] = rng.NormFloat64() * 0.5
		}
		return m
	}
	vec := func(n int) []float64 { return mat(1, n).Data }
	dense := func(in, out int) cryptofriendly.Dense { return cryptofriendly.Dense{W: mat(in, out), B: vec(out)} }
	norm := func() cryptofriendly.Norm { return cryptofriendly.Norm{Gain: vec(4), Offset: vec(4)} }
	p := models.Preset{Name: "hand", Hidden: 4, Layers: 1, Heads: 2, FFN: 6, MaxLen: 8, BatchSize: 1}
	en := norm()
	return &cryptofriendly.Weights{Preset: p, VocabSize: 10, Approx: cryptofriendly.MPCFormerApprox(), Token: mat(10, 4), Position: mat(8, 4),
		Segment: mat(2, 4), EmbeddingNorm: &en, Pooler: dense(4, 4), Head: dense(4, 2),
		Layers: []cryptofriendly.Layer{{Query: dense(4, 4), Key: dense(4, 4), Value: dense(4, 4), Output: dense(4, 4),
			AttentionNorm: norm(), FFNNorm: norm(), FFNIn: dense(4, 6), FFNOut: dense(6, 4)}}}
}
