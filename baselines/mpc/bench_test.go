package mpc

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// reportStats reports per-operation traffic and the network projections next to ns/op.
func reportStats(b *testing.B, d Stats) {
	n := float64(b.N)
	b.ReportMetric(float64(d.Online.BytesToCloud)/n, "B-to-cloud/op")
	b.ReportMetric(float64(d.Online.BytesToClient)/n, "B-to-client/op")
	b.ReportMetric(float64(d.Online.Rounds)/n, "rounds/op")
	b.ReportMetric(float64(d.Offline.Bytes())/n, "dealer-B/op")
	b.ReportMetric(d.Offline.WallSeconds/n*1e3, "offline-ms/op")
	b.ReportMetric(LAN().Estimate(d.Online)/n*1e3, "lan-ms/op")
	b.ReportMetric(WAN().Estimate(d.Online)/n*1e3, "wan-ms/op")
}

// BenchmarkLinear is a T=64, d=128 → 128 Linear on shares, next to the same product in float64 (x-plain is the
// ratio of online wall time to it). The dealer's share of the time is reported apart (offline-ms/op).
func BenchmarkLinear(b *testing.B) {
	const T, d = 64, 128
	rng := rand.New(rand.NewPCG(20, 20))
	x := randMatrix(rng, T, d, -1, 1)
	w := randMatrix(rng, d, d, -0.1, 0.1)
	bias := randMatrix(rng, 1, d, -0.1, 0.1).Data
	linearPlain := func() {
		out := plainMatMul(x, w)
		for i := range out.Data {
			out.Data[i] += bias[i%d]
		}
	}
	// The reference time for x-plain: the fastest of 20 plaintext runs (testing.Benchmark cannot nest).
	plainNs := math.Inf(1)
	for range 20 {
		start := time.Now()
		linearPlain()
		plainNs = min(plainNs, float64(time.Since(start).Nanoseconds()))
	}
	b.Run("plain-float64", func(b *testing.B) {
		for b.Loop() {
			linearPlain()
		}
	})
	for _, mode := range []Truncation{TruncDealer, TruncLocal} {
		b.Run("shares-trunc-"+mode.String(), func(b *testing.B) {
			e := newTestEngine(b, mode)
			xs, err := e.Input(x)
			if err != nil {
				b.Fatal(err)
			}
			before := e.Stats()
			for b.Loop() {
				if _, err := e.Linear(xs, w, bias); err != nil {
					b.Fatal(err)
				}
			}
			d := e.Stats().Sub(before)
			reportStats(b, d)
			b.ReportMetric(d.Online.WallSeconds*1e9/float64(b.N)/plainNs, "x-plain")
		})
	}
}

// BenchmarkMatMulShares is the attention-shaped product of two private 64×128 and 128×64 matrices.
func BenchmarkMatMulShares(b *testing.B) {
	rng := rand.New(rand.NewPCG(21, 21))
	e := newTestEngine(b, TruncDealer)
	x, _ := e.Input(randMatrix(rng, 64, 128, -1, 1))
	y, _ := e.Input(randMatrix(rng, 128, 64, -1, 1))
	before := e.Stats()
	for b.Loop() {
		if _, err := e.MatMul(x, y); err != nil {
			b.Fatal(err)
		}
	}
	reportStats(b, e.Stats().Sub(before))
}

// BenchmarkTrainStep is one private training step (batch 32, 128 features, 2 classes) of the softmax head and of
// the head with a 64-unit Quad layer: per-step seconds, bytes and rounds, the unit an epoch extrapolates from
// (steps per epoch × per step: bytes and rounds depend only on shapes).
func BenchmarkTrainStep(b *testing.B) {
	const batch, inputs, classes = 32, 128, 2
	rng := rand.New(rand.NewPCG(22, 22))
	x := randMatrix(rng, batch, inputs, -1, 1)
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(classes)
	}
	for _, hidden := range []int{0, 64} {
		name := map[int]string{0: "softmax-regression", 64: "quad-layer-64"}[hidden]
		b.Run(name, func(b *testing.B) {
			e := newTestEngine(b, TruncDealer)
			width := inputs
			init := HeadWeights{B: make([]float64, classes)}
			if hidden > 0 {
				width = hidden
				init.W1, init.B1 = randMatrix(rng, inputs, hidden, -0.1, 0.1), make([]float64, hidden)
			}
			init.W = cryptofriendly.NewMatrix(width, classes)
			head, err := NewHead(e, HeadConfig{Inputs: inputs, Hidden: hidden, Classes: classes}, init)
			if err != nil {
				b.Fatal(err)
			}
			before := e.Stats()
			for b.Loop() {
				if err := head.TrainStep(x, labels, 0.1); err != nil {
					b.Fatal(err)
				}
			}
			reportStats(b, e.Stats().Sub(before))
		})
	}
}
