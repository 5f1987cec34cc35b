package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// The project's gomlx fork (third_party/gomlx) replaces SimpleGo's float32 DotGeneral by a packed GEMM and its
// broadcasting binary ops by a row-wise walk. These tests hold both to a plain Go reference computed here.

// refDotGeneral computes DotGeneral by its definition: out[batch..., lhsCross..., rhsCross...].
func refDotGeneral(l, r []float32, ld, rd []int, lc, lb, rc, rb []int) ([]float32, []int) {
	kind := func(rank int, c, b []int) []int {
		k := make([]int, rank)
		for _, a := range c {
			k[a] = 1
		}
		for _, a := range b {
			k[a] = 2
		}
		return k
	}
	lk, rk := kind(len(ld), lc, lb), kind(len(rd), rc, rb)
	var outDims []int
	for _, a := range lb {
		outDims = append(outDims, ld[a])
	}
	var lx, rx []int
	for a, k := range lk {
		if k == 0 {
			lx = append(lx, a)
			outDims = append(outDims, ld[a])
		}
	}
	for a, k := range rk {
		if k == 0 {
			rx = append(rx, a)
			outDims = append(outDims, rd[a])
		}
	}
	strides := func(d []int) []int {
		s := make([]int, len(d))
		acc := 1
		for i := len(d) - 1; i >= 0; i-- {
			s[i] = acc
			acc *= d[i]
		}
		return s
	}
	ls, rs := strides(ld), strides(rd)
	size := func(d []int) int {
		n := 1
		for _, v := range d {
			n *= v
		}
		return n
	}
	var cDims []int
	for _, a := range lc {
		cDims = append(cDims, ld[a])
	}
	out := make([]float32, size(outDims))
	os := strides(outDims)
	idx := make([]int, len(outDims))
	for o := range out {
		rem := o
		for i := range idx {
			idx[i] = rem / os[i]
			rem %= os[i]
		}
		lOff, rOff := 0, 0
		for i, a := range lb {
			lOff += idx[i] * ls[a]
			rOff += idx[i] * rs[rb[i]]
		}
		for i, a := range lx {
			lOff += idx[len(lb)+i] * ls[a]
		}
		for i, a := range rx {
			rOff += idx[len(lb)+len(lx)+i] * rs[a]
		}
		var sum float64
		cIdx := make([]int, len(cDims))
		for n := range size(cDims) {
			unravel(n, cDims, cIdx)
			lo, ro := lOff, rOff
			for i := range cDims {
				lo += cIdx[i] * ls[lc[i]]
				ro += cIdx[i] * rs[rc[i]]
			}
			sum += float64(l[lo]) * float64(r[ro])
		}
		out[o] = float32(sum)
	}
	return out, outDims
}

