package bow

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"slices"
)

// loss is the kind of linear model: logistic for two classes, softmax for more, squared error for regression.
type loss int

const (
	logistic loss = iota
	softmax
	squared
)

// linear is a fitted linear model over the featurizer's columns: k outputs (1 for logistic and squared, the
// number of classes for softmax), weights [k, d] row-major then k unregularised biases.
type linear struct {
	loss    loss
	k, d    int
	theta   []float64
	classes int // number of labels of a classification task (0 for regression)
}

// newLinear is the model of a task with numLabels labels (0 = regression) over d features.
func newLinear(numLabels, d int) *linear {
	m := &linear{d: d, classes: numLabels}
	switch {
	case numLabels == 0:
		m.loss, m.k = squared, 1
	case numLabels == 2:
		m.loss, m.k = logistic, 1
	default:
		m.loss, m.k = softmax, numLabels
	}
	m.theta = make([]float64, m.k*(d+1))
	return m
}

// scores computes the k raw outputs of one example into z.
func (m *linear) scores(theta []float64, x []entry, z []float64) {
	bias := theta[m.k*m.d:]
	for c := range m.k {
		w := theta[c*m.d : (c+1)*m.d]
		s := bias[c]
		for _, e := range x {
			s += w[e.col] * e.val
		}
		z[c] = s
	}
}

// objective is the mean loss over the examples plus l2/(2n)·‖w‖² (biases unpenalised): the minimiser of the
// summed loss plus l2/2·‖w‖², scaled so that the gradient threshold does not depend on n. It writes the
// gradient into grad when grad is non-nil.
func (m *linear) objective(theta []float64, x *rows, y []float64, l2 float64, grad []float64) float64 {
	n := x.n()
	inv := 1 / float64(n)
	if grad != nil {
		clear(grad)
	}
	z := make([]float64, m.k)
	dz := make([]float64, m.k)
	var total float64
	for i := range n {
		row := x.row(i)
		m.scores(theta, row, z)
		switch m.loss {
		case logistic:
			s := z[0]
			// log(1 + e^s) − y·s, computed without overflow.
			total += math.Max(s, 0) + math.Log1p(math.Exp(-math.Abs(s))) - y[i]*s
			dz[0] = sigmoid(s) - y[i]
		case softmax:
			mx := slices.Max(z)
			var sum float64
			for c := range z {
				dz[c] = math.Exp(z[c] - mx)
				sum += dz[c]
			}
			label := int(y[i])
			total += mx + math.Log(sum) - z[label]
			for c := range dz {
				dz[c] /= sum
			}
			dz[label]--
		case squared:
			r := z[0] - y[i]
			total += 0.5 * r * r
			dz[0] = r
		}
		if grad == nil {
			continue
		}
		bias := grad[m.k*m.d:]
		for c := range m.k {
			g := dz[c] * inv
			if g == 0 {
				continue
			}
			w := grad[c*m.d : (c+1)*m.d]
			for _, e := range row {
				w[e.col] += g * e.val
			}
			bias[c] += g
		}
	}
	f := total * inv
	reg := l2 * inv
	for j, w := range theta[:m.k*m.d] {
		f += 0.5 * reg * w * w
		if grad != nil {
			grad[j] += reg * w
		}
	}
	return f
}

func sigmoid(s float64) float64 {
	if s >= 0 {
		return 1 / (1 + math.Exp(-s))
	}
	e := math.Exp(s)
	return e / (1 + e)
}

// fitStats is what a fit reports.
type fitStats struct {
	Iterations  int
	Evaluations int
	Loss        float64   // the objective at the solution
	Curve       []float64 // the objective at each major iteration
	Status      string
}

// checkLabels rejects labels a classification model cannot take (not a class index in [0, classes)).
func (m *linear) checkLabels(y []float64) error {
	if m.loss == squared {
		for i, v := range y {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("training example %d has label %v: a regression label must be a finite number", i, v)
			}
		}
		return nil
	}
	for i, v := range y {
		if v != math.Trunc(v) || v < 0 || int(v) >= m.classes {
			return fmt.Errorf("training example %d has label %v: want a class index in [0, %d)", i, v, m.classes)
		}
	}
	return nil
}

// fit minimises the objective from zero weights (the bias starts at the mean label for regression) with
// lbfgs, for at most maxIter iterations; it stops early when ctx is cancelled.
func (m *linear) fit(ctx stdctx.Context, x *rows, y []float64, l2 float64, maxIter int) (fitStats, error) {
	if x.n() == 0 {
		return fitStats{}, errors.New("no training examples")
	}
	if err := m.checkLabels(y); err != nil {
		return fitStats{}, err
	}
	theta := make([]float64, len(m.theta))
	if m.loss == squared {
		var mean float64
		for _, v := range y {
			mean += v
		}
		theta[m.k*m.d] = mean / float64(len(y))
	}
	st, err := lbfgs(ctx, func(th, grad []float64) float64 { return m.objective(th, x, y, l2, grad) }, theta, maxIter)
	if err != nil {
		return st, err
	}
	copy(m.theta, theta)
	return st, nil
}

// logits are the model's outputs of every example, row-major [n, outputs] as finetune.PredictionsFromLogits
// reads them: for two classes [0, s] (class 1 wins when s > 0), for more the k scores, for regression the score.
func (m *linear) logits(x *rows) []float32 {
	outputs := m.k
	if m.loss == logistic {
		outputs = 2
	}
	out := make([]float32, 0, x.n()*outputs)
	z := make([]float64, m.k)
	for i := range x.n() {
		m.scores(m.theta, x.row(i), z)
		if m.loss == logistic {
			out = append(out, 0)
		}
		for _, v := range z {
			out = append(out, float32(v))
		}
	}
	return out
}
