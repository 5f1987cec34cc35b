package experiments

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/models"
)

// ParseShard reads "i/n": shard i (0-based, as Slurm's $SLURM_ARRAY_TASK_ID of --array=0-(n-1)) of n.
func ParseShard(s string) (index, count int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		index, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			count, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || count < 1 || index < 0 || index >= count {
		return 0, 0, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return index, count, nil
}

// Shard returns shard index of count: the runs are split into count shards of about equal estimated cost
// (EstimateCost) by longest-processing-time-first greedy assignment (AssignShards), and the shard's runs are
// returned in their order in runs. The assignment depends only on the runs themselves — not on which results
// already exist — so a re-run or a retried array task gets the same share, and the shards 0..count-1 partition
// runs.
func Shard(runs []Run, index, count int) []Run {
	var out []Run
	for i, s := range AssignShards(runs, count) {
		if s == index {
			out = append(out, runs[i])
		}
	}
	return out
}

// AssignShards returns, for each run, the shard (0..count-1) it belongs to: the runs are taken in decreasing
// estimated cost (ties in their order in runs) and each goes to the shard with the least estimated cost so far
// (ties to the lowest shard index). The result is a deterministic function of the runs' settings and their order.
func AssignShards(runs []Run, count int) []int {
	if count < 1 {
		count = 1
	}
	// Runs that share a CypherTalk key implantation (the same key and recovery recipe: SST-2 and QQP runs, or
	// runs that differ only in how the table is tuned) are placed together: the first implants the key and caches
	// it, the others find it ready. A group costs one implantation plus each run's own work.
	groupOf := map[string]int{}
	var groups [][]int
	var costs []float64
	for i, r := range runs {
		key := implantationKey(r)
		g, ok := groupOf[key]
		if !ok || key == "" {
			g = len(groups)
			groups = append(groups, nil)
			costs = append(costs, implantationCost(r))
			if key != "" {
				groupOf[key] = g
			}
		}
		groups[g] = append(groups[g], i)
		costs[g] += EstimateCost(r) - implantationCost(r)
	}
	order := make([]int, len(groups))
	for g := range order {
		order[g] = g
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(costs[b], costs[a]) })
	load := make([]float64, count)
	shard := make([]int, len(runs))
	for _, g := range order {
		best := 0
		for s := 1; s < count; s++ {
			if load[s] < load[best] {
				best = s
			}
		}
		for _, i := range groups[g] {
			shard[i] = best
		}
		load[best] += costs[g]
	}
	return shard
}

// implantationKey identifies a CypherTalk run's key implantation: the base model, the key (its operators, the
// seed it is drawn from, π) and the recovery recipe — every parameter but how private tuning treats the table.
// "" for runs that implant nothing or do not cache what they implant (no pre-trained base model).
func implantationKey(r Run) string {
	if implantationCost(r) == 0 || r.Pretrain == "none" { // from random weights nothing is cached
		return ""
	}
	params := map[string]any{}
	for k, v := range r.Params {
		if k != "tune_table" && k != "key_seed" {
			params[k] = v
		}
	}
	seed := r.Seed
	if ks := paramNumber(r.Params["key_seed"]); ks > 0 {
		seed = uint64(ks)
	}
	b, err := json.Marshal(struct {
		Preset, Pretrain string
		Seed             uint64
		Params           map[string]any
	}{r.Preset, r.Pretrain, seed, params})
	if err != nil {
		return ""
	}
	return string(b)
}

// ShardLoads is the estimated cost of each of count shards as AssignShards splits runs, in EstimateCost's units.
func ShardLoads(runs []Run, count int) []float64 {
	if count < 1 {
		count = 1
	}
	load := make([]float64, count)
	for i, s := range AssignShards(runs, count) {
		load[s] += EstimateCost(runs[i])
	}
	return load
}

// The cost model's weights, in seconds of wall time on 2 CPU cores for the tiny preset. They were read off the
// committed records in measurements/ (SST-2 4,000 and QQP 8,000 training examples, 3 epochs, full dev sets;
// TestCostModelMatchesCommittedRecords checks that shards split by them balance the records' real times), the README's
// per-example figures for the cryptographic baselines and the smoke spec's runs on nano. Only the ratios between
// runs matter for sharding.
const (
	// costPerRun is a run's fixed set-up: loading the data, building the model, compiling the graphs.
	costPerRun = 10.0
	// costPerTrainExample is one training example for one epoch of plaintext fine-tuning (QQP 8,000 × 3 epochs
	// ≈ 550 s of the 576–643 s its plaintext runs took; SST-2 4,000 × 3 ≈ 276 s of 292–303 s).
	costPerTrainExample = 0.023
	// costPerEvalExample is one dev example's evaluation (plaintext inference, 0.015 s per example).
	costPerEvalExample = 0.015
	// costPerAttackRun and costPerAttackExample are the privacy attacks on a run's uploads ("attacks = true"):
	// DP-Forward with attacks took +220 s on QQP's 3,899 dev examples and +32 s on SST-2's 872.
	costPerAttackRun     = 10.0
	costPerAttackExample = 0.05
	// costPerStep is one step of CypherTalk's key implantation (awareness, output bias, function, table recovery:
	// 130 steps took 3–3.4 min; the masked-LM head over the whole vocabulary dominates) or of mpc-2pc's tuning on
	// shares (320 s per 125 steps).
	costPerStep = 1.5
	// costPerHEExample is one dev example under CKKS at 128-bit parameters (77 s); the insecure test parameters
	// ("test-…") take a quarter of it.
	costPerHEExample = 80.0
	// costPerMPCExample is one dev example under 2PC over loopback (0.12 s) with its dealer material.
	costPerMPCExample = 0.5
)

