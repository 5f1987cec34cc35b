package mpc

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// randomWeights is a crypto-friendly encoder of preset p's shape with random weights over the full WordPiece
// vocabulary (LayerNorm gains near 1): no gomlx training involved, so the tests are about the engine, not the
// model.
func randomWeights(p models.Preset, vocab int, rng *rand.Rand) *cryptofriendly.Weights {
	d := p.Hidden
	mat := func(r, c int, std float64) cryptofriendly.Matrix {
		m := cryptofriendly.NewMatrix(r, c)
		for i := range m.Data {
			m.Data[i] = rng.NormFloat64() * std
		}
		return m
	}
	dense := func(in, out int) cryptofriendly.Dense {
		return cryptofriendly.Dense{W: mat(in, out, 1/math.Sqrt(float64(in))), B: mat(1, out, 0.1).Data}
	}
	norm := func() cryptofriendly.Norm {
		n := cryptofriendly.Norm{Gain: mat(1, d, 0.1).Data, Offset: mat(1, d, 0.1).Data}
		for j := range n.Gain {
			n.Gain[j]++
		}
		return n
	}
	en := norm()
	w := &cryptofriendly.Weights{Preset: p, VocabSize: vocab, Approx: cryptofriendly.MPCFormerApprox(),
		Token: mat(vocab, d, 0.5), Position: mat(p.MaxLen, d, 0.1), Segment: mat(2, d, 0.1), EmbeddingNorm: &en,
		Pooler: dense(d, d), Head: dense(d, 2)}
	for range p.Layers {
		w.Layers = append(w.Layers, cryptofriendly.Layer{Query: dense(d, d), Key: dense(d, d), Value: dense(d, d),
			Output: dense(d, d), AttentionNorm: norm(), FFNNorm: norm(), FFNIn: dense(d, p.FFN), FFNOut: dense(p.FFN, d)})
	}
	return w
}

// realWeights returns random weights of preset p's shape calibrated on 32 real SST-2 dev sentences, and the
// tokenizer and dev set.
func realWeights(tb testing.TB, p models.Preset, seed uint64) (*cryptofriendly.Weights, *wordpiece.Tokenizer, []datasets.Example) {
	tb.Helper()
	dir, tok := testkit.Tokenizer(tb)
	dev, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		tb.Fatal(err)
	}
	w := randomWeights(p, tok.VocabSize(), rand.New(rand.NewPCG(seed, seed)))
	calib := finetune.Encode(tok, datasets.Subsample(dev.Examples, 32, seed), p.MaxLen)
	if err := cryptofriendly.Calibrate(w, calib, 2); err != nil {
		tb.Fatal(err)
	}
	return w, tok, dev.Examples
}

// TestForwardOnSharesMatchesPlain: private inference of real SST-2 dev sentences through a 1-layer crypto-friendly
// encoder (cryptofriendly.Forward: attention with 2Quad, Newton reciprocals and inverse square roots, the Quad
// GELU) gives the reference engine's logits on shares, with calibrated ranges.
func TestForwardOnSharesMatchesPlain(t *testing.T) {
	p := models.Preset{Name: "mpc-test", Hidden: 8, Layers: 1, Heads: 2, FFN: 16, MaxLen: 16, BatchSize: 1}
	w, tok, dev := realWeights(t, p, 13)
	data := finetune.Encode(tok, datasets.Subsample(dev, 3, 14), w.Preset.MaxLen)

	e := newTestEngine(t, TruncDealer)
	for n := range data.N {
		x, mask, err := w.EmbedExample(data, n)
		if err != nil {
			t.Fatal(err)
		}
		want, err := cryptofriendly.Forward(cryptofriendly.NewPlainEngine(), w, x, mask)
		if err != nil {
			t.Fatal(err)
		}
		before := e.Stats()
		got, err := cryptofriendly.Forward(e, w, x, mask)
		if err != nil {
			t.Fatal(err)
		}
		d := e.Stats().Sub(before)
		tokens := 0
		for _, m := range mask {
			if m {
				tokens++
			}
		}
		t.Logf("example %d (%d tokens): logits %.4f on shares, %.4f plain; online %d B, %d rounds; offline %d B",
			n, tokens, got.Data, want.Data, d.Online.Bytes(), d.Online.Rounds, d.Offline.Bytes())
		checkClose(t, "logits", got, want, func(i int) float64 { return 1e-2 * max(1, math.Abs(want.Data[i])) })
	}
}

// BenchmarkForwardTiny is private inference of one real SST-2 dev sentence through an encoder of the tiny
// preset's shape (d = 128, 2 layers, 2 heads, FFN 512; random calibrated weights) on shares, next to the
// reference engine (x-plain). Costs are per sentence.
func BenchmarkForwardTiny(b *testing.B) {
	p, err := models.LookupPreset("tiny")
	if err != nil {
		b.Fatal(err)
	}
	w, tok, dev := realWeights(b, p, 30)
	data := finetune.Encode(tok, datasets.Subsample(dev, 8, 31), p.MaxLen)
	examples := make([]cryptofriendly.Matrix, data.N)
	masks := make([][]bool, data.N)
	tokens := 0
	for n := range data.N {
		if examples[n], masks[n], err = w.EmbedExample(data, n); err != nil {
			b.Fatal(err)
		}
		for _, m := range masks[n] {
			if m {
				tokens++
			}
		}
	}
	plainNs := math.Inf(1)
	for range 3 {
		start := time.Now()
		for n := range data.N {
			if _, err := cryptofriendly.Forward(cryptofriendly.NewPlainEngine(), w, examples[n], masks[n]); err != nil {
				b.Fatal(err)
			}
		}
		plainNs = min(plainNs, float64(time.Since(start).Nanoseconds())/float64(data.N))
	}
	e := newTestEngine(b, TruncDealer)
	before := e.Stats()
	i := 0
	for b.Loop() {
		if _, err := cryptofriendly.Forward(e, w, examples[i%data.N], masks[i%data.N]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	d := e.Stats().Sub(before)
	reportStats(b, d)
	b.ReportMetric(d.Online.WallSeconds*1e9/float64(b.N)/plainNs, "x-plain")
	b.ReportMetric(float64(tokens)/float64(data.N), "tokens/sentence")
}
