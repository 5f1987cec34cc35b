package mpc

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
)

// plainHead is the float64 reference of Head: the same steps (row-centred logits, Exp's limit approximation, the
// Quad layer), with exact division where the engine runs Newton.
type plainHead struct {
	cfg HeadConfig
	w   HeadWeights
}

func cloneWeights(w HeadWeights) HeadWeights {
	c := func(m cryptofriendly.Matrix) cryptofriendly.Matrix {
		return cryptofriendly.Matrix{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
	}
	return HeadWeights{W1: c(w.W1), B1: slices.Clone(w.B1), W: c(w.W), B: slices.Clone(w.B)}
}

func addBias(m cryptofriendly.Matrix, b []float64) cryptofriendly.Matrix {
	return mapMatrix(m, func(i int, v float64) float64 { return v + b[i%m.Cols] })
}

func (p *plainHead) forward(x cryptofriendly.Matrix) (a, h, z cryptofriendly.Matrix) {
	h = x
	if p.cfg.Hidden > 0 {
		a = addBias(plainMatMul(x, p.w.W1), p.w.B1)
		q := quadCoeffs()
		h = mapMatrix(a, func(_ int, v float64) float64 { return q[0] + q[1]*v + q[2]*v*v })
	}
	return a, h, addBias(plainMatMul(h, p.w.W), p.w.B)
}

// softmax with the engine's approximations; exact reports the true softmax instead.
func softmaxRows(z cryptofriendly.Matrix, expIterations int, exact bool) cryptofriendly.Matrix {
	out := cryptofriendly.NewMatrix(z.Rows, z.Cols)
	for i := range z.Rows {
		row := z.Data[i*z.Cols : (i+1)*z.Cols]
		mean := 0.0
		for _, v := range row {
			mean += v / float64(z.Cols)
		}
		sum := 0.0
		for j, v := range row {
			if exact {
				out.Data[i*z.Cols+j] = math.Exp(v - mean)
			} else {
				out.Data[i*z.Cols+j] = math.Pow(1+(v-mean)/math.Ldexp(1, expIterations), math.Ldexp(1, expIterations))
			}
			sum += out.Data[i*z.Cols+j]
		}
		for j := range row {
			out.Data[i*z.Cols+j] /= sum
		}
	}
	return out
}

func (p *plainHead) step(x cryptofriendly.Matrix, labels []int, lr float64) {
	a, h, z := p.forward(x)
	y, _ := oneHot(labels, p.cfg.Classes)
	prob := softmaxRows(z, p.cfg.ExpIterations, false)
	g := mapMatrix(prob, func(i int, v float64) float64 { return (v - y.Data[i]) * lr / float64(x.Rows) })
	gw := plainMatMul(plainTranspose(h), g)
	colSum := func(m cryptofriendly.Matrix) []float64 {
		s := make([]float64, m.Cols)
		for i, v := range m.Data {
			s[i%m.Cols] += v
		}
		return s
	}
	gb := colSum(g)
	if p.cfg.Hidden > 0 {
		dh := plainMatMul(g, plainTranspose(p.w.W))
		da := mapMatrix(dh, func(i int, v float64) float64 { return v * (0.25*a.Data[i] + 0.25) })
		gw1 := plainMatMul(plainTranspose(x), da)
		for i := range p.w.W1.Data {
			p.w.W1.Data[i] -= gw1.Data[i]
		}
		for j, v := range colSum(da) {
			p.w.B1[j] -= v
		}
	}
	for i := range p.w.W.Data {
		p.w.W.Data[i] -= gw.Data[i]
	}
	for j := range p.w.B {
		p.w.B[j] -= gb[j]
	}
}

// loss is the exact mean cross-entropy of weights w on (x, labels).
func (p *plainHead) loss(x cryptofriendly.Matrix, labels []int) float64 {
	_, _, z := p.forward(x)
	prob := softmaxRows(z, 0, true)
	s := 0.0
	for i, l := range labels {
		s -= math.Log(prob.Data[i*prob.Cols+l])
	}
	return s / float64(len(labels))
}

func gaussianMatrix(rng *rand.Rand, rows, cols int, sigma float64) cryptofriendly.Matrix {
	m := cryptofriendly.NewMatrix(rows, cols)
	for i := range m.Data {
		m.Data[i] = sigma * rng.NormFloat64()
	}
	return m
}

// compareWeights checks the shared head's revealed weights against the reference.
func compareWeights(t *testing.T, got, want HeadWeights, tol float64) {
	t.Helper()
	bound := func(int) float64 { return tol }
	vec := func(v []float64) cryptofriendly.Matrix { return cryptofriendly.Matrix{Rows: 1, Cols: len(v), Data: v} }
	if want.W1.Rows > 0 {
		checkClose(t, "W1", got.W1, want.W1, bound)
		checkClose(t, "B1", vec(got.B1), vec(want.B1), bound)
	}
	checkClose(t, "W", got.W, want.W, bound)
	checkClose(t, "B", vec(got.B), vec(want.B), bound)
}

// TestHeadTrainStepMatchesPlaintext: training steps on shares (forward, gradient, backward, update) follow
// float64 training with the same approximations to within fixed-point error, for softmax regression and for one
// Quad layer, on three classes; and the exact cross-entropy goes down.
func TestHeadTrainStepMatchesPlaintext(t *testing.T) {
	const batch, inputs, classes, steps, lr = 16, 8, 3, 3, 0.5
	for _, hidden := range []int{0, 6} {
		t.Run(map[int]string{0: "linear", 6: "hidden"}[hidden], func(t *testing.T) {
			rng := rand.New(rand.NewPCG(10, uint64(hidden)))
			// Three Gaussian clusters.
			centres := gaussianMatrix(rng, classes, inputs, 1)
			xs := make([]cryptofriendly.Matrix, steps)
			ls := make([][]int, steps)
			for s := range steps {
				xs[s] = gaussianMatrix(rng, batch, inputs, 0.5)
				ls[s] = make([]int, batch)
				for i := range batch {
					ls[s][i] = rng.IntN(classes)
					for j := range inputs {
						xs[s].Data[i*inputs+j] += centres.At(ls[s][i], j)
					}
				}
			}
			cfg := HeadConfig{Inputs: inputs, Hidden: hidden, Classes: classes}
			width := inputs
			init := HeadWeights{B: make([]float64, classes)}
			if hidden > 0 {
				width = hidden
				init.W1, init.B1 = gaussianMatrix(rng, inputs, hidden, 0.3), make([]float64, hidden)
			}
			init.W = gaussianMatrix(rng, width, classes, 0.1)

			e := newTestEngine(t, TruncDealer)
			head, err := NewHead(e, cfg, init)
			if err != nil {
				t.Fatal(err)
			}
			ref := &plainHead{cfg: head.cfg, w: cloneWeights(init)}
			before := 0.0
			for s := range steps {
				before += ref.loss(xs[s], ls[s]) / steps
			}
			for s := range steps {
				if err := head.TrainStep(xs[s], ls[s], lr); err != nil {
					t.Fatal(err)
				}
				ref.step(xs[s], ls[s], lr)
			}
			got, err := head.Weights()
			if err != nil {
				t.Fatal(err)
			}
			compareWeights(t, got, ref.w, 2e-3)
			after := 0.0
			trained := &plainHead{cfg: head.cfg, w: got}
			for s := range steps {
				after += trained.loss(xs[s], ls[s]) / steps
			}
			t.Logf("cross-entropy %.4f → %.4f after %d steps on shares", before, after, steps)
			if !(after < before) {
				t.Errorf("cross-entropy did not go down: %.4f → %.4f", before, after)
			}
		})
	}
}

// hashedFeatures is a signed feature-hashing bag of WordPiece ids, scaled by 1/√(tokens): real text as a fixed
// width vector without a model.
func hashedFeatures(tok *wordpiece.Tokenizer, examples []datasets.Example, width int) cryptofriendly.Matrix {
	m := cryptofriendly.NewMatrix(len(examples), width)
	for i, ex := range examples {
		ids := tok.IDs(ex.TextA)
		for _, id := range ids {
			h := fnv.New64a()
			h.Write([]byte{byte(id), byte(id >> 8), byte(id >> 16), byte(id >> 24)})
			v := h.Sum64()
			sign := 1.0
			if v>>63 == 1 {
				sign = -1
			}
			m.Data[i*width+int(v%uint64(width))] += sign / math.Sqrt(float64(len(ids)))
		}
	}
	return m
}

// TestHeadOnRealSST2: private training steps on real SST-2 examples from the private pool and private inference
// on real dev examples agree with plaintext, and training lowers the loss on the examples trained on.
func TestHeadOnRealSST2(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	train, err := datasets.Load(dir, "sst2", "train")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		t.Fatal(err)
	}
	const batch, batches, width, lr = 16, 4, 32, 1.0
	private, _ := datasets.Pools(train.Examples)
	sample := datasets.Subsample(private, batch*batches, 11)
	devSample := datasets.Subsample(dev.Examples, 16, 12)
	labelsOf := func(exs []datasets.Example) []int {
		out := make([]int, len(exs))
		for i, ex := range exs {
			out[i] = int(ex.Label)
		}
		return out
	}
	cfg := HeadConfig{Inputs: width, Classes: 2}
	init := HeadWeights{W: cryptofriendly.NewMatrix(width, 2), B: make([]float64, 2)}

	e := newTestEngine(t, TruncDealer)
	head, err := NewHead(e, cfg, init)
	if err != nil {
		t.Fatal(err)
	}
	ref := &plainHead{cfg: head.cfg, w: cloneWeights(init)}
	all := hashedFeatures(tok, sample, width)
	allLabels := labelsOf(sample)
	before := ref.loss(all, allLabels)
	start := e.Stats()
	for s := range batches {
		part := sample[s*batch : (s+1)*batch]
		x := hashedFeatures(tok, part, width)
		if err := head.TrainStep(x, labelsOf(part), lr); err != nil {
			t.Fatal(err)
		}
		ref.step(x, labelsOf(part), lr)
	}
	perStep := e.Stats().Sub(start)
	t.Logf("per training step (batch %d, %d features): %.0f B, %.1f rounds online; %.0f B offline",
		batch, width, float64(perStep.Online.Bytes())/batches, float64(perStep.Online.Rounds)/batches, float64(perStep.Offline.Bytes())/batches)
	got, err := head.Weights()
	if err != nil {
		t.Fatal(err)
	}
	compareWeights(t, got, ref.w, 2e-3)
	after := (&plainHead{cfg: head.cfg, w: got}).loss(all, allLabels)
	t.Logf("SST-2 training loss %.4f → %.4f", before, after)
	if !(after < before) {
		t.Errorf("training on shares did not lower the loss: %.4f → %.4f", before, after)
	}

	devX := hashedFeatures(tok, devSample, width)
	logits, err := head.Logits(devX)
	if err != nil {
		t.Fatal(err)
	}
	_, _, want := ref.forward(devX)
	checkClose(t, "dev logits", logits, want, func(int) float64 { return 5e-3 })
	for i := range devSample {
		if (logits.At(i, 1) > logits.At(i, 0)) != (want.At(i, 1) > want.At(i, 0)) && math.Abs(want.At(i, 1)-want.At(i, 0)) > 1e-2 {
			t.Errorf("dev example %d: label differs between shares and plaintext (%v vs %v)", i, logits.Data[2*i:2*i+2], want.Data[2*i:2*i+2])
		}
	}
}
