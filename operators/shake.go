package operators

import (
	"errors"
	"fmt"
	"math"
	"runtime"
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
	SE             float64  `json:"s_e"` // std of all entries of the original table
	Vertical       []OpSpec `json:"vertical"`
	Horizontal     bool     `json:"horizontal"`
}

// StdAll returns s_E: the population standard deviation of all entries of a V×d table, in float64. Rows are
// summed in fixed blocks combined in order (Chan et al.), so the value does not depend on the number of
// goroutines.
func StdAll(table []float32, V, d int) (float64, error) {
	if err := (Table{table, V, d}).check(); err != nil {
		return 0, err
	}
	return stdAll(table, V, d, 0), nil
}

const stdBlockRows = 64

func stdAll(table []float32, V, d, w int) float64 {
	type moments struct{ n, mean, m2 float64 }
	nb := (V + stdBlockRows - 1) / stdBlockRows
	blocks := make([]moments, nb)
	parallelRows(nb, w, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			x := table[b*stdBlockRows*d : min((b+1)*stdBlockRows, V)*d]
			var s float64
			for _, v := range x {
				s += float64(v)
			}
			mean := s / float64(len(x))
			var m2 float64
			for _, v := range x {
				dv := float64(v) - mean
				m2 += float64(dv * dv)
			}
			blocks[b] = moments{float64(len(x)), mean, m2}
		}
	})
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

// Shake returns E_s = π(V(E)): the key's vertical chain applied to every non-special row of the V×d table
// (noise in units of s_E of this table), then row i moved to row π(i). The input is not modified. The same
// table and key give bit-identical output on every machine and for any number of goroutines.
func Shake(table []float32, V, d int, key Key) (shaken []float32, applied *Applied, err error) {
	return shake(table, V, d, key, defaultWorkers())
}

func shake(table []float32, V, d int, key Key, w int) ([]float32, *Applied, error) {
	if err := checkShape(table, V, d, key); err != nil {
		return nil, nil, fmt.Errorf("shake: %w", err)
	}
	se := stdAll(table, V, d, w)
	out := make([]float32, len(table))
	var rowIDs []int32
	if key.Horizontal {
		// The permuting copy is the only copy: row π(i) ← row i; the vertical operators then run on the
		// permuted table, keyed by each row's original id.
		perm, err := Permutation(key)
		if err != nil {
			return nil, nil, fmt.Errorf("shake: %w", err)
		}
		rowIDs = perm.Inverse()
		parallelRows(V, w, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				i := int(rowIDs[r])
				copy(out[r*d:(r+1)*d], table[i*d:(i+1)*d])
			}
		})
	} else {
		parallelRows(V, w, func(lo, hi int) { copy(out[lo*d:hi*d], table[lo*d:hi*d]) })
	}
	c := Context{SE: se, Special: specialMask(key), RowIDs: rowIDs, Workers: w}
	t := Table{out, V, d}
	for k, s := range key.Vertical {
		op, err := s.Operator()
		if err != nil {
			return nil, nil, fmt.Errorf("shake: vertical operator %d: %w", k, err)
		}
		c.Seed = opSeed(key.Seed, k)
		if err := op.Apply(t, c); err != nil {
			return nil, nil, fmt.Errorf("shake: vertical operator %d (%s): %w", k, s, err)
		}
	}
	return out, &Applied{KeyFingerprint: key.Fingerprint(), V: V, D: d, SE: se,
		Vertical: cloneChain(key.Vertical), Horizontal: key.Horizontal}, nil
}

// Unshake inverts Shake: it moves row π(i) back to row i and undoes the vertical chain in reverse order with
// the s_E recorded in applied. The result equals the original table up to float32 rounding.
func Unshake(shaken []float32, V, d int, key Key, applied *Applied) ([]float32, error) {
	return unshake(shaken, V, d, key, applied, defaultWorkers())
}

func unshake(shaken []float32, V, d int, key Key, applied *Applied, w int) ([]float32, error) {
	if err := checkShape(shaken, V, d, key); err != nil {
		return nil, fmt.Errorf("unshake: %w", err)
	}
	if applied == nil {
		return nil, errors.New("unshake: no record of the shaking (applied is nil)")
	}
	if applied.KeyFingerprint != key.Fingerprint() || applied.V != V || applied.D != d {
		return nil, fmt.Errorf("unshake: table was shaken with key %s at %d×%d, not with this key at %d×%d",
			applied.KeyFingerprint, applied.V, applied.D, V, d)
	}
	out := make([]float32, len(shaken))
	if key.Horizontal {
		perm, err := Permutation(key)
		if err != nil {
			return nil, fmt.Errorf("unshake: %w", err)
		}
		parallelRows(V, w, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := int(perm[i])
				copy(out[i*d:(i+1)*d], shaken[r*d:(r+1)*d])
			}
		})
	} else {
		parallelRows(V, w, func(lo, hi int) { copy(out[lo*d:hi*d], shaken[lo*d:hi*d]) })
	}
	c := Context{SE: applied.SE, Special: specialMask(key), Workers: w}
	t := Table{out, V, d}
	for k := len(key.Vertical) - 1; k >= 0; k-- {
		s := key.Vertical[k]
		op, err := s.Operator()
		if err != nil {
			return nil, fmt.Errorf("unshake: vertical operator %d: %w", k, err)
		}
		c.Seed = opSeed(key.Seed, k)
		if err := op.Invert(t, c); err != nil {
			return nil, fmt.Errorf("unshake: vertical operator %d (%s): %w", k, s, err)
		}
	}
	return out, nil
}
