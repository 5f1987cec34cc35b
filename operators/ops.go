package operators

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Table is a row-major V×D token-embedding table.
type Table struct {
	Data []float32
	V, D int
}

// Row returns row r (a slice aliasing Data).
func (t Table) Row(r int) []float32 { return t.Data[r*t.D : (r+1)*t.D] }

func (t Table) check() error {
	if t.V <= 0 || t.D <= 0 {
		return fmt.Errorf("operators: table shape %d×%d must be positive", t.V, t.D)
	}
	if len(t.Data) != t.V*t.D {
		return fmt.Errorf("operators: table has %d values, want V×d = %d×%d = %d", len(t.Data), t.V, t.D, t.V*t.D)
	}
	return nil
}

// Context is what an operator needs besides its parameters and the table.
type Context struct {
	// Seed is the operator's sub-seed: SHA-256("cyphertalk/op/v1" || key seed || uint32be(index in chain)).
	Seed [32]byte
	// SE is s_E, the standard deviation of all entries of the original table, the unit of every noise scale.
	SE float64
	// Special[id] is true for token ids whose rows are never perturbed; nil means none.
	Special []bool
	// RowIDs[r] is the original token id held by table row r (after π, row π(i) holds id i); nil means the
	// identity. Per-row noise is keyed by the original id, so it does not matter whether π ran first.
	RowIDs []int32
	// Workers is the number of goroutines over rows; <= 0 means runtime.GOMAXPROCS(0). The result does not
	// depend on it.
	Workers int
}

func (c Context) rowID(r int) int {
	if c.RowIDs == nil {
		return r
	}
	return int(c.RowIDs[r])
}

func (c Context) skip(id int) bool { return c.Special != nil && c.Special[id] }

func (c Context) check(t Table) error {
	if err := t.check(); err != nil {
		return err
	}
	if c.Special != nil && len(c.Special) != t.V {
		return fmt.Errorf("operators: special mask has %d entries, table has %d rows", len(c.Special), t.V)
	}
	if c.RowIDs != nil && len(c.RowIDs) != t.V {
		return fmt.Errorf("operators: row ids have %d entries, table has %d rows", len(c.RowIDs), t.V)
	}
	if err := checkSE(c.SE); err != nil {
		return fmt.Errorf("operators: %w", err)
	}
	return nil
}

func workers(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return max(n, 1)
}

// rowBlock is the number of rows a goroutine takes at a time, and the block of s_E's partial sums.
const rowBlock = 64

// parallelBlocks covers [0, n) with the blocks [b·size, min((b+1)·size, n)) and runs them on up to w
// goroutines (w <= 0: GOMAXPROCS). Each goroutine calls newWorker once for its own block function (so it
// can own scratch buffers), then takes the next unclaimed block until none is left: a goroutine on a busy
// core simply does fewer blocks. Which goroutine runs a block never changes what the block computes.
func parallelBlocks(n, size, w int, newWorker func() func(lo, hi int)) {
	nb := (n + size - 1) / size
	w = min(workers(w), nb)
	if w <= 1 {
		if nb > 0 {
			fn := newWorker()
			for b := range nb {
				fn(b*size, min((b+1)*size, n))
			}
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			fn := newWorker()
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				fn(b*size, min((b+1)*size, n))
			}
		})
	}
	wg.Wait()
}

// checkRun checks an operator's parameters, the table and the context before a run.
func checkRun(o Operator, t Table, c Context) error {
	if err := validateParams(o.Name(), o.Params()); err != nil {
		return err
	}
	return c.check(t)
}

// Operator is a vertical shaking operator: it perturbs every non-special row of a table in place. Invert
// undoes Apply exactly (up to float32 rounding) given the same Context.
type Operator interface {
	// Name is the registry name (addv, inflate, tilt, gaussian, laplace, dx-fixp).
	Name() string
	// Params are the operator's parameters by name.
	Params() map[string]float64
	Apply(t Table, c Context) error
	Invert(t Table, c Context) error
}

// rowKernel applies an operator (or its inverse) to one row in place; id is the original token id the row
// holds, which keys per-row noise.
type rowKernel func(row []float32, id int)

// rowOperator is what every registered operator implements besides Operator. prepare does the table-wide
// work once (draws v, u or the rotations, keys the row streams) and returns a factory of row kernels; each
// goroutine makes its own kernel, which may own scratch buffers. Apply and Invert run one kernel over the
// table; Shake and Unshake run the whole chain row by row, fused with π and the copy, in one pass.
type rowOperator interface {
	Operator
	prepare(c Context, d int, inverse bool) (newKernel func() rowKernel)
	// usesSE reports whether the operator's noise is scaled by s_E.
	usesSE() bool
}

