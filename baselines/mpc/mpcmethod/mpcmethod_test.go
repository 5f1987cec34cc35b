package mpcmethod

import (
	"context"
	"io"
	"log/slog"
	"math"
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
	ok := map[string]any{"inference_examples": int64(3), "tuning_steps": int64(1), "table": "trainable", "distill_epochs": int64(2),
		"frac_bits": int64(20), "truncation": "local", "logit_tolerance": 0.1}
	if err := m.Validate(ok); err != nil {
		t.Errorf("valid parameters rejected: %v", err)
	}
	for _, bad := range []map[string]any{
		{"inference_examples": int64(0)},
		{"inference_examples": "8"},
		{"tuning_steps": int64(0)},
		{"table": "open"},
		{"distill_epochs": int64(0)},
		{"frac_bits": int64(29)},
		{"truncation": "probabilistic"},
		{"logit_tolerance": 0.0},
		{"logit_tolerance": math.Inf(1)},
		{"epsilon": 8.0},
	} {
		if err := m.Validate(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestStrata(t *testing.T) {
	for maxLen, want := range map[int][]int{32: {16, 32}, 64: {16, 32, 64}, 10: {16}, 100: {16, 32, 64, 128}} {
		got := Strata(maxLen)
		if len(got) != len(want) {
			t.Errorf("Strata(%d) = %v, want %v", maxLen, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Strata(%d) = %v, want %v", maxLen, got, want)
			}
		}
	}
}

// TestRunOnNano runs the whole method on the nano preset (from random weights, 64 training and 32 dev examples):
// dev metrics, the phases with their extrapolation flags, private logits within tolerance of the reference.
func TestRunOnNano(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 32, Seed: 1, Epochs: 1,
		Params: map[string]any{"inference_examples": int64(2), "tuning_steps": int64(1), "distill_epochs": int64(1)}}
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
	if res.TrainExamples != 64 || res.EvalExamples != 32 {
		t.Errorf("examples %d train, %d eval", res.TrainExamples, res.EvalExamples)
	}
	if d := res.Extra["logits_max_abs_diff"]; !(d <= res.Extra["logit_tolerance"]) {
		t.Errorf("logits differ by %v", d)
	}
	byPhase := map[string][]method.Cost{}
	for _, c := range res.Costs {
		byPhase[c.Phase] = append(byPhase[c.Phase], c)
		t.Logf("%-18s client %.3fs cloud %.3fs dealer %.3fs, %d B up, %d B down, %d rounds, %d %s, extrapolated %v (%d measured)",
			c.Phase, c.ClientSeconds, c.CloudSeconds, c.DealerSeconds, c.BytesToCloud, c.BytesToClient, c.Rounds, c.Units, c.UnitName, c.Extrapolated, c.MeasuredUnits)
	}
	if len(byPhase[method.PhasePreprocessing]) != 1 || len(byPhase[method.PhaseOffline]) != 2 ||
		len(byPhase[method.PhasePrivateInference]) != 1 || len(byPhase[method.PhasePrivateTuning]) != 1 {
		t.Fatalf("phases %v", byPhase)
	}
	inf := byPhase[method.PhasePrivateInference][0]
	if !inf.Extrapolated || inf.MeasuredUnits != 2 || inf.Units != 32 || inf.UnitName != "examples" ||
		inf.BytesToCloud <= 0 || inf.BytesToClient <= 0 || inf.Rounds <= 0 || inf.ClientSeconds <= 0 || inf.CloudSeconds <= 0 {
		t.Errorf("private inference %+v", inf)
	}
	tune := byPhase[method.PhasePrivateTuning][0]
	if !tune.Extrapolated || tune.Units != 1 || tune.UnitName != "epochs" || tune.BytesToCloud <= 0 || tune.Rounds <= 0 {
		t.Errorf("private tuning %+v", tune)
	}
	for _, off := range byPhase[method.PhaseOffline] {
		if !off.Extrapolated || off.DealerSeconds <= 0 || off.BytesToCloud <= 0 {
			t.Errorf("offline %+v", off)
		}
	}
	loop, lan, wan := res.Extra["inference_seconds_per_example"], res.Extra["inference_seconds_per_example_lan"], res.Extra["inference_seconds_per_example_wan"]
	if !(loop > 0 && lan > loop && wan > lan) {
		t.Errorf("inference seconds per example: loopback %v, LAN %v, WAN %v", loop, lan, wan)
	}
	if res.Extra["tuning_steps_measured"] != 1 || res.Extra["tuning_steps_per_epoch"] != 4 || !(res.Extra["tuning_seconds_per_epoch_wan"] > res.Extra["tuning_seconds_per_epoch"]) {
		t.Errorf("tuning extras %v", res.Extra)
	}
	t.Logf("accuracy %.3f (teacher %.3f); logits diff %.2g; extra %v", res.Metrics["accuracy"], res.Extra["teacher_accuracy"], res.Extra["logits_max_abs_diff"], res.Extra)
}
