package ckks

import (
	"fmt"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// Layout is the packing of a rows×cols matrix into CKKS slots: column-major with a fixed row stride. A
// ciphertext of Slots slots is BlocksPerCiphertext blocks of RowStride slots; column c of a matrix lives in
// block c mod BlocksPerCiphertext of its ciphertext number c / BlocksPerCiphertext, row i at offset i of that
// block. A one-column matrix is replicated into every block of its single ciphertext (so that MulRows is one
// element-wise product). Slots outside a matrix's rows and columns hold bounded values of no meaning (zero
// right after an encryption or a linear transformation, left-overs of other columns after a slice).
//
// With this packing x·W for a plaintext W is, for each pair of input and output ciphertexts, a linear map whose
// non-zero diagonals are rotations by multiples of RowStride, evaluated baby-step giant-step; and a square
// RowStride×RowStride matrix fills the first RowStride² slots as the row-major storage of its transpose, which
// is what the ciphertext-ciphertext products of attention (Jiang et al., CCS 2018) work on.
type Layout struct {
	Slots               int
	RowStride           int
	BlocksPerCiphertext int
}

func newLayout(slots, rowStride int) (Layout, error) {
	if rowStride < 2 || rowStride&(rowStride-1) != 0 {
		return Layout{}, fmt.Errorf("row stride %d is not a power of two ≥ 2", rowStride)
	}
	if rowStride*rowStride > slots {
		return Layout{}, fmt.Errorf("row stride %d: %d² slots exceed the %d of a ciphertext (attention products need a square in one ciphertext)", rowStride, rowStride, slots)
	}
	return Layout{Slots: slots, RowStride: rowStride, BlocksPerCiphertext: slots / rowStride}, nil
}

// Ciphertexts is the number of ciphertexts of a matrix with cols columns.
func (l Layout) Ciphertexts(cols int) int {
	return (cols + l.BlocksPerCiphertext - 1) / l.BlocksPerCiphertext
}

// slot returns the ciphertext and slot of element (i, c) of a matrix with more than one column.
func (l Layout) slot(i, c int) (ct, slot int) {
	return c / l.BlocksPerCiphertext, (c%l.BlocksPerCiphertext)*l.RowStride + i
}

// pack lays m out in slot vectors, one per ciphertext, zero outside m (one-column matrices replicated).
func (l Layout) pack(m cryptofriendly.Matrix) [][]float64 {
	if m.Cols == 1 {
		v := make([]float64, l.Slots)
		for b := range l.BlocksPerCiphertext {
			for i := range m.Rows {
				v[b*l.RowStride+i] = m.Data[i]
			}
		}
		return [][]float64{v}
	}
	out := make([][]float64, l.Ciphertexts(m.Cols))
	for k := range out {
		out[k] = make([]float64, l.Slots)
	}
	for i := range m.Rows {
		for c := range m.Cols {
			k, s := l.slot(i, c)
			out[k][s] = m.Data[i*m.Cols+c]
		}
	}
	return out
}

// unpack reads a rows×cols matrix from its slot vectors, times factor.
func (l Layout) unpack(vs [][]float64, rows, cols int, factor float64) cryptofriendly.Matrix {
	m := cryptofriendly.NewMatrix(rows, cols)
	for i := range rows {
		for c := range cols {
			k, s := l.slot(i, c)
			if cols == 1 {
				k, s = 0, i
			}
			m.Data[i*cols+c] = vs[k][s] * factor
		}
	}
	return m
}

// EncryptedMatrix is the engine's Value: a rows×cols matrix in Layout, encrypted under the client's key and
// held by the cloud. The plaintext it stands for is Factor times the decoded slots: a public scalar kept aside
// so that Scale costs no level and the scale drift of a ciphertext-ciphertext product is absorbed exactly.
type EncryptedMatrix struct {
	rows, cols int
	cts        []*rlwe.Ciphertext
	factor     float64
	// clean marks slots outside the matrix as (numerically) zero, so that ConcatCols may add rotated parts
	// without masking them.
	clean bool
}

// Shape implements cryptofriendly.Value.
func (v *EncryptedMatrix) Shape() (rows, cols int) { return v.rows, v.cols }

// Level is the number of rescalings the ciphertexts have left.
func (v *EncryptedMatrix) Level() int { return v.cts[0].Level() }

// Ciphertexts is the number of ciphertexts holding the matrix.
func (v *EncryptedMatrix) Ciphertexts() int { return len(v.cts) }

// Factor is the public scalar the decoded slots are multiplied by.
func (v *EncryptedMatrix) Factor() float64 { return v.factor }
