package ckks

import (
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"

	"github.com/tuneinsight/lattigo/v6/circuits/ckks/polynomial"
	"github.com/tuneinsight/lattigo/v6/core/rlwe"
	"github.com/tuneinsight/lattigo/v6/schemes/ckks"
	"github.com/tuneinsight/lattigo/v6/utils"
)

// family is a kind of linear map on slot vectors whose non-zero diagonals are rotations by t·stride for t in
// [tMin, tMax]. Its maps are evaluated baby-step giant-step with baby rotations b·stride (0 ≤ b < n1) and giant
// rotations g·n1·stride, so the rotation keys a family needs are fixed when the engine is built, whichever of
// its diagonals a given map uses.
type family struct {
	name       string
	stride, n1 int
	tMin, tMax int
}

func newFamily(name string, stride, tMin, tMax int) family {
	span := tMax - tMin + 1
	n1 := 1 << ((bits.Len(uint(span-1)) + 1) / 2) // ≈ √span, a power of two
	return family{name: name, stride: stride, n1: n1, tMin: tMin, tMax: tMax}
}

// split returns the baby and giant rotations (in slots, not reduced) of diagonal t.
func (f family) split(t int) (baby, giant int) {
	g := t / f.n1
	if t < 0 && t%f.n1 != 0 {
		g--
	}
	return (t - g*f.n1) * f.stride, g * f.n1 * f.stride
}

// rotations lists every non-zero baby and giant rotation of the family.
func (f family) rotations() []int {
	set := map[int]bool{}
	for t := f.tMin; t <= f.tMax; t++ {
		b, g := f.split(t)
		set[b], set[g] = true, true
	}
	delete(set, 0)
	return slices.Sorted(maps.Keys(set))
}

// diagonals maps a family's diagonal index t to its slot vector (out[n] += diag[n]·in[n + t·stride]).
type diagonals map[int][]float64

// set adds w at slot n of diagonal t, allocating it on first use.
func (d diagonals) set(t, n, slots int, w float64) {
	v, ok := d[t]
	if !ok {
		v = make([]float64, slots)
		d[t] = v
	}
	v[n] = w
}

// Primitives counts the homomorphic operations the cloud ran.
type Primitives struct {
	Rotations        int64 // key switches for rotations (hoisted ones included)
	PlainMults       int64 // plaintext-ciphertext products (diagonals, masks, constants)
	CipherMults      int64 // ciphertext-ciphertext tensor products
	Relinearizations int64
	Rescales         int64
	Encodings        int64 // plaintexts encoded by the cloud
}

// cloud is the server side: the public parameters, the evaluation keys the client sent, and nothing secret.
type cloud struct {
	params  ckks.Parameters
	layout  Layout
	ecd     *ckks.Encoder
	eval    *ckks.Evaluator
	poly    *polynomial.Evaluator
	rotKeys map[int]bool // rotations (mod slots) with a Galois key
	// relinKey and galoisKeys are the evaluation keys received from the client.
	relinKey   *rlwe.RelinearizationKey
	galoisKeys []*rlwe.GaloisKey
	linear     family // x·W diagonals: multiples of the row stride
	sigma      family // σ of the attention product: shifts within a row
	trans      family // transposition of a square
	counters   Primitives
}

func newCloud(params ckks.Parameters, layout Layout, rlk *rlwe.RelinearizationKey, galois []*rlwe.GaloisKey, rotations []int) *cloud {
	eval := ckks.NewEvaluator(params, rlwe.NewMemEvaluationKeySet(rlk, galois...))
	c := &cloud{
		params:     params,
		layout:     layout,
		ecd:        ckks.NewEncoder(params),
		eval:       eval,
		poly:       polynomial.NewEvaluator(params, eval),
		rotKeys:    map[int]bool{},
		relinKey:   rlk,
		galoisKeys: galois,
	}
	c.linear, c.sigma, c.trans = families(layout)
	for _, r := range rotations {
		c.rotKeys[mod(r, layout.Slots)] = true
	}
	return c
}

// families returns the linear-map families of a layout.
func families(l Layout) (linear, sigma, trans family) {
	d := l.RowStride
	linear = newFamily("linear", d, 0, l.BlocksPerCiphertext-1)
	sigma = newFamily("sigma", 1, -(d - 1), d-1)
	trans = newFamily("transpose", d-1, -(d - 1), d-1)
	return
}

