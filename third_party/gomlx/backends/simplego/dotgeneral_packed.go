package simplego

// CypherTalk-Go patch (see third_party/gomlx/PATCHES.md): a packed, register-blocked float32 GEMM for DotGeneral.
//
// The stock kernels (dotgeneral_small.go, dotgeneral_large.go) are scalar Go. This path packs the operands into
// panels (A: mr rows × kc, B: nr columns × kc, the classic Goto/BLIS layout) and runs an mr×nr micro-kernel
// (AVX2+FMA assembly on amd64 where the CPU has it, plain Go elsewhere), reading either operand through strides
// when its batch, cross and contracting axes are each one contiguous run (no transposed copy), and splitting the
// work over goroutines when it is large enough. Output layout and semantics are DotGeneral's:
// out[b, i, j] = Σ_k lhs[b, i, k] · rhs[b, j, k] on the [batch, cross, contracting] views.

import (
	"runtime"
	"sync"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

const (
	packedMR = 6
	packedNR = 16
	packedKC = 256
	packedMC = 96   // multiple of packedMR
	packedNC = 1024 // multiple of packedNR
	// packedMinParallelFlops is the work below which the packed path runs on one goroutine.
	packedMinParallelFlops = 1 << 20
)

// DotGeneralPackedF32 enables the packed float32 path (on by default; tests turn it off to compare).
var DotGeneralPackedF32 = true

// dgView addresses one operand as [batch, cross, contracting] without copying it: the flat offset of element
// (b, i, k) is batch[b] + cross[i] + contract[k]. crossUnit / contractUnit mark tables that step by 1, which
// packing copies as runs.
type dgView struct {
	data                    []float32
	batch, cross, contract  []int
	crossUnit, contractUnit bool
}

// axisOffsets enumerates, row-major over axes (in the order given), the flat offsets of the operand's elements.
func axisOffsets(dims, strides, axes []int) []int {
	out := []int{0}
	for _, ax := range axes {
		next := make([]int, 0, len(out)*dims[ax])
		for _, o := range out {
			for j := range dims[ax] {
				next = append(next, o+j*strides[ax])
			}
		}
		out = next
	}
	return out
}

func unitStep(offs []int) bool {
	for j := 1; j < len(offs); j++ {
		if offs[j] != offs[j-1]+1 {
			return false
		}
	}
	return true
}

// newDGView builds the offset tables of an operand with the given contracting and batch axes; cross axes are the
// rest, in increasing order (DotGeneral's output order).
func newDGView(dims, contractingAxes, batchAxes []int, data []float32) dgView {
	rank := len(dims)
	strides := make([]int, rank)
	acc := 1
	for ax := rank - 1; ax >= 0; ax-- {
		strides[ax] = acc
		acc *= dims[ax]
	}
	isOther := make([]bool, rank)
	for _, ax := range contractingAxes {
		isOther[ax] = true
	}
	for _, ax := range batchAxes {
		isOther[ax] = true
	}
	var crossAxes []int
	for ax := range rank {
		if !isOther[ax] {
			crossAxes = append(crossAxes, ax)
		}
	}
	v := dgView{data: data, batch: axisOffsets(dims, strides, batchAxes), cross: axisOffsets(dims, strides, crossAxes),
		contract: axisOffsets(dims, strides, contractingAxes)}
	v.crossUnit, v.contractUnit = unitStep(v.cross), unitStep(v.contract)
	return v
}

// execDotGeneralPackedF32 computes the DotGeneral into output ([batch, lhsCross, rhsCross]; every element is
// written, so it need not be zeroed).
func execDotGeneralPackedF32(lhs, rhs *Buffer, params *dotGeneralNodeData, output *Buffer) {
	B, M, N, K := params.batchSize, params.lhsCrossSize, params.rhsCrossSize, params.contractingSize
	a := newDGView(lhs.shape.Dimensions, params.lhsContractingAxes, params.lhsBatchAxes, lhs.flat.([]float32))
	b := newDGView(rhs.shape.Dimensions, params.rhsContractingAxes, params.rhsBatchAxes, rhs.flat.([]float32))
	packedGEMM(B, M, N, K, a, b, output.flat.([]float32))
}

// packedTask is one independent piece of a GEMM: batch item, a range of C's rows and a block of its columns.
type packedTask struct{ b, i0, i1, j0, j1 int }

// packedGEMM computes c[b] = a[b]·b[b]ᵀ for every batch item, with c row-major [B, M, N].
func packedGEMM(B, M, N, K int, a, b dgView, c []float32) {
	var tasks []packedTask
	for bi := range B {
		for j0 := 0; j0 < N; j0 += packedNC {
			tasks = append(tasks, packedTask{b: bi, i0: 0, i1: M, j0: j0, j1: min(N, j0+packedNC)})
		}
	}
	workers := runtime.GOMAXPROCS(0)
	flops := 2 * B * M * N * K
	if workers > 1 && flops >= packedMinParallelFlops && len(tasks) < workers {
		// Too few tasks to keep every core busy: split each along M (each piece re-packs its block of B) or,
		// when B's side is the larger, along N (each piece re-packs A), so that the duplicated packing is the
		// smaller operand's.
		parts := (workers + len(tasks) - 1) / len(tasks)
		var split []packedTask
		for _, t := range tasks {
			if M >= t.j1-t.j0 {
				rows := ((M+parts-1)/parts + packedMR - 1) / packedMR * packedMR
				for i0 := 0; i0 < M; i0 += rows {
					split = append(split, packedTask{b: t.b, i0: i0, i1: min(M, i0+rows), j0: t.j0, j1: t.j1})
				}
			} else {
				cols := ((t.j1-t.j0+parts-1)/parts + packedNR - 1) / packedNR * packedNR
				for j0 := t.j0; j0 < t.j1; j0 += cols {
					split = append(split, packedTask{b: t.b, i0: 0, i1: M, j0: j0, j1: min(t.j1, j0+cols)})
				}
			}
		}
		tasks = split
	}
	if workers <= 1 || flops < packedMinParallelFlops || len(tasks) == 1 {
		ws := getPackedWorkspace()
		for _, t := range tasks {
			packedRun(t, M, N, K, a, b, c, ws)
		}
		putPackedWorkspace(ws)
		return
	}
	var wg sync.WaitGroup
	next := make(chan packedTask, len(tasks))
	for _, t := range tasks {
		next <- t
	}
	close(next)
	for range min(workers, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := getPackedWorkspace()
			for t := range next {
				packedRun(t, M, N, K, a, b, c, ws)
			}
			putPackedWorkspace(ws)
		}()
	}
	wg.Wait()
}

