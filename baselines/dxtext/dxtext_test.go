package dxtext

import (
	stdctx "context"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// sample returns 40 SST-2 dev sentences encoded at the nano length, and the nano model's random token table.
func sample(t *testing.T) (*wordpiece.Tokenizer, *finetune.Encoded, []float32, int) {
	t.Helper()
	dir, tok := testkit.Tokenizer(t)
	p, err := models.LookupPreset("nano")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New(p, tok.VocabSize(), 2)
	if err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		t.Fatal(err)
	}
	return tok, finetune.Encode(tok, set.Examples[:40], p.MaxLen), m.TokenTable(), p.Hidden
}

// TestNoNoiseKeepsTokens: at ε = +Inf, and at ε so large that the noise is negligible, every token is its own
// nearest candidate, so the text comes back unchanged.
func TestNoNoiseKeepsTokens(t *testing.T) {
	tok, enc, table, d := sample(t)
	for _, eps := range []float64{math.Inf(1), 1e9} {
		s, err := NewSanitizer(tok, table, tok.VocabSize(), d, eps)
		if err != nil {
			t.Fatal(err)
		}
		out, perturbed, changed, err := s.Sanitize(enc.IDs, NoiseSeed(1, "test"))
		if err != nil {
			t.Fatal(err)
		}
		if changed != 0 || !slices.Equal(out, enc.IDs) || perturbed == 0 {
			t.Errorf("ε = %g: %d of %d occurrences changed", eps, changed, perturbed)
		}
	}
}

// TestNoiseReplacesTokens: with noise, special tokens stay where they are and others are replaced by candidate
// tokens, more of them at smaller ε; the noise is drawn per occurrence (one token's occurrences are replaced by
// different tokens) and is a function of the seed.
func TestNoiseReplacesTokens(t *testing.T) {
	tok, enc, table, d := sample(t)
	special := map[int32]bool{}
	for _, id := range tok.SpecialIDs() {
		special[id] = true
	}
	var fractions []float64
	for _, eps := range []float64{1, 8, 64} {
		s, err := NewSanitizer(tok, table, tok.VocabSize(), d, eps)
		if err != nil {
			t.Fatal(err)
		}
		out, perturbed, changed, err := s.Sanitize(enc.IDs, NoiseSeed(1, "test"))
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range enc.IDs {
			if special[id] != special[out[i]] || (special[id] && out[i] != id) {
				t.Fatalf("ε = %g: position %d: %s became %s", eps, i, tok.Token(id), tok.Token(out[i]))
			}
			if w := tok.Token(out[i]); !special[out[i]] && w[0] == '[' && w[len(w)-1] == ']' {
				t.Fatalf("ε = %g: replaced by the placeholder %s", eps, w)
			}
		}
		fractions = append(fractions, float64(changed)/float64(perturbed))
		if eps == 8 {
			again, _, _, _ := s.Sanitize(enc.IDs, NoiseSeed(1, "test"))
			other, _, _, _ := s.Sanitize(enc.IDs, NoiseSeed(2, "test"))
			if !slices.Equal(out, again) || slices.Equal(out, other) {
				t.Error("the replacement is not a function of the seed")
			}
			// The most frequent non-special token is replaced by several different tokens.
			count := map[int32]int{}
			for _, id := range enc.IDs {
				if !special[id] {
					count[id]++
				}
			}
			var top int32
			for id, c := range count {
				if c > count[top] {
					top = id
				}
			}
			images := map[int32]bool{}
			for i, id := range enc.IDs {
				if id == top {
					images[out[i]] = true
				}
			}
			if count[top] >= 5 && len(images) < 2 {
				t.Errorf("%d occurrences of %q all became %v: noise is not per occurrence", count[top], tok.Token(top), images)
			}
		}
	}
	if !(fractions[0] > 0.9 && fractions[0] > fractions[1] && fractions[1] > fractions[2]) {
		t.Errorf("replaced fractions at ε = 1, 8, 64: %v, want > 0.9 and decreasing", fractions)
	}
}

// TestRunEndToEnd runs the registered method on SST-2 (64 training, 48 dev examples, nano, from scratch).
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	mth, err := method.Lookup("dx-text")
	if err != nil {
		t.Fatal(err)
	}
	if err := mth.Validate(map[string]any{}); err == nil {
		t.Error("a run without epsilon accepted")
	}
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 48, Seed: 1, Epochs: 1,
		Params: map[string]any{"epsilon": 8.0}}
	res, err := mth.Run(stdctx.Background(), env, run)
	if err != nil {
		t.Fatal(err)
	}
	if res.Epsilon != 8 || res.Delta != 0 || res.Tags["mechanism"] != "dx-text" {
		t.Errorf("privacy record ε %v δ %v tags %v", res.Epsilon, res.Delta, res.Tags)
	}
	for _, k := range []string{"replaced_train", "replaced_eval"} {
		if f := res.Extra[k]; !(f > 0 && f <= 1) {
			t.Errorf("%s = %v", k, f)
		}
	}
	costs := map[string]method.Cost{}
	for _, c := range res.Costs {
		costs[c.Phase] = c
	}
	tune, inf := costs[method.PhasePrivateTuning], costs[method.PhasePrivateInference]
	if tune.BytesToCloud != 64*32*6+64*4 || tune.ClientSeconds <= 0 || tune.CloudSeconds <= 0 {
		t.Errorf("tuning cost %+v", tune)
	}
	if inf.BytesToCloud != 48*32*6+48*4 || inf.BytesToClient != 48*2*4 || inf.Units != 48 || inf.ClientSeconds <= 0 {
		t.Errorf("inference cost %+v", inf)
	}
	if res.EvalExamples != 48 || res.TrainExamples != 64 {
		t.Errorf("metrics %v on %d/%d examples", res.Metrics, res.TrainExamples, res.EvalExamples)
	}

	// At ε = +Inf every token rounds to itself: the uploads are the plaintext ids, so the method must tune and
	// score exactly as plaintext with a trainable table (the same curve and metrics from the same model).
	data, err := finetune.LoadTaskData(dir, "sst2", 64, 48, 1)
	if err != nil {
		t.Fatal(err)
	}
	run.Params = map[string]any{"epsilon": math.Inf(1)}
	exact, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: testkit.NanoModel(t, tok.VocabSize(), 1)}, Config{Epsilon: math.Inf(1)})
	if err != nil {
		t.Fatal(err)
	}
	plain, m := method.NewResult(), testkit.NanoModel(t, tok.VocabSize(), 1)
	harness.PrepareTuning(m, true)
	if err := harness.TuneAndInfer(stdctx.Background(), env, &harness.Setup{Data: data, Public: m}, harness.IDProtocol{Model: m},
		harness.FineTuneConfig(run, false, "plaintext"), harness.NewLedger(), plain); err != nil {
		t.Fatal(err)
	}
	if exact.Extra["replaced_train"] != 0 || !maps.Equal(exact.Metrics, plain.Metrics) || !slices.Equal(exact.Curve, plain.Curve) || len(plain.Curve) == 0 {
		t.Errorf("ε = +Inf: replaced %v, metrics %v, curve %v; plaintext: metrics %v, curve %v",
			exact.Extra["replaced_train"], exact.Metrics, exact.Curve, plain.Metrics, plain.Curve)
	}
}
