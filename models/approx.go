package models

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
)

// Softmax choices for Approximations.Softmax.
const (
	// SoftmaxExact is the usual masked softmax (layers.MultiHeadAttention).
	SoftmaxExact = ""
	// Softmax2Quad is MPCFormer's 2Quad: (s + c)² over the valid keys, divided by its row sum.
	Softmax2Quad = "2quad"
)

// Approximations replaces the encoder's non-linear layers by functions that homomorphic encryption and
// secret sharing can evaluate with additions and multiplications (the crypto-friendly variant of
// baselines/cryptofriendly, after MPCFormer, Li et al., ICLR 2023). A nil *Approximations on a Model leaves its
// graph exactly as without this type, and so does each zero field. Variable scopes and names do not change, so
// a plaintext checkpoint loads into the variant. LayerNorm is kept as it is (engines compute 1/√variance), and
// the masked-LM head is not affected.
type Approximations struct {
	// GELU, when non-empty, replaces GELU in the feed-forward blocks by the polynomial Σ_k GELU[k]·x^k.
	GELU []float64
	// Softmax selects the attention normaliser: SoftmaxExact or Softmax2Quad.
	Softmax string
	// SoftmaxShift is c in 2Quad's (s + c)².
	SoftmaxShift float64
	// PoolerTanh, when non-empty, replaces the pooler's tanh by the polynomial Σ_k PoolerTanh[k]·x^k
	// ({0, 1} drops the tanh).
	PoolerTanh []float64
}

// Validate checks the choices.
func (a *Approximations) Validate() error {
	if a == nil {
		return nil
	}
	if a.Softmax != SoftmaxExact && a.Softmax != Softmax2Quad {
		return fmt.Errorf("approximations: softmax %q is not %q or %q", a.Softmax, SoftmaxExact, Softmax2Quad)
	}
	if math.IsNaN(a.SoftmaxShift) || math.IsInf(a.SoftmaxShift, 0) {
		return fmt.Errorf("approximations: softmax shift %v is not finite", a.SoftmaxShift)
	}
	for name, coeffs := range map[string][]float64{"GELU": a.GELU, "pooler tanh": a.PoolerTanh} {
		for k, c := range coeffs {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				return fmt.Errorf("approximations: %s coefficient %d is %v", name, k, c)
			}
		}
	}
	return nil
}

// attention is the layer's self-attention: layers.MultiHeadAttention, or its 2Quad counterpart.
func (m *Model) attention(ctx *context.Context, x, keyMask *Node) *Node {
	p := m.Preset
	if m.Approx == nil || m.Approx.Softmax == SoftmaxExact {
		return layers.MultiHeadAttention(ctx, x, x, x, p.Heads, p.HeadDim()).SetKeyMask(keyMask).SetOutputDim(p.Hidden).Done()
	}
	if err := m.Approx.Validate(); err != nil {
		panic(err)
	}
	return m.quadAttention(ctx, x, keyMask)
}

// quadAttention is layers.MultiHeadAttention written out (same scopes, variable names and creation order, so
// the same weights load) with the softmax replaced by 2Quad. gomlx has no hook for the normaliser, hence the copy.
func (m *Model) quadAttention(ctx *context.Context, x, keyMask *Node) *Node {
	p := m.Preset
	batch, seqLen := x.Shape().Dimensions[0], x.Shape().Dimensions[1]
	heads, headDim := p.Heads, p.HeadDim()
	mha := ctx.In("MultiHeadAttention")
	key := layers.Dense(mha.In("key"), x, true, heads, headDim) // [B,T,H,hd]
	query := layers.Dense(mha.In("query"), x, true, heads, headDim)
	value := layers.Dense(mha.In("value"), x, true, heads, headDim)
	// layers.MultiHeadAttention scales the query by 1/√hd and the logits by 1/√hd again; kept, so that the
	// plaintext model's weights mean the same here.
	query = MulScalar(query, 1/float64(headDim))
	logits := Einsum("bqhd,bkhd->bqhk", query, key) // [B,T,H,T]
	scores := Square(AddScalar(logits, m.Approx.SoftmaxShift))
	mask := Reshape(ConvertDType(keyMask, scores.DType()), batch, 1, 1, seqLen)
	scores = Mul(scores, mask)
	coef := Div(scores, ReduceAndKeep(scores, ReduceSum, -1))
	out := Einsum("bqhk,bkhd->bqhd", coef, value)
	out = Reshape(out, batch, seqLen, heads*headDim)
	return layers.Dense(mha.In("output"), out, true, p.Hidden)
}

// gelu is the feed-forward activation.
func (m *Model) gelu(x *Node) *Node {
	if m.Approx == nil || len(m.Approx.GELU) == 0 {
		return activations.Gelu(x)
	}
	return Polynomial(x, m.Approx.GELU)
}

// poolerActivation is the pooler's tanh.
func (m *Model) poolerActivation(x *Node) *Node {
	if m.Approx == nil || len(m.Approx.PoolerTanh) == 0 {
		return Tanh(x)
	}
	return Polynomial(x, m.Approx.PoolerTanh)
}

// Polynomial evaluates Σ_k coeffs[k]·x^k element-wise (Horner's rule). coeffs must not be empty.
func Polynomial(x *Node, coeffs []float64) *Node {
	n := len(coeffs) - 1
	if n == 0 {
		return AddScalar(ZerosLike(x), coeffs[0])
	}
	y := AddScalar(MulScalar(x, coeffs[n]), coeffs[n-1])
	for k := n - 2; k >= 0; k-- {
		y = AddScalar(Mul(y, x), coeffs[k])
	}
	return y
}