// costTrainFactor is each method's training cost relative to plaintext fine-tuning on the same examples
// (measurements/dp, QQP: DP-SGD 1.7×, dχ text 1.2×; CypherTalk fine-tunes the shaken model at about plaintext
// speed, its key implantation is counted in steps). The cryptographic baselines fine-tune a plaintext teacher
// and distill the crypto-friendly variant from it (2×); the bag-of-words reference trains no neural model (under
// a second on QQP 8,000). Methods not listed count as plaintext.
var costTrainFactor = map[string]float64{
	"bow":        0.001,
	"plaintext":  1.0,
	"dp-forward": 1.0,
	"dp-sgd":     1.7,
	"dx-text":    1.2,
	"cyphertalk": 0.9,
	"mpc-2pc":    2.0,
	"he-ckks":    2.0,
}

// cyphertalkSteps are CypherTalk's key-implantation steps where a run does not set them (shaking.DefaultConfig;
// table_steps only count with recovery_table = true).
var cyphertalkSteps = map[string]float64{"awareness_steps": 200, "bias_steps": 60, "function_steps": 200, "table_steps": 60}

// glueSizes are the training and dev examples of each task as stored (QQP: the re-split 23,497-row subset),
// used where a run takes all of them (max_train or max_eval 0). An unknown task counts as 10,000 / 1,000.
var glueSizes = map[string][2]int{
	"sst2": {67349, 872}, "qqp": {19598, 3899}, "mrpc": {3668, 408}, "rte": {2490, 277}, "cola": {8551, 1043},
	"stsb": {5749, 1500}, "qnli": {104743, 5463}, "mnli": {392702, 9815}, "wnli": {635, 71},
}

// presetScale is the preset's compute per example relative to tiny: encoder FLOPs per sequence
// (layers × length × (4·hidden² + 2·hidden·ffn + 2·length·hidden)), raised to at least floor for the work that
// does not shrink with the encoder (per-step overhead; the vocabulary-sized masked-LM head; CKKS key material).
// An unknown preset counts as tiny.
func presetScale(name string, floor float64) float64 {
	flops := func(p models.Preset) float64 {
		h, t := float64(p.Hidden), float64(p.MaxLen)
		return float64(p.Layers) * t * (4*h*h + 2*h*float64(p.FFN) + 2*t*h)
	}
	p, err := models.LookupPreset(name)
	tiny, err2 := models.LookupPreset("tiny")
	if err != nil || err2 != nil {
		return 1
	}
	return floor + (1-floor)*flops(p)/flops(tiny)
}

// EstimateCost is a run's estimated wall time in seconds on 2 CPU cores, from its method, preset, training and
// dev set sizes, epochs and the method parameters that add work (attacks, key-implantation and tuning steps,
// encrypted inference examples). On its own it ignores caches shared between runs (pre-training, implanted keys,
// crypto-friendly variants); AssignShards keeps runs that share an implanted key together and counts the
// implantation once. Used to balance shards; see the weights above.
func EstimateCost(r Run) float64 {
	size, ok := glueSizes[r.Task]
	if !ok {
		size = [2]int{10000, 1000}
	}
	train, eval := float64(size[0]), float64(size[1])
	if r.MaxTrain > 0 {
		train = min(train, float64(r.MaxTrain))
	}
	if r.MaxEval > 0 {
		eval = min(eval, float64(r.MaxEval))
	}
	factor, ok := costTrainFactor[r.Method]
	if !ok {
		factor = 1
	}
	epochs := float64(max(r.Epochs, 1))
	compute := factor*train*epochs*costPerTrainExample + eval*costPerEvalExample
	fixed := 0.0 // work that shrinks less with the model
	if b, _ := r.Params["attacks"].(bool); b {
		fixed += costPerAttackRun + eval*costPerAttackExample
	}
	fixed += paramNumber(r.Params["tuning_steps"]) * costPerStep
	if n := paramNumber(r.Params["inference_examples"]); n > 0 {
		switch r.Method {
		case "he-ckks":
			per := costPerHEExample
			if p, _ := r.Params["parameters"].(string); strings.HasPrefix(p, "test") {
				per /= 4
			}
			fixed += n * per
		case "mpc-2pc":
			fixed += n * costPerMPCExample
		}
	}
	return costPerRun + compute*presetScale(r.Preset, 0.1) + fixed*presetScale(r.Preset, 0.5) + implantationCost(r)
}

// implantationCost is the part of EstimateCost that is CypherTalk's key implantation (its recovery steps); 0 for
// other methods and for CypherTalk without recovery.
func implantationCost(r Run) float64 {
	if r.Method != "cyphertalk" {
		return 0
	}
	steps := 0.0
	for _, k := range []string{"awareness_steps", "bias_steps", "function_steps", "table_steps"} {
		v, set := r.Params[k]
		switch {
		case set:
			steps += paramNumber(v)
		case k != "table_steps" || r.Params["recovery_table"] == true:
			steps += cyphertalkSteps[k]
		}
	}
	return steps * costPerStep * presetScale(r.Preset, 0.5)
}

// paramNumber is a numeric parameter's value (TOML integers and floats), 0 for anything else.
func paramNumber(v any) float64 {
	switch x := v.(type) {
	case int64:
		return max(float64(x), 0)
	case int:
		return max(float64(x), 0)
	case float64:
		return max(x, 0)
	}
	return 0
}
