package experiments

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

func costRun(id, meth, task string, maxTrain, maxEval int, params map[string]any) Run {
	return Run{Method: meth, Run: method.Run{ID: id, Task: task, Preset: "tiny", Pretrain: "default",
		MaxTrain: maxTrain, MaxEval: maxEval, Seed: 1, Epochs: 3, LearningRate: 2e-3, Params: params}}
}

// skewedRuns has every fourth run expensive (CKKS inference on 8 examples): round robin over 4 shards puts all
// of them into shard 0.
func skewedRuns() []Run {
	var runs []Run
	for i := range 16 {
		id := string(rune('a' + i))
		if i%4 == 0 {
			runs = append(runs, costRun(id, "he-ckks", "sst2", 1000, 0, map[string]any{"inference_examples": int64(8)}))
		} else {
			runs = append(runs, costRun(id, "plaintext", []string{"sst2", "qqp"}[i%2], 1000*(i%3+1), 0, nil))
		}
	}
	return runs
}

func roundRobinLoads(runs []Run, count int) []float64 {
	load := make([]float64, count)
	for i, r := range runs {
		load[i%count] += EstimateCost(r)
	}
	return load
}

func ratio(load []float64) float64 { return slices.Max(load) / slices.Min(load) }

func TestShardsAreDeterministicAndPartitionTheRuns(t *testing.T) {
	text := `experiment = "mix"
[data]
tasks = ["sst2", "qqp"]
max_train = { sst2 = 4000, qqp = 8000 }
max_eval = 0
[model]
preset = "tiny"
pretrain = "default"
[training]
epochs = 3
learning_rate = 2e-3
seeds = [1, 2]
[[method]]
name = "fake"
[method.sweep]
sigma = [0.5, 1.0, 2.0]
steps = [1, 2]
`
	s, err := Parse([]byte(text), "mix.toml")
	if err != nil {
		t.Fatal(err)
	}
	runs := append(s.Runs, skewedRuns()...)
	for _, count := range []int{1, 2, 3, 5, 7, len(runs), len(runs) + 3} {
		seen := map[string]int{}
		for i := range count {
			part := Shard(runs, i, count)
			if again := Shard(runs, i, count); !slices.EqualFunc(part, again, func(a, b Run) bool { return a.ID == b.ID }) {
				t.Fatalf("shard %d/%d differs between calls", i, count)
			}
			// Within a shard, runs keep their order in the spec.
			pos := -1
			for _, r := range part {
				seen[r.ID]++
				p := slices.IndexFunc(runs, func(x Run) bool { return x.ID == r.ID })
				if p <= pos {
					t.Errorf("shard %d/%d out of spec order", i, count)
				}
				pos = p
			}
		}
		for _, r := range runs {
			if seen[r.ID] != 1 {
				t.Errorf("%d shards: run %s in %d shards", count, r.ID, seen[r.ID])
			}
		}
		if len(seen) != len(runs) {
			t.Errorf("%d shards cover %d runs of %d", count, len(seen), len(runs))
		}
	}
	// A spec parsed again (a resubmitted array task) gets the same assignment.
	s2, err := Parse([]byte(text), "mix.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(AssignShards(s.Runs, 4), AssignShards(s2.Runs, 4)) {
		t.Error("the same spec parsed twice is sharded differently")
	}
}

func TestShardsBalanceCostBetterThanRoundRobin(t *testing.T) {
	runs := skewedRuns()
	rr, lpt := roundRobinLoads(runs, 4), ShardLoads(runs, 4)
	if ratio(rr) < 2 {
		t.Fatalf("the synthetic set is not skewed for round robin: loads %v", rr)
	}
	if r := ratio(lpt); r > 1.25 {
		t.Errorf("cost-balanced loads %v: max/min %.2f, want <= 1.25 (round robin %.2f)", lpt, r, ratio(rr))
	}
	// The greedy assignment is within 4/3 of the ideal (the mean load, or the largest single run).
	total, largest := 0.0, 0.0
	for _, r := range runs {
		total += EstimateCost(r)
		largest = max(largest, EstimateCost(r))
	}
	if lower := max(total/4, largest); slices.Max(lpt) > lower*4/3 {
		t.Errorf("max load %.0f > 4/3 of the lower bound %.0f", slices.Max(lpt), lower)
	}
	// Every shard gets one of the four expensive runs.
	assign := AssignShards(runs, 4)
	var heavy []int
	for i, r := range runs {
		if r.Method == "he-ckks" {
			heavy = append(heavy, assign[i])
		}
	}
	if slices.Sort(heavy); !slices.Equal(heavy, []int{0, 1, 2, 3}) {
		t.Errorf("expensive runs in shards %v, want one each", heavy)
	}
}

func TestEstimateCostFollowsTheWork(t *testing.T) {
	base := costRun("x", "plaintext", "sst2", 4000, 0, nil)
	more := func(name string, f func(r *Run)) {
		t.Helper()
		r := base
		r.Params = map[string]any{}
		f(&r)
		if EstimateCost(r) <= EstimateCost(base) {
			t.Errorf("%s: cost %.0f not above the base %.0f", name, EstimateCost(r), EstimateCost(base))
		}
	}
	more("more training examples", func(r *Run) { r.MaxTrain = 8000 })
	more("all training examples", func(r *Run) { r.MaxTrain = 0 })
	more("more epochs", func(r *Run) { r.Epochs = 5 })
	more("a larger preset", func(r *Run) { r.Preset = "small" })
	more("a larger dev set", func(r *Run) { r.Task = "qqp" })
	more("dp-sgd", func(r *Run) { r.Method = "dp-sgd" })
	more("attacks", func(r *Run) { r.Params["attacks"] = true })
	more("implantation steps", func(r *Run) { r.Params["awareness_steps"] = int64(50) })
	nano := base
	nano.Preset = "nano"
	if EstimateCost(nano) >= EstimateCost(base) {
		t.Error("nano costs as much as tiny")
	}
	he := func(n int64, params string) float64 {
		return EstimateCost(costRun("h", "he-ckks", "sst2", 1000, 0, map[string]any{"inference_examples": n, "parameters": params}))
	}
	if !(he(8, "") > he(2, "") && he(2, "") > he(2, "test-n12")) {
		t.Errorf("he-ckks costs: 8 examples %.0f, 2 examples %.0f, 2 at test parameters %.0f", he(8, ""), he(2, ""), he(2, "test-n12"))
	}
}

// TestCostModelMatchesCommittedRecords checks the weights against the wall times of the committed records.
func TestCostModelMatchesCommittedRecords(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "measurements", "*"))
	checked := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(filepath.Join(dir, "runs")); err != nil || !fi.IsDir() {
			continue
		}
		recs, err := results.ReadExperiment(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, rec := range recs {
			r := Run{Method: rec.Method, Run: method.Run{ID: rec.RunID, Task: rec.Task, Preset: rec.Preset,
				MaxTrain: rec.MaxTrain, MaxEval: rec.MaxEval, Epochs: rec.Epochs, Params: rec.Params}}
			est, got := EstimateCost(r), rec.Duration.Seconds()
			if got <= 0 {
				continue
			}
			if est > 1.5*got || est < got/1.5 {
				t.Errorf("%s %s %s %s: estimated %.0f s, took %.0f s", filepath.Base(dir), rec.Method, rec.Task, rec.RunID, est, got)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Errorf("only %d committed records checked", checked)
	}
}
