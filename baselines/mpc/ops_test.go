package mpc

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

func newTestEngine(tb testing.TB, trunc Truncation) *Engine {
	tb.Helper()
	seed := uint64(7)
	e, err := New(context.Background(), Config{Truncation: trunc, Seed: &seed})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func randMatrix(rng *rand.Rand, rows, cols int, lo, hi float64) cryptofriendly.Matrix {
	m := cryptofriendly.NewMatrix(rows, cols)
	for i := range m.Data {
		m.Data[i] = lo + (hi-lo)*rng.Float64()
	}
	return m
}

func mustInput(tb testing.TB, e *Engine, m cryptofriendly.Matrix) cryptofriendly.Value {
	tb.Helper()
	v, err := e.Input(m)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func mustReveal(tb testing.TB, e *Engine, v cryptofriendly.Value, err error) cryptofriendly.Matrix {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := e.Reveal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// checkClose compares got with want element-wise against a per-element bound.
func checkClose(t *testing.T, what string, got, want cryptofriendly.Matrix, bound func(i int) float64) {
	t.Helper()
	if got.Rows != want.Rows || got.Cols != want.Cols {
		t.Fatalf("%s: shape %d×%d, want %d×%d", what, got.Rows, got.Cols, want.Rows, want.Cols)
	}
	worst, worstAt := 0.0, -1
	for i := range want.Data {
		d := math.Abs(got.Data[i] - want.Data[i])
		if b := bound(i); d > b || math.IsNaN(got.Data[i]) {
			t.Errorf("%s: element %d = %.8g, want %.8g (error %.3g > bound %.3g)", what, i, got.Data[i], want.Data[i], d, b)
			return
		}
		if d > worst {
			worst, worstAt = d, i
		}
	}
	t.Logf("%s: worst error %.3g at %d", what, worst, worstAt)
}

func plainMatMul(x, y cryptofriendly.Matrix) cryptofriendly.Matrix {
	out := cryptofriendly.NewMatrix(x.Rows, y.Cols)
	for i := range x.Rows {
		for k := range x.Cols {
			for j := range y.Cols {
				out.Data[i*y.Cols+j] += x.At(i, k) * y.At(k, j)
			}
		}
	}
	return out
}

func plainTranspose(x cryptofriendly.Matrix) cryptofriendly.Matrix {
	out := cryptofriendly.NewMatrix(x.Cols, x.Rows)
	for i := range x.Rows {
		for j := range x.Cols {
			out.Data[j*x.Rows+i] = x.At(i, j)
		}
	}
	return out
}

func mapMatrix(x cryptofriendly.Matrix, f func(i int, v float64) float64) cryptofriendly.Matrix {
	out := cryptofriendly.NewMatrix(x.Rows, x.Cols)
	for i, v := range x.Data {
		out.Data[i] = f(i, v)
	}
	return out
}

// TestArithmeticMatchesPlaintext checks every linear and multiplicative operation against float64 on random
// inputs, within the fixed-point error: encoding rounds each input by at most u/2 (u = 2^-f) and a truncation
// adds at most u, so a product xy is within u·(|x|+|y|)/2 + u(1 + u/4) of the exact one.
func TestArithmeticMatchesPlaintext(t *testing.T) {
	for _, mode := range []Truncation{TruncDealer, TruncLocal} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newTestEngine(t, mode)
			u := math.Ldexp(1, -int(e.FracBits()))
			rng := rand.New(rand.NewPCG(1, uint64(mode)))
			x := randMatrix(rng, 5, 7, -4, 4)
			y := randMatrix(rng, 5, 7, -4, 4)
			w := randMatrix(rng, 7, 3, -1, 1)
			bias := randMatrix(rng, 1, 3, -1, 1).Data
			s := randMatrix(rng, 5, 1, -2, 2)
			xs, ys, ss := mustInput(t, e, x), mustInput(t, e, y), mustInput(t, e, s)
			prodBound := func(a, b float64) float64 { return u*(math.Abs(a)+math.Abs(b))/2 + 1.25*u }

			got := mustReveal(t, e, xs, nil)
			checkClose(t, "Input/Reveal", got, x, func(int) float64 { return u / 2 })

			v, err := e.Add(xs, ys)
			checkClose(t, "Add", mustReveal(t, e, v, err), mapMatrix(x, func(i int, a float64) float64 { return a + y.Data[i] }), func(int) float64 { return u })
			v, err = e.Sub(xs, ys)
			checkClose(t, "Sub", mustReveal(t, e, v, err), mapMatrix(x, func(i int, a float64) float64 { return a - y.Data[i] }), func(int) float64 { return u })
			v, err = e.AddPlain(xs, y)
			checkClose(t, "AddPlain", mustReveal(t, e, v, err), mapMatrix(x, func(i int, a float64) float64 { return a + y.Data[i] }), func(int) float64 { return u })
			for _, c := range []float64{3, -2, 0.25, -0.125, 0.37, -1.7} {
				v, err = e.Scale(xs, c)
				checkClose(t, "Scale", mustReveal(t, e, v, err), mapMatrix(x, func(_ int, a float64) float64 { return c * a }),
					func(i int) float64 { return prodBound(x.Data[i], c) * math.Max(1, math.Abs(c)) })
			}
			v, err = e.MulElem(xs, ys)
			checkClose(t, "MulElem", mustReveal(t, e, v, err), mapMatrix(x, func(i int, a float64) float64 { return a * y.Data[i] }),
				func(i int) float64 { return prodBound(x.Data[i], y.Data[i]) })
			v, err = e.MulRows(xs, ss)
			checkClose(t, "MulRows", mustReveal(t, e, v, err), mapMatrix(x, func(i int, a float64) float64 { return a * s.Data[i/x.Cols] }),
				func(i int) float64 { return prodBound(x.Data[i], s.Data[i/x.Cols]) })

			v, err = e.RowSum(xs)
			rowSums := cryptofriendly.NewMatrix(5, 1)
			colSums := cryptofriendly.NewMatrix(1, 7)
			for i := range 5 {
				for j := range 7 {
					rowSums.Data[i] += x.At(i, j)
					colSums.Data[j] += x.At(i, j)
				}
			}
			checkClose(t, "RowSum", mustReveal(t, e, v, err), rowSums, func(int) float64 { return 7 * u / 2 })
			v, err = e.ColSum(xs)
			checkClose(t, "ColSum", mustReveal(t, e, v, err), colSums, func(int) float64 { return 5 * u / 2 })
			v, err = e.Transpose(xs)
			checkClose(t, "Transpose", mustReveal(t, e, v, err), plainTranspose(x), func(int) float64 { return u / 2 })

			// Linear, MatMul, MatMulT: each output sums 7 products.
			linBound := func(a, b cryptofriendly.Matrix, transB bool) func(i int) float64 {
				return func(i int) float64 {
					r, c := i/b.Cols, i%b.Cols
					if transB {
						r, c = i/b.Rows, i%b.Rows
					}
					s := 0.0
					for k := range a.Cols {
						bk := 0.0
						if transB {
							bk = b.At(c, k)
						} else {
							bk = b.At(k, c)
						}
						s += math.Abs(a.At(r, k)) + math.Abs(bk)
					}
					return u*s/2 + 2*u
				}
			}
			want := plainMatMul(x, w)
			for i := range want.Data {
				want.Data[i] += bias[i%3]
			}
			v, err = e.Linear(xs, w, bias)
			checkClose(t, "Linear", mustReveal(t, e, v, err), want, linBound(x, w, false))
			ws := mustInput(t, e, w)
			v, err = e.MatMul(xs, ws)
			checkClose(t, "MatMul", mustReveal(t, e, v, err), plainMatMul(x, w), linBound(x, w, false))
			v, err = e.MatMulT(xs, ys)
			checkClose(t, "MatMulT", mustReveal(t, e, v, err), plainMatMul(x, plainTranspose(y)), linBound(x, y, true))

			// Slicing and concatenation are exact.
			left, err := e.SliceCols(xs, 0, 3)
			if err != nil {
				t.Fatal(err)
			}
			right, err := e.SliceCols(xs, 3, 7)
			if err != nil {
				t.Fatal(err)
			}
			v, err = e.ConcatCols(left, right)
			checkClose(t, "SliceCols+ConcatCols", mustReveal(t, e, v, err), x, func(int) float64 { return u / 2 })
			v, err = e.SliceRows(xs, 1, 3)
			checkClose(t, "SliceRows", mustReveal(t, e, v, err), cryptofriendly.Matrix{Rows: 2, Cols: 7, Data: x.Data[7:21]}, func(int) float64 { return u / 2 })
		})
	}
}

