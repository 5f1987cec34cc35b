package ckks

import (
	"fmt"
	"math/bits"

	"github.com/tuneinsight/lattigo/v6/core/rlwe"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// matMul returns x·y, or x·yᵀ when transposed, for encrypted matrices of at most RowStride rows and columns.
//
// In the column-major packing a matrix Z fills blocks 0, 1, … of one ciphertext, so the slots hold the
// row-major storage of Zᵀ with row stride s = RowStride. Hence the packing of x·Y is the row-major product
// M1·M2 of the storages M1 = Yᵀ (Y = y, or yᵀ by a transposition map) and M2 = xᵀ, both padded to d×d with d
// the smallest power of two ≥ every dimension. It is computed as in Jiang et al. (CCS 2018):
// M1·M2 = Σ_k φ^k(σ(M1)) ⊙ ψ^k(τ(M2)), where σ shifts row i left by i, τ shifts column j up by j, φ^k shifts
// every row left by k and ψ^k every column up by k (all cyclic in d). σ and τ are linear maps (one level each,
// in parallel); they also zero everything outside the operands, so that padding never enters a sum. ψ^k is a
// rotation by k·s because τ's output is written twice, in rows [0, d) and [d, 2d) (unless d rows already fill
// the ciphertext). Where 2d ≤ s, σ's output is likewise written twice in each row, in columns [0, d) and
// [d, 2d), so that φ^k is a rotation by k: d rotations of each, d tensor products, one relinearisation, two
// levels (three for x·yᵀ). Where d = s (sequences as long as the row stride), φ^k(σ) = m_k ⊙ R_k + m'_k ⊙
// rot(R_k, −d) for R_k = rot(σ, k), m_k the mask of the columns j < d − k and m'_k of the others, and the second
// rotation is taken out of the sum, Σ_k (m'_k ⊙ rot(R_k, −d)) ⊙ T_k = rot(Σ_k ((1 − m_k) ⊙ R_k) ⊙ T_{k+1}, −d)
// with T_k = rot(τ, k·d): 2d rotations, d masks, 2d − 1 tensor products, three levels (four for x·yᵀ).
func (e *Engine) matMul(x, y *EncryptedMatrix, transposed bool) (*EncryptedMatrix, error) {
	s := e.layout.RowStride
	inner, cols := y.rows, y.cols
	if transposed {
		inner, cols = y.cols, y.rows
	}
	if x.cols != inner {
		op := "·"
		if transposed {
			op = "·ᵀ"
		}
		return nil, fmt.Errorf("%d×%d %s %d×%d: inner dimensions differ", x.rows, x.cols, op, y.rows, y.cols)
	}
	if x.rows > s || inner > s || cols > s {
		return nil, fmt.Errorf("product %d×%d by %d×%d: dimensions above the row stride %d", x.rows, inner, inner, cols, s)
	}
	d := 1 << bits.Len(uint(max(x.rows, inner, cols)-1))
	twice := 2*d <= s // σ written twice per row: no masks
	yLevels := 3
	if twice {
		yLevels = 2
	}
	if transposed {
		yLevels++
	}
	if err := e.ensure(need{x, 2}, need{y, yLevels}); err != nil {
		return nil, err
	}
	m1, f1 := y.cts[0], y.factor
	if transposed {
		var err error
		if m1, err = e.transpose(y); err != nil {
			return nil, err
		}
		f1 = 1
	}
	slots, blocks := e.layout.Slots, e.layout.BlocksPerCiphertext
	// σ(M1)[i][j] = M1[i][(i+j) mod d], M1[c][t] = Y[t][c] for c < cols, t < inner.
	sigma := diagonals{}
	for i := range cols {
		for j := range d {
			if src := (i + j) % d; src < inner {
				sigma.set(src-j, i*s+j, slots, f1)
				if twice {
					sigma.set(src-j-d, i*s+j+d, slots, f1)
				}
			}
		}
	}
	// τ(M2)[i][j] = M2[(i+j) mod d][j], M2[t][r] = x[r][t] for t < inner, r < x.rows; written twice.
	tau := diagonals{}
	for i := range d {
		for j := range x.rows {
			src := (i + j) % d
			if src >= inner {
				continue
			}
			tau.set(mod(src-i, blocks), i*s+j, slots, x.factor)
			if 2*d <= blocks {
				tau.set(mod(src-i-d, blocks), (d+i)*s+j, slots, x.factor)
			}
		}
	}
	sig, err := e.cloud.linearMaps([]*rlwe.Ciphertext{m1}, [][]diagonals{{sigma}}, e.cloud.sigma)
	if err != nil {
		return nil, fmt.Errorf("σ: %w", err)
	}
	t, err := e.cloud.linearMaps([]*rlwe.Ciphertext{x.cts[0]}, [][]diagonals{{tau}}, e.cloud.linear)
	if err != nil {
		return nil, fmt.Errorf("τ: %w", err)
	}
	prod, err := e.jkls(sig[0], t[0], d, twice)
	if err != nil {
		return nil, err
	}
	out := &EncryptedMatrix{rows: x.rows, cols: cols, cts: []*rlwe.Ciphertext{prod}, clean: true}
	out.factor = e.cloud.normalize(out.cts)
	if cols == 1 { // one-column values are replicated into every block
		one := cryptofriendly.Matrix{Rows: 1, Cols: 1, Data: []float64{1}}
		return e.linear(out, one, nil)
	}
	return out, nil
}

// jkls returns Σ_k φ^k(sigma) ⊙ ψ^k(tau) for d×d storages, rescaled (see matMul); twice tells that sigma's
// rows are written twice.
func (e *Engine) jkls(sigma, tau *rlwe.Ciphertext, d int, twice bool) (*rlwe.Ciphertext, error) {
	s, slots := e.layout.RowStride, e.layout.Slots
	c := e.cloud
	var acc1, acc2 *rlwe.Ciphertext
	accumulate := func(acc **rlwe.Ciphertext, a, b *rlwe.Ciphertext) error {
		c.counters.CipherMults++
		if *acc == nil {
			var err error
			*acc, err = c.eval.MulNew(a, b)
			return err
		}
		return c.eval.MulThenAdd(a, b, *acc)
	}
	r, t := sigma, tau
	mask := make([]float64, slots)
	for k := range d {
		var err error
		if k > 0 {
			if r, err = c.rotate(r, 1); err != nil {
				return nil, err
			}
		}
		if twice {
			if err = accumulate(&acc1, r, t); err != nil {
				return nil, fmt.Errorf("product %d: %w", k, err)
			}
			if k < d-1 {
				if t, err = c.rotate(t, s); err != nil {
					return nil, err
				}
			}
			continue
		}
		clear(mask)
		for i := range d {
			for j := range d - k {
				mask[i*s+j] = 1
			}
		}
		x, err := c.mulMask(r, mask)
		if err != nil {
			return nil, err
		}
		next, err := c.rotate(t, s)
		if err != nil {
			return nil, err
		}
		if err = accumulate(&acc1, x, t); err != nil {
			return nil, fmt.Errorf("product %d: %w", k, err)
		}
		if k > 0 {
			y, err := c.eval.SubNew(r, x)
			if err != nil {
				return nil, fmt.Errorf("mask complement %d: %w", k, err)
			}
			if err = accumulate(&acc2, y, next); err != nil {
				return nil, fmt.Errorf("shifted product %d: %w", k, err)
			}
		}
		t = next
	}
	c.counters.Relinearizations++
	out, err := c.eval.RelinearizeNew(acc1)
	if err != nil {
		return nil, fmt.Errorf("relinearise: %w", err)
	}
	if acc2 != nil {
		c.counters.Relinearizations++
		rel, err := c.eval.RelinearizeNew(acc2)
		if err != nil {
			return nil, fmt.Errorf("relinearise: %w", err)
		}
		if rel, err = c.rotate(rel, -d); err != nil {
			return nil, err
		}
		if err = c.eval.Add(out, rel, out); err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
	}
	return out, c.rescale(out)
}

// transpose returns the packing of yᵀ (y at most s×s, s the row stride) with y's factor applied: a linear map
// whose diagonals are multiples of s − 1 (one level).
func (e *Engine) transpose(y *EncryptedMatrix) (*rlwe.Ciphertext, error) {
	s, slots := e.layout.RowStride, e.layout.Slots
	diags := diagonals{}
	// yᵀ[k][c] (slot c·s + k) = y[c][k] (slot k·s + c): rotation by (k − c)(s − 1).
	for c := range y.rows {
		for k := range y.cols {
			diags.set(k-c, c*s+k, slots, y.factor)
		}
	}
	out, err := e.cloud.linearMaps([]*rlwe.Ciphertext{y.cts[0]}, [][]diagonals{{diags}}, e.cloud.trans)
	if err != nil {
		return nil, fmt.Errorf("transpose: %w", err)
	}
	return out[0], nil
}
