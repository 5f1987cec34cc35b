package finetune

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/models"
)

const vocab = 2000

// synthetic builds n examples of length T whose label is 1 iff token `marker` occurs.
func synthetic(n, T int, seed uint64) *Encoded {
	rng := rand.New(rand.NewPCG(seed, 3))
	e := &Encoded{N: n, T: T}
	const marker = 1234
	for i := range n {
		length := 4 + rng.IntN(T-5)
		label := i % 2
		for t := range T {
			id, m := int32(0), int32(0)
			if t < length {
				id, m = 999+rng.Int32N(vocab-999), 1
				if id == marker {
					id++
				}
			}
			e.IDs = append(e.IDs, id)
			e.Segments = append(e.Segments, 0)
			e.Mask = append(e.Mask, m)
		}
		e.IDs[i*T] = 101
		if label == 1 {
			e.IDs[i*T+1+rng.IntN(length-1)] = marker
		}
		e.Labels = append(e.Labels, float64(label))
	}
	return e
}

// TestNanoLearnsSyntheticRule: the whole fine-tuning stack (encoding, batching, loss, optimizer, inference,
// metrics) learns a rule a 1-layer transformer can represent, on held-out examples.
func TestNanoLearnsSyntheticRule(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	m, err := models.New(p, vocab, 1)
	if err != nil {
		t.Fatal(err)
	}
	info := datasets.TaskInfo{Name: "marker", NumLabels: 2, Metrics: []string{"accuracy"}}
	cfg := DefaultConfig()
	cfg.Epochs, cfg.LearningRate = 6, 3e-3
	res, err := Train(context.Background(), m, info, synthetic(640, p.MaxLen, 1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Curve) != 6 || res.Curve[5] >= res.Curve[0] {
		t.Errorf("training loss did not fall: %v", res.Curve)
	}
	if err := Evaluate(m, info, synthetic(200, p.MaxLen, 2), res); err != nil {
		t.Fatal(err)
	}
	if acc := res.Metrics["accuracy"]; acc < 0.9 {
		t.Errorf("held-out accuracy %.3f, want ≥ 0.9 (chance 0.5)", acc)
	}
}

// TestPredictIndependentOfBatching: an example's logits do not depend on which batch (or padding) it lands in.
func TestPredictIndependentOfBatching(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	m, err := models.New(p, vocab, 2)
	if err != nil {
		t.Fatal(err)
	}
	info := datasets.TaskInfo{Name: "marker", NumLabels: 2}
	all := synthetic(p.BatchSize+5, p.MaxLen, 4) // one full batch + a padded one
	_, full, err := Predict(m, info, all)
	if err != nil {
		t.Fatal(err)
	}
	tail := &Encoded{N: 5, T: all.T, IDs: all.IDs[p.BatchSize*all.T:], Segments: all.Segments[p.BatchSize*all.T:],
		Mask: all.Mask[p.BatchSize*all.T:], Labels: all.Labels[p.BatchSize:]}
	preds, part, err := Predict(m, info, tail)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != 5 || len(full) != 2*all.N {
		t.Fatalf("got %d predictions and %d logits", len(preds), len(full))
	}
	for i := range part {
		if d := part[i] - full[2*p.BatchSize+i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("logit %d differs by batch placement: %v vs %v", i, part[i], full[2*p.BatchSize+i])
		}
	}
}

func TestTrainRejectsTooFewExamples(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	m, _ := models.New(p, vocab, 1)
	if _, err := Train(context.Background(), m, datasets.TaskInfo{Name: "x", NumLabels: 2}, synthetic(3, p.MaxLen, 1), DefaultConfig()); err == nil {
		t.Fatal("fewer examples than a batch must be an error")
	}
}

func TestMapIDs(t *testing.T) {
	e := synthetic(2, 8, 1)
	f := e.MapIDs(func(id int32) int32 { return id + 1 })
	for i := range e.IDs {
		if f.IDs[i] != e.IDs[i]+1 {
			t.Fatal("MapIDs did not map every id")
		}
	}
	if &f.IDs[0] == &e.IDs[0] {
		t.Fatal("MapIDs must copy")
	}
}

// TestNanoRegression: the regression head (one output, squared error) learns a score, scored by Pearson/Spearman.
func TestNanoRegression(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	m, err := models.New(p, vocab, 3)
	if err != nil {
		t.Fatal(err)
	}
	info := datasets.TaskInfo{Name: "score", NumLabels: 0, Metrics: []string{"pearson", "spearman"}}
	scale := func(e *Encoded) *Encoded {
		for i := range e.Labels {
			e.Labels[i] = 1 + 3*e.Labels[i] // scores 1 or 4
		}
		return e
	}
	cfg := DefaultConfig()
	cfg.Epochs, cfg.LearningRate = 6, 3e-3
	res, err := Train(context.Background(), m, info, scale(synthetic(640, p.MaxLen, 5)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := Evaluate(m, info, scale(synthetic(200, p.MaxLen, 6)), res); err != nil {
		t.Fatal(err)
	}
	if r := res.Metrics["pearson"]; r < 0.8 {
		t.Errorf("held-out Pearson %.3f, want ≥ 0.8", r)
	}
}