// keyRotations lists every rotation with a Galois key: the families' baby and giant steps and the steps of the
// attention product (1, ±row stride). Any other rotation is composed of family steps (see rotate).
func keyRotations(l Layout) []int {
	linear, sigma, trans := families(l)
	set := map[int]bool{1: true, l.RowStride: true, mod(-l.RowStride, l.Slots): true}
	for _, f := range []family{linear, sigma, trans} {
		for _, r := range f.rotations() {
			set[mod(r, l.Slots)] = true
		}
	}
	delete(set, 0)
	return slices.Sorted(maps.Keys(set))
}

func mod(a, m int) int {
	a %= m
	if a < 0 {
		a += m
	}
	return a
}

// encodeAt encodes a slot vector at the given level with scale q_level, so that a product with a ciphertext of
// scale Δ rescales back to exactly Δ.
func (c *cloud) encodeAt(v []float64, level int) (*rlwe.Plaintext, error) {
	pt := ckks.NewPlaintext(c.params, level)
	pt.Scale = rlwe.NewScale(c.params.Q()[level])
	if err := c.ecd.Encode(v, pt); err != nil {
		return nil, fmt.Errorf("encode plaintext: %w", err)
	}
	c.counters.Encodings++
	return pt, nil
}

// rotate returns ct rotated left by k slots: one key switch where a key exists, else k = q·s + r (s the row
// stride) is made of the linear family's steps for q and the σ family's for r, at most four key switches.
func (c *cloud) rotate(ct *rlwe.Ciphertext, k int) (*rlwe.Ciphertext, error) {
	slots, stride := c.layout.Slots, c.layout.RowStride
	k = mod(k, slots)
	if k == 0 {
		return ct.CopyNew(), nil
	}
	steps := []int{k}
	if !c.rotKeys[k] {
		b1, g1 := c.linear.split(k / stride)
		b2, g2 := c.sigma.split(k % stride)
		steps = []int{b1, g1, b2, g2}
	}
	out := ct
	for _, step := range steps {
		if step = mod(step, slots); step == 0 {
			continue
		}
		if !c.rotKeys[step] {
			return nil, fmt.Errorf("rotate by %d: no key for step %d", k, step)
		}
		c.counters.Rotations++
		next, err := c.eval.RotateNew(out, step)
		if err != nil {
			return nil, fmt.Errorf("rotate by %d (step %d): %w", k, step, err)
		}
		out = next
	}
	return out, nil
}

// rescale divides by the last prime in place.
func (c *cloud) rescale(ct *rlwe.Ciphertext) error {
	c.counters.Rescales++
	if err := c.eval.Rescale(ct, ct); err != nil {
		return fmt.Errorf("rescale: %w", err)
	}
	return nil
}

// normalize resets the scale of freshly rescaled ciphertexts to the default scale and returns the factor
// their decoded slots must now be multiplied by (1 when the scale already was the default one). All
// ciphertexts of one value share a level and so a scale.
func (c *cloud) normalize(cts []*rlwe.Ciphertext) float64 {
	want := c.params.DefaultScale()
	got := cts[0].Scale
	ratio := got.Float64() / want.Float64()
	for _, ct := range cts {
		ct.Scale = want
	}
	return 1 / ratio
}

