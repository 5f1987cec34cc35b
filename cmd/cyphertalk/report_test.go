package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// TestReportCommand writes a small experiment with the results writer, renders it with "report" and checks
// that the five paper figures are drawn (no placeholder) and linked from index.html.
func TestReportCommand(t *testing.T) {
	expDir := filepath.Join(t.TempDir(), "results", "smoke")
	n := 0
	write := func(task, name, label string, params map[string]any, tags map[string]string, extra map[string]float64, acc float64, costs []method.Cost) {
		n++
		rec := &results.Record{RunID: fmt.Sprintf("run%02d", n), Experiment: "smoke", Task: task, Method: name, Label: label,
			Seed: 1, Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 64, Epochs: 1, LearningRate: 2e-3,
			Params: params, Metrics: map[string]float64{"accuracy": acc}, Extra: extra, Tags: tags,
			Epsilon: math.NaN(), Delta: math.NaN(), Start: time.Unix(0, 0).UTC(), Costs: costs}
		if err := results.Write(expDir, rec); err != nil {
			t.Fatal(err)
		}
	}
	tune := method.Cost{Phase: method.PhasePrivateTuning, CloudSeconds: 3, Units: 1, UnitName: "epochs"}
	infer := method.Cost{Phase: method.PhasePrivateInference, CloudSeconds: 0.2, Units: 64, UnitName: "examples"}
	for _, task := range []string{"sst2", "qqp"} {
		for _, table := range []string{"trainable", "frozen"} {
			write(task, "plaintext", "plaintext", map[string]any{"table": table}, map[string]string{"table": table}, nil, 0.6,
				[]method.Cost{tune, infer})
		}
		for _, sigma := range []float64{0.5, 1} {
			write(task, "cyphertalk", "CypherTalk", map[string]any{"ops": fmt.Sprintf("gaussian:sigma=%g", sigma)},
				map[string]string{"operator": "gaussian", "operator_param": "sigma", "recovery": "none"},
				map[string]float64{"operator_value": sigma}, 0.6-0.05*sigma,
				[]method.Cost{{Phase: method.PhaseShaking, ClientSeconds: 0.4}, tune, infer})
		}
	}
	outDir := filepath.Join(t.TempDir(), "report")
	cmd := newReportCmd(&globals{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{expDir, "-o", outDir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	html, err := os.ReadFile(filepath.Join(outDir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fig := range []string{"time-preprocessing", "time-private-tuning", "time-private-inference", "opts2", "opts2-qqp"} {
		if !strings.Contains(out.String(), fig) || strings.Contains(out.String(), fig+" placeholder") {
			t.Errorf("%s not drawn:\n%s", fig, out.String())
		}
		for _, ext := range []string{".png", ".svg"} {
			if _, err := os.Stat(filepath.Join(outDir, fig+ext)); err != nil {
				t.Error(err)
			}
		}
		if !strings.Contains(string(html), fig+".png") {
			t.Errorf("index.html does not show %s", fig)
		}
	}
	if strings.Contains(out.String(), "placeholder") {
		t.Errorf("placeholders in:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "8 runs") {
		t.Errorf("output %q does not count 8 runs", out.String())
	}

	cmd = newReportCmd(&globals{})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{filepath.Join(t.TempDir(), "nothing-here")})
	if err := cmd.Execute(); err == nil {
		t.Error("report of a missing directory should fail")
	}
}
