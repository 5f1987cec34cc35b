package cryptofriendly

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Operation names, as PlainEngine counts them (the Engine method names).
const (
	OpInput      = "Input"
	OpReveal     = "Reveal"
	OpLinear     = "Linear"
	OpMatMul     = "MatMul"
	OpMatMulT    = "MatMulT"
	OpAdd        = "Add"
	OpAddPlain   = "AddPlain"
	OpScale      = "Scale"
	OpMulElem    = "MulElem"
	OpMulRows    = "MulRows"
	OpRowSum     = "RowSum"
	OpPoly       = "Poly"
	OpReciprocal = "Reciprocal"
	OpInvSqrt    = "InvSqrt"
	OpSliceCols  = "SliceCols"
	OpConcatCols = "ConcatCols"
	OpSliceRows  = "SliceRows"
)

// OpStat counts one kind of operation.
type OpStat struct {
	Calls    int64 // engine calls
	Elements int64 // elements of the results
	// Mults are products of two private values: r·k·c for a (r×k)·(k×c) MatMul or MatMulT, one per element for
	// MulElem and MulRows, and degree−1 per element for Poly (the powers x², …, x^n; coefficients are public).
	Mults int64
	// MACs are multiply-accumulates with public weights (Linear: rows·in·out).
	MACs int64
}

func (s OpStat) add(o OpStat) OpStat {
	return OpStat{Calls: s.Calls + o.Calls, Elements: s.Elements + o.Elements, Mults: s.Mults + o.Mults, MACs: s.MACs + o.MACs}
}

// Counts are the operations an engine was asked for, by kind, plus the elements each polynomial degree was
// evaluated on. The crypto engines extrapolate a measured sample to a data set with them.
type Counts struct {
	Ops         map[string]OpStat
	PolyDegrees map[int]int64
}

// Total sums all kinds.
func (c Counts) Total() OpStat {
	var t OpStat
	for _, s := range c.Ops {
		t = t.add(s)
	}
	return t
}

// Add returns c + o (e.g. to total several sequences).
func (c Counts) Add(o Counts) Counts {
	out := Counts{Ops: maps.Clone(c.Ops), PolyDegrees: maps.Clone(c.PolyDegrees)}
	if out.Ops == nil {
		out.Ops = map[string]OpStat{}
	}
	if out.PolyDegrees == nil {
		out.PolyDegrees = map[int]int64{}
	}
	for k, s := range o.Ops {
		out.Ops[k] = out.Ops[k].add(s)
	}
	for deg, n := range o.PolyDegrees {
		out.PolyDegrees[deg] += n
	}
	return out
}

// String lists the kinds in name order, one a line.
func (c Counts) String() string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c.Ops)) {
		s := c.Ops[k]
		fmt.Fprintf(&b, "%-10s calls %6d  elements %9d  mults %10d  MACs %11d\n", k, s.Calls, s.Elements, s.Mults, s.MACs)
	}
	for _, deg := range slices.Sorted(maps.Keys(c.PolyDegrees)) {
		fmt.Fprintf(&b, "poly degree %d on %d elements\n", deg, c.PolyDegrees[deg])
	}
	return b.String()
}

// PlainEngine is the reference Engine: float64 arithmetic in the clear with exact 1/x and 1/√x. It counts every
// operation (Counts) and every Reciprocal/InvSqrt input outside the interval it was promised (OutOfRange), which
// an approximating engine would have got wrong. It is not safe for concurrent use.
type PlainEngine struct {
	counts     Counts
	outOfRange int64
}

// NewPlainEngine returns a reference engine with zero counters.
func NewPlainEngine() *PlainEngine {
	p := &PlainEngine{}
	p.ResetCounts()
	return p
}

// Counts returns a copy of the counters.
func (p *PlainEngine) Counts() Counts { return Counts{}.Add(p.counts) }

// OutOfRange is the number of Reciprocal/InvSqrt inputs seen outside their stated interval.
func (p *PlainEngine) OutOfRange() int64 { return p.outOfRange }

// ResetCounts zeroes the counters.
func (p *PlainEngine) ResetCounts() {
	p.counts = Counts{Ops: map[string]OpStat{}, PolyDegrees: map[int]int64{}}
	p.outOfRange = 0
}

