package operators

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// Perm is the horizontal key π as a table: Perm[id] = π(id). It is the identity on special ids.
type Perm []int32

// Permutation regenerates π from the key: a uniform random permutation (Fisher–Yates over
// ChaCha8(SHA-256("cyphertalk/perm/v1" || seed))) of the non-special ids in ascending order; the j-th
// non-special id maps to the j-th entry of the shuffled list. Special ids map to themselves. A key without
// the horizontal operator gives the identity.
func Permutation(key Key) (Perm, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	p := make(Perm, key.VocabSize)
	for i := range p {
		p[i] = int32(i)
	}
	if !key.Horizontal {
		return p, nil
	}
	special := specialMask(key)
	free := make([]int32, 0, key.VocabSize-len(key.Special))
	for i := range key.VocabSize {
		if !special[i] {
			free = append(free, int32(i))
		}
	}
	shuffled := append([]int32(nil), free...)
	r := newRNG(deriveSeed(labelPerm, key.Seed[:], nil))
	r.shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for j, id := range free {
		p[id] = shuffled[j]
	}
	return p, nil
}

// InversePermutation returns π⁻¹ as a table: inv[π(id)] = id.
func InversePermutation(key Key) (Perm, error) {
	p, err := Permutation(key)
	if err != nil {
		return nil, err
	}
	return p.Inverse(), nil
}

// Inverse returns the inverse permutation.
func (p Perm) Inverse() Perm {
	inv := make(Perm, len(p))
	for i, j := range p {
		inv[j] = int32(i)
	}
	return inv
}

// EncodeIDs maps token ids through p (π(id) for every id); an id outside [0, len(p)) is an error.
func (p Perm) EncodeIDs(ids []int32) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || int(id) >= len(p) {
			return nil, fmt.Errorf("token id %d at position %d outside the vocabulary [0, %d)", id, i, len(p))
		}
		out[i] = p[id]
	}
	return out, nil
}

// EncodeIDs maps the client's token ids through the key's π (what the cloud receives).
func EncodeIDs(key Key, ids []int32) ([]int32, error) {
	p, err := Permutation(key)
	if err != nil {
		return nil, err
	}
	return p.EncodeIDs(ids)
}

// DecodeIDs maps π-ids back through π⁻¹ (e.g. the predictions of a permuted LM head).
func DecodeIDs(key Key, ids []int32) ([]int32, error) {
	inv, err := InversePermutation(key)
	if err != nil {
		return nil, err
	}
	return inv.EncodeIDs(ids)
}

func specialMask(key Key) []bool {
	m := make([]bool, key.VocabSize)
	for _, id := range key.Special {
		m[id] = true
	}
	return m
}

// Applied records how a table was shaken: what Unshake needs besides the key (s_E), and what a results file
// may hold (the key's fingerprint, never the key).
type Applied struct {
	KeyFingerprint string   `json:"key_fingerprint"`
	V              int      `json:"v"`
	D              int      `json:"d"`
	SE             float64  `json:"s_e"` // s_E of the original table; 0 when no operator of the chain uses it
	Vertical       []OpSpec `json:"vertical"`
	Horizontal     bool     `json:"horizontal"`
}

// StdAll returns s_E: the population standard deviation of all entries of a V×d table, in float64. Blocks
// of 64 rows are summed in a fixed order (blockMoments) and combined in order (Chan et al.), so the value
// does not depend on the number of goroutines.
func StdAll(table []float32, V, d int) (float64, error) {
	if err := (Table{table, V, d}).check(); err != nil {
		return 0, err
	}
	return stdAll(table, V, d, 0), nil
}

// moments are the count, mean and sum of squared deviations of a block of entries.
type moments struct{ n, mean, m2 float64 }

// shiftEntries is how many leading entries of a block give its shift K.
const shiftEntries = 256

// blockMoments computes a block's moments in one pass from sums shifted by K, the mean of the block's
// first shiftEntries entries: S1 = Σ(x−K), S2 = Σ(x−K)², mean = K + S1/n, m2 = S2 − S1·S1/n. The formula
// is exact for any K; a K near the mean keeps the subtraction from cancelling (its relative error grows
// as 1 + (mean−K)²/variance). The sums run in four interleaved partial sums (entry index mod 4) added in
// a fixed order, so that the adds do not wait on each other.
func blockMoments(x []float32) moments {
	head := x[:min(len(x), shiftEntries)]
	var k float64
	for _, v := range head {
		k += float64(v)
	}
	k /= float64(len(head))
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	for y := x; len(y) > 0; {
		if len(y) < 4 {
			for _, v := range y {
				dv := float64(v) - k
				s0 += dv
				q0 += float64(dv * dv)
			}
			break
		}
		d0, d1, d2, d3 := float64(y[0])-k, float64(y[1])-k, float64(y[2])-k, float64(y[3])-k
		s0 += d0
		s1 += d1
		s2 += d2
		s3 += d3
		q0 += float64(d0 * d0)
		q1 += float64(d1 * d1)
		q2 += float64(d2 * d2)
		q3 += float64(d3 * d3)
		y = y[4:]
	}
	n := float64(len(x))
	sum := (s0 + s1) + (s2 + s3)
	m2 := ((q0 + q1) + (q2 + q3)) - float64(sum*float64(sum/n))
	return moments{n, k + sum/n, max(m2, 0)}
}

