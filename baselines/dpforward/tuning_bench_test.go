package dpforward

import (
	"math"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import

	"github.com/cyphertalk/cyphertalk-go/baselines/dpsgd"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// BenchmarkTuningStep measures one private-tuning step of each DP method beside a plaintext step, side by side
// in one process, on the tiny preset and real SST-2 training batches of 32, token table frozen in all three (as
// the dp spec runs them), ε = 8, δ = 1/4000, C = 1:
//
//   - plaintext: finetune's step (forward, backward, AdamW);
//   - DP-Forward: the client's part (embedding layer, clip, Gaussian noise: per batch when the table trains and
//     noise is fresh every step; once per example over the whole tuning when it is frozen) and the cloud's step on
//     the noisy embedding outputs, timed separately;
//   - DP-SGD: one accumulation of 32 clipped per-example gradients (the model built once per example, docs/design.md
//     §8) and the noisy update, for a batch of exactly 32. The sweep samples Poisson batches of expected size
//     32, and one of more than 32 takes a second accumulation: dpsgd-poisson/plain adds the expected extra
//     accumulations at n = 4,000 (computed from the binomial distribution) to give the sweep's ratio.
//
// The three alternate within every iteration, in rotating order, so that load on a shared machine hits all
// three; it reports each one's seconds per step and the ratios to plaintext. Run:
// go test -run '^$' -bench TuningStep -benchtime 6x ./baselines/dpforward/
func BenchmarkTuningStep(b *testing.B) {
	dir, tok := testkit.Tokenizer(b)
	set, err := datasets.Load(dir, "sst2", "train")
	if err != nil {
		b.Fatal(err)
	}
	info, err := datasets.Task("sst2")
	if err != nil {
		b.Fatal(err)
	}
	p, err := models.LookupPreset("tiny")
	if err != nil {
		b.Fatal(err)
	}
	B, T, d, k := p.BatchSize, p.MaxLen, p.Hidden, finetune.NumOutputs(info)
	enc := finetune.Encode(tok, set.Examples[:B*8], T)
	newModel := func() *models.Model {
		m, err := models.New(p, tok.VocabSize(), 1)
		if err != nil {
			b.Fatal(err)
		}
		m.SetTokenTableTrainable(false)
		return m
	}
	optim := func(scope string) models.Optim {
		return models.Optim{LearningRate: 2e-3, TotalSteps: 1000, WarmupSteps: 10, WeightDecay: 0.01, ClipNorm: 1, Scope: scope}
	}
	sigma, err := NoiseStd(8, 1.0/4000, 1)
	if err != nil {
		b.Fatal(err)
	}

	plain, err := finetune.NewTrainer(newModel(), k, optim("adam_finetune"))
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Finalize()

	fwdModel := newModel()
	client, err := NewClient(fwdModel, 0, 1, sigma)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Finalize()
	cloud, err := newTrainStep(fwdModel, optim("adam_dpforward_cloud"), true, func(c *context.Context, in []*Node) (*Node, []*Node) {
		return finetune.TaskLoss(upperLogits(fwdModel, c, in[0], in[1], 0, k), in[2], in[3], k), nil
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cloud.finalize()
	rng := NoiseRNG(1, "bench")

	sgd, err := dpsgd.NewEngine(newModel(), k, 1, 1.0, optim("adam_dpsgd"))
	if err != nil {
		b.Fatal(err)
	}
	defer sgd.Finalize()

	step := 0
	batch := func() ([]int, []*tensors.Tensor) {
		lo := (step % 8) * B
		idx := rowRange(lo, lo+B)
		return idx, enc.Batch(idx, B, false)
	}
	var clientSecs, accumSecs float64
	steps := []func(){
		func() { // plaintext
			_, in := batch()
			if _, _, err := plain.Step(in...); err != nil {
				b.Fatal(err)
			}
		},
		func() { // DP-Forward: the client's perturbation, then the cloud's step
			idx, in := batch()
			start := time.Now()
			up, err := client.Perturb(enc, idx, rng)
			if err != nil {
				b.Fatal(err)
			}
			clientSecs += time.Since(start).Seconds()
			if _, _, err := cloud.run(tensors.FromFlatDataAndDimensions(up, B, T, d), in[2], in[3], in[4]); err != nil {
				b.Fatal(err)
			}
		},
		func() { // DP-SGD: clipped per-example gradients of one batch, then the noisy update
			_, in := batch()
			start := time.Now()
			if _, _, err := sgd.Accumulate(in); err != nil {
				b.Fatal(err)
			}
			accumSecs += time.Since(start).Seconds()
			if _, err := sgd.Apply(float64(B)); err != nil {
				b.Fatal(err)
			}
		},
	}
	for _, s := range steps { // compile every graph before timing
		s()
	}
	clientSecs, accumSecs = 0, 0
	secs := make([]float64, len(steps))
	iters := 0
	for i := 0; b.Loop(); i++ {
		iters++
		step++
		for j := range steps {
			s := (i + j) % len(steps)
			start := time.Now()
			steps[s]()
			secs[s] += time.Since(start).Seconds()
		}
	}
	n := float64(iters)
	b.ReportMetric(secs[0]/n, "plain-s/step")
	b.ReportMetric(secs[1]/n, "dpforward-s/step")
	b.ReportMetric(clientSecs/n, "dpforward-client-s/step")
	b.ReportMetric(secs[2]/n, "dpsgd-s/step")
	b.ReportMetric(secs[1]/secs[0], "dpforward/plain")
	b.ReportMetric((secs[1]-clientSecs)/secs[0], "dpforward-cloud/plain")
	b.ReportMetric(secs[2]/secs[0], "dpsgd/plain")
	// A Poisson batch (rate B/n) larger than B takes ⌈size/B⌉ accumulations; the expected number per step at
	// n = 4,000 (SST-2's training set in the dp spec) turns the fixed-batch step into the sweep's.
	accums := expectedMicroBatches(4000, B)
	b.ReportMetric(accums, "dpsgd-accumulations/step")
	b.ReportMetric((secs[2]+(accums-1)*accumSecs)/secs[0], "dpsgd-poisson/plain")
}

// expectedMicroBatches is E[max(1, ⌈X/B⌉)] for a Poisson-sampled batch X ~ Binomial(n, B/n): the accumulation
// steps DP-SGD takes per update (an empty batch still takes one, noise only).
func expectedMicroBatches(n, B int) float64 {
	q := float64(B) / float64(n)
	var e float64
	logPmf := float64(n) * math.Log1p(-q) // log P(X = 0)
	for x := 0; x <= n; x++ {
		if x > 0 {
			logPmf += math.Log(float64(n-x+1)/float64(x)) + math.Log(q) - math.Log1p(-q)
		}
		e += math.Exp(logPmf) * float64(max(1, (x+B-1)/B))
	}
	return e
}
