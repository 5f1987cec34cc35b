package models

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestEmbeddingOutputsMatchEncoder checks the Go computation against the encoder graph's embedding output
// (Encode up to layer 0) after a few training steps have moved the LayerNorm gain and offset off 1 and 0.
func TestEmbeddingOutputsMatchEncoder(t *testing.T) {
	m := nano(t, 4)
	tr, err := m.NewTrainer(Optim{LearningRate: 5e-2}, classifierLoss(m))
	if err != nil {
		t.Fatal(err)
	}
	for s := range 3 {
		if _, _, err := tr.Step(randomBatch(m.Preset, uint64(s))...); err != nil {
			t.Fatal(err)
		}
	}
	pred, err := m.NewPredictor(func(ctx *context.Context, in []*Node) []*Node {
		return []*Node{m.Encode(ctx, Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, 0)}
	})
	if err != nil {
		t.Fatal(err)
	}
	batch := randomBatch(m.Preset, 9)
	B, T, d := m.Preset.BatchSize, m.Preset.MaxLen, m.Preset.Hidden
	segs := make([]int32, B*T)
	for b := range B {
		for p := T / 2; p < T; p++ {
			segs[b*T+p] = int32(b % 2) // both segments occur
		}
	}
	batch[1] = tensors.FromFlatDataAndDimensions(segs, B, T)
	out, err := pred.Run(batch[:3]...)
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	ids := tensors.MustCopyFlatData[int32](batch[0])
	tables := map[[2]int][]float32{}
	var worst float64
	for i, id := range ids {
		key := [2]int{i % T, int(segs[i])}
		if tables[key] == nil {
			if tables[key], err = m.EmbeddingOutputs(key[0], key[1]); err != nil {
				t.Fatal(err)
			}
		}
		want := tables[key][int(id)*d : (int(id)+1)*d]
		for j := range d {
			worst = math.Max(worst, math.Abs(float64(got[i*d+j]-want[j])))
		}
	}
	if worst > 1e-5 {
		t.Fatalf("Go embedding outputs differ from the encoder graph by up to %g, want ≤ 1e-5", worst)
	}
	if _, err := m.EmbeddingOutputs(T, 0); err == nil {
		t.Error("a position past the preset's length was accepted")
	}
	if _, err := m.EmbeddingOutputs(0, 2); err == nil {
		t.Error("segment 2 was accepted")
	}
}
