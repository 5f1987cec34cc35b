package cryptofriendly

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// LayerNormEpsilon is the ε of every LayerNorm in models (1/√(variance + ε)).
const LayerNormEpsilon = 1e-12

// DefaultBounds is the Reciprocal/InvSqrt input range used at a site Calibrate has not measured.
func DefaultBounds() Interval { return Interval{Lo: 1e-4, Hi: 1e4} }

// ErrNotCryptoFriendly is returned by Forward for weights whose approximations leave a non-polynomial layer
// (exact GELU, softmax or tanh), which no engine evaluates.
var ErrNotCryptoFriendly = errors.New("model is not crypto-friendly")

// Forward runs one sequence through the exported model on engine e and returns the revealed logits (1×labels).
// embedded is the client's T×d embedding-layer input (Weights.Embed) and mask marks its real tokens. Only the
// real tokens are given to the engine, so the cloud learns the sequence length (as in CrypTen and MPCFormer);
// the result equals the padded, key-masked gomlx forward. mask[0] ([CLS], the pooled row) must be set.
//
// Per layer (post-LN): Q, K, V = Linear(x) (Q's weights carry the 1/headDim logit scale); per head
// P = Poly(Q_h·K_hᵀ, (s+c)²), O_h = MulRows(P·V_h, Reciprocal(RowSum(P))); Linear(concat O_h); residual Add;
// LayerNorm; Linear, Poly(GELU), Linear; residual Add; LayerNorm. A LayerNorm is
// c = Linear(x, I − J/d) (centring), s = RowSum(c⊙c) + d·ε, MulRows(c, InvSqrt(s)), then Linear(diag(√d·γ), β).
func Forward(e Engine, w *Weights, embedded Matrix, mask []bool) (Matrix, error) {
	f := &forwardPass{e: e, w: w}
	return f.run(embedded, mask)
}

// forwardPass is one Forward call; observe (set by Calibrate) sees every Reciprocal/InvSqrt input.
type forwardPass struct {
	e       Engine
	w       *Weights
	observe func(site string, x Value) error
	centre  Matrix // I − J/d, built on first use
}

// CheckCryptoFriendly reports whether every non-linear layer of a is a polynomial (or a 2Quad softmax).
func CheckCryptoFriendly(a models.Approximations) error {
	switch {
	case len(a.GELU) == 0:
		return fmt.Errorf("%w: GELU is exact (set a polynomial)", ErrNotCryptoFriendly)
	case a.Softmax != models.Softmax2Quad:
		return fmt.Errorf("%w: softmax %q is not %q", ErrNotCryptoFriendly, a.Softmax, models.Softmax2Quad)
	case len(a.PoolerTanh) == 0:
		return fmt.Errorf("%w: the pooler's tanh is exact (set a polynomial, or {0, 1} to drop it)", ErrNotCryptoFriendly)
	}
	return a.Validate()
}

func (f *forwardPass) run(embedded Matrix, mask []bool) (Matrix, error) {
	w := f.w
	if err := CheckCryptoFriendly(w.Approx); err != nil {
		return Matrix{}, err
	}
	d := w.Preset.Hidden
	if embedded.Cols != d || embedded.Rows != len(mask) || len(embedded.Data) != embedded.Rows*embedded.Cols {
		return Matrix{}, fmt.Errorf("forward: input %d×%d with %d mask entries, want T×%d", embedded.Rows, embedded.Cols, len(mask), d)
	}
	if len(mask) == 0 || !mask[0] {
		return Matrix{}, fmt.Errorf("forward: position 0 ([CLS], the pooled row) is masked out")
	}
	tokens := NewMatrix(0, d)
	for t, ok := range mask {
		if ok {
			tokens.Data = append(tokens.Data, embedded.Data[t*d:(t+1)*d]...)
			tokens.Rows++
		}
	}
	x, err := f.e.Input(tokens)
	if err != nil {
		return Matrix{}, fmt.Errorf("forward: input: %w", err)
	}
	if w.EmbeddingNorm != nil {
		if x, err = f.layerNorm("embeddings/layer_norm", x, *w.EmbeddingNorm); err != nil {
			return Matrix{}, err
		}
	}
	for l := range w.Layers {
		if x, err = f.layer(l, x); err != nil {
			return Matrix{}, err
		}
	}
	if w.FinalNorm != nil {
		if x, err = f.layerNorm("encoder/final_norm", x, *w.FinalNorm); err != nil {
			return Matrix{}, err
		}
	}
	logits, err := f.head(x)
	if err != nil {
		return Matrix{}, fmt.Errorf("forward: pooler and head: %w", err)
	}
	return logits, nil
}