func TestPackedDotGeneralMatchesDefinition(t *testing.T) {
	cases := []dotCase{
		{name: "dense [N,d]·[d,f]", lhsDims: []int{37, 20}, rhsDims: []int{20, 45}, lc: []int{1}, rc: []int{0}},
		{name: "Aᵀ·B weight gradient", lhsDims: []int{300, 13}, rhsDims: []int{300, 40}, lc: []int{0}, rc: []int{0}},
		{name: "A·Bᵀ", lhsDims: []int{7, 33}, rhsDims: []int{50, 33}, lc: []int{1}, rc: []int{1}},
		{name: "multi-axis cross [B,T,d]·[d,H,h]", lhsDims: []int{3, 5, 8}, rhsDims: []int{8, 2, 9}, lc: []int{2}, rc: []int{0}},
		{name: "attention bqhd,bkhd (non-contiguous batch)", lhsDims: []int{2, 11, 3, 4}, rhsDims: []int{2, 13, 3, 4},
			lc: []int{3}, lb: []int{0, 2}, rc: []int{3}, rb: []int{0, 2}},
		{name: "two contracting axes", lhsDims: []int{6, 4, 5}, rhsDims: []int{4, 5, 7}, lc: []int{1, 2}, rc: []int{0, 1}},
		{name: "contracting axes listed out of order", lhsDims: []int{6, 4, 5}, rhsDims: []int{5, 4, 7}, lc: []int{2, 1}, rc: []int{0, 1}},
		{name: "batched, large enough to run in parallel", lhsDims: []int{4, 130, 70}, rhsDims: []int{4, 70, 150},
			lc: []int{2}, lb: []int{0}, rc: []int{1}, rb: []int{0}},
		{name: "wide output (several column blocks)", lhsDims: []int{9, 24}, rhsDims: []int{2100, 24}, lc: []int{1}, rc: []int{1}},
		{name: "long contraction (several k blocks)", lhsDims: []int{20, 700}, rhsDims: []int{700, 3}, lc: []int{1}, rc: []int{0}},
		{name: "size-1 axes", lhsDims: []int{1, 8, 1, 6}, rhsDims: []int{6, 1, 10}, lc: []int{3}, rc: []int{0}},
	}
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lhs, rhs := randomTensor(rng, c.lhsDims), randomTensor(rng, c.rhsDims)
			want, wantDims := refDotGeneral(tensors.MustCopyFlatData[float32](lhs), tensors.MustCopyFlatData[float32](rhs),
				c.lhsDims, c.rhsDims, c.lc, c.lb, c.rc, c.rb)
			for _, packed := range []bool{true, false} {
				simplego.DotGeneralPackedF32 = packed
				out := MustExecOnce(b, func(l, r *Node) *Node {
					return DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
				}, lhs, rhs)
				simplego.DotGeneralPackedF32 = true
				if got := out.Shape().Dimensions; !equalInts(got, wantDims) {
					t.Fatalf("packed=%v: shape %v, want %v", packed, got, wantDims)
				}
				got := tensors.MustCopyFlatData[float32](out)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("packed=%v: element %d = %v, want %v", packed, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBroadcastingBinaryOpsMatchDefinition checks the row-wise broadcasting of binary ops on the patterns the
// model uses (bias rows, LayerNorm statistics, attention masks, a scalar-sized operand) against indexing by hand.
func TestBroadcastingBinaryOpsMatchDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	cases := []struct{ lhs, rhs []int }{
		{[]int{6, 5}, []int{1, 5}},             // bias
		{[]int{6, 5}, []int{6, 1}},             // per-row statistic
		{[]int{2, 3, 4, 5}, []int{2, 1, 1, 5}}, // attention mask
		{[]int{1, 5}, []int{4, 5}},             // broadcast lhs
		{[]int{4, 1}, []int{1, 7}},             // outer
		{[]int{7}, []int{1}},                   // size-1 operand
		{[]int{3, 1, 4}, []int{3, 2, 1}},       // both broadcast, middle and last axes
	}
	for _, c := range cases {
		l, r := randomTensor(rng, c.lhs), randomTensor(rng, c.rhs)
		outDims := make([]int, len(c.lhs))
		for i := range outDims {
			outDims[i] = max(c.lhs[i], c.rhs[i])
		}
		ld, rd := tensors.MustCopyFlatData[float32](l), tensors.MustCopyFlatData[float32](r)
		index := func(dims, idx []int) int {
			off := 0
			for i, d := range dims {
				off = off*d + min(idx[i], d-1)
			}
			return off
		}
		for _, op := range []struct {
			name string
			f    func(a, b *Node) *Node
			ref  func(a, b float32) float32
		}{
			{"Add", Add, func(a, b float32) float32 { return a + b }},
			{"Sub", Sub, func(a, b float32) float32 { return a - b }},
			{"Mul", Mul, func(a, b float32) float32 { return a * b }},
			{"Div", Div, func(a, b float32) float32 { return a / b }},
			{"Max", Max, func(a, b float32) float32 { return max(a, b) }},
		} {
			got := tensors.MustCopyFlatData[float32](MustExecOnce(b, op.f, l, r))
			idx := make([]int, len(outDims))
			for o := range got {
				unravel(o, outDims, idx)
				if want := op.ref(ld[index(c.lhs, idx)], rd[index(c.rhs, idx)]); got[o] != want {
					t.Fatalf("%s %v with %v: element %d = %v, want %v", op.name, c.lhs, c.rhs, o, got[o], want)
				}
			}
		}
	}
}

// TestReductionsMatchDefinition checks ReduceSum and ReduceMax over contiguous and non-contiguous axis sets.
func TestReductionsMatchDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	dims := []int{3, 4, 5, 6}
	x := randomTensor(rng, dims)
	xd := tensors.MustCopyFlatData[float32](x)
	for _, axes := range [][]int{{3}, {0}, {1, 2}, {0, 1, 2, 3}, {0, 2}, {1, 3}} {
		reduced := map[int]bool{}
		for _, a := range axes {
			reduced[a] = true
		}
		var outDims []int
		for a, d := range dims {
			if !reduced[a] {
				outDims = append(outDims, d)
			}
		}
		n := 1
		for _, d := range outDims {
			n *= d
		}
		wantSum, wantMax := make([]float64, n), make([]float32, n)
		for i := range wantMax {
			wantMax[i] = float32(math.Inf(-1))
		}
		idx := make([]int, len(dims))
		for flat, v := range xd {
			unravel(flat, dims, idx)
			o := 0
			for a, d := range dims {
				if !reduced[a] {
					o = o*d + idx[a]
				}
			}
			wantSum[o] += float64(v)
			wantMax[o] = max(wantMax[o], v)
		}
		gotSum := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceSum(x, axes...) }, x))
		gotMax := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceMax(x, axes...) }, x))
		for i := range n {
			if math.Abs(float64(gotSum[i])-wantSum[i]) > 1e-4 || gotMax[i] != wantMax[i] {
				t.Fatalf("axes %v, output %d: sum %v max %v, want %v and %v", axes, i, gotSum[i], gotMax[i], wantSum[i], wantMax[i])
			}
		}
	}
}

