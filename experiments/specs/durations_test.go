package specs

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// TestDurationsUpToDate regenerates durations.json from the committed records and compares it with the
// embedded file: a run record committed without `go generate ./experiments/specs` fails here.
func TestDurationsUpToDate(t *testing.T) {
	if err := CheckUpToDate(filepath.Join("..", "..", "measurements")); err != nil {
		t.Fatal(err)
	}
}

func writeRun(t *testing.T, expDir, id string, d time.Duration, commit string) {
	t.Helper()
	rec := &results.Record{RunID: id, Experiment: filepath.Base(expDir), Task: "sst2", Method: "plaintext", Seed: 1,
		Preset: "nano", Pretrain: "none", Epochs: 1, LearningRate: 1e-3, Params: map[string]any{},
		Metrics: map[string]float64{"accuracy": 0.5}, Extra: map[string]float64{}, Tags: map[string]string{},
		Epsilon: math.NaN(), Delta: math.NaN(), GitCommit: commit, Start: time.Unix(1e9, 0).UTC(), Duration: d}
	if err := results.Write(expDir, rec); err != nil {
		t.Fatal(err)
	}
}

func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	rev := "28c7a81f0e2b4c9a7d5e3f1a0b9c8d7e6f5a4b3c"
	writeRun(t, filepath.Join(dir, "smoke"), "aaaaaaaaaaaaaaaa", 90*time.Second+40*time.Millisecond, rev+"-dirty")
	writeRun(t, filepath.Join(dir, "smoke"), "bbbbbbbbbbbbbbbb", 30*time.Second, rev)
	writeRun(t, filepath.Join(dir, "smoke"), "cccccccccccccccc", 1*time.Second, rev)
	writeRun(t, filepath.Join(dir, "not-a-spec"), "dddddddddddddddd", time.Hour, rev) // no embedded spec: left out
	data, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]Measured
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]Measured{"smoke": {Runs: 3, TotalSeconds: 121, GitCommits: []string{rev, rev + "-dirty"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Generate = %s, want %v", data, want)
	}
	again, _ := Generate(dir)
	if string(again) != string(data) {
		t.Errorf("Generate is not deterministic:\n%s\n%s", data, again)
	}
	if empty, err := Generate(t.TempDir()); err != nil || string(empty) != "{}\n" {
		t.Errorf("no records: %q, %v", empty, err)
	}
	if _, err := Generate(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing measurements directory was accepted")
	}
}

func TestList(t *testing.T) {
	list, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(experiments.EmbeddedNames()) {
		t.Fatalf("List has %d specs, want %d", len(list), len(experiments.EmbeddedNames()))
	}
	measured := 0
	for _, info := range list {
		spec, err := experiments.Embedded(info.Name)
		if err != nil || info.Experiment == "" || info.Description == "" || len(spec) == 0 {
			t.Errorf("spec %s: experiment %q description %q (%v)", info.Name, info.Experiment, info.Description, err)
		}
		if m := info.Measured; m != nil {
			measured++
			if m.Runs <= 0 || m.TotalSeconds <= 0 || len(m.GitCommits) == 0 {
				t.Errorf("spec %s: measured %+v", info.Name, *m)
			}
		}
	}
	// measurements/dp and measurements/cyphertalk hold committed records.
	if measured < 2 {
		t.Errorf("%d specs measured, want at least dp and cyphertalk", measured)
	}
}

func TestShortCommit(t *testing.T) {
	for in, want := range map[string]string{"28c7a81f0e2b": "28c7a81", "28c7a81f0e2b-dirty": "28c7a81-dirty", "unknown": "unknown"} {
		if got := ShortCommit(in); got != want {
			t.Errorf("ShortCommit(%q) = %q, want %q", in, got, want)
		}
	}
}