// run checks the input and applies o's kernel (inverse or not) to every non-special row of t, in parallel
// over c.Workers.
func run(o rowOperator, t Table, c Context, inverse bool) error {
	if err := checkRun(o, t, c); err != nil {
		return err
	}
	newKernel := o.prepare(c, t.D, inverse)
	parallelBlocks(t.V, rowBlock, c.Workers, func() func(lo, hi int) {
		kernel := newKernel()
		return func(lo, hi int) {
			for r := lo; r < hi; r++ {
				if id := c.rowID(r); !c.skip(id) {
					kernel(t.Row(r), id)
				}
			}
		}
	})
	return nil
}

// sameKernel is the factory of a kernel without scratch state, shared by all goroutines.
func sameKernel(k rowKernel) func() rowKernel { return func() rowKernel { return k } }

// ---- table-wide operators -------------------------------------------------------------------------------

// AddV adds one vector v ~ N(0, (Scale·s_E)² I_d), drawn once for the table, to every non-special row.
type AddV struct{ Scale float64 }

func (AddV) Name() string                 { return "addv" }
func (o AddV) Params() map[string]float64 { return map[string]float64{"scale": o.Scale} }
func (AddV) usesSE() bool                 { return true }

func (o AddV) vector(c Context, d int) []float64 {
	r := newRNG(c.Seed)
	s := float64(o.Scale * c.SE)
	v := make([]float64, d)
	for j := range v {
		v[j] = float64(s * r.normal())
	}
	return v
}

func (o AddV) Apply(t Table, c Context) error  { return run(o, t, c, false) }
func (o AddV) Invert(t Table, c Context) error { return run(o, t, c, true) }

func (o AddV) prepare(c Context, d int, inverse bool) func() rowKernel {
	v := o.vector(c, d)
	if inverse {
		return sameKernel(func(row []float32, _ int) {
			v := v[:len(row)]
			for j, x := range row {
				row[j] = float32(float64(x) - v[j])
			}
		})
	}
	return sameKernel(func(row []float32, _ int) {
		v := v[:len(row)]
		for j, x := range row {
			row[j] = float32(float64(x) + v[j])
		}
	})
}

// Inflate multiplies every non-special row element-wise by (1 + u), u_j ~ U(0, Scale) drawn once for the
// table ("inflate the diagonal").
type Inflate struct{ Scale float64 }

func (Inflate) Name() string                 { return "inflate" }
func (o Inflate) Params() map[string]float64 { return map[string]float64{"scale": o.Scale} }
func (Inflate) usesSE() bool                 { return false }

func (o Inflate) factors(c Context, d int) []float64 {
	r := newRNG(c.Seed)
	f := make([]float64, d)
	for j := range f {
		f[j] = 1 + r.uniform(0, o.Scale)
	}
	return f
}

func (o Inflate) Apply(t Table, c Context) error  { return run(o, t, c, false) }
func (o Inflate) Invert(t Table, c Context) error { return run(o, t, c, true) }

func (o Inflate) prepare(c Context, d int, inverse bool) func() rowKernel {
	f := o.factors(c, d)
	if inverse {
		return sameKernel(func(row []float32, _ int) {
			f := f[:len(row)]
			for j, x := range row {
				row[j] = float32(float64(x) / f[j])
			}
		})
	}
	return sameKernel(func(row []float32, _ int) {
		f := f[:len(row)]
		for j, x := range row {
			row[j] = float32(float64(x) * f[j])
		}
	})
}

// Tilt multiplies every non-special row by R, the product of ⌊d/2⌋ Givens rotations on a random pairing of
// the dimensions (consecutive entries of a random permutation of 0..d-1; with odd d the last one stays put)
// with angles θ ~ U(-Angle, Angle). For a pair (a, b): (e_a, e_b) ← (cos θ·e_a − sin θ·e_b, sin θ·e_a +
// cos θ·e_b). Invert applies Rᵀ.
type Tilt struct{ Angle float64 }

func (Tilt) Name() string                 { return "tilt" }
func (o Tilt) Params() map[string]float64 { return map[string]float64{"angle": o.Angle} }
func (Tilt) usesSE() bool                 { return false }

type givens struct {
	a, b int
	c, s float64
}

func (o Tilt) rotations(c Context, d int) []givens {
	r := newRNG(c.Seed)
	p := make([]int, d)
	for i := range p {
		p[i] = i
	}
	r.shuffle(d, func(i, j int) { p[i], p[j] = p[j], p[i] })
	g := make([]givens, d/2)
	for k := range g {
		s, cs := psincos(r.uniform(-o.Angle, o.Angle))
		g[k] = givens{a: p[2*k], b: p[2*k+1], c: cs, s: s}
	}
	return g
}