// stdFromBlocks combines block moments in block order and returns the population standard deviation.
func stdFromBlocks(blocks []moments) float64 {
	acc := blocks[0]
	for _, b := range blocks[1:] {
		n := acc.n + b.n
		delta := b.mean - acc.mean
		acc.mean += float64(delta * float64(b.n/n))
		acc.m2 += b.m2 + float64(float64(delta*delta)*float64(acc.n*b.n/n))
		acc.n = n
	}
	return math.Sqrt(acc.m2 / acc.n)
}

func stdAll(table []float32, V, d, w int) float64 {
	blocks := make([]moments, (V+rowBlock-1)/rowBlock)
	parallelBlocks(V, rowBlock, w, func() func(lo, hi int) {
		return func(lo, hi int) { blocks[lo/rowBlock] = blockMoments(table[lo*d : hi*d]) }
	})
	return stdFromBlocks(blocks)
}

// checkSE checks that s_E can scale noise (a table with a NaN or infinite entry has none).
func checkSE(se float64) error {
	if math.IsNaN(se) || math.IsInf(se, 0) || se < 0 {
		return fmt.Errorf("s_E = %v must be finite and >= 0", se)
	}
	return nil
}

// defaultWorkers is the number of goroutines Shake and Unshake use.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

func checkShape(table []float32, V, d int, key Key) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if V != key.VocabSize {
		return fmt.Errorf("table has %d rows, key is for vocabulary size %d", V, key.VocabSize)
	}
	if key.Dim != 0 && d != key.Dim {
		return fmt.Errorf("table has width %d, key is for width %d", d, key.Dim)
	}
	return Table{table, V, d}.check()
}

// checkDst checks that dst can receive a V×d table computed from src: right length, no shared memory.
func checkDst(dst, src []float32, V, d int) error {
	if len(dst) != V*d {
		return fmt.Errorf("destination has %d values, want V×d = %d×%d = %d", len(dst), V, d, V*d)
	}
	if overlap(dst, src) {
		return errors.New("destination overlaps the source table")
	}
	return nil
}

// overlap reports whether two non-empty slices share memory.
func overlap(a, b []float32) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	const size = unsafe.Sizeof(float32(0))
	return a0 < b0+uintptr(len(b))*size && b0 < a0+uintptr(len(a))*size
}

// chainKernels prepares the key's vertical chain for a V×d table: one kernel factory per operator, in chain
// order, each with its sub-seed opSeed(key seed, k) and s_E = se.
func chainKernels(key Key, d int, se float64, inverse bool) ([]func() rowKernel, error) {
	factories := make([]func() rowKernel, len(key.Vertical))
	for k, s := range key.Vertical {
		op, err := rowOperatorOf(s)
		if err != nil {
			return nil, fmt.Errorf("vertical operator %d: %w", k, err)
		}
		factories[k] = op.prepare(Context{Seed: opSeed(key.Seed, k), SE: se}, d, inverse)
	}
	return factories, nil
}

func rowOperatorOf(s OpSpec) (rowOperator, error) {
	op, err := s.Operator()
	if err != nil {
		return nil, err
	}
	ro, ok := op.(rowOperator)
	if !ok { // every registry entry builds a rowOperator
		return nil, fmt.Errorf("operator %s has no row kernel", s.Op)
	}
	return ro, nil
}

// chainUsesSE reports whether any operator of the chain scales its noise by s_E.
func chainUsesSE(key Key) (bool, error) {
	for k, s := range key.Vertical {
		op, err := rowOperatorOf(s)
		if err != nil {
			return false, fmt.Errorf("vertical operator %d: %w", k, err)
		}
		if op.usesSE() {
			return true, nil
		}
	}
	return false, nil
}

// Shake returns E_s = π(V(E)): the key's vertical chain applied to every non-special row of the V×d table
// (noise in units of s_E of this table), then row i moved to row π(i). The input is not modified. The same
// table and key give bit-identical output on every machine and for any number of goroutines. Applied
// records s_E for Unshake; it is 0 when no operator of the chain is scaled by s_E (π alone, inflate, tilt),
// which Shake then does not compute (StdAll does).
//
// Shake allocates the V·d result; the operating system then maps it in page by page as it is first
// written, which on some machines costs more than the shaking itself. ShakeInto reuses a buffer.
func Shake(table []float32, V, d int, key Key) (shaken []float32, applied *Applied, err error) {
	if err := checkShape(table, V, d, key); err != nil {
		return nil, nil, fmt.Errorf("shake: %w", err)
	}
	out := make([]float32, V*d)
	applied, err = shakeInto(out, table, V, d, key, defaultWorkers())
	if err != nil {
		return nil, nil, err
	}
	return out, applied, nil
}

// ShakeInto is Shake writing E_s into dst, which must hold V·d values and not overlap table.
func ShakeInto(dst, table []float32, V, d int, key Key) (*Applied, error) {
	return shakeInto(dst, table, V, d, key, defaultWorkers())
}