func (p *PlainEngine) count(op string, s OpStat) {
	s.Calls = 1
	p.counts.Ops[op] = p.counts.Ops[op].add(s)
}

// plainValue is PlainEngine's Value: the matrix itself.
type plainValue struct{ m Matrix }

func (v *plainValue) Shape() (rows, cols int) { return v.m.Rows, v.m.Cols }

// Name implements Engine.
func (p *PlainEngine) Name() string { return "plain" }

func (p *PlainEngine) get(v Value) (Matrix, error) {
	pv, ok := v.(*plainValue)
	if !ok || pv == nil {
		return Matrix{}, fmt.Errorf("plain engine: value %T is not one of this engine's", v)
	}
	return pv.m, nil
}

func (p *PlainEngine) get2(x, y Value) (Matrix, Matrix, error) {
	a, err := p.get(x)
	if err != nil {
		return Matrix{}, Matrix{}, err
	}
	b, err := p.get(y)
	return a, b, err
}

func wrap(m Matrix) Value { return &plainValue{m: m} }

func clone(m Matrix) Matrix {
	return Matrix{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
}

// Input implements Engine.
func (p *PlainEngine) Input(m Matrix) (Value, error) {
	if len(m.Data) != m.Rows*m.Cols {
		return nil, fmt.Errorf("plain engine: input has %d values for %d×%d", len(m.Data), m.Rows, m.Cols)
	}
	p.count(OpInput, OpStat{Elements: int64(len(m.Data))})
	return wrap(clone(m)), nil
}

// Reveal implements Engine.
func (p *PlainEngine) Reveal(v Value) (Matrix, error) {
	m, err := p.get(v)
	if err != nil {
		return Matrix{}, err
	}
	p.count(OpReveal, OpStat{Elements: int64(len(m.Data))})
	return clone(m), nil
}

// Linear implements Engine.
func (p *PlainEngine) Linear(x Value, w Matrix, b []float64) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	if a.Cols != w.Rows || (b != nil && len(b) != w.Cols) {
		return nil, fmt.Errorf("plain engine: Linear of %d×%d by %d×%d with %d biases", a.Rows, a.Cols, w.Rows, w.Cols, len(b))
	}
	out := matMul(a, w)
	if b != nil {
		for i := range out.Rows {
			row := out.Data[i*out.Cols : (i+1)*out.Cols]
			for j := range row {
				row[j] += b[j]
			}
		}
	}
	p.count(OpLinear, OpStat{Elements: int64(len(out.Data)), MACs: int64(a.Rows * a.Cols * w.Cols)})
	return wrap(out), nil
}

// matMul is the plain (r×k)·(k×c) product.
func matMul(a, b Matrix) Matrix {
	out := NewMatrix(a.Rows, b.Cols)
	for i := range a.Rows {
		orow := out.Data[i*b.Cols : (i+1)*b.Cols]
		for k := range a.Cols {
			aik := a.Data[i*a.Cols+k]
			brow := b.Data[k*b.Cols : (k+1)*b.Cols]
			for j, bkj := range brow {
				orow[j] += aik * bkj
			}
		}
	}
	return out
}

// MatMul implements Engine.
func (p *PlainEngine) MatMul(x, y Value) (Value, error) {
	a, b, err := p.get2(x, y)
	if err != nil {
		return nil, err
	}
	if a.Cols != b.Rows {
		return nil, fmt.Errorf("plain engine: MatMul of %d×%d by %d×%d", a.Rows, a.Cols, b.Rows, b.Cols)
	}
	out := matMul(a, b)
	p.count(OpMatMul, OpStat{Elements: int64(len(out.Data)), Mults: int64(a.Rows * a.Cols * b.Cols)})
	return wrap(out), nil
}