// TestPolynomialsMatchPlaintext checks Poly (the tree of powers and the single truncation of the weighted sum)
// and Exp against float64. Bound: every power x^k carries the rounding of x (k·|x|^(k−1)·u/2) plus one unit per
// product on its path, and each coefficient is rounded by u/2.
func TestPolynomialsMatchPlaintext(t *testing.T) {
	for _, mode := range []Truncation{TruncDealer, TruncLocal} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newTestEngine(t, mode)
			u := math.Ldexp(1, -int(e.FracBits()))
			rng := rand.New(rand.NewPCG(2, uint64(mode)))
			x := randMatrix(rng, 6, 8, -3, 3)
			xs := mustInput(t, e, x)
			polys := map[string][]float64{
				"quad-gelu":  {0.5, 0.25, 0.125},  // MPCFormer's Quad
				"cubic":      {0, 1, 0, -1.0 / 6}, // sin's Taylor head
				"degree-5":   {0.1, -0.4, 0.3, 0.2, -0.05, 0.01},
				"degree-7":   {1, 1, 0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040},
				"constant":   {2.5},
				"linear-odd": {0, 0.3},
			}
			for name, coeffs := range polys {
				v, err := e.Poly(xs, coeffs)
				want := mapMatrix(x, func(_ int, a float64) float64 {
					s, p := 0.0, 1.0
					for _, c := range coeffs {
						s += c * p
						p *= a
					}
					return s
				})
				bound := func(i int) float64 {
					a := math.Max(1, math.Abs(x.Data[i]))
					b := 0.0
					for k, c := range coeffs {
						b += (math.Abs(c)*float64(k+1)*math.Pow(a, float64(k)) + math.Pow(a, float64(k))) * u
					}
					return b
				}
				checkClose(t, "Poly "+name, mustReveal(t, e, v, err), want, bound)
			}
			// Exp's limit approximation against its own plaintext formula (fixed-point error) and against e^x
			// (the approximation's error, below x²/2^(n+1)·e^x plus the fixed-point error).
			v, err := e.Exp(xs, DefaultExpIterations)
			got := mustReveal(t, e, v, err)
			limit := mapMatrix(x, func(_ int, a float64) float64 { return math.Pow(1+a/256, 256) })
			checkClose(t, "Exp vs (1+x/256)^256", got, limit, func(i int) float64 { return 512 * u * limit.Data[i] })
			checkClose(t, "Exp vs e^x", got, mapMatrix(x, func(_ int, a float64) float64 { return math.Exp(a) }),
				func(i int) float64 { a := x.Data[i]; return (a*a/512+512*u)*math.Exp(a) + u })
		})
	}
}
