package operators

import (
	"fmt"
	"math"
	"runtime"
	"sync"
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
	if math.IsNaN(c.SE) || math.IsInf(c.SE, 0) || c.SE < 0 {
		return fmt.Errorf("operators: s_E = %v must be finite and >= 0", c.SE)
	}
	return nil
}

func workers(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return max(n, 1)
}

// parallelRows calls fn on contiguous row ranges covering [0, n) from up to w goroutines.
func parallelRows(n, w int, fn func(lo, hi int)) {
	w = min(workers(w), n)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range w {
		lo, hi := k*n/w, (k+1)*n/w
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// prepare checks an operator's parameters, the table and the context before a run.
func prepare(o Operator, t Table, c Context) error {
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

// ---- table-wide operators -------------------------------------------------------------------------------

// AddV adds one vector v ~ N(0, (Scale·s_E)² I_d), drawn once for the table, to every non-special row.
type AddV struct{ Scale float64 }

func (AddV) Name() string                 { return "addv" }
func (o AddV) Params() map[string]float64 { return map[string]float64{"scale": o.Scale} }

func (o AddV) vector(c Context, d int) []float64 {
	r := newRNG(c.Seed)
	s := float64(o.Scale * c.SE)
	v := make([]float64, d)
	for j := range v {
		v[j] = float64(s * r.normal())
	}
	return v
}

func (o AddV) Apply(t Table, c Context) error  { return o.run(t, c, false) }
func (o AddV) Invert(t Table, c Context) error { return o.run(t, c, true) }

func (o AddV) run(t Table, c Context, inv bool) error {
	if err := prepare(o, t, c); err != nil {
		return err
	}
	v := o.vector(c, t.D)
	forEachKeptRow(t, c, func(row []float32) { addSigned(row, v, inv) })
	return nil
}

// forEachKeptRow calls fn on every row that is not a special token's, in parallel over c.Workers.
func forEachKeptRow(t Table, c Context, fn func(row []float32)) {
	parallelRows(t.V, c.Workers, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			if !c.skip(c.rowID(r)) {
				fn(t.Row(r))
			}
		}
	})
}

// addSigned adds v to row (or subtracts it, to invert), in float64 as every operator does.
func addSigned(row []float32, v []float64, subtract bool) {
	if subtract {
		for j, x := range row {
			row[j] = float32(float64(x) - v[j])
		}
		return
	}
	for j, x := range row {
		row[j] = float32(float64(x) + v[j])
	}
}

// Inflate multiplies every non-special row element-wise by (1 + u), u_j ~ U(0, Scale) drawn once for the
// table ("inflate the diagonal").
type Inflate struct{ Scale float64 }

func (Inflate) Name() string                 { return "inflate" }
func (o Inflate) Params() map[string]float64 { return map[string]float64{"scale": o.Scale} }

func (o Inflate) factors(c Context, d int) []float64 {
	r := newRNG(c.Seed)
	f := make([]float64, d)
	for j := range f {
		f[j] = 1 + r.uniform(0, o.Scale)
	}
	return f
}

func (o Inflate) Apply(t Table, c Context) error  { return o.run(t, c, false) }
func (o Inflate) Invert(t Table, c Context) error { return o.run(t, c, true) }

func (o Inflate) run(t Table, c Context, inv bool) error {
	if err := prepare(o, t, c); err != nil {
		return err
	}
	f := o.factors(c, t.D)
	forEachKeptRow(t, c, func(row []float32) {
		if inv {
			for j, x := range row {
				row[j] = float32(float64(x) / f[j])
			}
			return
		}
		for j, x := range row {
			row[j] = float32(float64(x) * f[j])
		}
	})
	return nil
}

// Tilt multiplies every non-special row by R, the product of ⌊d/2⌋ Givens rotations on a random pairing of
// the dimensions (consecutive entries of a random permutation of 0..d-1; with odd d the last one stays put)
// with angles θ ~ U(-Angle, Angle). For a pair (a, b): (e_a, e_b) ← (cos θ·e_a − sin θ·e_b, sin θ·e_a +
// cos θ·e_b). Invert applies Rᵀ.
type Tilt struct{ Angle float64 }

func (Tilt) Name() string                 { return "tilt" }
func (o Tilt) Params() map[string]float64 { return map[string]float64{"angle": o.Angle} }

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

func (o Tilt) Apply(t Table, c Context) error  { return o.run(t, c, false) }
func (o Tilt) Invert(t Table, c Context) error { return o.run(t, c, true) }

func (o Tilt) run(t Table, c Context, inv bool) error {
	if err := prepare(o, t, c); err != nil {
		return err
	}
	g := o.rotations(c, t.D)
	if inv {
		for k := range g {
			g[k].s = -g[k].s
		}
	}
	forEachKeptRow(t, c, func(row []float32) {
		for _, q := range g {
			ea, eb := float64(row[q.a]), float64(row[q.b])
			row[q.a] = float32(float64(q.c*ea) - float64(q.s*eb))
			row[q.b] = float32(float64(q.s*ea) + float64(q.c*eb))
		}
	})
	return nil
}

// ---- per-row noise operators ----------------------------------------------------------------------------

// rowNoise fills n (length d) with one row's noise from r, already in table units.
type rowNoise func(r *rng, n []float64)

// runRowNoise adds (or, with inv, subtracts) per-row noise to every non-special row. The noise of the row
// holding token id i comes from ChaCha8(SHA-256("cyphertalk/row/v1" || op seed || uint64be(i))).
func runRowNoise(o Operator, t Table, c Context, inv bool, gen rowNoise) error {
	if err := prepare(o, t, c); err != nil {
		return err
	}
	parallelRows(t.V, c.Workers, func(lo, hi int) {
		seeder := newRowSeeder(c.Seed)
		r := &rng{}
		n := make([]float64, t.D)
		for row := lo; row < hi; row++ {
			id := c.rowID(row)
			if c.skip(id) {
				continue
			}
			r.reseed(seeder.seed(id))
			gen(r, n)
			addSigned(t.Row(row), n, inv)
		}
	})
	return nil
}

// Gaussian adds n ~ N(0, (Sigma·s_E)² I_d), drawn once per row (fixed).
type Gaussian struct{ Sigma float64 }

func (Gaussian) Name() string                 { return "gaussian" }
func (o Gaussian) Params() map[string]float64 { return map[string]float64{"sigma": o.Sigma} }

func (o Gaussian) noise(se float64) rowNoise {
	s := float64(o.Sigma * se)
	return func(r *rng, n []float64) {
		for j := range n {
			n[j] = float64(s * r.normal())
		}
	}
}

func (o Gaussian) Apply(t Table, c Context) error  { return runRowNoise(o, t, c, false, o.noise(c.SE)) }
func (o Gaussian) Invert(t Table, c Context) error { return runRowNoise(o, t, c, true, o.noise(c.SE)) }

// Laplace adds n with n_j ~ Laplace(0, B·s_E) i.i.d., drawn once per row: ±B·s_E·Exp(1), the sign from a
// separate random bit (one 64-bit draw per 64 entries).
type Laplace struct{ B float64 }

func (Laplace) Name() string                 { return "laplace" }
func (o Laplace) Params() map[string]float64 { return map[string]float64{"b": o.B} }

func (o Laplace) noise(se float64) rowNoise {
	s := float64(o.B * se)
	return func(r *rng, n []float64) {
		var signs uint64
		for j := range n {
			if j%64 == 0 {
				signs = r.uint64()
			}
			x := float64(s * r.exp1())
			if signs&1 != 0 {
				x = -x
			}
			signs >>= 1
			n[j] = x
		}
	}
}

func (o Laplace) Apply(t Table, c Context) error  { return runRowNoise(o, t, c, false, o.noise(c.SE)) }
func (o Laplace) Invert(t Table, c Context) error { return runRowNoise(o, t, c, true, o.noise(c.SE)) }

// DXFixp adds r·w once per row ("fixed perturbation"): w uniform on the unit sphere (d standard normals,
// normalised) and r ~ Gamma(d, s_E/Epsilon), drawn as (s_E/Epsilon)·Σ_{k<d} Exp_k(1) — metric-DP noise with
// density ∝ exp(−Epsilon·‖z‖/s_E). The mean norm is d·s_E/Epsilon.
type DXFixp struct{ Epsilon float64 }

func (DXFixp) Name() string                 { return "dx-fixp" }
func (o DXFixp) Params() map[string]float64 { return map[string]float64{"epsilon": o.Epsilon} }

func (o DXFixp) noise(se float64) rowNoise {
	scale := se / o.Epsilon
	return func(r *rng, n []float64) {
		var norm2, g float64
		for j := range n {
			z := r.normal()
			n[j] = z
			norm2 += float64(z * z)
		}
		for range n {
			g += r.exp1()
		}
		if norm2 == 0 {
			return // probability 0; n is then all zero
		}
		f := float64(scale*g) / math.Sqrt(norm2)
		for j, z := range n {
			n[j] = float64(z * f)
		}
	}
}

func (o DXFixp) Apply(t Table, c Context) error  { return runRowNoise(o, t, c, false, o.noise(c.SE)) }
func (o DXFixp) Invert(t Table, c Context) error { return runRowNoise(o, t, c, true, o.noise(c.SE)) }