// MatMulT implements Engine.
func (p *PlainEngine) MatMulT(x, y Value) (Value, error) {
	a, b, err := p.get2(x, y)
	if err != nil {
		return nil, err
	}
	if a.Cols != b.Cols {
		return nil, fmt.Errorf("plain engine: MatMulT of %d×%d by (%d×%d)ᵀ", a.Rows, a.Cols, b.Rows, b.Cols)
	}
	out := NewMatrix(a.Rows, b.Rows)
	for i := range a.Rows {
		arow := a.Data[i*a.Cols : (i+1)*a.Cols]
		for j := range b.Rows {
			brow := b.Data[j*b.Cols : (j+1)*b.Cols]
			var s float64
			for k, v := range arow {
				s += v * brow[k]
			}
			out.Data[i*out.Cols+j] = s
		}
	}
	p.count(OpMatMulT, OpStat{Elements: int64(len(out.Data)), Mults: int64(a.Rows * a.Cols * b.Rows)})
	return wrap(out), nil
}

// elementwise applies f to equal-shaped a and b.
func elementwise(op string, a, b Matrix, f func(x, y float64) float64) (Matrix, error) {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		return Matrix{}, fmt.Errorf("plain engine: %s of %d×%d and %d×%d", op, a.Rows, a.Cols, b.Rows, b.Cols)
	}
	out := NewMatrix(a.Rows, a.Cols)
	for i := range out.Data {
		out.Data[i] = f(a.Data[i], b.Data[i])
	}
	return out, nil
}

