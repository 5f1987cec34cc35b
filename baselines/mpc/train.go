package mpc

import (
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// HeadConfig describes a classifier head trained on shares: softmax regression on the client's features, or
// with Hidden > 0 one dense layer with MPCFormer's Quad activation (0.125a² + 0.25a + 0.5) before it.
type HeadConfig struct {
	Inputs, Hidden, Classes int
	// LogitBound is the bound on |z − mean(z)| of a row of logits that the softmax is built for (default 6):
	// the row sum of exponentials then lies in [Classes, Classes·e^LogitBound] (the lower end by Jensen, for the
	// convex limit approximation of exp and row-centred logits), the range of the softmax's Reciprocal. Logits
	// outside it make the Newton iteration inaccurate or divergent.
	LogitBound float64
	// ExpIterations is the number of squarings of Exp (default DefaultExpIterations).
	ExpIterations int
}

// quadCoeffs is MPCFormer's Quad, 0.125a² + 0.25a + 0.5, the quadratic replacement of GELU (one square on
// shares).
func quadCoeffs() []float64 { return []float64{0.5, 0.25, 0.125} }

// HeadWeights are a head's plaintext weights: W1 (Inputs×Hidden) and B1 (Hidden) when Hidden > 0; W
// (Inputs or Hidden × Classes) and B (Classes).
type HeadWeights struct {
	W1 cryptofriendly.Matrix
	B1 []float64
	W  cryptofriendly.Matrix
	B  []float64
}

// Head is a classifier whose weights are secret-shared between the client and the cloud: it is trained on
// shares (TrainStep: forward, softmax cross-entropy gradient, backward and SGD update, all on shares) and
// evaluated on shares (Logits).
type Head struct {
	e            *Engine
	cfg          HeadConfig
	w1, b1, w, b *Shared
}

// NewHead shares the cloud's initial weights and returns the head.
func NewHead(e *Engine, cfg HeadConfig, init HeadWeights) (*Head, error) {
	if cfg.LogitBound == 0 {
		cfg.LogitBound = 6
	}
	if cfg.ExpIterations == 0 {
		cfg.ExpIterations = DefaultExpIterations
	}
	if cfg.Inputs <= 0 || cfg.Classes < 2 || cfg.Hidden < 0 || !(cfg.LogitBound > 0) {
		return nil, fmt.Errorf("mpc head: invalid config %+v", cfg)
	}
	width := cfg.Inputs
	if cfg.Hidden > 0 {
		width = cfg.Hidden
		if init.W1.Rows != cfg.Inputs || init.W1.Cols != cfg.Hidden || len(init.B1) != cfg.Hidden {
			return nil, fmt.Errorf("mpc head: hidden layer weights %d×%d + %d, want %d×%d + %d",
				init.W1.Rows, init.W1.Cols, len(init.B1), cfg.Inputs, cfg.Hidden, cfg.Hidden)
		}
	}
	if init.W.Rows != width || init.W.Cols != cfg.Classes || len(init.B) != cfg.Classes {
		return nil, fmt.Errorf("mpc head: output weights %d×%d + %d, want %d×%d + %d",
			init.W.Rows, init.W.Cols, len(init.B), width, cfg.Classes, cfg.Classes)
	}
	unlock, err := e.begin("NewHead")
	if err != nil {
		return nil, err
	}
	defer unlock()
	h := &Head{e: e, cfg: cfg}
	row := func(v []float64) cryptofriendly.Matrix {
		return cryptofriendly.Matrix{Rows: 1, Cols: len(v), Data: v}
	}
	if cfg.Hidden > 0 {
		if h.w1, err = e.input(cloudID, init.W1); err != nil {
			return nil, fmt.Errorf("mpc head W1: %w", err)
		}
		if h.b1, err = e.input(cloudID, row(init.B1)); err != nil {
			return nil, fmt.Errorf("mpc head B1: %w", err)
		}
	}
	if h.w, err = e.input(cloudID, init.W); err != nil {
		return nil, fmt.Errorf("mpc head W: %w", err)
	}
	if h.b, err = e.input(cloudID, row(init.B)); err != nil {
		return nil, fmt.Errorf("mpc head B: %w", err)
	}
	return h, nil
}

// SoftmaxRange is the range of the row sums of exponentials the softmax's Reciprocal is built for.
func (c HeadConfig) SoftmaxRange() (lo, hi float64) {
	// Jensen gives Σ exp(z_i) ≥ Classes for row-centred logits; 0.9 leaves room for the fixed-point error.
	return 0.9 * float64(c.Classes), float64(c.Classes) * math.Exp(c.LogitBound)
}

// forward holds the intermediate values the backward pass needs.
type forward struct {
	x, a, h, z *Shared
}

func (h *Head) forward(x cryptofriendly.Matrix) (forward, error) {
	e := h.e
	var f forward
	var err error
	if x.Cols != h.cfg.Inputs {
		return f, fmt.Errorf("features have %d columns, head has %d inputs", x.Cols, h.cfg.Inputs)
	}
	if f.x, err = e.input(clientID, x); err != nil {
		return f, err
	}
	f.h = f.x
	if h.cfg.Hidden > 0 {
		if f.a, err = e.matMul(f.x, h.w1, false); err != nil {
			return f, err
		}
		if f.a, err = e.addBroadcast(f.a, h.b1, 1); err != nil {
			return f, err
		}
		if f.h, err = e.poly(f.a, quadCoeffs()); err != nil {
			return f, err
		}
	}
	if f.z, err = e.matMul(f.h, h.w, false); err != nil {
		return f, err
	}
	f.z, err = e.addBroadcast(f.z, h.b, 1)
	return f, err
}

// softmax is exp(z − mean z) / Σ exp(z − mean z) row by row, with Exp's limit approximation and a Newton
// reciprocal of the row sums (no comparisons: the row mean stands in for the row maximum).
func (h *Head) softmax(z *Shared) (*Shared, error) {
	e := h.e
	sums, err := e.rowSum(z)
	if err != nil {
		return nil, err
	}
	mean, err := e.scale(sums, 1/float64(h.cfg.Classes))
	if err != nil {
		return nil, err
	}
	centred, err := e.addBroadcast(z, mean, -1)
	if err != nil {
		return nil, err
	}
	ex, err := e.exp(centred, h.cfg.ExpIterations)
	if err != nil {
		return nil, err
	}
	total, err := e.rowSum(ex)
	if err != nil {
		return nil, err
	}
	lo, hi := h.cfg.SoftmaxRange()
	inv, err := e.reciprocal(total, lo, hi)
	if err != nil {
		return nil, err
	}
	return e.product(ex, inv, bPerRow)
}

// oneHot is the client's labels as a rows×classes matrix.
func oneHot(labels []int, classes int) (cryptofriendly.Matrix, error) {
	m := cryptofriendly.NewMatrix(len(labels), classes)
	for i, l := range labels {
		if l < 0 || l >= classes {
			return m, fmt.Errorf("label %d of example %d outside [0, %d)", l, i, classes)
		}
		m.Data[i*classes+l] = 1
	}
	return m, nil
}

// TrainStep runs one SGD step on a batch of the client's features (B×Inputs) and labels, entirely on shares:
// forward, the softmax cross-entropy gradient (P − Y)·lr/B, backward through the output layer (and the Quad
// layer: its derivative 0.25a + 0.25 is linear), and the update of the shared weights. Nothing is revealed.
func (h *Head) TrainStep(x cryptofriendly.Matrix, labels []int, lr float64) error {
	if len(labels) != x.Rows {
		return fmt.Errorf("mpc TrainStep: %d labels for %d examples", len(labels), x.Rows)
	}
	if !(lr > 0) {
		return fmt.Errorf("mpc TrainStep: learning rate %g", lr)
	}
	y, err := oneHot(labels, h.cfg.Classes)
	if err != nil {
		return fmt.Errorf("mpc TrainStep: %w", err)
	}
	unlock, err := h.e.begin("TrainStep")
	if err != nil {
		return err
	}
	defer unlock()
	if err := h.trainStep(x, y, lr); err != nil {
		return fmt.Errorf("mpc TrainStep: %w", err)
	}
	return nil
}

func (h *Head) trainStep(x, y cryptofriendly.Matrix, lr float64) error {
	e := h.e
	f, err := h.forward(x)
	if err != nil {
		return err
	}
	ys, err := e.input(clientID, y)
	if err != nil {
		return err
	}
	p, err := h.softmax(f.z)
	if err != nil {
		return err
	}
	g, err := e.sub(p, ys)
	if err != nil {
		return err
	}
	// The step size is folded into the output gradient, so every weight gradient below is already lr·∇/B.
	if g, err = e.scale(g, lr/float64(x.Rows)); err != nil {
		return err
	}
	ht, err := e.transpose(f.h)
	if err != nil {
		return err
	}
	gw, err := e.matMul(ht, g, false)
	if err != nil {
		return err
	}
	gb, err := e.colSum(g)
	if err != nil {
		return err
	}
	if h.cfg.Hidden > 0 {
		dh, err := e.matMul(g, h.w, true) // through W before its update
		if err != nil {
			return err
		}
		slope, err := e.scale(f.a, 0.25)
		if err != nil {
			return err
		}
		if slope, err = e.addConst(slope, 0.25); err != nil {
			return err
		}
		da, err := e.product(dh, slope, bFull)
		if err != nil {
			return err
		}
		xt, err := e.transpose(f.x)
		if err != nil {
			return err
		}
		gw1, err := e.matMul(xt, da, false)
		if err != nil {
			return err
		}
		gb1, err := e.colSum(da)
		if err != nil {
			return err
		}
		if h.w1, err = e.sub(h.w1, gw1); err != nil {
			return err
		}
		if h.b1, err = e.sub(h.b1, gb1); err != nil {
			return err
		}
	}
	if h.w, err = e.sub(h.w, gw); err != nil {
		return err
	}
	h.b, err = e.sub(h.b, gb)
	return err
}

// Logits is private inference: the head's logits for the client's features, computed on shares and revealed to
// the client only.
func (h *Head) Logits(x cryptofriendly.Matrix) (cryptofriendly.Matrix, error) {
	unlock, err := h.e.begin("Logits")
	if err != nil {
		return cryptofriendly.Matrix{}, err
	}
	defer unlock()
	f, err := h.forward(x)
	if err != nil {
		return cryptofriendly.Matrix{}, fmt.Errorf("mpc Logits: %w", err)
	}
	out, err := h.e.reveal(f.z)
	if err != nil {
		return cryptofriendly.Matrix{}, fmt.Errorf("mpc Logits: %w", err)
	}
	return out, nil
}

// Weights reveals the trained weights to the client (the end of private tuning when the client is to own the
// head; tests compare them with plaintext training).
func (h *Head) Weights() (HeadWeights, error) {
	unlock, err := h.e.begin("HeadWeights")
	if err != nil {
		return HeadWeights{}, err
	}
	defer unlock()
	var out HeadWeights
	reveal := func(s *Shared) (cryptofriendly.Matrix, error) {
		m, err := h.e.reveal(s)
		if err != nil {
			return m, fmt.Errorf("mpc head weights: %w", err)
		}
		return m, nil
	}
	if h.cfg.Hidden > 0 {
		if out.W1, err = reveal(h.w1); err != nil {
			return out, err
		}
		b1, err := reveal(h.b1)
		if err != nil {
			return out, err
		}
		out.B1 = b1.Data
	}
	if out.W, err = reveal(h.w); err != nil {
		return out, err
	}
	b, err := reveal(h.b)
	if err != nil {
		return out, err
	}
	out.B = b.Data
	return out, nil
}