type packedWorkspace struct {
	ap   []float32 // packedMC × packedKC
	bp   []float32 // packedNC × packedKC
	tile [packedMR * packedNR]float32
}

var packedPool = sync.Pool{New: func() any {
	return &packedWorkspace{ap: make([]float32, packedMC*packedKC), bp: make([]float32, packedNC*packedKC)}
}}

func getPackedWorkspace() *packedWorkspace  { return packedPool.Get().(*packedWorkspace) }
func putPackedWorkspace(w *packedWorkspace) { packedPool.Put(w) }

// packedRun computes one task: rows [i0,i1) × columns [j0,j1) of batch item t.b.
func packedRun(t packedTask, M, N, K int, a, b dgView, c []float32, ws *packedWorkspace) {
	aBase, bBase := a.batch[t.b], b.batch[t.b]
	cBase := t.b * M * N
	nb := t.j1 - t.j0
	for p0 := 0; p0 < K; p0 += packedKC {
		kc := min(packedKC, K-p0)
		// Pack B[j0:j1, p0:p0+kc] into panels of packedNR columns: panel q holds [kc][packedNR].
		packB(ws.bp, b, bBase, t.j0, nb, p0, kc)
		for ic := t.i0; ic < t.i1; ic += packedMC {
			mb := min(packedMC, t.i1-ic)
			packA(ws.ap, a, aBase, ic, mb, p0, kc)
			for jr := 0; jr < nb; jr += packedNR {
				bp := ws.bp[(jr/packedNR)*packedNR*kc:]
				nn := min(packedNR, nb-jr)
				for ir := 0; ir < mb; ir += packedMR {
					ap := ws.ap[(ir/packedMR)*packedMR*kc:]
					mm := min(packedMR, mb-ir)
					cOff := cBase + (ic+ir)*N + t.j0 + jr
					acc := p0 > 0 // the first contracting block stores, later ones add
					if mm == packedMR && nn == packedNR {
						kernel6x16(kc, ap, bp, c[cOff:], N, acc)
						continue
					}
					kernel6x16(kc, ap, bp, ws.tile[:], packedNR, false)
					for i := range mm {
						row := c[cOff+i*N : cOff+i*N+nn]
						tile := ws.tile[i*packedNR : i*packedNR+nn]
						if !acc {
							copy(row, tile)
							continue
						}
						for j := range row {
							row[j] += tile[j]
						}
					}
				}
			}
		}
	}
}

