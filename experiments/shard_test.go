package experiments

import (
	"fmt"
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
	more("implantation steps", func(r *Run) {
		r.Method = "cyphertalk"
		r.Params = map[string]any{"awareness_steps": int64(50), "bias_steps": int64(0), "function_steps": int64(0)}
	})
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

// TestCostModelMatchesCommittedRecords checks the cost model where it matters, on the wall times of the committed
// records: split into 4 shards by estimated cost, every experiment's real runs finish within 1.5× of the ideal
// even split (or 1.1× its longest run when one run alone exceeds that), and not later than round robin (by run
// order) would have by more than a tenth. (Absolute estimates are not compared: runs that share a cached key implantation, another machine
// or another commit change a run's seconds, not the balance.)
func TestCostModelMatchesCommittedRecords(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "measurements", "*"))
	const shards = 4
	checked := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(filepath.Join(dir, "runs")); err != nil || !fi.IsDir() {
			continue
		}
		recs, err := results.ReadExperiment(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(recs) < 2*shards {
			continue
		}
		runs := make([]Run, len(recs))
		secs := make([]float64, len(recs))
		total, longest := 0.0, 0.0
		for i, rec := range recs {
			runs[i] = Run{Method: rec.Method, Run: method.Run{ID: rec.RunID, Task: rec.Task, Preset: rec.Preset, Pretrain: rec.Pretrain, Seed: rec.Seed,
				MaxTrain: rec.MaxTrain, MaxEval: rec.MaxEval, Epochs: rec.Epochs, Params: rec.Params}}
			secs[i] = rec.Duration.Seconds()
			total += secs[i]
			longest = max(longest, secs[i])
		}
		makespan := func(assign func(i int) int) float64 {
			load := make([]float64, shards)
			for i := range runs {
				load[assign(i)] += secs[i]
			}
			return slices.Max(load)
		}
		byCost := AssignShards(runs, shards)
		got := makespan(func(i int) int { return byCost[i] })
		robin := makespan(func(i int) int { return i % shards })
		bound := max(1.5*total/shards, 1.1*longest)
		if got > 1.1*robin || got > bound {
			t.Errorf("%s: the longest of %d shards by estimated cost takes %.0f s of real time; round robin %.0f s, bound %.0f s (total %.0f s, longest run %.0f s)",
				filepath.Base(dir), shards, got, robin, bound, total, longest)
		}
		checked++
	}
	if checked < 2 {
		t.Errorf("only %d committed experiments checked", checked)
	}
}

// TestRunsSharingAnImplantationShareAShard: CypherTalk runs with one key and recovery recipe (here SST-2 and QQP,
// and the table tuned frozen or trainable) land in one shard, so the key is implanted once; other keys and runs
// from random weights (nothing cached) are spread.
func TestRunsSharingAnImplantationShareAShard(t *testing.T) {
	p := func(ops string, tune bool) map[string]any {
		return map[string]any{"ops": ops, "tune_table": tune, "awareness_steps": int64(50)}
	}
	var runs []Run
	for _, ops := range []string{"gaussian:sigma=0.5", "gaussian:sigma=1", "gaussian:sigma=2", "laplace:b=1"} {
		for _, task := range []string{"sst2", "qqp"} {
			for _, tune := range []bool{false, true} {
				runs = append(runs, costRun(fmt.Sprintf("%s-%s-%v", ops, task, tune), "cyphertalk", task, 1000, 0, p(ops, tune)))
			}
		}
	}
	shard := AssignShards(runs, 4)
	seen := map[string]int{}
	used := map[int]bool{}
	for i, r := range runs {
		ops := r.Params["ops"].(string)
		if s, ok := seen[ops]; ok && s != shard[i] {
			t.Errorf("key %s implanted in shards %d and %d", ops, s, shard[i])
		}
		seen[ops] = shard[i]
		used[shard[i]] = true
	}
	if len(used) != 4 {
		t.Errorf("4 keys over %d of 4 shards", len(used))
	}
	if implantationKey(runs[0]) == implantationKey(costRun("y", "cyphertalk", "sst2", 1000, 0, map[string]any{"ops": "gaussian:sigma=0.5", "awareness_steps": int64(50), "key_seed": int64(9)})) {
		t.Error("a different key seed shares the implantation")
	}
	scratch := runs[0]
	scratch.Pretrain = "none"
	if implantationKey(scratch) != "" {
		t.Error("a run from random weights groups with others, though nothing is cached for it")
	}
}
