package reports

import (
	"fmt"
	"math"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// Fixture: the records a smoke sweep writes — tasks SST-2 and QQP, 2 seeds, every compared method, with costs
// by party, extrapolated crypto costs and attack results. Numbers are plausible, and chosen so that the
// expected captions can be computed by hand (see the tests).
const (
	devExamples  = 872 // inference costs cover the dev set
	tuneEpochs   = 2
	plainInferS  = 2.0    // plaintext cloud seconds for the dev set
	heInferS     = 6000.0 // he-ckks seconds for the dev set (extrapolated), 3,000× plaintext
	mpcInferS    = 400.0  // mpc-2pc, 200× plaintext
	cypherInferS = 2.15   // cyphertalk: 2.1 cloud + 0.05 client, 1.075× plaintext
)

type fixtureRun struct {
	method   string
	label    string // the spec's display name ("" = none)
	params   map[string]any
	tags     map[string]string
	extra    map[string]float64
	epsilon  float64
	acc      [2]float64 // per task: sst2, qqp (seed 1; seed 2 adds accStep)
	costs    []method.Cost
	attacks  []method.AttackResult
	noMetric bool
}

const accStep = 0.01

func tuneCost(cloudSeconds float64) method.Cost {
	return method.Cost{Phase: method.PhasePrivateTuning, CloudSeconds: cloudSeconds, ClientSeconds: 0.1 * cloudSeconds / 10,
		Units: tuneEpochs, UnitName: "epochs", BytesToCloud: 1 << 20}
}

func inferCost(client, cloud float64, extrapolated bool) method.Cost {
	c := method.Cost{Phase: method.PhasePrivateInference, ClientSeconds: client, CloudSeconds: cloud, Units: devExamples,
		UnitName: "examples", Extrapolated: extrapolated}
	if extrapolated {
		c.MeasuredUnits = 4
	}
	return c
}

func nnAttacks(top1 float64) []method.AttackResult {
	return []method.AttackResult{
		{Attack: "nn-cosine", Top1: top1, Top5: math.Min(1, top1*1.2), ContentTop1: top1 * 0.9, ContentTop5: top1, Tokens: 20000},
		{Attack: "frequency", Top1: 0.05, Top5: 0.12, ContentTop1: 0.02, ContentTop5: 0.06, Tokens: 20000},
	}
}

func fixtureRuns() []fixtureRun {
	var runs []fixtureRun
	for _, table := range []string{"trainable", "frozen"} {
		acc := [2]float64{0.82, 0.74}
		tuneSeconds := 140.0 // the trainable table costs more to tune
		if table == "frozen" {
			acc = [2]float64{0.78, 0.70}
			tuneSeconds = 120
		}
		runs = append(runs, fixtureRun{method: "plaintext", label: "plaintext", params: map[string]any{"table": table},
			tags: map[string]string{"table": table}, epsilon: math.NaN(), acc: acc,
			costs:   []method.Cost{tuneCost(tuneSeconds), inferCost(0, plainInferS, false)},
			attacks: []method.AttackResult{{Attack: "identity", Top1: 1, Top5: 1, ContentTop1: 1, ContentTop5: 1, Tokens: 20000}}})
	}
	for _, rec := range []string{"none", "awareness+function"} {
		for i, sigma := range []float64{0.5, 1, 2} {
			acc := [2]float64{0.80 - 0.05*float64(i), 0.72 - 0.03*float64(i)}
			costs := []method.Cost{
				{Phase: method.PhaseKeyGen, ClientSeconds: 0.01},
				{Phase: method.PhaseShaking, ClientSeconds: 0.5, BytesToCloud: 4 << 20},
			}
			if rec != "none" {
				acc[0] += 0.02
				acc[1] += 0.01
				costs = append(costs,
					method.Cost{Phase: method.PhaseAwareness, ClientSeconds: 30},
					method.Cost{Phase: method.PhaseFunction, CloudSeconds: 60})
			}
			costs = append(costs, tuneCost(125), inferCost(0.05, cypherInferS-0.05, false))
			runs = append(runs, fixtureRun{method: "cyphertalk", label: "CypherTalk",
				params:  map[string]any{"operator": "gaussian", "sigma": sigma, "recovery": rec},
				tags:    map[string]string{"operator": "gaussian", "operator_param": "sigma", "recovery": rec, "table": "frozen"},
				extra:   map[string]float64{"operator_value": sigma},
				epsilon: math.NaN(), acc: acc, costs: costs, attacks: nnAttacks(0.9 - 0.35*float64(i))})
		}
	}
	runs = append(runs, fixtureRun{method: "cyphertalk", label: "CypherTalk",
		params:  map[string]any{"chain": []any{"tilt", "gaussian"}, "recovery": "awareness+function"},
		tags:    map[string]string{"operator": "chain", "recovery": "awareness+function", "table": "frozen", "label": "chain tilt+gaussian"},
		epsilon: math.NaN(), acc: [2]float64{0.75, 0.69},
		costs: []method.Cost{{Phase: method.PhaseShaking, ClientSeconds: 0.7}, {Phase: method.PhaseAwareness, ClientSeconds: 30},
			{Phase: method.PhaseFunction, CloudSeconds: 60}, tuneCost(125), inferCost(0.05, 2.1, false)},
		attacks: nnAttacks(0.15)})
	runs = append(runs, fixtureRun{method: "dp-forward", params: map[string]any{"epsilon": 8.0}, epsilon: 8,
		acc: [2]float64{0.70, 0.66}, costs: []method.Cost{tuneCost(130), inferCost(0.3, 2.0, false)}, attacks: nnAttacks(0.3)})
	runs = append(runs, fixtureRun{method: "dp-sgd", params: map[string]any{"epsilon": 3.0}, epsilon: 3,
		acc: [2]float64{0.72, 0.67}, costs: []method.Cost{tuneCost(400), inferCost(0, 2.0, false)}})
	runs = append(runs, fixtureRun{method: "he-ckks", params: map[string]any{}, epsilon: math.NaN(),
		acc: [2]float64{0.76, 0.68}, costs: []method.Cost{
			{Phase: method.PhasePreprocessing, CloudSeconds: 300},
			{Phase: method.PhaseOffline, ClientSeconds: 4},
			inferCost(heInferS/2, heInferS/2, true)}})
	runs = append(runs, fixtureRun{method: "mpc-2pc", params: map[string]any{}, epsilon: math.NaN(),
		acc: [2]float64{0.77, 0.68}, costs: []method.Cost{
			{Phase: method.PhaseOffline, DealerSeconds: 50, Extrapolated: true},
			inferCost(mpcInferS/2, mpcInferS/2, true)}})
	return runs
}

// fixtureRecords expands fixtureRuns over tasks and seeds. Seed 2's accuracy is accStep higher and its
// costs 10% higher, so every statistic has a non-zero sd.
func fixtureRecords() []results.Record {
	var out []results.Record
	start := time.Date(2025, 11, 29, 12, 0, 0, 0, time.UTC)
	for ti, task := range []string{"sst2", "qqp"} {
		for _, run := range fixtureRuns() {
			for seed := uint64(1); seed <= 2; seed++ {
				f := 1 + 0.1*float64(seed-1)
				costs := make([]method.Cost, len(run.costs))
				for i, c := range run.costs {
					c.ClientSeconds *= f
					c.CloudSeconds *= f
					c.DealerSeconds *= f
					costs[i] = c
				}
				r := results.Record{
					RunID: fmt.Sprintf("%s-%s-%d-%v", task, run.method, seed, run.params), Experiment: "smoke",
					Task: task, Method: run.method, Label: run.label, Seed: seed, Preset: "nano", Pretrain: "default",
					MaxTrain: 200, MaxEval: devExamples, Epochs: tuneEpochs, LearningRate: 1e-4,
					Params: run.params, Metrics: map[string]float64{}, Extra: run.extra, Tags: run.tags,
					Epsilon: run.epsilon, Delta: math.NaN(), TrainExamples: 200, EvalExamples: devExamples,
					Backend: "go", GoVersion: "go1.26", Start: start, Duration: time.Minute,
					Costs: costs, Attacks: run.attacks,
				}
				if !run.noMetric {
					r.Metrics["accuracy"] = run.acc[ti] + accStep*float64(seed-1)
					if task == "qqp" {
						r.Metrics["f1"] = run.acc[ti] - 0.05
					}
				}
				if !math.IsNaN(run.epsilon) {
					r.Delta = 1e-5
				}
				out = append(out, r)
			}
		}
	}
	return out
}
