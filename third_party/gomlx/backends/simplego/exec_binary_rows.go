package simplego

import "github.com/gomlx/gomlx/pkg/core/shapes"

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): broadcasting binary ops walk the output one row (its last
// axis) at a time, so the per-element work is an add of 0 or 1 to each operand's index instead of a call to
// broadcastIterator.Next (which dominated LayerNorm, bias adds and attention masking in profiles).

// rowBroadcast yields, for each row of the output, the flat index of the operand's first element in that row, and
// the step (0: broadcast along the last axis, 1: not) to move along the row.
type rowBroadcast struct {
	rows  *broadcastIterator // over the leading axes
	scale int                // operand elements per leading index
	step  int
	rank0 bool
}

func newRowBroadcast(from, to shapes.Shape) rowBroadcast {
	rank := to.Rank()
	if rank == 0 {
		return rowBroadcast{rank0: true}
	}
	last, fromLast := to.Dimensions[rank-1], from.Dimensions[rank-1]
	rb := rowBroadcast{scale: fromLast, step: 1}
	if fromLast != last {
		rb.step = 0
	}
	if rank == 1 {
		rb.rank0 = true
		return rb
	}
	rb.rows = newBroadcastIterator(shapes.Make(from.DType, from.Dimensions[:rank-1]...), shapes.Make(to.DType, to.Dimensions[:rank-1]...))
	return rb
}

func (rb *rowBroadcast) next() int {
	if rb.rank0 {
		return 0
	}
	return rb.rows.Next() * rb.scale
}

// rowBroadcastInDim is BroadcastInDim's row-wise walk: each output row (last axis) is a copy of an operand row,
// or one operand value repeated.
type rowBroadcastInDim struct {
	rb     rowBroadcast
	rowLen int
}