// packA writes rows [i0, i0+mb) × contracting [p0, p0+kc) of a as panels of packedMR rows, [kc][packedMR] each,
// zero-padding the last panel's missing rows.
func packA(dst []float32, a dgView, base, i0, mb, p0, kc int) {
	packPanels(dst, a, base, i0, mb, p0, kc, packedMR)
}

// packB writes columns [j0, j0+nb) × contracting [p0, p0+kc) of b as panels of packedNR columns, [kc][packedNR]
// each, zero-padding the last panel's missing columns.
func packB(dst []float32, b dgView, base, j0, nb, p0, kc int) {
	packPanels(dst, b, base, j0, nb, p0, kc, packedNR)
}

// packPanels packs cross indices [x0, x0+n) × contracting [p0, p0+kc) into panels of width w: [kc][w] each.
func packPanels(dst []float32, v dgView, base, x0, n, p0, kc, w int) {
	contract := v.contract[p0 : p0+kc]
	for r := 0; r < n; r += w {
		panel := dst[(r/w)*w*kc : (r/w+1)*w*kc]
		nn := min(w, n-r)
		cross := v.cross[x0+r : x0+r+nn]
		switch {
		case v.crossUnit:
			// The panel's rows are adjacent in memory: each contracting step copies a run of nn values.
			for p, c := range contract {
				src := base + cross[0] + c
				dp := panel[p*w : p*w+w]
				for i, x := range v.data[src : src+nn] { // runs of ≤ 16: a loop beats copy's call
					dp[i] = x
				}
				clear(dp[nn:])
			}
		case v.contractUnit && nn == packedMR && w == packedMR:
			// A full 6-row panel: read the six rows side by side so the panel is written in order.
			off := base + contract[0]
			r0 := v.data[off+cross[0] : off+cross[0]+kc]
			r1 := v.data[off+cross[1] : off+cross[1]+kc]
			r2 := v.data[off+cross[2] : off+cross[2]+kc]
			r3 := v.data[off+cross[3] : off+cross[3]+kc]
			r4 := v.data[off+cross[4] : off+cross[4]+kc]
			r5 := v.data[off+cross[5] : off+cross[5]+kc]
			for p := range kc {
				d := panel[p*6 : p*6+6 : p*6+6]
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
		case v.contractUnit:
			rows := make([][]float32, nn)
			for i, x := range cross {
				rows[i] = v.data[base+x+contract[0] : base+x+contract[0]+kc]
			}
			for p := range kc {
				d := panel[p*w : p*w+w]
				for i, row := range rows {
					d[i] = row[p]
				}
				clear(d[nn:])
			}
		default:
			for p, c := range contract {
				dp := panel[p*w : p*w+w]
				for i, x := range cross {
					dp[i] = v.data[base+x+c]
				}
				clear(dp[nn:])
			}
		}
	}
}

// kernel6x16Go is the portable micro-kernel: c[i*ldc+j] += Σ_p a[p*6+i]·b[p*16+j] for a 6×16 tile (= instead
// of += when acc is false).
func kernel6x16Go(kc int, a, b, c []float32, ldc int, acc bool) {
	var sums [packedMR][packedNR]float32
	for p := range kc {
		bp := b[p*packedNR : p*packedNR+packedNR]
		ap := a[p*packedMR : p*packedMR+packedMR]
		for i, av := range ap {
			row := &sums[i]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := range packedMR {
		row := c[i*ldc : i*ldc+packedNR]
		if !acc {
			copy(row, sums[i][:])
			continue
		}
		for j := range row {
			row[j] += sums[i][j]
		}
	}
}

// usePackedF32 tells whether a DotGeneral of this dtype takes the packed path.
func usePackedF32(dtype dtypes.DType) bool { return DotGeneralPackedF32 && dtype == dtypes.Float32 }
