package shaking

import (
	stdctx "context"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// syntheticUploads are n batches of random ids with skewed masked-LM targets (id v drawn with weight 1/(v+1)),
// a padding slot per sequence, and top-k distillation targets.
func syntheticUploads(V, n, k int, seed uint64) []*Upload {
	rng := rand.New(rand.NewPCG(seed, 1))
	const B, T, P = 4, 8, 3
	zipf := func() int32 {
		for {
			v := rng.IntN(V)
			if rng.Float64() < 1/float64(v+1) {
				return int32(v)
			}
		}
	}
	var out []*Upload
	for range n {
		b := &pretrain.Batch{B: B, T: T, P: P, IDs: make([]int32, B*T), Segments: make([]int32, B*T), Mask: make([]int32, B*T),
			Positions: make([]int32, B*P), Targets: make([]int32, B*P), Weights: make([]float32, B*P),
			IsNext: make([]int32, B), PairWeights: make([]float32, B)}
		for i := range b.IDs {
			b.IDs[i], b.Mask[i] = int32(rng.IntN(V)), 1
		}
		u := &Upload{Batch: b, K: k, KDIDs: make([]int32, B*P*k), KDProbs: make([]float32, B*P*k)}
		for r := range B * P {
			b.Positions[r] = int32(r % P * 2)
			if r%P == P-1 {
				continue // padding slot: weight 0
			}
			b.Targets[r], b.Weights[r] = zipf(), 1
			var z float32
			for j := range k {
				u.KDIDs[r*k+j] = zipf()
				u.KDProbs[r*k+j] = float32(rng.Float64() + 0.1)
				z += u.KDProbs[r*k+j]
			}
			for j := range k {
				u.KDProbs[r*k+j] /= z
			}
		}
		out = append(out, u)
	}
	return out
}

// TestOutputBiasGIS: the logits the scaling works on are the model's own (bias and scale included), every pass
// lowers the recovery loss, and at the end the model's expected mass per id matches the target mass (the
// gradient of the loss with respect to the bias is zero: the maximum-likelihood bias).
func TestOutputBiasGIS(t *testing.T) {
	const V, K, kdWeight = 60, 3, 0.5
	m := testkit.NanoModel(t, V, 3)
	start := make([]float32, V)
	if err := m.InitMLMOutput(start, 0.3); err != nil {
		t.Fatal(err)
	}
	uploads := syntheticUploads(V, 12, K, 5)

	// The kept logits plus the bias are the model's masked-LM logits.
	pred, err := m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		hidden := m.Encode(c, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, -1)
		return []*Node{m.MLMLogits(c, m.MLMTransform(c, models.GatherPositions(hidden, in[3])))}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pred.Finalize()
	outs, err := pred.Run(uploads[0].Batch.Tensors()[:4]...)
	if err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](outs[0])
	rows, err := maskedSlotLogits(stdctx.Background(), m, uploads, kdWeight, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rows.slots); got != 12*4*2 {
		t.Fatalf("%d weighted slots kept, want %d", got, 12*4*2)
	}
	kept := 0
	for r, w := range uploads[0].Batch.Weights {
		if w == 0 {
			continue
		}
		if d := maxAbsDiff(rows.logits[kept*V:(kept+1)*V], want[r*V:(r+1)*V]); d > 1e-4 {
			t.Fatalf("slot %d: kept logits differ from the model's by %g", r, d)
		}
		kept++
	}

	curve, err := FitOutputBiasGIS(stdctx.Background(), m, uploads, kdWeight, GISConfig{Passes: 200, Rows: 1000, Smoothing: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(curve); i++ {
		if curve[i] > curve[i-1]+1e-9 {
			t.Fatalf("pass %d raised the loss: %v → %v", i, curve[i-1], curve[i])
		}
	}
	if !(curve[len(curve)-1] < curve[0]-0.1) {
		t.Errorf("loss %v → %v: the bias fit did not help", curve[0], curve[len(curve)-1])
	}
	t.Logf("recovery loss %.4f → %.4f over %d passes", curve[0], curve[len(curve)-1], len(curve)-1)

	// Stationarity: expected mass = target mass for every id.
	bias := m.MLMBias()
	b := make([]float64, V)
	for v, x := range bias {
		b[v] = float64(x)
	}
	expected, _ := rows.expectedCounts(b, kdWeight)
	target := make([]float64, V)
	for _, s := range rows.slots {
		target[s.target] += s.weight / (1 + kdWeight)
		for j, id := range s.kdIDs {
			target[id] += s.weight * kdWeight * float64(s.kdProbs[j]) / (1 + kdWeight)
		}
	}
	for v := range V {
		if target[v] > 0.5 && math.Abs(expected[v]-target[v]) > 0.02*target[v] {
			t.Errorf("id %d: expected mass %.4f, target %.4f", v, expected[v], target[v])
		}
	}
	if _, err := FitOutputBiasGIS(stdctx.Background(), m, uploads, kdWeight, GISConfig{Passes: 1, Rows: 10}); err == nil {
		t.Error("zero smoothing accepted")
	}
}
