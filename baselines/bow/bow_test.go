package bow

import (
	stdctx "context"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

func TestDecodeConfig(t *testing.T) {
	cfg, err := DecodeConfig(map[string]any{})
	if err != nil || cfg != DefaultConfig() {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = DecodeConfig(map[string]any{"l2": int64(3), "min_count": int64(1), "bigrams": true,
		"bigram_buckets": int64(1024), "features": "tf", "max_iterations": int64(50)})
	if err != nil || cfg.L2 != 3 || cfg.MinCount != 1 || !cfg.Bigrams || cfg.BigramBuckets != 1024 || cfg.Features != "tf" || cfg.MaxIterations != 50 {
		t.Fatalf("decoded %+v, %v", cfg, err)
	}
	for _, c := range []struct {
		params map[string]any
		want   string // in the error
	}{
		{map[string]any{"l2": 0.0}, "l2 = 0: want a positive"},
		{map[string]any{"l2": -1.0}, "l2 = -1"},
		{map[string]any{"l2": math.Inf(1)}, "l2 = +Inf"},
		{map[string]any{"min_count": int64(0)}, "min_count = 0: want at least 1"},
		{map[string]any{"features": "counts"}, `features = "counts": want "binary"`},
		{map[string]any{"bigrams": true, "bigram_buckets": int64(0)}, "bigram_buckets = 0"},
		{map[string]any{"bigrams": false, "bigram_buckets": int64(4096)}, "set bigrams = true"},
		{map[string]any{"max_iterations": int64(0)}, "max_iterations = 0"},
		{map[string]any{"l1": 1.0}, `unknown parameter "l1"`},
		{map[string]any{"bigrams": "yes"}, `parameter "bigrams"`},
	} {
		_, err := DecodeConfig(c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bow: ") {
			t.Errorf("DecodeConfig(%v) = %v, want an error containing %q", c.params, err, c.want)
		}
	}
	if d, _ := method.DisplayOf(Name); d.Label != Label || d.Reference || !d.ReferenceLine {
		t.Errorf("display %+v: want a reference line labelled %q that is not the cost reference", d, Label)
	}
	if _, err := method.Lookup(Name); err != nil {
		t.Error(err)
	}
}

// TestObjectiveGradient checks each loss's analytic gradient against central differences.
func TestObjectiveGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, d = 7, 5
	x := &rows{start: []int{0}}
	for range n {
		for c := range d {
			if r.Float64() < 0.6 {
				x.entries = append(x.entries, entry{col: int32(c), val: r.NormFloat64()})
			}
		}
		x.start = append(x.start, len(x.entries))
	}
	for _, labels := range []int{0, 2, 3} {
		m := newLinear(labels, d)
		y := make([]float64, n)
		for i := range y {
			if labels == 0 {
				y[i] = r.NormFloat64()
			} else {
				y[i] = float64(r.IntN(labels))
			}
		}
		theta := make([]float64, len(m.theta))
		for i := range theta {
			theta[i] = r.NormFloat64()
		}
		grad := make([]float64, len(theta))
		m.objective(theta, x, y, 0.7, grad)
		for j := range theta {
			const h = 1e-6
			p := append([]float64(nil), theta...)
			p[j] += h
			fp := m.objective(p, x, y, 0.7, nil)
			p[j] -= 2 * h
			fm := m.objective(p, x, y, 0.7, nil)
			if num := (fp - fm) / (2 * h); math.Abs(num-grad[j]) > 1e-6*math.Max(1, math.Abs(num)) {
				t.Errorf("labels %d: ∂f/∂θ%d = %v, central difference %v", labels, j, grad[j], num)
			}
		}
	}
}

// TestLBFGSQuadratic: on an ill-conditioned convex quadratic L-BFGS reaches the known minimiser.
func TestLBFGSQuadratic(t *testing.T) {
	scale := []float64{1, 10, 100, 1000}
	target := []float64{3, -1, 0.5, 2}
	fg := func(x, g []float64) float64 {
		var f float64
		for i := range x {
			r := x[i] - target[i]
			f += 0.5 * scale[i] * r * r
			g[i] = scale[i] * r
		}
		return f
	}
	x := make([]float64, 4)
	st, err := lbfgs(stdctx.Background(), fg, x, 200)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Abs(x[i]-target[i]) > 1e-6 {
			t.Errorf("x = %v, want %v (%+v)", x, target, st)
			break
		}
	}
	if !strings.HasPrefix(st.Status, "converged") || st.Iterations == 0 || len(st.Curve) != st.Iterations {
		t.Errorf("stats %+v", st)
	}
	// A cancelled context stops it.
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	cancel()
	if _, err := lbfgs(ctx, fg, make([]float64, 4), 200); err == nil {
		t.Error("cancelled run returned no error")
	}
}

