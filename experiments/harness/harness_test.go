package harness

import (
	stdctx "context"
	"errors"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

func TestMajorityScores(t *testing.T) {
	binary := datasets.TaskInfo{Name: "b", NumLabels: 2, Metrics: []string{"accuracy", "f1"}}
	// 3 of 5 labels are 0: the constant predictor says 0 and is right 3 times; it never predicts 1, so F1 is 0.
	got, err := MajorityScores(binary, []float64{0, 1, 0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if got["accuracy"] != 0.6 || got["f1"] != 0 {
		t.Errorf("majority of {0,1,0,1,0} = %v, want accuracy 0.6, f1 0", got)
	}
	// Class 1 in the majority: F1 of always-1 is 2·p/(1+p) with precision p = 3/4.
	got, err = MajorityScores(binary, []float64{1, 1, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if got["accuracy"] != 0.75 || math.Abs(got["f1"]-2*0.75/1.75) > 1e-12 {
		t.Errorf("majority of {1,1,0,1} = %v, want accuracy 0.75, f1 %v", got, 2*0.75/1.75)
	}
	// A tie goes to the smallest label.
	got, _ = MajorityScores(datasets.TaskInfo{Name: "m", NumLabels: 3, Metrics: []string{"accuracy"}}, []float64{2, 1, 2, 1})
	if got["accuracy"] != 0.5 {
		t.Errorf("tie: %v", got)
	}
	// Regression: the mean label, which correlates with nothing (datasets scores a constant's correlation as 0).
	got, err = MajorityScores(datasets.TaskInfo{Name: "r", NumLabels: 0, Metrics: []string{"pearson", "spearman"}}, []float64{1, 2, 3})
	if err != nil || len(got) != 2 || got["pearson"] != 0 || got["spearman"] != 0 {
		t.Errorf("regression majority = %v, %v; want pearson and spearman 0", got, err)
	}
}

func TestFineTuneConfig(t *testing.T) {
	def := finetune.DefaultConfig()
	c := FineTuneConfig(method.Run{Task: "sst2", Seed: 7}, true, "private tuning")
	if c.Epochs != def.Epochs || c.LearningRate != def.LearningRate || c.Seed != 7 || !c.Progress || c.Label != "sst2 private tuning" {
		t.Errorf("defaults: %+v", c)
	}
	c = FineTuneConfig(method.Run{Task: "rte", Seed: 2, Epochs: 5, LearningRate: 1e-4}, false, "x")
	if c.Epochs != 5 || c.LearningRate != 1e-4 || c.WarmupFrac != def.WarmupFrac || c.Progress {
		t.Errorf("overrides: %+v", c)
	}
}

func TestLedger(t *testing.T) {
	l := NewLedger()
	l.AddSeconds("a", method.Client, 1)
	l.AddSeconds("b", method.Cloud, 2)
	l.AddSeconds("a", method.Cloud, 3)
	l.AddSeconds("a", method.Dealer, 4)
	l.Send("a", method.Client, 10)
	l.Send("a", method.Cloud, 20)
	l.Units("a", 5, "steps")
	l.Note("a", "x")
	l.Note("a", "y")
	c := l.Costs()
	if len(c) != 2 || c[0].Phase != "a" || c[1].Phase != "b" {
		t.Fatalf("phases %+v, want a then b", c)
	}
	a := c[0]
	if a.ClientSeconds != 1 || a.CloudSeconds != 3 || a.DealerSeconds != 4 || a.BytesToCloud != 10 || a.BytesToClient != 20 ||
		a.Units != 5 || a.UnitName != "steps" || a.Note != "x; y" || c[1].CloudSeconds != 2 {
		t.Errorf("phase a %+v, b %+v", a, c[1])
	}
}

// TestPrivatePhases runs the two phases with hooks that do known work and checks what the harness books: the
// client's encoding and the upload sizes, the training time to the cloud less what the hook booked to the
// client, the logits back, the scores against the plaintext labels and the majority line.
func TestPrivatePhases(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	data, err := finetune.LoadTaskData(dir, "sst2", 40, 24, 1)
	if err != nil {
		t.Fatal(err)
	}
	env := method.Env{DataDir: dir, Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := &Setup{Data: data}
	const T = 16
	ledger, res := NewLedger(), method.NewResult()
	ft := FineTuneConfig(method.Run{Task: "sst2", Epochs: 2}, false, "test")
	var encoded int
	tuning := Tuning[*finetune.Encoded]{
		Encode: func(e *finetune.Encoded) (*finetune.Encoded, error) {
			encoded++
			return e.MapIDs(func(id int32) int32 { return id + 1 }), nil
		},
		Bytes: EncodedBytes,
		Train: func(_ stdctx.Context, u *finetune.Encoded, cfg finetune.Config, l *Ledger) ([]method.CurvePoint, error) {
			if cfg.Epochs != 2 || u.N != 40 || u.T != T {
				t.Errorf("train got %d×%d examples, %d epochs", u.N, u.T, cfg.Epochs)
			}
			// A split-learning client step inside training: booked to the client, not to the cloud.
			_ = l.Time(method.PhasePrivateTuning, method.Client, func() error { time.Sleep(200 * time.Millisecond); return nil })
			time.Sleep(20 * time.Millisecond)
			return []method.CurvePoint{{Phase: method.PhasePrivateTuning, Step: 1, Loss: 0.5}}, nil
		},
		Note: "tuned",
	}
	if _, err := PrivateTuning(stdctx.Background(), env, s, T, tuning, ft, ledger, res); err != nil {
		t.Fatal(err)
	}
	// The constant predictor of the most frequent dev label, as logits: the scores must be the majority line.
	inference := Inference[*finetune.Encoded]{
		Encode: func(e *finetune.Encoded) (*finetune.Encoded, error) { encoded++; return e, nil },
		Bytes:  EncodedBytes,
		Predict: func(_ stdctx.Context, q *finetune.Encoded) ([]float32, error) {
			var ones int
			for _, l := range q.Labels {
				if l == 1 {
					ones++
				}
			}
			logits := make([]float32, 2*q.N)
			for i := range q.N {
				if 2*ones > q.N {
					logits[2*i+1] = 1
				} else {
					logits[2*i] = 1
				}
			}
			return logits, nil
		},
	}
	if _, err := PrivateInference(stdctx.Background(), env, s, T, inference, ledger, res); err != nil {
		t.Fatal(err)
	}
	if encoded != 2 {
		t.Errorf("client encodings: %d, want 2", encoded)
	}
	costs := ledger.Costs()
	if len(costs) != 2 || costs[0].Phase != method.PhasePrivateTuning || costs[1].Phase != method.PhasePrivateInference {
		t.Fatalf("phases %+v", costs)
	}
	tune, inf := costs[0], costs[1]
	if tune.BytesToCloud != 40*T*6+40*4 || tune.Units != 2 || tune.UnitName != "epochs" || tune.Note != "tuned" {
		t.Errorf("tuning cost %+v", tune)
	}
	if tune.ClientSeconds < 0.2 || tune.CloudSeconds < 0.02 || tune.CloudSeconds > 0.15 {
		t.Errorf("tuning seconds: client %v (≥ 0.2 booked by the hook), cloud %v (the hook's other 0.02, not its client step)", tune.ClientSeconds, tune.CloudSeconds)
	}
	if inf.BytesToCloud != 24*T*6+24*4 || inf.BytesToClient != 24*2*4 || inf.Units != 24 {
		t.Errorf("inference cost %+v", inf)
	}
	if res.TrainExamples != 40 || res.EvalExamples != 24 || len(res.Curve) != 1 {
		t.Errorf("result: %d/%d examples, curve %v", res.TrainExamples, res.EvalExamples, res.Curve)
	}
	acc, maj := res.Metrics["accuracy"], res.Extra["majority_accuracy"]
	if acc < 0.5 || acc != maj {
		t.Errorf("constant predictor scored %v, majority line %v: want equal and ≥ 0.5", acc, maj)
	}

	// A failing client encoding stops the phase before anything is sent.
	bad := tuning
	bad.Encode = func(*finetune.Encoded) (*finetune.Encoded, error) { return nil, errors.New("no key") }
	l2 := NewLedger()
	if _, err := PrivateTuning(stdctx.Background(), env, s, T, bad, ft, l2, method.NewResult()); err == nil || l2.Costs()[0].BytesToCloud != 0 {
		t.Errorf("failed encoding: err %v, costs %+v", err, l2.Costs())
	}
}