// head pools the [CLS] row and applies the pooler and the task head.
func (f *forwardPass) head(x Value) (Matrix, error) {
	cls, err := f.e.SliceRows(x, 0, 1)
	if err != nil {
		return Matrix{}, err
	}
	pooled, err := f.e.Linear(cls, f.w.Pooler.W, f.w.Pooler.B)
	if err != nil {
		return Matrix{}, err
	}
	if tanh := f.w.Approx.PoolerTanh; !isIdentity(tanh) {
		if pooled, err = f.e.Poly(pooled, trimmed(tanh)); err != nil {
			return Matrix{}, err
		}
	}
	logits, err := f.e.Linear(pooled, f.w.Head.W, f.w.Head.B)
	if err != nil {
		return Matrix{}, err
	}
	return f.e.Reveal(logits)
}

// isIdentity reports whether the polynomial is x.
func isIdentity(coeffs []float64) bool {
	return Degree(coeffs) == 1 && coeffs[0] == 0 && coeffs[1] == 1
}

// trimmed drops trailing zero coefficients, so engines see the true degree.
func trimmed(coeffs []float64) []float64 { return coeffs[:Degree(coeffs)+1] }

// layer is one transformer block.
func (f *forwardPass) layer(l int, x Value) (Value, error) {
	lw := f.w.Layers[l]
	site := fmt.Sprintf("layer_%d", l)
	wrapErr := func(part string, err error) error { return fmt.Errorf("forward: %s %s: %w", site, part, err) }
	pre := f.w.Preset.PreLN
	var err error
	attIn := x
	if pre {
		if attIn, err = f.layerNorm(site+"/attention_norm", x, lw.AttentionNorm); err != nil {
			return nil, err
		}
	}
	att, err := f.attention(site, attIn, lw)
	if err != nil {
		return nil, wrapErr("attention", err)
	}
	if x, err = f.e.Add(x, att); err != nil {
		return nil, wrapErr("attention residual", err)
	}
	if !pre {
		if x, err = f.layerNorm(site+"/attention_norm", x, lw.AttentionNorm); err != nil {
			return nil, err
		}
	}
	ffIn := x
	if pre {
		if ffIn, err = f.layerNorm(site+"/ffn_norm", x, lw.FFNNorm); err != nil {
			return nil, err
		}
	}
	h, err := f.e.Linear(ffIn, lw.FFNIn.W, lw.FFNIn.B)
	if err == nil {
		h, err = f.e.Poly(h, trimmed(f.w.Approx.GELU))
	}
	if err == nil {
		h, err = f.e.Linear(h, lw.FFNOut.W, lw.FFNOut.B)
	}
	if err != nil {
		return nil, wrapErr("feed-forward", err)
	}
	if x, err = f.e.Add(x, h); err != nil {
		return nil, wrapErr("feed-forward residual", err)
	}
	if !pre {
		return f.layerNorm(site+"/ffn_norm", x, lw.FFNNorm)
	}
	return x, nil
}

// attention is multi-head self-attention with the 2Quad normaliser.
func (f *forwardPass) attention(site string, x Value, lw Layer) (Value, error) {
	p := f.w.Preset
	hd := p.HeadDim()
	// gomlx scales the query by 1/√hd and the logits by 1/√hd again; both go into the query weights.
	scale := 1 / float64(hd)
	qw := Dense{W: scaled(lw.Query.W, scale), B: scaledSlice(lw.Query.B, scale)}
	q, err := f.e.Linear(x, qw.W, qw.B)
	if err != nil {
		return nil, err
	}
	k, err := f.e.Linear(x, lw.Key.W, lw.Key.B)
	if err != nil {
		return nil, err
	}
	v, err := f.e.Linear(x, lw.Value.W, lw.Value.B)
	if err != nil {
		return nil, err
	}
	c := f.w.Approx.SoftmaxShift
	quad := []float64{c * c, 2 * c, 1} // (s + c)²
	heads := make([]Value, p.Heads)
	for h := range p.Heads {
		lo, hi := h*hd, (h+1)*hd
		qh, err := f.e.SliceCols(q, lo, hi)
		if err != nil {
			return nil, err
		}
		kh, err := f.e.SliceCols(k, lo, hi)
		if err != nil {
			return nil, err
		}
		vh, err := f.e.SliceCols(v, lo, hi)
		if err != nil {
			return nil, err
		}
		scores, err := f.e.MatMulT(qh, kh)
		if err != nil {
			return nil, err
		}
		weights, err := f.e.Poly(scores, quad)
		if err != nil {
			return nil, err
		}
		sum, err := f.e.RowSum(weights)
		if err != nil {
			return nil, err
		}
		hsite := fmt.Sprintf("%s/head_%d/softmax", site, h)
		inv, err := f.reciprocal(hsite, sum)
		if err != nil {
			return nil, err
		}
		// Normalising after the product with V multiplies T×hd values instead of T×T.
		mixed, err := f.e.MatMul(weights, vh)
		if err != nil {
			return nil, err
		}
		if heads[h], err = f.e.MulRows(mixed, inv); err != nil {
			return nil, err
		}
	}
	joined, err := f.e.ConcatCols(heads...)
	if err != nil {
		return nil, err
	}
	return f.e.Linear(joined, lw.Output.W, lw.Output.B)
}

