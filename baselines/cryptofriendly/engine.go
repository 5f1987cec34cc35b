// Package cryptofriendly owns the crypto-friendly variant of the project's encoder (docs/design.md §5): the model whose
// non-linear layers are replaced by what HE and MPC protocols can evaluate, its distillation from the plaintext
// model, its weights exported to plain Go, and one forward pass written once against the Engine interface, so
// the same code runs in the clear (the reference), on CKKS ciphertexts (baselines/ckks) and on 2-party secret
// shares (baselines/mpc). It is the CrypTen pattern: the model is generic, the engine owns the cryptography.
// CrypTen and MPCFormer are PyTorch code and no Go library runs a transformer over an abstract arithmetic
// backend, so the forward pass, the reference engine with its operation counters (PlainEngine) and the
// distillation loop are written here. The approximations themselves live in the models graph
// (models.Approximations), so the distilled gomlx model and Forward compute the same function.
package cryptofriendly

// Matrix is a plaintext row-major matrix.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

// NewMatrix allocates a zero rows×cols matrix.
func NewMatrix(rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, Data: make([]float64, rows*cols)}
}

// At returns element (i, j).
func (m Matrix) At(i, j int) float64 { return m.Data[i*m.Cols+j] }

// Value is an engine's private value: a rows×cols matrix the cloud cannot read (shares, ciphertexts, or plain
// numbers for the reference engine).
type Value interface {
	Shape() (rows, cols int)
}

// Engine evaluates the primitives the crypto-friendly model is built from. Weights (Matrix, []float64) are the
// cloud's plaintext; Values are private. Every method may fail (network, depth exhausted) and returns an error
// then. Engines keep their own cost counters (seconds by party, bytes each way, rounds).
type Engine interface {
	Name() string
	// Input makes the client's private input (one sequence's embedded tokens, T×d) a Value.
	Input(m Matrix) (Value, error)
	// Reveal returns a Value to the client in the clear (the logits at the end).
	Reveal(v Value) (Matrix, error)
	// Linear is x·W + b with plaintext W (in×out) and b (out, may be nil).
	Linear(x Value, w Matrix, b []float64) (Value, error)
	// MatMul is x·y and MatMulT is x·yᵀ, both operands private (attention).
	MatMul(x, y Value) (Value, error)
	MatMulT(x, y Value) (Value, error)
	// Add is x + y (same shape); AddPlain adds a plaintext matrix of the same shape (e.g. a mask bias).
	Add(x, y Value) (Value, error)
	AddPlain(x Value, p Matrix) (Value, error)
	// Scale multiplies by a public constant.
	Scale(x Value, c float64) (Value, error)
	// MulElem is the element-wise product of two private values of the same shape.
	MulElem(x, y Value) (Value, error)
	// MulRows multiplies row i of x by s[i,0] (s is rows×1, private): softmax and LayerNorm normalisation.
	MulRows(x, s Value) (Value, error)
	// RowSum is the rows×1 sum of each row.
	RowSum(x Value) (Value, error)
	// Poly evaluates Σ_k coeffs[k]·x^k element-wise (GELU, tanh, Quad approximations).
	Poly(x Value, coeffs []float64) (Value, error)
	// Reciprocal and InvSqrt are element-wise 1/x and 1/√x for x in (lo, hi) (the engine's approximation:
	// Newton iterations for MPC, a polynomial or a counted client round trip for HE).
	Reciprocal(x Value, lo, hi float64) (Value, error)
	InvSqrt(x Value, lo, hi float64) (Value, error)
	// SliceCols returns columns [lo, hi) (attention heads); ConcatCols joins values with equal rows.
	SliceCols(x Value, lo, hi int) (Value, error)
	ConcatCols(vs ...Value) (Value, error)
	// Rows returns rows [lo, hi) (e.g. the [CLS] row for pooling).
	SliceRows(x Value, lo, hi int) (Value, error)
}