// TestErfFloat32Accuracy bounds the float32 Erf against math.Erf over the range GELU sees and beyond.
func TestErfFloat32Accuracy(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	n := 200001
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(-10 + 20*float64(i)/float64(n-1))
	}
	got := tensors.MustCopyFlatData[float32](MustExecOnce(b, Erf, tensors.FromFlatDataAndDimensions(xs, n)))
	worst := 0.0
	for i, x := range xs {
		worst = max(worst, math.Abs(float64(got[i])-math.Erf(float64(x))))
	}
	if worst > 5e-7 {
		t.Fatalf("float32 Erf differs from math.Erf by up to %.3g, want ≤ 5e-7", worst)
	}
}

// TestBroadcastToDimsMatchesDefinition covers the explicit broadcast op on leading, middle and trailing axes.
func TestBroadcastToDimsMatchesDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct{ from, to []int }{
		{[]int{1, 4}, []int{5, 4}}, {[]int{5, 1}, []int{5, 4}}, {[]int{2, 1, 3}, []int{2, 6, 3}},
		{[]int{1, 3, 1}, []int{2, 3, 4}}, {[]int{1}, []int{7}},
	} {
		x := randomTensor(rng, c.from)
		xd := tensors.MustCopyFlatData[float32](x)
		got := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return BroadcastToDims(x, c.to...) }, x))
		idx := make([]int, len(c.to))
		for o, v := range got {
			unravel(o, c.to, idx)
			src := 0
			for i, d := range c.from {
				src = src*d + min(idx[i], d-1)
			}
			if v != xd[src] {
				t.Fatalf("%v → %v: element %d = %v, want %v", c.from, c.to, o, v, xd[src])
			}
		}
	}
}

