package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// dotCase is one DotGeneral configuration whose gradients are compared with gomlx's originals.
type dotCase struct {
	name             string
	lhsDims, rhsDims []int
	lc, lb, rc, rb   []int
	useDot           bool // rank-2 Dot instead of DotGeneral
}

func randomTensor(rng *rand.Rand, dims []int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

// gradients evaluates d/d(lhs,rhs) of sum(w ⊙ f(lhs,rhs)) with whichever VJPs are registered.
func gradients(t *testing.T, c dotCase, lhs, rhs, w *tensors.Tensor) (gl, gr []float32) {
	b, err := Shared()
	if err != nil {
		t.Fatal(err)
	}
	exec := MustNewExec(b, func(l, r, weights *Node) (*Node, *Node) {
		var out *Node
		if c.useDot {
			out = Dot(l, r)
		} else {
			out = DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
		}
		loss := ReduceAllSum(Mul(out, weights))
		g := Gradient(loss, l, r)
		return g[0], g[1]
	})
	outs := exec.MustExec(lhs, rhs, w)
	return tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1])
}

func outDims(c dotCase) []int {
	if c.useDot {
		return []int{c.lhsDims[0], c.rhsDims[1]}
	}
	var out []int
	for _, ax := range c.lb {
		out = append(out, c.lhsDims[ax])
	}
	for _, ax := range crossAxes(len(c.lhsDims), c.lc, c.lb) {
		out = append(out, c.lhsDims[ax])
	}
	for _, ax := range crossAxes(len(c.rhsDims), c.rc, c.rb) {
		out = append(out, c.rhsDims[ax])
	}
	return out
}

// TestFastGradMatchesOriginal checks the gemm-based VJPs against gomlx's own on the shapes a transformer uses:
// a dense layer, batched attention scores and context, a contraction on a non-last axis, and rank-2 Dot.
func TestFastGradMatchesOriginal(t *testing.T) {
	cases := []dotCase{
		{name: "dense", lhsDims: []int{6, 5}, rhsDims: []int{5, 7}, lc: []int{1}, rc: []int{0}},
		{name: "dense3d", lhsDims: []int{2, 6, 5}, rhsDims: []int{5, 7}, lc: []int{2}, rc: []int{0}},
		{name: "scores", lhsDims: []int{2, 3, 4, 8}, rhsDims: []int{2, 3, 5, 8}, lc: []int{3}, lb: []int{0, 1}, rc: []int{3}, rb: []int{0, 1}},
		{name: "context", lhsDims: []int{2, 3, 4, 5}, rhsDims: []int{2, 3, 5, 8}, lc: []int{3}, lb: []int{0, 1}, rc: []int{2}, rb: []int{0, 1}},
		{name: "transposed", lhsDims: []int{5, 6}, rhsDims: []int{7, 5}, lc: []int{0}, rc: []int{1}},
		{name: "two-contracting", lhsDims: []int{3, 4, 6}, rhsDims: []int{6, 4, 2}, lc: []int{1, 2}, rc: []int{1, 0}},
		{name: "dot", lhsDims: []int{6, 5}, rhsDims: []int{5, 7}, useDot: true},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lhs, rhs := randomTensor(rng, c.lhsDims), randomTensor(rng, c.rhsDims)
			w := randomTensor(rng, outDims(c))
			fastL, fastR := gradients(t, c, lhs, rhs, w)

			VJPRegistration[NodeTypeDotGeneral] = OriginalDotGeneralVJP
			VJPRegistration[NodeTypeDot] = OriginalDotVJP
			origL, origR := gradients(t, c, lhs, rhs, w)
			VJPRegistration[NodeTypeDotGeneral] = gemmDotGeneralVJP
			VJPRegistration[NodeTypeDot] = gemmDotVJP

			for name, pair := range map[string][2][]float32{"lhs": {fastL, origL}, "rhs": {fastR, origR}} {
				if len(pair[0]) != len(pair[1]) {
					t.Fatalf("%s gradient sizes differ: %d vs %d", name, len(pair[0]), len(pair[1]))
				}
				for i := range pair[0] {
					if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-5*(1+math.Abs(float64(pair[1][i]))) {
						t.Fatalf("%s gradient[%d]: fast %v, original %v", name, i, pair[0][i], pair[1][i])
					}
				}
			}
		})
	}
}

func TestPlainGoConfigRefused(t *testing.T) {
	if _, err := New("go"); err == nil {
		t.Fatal(`New("go") should refuse the configuration that deadlocks in v0.26.0`)
	}
}