// shakeInto runs Shake in one pass over the table: each row i copied to row π(i) and transformed by the
// whole chain while it is in cache, goroutines taking blocks of 64 rows. A chain with an operator scaled by
// s_E (addv, gaussian, laplace, dx-fixp) needs a read-only pass before, to compute s_E; for any other chain
// (π alone, inflate, tilt) s_E is not computed and Applied.SE is 0.
func shakeInto(dst, table []float32, V, d int, key Key, w int) (*Applied, error) {
	if err := checkShape(table, V, d, key); err != nil {
		return nil, fmt.Errorf("shake: %w", err)
	}
	if err := checkDst(dst, table, V, d); err != nil {
		return nil, fmt.Errorf("shake: %w", err)
	}
	needSE, err := chainUsesSE(key)
	if err != nil {
		return nil, fmt.Errorf("shake: %w", err)
	}
	var se float64
	if needSE {
		se = stdAll(table, V, d, w)
		if err := checkSE(se); err != nil {
			return nil, fmt.Errorf("shake: %w", err)
		}
	}
	var perm Perm // nil: identity
	if key.Horizontal {
		if perm, err = Permutation(key); err != nil {
			return nil, fmt.Errorf("shake: %w", err)
		}
	}
	factories, err := chainKernels(key, d, se, false)
	if err != nil {
		return nil, fmt.Errorf("shake: %w", err)
	}
	special := specialMask(key)
	parallelBlocks(V, rowBlock, w, func() func(lo, hi int) {
		kernels := make([]rowKernel, len(factories))
		for k, f := range factories {
			kernels[k] = f()
		}
		return func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := i
				if perm != nil {
					r = int(perm[i])
				}
				row := dst[r*d : (r+1)*d]
				copy(row, table[i*d:(i+1)*d])
				if special[i] {
					continue
				}
				for _, kernel := range kernels {
					kernel(row, i)
				}
			}
		}
	})
	return &Applied{KeyFingerprint: key.Fingerprint(), V: V, D: d, SE: se,
		Vertical: cloneChain(key.Vertical), Horizontal: key.Horizontal}, nil
}

// Unshake inverts Shake: it moves row π(i) back to row i and undoes the vertical chain in reverse order with
// the s_E recorded in applied. The result equals the original table up to float32 rounding.
func Unshake(shaken []float32, V, d int, key Key, applied *Applied) ([]float32, error) {
	if err := checkShape(shaken, V, d, key); err != nil {
		return nil, fmt.Errorf("unshake: %w", err)
	}
	out := make([]float32, V*d)
	if err := unshakeInto(out, shaken, V, d, key, applied, defaultWorkers()); err != nil {
		return nil, err
	}
	return out, nil
}

// UnshakeInto is Unshake writing the table into dst, which must hold V·d values and not overlap shaken.
func UnshakeInto(dst, shaken []float32, V, d int, key Key, applied *Applied) error {
	return unshakeInto(dst, shaken, V, d, key, applied, defaultWorkers())
}

// unshakeInto runs in one pass: row i gathered from row π(i), then the chain's inverses in reverse order.
func unshakeInto(dst, shaken []float32, V, d int, key Key, applied *Applied, w int) error {
	if err := checkShape(shaken, V, d, key); err != nil {
		return fmt.Errorf("unshake: %w", err)
	}
	if err := checkDst(dst, shaken, V, d); err != nil {
		return fmt.Errorf("unshake: %w", err)
	}
	if applied == nil {
		return errors.New("unshake: no record of the shaking (applied is nil)")
	}
	if applied.KeyFingerprint != key.Fingerprint() || applied.V != V || applied.D != d {
		return fmt.Errorf("unshake: table was shaken with key %s at %d×%d, not with this key at %d×%d",
			applied.KeyFingerprint, applied.V, applied.D, V, d)
	}
	needSE, err := chainUsesSE(key)
	if err != nil {
		return fmt.Errorf("unshake: %w", err)
	}
	if needSE {
		if err := checkSE(applied.SE); err != nil {
			return fmt.Errorf("unshake: recorded %w", err)
		}
	}
	var perm Perm
	if key.Horizontal {
		if perm, err = Permutation(key); err != nil {
			return fmt.Errorf("unshake: %w", err)
		}
	}
	factories, err := chainKernels(key, d, applied.SE, true)
	if err != nil {
		return fmt.Errorf("unshake: %w", err)
	}
	special := specialMask(key)
	parallelBlocks(V, rowBlock, w, func() func(lo, hi int) {
		kernels := make([]rowKernel, len(factories))
		for k, f := range factories {
			kernels[k] = f()
		}
		return func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := i
				if perm != nil {
					r = int(perm[i])
				}
				row := dst[i*d : (i+1)*d]
				copy(row, shaken[r*d:(r+1)*d])
				if special[i] {
					continue
				}
				for k := len(kernels) - 1; k >= 0; k-- {
					kernels[k](row, i)
				}
			}
		}
	})
	return nil
}