// Add implements Engine.
func (p *PlainEngine) Add(x, y Value) (Value, error) {
	a, b, err := p.get2(x, y)
	if err != nil {
		return nil, err
	}
	out, err := elementwise(OpAdd, a, b, func(x, y float64) float64 { return x + y })
	if err != nil {
		return nil, err
	}
	p.count(OpAdd, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

// AddPlain implements Engine.
func (p *PlainEngine) AddPlain(x Value, pl Matrix) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	out, err := elementwise(OpAddPlain, a, pl, func(x, y float64) float64 { return x + y })
	if err != nil {
		return nil, err
	}
	p.count(OpAddPlain, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

// Scale implements Engine.
func (p *PlainEngine) Scale(x Value, c float64) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	out := clone(a)
	for i := range out.Data {
		out.Data[i] *= c
	}
	p.count(OpScale, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

// MulElem implements Engine.
func (p *PlainEngine) MulElem(x, y Value) (Value, error) {
	a, b, err := p.get2(x, y)
	if err != nil {
		return nil, err
	}
	out, err := elementwise(OpMulElem, a, b, func(x, y float64) float64 { return x * y })
	if err != nil {
		return nil, err
	}
	p.count(OpMulElem, OpStat{Elements: int64(len(out.Data)), Mults: int64(len(out.Data))})
	return wrap(out), nil
}

// MulRows implements Engine.
func (p *PlainEngine) MulRows(x, s Value) (Value, error) {
	a, sc, err := p.get2(x, s)
	if err != nil {
		return nil, err
	}
	if sc.Rows != a.Rows || sc.Cols != 1 {
		return nil, fmt.Errorf("plain engine: MulRows of %d×%d by %d×%d (want %d×1)", a.Rows, a.Cols, sc.Rows, sc.Cols, a.Rows)
	}
	out := clone(a)
	for i := range out.Rows {
		for j := range out.Cols {
			out.Data[i*out.Cols+j] *= sc.Data[i]
		}
	}
	p.count(OpMulRows, OpStat{Elements: int64(len(out.Data)), Mults: int64(len(out.Data))})
	return wrap(out), nil
}

// RowSum implements Engine.
func (p *PlainEngine) RowSum(x Value) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	out := NewMatrix(a.Rows, 1)
	for i := range a.Rows {
		for _, v := range a.Data[i*a.Cols : (i+1)*a.Cols] {
			out.Data[i] += v
		}
	}
	p.count(OpRowSum, OpStat{Elements: int64(a.Rows)})
	return wrap(out), nil
}

// Degree is the degree of Σ coeffs[k]·x^k (the index of the last non-zero coefficient; 0 for a constant).
func Degree(coeffs []float64) int {
	for k := len(coeffs) - 1; k > 0; k-- {
		if coeffs[k] != 0 {
			return k
		}
	}
	return 0
}

// Poly implements Engine.
func (p *PlainEngine) Poly(x Value, coeffs []float64) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	if len(coeffs) == 0 {
		return nil, fmt.Errorf("plain engine: Poly with no coefficients")
	}
	deg := Degree(coeffs)
	out := NewMatrix(a.Rows, a.Cols)
	for i, v := range a.Data {
		y := coeffs[deg]
		for k := deg - 1; k >= 0; k-- {
			y = y*v + coeffs[k]
		}
		out.Data[i] = y
	}
	n := int64(len(out.Data))
	p.count(OpPoly, OpStat{Elements: n, Mults: int64(max(deg-1, 0)) * n})
	p.counts.PolyDegrees[deg] += n
	return wrap(out), nil
}

// unary applies f, counting inputs outside [lo, hi].
func (p *PlainEngine) unary(op string, x Value, lo, hi float64, f func(float64) float64) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	if !(lo > 0 && hi >= lo) {
		return nil, fmt.Errorf("plain engine: %s interval (%v, %v) is not positive", op, lo, hi)
	}
	out := NewMatrix(a.Rows, a.Cols)
	for i, v := range a.Data {
		if v <= 0 || math.IsNaN(v) {
			return nil, fmt.Errorf("plain engine: %s of %v (element %d)", op, v, i)
		}
		if v < lo || v > hi {
			p.outOfRange++
		}
		out.Data[i] = f(v)
	}
	p.count(op, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

// Reciprocal implements Engine (exact).
func (p *PlainEngine) Reciprocal(x Value, lo, hi float64) (Value, error) {
	return p.unary(OpReciprocal, x, lo, hi, func(v float64) float64 { return 1 / v })
}

// InvSqrt implements Engine (exact).
func (p *PlainEngine) InvSqrt(x Value, lo, hi float64) (Value, error) {
	return p.unary(OpInvSqrt, x, lo, hi, func(v float64) float64 { return 1 / math.Sqrt(v) })
}

// SliceCols implements Engine.
func (p *PlainEngine) SliceCols(x Value, lo, hi int) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	if lo < 0 || hi > a.Cols || lo >= hi {
		return nil, fmt.Errorf("plain engine: columns [%d, %d) of a %d×%d value", lo, hi, a.Rows, a.Cols)
	}
	out := NewMatrix(a.Rows, hi-lo)
	for i := range a.Rows {
		copy(out.Data[i*out.Cols:(i+1)*out.Cols], a.Data[i*a.Cols+lo:i*a.Cols+hi])
	}
	p.count(OpSliceCols, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

// ConcatCols implements Engine.
func (p *PlainEngine) ConcatCols(vs ...Value) (Value, error) {
	if len(vs) == 0 {
		return nil, fmt.Errorf("plain engine: ConcatCols of nothing")
	}
	ms := make([]Matrix, len(vs))
	cols := 0
	for i, v := range vs {
		m, err := p.get(v)
		if err != nil {
			return nil, err
		}
		if i > 0 && m.Rows != ms[0].Rows {
			return nil, fmt.Errorf("plain engine: ConcatCols of %d and %d rows", ms[0].Rows, m.Rows)
		}
		ms[i] = m
		cols += m.Cols
	}
	out := NewMatrix(ms[0].Rows, cols)
	for i := range out.Rows {
		at := i * cols
		for _, m := range ms {
			at += copy(out.Data[at:], m.Data[i*m.Cols:(i+1)*m.Cols])
		}
	}
	p.count(OpConcatCols, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

// SliceRows implements Engine.
func (p *PlainEngine) SliceRows(x Value, lo, hi int) (Value, error) {
	a, err := p.get(x)
	if err != nil {
		return nil, err
	}
	if lo < 0 || hi > a.Rows || lo >= hi {
		return nil, fmt.Errorf("plain engine: rows [%d, %d) of a %d×%d value", lo, hi, a.Rows, a.Cols)
	}
	out := Matrix{Rows: hi - lo, Cols: a.Cols, Data: slices.Clone(a.Data[lo*a.Cols : hi*a.Cols])}
	p.count(OpSliceRows, OpStat{Elements: int64(len(out.Data))})
	return wrap(out), nil
}

var _ Engine = (*PlainEngine)(nil)
