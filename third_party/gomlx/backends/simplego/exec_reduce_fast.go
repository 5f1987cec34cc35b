package simplego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): float32 ReduceSum and ReduceMax over one contiguous run of
// axes (the last axis for LayerNorm and softmax statistics, leading axes for bias gradients) as plain loops over
// an [outer, reduced, inner] view, instead of reduceOutputIterator's per-element index arithmetic. Values are
// accumulated in the same order as the generic code, so results are identical.

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
	for i := range out {
		out[i] = init
	}
	if inner == 1 {
		for o := range outer {
			row := x[o*reduced : (o+1)*reduced]
			acc := init
			if isMax {
				for _, v := range row {
					acc = max(acc, v)
				}
			} else {
				for _, v := range row {
					acc += v
				}
			}
			out[o] = acc
		}
		return true
	}
	for o := range outer {
		dst := out[o*inner : (o+1)*inner]
		for r := range reduced {
			src := x[(o*reduced+r)*inner : (o*reduced+r+1)*inner]
			if isMax {
				for i, v := range src {
					dst[i] = max(dst[i], v)
				}
			} else {
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	}
	return true
}