func (o Tilt) Apply(t Table, c Context) error  { return run(o, t, c, false) }
func (o Tilt) Invert(t Table, c Context) error { return run(o, t, c, true) }

// rotation32 is a Givens rotation as the kernel applies it: float32 coefficients, int32 indices.
type rotation32 struct {
	a, b int32
	c, s float32
}

// prepare rounds each rotation's cos and sin to float32 and rotates in float32, each product rounded
// before the sum: R's columns then have norm 1 ± 1.2e-7 and Invert's Rᵀ undoes R to float32 rounding.
func (o Tilt) prepare(c Context, d int, inverse bool) func() rowKernel {
	g := o.rotations(c, d)
	r := make([]rotation32, len(g))
	for k, q := range g {
		r[k] = rotation32{a: int32(q.a), b: int32(q.b), c: float32(q.c), s: float32(q.s)}
		if inverse {
			r[k].s = -r[k].s
		}
	}
	return sameKernel(func(row []float32, _ int) {
		row = row[:d]
		for _, q := range r {
			ea, eb := row[q.a], row[q.b]
			row[q.a] = float32(q.c*ea) - float32(q.s*eb)
			row[q.b] = float32(q.s*ea) + float32(q.c*eb)
		}
	})
}

// ---- per-row noise operators ----------------------------------------------------------------------------
//
// Row id's noise comes from its rowStream (rowrng.go): entry j's sample from word j on the ziggurat's fast
// path, further words only when it rejects. Each noise value is a float32 and Apply stores row[j] + n_j;
// Invert runs the same kernel with every scale negated, storing row[j] + (−n_j) = row[j] − n_j.

// wordNormal is the normal word sampler's fast path with the noise scale and the sign folded into float32
// tables indexed by the word's low 9 bits (layer and sign): with k = w>>9 (u = k·2^-23), the sample is
// float32(k)·scaled[w&511] when k < limit[w&511] (⇔ u < x_{i+1}/x_i), where scaled holds ±s·x_i·2^-23
// rounded to float32; otherwise it is float32(s·normalWord(w)).
type wordNormal struct {
	limit  [2 * zigNor256C]uint32
	scaled [2 * zigNor256C]float32
	s      float64
}

func newWordNormal(s float64) *wordNormal {
	t := &wordNormal{s: s}
	for i := range zigNor256C {
		lim := uint32(math.Ceil(zigNor256Q[i] * 0x1p23))
		x := float32(float64(s*zigNor256X[i]) * 0x1p-23)
		t.limit[i], t.limit[i+zigNor256C] = lim, lim
		t.scaled[i], t.scaled[i+zigNor256C] = x, -x
	}
	return t
}

// fill writes len(words) scaled normal samples from the row's first words to out and returns the sum of
// their squares, accumulated in float64 in entry order.
func (t *wordNormal) fill(out []float32, words []uint32, st *rowStream) (sumSquares float64) {
	out = out[:len(words)]
	for j, w := range words {
		k, i := w>>9, w&(2*zigNor256C-1)
		var z float32
		if k < t.limit[i] {
			z = float32(float32(k) * t.scaled[i])
		} else {
			z = float32(t.s * st.normalWord(w))
		}
		out[j] = z
		z64 := float64(z)
		sumSquares += float64(z64 * z64)
	}
	return sumSquares
}

// add adds len(row) scaled normal samples from the row's first words to row.
func (t *wordNormal) add(row []float32, words []uint32, st *rowStream) {
	row = row[:len(words)]
	for j, w := range words {
		k, i := w>>9, w&(2*zigNor256C-1)
		var n float32
		if k < t.limit[i] {
			n = float32(float32(k) * t.scaled[i])
		} else {
			n = float32(t.s * st.normalWord(w))
		}
		row[j] += n
	}
}

// wordExp is the exponential word sampler's fast path for Laplace noise, with the scale and the sign (bit
// 8) folded into float32 tables indexed by the word's low 9 bits: with k = w>>9 (u = k·2^-23), the sample
// is float32(k)·scaled[w&511] when k < limit[w&511] (⇔ u < x_{i+1}/x_i), where scaled holds
// ±s·x_i·2^-23 rounded to float32; otherwise it is ±float32(s·expWord(w)).
type wordExp struct {
	limit  [2 * zigExpC]uint32
	scaled [2 * zigExpC]float32
	s      float64
}

