package ckksmethod

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
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
// test-only parameters: dev metrics, the phases with their extrapolation flags, encrypted logits within tolerance
// of the reference, the insecure parameters flagged.
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
	if acc, ok := res.Metrics["accuracy"]; !ok || acc < 0 || acc > 1 {
		t.Errorf("metrics %v", res.Metrics)
	}
	if _, ok := res.Extra["teacher_accuracy"]; !ok {
		t.Errorf("no teacher accuracy in %v", res.Extra)
	}
	if res.Tags["security"] != "insecure-test" || res.Tags["ckks_parameters"] != "test-n12" {
		t.Errorf("tags %v", res.Tags)
	}
	if d := res.Extra["logits_max_abs_diff"]; !(d <= res.Extra["logit_tolerance"]) {
		t.Errorf("logits differ by %v", d)
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