// TestLargeElementwiseOpsMatchDefinition covers the sizes at which element-wise ops are split over goroutines:
// same-shape and scalar operands, both operand orders of the non-commutative ops, and Exp's accuracy.
func TestLargeElementwiseOpsMatchDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(15, 16))
	n := 3*(1<<15) + 17
	x, y := randomTensor(rng, []int{n}), randomTensor(rng, []int{n})
	s := randomTensor(rng, []int{})
	xd, yd, sd := tensors.MustCopyFlatData[float32](x), tensors.MustCopyFlatData[float32](y), tensors.MustCopyFlatData[float32](s)[0]
	check := func(name string, got []float32, want func(i int) float32) {
		t.Helper()
		for i, v := range got {
			if w := want(i); v != w {
				t.Fatalf("%s: element %d = %v, want %v", name, i, v, w)
			}
		}
	}
	check("x-y", tensors.MustCopyFlatData[float32](MustExecOnce(b, Sub, x, y)), func(i int) float32 { return xd[i] - yd[i] })
	check("x/s", tensors.MustCopyFlatData[float32](MustExecOnce(b, Div, x, s)), func(i int) float32 { return xd[i] / sd })
	check("s-x", tensors.MustCopyFlatData[float32](MustExecOnce(b, Sub, s, x)), func(i int) float32 { return sd - xd[i] })
	check("s/x", tensors.MustCopyFlatData[float32](MustExecOnce(b, Div, s, x)), func(i int) float32 { return sd / xd[i] })
	check("x*y", tensors.MustCopyFlatData[float32](MustExecOnce(b, Mul, x, y)), func(i int) float32 { return xd[i] * yd[i] })

	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(-110 + 220*float64(i)/float64(n-1))
	}
	xs[0], xs[1], xs[2] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	got := tensors.MustCopyFlatData[float32](MustExecOnce(b, Exp, tensors.FromFlatDataAndDimensions(xs, n)))
	for i, v := range xs {
		want := float32(math.Exp(float64(v)))
		switch {
		case math.IsNaN(float64(v)):
			if !math.IsNaN(float64(got[i])) {
				t.Fatalf("Exp(NaN) = %v", got[i])
			}
		case math.IsInf(float64(want), 0) || want == 0:
			if got[i] != want {
				t.Fatalf("Exp(%v) = %v, want %v", v, got[i], want)
			}
		case want >= math.SmallestNonzeroFloat32*(1<<23): // normal range: relative error
			if rel := math.Abs(float64(got[i]-want)) / float64(want); rel > 4e-7 {
				t.Fatalf("Exp(%v) = %v, want %v (relative error %.3g)", v, got[i], want, rel)
			}
		default: // subnormal: absolute error of a few units in the last place
			if math.Abs(float64(got[i]-want)) > 4*math.SmallestNonzeroFloat32 {
				t.Fatalf("Exp(%v) = %v, want %v", v, got[i], want)
			}
		}
	}
}

// TestTransposeMatchesDefinition checks every permutation of a rank-4 tensor (and a rank-2 one).
func TestTransposeMatchesDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(17, 18))
	var perms [][]int
	var gen func(prefix []int, left []int)
	gen = func(prefix, left []int) {
		if len(left) == 0 {
			perms = append(perms, append([]int(nil), prefix...))
			return
		}
		for i, v := range left {
			rest := append(append([]int(nil), left[:i]...), left[i+1:]...)
			gen(append(prefix, v), rest)
		}
	}
	gen(nil, []int{0, 1, 2, 3})
	perms = append(perms, []int{1, 0})
	for _, perm := range perms {
		dims := []int{2, 3, 4, 5}[:len(perm)]
		x := randomTensor(rng, dims)
		xd := tensors.MustCopyFlatData[float32](x)
		got := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return TransposeAllAxes(x, perm...) }, x))
		outDims := make([]int, len(perm))
		for i, p := range perm {
			outDims[i] = dims[p]
		}
		idx := make([]int, len(perm))
		for o, v := range got {
			unravel(o, outDims, idx)
			src := make([]int, len(dims))
			for i, p := range perm {
				src[p] = idx[i]
			}
			flat := 0
			for i, d := range dims {
				flat = flat*d + src[i]
			}
			if v != xd[flat] {
				t.Fatalf("perm %v: element %d = %v, want %v", perm, o, v, xd[flat])
			}
		}
	}
}

