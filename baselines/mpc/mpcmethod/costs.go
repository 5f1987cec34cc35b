package mpcmethod

import (
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptorun"
	"github.com/cyphertalk/cyphertalk-go/baselines/mpc"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// backwardFactor is the assumed cost of the encoder's backward pass in forward passes (the FLOP count of
// back-propagation: two products per forward product), used only for the full-model estimate.
const backwardFactor = 2

// costs turns the measurements into the run's cost records and extras.
func (m *measurement) costs() {
	res, s := m.res, m.sample
	devN, n := m.v.Dev.N, len(s.Examples)

	// Private inference: the sample extrapolated to the dev set by length bucket.
	inf := extrapolate(s, m.online, s.Counts)
	infOff := extrapolate(s, m.offline, s.Counts)
	c := inf.Cost(method.PhasePrivateInference, devN, "examples")
	c.Extrapolated, c.MeasuredUnits = true, n
	c.Note = fmt.Sprintf("%d dev examples (stratified by length, mean %.1f tokens; dev mean %.1f) run over loopback TCP and checked "+
		"against the reference engine, extrapolated to the %d dev examples by length bucket%s; seconds are each party's busy time; "+
		"rounds are message latencies on the critical path; the client embeds its tokens in the clear (not counted)",
		n, s.TokensMean, s.DevTokensMean, devN, unmeasuredNote(s, s.Counts))
	res.Costs = append(res.Costs, c)
	cryptorun.RecordNetworks(res, "inference_seconds_per_example", traffic(inf), float64(devN))
	res.Extra["inference_seconds_per_example_measured"] = mean(field(m.online, func(c mpc.Counters) float64 { return c.WallSeconds }))
	res.Extra["inference_cpu_seconds_per_example"] = s.Extrapolate(m.cpu, s.Counts) / float64(devN)
	res.Extra["inference_cpu_seconds_per_example_measured"] = mean(m.cpu)
	res.Extra["inference_bytes_to_cloud_per_example"] = float64(inf.BytesToCloud) / float64(devN)
	res.Extra["inference_bytes_to_client_per_example"] = float64(inf.BytesToClient) / float64(devN)
	res.Extra["inference_rounds_per_example"] = float64(inf.Rounds) / float64(devN)
	res.Extra["inference_offline_seconds_per_example"] = infOff.WallSeconds / float64(devN)
	res.Extra["inference_dealer_bytes_per_example"] = float64(infOff.DealerBytesToClient+infOff.DealerBytesToCloud) / float64(devN)
	m.recordSample()

	// Offline: the set-up and the dealer's material for the dev set's inference.
	off := add(m.setup.Offline, infOff).Cost(method.PhaseOffline, devN, "examples")
	off.Extrapolated, off.MeasuredUnits = true, n
	off.Note = joinNote("dealer's correlated randomness for private inference of the dev set (extrapolated from the sample) and the session set-up "+
		"(PRG seeds, measured once); dealt per operation here, ahead of time in a deployment (same totals)", off.Note)
	res.Costs = append(res.Costs, off)
	res.Extra["offline_setup_seconds"] = m.setup.Offline.WallSeconds
	res.Extra["offline_setup_bytes"] = float64(m.setup.Offline.Bytes())

	m.tuningCosts()
}

// tuningCosts extrapolates one epoch of private tuning: stepsPerEpoch head steps (their mean) and one encoder
// forward pass per training example of those steps (per-bucket means of the inference sample, weighted by the
// training set's lengths).
func (m *measurement) tuningCosts() {
	res, s := m.res, m.sample
	train := m.v.Train
	B := m.v.Weights.Preset.BatchSize
	counts, err := cryptorun.BucketCounts(train, s.Buckets)
	if err != nil { // training examples are encoded at the same length as the dev set: cannot happen
		counts = map[int]int{s.Buckets[len(s.Buckets)-1]: train.N}
	}
	used := float64(m.stepsPerEpoch*B) / float64(train.N) // the last partial batch is dropped
	encOn := extrapolate(s, m.online, counts).Scaled(used)
	encOff := extrapolate(s, m.offline, counts).Scaled(used)
	encCPU := s.Extrapolate(m.cpu, counts) * used
	headOn, headOff, headCPU := mpc.Counters{}, mpc.Counters{}, 0.0
	if len(m.stepOnline) > 0 {
		headOn = meanCounters(m.stepOnline).Scaled(float64(m.stepsPerEpoch))
		headOff = meanCounters(m.stepOffline).Scaled(float64(m.stepsPerEpoch))
		headCPU = mean(m.stepCPU) * float64(m.stepsPerEpoch)
		res.Extra["tuning_head_seconds_per_step"] = mean(field(m.stepOnline, func(c mpc.Counters) float64 { return c.WallSeconds }))
		res.Extra["tuning_head_bytes_per_step"] = float64(meanCounters(m.stepOnline).Bytes())
	}
	tune := add(encOn, headOn)
	c := tune.Cost(method.PhasePrivateTuning, 1, "epochs")
	c.Extrapolated = true
	c.Note = fmt.Sprintf("one epoch (%d steps of %d) extrapolated: %d measured SGD steps of the classifier on shares (pooler∘head as one "+
		"affine map, softmax cross-entropy, update on shares) plus one private encoder forward pass per training example (per-bucket "+
		"costs of the inference sample). NOT measured: the encoder's backward pass — baselines/mpc has no gradient of the encoder on "+
		"shares — so this is the cost of tuning the head on a frozen encoder, a lower bound for full fine-tuning "+
		"(extra_tuning_seconds_per_epoch_full_model_estimate assumes backward = %d forward passes)",
		m.stepsPerEpoch, B, len(m.stepOnline), backwardFactor)
	res.Costs = append(res.Costs, c)
	tuneOff := add(encOff, headOff).Cost(method.PhaseOffline, 1, "epochs")
	tuneOff.Extrapolated = true
	tuneOff.Note = joinNote("dealer's correlated randomness for one epoch of private tuning (extrapolated as the private-tuning record)", tuneOff.Note)
	res.Costs = append(res.Costs, tuneOff)

	cryptorun.RecordNetworks(res, "tuning_seconds_per_epoch", traffic(tune), 1)
	res.Extra["tuning_steps_per_epoch"] = float64(m.stepsPerEpoch)
	res.Extra["tuning_cpu_seconds_per_epoch"] = encCPU + headCPU
	res.Extra["tuning_bytes_per_epoch"] = float64(tune.BytesToCloud + tune.BytesToClient)
	res.Extra["tuning_rounds_per_epoch"] = float64(tune.Rounds)
	res.Extra["tuning_offline_seconds_per_epoch"] = encOff.WallSeconds + headOff.WallSeconds
	res.Extra["tuning_seconds_per_epoch_full_model_estimate"] = tune.WallSeconds + backwardFactor*encOn.WallSeconds
}

// recordSample adds the sample's descriptors.
func (m *measurement) recordSample() {
	s, res := m.sample, m.res
	res.Extra["inference_examples_measured"] = float64(len(s.Examples))
	res.Extra["inference_tokens_mean_measured"] = s.TokensMean
	res.Extra["dev_tokens_mean"] = s.DevTokensMean
	res.Extra["reference_out_of_range"] = float64(s.OutOfRange)
	res.Extra["variant_reference_max_abs_diff"] = s.VariantDiff
	res.Extra["logit_tolerance"] = m.cfg.LogitTolerance
}

// traffic is the online part of counters as a figure for the network model.
func traffic(c mpc.Counters) cryptorun.Traffic {
	return cryptorun.Traffic{Seconds: c.WallSeconds, Bytes: c.BytesToCloud + c.BytesToClient, Latencies: c.Rounds}
}

// extrapolate scales per-example counters to a set with counts examples per bucket (cryptorun.Sample.Extrapolate
// field by field).
func extrapolate(s *cryptorun.Sample, cs []mpc.Counters, counts map[int]int) mpc.Counters {
	f := func(get func(mpc.Counters) float64) float64 { return s.Extrapolate(field(cs, get), counts) }
	i := func(get func(mpc.Counters) float64) int64 { return int64(math.Round(f(get))) }
	return mpc.Counters{
		WallSeconds:         f(func(c mpc.Counters) float64 { return c.WallSeconds }),
		ClientSeconds:       f(func(c mpc.Counters) float64 { return c.ClientSeconds }),
		CloudSeconds:        f(func(c mpc.Counters) float64 { return c.CloudSeconds }),
		DealerSeconds:       f(func(c mpc.Counters) float64 { return c.DealerSeconds }),
		BytesToCloud:        i(func(c mpc.Counters) float64 { return float64(c.BytesToCloud) }),
		BytesToClient:       i(func(c mpc.Counters) float64 { return float64(c.BytesToClient) }),
		DealerBytesToClient: i(func(c mpc.Counters) float64 { return float64(c.DealerBytesToClient) }),
		DealerBytesToCloud:  i(func(c mpc.Counters) float64 { return float64(c.DealerBytesToCloud) }),
		Rounds:              i(func(c mpc.Counters) float64 { return float64(c.Rounds) }),
	}
}

func field(cs []mpc.Counters, get func(mpc.Counters) float64) []float64 {
	out := make([]float64, len(cs))
	for i, c := range cs {
		out[i] = get(c)
	}
	return out
}

func add(a, b mpc.Counters) mpc.Counters {
	return mpc.Counters{
		WallSeconds:         a.WallSeconds + b.WallSeconds,
		ClientSeconds:       a.ClientSeconds + b.ClientSeconds,
		CloudSeconds:        a.CloudSeconds + b.CloudSeconds,
		DealerSeconds:       a.DealerSeconds + b.DealerSeconds,
		BytesToCloud:        a.BytesToCloud + b.BytesToCloud,
		BytesToClient:       a.BytesToClient + b.BytesToClient,
		DealerBytesToClient: a.DealerBytesToClient + b.DealerBytesToClient,
		DealerBytesToCloud:  a.DealerBytesToCloud + b.DealerBytesToCloud,
		Rounds:              a.Rounds + b.Rounds,
	}
}

func meanCounters(cs []mpc.Counters) mpc.Counters {
	var sum mpc.Counters
	for _, c := range cs {
		sum = add(sum, c)
	}
	return sum.Scaled(1 / float64(max(len(cs), 1)))
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

func joinNote(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

// composedHead is the variant's pooler and task head as one affine map (its pooler's tanh is the identity:
// cryptofriendly.MPCFormerApprox): W = W_p·W_h, b = b_p·W_h + b_h.
func composedHead(w *cryptofriendly.Weights) mpc.HeadWeights {
	d, k := w.Pooler.W.Rows, w.Head.W.Cols
	out := mpc.HeadWeights{W: cryptofriendly.NewMatrix(d, k), B: append([]float64(nil), w.Head.B...)}
	for i := range d {
		for j := range k {
			var sum float64
			for t := range w.Pooler.W.Cols {
				sum += w.Pooler.W.At(i, t) * w.Head.W.At(t, j)
			}
			out.W.Data[i*k+j] = sum
		}
	}
	for j := range k {
		for t := range w.Pooler.W.Cols {
			out.B[j] += w.Pooler.B[t] * w.Head.W.At(t, j)
		}
	}
	return out
}

// clsFeatures are the encoder's [CLS] rows (the pooler's input) of the given examples, one per row, computed by
// the reference engine on the variant with its pooler and head replaced by identities.
func clsFeatures(w *cryptofriendly.Weights, data *finetune.Encoded, rows []int) (cryptofriendly.Matrix, error) {
	d := w.Preset.Hidden
	id := cryptofriendly.Dense{W: cryptofriendly.NewMatrix(d, d), B: make([]float64, d)}
	for i := range d {
		id.W.Data[i*d+i] = 1
	}
	fw := *w
	fw.Pooler, fw.Head = id, id
	fw.Approx.PoolerTanh = []float64{0, 1}
	out := cryptofriendly.NewMatrix(0, d)
	ref := cryptofriendly.NewPlainEngine()
	for _, r := range rows {
		x, mask, err := fw.EmbedExample(data, r)
		if err != nil {
			return out, err
		}
		f, err := cryptofriendly.Forward(ref, &fw, x, mask)
		if err != nil {
			return out, fmt.Errorf("features of training example %d: %w", r, err)
		}
		out.Data = append(out.Data, f.Data...)
		out.Rows++
	}
	return out, nil
}

// logitSpread is the largest |z − mean(z)| of a row of logits x·W + b.
func logitSpread(x cryptofriendly.Matrix, h mpc.HeadWeights) float64 {
	k := h.W.Cols
	var spread float64
	z := make([]float64, k)
	for i := range x.Rows {
		var mean float64
		for j := range k {
			z[j] = h.B[j]
			for t := range x.Cols {
				z[j] += x.At(i, t) * h.W.At(t, j)
			}
			mean += z[j] / float64(k)
		}
		for j := range k {
			spread = max(spread, math.Abs(z[j]-mean))
		}
	}
	return spread
}

// unmeasuredNote says which buckets of counts the sample had no example of (their mean is the sample's).
func unmeasuredNote(s *cryptorun.Sample, counts map[int]int) string {
	u := s.Unmeasured(counts)
	if len(u) == 0 {
		return ""
	}
	return fmt.Sprintf(" (length buckets %v have no measured example and take the sample's mean)", u)
}
