package datasets

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestBinaryMetrics(t *testing.T) {
	// TP=3 (0,4,6), FP=1 (1), FN=1 (5), TN=3 (2,3,7).
	pred := []float64{1, 1, 0, 0, 1, 0, 1, 0}
	gold := []float64{1, 0, 0, 0, 1, 1, 1, 0}
	if got := Accuracy(pred, gold); !near(got, 0.75) {
		t.Errorf("Accuracy = %v, want 0.75", got)
	}
	if got := F1(pred, gold); !near(got, 0.75) { // 2·3 / (2·3 + 1 + 1)
		t.Errorf("F1 = %v, want 0.75", got)
	}
	if got := Matthews(pred, gold); !near(got, 0.5) { // (3·3 − 1·1) / sqrt(4·4·4·4)
		t.Errorf("Matthews = %v, want 0.5", got)
	}

	// TP=6, TN=3, FP=1, FN=2: MCC = (18 − 2) / sqrt(7·8·4·5) = 16/sqrt(1120).
	pred = []float64{1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}
	gold = []float64{1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0}
	if got, want := Matthews(pred, gold), 16/math.Sqrt(1120); !near(got, want) {
		t.Errorf("Matthews = %v, want %v", got, want)
	}
	if got := F1(pred, gold); !near(got, 0.8) { // 12 / (12 + 1 + 2)
		t.Errorf("F1 = %v, want 0.8", got)
	}
	if got := Accuracy(pred, gold); !near(got, 0.75) {
		t.Errorf("Accuracy = %v, want 0.75", got)
	}
	// Perfectly inverted predictions.
	if got := Matthews([]float64{0, 1, 0, 1}, []float64{1, 0, 1, 0}); !near(got, -1) {
		t.Errorf("Matthews(inverted) = %v, want -1", got)
	}
	// scikit-learn's documented example (labels +1/−1): −1/3.
	if got := Matthews([]float64{1, -1, 1, 1}, []float64{1, 1, 1, -1}); !near(got, -1.0/3) {
		t.Errorf("Matthews(sklearn example) = %v, want -0.3333", got)
	}
	// Constant prediction: undefined, reported 0; F1 with no TP is 0.
	if got := Matthews([]float64{1, 1, 1}, []float64{0, 1, 0}); got != 0 {
		t.Errorf("Matthews(constant) = %v, want 0", got)
	}
	if got := F1([]float64{0, 0}, []float64{1, 0}); got != 0 {
		t.Errorf("F1(no positives predicted) = %v, want 0", got)
	}
	if !math.IsNaN(Accuracy([]float64{1}, nil)) {
		t.Error("Accuracy of mismatched lengths should be NaN")
	}
}

func TestMulticlassMatthews(t *testing.T) {
	// 3 classes. Confusion (rows gold, cols pred): [[2,1,0],[0,2,1],[1,0,2]].
	// c=6, s=9, t=(3,3,3), p=(3,3,3): (6·9 − 27) / sqrt((81−27)(81−27)) = 27/54.
	gold := []float64{0, 0, 0, 1, 1, 1, 2, 2, 2}
	pred := []float64{0, 0, 1, 1, 1, 2, 2, 2, 0}
	if got := Matthews(pred, gold); !near(got, 0.5) {
		t.Errorf("Matthews(3 classes) = %v, want 0.5", got)
	}
}

func TestCorrelations(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{2, 4, 5, 4, 5}
	// Pearson: sxy=6, sxx=10, syy=6 -> 6/sqrt(60).
	if got, want := Pearson(x, y), 6/math.Sqrt(60); !near(got, want) {
		t.Errorf("Pearson = %v, want %v", got, want)
	}
	// Spearman with ties: ranks of y are 1, 2.5, 4.5, 2.5, 4.5 -> 7/sqrt(90)
	// (scipy.stats.spearmanr gives 0.7378647873726218).
	if got := Spearman(x, y); !near(got, 0.7378647873726218) {
		t.Errorf("Spearman = %v, want 0.7378647873726218", got)
	}
	if got := averageRanks([]float64{10, 20, 10, 30, 10}); !equalFloats(got, []float64{2, 4, 2, 5, 2}) {
		t.Errorf("averageRanks = %v, want [2 4 2 5 2]", got)
	}
	// Monotone but non-linear: Spearman 1, Pearson below 1.
	z := []float64{1, 8, 27, 64, 125}
	if got := Spearman(x, z); !near(got, 1) {
		t.Errorf("Spearman(monotone) = %v, want 1", got)
	}
	if got := Pearson(x, z); got >= 0.99 || got <= 0.9 {
		t.Errorf("Pearson(x, x³) = %v, want in (0.9, 0.99)", got)
	}
	if got := Pearson(x, []float64{3, 3, 3, 3, 3}); got != 0 {
		t.Errorf("Pearson(constant) = %v, want 0", got)
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestEvaluate(t *testing.T) {
	cola, _ := Task("cola")
	pred := []float64{1, 1, 0, 0, 1, 0, 1, 0}
	gold := []float64{1, 0, 0, 0, 1, 1, 1, 0}
	m, err := Evaluate(cola, pred, gold)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || !near(m["matthews"], 0.5) || !near(m["accuracy"], 0.75) {
		t.Errorf("Evaluate(cola) = %v", m)
	}
	mrpc, _ := Task("mrpc")
	if m, _ := Evaluate(mrpc, pred, gold); len(m) != 2 || !near(m["f1"], 0.75) {
		t.Errorf("Evaluate(mrpc) = %v", m)
	}
	stsb, _ := Task("stsb")
	m, err = Evaluate(stsb, []float64{1, 2, 3, 4, 5}, []float64{2, 4, 5, 4, 5})
	if err != nil || !near(m["spearman"], 0.7378647873726218) || !near(m["pearson"], 6/math.Sqrt(60)) {
		t.Errorf("Evaluate(stsb) = %v, %v", m, err)
	}
	if _, err := Evaluate(cola, pred, gold[:3]); err == nil || !strings.Contains(err.Error(), "8 predictions for 3 labels") {
		t.Errorf("length mismatch error = %v", err)
	}
	if _, err := Evaluate(cola, nil, nil); err == nil {
		t.Error("Evaluate on no examples succeeded")
	}
	if _, err := Evaluate(cola, []float64{0, 1}, []float64{-1, -1}); err == nil || !strings.Contains(err.Error(), "unlabelled") {
		t.Errorf("unlabelled split error = %v", err)
	}
	if _, err := Evaluate(TaskInfo{Name: "x", Metrics: []string{"bleu"}}, pred, gold); err == nil || !strings.Contains(err.Error(), "bleu") {
		t.Errorf("unknown metric error = %v", err)
	}
}
