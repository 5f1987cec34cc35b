package ckksmethod

import (
	"fmt"
	"math"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/baselines/ckks"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptorun"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// perExample are one example's figures to extrapolate. The serialisation time is split evenly between the two
// parties (each marshals what it sends and unmarshals what it receives).
type perExample struct {
	client, cloud, wall, cpu float64
	toCloud, toClient        float64
	rounds, refreshes        float64
	nonlinear, outOfRange    float64
}

func (m *measurement) perExample() []perExample {
	out := make([]perExample, len(m.online))
	for i, c := range m.online {
		out[i] = perExample{client: c.ClientSeconds + c.WireSeconds/2, cloud: c.CloudSeconds + c.WireSeconds/2, wall: m.wall[i], cpu: m.cpu[i],
			toCloud: float64(c.BytesToCloud), toClient: float64(c.BytesToClient), rounds: float64(c.Rounds), refreshes: float64(c.Refreshes),
			nonlinear: float64(c.ClientNonlinear), outOfRange: float64(c.OutOfRange)}
	}
	return out
}

// extrapolated is the sample's figures scaled to a set with counts examples per bucket, times factor.
func (m *measurement) extrapolated(counts map[int]int, factor float64) perExample {
	xs := m.perExample()
	f := func(get func(perExample) float64) float64 {
		vals := make([]float64, len(xs))
		for i, x := range xs {
			vals[i] = get(x)
		}
		return m.sample.Extrapolate(vals, counts) * factor
	}
	return perExample{
		client: f(func(x perExample) float64 { return x.client }), cloud: f(func(x perExample) float64 { return x.cloud }),
		wall: f(func(x perExample) float64 { return x.wall }), cpu: f(func(x perExample) float64 { return x.cpu }),
		toCloud: f(func(x perExample) float64 { return x.toCloud }), toClient: f(func(x perExample) float64 { return x.toClient }),
		rounds: f(func(x perExample) float64 { return x.rounds }), refreshes: f(func(x perExample) float64 { return x.refreshes }),
		nonlinear: f(func(x perExample) float64 { return x.nonlinear }), outOfRange: f(func(x perExample) float64 { return x.outOfRange }),
	}
}

func (x perExample) cost(phase string, units int, unitName string) method.Cost {
	return method.Cost{Phase: phase, ClientSeconds: x.client, CloudSeconds: x.cloud, BytesToCloud: int64(math.Round(x.toCloud)),
		BytesToClient: int64(math.Round(x.toClient)), Rounds: int64(math.Round(x.rounds)), Units: units, UnitName: unitName}
}

// traffic is the figure for the network model: two one-way latencies per round trip, plus the upload of each
// query and the download of its logits (examples of them).
func (x perExample) traffic(examples float64) cryptorun.Traffic {
	return cryptorun.Traffic{Seconds: x.wall, Bytes: int64(math.Round(x.toCloud + x.toClient)), Latencies: int64(math.Round(2*x.rounds + 2*examples))}
}

// costs turns the measurements into the run's cost records and extras.
func (m *measurement) costs() {
	res, s := m.res, m.sample
	devN, n := m.v.Dev.N, len(s.Examples)

	// Offline: key generation and evaluation-key upload, per engine built (measured).
	var off ckks.Costs
	strides := make([]int, 0, len(m.engines))
	for stride, e := range m.engines {
		o := e.Offline()
		off.ClientSeconds += o.ClientSeconds
		off.CloudSeconds += o.CloudSeconds
		off.WireSeconds += o.WireSeconds
		off.BytesToCloud += o.BytesToCloud
		off.EvaluationKeys += o.EvaluationKeys
		strides = append(strides, stride)
		params := e.Parameters()
		res.Extra["ckks_log_n"] = float64(params.LogN())
		res.Extra["ckks_log_qp"] = params.LogQP()
		res.Extra["ckks_levels"] = float64(params.MaxLevel())
	}
	slices.Sort(strides)
	offCost := off.MethodCost(method.PhaseOffline, len(m.engines), "key sets")
	offCost.ClientSeconds += off.WireSeconds / 2
	offCost.CloudSeconds += off.WireSeconds / 2
	offCost.Note = fmt.Sprintf("client's key generation and upload of %d evaluation keys (relinearisation + Galois, %.0f MB) for row strides %s "+
		"(%s), measured; once per client and stride", off.EvaluationKeys, float64(off.BytesToCloud)/1e6, joinInts(strides), m.cfg.Parameters)
	res.Costs = append(res.Costs, offCost)
	res.Extra["evaluation_key_bytes"] = float64(off.BytesToCloud)

	// Private inference: the sample extrapolated to the dev set by bucket.
	inf := m.extrapolated(s.Counts, 1)
	c := inf.cost(method.PhasePrivateInference, devN, "examples")
	c.Extrapolated, c.MeasuredUnits = true, n
	c.Note = fmt.Sprintf("%d dev examples (stratified by length, mean %.1f tokens; dev mean %.1f) encrypted, evaluated at row strides %s "+
		"and decrypted, each checked against the reference engine; extrapolated to the %d dev examples by bucket%s; rounds are client "+
		"round trips (Reciprocal/InvSqrt and depth refreshes), the query's upload and the logits' download not counted; "+
		"serialisation time split evenly between the parties; the client embeds its tokens in the clear (not counted)",
		n, s.TokensMean, s.DevTokensMean, res.Tags["row_strides"], devN, unmeasuredNote(s, s.Counts))
	res.Costs = append(res.Costs, c)
	cryptorun.RecordNetworks(res, "inference_seconds_per_example", inf.traffic(float64(devN)), float64(devN))
	res.Extra["inference_seconds_per_example_measured"] = mean(m.wall)
	res.Extra["inference_cpu_seconds_per_example"] = inf.cpu / float64(devN)
	res.Extra["inference_cpu_seconds_per_example_measured"] = mean(m.cpu)
	res.Extra["inference_bytes_to_cloud_per_example"] = inf.toCloud / float64(devN)
	res.Extra["inference_bytes_to_client_per_example"] = inf.toClient / float64(devN)
	res.Extra["inference_rounds_per_example"] = inf.rounds / float64(devN)
	res.Extra["inference_refreshes_per_example"] = inf.refreshes / float64(devN)
	res.Extra["inference_client_nonlinear_per_example"] = inf.nonlinear / float64(devN)
	var outOfRange int64
	for _, o := range m.online {
		outOfRange += o.OutOfRange
	}
	res.Extra["inference_out_of_range"] = float64(outOfRange)
	res.Extra["inference_examples_measured"] = float64(n)
	res.Extra["inference_tokens_mean_measured"] = s.TokensMean
	res.Extra["dev_tokens_mean"] = s.DevTokensMean
	res.Extra["reference_out_of_range"] = float64(s.OutOfRange)
	res.Extra["variant_reference_max_abs_diff"] = s.VariantDiff
	res.Extra["logit_tolerance"] = m.cfg.LogitTolerance

	// Private tuning: one encrypted forward per training example of an epoch, times 1 + backward factor.
	train := m.v.Train
	B := m.v.Weights.Preset.BatchSize
	steps := train.N / B
	counts, err := cryptorun.BucketCounts(train, s.Buckets)
	if err != nil { // training examples are encoded at the dev set's length: cannot happen
		counts = map[int]int{s.Buckets[len(s.Buckets)-1]: train.N}
	}
	factor := (1 + m.cfg.BackwardFactor) * float64(steps*B) / float64(max(train.N, 1))
	tune := m.extrapolated(counts, factor)
	tc := tune.cost(method.PhasePrivateTuning, 1, "epochs")
	tc.Extrapolated = true
	tc.Note = fmt.Sprintf("NOT measured: there is no encrypted backward pass (THE-X and this engine do inference only). One epoch "+
		"(%d steps of %d examples) = one encrypted forward pass per training example (the inference sample's per-bucket costs, "+
		"weighted by the training set's lengths) × (1 + %g), assuming a backward pass costs %g forward passes (the FLOP ratio of "+
		"back-propagation); the gradient's decryption and re-encryption by the client and any bootstrapping are not counted",
		steps, B, m.cfg.BackwardFactor, m.cfg.BackwardFactor)
	res.Costs = append(res.Costs, tc)
	cryptorun.RecordNetworks(res, "tuning_seconds_per_epoch", tune.traffic(float64(steps*B)*(1+m.cfg.BackwardFactor)), 1)
	res.Extra["tuning_cpu_seconds_per_epoch"] = tune.cpu
	res.Extra["tuning_bytes_per_epoch"] = tune.toCloud + tune.toClient
	res.Extra["tuning_steps_per_epoch"] = float64(steps)
	res.Extra["tuning_backward_factor"] = m.cfg.BackwardFactor
}

// unmeasuredNote says which buckets of counts the sample had no example of (their mean is the sample's).
func unmeasuredNote(s *cryptorun.Sample, counts map[int]int) string {
	u := s.Unmeasured(counts)
	if len(u) == 0 {
		return ""
	}
	return fmt.Sprintf(" (buckets %s have no measured example and take the sample's mean)", joinInts(u))
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}