// linearMaps evaluates out_b = Σ_a M_ab(in_a) for every output ciphertext b, where ms[a][b] holds the
// diagonals of M_ab in family f (nil or empty: zero). Baby rotations of each input are hoisted and shared by
// all outputs; giant rotations are shared by all inputs. The result is rescaled once: one level.
func (c *cloud) linearMaps(ins []*rlwe.Ciphertext, ms [][]diagonals, f family) ([]*rlwe.Ciphertext, error) {
	level := ins[0].Level()
	if level < 1 {
		return nil, fmt.Errorf("linear map at level 0")
	}
	slots := c.layout.Slots
	nOut := len(ms[0])
	babies := make([]map[int]*rlwe.Ciphertext, len(ins))
	for a, in := range ins {
		need := map[int]bool{}
		for b := range nOut {
			for t := range ms[a][b] {
				if r, _ := f.split(t); r != 0 {
					need[mod(r, slots)] = true
				}
			}
		}
		rots := slices.Sorted(maps.Keys(need))
		babies[a] = map[int]*rlwe.Ciphertext{0: in}
		if len(rots) > 0 {
			c.counters.Rotations += int64(len(rots))
			hoisted, err := c.eval.RotateHoistedNew(in, rots)
			if err != nil {
				return nil, fmt.Errorf("%s map: baby-step rotations: %w", f.name, err)
			}
			for r, ct := range hoisted {
				babies[a][r] = ct
			}
		}
	}
	outs := make([]*rlwe.Ciphertext, nOut)
	for b := range nOut {
		giants := map[int]*rlwe.Ciphertext{}
		for a := range ins {
			for _, t := range slices.Sorted(maps.Keys(ms[a][b])) {
				r, g := f.split(t)
				// out[n] += D[n]·in[n+r+g] = rot_g(D'·rot_r(in))[n] with D'[m] = D[m−g].
				pt, err := c.encodeAt(utils.RotateSlice(ms[a][b][t], mod(-g, slots)), level)
				if err != nil {
					return nil, fmt.Errorf("%s map: %w", f.name, err)
				}
				g = mod(g, slots)
				c.counters.PlainMults++
				if acc, ok := giants[g]; ok {
					err = c.eval.MulThenAdd(babies[a][mod(r, slots)], pt, acc)
				} else {
					giants[g], err = c.eval.MulNew(babies[a][mod(r, slots)], pt)
				}
				if err != nil {
					return nil, fmt.Errorf("%s map: plaintext product: %w", f.name, err)
				}
			}
		}
		var out *rlwe.Ciphertext
		for _, g := range slices.Sorted(maps.Keys(giants)) {
			part := giants[g]
			if g != 0 {
				var err error
				if part, err = c.rotate(part, g); err != nil {
					return nil, fmt.Errorf("%s map: giant step: %w", f.name, err)
				}
			}
			if out == nil {
				out = part
			} else if err := c.eval.Add(out, part, out); err != nil {
				return nil, fmt.Errorf("%s map: sum: %w", f.name, err)
			}
		}
		if out == nil { // an all-zero map
			var err error
			if out, err = c.eval.MulNew(ins[0], 0); err != nil {
				return nil, fmt.Errorf("%s map: zero: %w", f.name, err)
			}
			out.Scale = out.Scale.Mul(rlwe.NewScale(c.params.Q()[level]))
		}
		if err := c.rescale(out); err != nil {
			return nil, fmt.Errorf("%s map: %w", f.name, err)
		}
		outs[b] = out
	}
	return outs, nil
}

// replicate copies block 0 of ct, zero elsewhere, into every block: log2(blocks) rotations by powers of two
// times the row stride (baby or giant steps of the linear family), no level.
func (c *cloud) replicate(ct *rlwe.Ciphertext) error {
	for step := c.layout.RowStride; step < c.layout.Slots; step *= 2 {
		rot, err := c.rotate(ct, step)
		if err != nil {
			return fmt.Errorf("replicate: %w", err)
		}
		if err = c.eval.Add(ct, rot, ct); err != nil {
			return fmt.Errorf("replicate: %w", err)
		}
	}
	return nil
}

// mulConst multiplies by a public constant: free for an integer, one level otherwise.
func (c *cloud) mulConst(ct *rlwe.Ciphertext, k float64) (*rlwe.Ciphertext, error) {
	if k == math.Trunc(k) && math.Abs(k) < 1<<52 {
		out, err := c.eval.MulNew(ct, int64(k))
		if err != nil {
			return nil, fmt.Errorf("multiply by %v: %w", k, err)
		}
		return out, nil
	}
	c.counters.PlainMults++
	out, err := c.eval.MulNew(ct, k)
	if err != nil {
		return nil, fmt.Errorf("multiply by %v: %w", k, err)
	}
	return out, c.rescale(out)
}

// mulMask multiplies by a public slot vector and rescales: one level, the scale kept.
func (c *cloud) mulMask(ct *rlwe.Ciphertext, mask []float64) (*rlwe.Ciphertext, error) {
	c.counters.PlainMults++
	c.counters.Encodings++
	out, err := c.eval.MulNew(ct, mask)
	if err != nil {
		return nil, fmt.Errorf("mask product: %w", err)
	}
	return out, c.rescale(out)
}

// mulRelin multiplies two ciphertexts, relinearises and rescales: one level.
func (c *cloud) mulRelin(x, y *rlwe.Ciphertext) (*rlwe.Ciphertext, error) {
	c.counters.CipherMults++
	c.counters.Relinearizations++
	out, err := c.eval.MulRelinNew(x, y)
	if err != nil {
		return nil, fmt.Errorf("ciphertext product: %w", err)
	}
	return out, c.rescale(out)
}

// dropTo lowers a copy of ct to level (no rescaling).
func (c *cloud) dropTo(ct *rlwe.Ciphertext, level int) *rlwe.Ciphertext {
	if ct.Level() == level {
		return ct
	}
	return c.eval.DropLevelNew(ct, ct.Level()-level)
}