// TestFeaturizerPair: a pair example's features are each sentence's tokens, the shared ones and the dense
// overlap features; specials and padding are not features; min_count drops rare features; dev examples only use
// the training columns.
func TestFeaturizerPair(t *testing.T) {
	_, tok := testkit.Tokenizer(t)
	train := finetune.Encode(tok, []datasets.Example{
		{TextA: "the cat sat", TextB: "the cat ran"},
		{TextA: "the dog sat", TextB: "a bird"},
	}, 16)
	f := &featurizer{cfg: Config{MinCount: 1, Features: FeaturesTF}, vocab: tok.VocabSize(), pair: true,
		special: []int32{tok.PadID(), tok.ClsID(), tok.SepID(), tok.MaskID()}}
	f.fit(train)
	id := func(w string) uint64 {
		i, ok := tok.ID(w)
		if !ok {
			t.Fatalf("no id for %q", w)
		}
		return uint64(i)
	}
	w := f.width()
	for _, k := range []uint64{blockA*w + id("cat"), blockB*w + id("ran"), blockBoth*w + id("the"), blockBoth*w + id("cat")} {
		if _, ok := f.cols[k]; !ok {
			t.Errorf("raw feature %d (block %d, token %s) has no column", k, k/w, tok.Token(int32(k%w)))
		}
	}
	for k := range f.cols {
		if tokID := int32(k % w); tokID == tok.ClsID() || tokID == tok.SepID() || tokID == tok.PadID() {
			t.Errorf("special token %s is a feature", tok.Token(tokID))
		}
		if k/w == blockBoth && int32(k%w) == int32(id("sat")) {
			t.Error("sat is in both sentences of no example but is a shared feature")
		}
	}
	x := f.transform(train)
	row := x.row(0)
	dense := row[len(row)-pairDense:]
	// "the cat sat" / "the cat ran": 2 shared of 4 distinct tokens, same length.
	if dense[0].val != 0.5 || dense[1].val != 0 || int(dense[0].col) != f.sparse {
		t.Errorf("dense features %+v, want Jaccard 0.5 and length difference 0 at column %d", dense, f.sparse)
	}
	// min_count 2 keeps only what both examples have: "the" and "sat" in the first sentence.
	f2 := *f
	f2.cfg.MinCount = 2
	f2.fit(train)
	if f2.sparse != 2 {
		t.Errorf("min_count 2 kept %d features, want 2", f2.sparse)
	}
	dev := f2.transform(finetune.Encode(tok, []datasets.Example{{TextA: "zebra", TextB: "zebra"}}, 16))
	if r := dev.row(0); len(r) != pairDense || r[0].val != 1 {
		t.Errorf("unseen tokens: row %+v, want only the dense features with Jaccard 1", r)
	}
}

