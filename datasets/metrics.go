package datasets

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Metric names, as used in TaskInfo.Metrics and returned by Evaluate.
const (
	MetricAccuracy = "accuracy"
	MetricF1       = "f1"
	MetricMatthews = "matthews"
	MetricPearson  = "pearson"
	MetricSpearman = "spearman"
)

// Evaluate computes the task's metrics (task.Metrics) of predictions against
// labels. For classification tasks predictions are class indices; for
// regression tasks, scores. It fails on mismatched lengths, empty input, an
// unknown metric name, or labels that are all -1 (an unlabelled test split).
func Evaluate(task TaskInfo, predictions []float64, labels []float64) (map[string]float64, error) {
	if len(predictions) != len(labels) {
		return nil, fmt.Errorf("evaluate %s: %d predictions for %d labels", task.Name, len(predictions), len(labels))
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("evaluate %s: no examples", task.Name)
	}
	unlabeled := true
	for _, l := range labels {
		if l != UnlabeledLabel {
			unlabeled = false
			break
		}
	}
	if unlabeled {
		return nil, fmt.Errorf("evaluate %s: every label is %d: the split is unlabelled (a GLUE test split?)", task.Name, UnlabeledLabel)
	}
	if len(task.Metrics) == 0 {
		return nil, fmt.Errorf("evaluate %s: task lists no metrics", task.Name)
	}
	out := make(map[string]float64, len(task.Metrics))
	for _, m := range task.Metrics {
		var v float64
		switch m {
		case MetricAccuracy:
			v = Accuracy(predictions, labels)
		case MetricF1:
			v = F1(predictions, labels)
		case MetricMatthews:
			v = Matthews(predictions, labels)
		case MetricPearson:
			v = Pearson(predictions, labels)
		case MetricSpearman:
			v = Spearman(predictions, labels)
		default:
			return nil, fmt.Errorf("evaluate %s: %w %q", task.Name, errUnknownMetric, m)
		}
		out[m] = v
	}
	return out, nil
}

var errUnknownMetric = errors.New("unknown metric")

// The metric functions below return NaN when the slices differ in length or
// are empty; Evaluate checks that first.

// Accuracy is the fraction of predictions exactly equal to their label.
func Accuracy(predictions, labels []float64) float64 {
	if len(predictions) != len(labels) || len(labels) == 0 {
		return math.NaN()
	}
	correct := 0
	for i, p := range predictions {
		if p == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(labels))
}

// F1 is the F1 score of the positive class 1: 2·TP / (2·TP + FP + FN); 0 when
// there are no true positives.
func F1(predictions, labels []float64) float64 {
	if len(predictions) != len(labels) || len(labels) == 0 {
		return math.NaN()
	}
	var tp, fp, fn float64
	for i, p := range predictions {
		switch pp, lp := p == 1, labels[i] == 1; {
		case pp && lp:
			tp++
		case pp:
			fp++
		case lp:
			fn++
		}
	}
	if tp == 0 {
		return 0
	}
	return 2 * tp / (2*tp + fp + fn)
}

// Matthews is the Matthews correlation coefficient, in its multi-class form
// (Gorodkin's R_K, as in scikit-learn), which for two classes is
// (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)). It is 0 when the
// denominator is 0 (e.g. a constant prediction).
func Matthews(predictions, labels []float64) float64 {
	if len(predictions) != len(labels) || len(labels) == 0 {
		return math.NaN()
	}
	// t[k] = times class k truly occurs, p[k] = times it is predicted.
	t := map[float64]float64{}
	p := map[float64]float64{}
	var c float64 // correctly predicted
	for i, pred := range predictions {
		t[labels[i]]++
		p[pred]++
		if pred == labels[i] {
			c++
		}
	}
	s := float64(len(labels))
	var pt, pp, tt float64
	for k, pk := range p {
		pt += pk * t[k]
		pp += pk * pk
	}
	for _, tk := range t {
		tt += tk * tk
	}
	den := math.Sqrt((s*s - pp) * (s*s - tt))
	if den == 0 {
		return 0
	}
	return (c*s - pt) / den
}

// Pearson is the Pearson correlation coefficient of x and y; 0 when either
// is constant.
func Pearson(x, y []float64) float64 {
	if len(x) != len(y) || len(x) == 0 {
		return math.NaN()
	}
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	r := sxy / math.Sqrt(sxx*syy)
	return math.Max(-1, math.Min(1, r))
}

// Spearman is the Spearman rank correlation: the Pearson correlation of the
// ranks, tied values receiving the average of their ranks (as scipy). It is 0
// when either input is constant.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) || len(x) == 0 {
		return math.NaN()
	}
	return Pearson(averageRanks(x), averageRanks(y))
}

// averageRanks returns 1-based ranks, ties sharing their average rank.
func averageRanks(v []float64) []float64 {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return v[order[a]] < v[order[b]] })
	ranks := make([]float64, len(v))
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && v[order[j]] == v[order[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			ranks[order[k]] = avg
		}
		i = j
	}
	return ranks
}
