package simplego

import "github.com/gomlx/gomlx/pkg/core/dtypes"

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): float32 Transpose walks the operand in order one row (its
// last axis) at a time, writing each row with a fixed output stride, instead of calling transposeIterator.next
// per element (attention's head transposes were ~10% of a fine-tuning step in profiles). When the last axis does
// not move, rows are copied whole.
func transposeFastF32(operand, output *Buffer, permutations []int) bool {
	if operand.shape.DType != dtypes.Float32 || operand.shape.Rank() < 2 {
		return false
	}
	dims := operand.shape.Dimensions
	rank := len(dims)
	// Output strides, and for every operand axis the output stride it moves along.
	outStrides := make([]int, rank)
	stride := 1
	for ax := rank - 1; ax >= 0; ax-- {
		outStrides[ax] = stride
		stride *= dims[permutations[ax]]
	}
	strideOf := make([]int, rank) // per operand axis
	for outAx, opAx := range permutations {
		strideOf[opAx] = outStrides[outAx]
	}
	in, out := operand.flat.([]float32), output.flat.([]float32)
	rowLen, rowStride := dims[rank-1], strideOf[rank-1]
	idx := make([]int, rank-1)
	outBase := 0
	for rowStart := 0; rowStart < len(in); rowStart += rowLen {
		row := in[rowStart : rowStart+rowLen]
		if rowStride == 1 {
			copy(out[outBase:outBase+rowLen], row)
		} else {
			o := outBase
			for _, v := range row {
				out[o] = v
				o += rowStride
			}
		}
		// Advance the leading-axes index (odometer) and the output base offset.
		for ax := rank - 2; ax >= 0; ax-- {
			idx[ax]++
			outBase += strideOf[ax]
			if idx[ax] < dims[ax] {
				break
			}
			outBase -= strideOf[ax] * dims[ax]
			idx[ax] = 0
		}
	}
	return true
}
