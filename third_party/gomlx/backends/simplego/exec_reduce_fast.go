package simplego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): float32 ReduceSum and ReduceMax over one contiguous run of
// axes (the last axis for LayerNorm and softmax statistics, leading axes for bias gradients) as plain loops over
// an [outer, reduced, inner] view, instead of reduceOutputIterator's per-element index arithmetic: rows summed with
// eight running sums (so the order of additions differs from the generic code's, within float32 rounding), rows
// added with the vector kernels, and large reductions split over goroutines.

// reduceContiguousView returns outer, reduced, inner sizes when reduceAxes are consecutive and increasing.
func reduceContiguousView(dims, reduceAxes []int) (outer, reduced, inner int, ok bool) {
	for i := 1; i < len(reduceAxes); i++ {
		if reduceAxes[i] != reduceAxes[i-1]+1 {
			return 0, 0, 0, false
		}
	}
	first, last := reduceAxes[0], reduceAxes[len(reduceAxes)-1]
	outer, reduced, inner = 1, 1, 1
	for ax, d := range dims {
		switch {
		case ax < first:
			outer *= d
		case ax <= last:
			reduced *= d
		default:
			inner *= d
		}
	}
	return outer, reduced, inner, true
}

// execReduceFastF32 computes the reduction into output and reports whether it could.
func execReduceFastF32(opType backends.OpType, operand, output *Buffer, reduceAxes []int) bool {
	if operand.shape.DType != dtypes.Float32 || (opType != backends.OpTypeReduceSum && opType != backends.OpTypeReduceMax) {
		return false
	}
	outer, reduced, inner, ok := reduceContiguousView(operand.shape.Dimensions, reduceAxes)
	if !ok {
		return false
	}
	x, out := operand.flat.([]float32), output.flat.([]float32)
	isMax := opType == backends.OpTypeReduceMax
	init := float32(0)
	if isMax {
		init = dtypes.Float32.LowestValue().(float32)
	}
	if inner == 1 {
		// One output per contiguous row: rows split over goroutines when there is enough work.
		parallelRows(outer, reduced, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				row := x[o*reduced : (o+1)*reduced]
				if isMax {
					out[o] = maxRowF32(row, init)
				} else {
					out[o] = sumRowF32(row)
				}
			}
		})
		return true
	}
	// Reduce leading/middle axes: accumulate whole rows of inner values (split over inner when large).
	parallelRows(inner, outer*reduced, func(lo, hi int) {
		for o := range outer {
			dst := out[o*inner+lo : o*inner+hi]
			for i := range dst {
				dst[i] = init
			}
			for r := range reduced {
				src := x[(o*reduced+r)*inner+lo : (o*reduced+r)*inner+hi]
				if isMax {
					for i, v := range src {
						dst[i] = max(dst[i], v)
					}
				} else if !binaryF32Vec('+', dst, src, dst, false) {
					for i, v := range src {
						dst[i] += v
					}
				}
			}
		}
	})
	return true
}

// parallelRows splits n items of cost each over goroutines when n·cost is large.
func parallelRows(n, cost int, fn func(lo, hi int)) {
	if n*cost < 1<<16 {
		fn(0, n)
		return
	}
	splitRanges(n, n, fn)
}

// sumRowF32 sums with eight independent accumulators (a single running sum is bound by the add latency).
func sumRowF32(row []float32) float32 {
	var a [8]float32
	n := len(row) &^ 7
	for i := 0; i < n; i += 8 {
		r := row[i : i+8 : i+8]
		a[0] += r[0]
		a[1] += r[1]
		a[2] += r[2]
		a[3] += r[3]
		a[4] += r[4]
		a[5] += r[5]
		a[6] += r[6]
		a[7] += r[7]
	}
	s := ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
	for _, v := range row[n:] {
		s += v
	}
	return s
}

// maxRowF32 is the maximum with eight independent accumulators; a NaN propagates as in the generic code.
func maxRowF32(row []float32, init float32) float32 {
	a := [8]float32{init, init, init, init, init, init, init, init}
	n := len(row) &^ 7
	for i := 0; i < n; i += 8 {
		r := row[i : i+8 : i+8]
		a[0] = max(a[0], r[0])
		a[1] = max(a[1], r[1])
		a[2] = max(a[2], r[2])
		a[3] = max(a[3], r[3])
		a[4] = max(a[4], r[4])
		a[5] = max(a[5], r[5])
		a[6] = max(a[6], r[6])
		a[7] = max(a[7], r[7])
	}
	m := max(max(max(a[0], a[1]), max(a[2], a[3])), max(max(a[4], a[5]), max(a[6], a[7])))
	for _, v := range row[n:] {
		m = max(m, v)
	}
	return m
}
