package simplego

import (
	"math"
	"runtime"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): large float32 element-wise ops split over GOMAXPROCS
// goroutines (same-shape and scalar binary ops, Exp), and a float32 Exp by range reduction and a polynomial
// instead of math.Exp on float64. In profiles of a fine-tuning step these ran on one core while the other idled.

// parallelMinElements is the size from which an element-wise op is split; below it a goroutine costs more than
// it saves.
const parallelMinElements = 1 << 15

// parallelRanges calls fn on [lo, hi) pieces covering [0, n), concurrently when n is large.
func parallelRanges(n int, fn func(lo, hi int)) {
	if n < parallelMinElements {
		fn(0, n)
		return
	}
	splitRanges(n, n/(parallelMinElements/2), fn)
}

// splitRanges calls fn on at most min(pieces, GOMAXPROCS) equal pieces of [0, n), the first on the calling
// goroutine, and waits for all of them.
func splitRanges(n, pieces int, fn func(lo, hi int)) {
	pieces = min(pieces, runtime.GOMAXPROCS(0), n)
	if pieces <= 1 {
		fn(0, n)
		return
	}
	step := (n + pieces - 1) / pieces
	var wg sync.WaitGroup
	for lo := step; lo < n; lo += step {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, min(n, lo+step))
		}()
	}
	fn(0, min(n, step))
	wg.Wait()
}

// binaryF32Fn is the signature of the generated float32 binary kernels (gen_exec_binary.go).
type binaryF32Fn = func(lhs, rhs, output []float32, lhsShape, rhsShape, outputShape shapes.Shape)

// parallelBinaryF32 runs fn in pieces when both operands have the output's shape or rhs is a single value (the
// kernels' no-broadcast cases, where a piece of the output depends only on the same piece of the operands).
// op ('+', '-', '*', '/', or 0 for none) selects the vectorised kernel (exec_simd_amd64.go) for those cases.
func parallelBinaryF32(op byte, fn binaryF32Fn, lhs, rhs, output []float32, lhsShape, rhsShape, outputShape shapes.Shape) {
	sameShape := lhsShape.Equal(rhsShape) && len(lhs) == len(output)
	scalar := !sameShape && len(rhs) == 1 && len(lhs) == len(output)
	if !sameShape && !scalar {
		if op == 0 || !hasAVX2FMA || !broadcastRowsF32(op, lhs, rhs, output, lhsShape, rhsShape, outputShape) {
			fn(lhs, rhs, output, lhsShape, rhsShape, outputShape)
		}
		return
	}
	if op != 0 && hasAVX2FMA {
		parallelRanges(len(output), func(lo, hi int) {
			piece := shapes.Make(dtypes.Float32, hi-lo)
			r, rShape := rhs, rhsShape
			if sameShape {
				r, rShape = rhs[lo:hi], piece
			}
			if !binaryF32Vec(op, lhs[lo:hi], r, output[lo:hi], scalar) {
				fn(lhs[lo:hi], r, output[lo:hi], piece, rShape, piece)
			}
		})
		return
	}
	if len(output) < parallelMinElements {
		fn(lhs, rhs, output, lhsShape, rhsShape, outputShape)
		return
	}
	parallelRanges(len(output), func(lo, hi int) {
		piece := shapes.Make(dtypes.Float32, hi-lo)
		r, rShape := rhs, rhsShape
		if sameShape {
			r, rShape = rhs[lo:hi], piece
		}
		fn(lhs[lo:hi], r, output[lo:hi], piece, rShape, piece)
	})
}

// expF32 is e^x in float32: x = k·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial (relative error below
// 2e-7 on that interval), scaled by 2^k through the exponent bits. Overflow gives +Inf, underflow 0, NaN NaN.
func expF32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const ln2Hi, ln2Lo, log2e = 0.693145751953125, 1.428606765330187e-06, 1.4426950408889634
	k := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - k*ln2Hi - k*ln2Lo
	p := float32(1.0/720)*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	ki := int32(k)
	if ki < -125 { // subnormal result: scale in two steps
		return p * math.Float32frombits(uint32(ki+125+127)<<23) * math.Float32frombits(uint32(-125+127)<<23)
	}
	if ki > 127 {
		return p * math.Float32frombits(uint32(ki-1+127)<<23) * 2
	}
	return p * math.Float32frombits(uint32(ki+127)<<23)
}

func expF32Slice(in, out []float32) {
	parallelRanges(len(in), func(lo, hi int) {
		expF32Vec(in[lo:hi], out[lo:hi])
	})
}

// scalarOp is the tail of binaryF32Vec.
func scalarOp(op byte, a, b float32) float32 {
	switch op {
	case '+':
		return a + b
	case '-':
		return a - b
	case '*':
		return a * b
	default:
		return a / b
	}
}

// broadcastRowsF32 runs a broadcasting binary op a row (the output's last axis) at a time with the vector kernels,
// when every row has lhs stepping along it and rhs stepping or constant (bias adds, LayerNorm statistics, masks).
// It reports false, having written nothing, when the pattern does not fit.
func broadcastRowsF32(op byte, lhs, rhs, output []float32, lhsShape, rhsShape, outputShape shapes.Shape) bool {
	rank := outputShape.Rank()
	if rank == 0 || lhsShape.Rank() != rank || rhsShape.Rank() != rank {
		return false
	}
	rowLen := outputShape.Dimensions[rank-1]
	if rowLen < 16 {
		return false
	}
	lhsRows, rhsRows := newRowBroadcast(lhsShape, outputShape), newRowBroadcast(rhsShape, outputShape)
	if lhsRows.step != 1 {
		return false
	}
	for rowStart := 0; rowStart < len(output); rowStart += rowLen {
		l, r := lhsRows.next(), rhsRows.next()
		out := output[rowStart : rowStart+rowLen]
		if rhsRows.step == 1 {
			binaryF32Vec(op, lhs[l:l+rowLen], rhs[r:r+rowLen], out, false)
		} else {
			binaryF32Vec(op, lhs[l:l+rowLen], rhs[r:r+1], out, true)
		}
	}
	return true
}