// layerNorm normalises each row of x with gain and offset n.
func (f *forwardPass) layerNorm(site string, x Value, n Norm) (Value, error) {
	d := f.w.Preset.Hidden
	wrapErr := func(err error) error { return fmt.Errorf("forward: %s: %w", site, err) }
	if f.centre.Rows != d {
		f.centre = NewMatrix(d, d)
		for i := range d {
			for j := range d {
				f.centre.Data[i*d+j] = -1 / float64(d)
			}
			f.centre.Data[i*d+i] += 1
		}
	}
	c, err := f.e.Linear(x, f.centre, nil)
	if err != nil {
		return nil, wrapErr(err)
	}
	sq, err := f.e.MulElem(c, c)
	if err != nil {
		return nil, wrapErr(err)
	}
	s, err := f.e.RowSum(sq)
	if err != nil {
		return nil, wrapErr(err)
	}
	rows, _ := s.Shape()
	eps := NewMatrix(rows, 1)
	for i := range eps.Data {
		eps.Data[i] = float64(d) * LayerNormEpsilon
	}
	if s, err = f.e.AddPlain(s, eps); err != nil {
		return nil, wrapErr(err)
	}
	b := f.w.bounds(site)
	if f.observe != nil {
		if err := f.observe(site, s); err != nil {
			return nil, wrapErr(err)
		}
	}
	inv, err := f.e.InvSqrt(s, b.Lo, b.Hi)
	if err != nil {
		return nil, wrapErr(err)
	}
	y, err := f.e.MulRows(c, inv)
	if err != nil {
		return nil, wrapErr(err)
	}
	// c/√(Σc² + dε) = (c/√(var + ε))/√d: the √d goes into the gain.
	gain := NewMatrix(d, d)
	for j, g := range n.Gain {
		gain.Data[j*d+j] = g * math.Sqrt(float64(d))
	}
	out, err := f.e.Linear(y, gain, n.Offset)
	if err != nil {
		return nil, wrapErr(err)
	}
	return out, nil
}

func (f *forwardPass) reciprocal(site string, x Value) (Value, error) {
	if f.observe != nil {
		if err := f.observe(site, x); err != nil {
			return nil, err
		}
	}
	b := f.w.bounds(site)
	return f.e.Reciprocal(x, b.Lo, b.Hi)
}

func (w *Weights) bounds(site string) Interval {
	if b, ok := w.Bounds[site]; ok {
		return b
	}
	return DefaultBounds()
}

func scaled(m Matrix, c float64) Matrix {
	return Matrix{Rows: m.Rows, Cols: m.Cols, Data: scaledSlice(m.Data, c)}
}

func scaledSlice(xs []float64, c float64) []float64 {
	out := slices.Clone(xs)
	for i := range out {
		out[i] *= c
	}
	return out
}

// Calibrate runs the reference engine over the examples of data and sets w.Bounds for every Reciprocal and
// InvSqrt site to the observed input range widened by margin (≥ 1) on both sides: [min/margin, max·margin].
// The client runs it on its own training data; the bounds are part of the public model description.
func Calibrate(w *Weights, data *finetune.Encoded, margin float64) error {
	if margin < 1 {
		return fmt.Errorf("calibration margin %v is below 1", margin)
	}
	if data.N == 0 {
		return fmt.Errorf("calibration needs at least one example")
	}
	seen := map[string]Interval{}
	engine := NewPlainEngine()
	f := &forwardPass{e: engine, w: w, observe: func(site string, x Value) error {
		m, err := engine.get(x)
		if err != nil {
			return err
		}
		iv, ok := seen[site]
		if !ok {
			iv = Interval{Lo: math.Inf(1), Hi: math.Inf(-1)}
		}
		for _, v := range m.Data {
			iv.Lo, iv.Hi = min(iv.Lo, v), max(iv.Hi, v)
		}
		seen[site] = iv
		return nil
	}}
	for i := range data.N {
		x, mask, err := w.EmbedExample(data, i)
		if err != nil {
			return fmt.Errorf("calibrating: %w", err)
		}
		if _, err := f.run(x, mask); err != nil {
			return fmt.Errorf("calibrating on example %d: %w", i, err)
		}
	}
	if w.Bounds == nil {
		w.Bounds = map[string]Interval{}
	}
	for site, iv := range seen {
		if !(iv.Lo > 0) {
			return fmt.Errorf("calibrating: site %s saw a non-positive input %v", site, iv.Lo)
		}
		w.Bounds[site] = Interval{Lo: iv.Lo / margin, Hi: iv.Hi * margin}
	}
	return nil
}