func runReal(t *testing.T, task string, maxTrain, maxEval int, params map[string]any) (*method.Result, time.Duration) {
	t.Helper()
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	start := time.Now()
	res, err := Method{}.Run(stdctx.Background(), env, method.Run{Task: task, Preset: "tiny", MaxTrain: maxTrain,
		MaxEval: maxEval, Seed: 1, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return res, time.Since(start)
}

// TestSST2 trains on 4,000 real SST-2 examples and scores the full dev set (872): the bag-of-words model must
// reach 0.73 accuracy (it gets 0.769), well above the majority class (0.509), with the harness's costs and
// extras.
func TestSST2(t *testing.T) {
	res, took := runReal(t, "sst2", 4000, 0, map[string]any{})
	acc, maj := res.Metrics["accuracy"], res.Extra["majority_accuracy"]
	t.Logf("SST-2 4,000: accuracy %.3f (majority %.3f), %d features, %v iterations, %v", acc, maj,
		int(res.Extra["feature_count"]), res.Extra["lbfgs_iterations"], took)
	if res.TrainExamples != 4000 || res.EvalExamples != 872 {
		t.Fatalf("examples %d/%d", res.TrainExamples, res.EvalExamples)
	}
	if acc < 0.73 || maj < 0.45 || maj > 0.55 || acc-maj < 0.2 {
		t.Errorf("accuracy %.3f, majority %.3f: want ≥ 0.73 and 0.2 above the majority class", acc, maj)
	}
	costs := res.Costs
	if len(costs) != 2 || costs[0].Phase != method.PhasePrivateTuning || costs[1].Phase != method.PhasePrivateInference {
		t.Fatalf("costs %+v", costs)
	}
	tune := costs[0]
	if tune.CloudSeconds <= 0 || tune.ClientSeconds <= 0 || tune.BytesToCloud != 4000*64*6+4000*4 ||
		tune.UnitName != "L-BFGS iterations" || tune.Units < 5 || !strings.Contains(tune.Note, "binary features") {
		t.Errorf("tuning cost %+v", tune)
	}
	if inf := costs[1]; inf.BytesToClient != 872*2*4 || inf.Units != 872 {
		t.Errorf("inference cost %+v", inf)
	}
	if len(res.Curve) == 0 || res.Curve[len(res.Curve)-1].Loss >= res.Curve[0].Loss {
		t.Errorf("the training objective did not decrease: %+v", res.Curve)
	}

	// Unigrams only and term counts are real options: they change the model.
	res2, _ := runReal(t, "sst2", 4000, 0, map[string]any{"bigrams": false, "features": "tf", "l2": 2.0})
	t.Logf("SST-2 4,000 unigrams, tf, l2 2: accuracy %.3f, %d features", res2.Metrics["accuracy"], int(res2.Extra["feature_count"]))
	if res2.Extra["feature_count"] >= res.Extra["feature_count"] || res2.Metrics["accuracy"] < 0.70 || res2.Tags["ngrams"] != "unigrams" ||
		res.Tags["ngrams"] != "unigrams+bigrams" || res2.Tags["features"] != "tf" {
		t.Errorf("bigrams: %v features (unigrams %v), accuracy %.3f, tags %v", res2.Extra["feature_count"],
			res.Extra["feature_count"], res2.Metrics["accuracy"], res2.Tags)
	}
}

// TestQQP: the pair task on a real QQP subsample (4,000 train, 1,000 dev) beats its majority class by 0.05 in
// accuracy, and its F1 (the majority class is 0, so its F1 is 0) is well above zero.
func TestQQP(t *testing.T) {
	res, took := runReal(t, "qqp", 4000, 1000, map[string]any{})
	acc, maj := res.Metrics["accuracy"], res.Extra["majority_accuracy"]
	t.Logf("QQP 4,000: accuracy %.3f (majority %.3f), f1 %.3f, %d features, %v", acc, maj, res.Metrics["f1"], int(res.Extra["feature_count"]), took)
	if acc < maj+0.05 || res.Metrics["f1"] < 0.4 {
		t.Errorf("QQP accuracy %.3f (majority %.3f), f1 %.3f: want 0.05 above the majority class and f1 ≥ 0.4", acc, maj, res.Metrics["f1"])
	}
}

// TestSTSB: ridge regression on STS-B (a regression pair task) correlates with the gold scores.
func TestSTSB(t *testing.T) {
	res, _ := runReal(t, "stsb", 2000, 500, map[string]any{})
	t.Logf("STS-B 2,000: pearson %.3f spearman %.3f", res.Metrics["pearson"], res.Metrics["spearman"])
	if res.Metrics["pearson"] < 0.3 || res.Metrics["spearman"] < 0.3 {
		t.Errorf("STS-B correlations %v: want ≥ 0.3", res.Metrics)
	}
}

// TestMultinomial: three well-separated classes of synthetic token rows are learnt exactly, through the same
// logits the harness scores.
func TestMultinomial(t *testing.T) {
	x := &rows{start: []int{0}}
	var y []float64
	for i := range 60 {
		c := i % 3
		x.entries = append(x.entries, entry{col: int32(c), val: 1}, entry{col: 3, val: 1})
		x.start = append(x.start, len(x.entries))
		y = append(y, float64(c))
	}
	m := newLinear(3, 4)
	if _, err := m.fit(stdctx.Background(), x, y, 1, 100); err != nil {
		t.Fatal(err)
	}
	preds := finetune.PredictionsFromLogits(m.logits(x), x.n())
	for i, p := range preds {
		if p != y[i] {
			t.Fatalf("example %d predicted %v, label %v", i, p, y[i])
		}
	}
	if _, err := m.fit(stdctx.Background(), x, append(y[:59:59], 3), 1, 10); err == nil || !strings.Contains(err.Error(), "example 59 has label 3") {
		t.Errorf("out-of-range label: %v", err)
	}
}
