package dpforward

import (
	stdctx "context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/cyphertalk/cyphertalk-go/baselines/dpsgd"     // registers dp-sgd
	_ "github.com/cyphertalk/cyphertalk-go/experiments/harness" // registers plaintext
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// TestMeasureTiny is the one-off measurement, not a unit test: plaintext (frozen table), dp-forward and
// dp-sgd on SST-2 with the tiny preset, 2,000 training examples, ε = 8, seed 1, in one process, printing dev
// accuracy and the private-tuning wall time of each relative to plaintext, and the process CPU time of each whole
// run (a fairer comparison on a machine shared with other jobs). It runs only with CYPHERTALK_MEASURE=1
// (CYPHERTALK_MEASURE_EPOCHS sets the epochs, default 1) and uses the repository's cache of the pre-trained tiny base model (it stops, rather than
// pre-train for many minutes, when that is missing; CYPHERTALK_MEASURE_PRETRAIN=none measures from scratch).
func TestMeasureTiny(t *testing.T) {
	if os.Getenv("CYPHERTALK_MEASURE") != "1" {
		t.Skip("set CYPHERTALK_MEASURE=1 to run the tiny-preset measurement (minutes)")
	}
	dir, tok := testkit.Tokenizer(t)
	t.Chdir(filepath.Join("..", "..")) // the cache records paths relative to the repository root
	recipe := os.Getenv("CYPHERTALK_MEASURE_PRETRAIN")
	if recipe == "" {
		recipe = "default"
	}
	if recipe == "default" {
		cfg := pretrain.DefaultConfig("tiny")
		corpus, err := pretrain.BuildCorpus(dir, tok, cfg.PublicTasks)
		if err != nil {
			t.Fatal(err)
		}
		cached := filepath.Join("cache", "pretrain", "tiny-"+cfg.Key(corpus.Checksum, tok.Fingerprint()), "result.json")
		if _, err := os.Stat(cached); err != nil {
			t.Fatalf("no cached tiny base model (%v): run `cyphertalk pretrain --preset tiny` first", err)
		}
	}
	env := method.Env{DataDir: dir, CacheDir: "cache", Tok: tok, Log: slog.Default()}
	type row struct {
		name   string
		params map[string]any
	}
	rows := []row{
		{"plaintext", map[string]any{"table": "frozen"}},
		{"dp-forward", map[string]any{"epsilon": 8.0}},
		{"dp-sgd", map[string]any{"epsilon": 8.0}},
	}
	epochs := 1
	if e := os.Getenv("CYPHERTALK_MEASURE_EPOCHS"); e != "" {
		var err error
		if epochs, err = strconv.Atoi(e); err != nil {
			t.Fatal(err)
		}
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var base, baseCPU float64
	for _, r := range rows {
		m, err := method.Lookup(r.name)
		if err != nil {
			t.Fatal(err)
		}
		run := method.Run{Task: "sst2", Preset: "tiny", Pretrain: recipe, MaxTrain: 2000, Seed: 1, Epochs: epochs, Params: r.params}
		cpu0 := cpu()
		res, err := m.Run(stdctx.Background(), env, run)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		runCPU := (cpu() - cpu0).Seconds()
		var tune, inf method.Cost
		for _, c := range res.Costs {
			switch c.Phase {
			case method.PhasePrivateTuning:
				tune = c
			case method.PhasePrivateInference:
				inf = c
			}
		}
		if r.name == "plaintext" {
			base, baseCPU = tune.Seconds(), runCPU
		}
		fmt.Printf("MEASURE %-10s epochs %d acc %.4f  tuning %.1f s wall (client %.1f, cloud %.1f; %.2f× plaintext)  run CPU %.0f s (%.2f× plaintext)  up %.1f MB  inference %.1f s  ε %.3g δ %.3g  extra %v\n",
			r.name, epochs, res.Metrics["accuracy"], tune.Seconds(), tune.ClientSeconds, tune.CloudSeconds, tune.Seconds()/base,
			runCPU, runCPU/baseCPU, float64(tune.BytesToCloud)/1e6, inf.Seconds(), res.Epsilon, res.Delta, res.Extra)
	}
}
