package backend

// Workaround for gomlx v0.26.0: the reverse-mode gradient of DotGeneral and Dot is built as broadcast-Mul +
// ReduceSum, which materialises the full [M,N,K] outer product: on the SimpleGo backend ~10x slower and ~10x
// more memory than a matmul (docs/design.md §8). Upstream fixed this in v0.28.0 (gomlx/gomlx#428), which the module
// proxy does not serve. We re-register the VJPs in the exported graph.VJPRegistration map so that gradients
// are themselves DotGenerals. fastgrad_test.go checks the result against the original VJPs.
//
// The DotGeneral axes are unexported in v0.26.0 and are read by (read-only) reflection; revisit on upgrade.

import (
	"reflect"
	"slices"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// OriginalDotGeneralVJP and OriginalDotVJP are gomlx's own gradients, kept for tests and comparison.
var (
	OriginalDotGeneralVJP = VJPRegistration[NodeTypeDotGeneral]
	OriginalDotVJP        = VJPRegistration[NodeTypeDot]
)

func init() {
	VJPRegistration[NodeTypeDotGeneral] = gemmDotGeneralVJP
	VJPRegistration[NodeTypeDot] = gemmDotVJP
}

// gemmDotVJP is the VJP of a rank-2 Dot (a=[i,j], b=[j,k]) as two matmuls.
func gemmDotVJP(node *Node, vjps []*Node, outShape shapes.Shape) []*Node {
	a, b := node.Inputs()[0], node.Inputs()[1]
	if a.Rank() != 2 || b.Rank() != 2 {
		return OriginalDotVJP(node, vjps, outShape)
	}
	v := vjps[0] // [i,k]
	return []*Node{
		DotGeneral(v, []int{1}, nil, b, []int{1}, nil), // [i,j]
		DotGeneral(a, []int{0}, nil, v, []int{0}, nil), // [j,k]
	}
}

// dotGeneralAxes reads the unexported axes of a DotGeneral node.
func dotGeneralAxes(node *Node) (lhsContracting, lhsBatch, rhsContracting, rhsBatch []int) {
	p := reflect.ValueOf(node).Elem().FieldByName("inputs").Elem().Elem()
	get := func(name string) []int {
		f := p.FieldByName(name)
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out
	}
	return get("lhsContractingAxes"), get("lhsBatchAxes"), get("rhsContractingAxes"), get("rhsBatchAxes")
}

// crossAxes lists the axes that are neither contracting nor batch, in order.
func crossAxes(rank int, contracting, batch []int) []int {
	var out []int
	for ax := range rank {
		if !slices.Contains(contracting, ax) && !slices.Contains(batch, ax) {
			out = append(out, ax)
		}
	}
	return out
}

func axisRange(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}

// gemmDotGeneralVJP computes both input gradients of a DotGeneral as DotGenerals of the output gradient.
// The output of DotGeneral is laid out [batch..., lhsCross..., rhsCross...].
func gemmDotGeneralVJP(node *Node, vjps []*Node, outShape shapes.Shape) []*Node {
	v := vjps[0]
	lhs, rhs := node.Inputs()[0], node.Inputs()[1]
	lc, lb, rc, rb := dotGeneralAxes(node)
	lx := crossAxes(lhs.Rank(), lc, lb)
	rx := crossAxes(rhs.Rank(), rc, rb)
	if len(lx) == 0 || len(rx) == 0 {
		return OriginalDotGeneralVJP(node, vjps, outShape) // no outer product to avoid: cheap broadcast path
	}
	nb := len(lb)
	grad := func(this *Node, thisB, thisC, thisX []int, thisFirst bool, other *Node, otherB, otherC, otherX []int) *Node {
		vStart := nb
		if thisFirst {
			vStart += len(thisX)
		}
		// out: [batch..., thisCross..., otherContracting (ascending axis order in other)...]
		out := DotGeneral(v, axisRange(vStart, len(otherX)), axisRange(0, nb), other, otherX, otherB)
		sortedOC := slices.Clone(otherC)
		slices.Sort(sortedOC)
		perm := make([]int, this.Rank())
		for i, ax := range thisB {
			perm[ax] = i
		}
		for i, ax := range thisX {
			perm[ax] = nb + i
		}
		for i, ax := range thisC {
			perm[ax] = nb + len(thisX) + slices.Index(sortedOC, otherC[i])
		}
		for i, p := range perm {
			if i != p {
				return TransposeAllAxes(out, perm...)
			}
		}
		return out
	}
	return []*Node{
		grad(lhs, lb, lc, lx, true, rhs, rb, rc, rx),
		grad(rhs, rb, rc, rx, false, lhs, lb, lc, lx),
	}
}
