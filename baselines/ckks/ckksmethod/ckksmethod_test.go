package ckksmethod

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/baselines/cryptorun"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

func TestValidateRejectsBadParams(t *testing.T) {
	m, err := method.Lookup(Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(map[string]any{}); err != nil {
		t.Errorf("defaults rejected: %v", err)
	}
	ok := map[string]any{"inference_examples": int64(3), "parameters": "test-n12", "buckets": []any{int64(16), int64(32)},
		"table": "trainable", "distill_epochs": int64(2), "logit_tolerance": 0.1, "backward_factor": 0.0}
	if err := m.Validate(ok); err != nil {
		t.Errorf("valid parameters rejected: %v", err)
	}
	for _, bad := range []map[string]any{
		{"inference_examples": int64(0)},
		{"parameters": "n15"},
		{"buckets": []any{}},
		{"buckets": []any{int64(48)}},
		{"buckets": int64(32)},
		{"table": "open"},
		{"distill_epochs": int64(0)},
		{"logit_tolerance": -1.0},
		{"backward_factor": -1.0},
		{"tuning_steps": int64(2)},
	} {
		if err := m.Validate(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestStrides(t *testing.T) {
	for _, c := range []struct {
		buckets         []int
		maxLen, headDim int
		want            []int
	}{
		{[]int{32, 64}, 64, 64, []int{64}},     // tiny: the head dimension rules
		{[]int{16, 32}, 32, 16, []int{16, 32}}, // nano
		{[]int{16}, 64, 16, []int{16, 64}},     // a bucket for the longest sequences is added
		{[]int{64, 8}, 32, 4, []int{8, 64}},
	} {
		if got := Strides(c.buckets, c.maxLen, c.headDim); !slices.Equal(got, c.want) {
			t.Errorf("Strides(%v, %d, %d) = %v, want %v", c.buckets, c.maxLen, c.headDim, got, c.want)
		}
	}
}

// TestRunOnNano runs the whole method on the nano preset (random weights, 64 training and 32 dev examples) on the
// test-only parameters: the dev metrics are those of the function the encrypted engine computes, on the examples
// it ran as well (checkAccuracyIsTheEncryptedFunctions), the encrypted logits are within tolerance of the
// reference's (and not identical to them), the phases carry their extrapolation flags, the insecure parameters are
// flagged.
func TestRunOnNano(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 32, Seed: 1, Epochs: 1,
		Params: map[string]any{"inference_examples": int64(2), "distill_epochs": int64(1), "parameters": "test-n12",
			"buckets": []any{int64(16), int64(32)}}}
	res, err := Method().Run(context.Background(), env, run)
	if err != nil {
		t.Fatal(err)
	}
	checkAccuracyIsTheEncryptedFunctions(t, env, run, res)
	if _, ok := res.Extra["teacher_accuracy"]; !ok {
		t.Errorf("no teacher accuracy in %v", res.Extra)
	}
	if res.Tags["security"] != "insecure-test" || res.Tags["ckks_parameters"] != "test-n12" {
		t.Errorf("tags %v", res.Tags)
	}
	// CKKS is approximate: logits equal to the reference's to the last bit would mean the reference was compared
	// with itself.
	if d := res.Extra["logits_max_abs_diff"]; !(d > 0 && d <= res.Extra["logit_tolerance"]) || res.Extra["logit_tolerance"] != 0.01 {
		t.Errorf("encrypted logits differ from the reference engine's by %v, want 0 < diff ≤ tolerance %v", d, res.Extra["logit_tolerance"])
	}
	byPhase := map[string][]method.Cost{}
	for _, c := range res.Costs {
		byPhase[c.Phase] = append(byPhase[c.Phase], c)
		t.Logf("%-18s client %.3fs cloud %.3fs, %d B up, %d B down, %d rounds, %d %s, extrapolated %v (%d measured)",
			c.Phase, c.ClientSeconds, c.CloudSeconds, c.BytesToCloud, c.BytesToClient, c.Rounds, c.Units, c.UnitName, c.Extrapolated, c.MeasuredUnits)
	}
	for _, phase := range []string{method.PhasePreprocessing, method.PhaseOffline, method.PhasePrivateInference, method.PhasePrivateTuning} {
		if len(byPhase[phase]) != 1 {
			t.Fatalf("phases %v", byPhase)
		}
	}
	off := byPhase[method.PhaseOffline][0]
	if off.Extrapolated || off.Units < 1 || off.ClientSeconds <= 0 || off.BytesToCloud <= 0 {
		t.Errorf("offline %+v", off)
	}
	inf := byPhase[method.PhasePrivateInference][0]
	if !inf.Extrapolated || inf.MeasuredUnits != 2 || inf.Units != 32 || inf.UnitName != "examples" ||
		inf.BytesToCloud <= 0 || inf.BytesToClient <= 0 || inf.Rounds <= 0 || inf.ClientSeconds <= 0 || inf.CloudSeconds <= 0 {
		t.Errorf("private inference %+v", inf)
	}
	tune := byPhase[method.PhasePrivateTuning][0]
	if !tune.Extrapolated || tune.Units != 1 || tune.UnitName != "epochs" || !(tune.CloudSeconds > inf.CloudSeconds) {
		t.Errorf("private tuning %+v", tune)
	}
	loop, lan, wan := res.Extra["inference_seconds_per_example"], res.Extra["inference_seconds_per_example_lan"], res.Extra["inference_seconds_per_example_wan"]
	if !(loop > 0 && lan > loop && wan > lan) {
		t.Errorf("inference seconds per example: loopback %v, LAN %v, WAN %v", loop, lan, wan)
	}
	t.Logf("accuracy %.3f (teacher %.3f); logits diff %.2g; tags %v; extra %v", res.Metrics["accuracy"], res.Extra["teacher_accuracy"],
		res.Extra["logits_max_abs_diff"], res.Tags, res.Extra)
}

// checkAccuracyIsTheEncryptedFunctions: the run's accuracy is that of the function the encrypted engine
// evaluates, on the same dev examples. The variant (prepared again from the run's seed: preparing it from an
// untrained base is deterministic, and not cached) scores as the run says from its gomlx dev logits; the reference
// engine computes those logits on every dev example (to 10⁻⁶; neighbouring examples' differ by ~10⁻⁵ on random
// weights), so it predicts what they predict; and on the examples the run encrypted (the same sample, drawn again
// with the run's seed and strides) the encrypted logits are within res's max |diff| of the reference's, under half
// of every sampled example's margin between its top two logits: the encrypted predictions are the reference's,
// and the private accuracy on the sample equals the plaintext variant's on it.
func checkAccuracyIsTheEncryptedFunctions(t *testing.T, env method.Env, run method.Run, res *method.Result) {
	t.Helper()
	ctx := context.Background()
	s, err := harness.NewSetup(ctx, env, run)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := DecodeConfig(run.Params)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := cryptorun.ForRun(ctx, env, run, s, cfg.Table == "trainable", cfg.DistillEpochs)
	if err != nil {
		t.Fatal(err)
	}
	k := v.Weights.NumLabels()
	plainPreds := finetune.PredictionsFromLogits(v.Logits, v.Dev.N)
	plain, err := finetune.Score(v.Info, plainPreds, v.Dev.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.Metrics, plain) || len(res.Metrics) == 0 || res.EvalExamples != v.Dev.N {
		t.Errorf("run metrics %v on %d examples; the variant's %v on %d", res.Metrics, res.EvalExamples, plain, v.Dev.N)
	}
	ref := cryptofriendly.NewPlainEngine()
	refPreds := make([]float64, v.Dev.N)
	for i := range v.Dev.N {
		x, mask, err := v.Weights.EmbedExample(v.Dev, i)
		if err != nil {
			t.Fatal(err)
		}
		out, err := cryptofriendly.Forward(ref, v.Weights, x, mask)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Data) != k {
			t.Fatalf("dev example %d: %d reference logits, want %d", i, len(out.Data), k)
		}
		for j, x := range out.Data {
			if math.Abs(x-float64(v.Logits[i*k+j])) > 1e-6 {
				t.Fatalf("dev example %d: reference logits %v, the variant's %v", i, out.Data, v.Logits[i*k:(i+1)*k])
			}
		}
		refPreds[i] = float64(argmax(out.Data))
	}
	if !slices.Equal(refPreds, plainPreds) {
		t.Errorf("reference engine predicts %v, the variant %v", refPreds, plainPreds)
	}
	p := s.Public.Preset
	sample, err := v.Sample(cfg.InferenceExamples, Strides(cfg.Buckets, p.MaxLen, p.HeadDim()), run.Seed)
	if err != nil {
		t.Fatal(err)
	}
	diff := res.Extra["logits_max_abs_diff"]
	if len(sample.Examples) != cfg.InferenceExamples || res.Extra["inference_examples_measured"] != float64(len(sample.Examples)) {
		t.Fatalf("sample of %d examples, the run measured %v", len(sample.Examples), res.Extra["inference_examples_measured"])
	}
	for _, ex := range sample.Examples {
		top := argmax(ex.Reference.Data)
		margin := math.Inf(1)
		for j, x := range ex.Reference.Data {
			if j != top {
				margin = min(margin, ex.Reference.Data[top]-x)
			}
		}
		if !(2*diff < margin) || float64(top) != plainPreds[ex.Index] || len(ex.Reference.Data) != k {
			t.Errorf("dev example %d: reference logits %v (class %d, margin %g), variant's class %v, encrypted within %g: "+
				"the encrypted prediction is not determined to be the variant's", ex.Index, ex.Reference.Data, top, margin, plainPreds[ex.Index], diff)
		}
	}
}

func argmax(xs []float64) int {
	best := 0
	for j, x := range xs {
		if x > xs[best] {
			best = j
		}
	}
	return best
}