func newWordExp(s float64) *wordExp {
	t := &wordExp{s: s}
	for i := range zigExpC {
		lim := uint32(math.Ceil(zigExpQ[i] * 0x1p23))
		x := float32(float64(s*zigExpX[i]) * 0x1p-23)
		t.limit[i], t.limit[i+zigExpC] = lim, lim
		t.scaled[i], t.scaled[i+zigExpC] = x, -x
	}
	return t
}

// addLaplace adds len(row) scaled Laplace samples from the row's first words to row.
func (t *wordExp) addLaplace(row []float32, words []uint32, st *rowStream) {
	row = row[:len(words)]
	for j, w := range words {
		k, i := w>>9, w&(2*zigExpC-1)
		var n float32
		if k < t.limit[i] {
			n = float32(float32(k) * t.scaled[i])
		} else {
			n = float32(t.s * st.expWord(w))
			if w&zigExpC != 0 {
				n = -n
			}
		}
		row[j] += n
	}
}

// signed returns s, or −s for an inverse.
func signed(s float64, inverse bool) float64 {
	if inverse {
		return -s
	}
	return s
}

// Gaussian adds n ~ N(0, (Sigma·s_E)² I_d), drawn once per row (fixed).
type Gaussian struct{ Sigma float64 }

func (Gaussian) Name() string                 { return "gaussian" }
func (o Gaussian) Params() map[string]float64 { return map[string]float64{"sigma": o.Sigma} }
func (Gaussian) usesSE() bool                 { return true }

func (o Gaussian) Apply(t Table, c Context) error  { return run(o, t, c, false) }
func (o Gaussian) Invert(t Table, c Context) error { return run(o, t, c, true) }

func (o Gaussian) prepare(c Context, d int, inverse bool) func() rowKernel {
	sampler := newWordNormal(signed(float64(o.Sigma*c.SE), inverse))
	return func() rowKernel {
		st := newRowStream(c.Seed, d)
		return func(row []float32, id int) { sampler.add(row, st.start(id), st) }
	}
}

// Laplace adds n with n_j ~ Laplace(0, B·s_E) i.i.d., drawn once per row: ±B·s_E·Exp(1), the magnitude
// from the exponential ziggurat and the sign from bit 8 of the same word, which the magnitude does not use.
type Laplace struct{ B float64 }

func (Laplace) Name() string                 { return "laplace" }
func (o Laplace) Params() map[string]float64 { return map[string]float64{"b": o.B} }
func (Laplace) usesSE() bool                 { return true }

func (o Laplace) Apply(t Table, c Context) error  { return run(o, t, c, false) }
func (o Laplace) Invert(t Table, c Context) error { return run(o, t, c, true) }

func (o Laplace) prepare(c Context, d int, inverse bool) func() rowKernel {
	sampler := newWordExp(signed(float64(o.B*c.SE), inverse))
	return func() rowKernel {
		st := newRowStream(c.Seed, d)
		return func(row []float32, id int) { sampler.addLaplace(row, st.start(id), st) }
	}
}

// DXFixp adds r·w once per row ("fixed perturbation"): w uniform on the unit sphere (d standard normals z,
// divided by ‖z‖) and r ~ Gamma(d, s_E/Epsilon), drawn by Marsaglia and Tsang's exact method from the
// words after the normals — metric-DP noise with density ∝ exp(−Epsilon·‖z‖/s_E). The mean norm is
// d·s_E/Epsilon. Entry j's noise is float32(z_j·f), f = float32(r/‖z‖).
type DXFixp struct{ Epsilon float64 }

func (DXFixp) Name() string                 { return "dx-fixp" }
func (o DXFixp) Params() map[string]float64 { return map[string]float64{"epsilon": o.Epsilon} }
func (DXFixp) usesSE() bool                 { return true }

func (o DXFixp) Apply(t Table, c Context) error  { return run(o, t, c, false) }
func (o DXFixp) Invert(t Table, c Context) error { return run(o, t, c, true) }

func (o DXFixp) prepare(c Context, d int, inverse bool) func() rowKernel {
	scale := signed(c.SE/o.Epsilon, inverse)
	direction := newWordNormal(1)
	return func() rowKernel {
		st := newRowStream(c.Seed, d)
		z := make([]float32, d)
		return func(row []float32, id int) {
			z := z[:len(row)]
			norm2 := direction.fill(z, st.start(id), st)
			r := st.gamma(float64(len(row)))
			if norm2 == 0 {
				return // probability 0: no direction, no noise
			}
			f := float32(float64(scale*r) / math.Sqrt(norm2))
			for j, x := range z {
				row[j] += float32(x * f)
			}
		}
	}
}
