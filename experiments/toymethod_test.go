package experiments_test

// This file is the worked example of docs/extending.md ("Add a method"): a method defined and registered outside
// the project's packages runs through a spec, the runner and a report like any shipped method.

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/reports"
)

// toyConfig is the toy method's parameters: the spec keys of its [[method]] block.
type toyConfig struct {
	// Flip predicts the minority class instead of the majority class.
	Flip bool `param:"flip"`
}

// toyMajority predicts, for every dev example, the most frequent label of its training examples. The client
// "uploads" only the labels, so its ledger books 4 bytes per training example.
var toyMajority = harness.Method[toyConfig]{
	MethodName: "toy-majority",
	Decode: func(params map[string]any) (toyConfig, error) {
		var c toyConfig
		if err := method.DecodeParams(params, &c); err != nil {
			return c, fmt.Errorf("toy-majority: %w", err)
		}
		return c, nil
	},
	Protocol: func(ctx context.Context, env method.Env, run method.Run, s *harness.Setup, cfg toyConfig) (*method.Result, error) {
		res := method.NewResult()
		ledger := harness.NewLedger()
		counts := map[float64]int{}
		_ = ledger.Time(method.PhasePrivateTuning, method.Cloud, func() error {
			for _, e := range s.Data.Train {
				counts[e.Label]++
			}
			return nil
		})
		ledger.Send(method.PhasePrivateTuning, method.Client, int64(4*len(s.Data.Train)))
		best, worst := -1.0, -1.0
		for label, n := range counts {
			if best < 0 || n > counts[best] || (n == counts[best] && label < best) {
				best = label
			}
			if worst < 0 || n < counts[worst] || (n == counts[worst] && label < worst) {
				worst = label
			}
		}
		guess := best
		if cfg.Flip {
			guess = worst
		}
		preds := make([]float64, len(s.Data.Dev))
		labels := make([]float64, len(s.Data.Dev))
		for i, e := range s.Data.Dev {
			preds[i], labels[i] = guess, e.Label
		}
		metrics, err := datasets.Evaluate(s.Data.Info, preds, labels)
		if err != nil {
			return nil, err
		}
		res.Metrics = metrics
		res.Tags["table"] = "none"
		res.TrainExamples, res.EvalExamples = len(s.Data.Train), len(s.Data.Dev)
		if err := harness.RecordMajority(res, s.Data.Info, labels); err != nil {
			return nil, err
		}
		res.Costs = ledger.Costs()
		return res, nil
	},
}

func init() {
	method.Register(toyMajority)
	method.Describe("toy-majority", method.Display{Label: "Toy majority"})
}

const toySpec = `
experiment = "toy"
description = "a method registered from a test package, end to end"

[data]
tasks = ["sst2"]
max_train = 200
max_eval = 100

[model]
preset = "nano"
pretrain = "none"

[training]
epochs = 1
learning_rate = 2e-3
seeds = [1, 2]

[[method]]
name = "toy-majority"
[method.sweep]
flip = [false, true]
`

func TestToyMethodThroughSpecRunnerAndReport(t *testing.T) {
	dataDir, tok := testkit.Tokenizer(t)
	spec, err := experiments.Parse([]byte(toySpec), "toy.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Runs) != 4 {
		t.Fatalf("spec expands to %d runs, want 2 settings × 2 seeds", len(spec.Runs))
	}
	resDir := t.TempDir()
	env := method.Env{DataDir: dataDir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	runner := &experiments.Runner{ResultsDir: resDir, Env: env, SpecText: []byte(toySpec)}
	sum, err := runner.Run(context.Background(), spec.Runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Finished != 4 {
		t.Fatalf("finished %d runs, want 4 (%+v)", sum.Finished, sum)
	}
	recs, err := results.ReadExperiment(filepath.Join(resDir, "toy"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("read %d records, want 4", len(recs))
	}
	for _, r := range recs {
		acc, maj := r.Metrics["accuracy"], r.Extra["majority_accuracy"]
		if r.Method != "toy-majority" || !(maj > 0.5) {
			t.Fatalf("record %s: method %q, majority_accuracy %v", r.RunID, r.Method, maj)
		}
		// Predicting the training majority on SST-2 (labels nearly balanced, same class wins in train and dev)
		// scores the dev majority; the flipped guess scores its complement.
		want := maj
		if r.Params["flip"] == true {
			want = 1 - maj
		}
		if d := acc - want; d > 1e-9 || d < -1e-9 {
			t.Fatalf("record %s (flip=%v): accuracy %.4f, want %.4f", r.RunID, r.Params["flip"], acc, want)
		}
	}

	out := t.TempDir()
	idx, err := reports.Render(recs, out, reports.Options{Description: spec.Description, Source: filepath.Join(resDir, "toy")})
	if err != nil {
		t.Fatal(err)
	}
	if idx.Runs != 4 {
		t.Fatalf("report over %d runs, want 4", idx.Runs)
	}
	page, err := os.ReadFile(filepath.Join(out, "index.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Toy majority", "a method registered from a test package"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.md lacks %q", want)
		}
	}
}