// TestGatherRowsMatchDefinition checks the row gathers the model makes (token embeddings, [CLS] positions) and a
// gather of single elements.
func TestGatherRowsMatchDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(19, 20))
	table := randomTensor(rng, []int{50, 7})
	td := tensors.MustCopyFlatData[float32](table)
	ids := make([]int32, 3*5)
	for i := range ids {
		ids[i] = rng.Int32N(50)
	}
	idx := tensors.FromFlatDataAndDimensions(ids, 3, 5, 1)
	got := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(tb, ix *Node) *Node { return Gather(tb, ix) }, table, idx))
	for r, id := range ids {
		for j := range 7 {
			if got[r*7+j] != td[int(id)*7+j] {
				t.Fatalf("row %d (id %d) column %d = %v, want %v", r, id, j, got[r*7+j], td[int(id)*7+j])
			}
		}
	}
	// Single elements of a 2-D table: both coordinates given.
	coords := tensors.FromFlatDataAndDimensions([]int32{3, 4, 49, 6, 0, 0}, 3, 2)
	got = tensors.MustCopyFlatData[float32](MustExecOnce(b, func(tb, ix *Node) *Node { return Gather(tb, ix) }, table, coords))
	for i, want := range []float32{td[3*7+4], td[49*7+6], td[0]} {
		if got[i] != want {
			t.Fatalf("element %d = %v, want %v", i, got[i], want)
		}
	}
}

// TestLargeReductionsMatchDefinition covers reductions big enough to be split over goroutines and rows long enough
// for the multi-accumulator loops, and NaN propagation through ReduceMax.
func TestLargeReductionsMatchDefinition(t *testing.T) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	rows, cols := 40, 3003
	x := randomTensor(rng, []int{rows, cols})
	xd := tensors.MustCopyFlatData[float32](x)
	sumLast := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceSum(x, 1) }, x))
	maxLast := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceMax(x, 1) }, x))
	for r := range rows {
		var s float64
		m := float32(math.Inf(-1))
		for c := range cols {
			s += float64(xd[r*cols+c])
			m = max(m, xd[r*cols+c])
		}
		if math.Abs(float64(sumLast[r])-s) > 1e-3 || maxLast[r] != m {
			t.Fatalf("row %d: sum %v max %v, want %v and %v", r, sumLast[r], maxLast[r], s, m)
		}
	}
	sumFirst := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceSum(x, 0) }, x))
	maxFirst := tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceMax(x, 0) }, x))
	for c := range cols {
		var s float64
		m := float32(math.Inf(-1))
		for r := range rows {
			s += float64(xd[r*cols+c])
			m = max(m, xd[r*cols+c])
		}
		if math.Abs(float64(sumFirst[c])-s) > 1e-4 || maxFirst[c] != m {
			t.Fatalf("column %d: sum %v max %v, want %v and %v", c, sumFirst[c], maxFirst[c], s, m)
		}
	}
	xd[5*cols+17] = float32(math.NaN())
	withNaN := tensors.FromFlatDataAndDimensions(xd, rows, cols)
	maxLast = tensors.MustCopyFlatData[float32](MustExecOnce(b, func(x *Node) *Node { return ReduceMax(x, 1) }, withNaN))
	if !math.IsNaN(float64(maxLast[5])) || math.IsNaN(float64(maxLast[4])) {
		t.Fatalf("ReduceMax with a NaN in row 5: %v (row 4: %v), want NaN only in row 5", maxLast[5], maxLast[4])
	}
}

// unravel writes the row-major index of flat position flat in a tensor of dims into idx.
func unravel(flat int, dims, idx []int) {
	for i := len(dims) - 1; i >= 0; i-- {
		idx[i] = flat % dims[i]
		flat /= dims[i]
	}
}
