package cryptofriendly

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// markerData is n sequences whose label is 1 iff token marker occurs (a rule a 1-layer model learns).
func markerData(n, T int, seed uint64) *finetune.Encoded {
	const marker = 777
	rng := rand.New(rand.NewPCG(seed, 3))
	e := &finetune.Encoded{N: n, T: T}
	for i := range n {
		length := 4 + rng.IntN(T-5)
		for t := range T {
			id, m := int32(0), int32(0)
			if t < length {
				id, m = 100+rng.Int32N(testVocab-100), 1
				if id == marker {
					id++
				}
			}
			e.IDs, e.Segments, e.Mask = append(e.IDs, id), append(e.Segments, 0), append(e.Mask, m)
		}
		e.IDs[i*T] = 1
		if i%2 == 1 {
			e.IDs[i*T+1+rng.IntN(length-1)] = marker
		}
		e.Labels = append(e.Labels, float64(i%2))
	}
	return e
}

// TestDistillLowersKDLoss: starting from a fine-tuned teacher's weights, distillation lowers the student's KD
// loss against the teacher, leaves the teacher untouched, and yields a crypto-friendly model whose held-out
// predictions mostly agree with the teacher's.
func TestDistillLowersKDLoss(t *testing.T) {
	teacher := nanoModel(t, false, 21)
	T := teacher.Preset.MaxLen
	train, held := markerData(320, T, 1), markerData(64, T, 2)
	ft := finetune.DefaultConfig()
	ft.Epochs, ft.LearningRate = 4, 3e-3
	if _, err := finetune.Train(context.Background(), teacher, binary, train, ft); err != nil {
		t.Fatal(err)
	}
	gain := teacher.Ctx.GetVariableByScopeAndName("/encoder/layer_0/ffn_in/dense", "weights")
	before := tensors.MustCopyFlatData[float32](gain.MustValue())

	cfg := DefaultDistillConfig()
	cfg.Epochs, cfg.LearningRate = 4, 3e-3
	student, rep, err := Distill(context.Background(), teacher, binary, train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KD loss %.6g → %.6g, curve %v, %d steps", rep.KDLossBefore, rep.KDLossAfter, rep.Curve, rep.Steps)
	if !(rep.KDLossAfter < rep.KDLossBefore) || math.IsNaN(rep.KDLossAfter) {
		t.Errorf("KD loss did not fall: %v → %v", rep.KDLossBefore, rep.KDLossAfter)
	}
	if len(rep.Curve) != cfg.Epochs || rep.Steps != cfg.Epochs*(train.N/teacher.Preset.BatchSize) {
		t.Errorf("curve %v and %d steps for %d epochs", rep.Curve, rep.Steps, cfg.Epochs)
	}
	if student.Approx == nil || teacher.Approx != nil {
		t.Fatalf("student approximations %v, teacher %v", student.Approx, teacher.Approx)
	}
	after := tensors.MustCopyFlatData[float32](gain.MustValue())
	for i := range before {
		if before[i] != after[i] {
			t.Fatal("distillation changed the teacher's weights")
		}
	}
	teacherPreds, _, err := finetune.Predict(teacher, binary, held)
	if err != nil {
		t.Fatal(err)
	}
	studentPreds, _, err := finetune.Predict(student, binary, held)
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i := range teacherPreds {
		if teacherPreds[i] == studentPreds[i] {
			agree++
		}
	}
	if frac := float64(agree) / float64(held.N); frac < 0.75 {
		t.Errorf("student agrees with the teacher on %.2f of held-out examples, want ≥ 0.75", frac)
	}
	if _, err := Export(student); err != nil {
		t.Errorf("the student does not export: %v", err)
	}
}
