package dpforward

import (
	stdctx "context"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/baselines/accountant"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

func devExamples(t *testing.T, dir string, tok *wordpiece.Tokenizer, n, T int) *finetune.Encoded {
	t.Helper()
	set, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		t.Fatal(err)
	}
	return finetune.Encode(tok, set.Examples[:n], T)
}

// TestNoiseHasCalibratedStd: the client's uploads differ from its clipped outputs by noise whose sample standard
// deviation over 65,536 draws matches the analytic Gaussian σ for (ε, δ) at sensitivity 2C (to 1.5%, ~6 standard
// errors), with mean 0 and Gaussian tails; σ meets δ exactly; every clipped sequence has norm ≤ C.
func TestNoiseHasCalibratedStd(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	m := testkit.NanoModel(t, tok.VocabSize(), 5)
	const eps, delta, clip = 4.0, 1e-5, 0.5
	sigma, err := NoiseStd(eps, delta, clip)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := accountant.AnalyticGaussianDelta(sigma, eps, 2*clip); math.Abs(got-delta) > 1e-3*delta {
		t.Fatalf("σ = %g gives δ = %g at ε = %g, want %g", sigma, got, eps, delta)
	}
	if classical := 2 * clip * math.Sqrt(2*math.Log(1.25/delta)) / eps; !(sigma < classical) {
		t.Errorf("analytic σ %g is not below the classical %g", sigma, classical)
	}
	client, err := NewClient(m, 0, clip, sigma)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Finalize()
	B, T, d := m.Preset.BatchSize, m.Preset.MaxLen, m.Preset.Hidden
	enc := devExamples(t, dir, tok, B, T)
	idx := rowRange(0, B)
	clean, err := client.Clipped(enc, idx)
	if err != nil {
		t.Fatal(err)
	}
	for b := range B {
		var sq float64
		for _, v := range clean[b*T*d : (b+1)*T*d] {
			sq += float64(v) * float64(v)
		}
		if norm := math.Sqrt(sq); norm > clip*(1+1e-5) || norm < clip*(1-1e-3) {
			t.Fatalf("sequence %d clipped to norm %g, want C = %g (its raw norm is ≫ C)", b, norm, clip)
		}
	}
	rng := NoiseRNG(1, "test")
	var n, sum, sum2, beyond3 float64
	for range 4 {
		noisy, err := client.Perturb(enc, idx, rng)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range noisy {
			z := float64(v) - float64(clean[i])
			n++
			sum += z
			sum2 += z * z
			if math.Abs(z) > 3*sigma {
				beyond3++
			}
		}
	}
	mean := sum / n
	std := math.Sqrt(sum2/n - mean*mean)
	if math.Abs(std/sigma-1) > 0.015 {
		t.Errorf("noise std %g over %v draws, want σ = %g", std, n, sigma)
	}
	if math.Abs(mean) > 5*sigma/math.Sqrt(n) {
		t.Errorf("noise mean %g, want 0 (σ/√n = %g)", mean, sigma/math.Sqrt(n))
	}
	if frac := beyond3 / n; math.Abs(frac-0.0027) > 0.0012 {
		t.Errorf("%.4f of the noise lies beyond 3σ, a Gaussian has 0.0027", frac)
	}
}

// TestEncodeFromCompletesEncode: the lower part up to layer k followed by models.EncodeFrom(k) is the whole encoder.
func TestEncodeFromCompletesEncode(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	m := testkit.NanoModel(t, tok.VocabSize(), 7)
	B, T := m.Preset.BatchSize, m.Preset.MaxLen
	in := devExamples(t, dir, tok, B, T).Batch(rowRange(0, B), B, false)[:3]
	run := func(fn func(c *context.Context, x models.Inputs) *Node) []float32 {
		pred, err := m.NewPredictor(func(c *context.Context, nodes []*Node) []*Node {
			return []*Node{fn(c, models.Inputs{IDs: nodes[0], Segments: nodes[1], Mask: nodes[2]})}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer pred.Finalize()
		outs, err := pred.Run(in...)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](outs[0])
	}
	whole := run(func(c *context.Context, x models.Inputs) *Node { return m.Encode(c, x, -1) })
	for k := 0; k <= m.Preset.Layers; k++ {
		split := run(func(c *context.Context, x models.Inputs) *Node { return m.EncodeFrom(c, m.Encode(c, x, k), x.Mask, k) })
		for i := range whole {
			if math.Abs(float64(whole[i]-split[i])) > 1e-5 {
				t.Fatalf("split after layer %d differs at %d: %g vs %g", k, i, split[i], whole[i])
			}
		}
	}
	lower, upper := models.LowerScopes(1), models.UpperScopes(1, 12)
	if !slices.Contains(lower, "/encoder/layer_0/") || slices.Contains(upper, "/encoder/layer_0/") || !slices.Contains(upper, "/encoder/layer_11/") {
		t.Errorf("scopes of a split after layer 1: lower %v upper %v", lower, upper)
	}
}

func TestDecodeConfig(t *testing.T) {
	cfg, err := DecodeConfig(map[string]any{"epsilon": int64(2), "clip": 0.5, "layer": int64(1), "table": "trainable"})
	if err != nil || cfg.Epsilon != 2 || cfg.Clip != 0.5 || cfg.Layer != 1 || cfg.Table != "trainable" || cfg.Delta != 0 {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, bad := range []map[string]any{{"epsilon": 0.0}, {"delta": 1.0}, {"clip": -1.0}, {"layer": int64(-1)},
		{"table": "sparse"}, {"sigma": 1.0}} {
		if err := DPForward().Validate(bad); err == nil {
			t.Errorf("params %v accepted", bad)
		}
	}
}

// TestProtocolEndToEnd runs dp-forward on SST-2 (64 training, 48 dev examples, nano, from scratch) with a frozen
// and a trainable client part, and checks what each party sent, the privacy record, and which weights moved.
func TestProtocolEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	data, err := finetune.LoadTaskData(dir, "sst2", 64, 48, 1)
	if err != nil {
		t.Fatal(err)
	}
	const B, T, d = 16, 32, 32
	for _, table := range []string{"frozen", "trainable"} {
		t.Run(table, func(t *testing.T) {
			run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 48, Seed: 1, Epochs: 2,
				Params: map[string]any{"epsilon": 8.0, "table": table}}
			cfg, err := DecodeConfig(run.Params)
			if err != nil {
				t.Fatal(err)
			}
			m := testkit.NanoModel(t, tok.VocabSize(), 1)
			before := m.TokenTable()
			res, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: m}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sigma, _ := NoiseStd(8, 1.0/64, 1)
			if res.Delta != 1.0/64 || res.Extra["noise_std"] != sigma || res.Tags["mechanism"] != "dp-forward" {
				t.Errorf("privacy record ε %v δ %v extra %v tags %v", res.Epsilon, res.Delta, res.Extra, res.Tags)
			}
			costs := map[string]method.Cost{}
			for _, c := range res.Costs {
				costs[c.Phase] = c
			}
			tune, inf := costs[method.PhasePrivateTuning], costs[method.PhasePrivateInference]
			if inf.BytesToCloud != 48*T*(d*4+1) || inf.BytesToClient != 48*2*4 || inf.Units != 48 || inf.ClientSeconds <= 0 || inf.CloudSeconds <= 0 {
				t.Errorf("inference cost %+v", inf)
			}
			changed := !slices.Equal(before, m.TokenTable())
			steps := 2 * (64 / B)
			switch table {
			case "frozen":
				if res.Epsilon != 8 || tune.BytesToCloud != 64*(T*(d*4+1)+4) || tune.BytesToClient != 0 || changed {
					t.Errorf("frozen: ε %v, tuning cost %+v, token table changed %v", res.Epsilon, tune, changed)
				}
			case "trainable":
				if !(res.Epsilon > 8) || tune.BytesToCloud != int64(steps*B*(T*(d*4+1)+4)) || tune.BytesToClient != int64(steps*B*T*d*4) || !changed {
					t.Errorf("trainable: ε %v over 2 releases, tuning cost %+v, token table changed %v", res.Epsilon, tune, changed)
				}
			}
			if tune.ClientSeconds <= 0 || tune.CloudSeconds <= 0 || tune.Units != 2 {
				t.Errorf("tuning cost %+v", tune)
			}
			// Two epochs of 4 steps: a point at the end of each. (What the metrics are worth is
			// TestNoiselessFrozenIsPlaintextAboveTheCut's to check: at ε = 8 the noise decides them.)
			if _, ok := res.Metrics["accuracy"]; !ok || res.EvalExamples != 48 || res.TrainExamples != 64 || len(res.Curve) != 2 ||
				res.Curve[0].Step != steps/2 || res.Curve[1].Step != steps || !(res.Curve[0].Loss > 0 && res.Curve[1].Loss > 0) {
				t.Errorf("metrics %v on %d/%d examples, curve %v", res.Metrics, res.TrainExamples, res.EvalExamples, res.Curve)
			}
		})
	}
}

// TestRunRegistered runs the registered method through method.Lookup as the runner does.
func TestRunRegistered(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	mth, err := method.Lookup("dp-forward")
	if err != nil {
		t.Fatal(err)
	}
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 48, Seed: 1, Epochs: 1,
		Params: map[string]any{"epsilon": 8.0, "layer": int64(1)}}
	res, err := mth.Run(stdctx.Background(), env, run)
	if err != nil {
		t.Fatal(err)
	}
	if res.Epsilon != 8 || res.Extra["noise_layer"] != 1 || len(res.Costs) != 2 {
		t.Errorf("result ε %v extra %v costs %+v", res.Epsilon, res.Extra, res.Costs)
	}
}

// TestAttacksOnUploads: with negligible noise (ε = 10⁶, C = 10: σ ≈ 0.014 against clipped entries ≈ 0.3)
// embedding-output inversion recovers essentially every uploaded token, frozen or trainable (where the attacker
// keeps the public model); at ε = 0.5 it is near chance. Attacks need the noise at the embedding output.
func TestAttacksOnUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains nano models")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	data, err := finetune.LoadTaskData(dir, "sst2", 32, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		params   map[string]any
		min, max float64
	}{
		{"frozen, no noise", map[string]any{"epsilon": 1e6, "clip": 10.0, "attacks": true}, 0.99, 1},
		{"trainable, no noise", map[string]any{"epsilon": 1e6, "clip": 10.0, "attacks": true, "table": "trainable"}, 0.99, 1},
		{"frozen, ε = 0.5", map[string]any{"epsilon": 0.5, "attacks": true}, 0, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 32, MaxEval: 32, Seed: 1, Epochs: 1, Params: tc.params}
			cfg, err := DecodeConfig(run.Params)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: testkit.NanoModel(t, tok.VocabSize(), 1)}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			rates := map[string]method.AttackResult{}
			for _, r := range res.Attacks {
				rates[r.Attack] = r
			}
			best := max(rates["nn-cosine"].Top1, rates["nn-l2"].Top1)
			if best < tc.min || best > tc.max || rates["random"].Tokens == 0 || rates["frequency-prior"].Tokens != rates["random"].Tokens {
				t.Errorf("strongest top-1 %.4f outside [%v, %v]; results %+v", best, tc.min, tc.max, res.Attacks)
			}
		})
	}
	if _, err := DecodeConfig(map[string]any{"attacks": true, "layer": int64(1)}); err == nil {
		t.Error("attacks at layer 1 were accepted")
	}
}

// TestNoiselessFrozenIsPlaintextAboveTheCut: with a clip no sequence reaches (C = 100 against embedding outputs of
// Frobenius norm ≈ √(T·d) = 32) and ε = 10¹⁸ (σ ≈ 1.4·10⁻⁷, below float32 rounding of the entries), a frozen
// dp-forward run split at the embedding layer is plaintext fine-tuning of the layers above the cut: the same
// model and data, the same shuffled batches and the same AdamW schedule give the same loss at every point of the
// curve (to 10⁻⁵), the same weights afterwards (to 10⁻⁴) and the same dev metrics; and the cloud's dev logits on
// the client's uploads are the whole model's in the clear (to 2·10⁻⁶, where neighbouring dev examples' differ by
// 10⁻⁴). The reference is finetune.Train with only the upper scopes trainable (plaintext with a frozen table also
// trains the position embeddings and the embedding LayerNorm, which dp-forward's client keeps). A cloud that
// trains on anything but the client's embedding outputs, a client part that moves, a shuffle or schedule of its
// own, or an inference that scores other uploads than the dev queries' breaks it.
func TestNoiselessFrozenIsPlaintextAboveTheCut(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two nano models")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	data, err := finetune.LoadTaskData(dir, "sst2", 64, 48, 1)
	if err != nil {
		t.Fatal(err)
	}
	const clip, epochs = 100.0, 3
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 48, Seed: 1, Epochs: epochs, LearningRate: 3e-3,
		Params: map[string]any{"epsilon": 1e18, "clip": clip}}
	cfg, err := DecodeConfig(run.Params)
	if err != nil {
		t.Fatal(err)
	}
	m := testkit.NanoModel(t, tok.VocabSize(), 1)
	if m.Preset.Dropout != 0 {
		t.Fatalf("the nano preset has dropout %v: the two runs would draw different masks", m.Preset.Dropout)
	}
	T := m.Preset.MaxLen
	train, dev := finetune.Encode(tok, data.Train, T), finetune.Encode(tok, data.Dev, T)
	if _, _, err := finetune.Predict(m, data.Info, dev); err != nil {
		t.Fatal(err) // creates every variable, so that the reference starts from the same weights
	}
	// The clip must not act: every sequence's embedding output is well inside C.
	probe, err := NewClient(m, 0, math.MaxFloat32, 0)
	if err != nil {
		t.Fatal(err)
	}
	B, d := m.Preset.BatchSize, m.Preset.Hidden
	for _, e := range []*finetune.Encoded{train, dev} {
		for s := 0; s < e.N; s += B {
			idx := rowRange(s, min(s+B, e.N))
			x, err := probe.Clipped(e, idx)
			if err != nil {
				t.Fatal(err)
			}
			for r := range idx {
				var sq float64
				for _, v := range x[r*T*d : (r+1)*T*d] {
					sq += float64(v) * float64(v)
				}
				if norm := math.Sqrt(sq); !(norm < clip/2) {
					t.Fatalf("a sequence's embedding output has norm %g: C = %g would clip it", norm, clip)
				}
			}
		}
	}
	probe.Finalize()
	ref, err := m.Clone(1)
	if err != nil {
		t.Fatal(err)
	}

	res, err := Protocol(stdctx.Background(), env, run, &harness.Setup{Data: data, Public: m}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sigma := res.Extra["noise_std"]; !(sigma > 0 && sigma < 2e-7) {
		t.Fatalf("noise std %g, want the negligible σ of ε = 10¹⁸", sigma)
	}

	ref.SetTrainableScopes(models.UpperScopes(0, ref.Preset.Layers)...)
	ft := harness.FineTuneConfig(run, false, "reference")
	tuned, err := finetune.Train(stdctx.Background(), ref, data.Info, train, ft)
	if err != nil {
		t.Fatal(err)
	}
	want := harness.TrainCurve(tuned)
	if len(res.Curve) != epochs || len(want) != len(res.Curve) {
		t.Fatalf("curve %v, reference %v", res.Curve, want)
	}
	for i, p := range res.Curve {
		if p.Step != want[i].Step || math.Abs(p.Loss-want[i].Loss) > 1e-5 {
			t.Errorf("curve point %d: dp-forward %+v, plaintext above the cut %+v", i, p, want[i])
		}
	}
	if math.Abs(res.Curve[0].Loss-res.Curve[epochs-1].Loss) < 1e-6 {
		t.Errorf("the loss did not move (%v): the comparison does not exercise training", res.Curve)
	}
	got, base := weights(m), weights(ref)
	moved := 0
	for name, w := range base {
		g := got[name]
		if len(g) != len(w) {
			t.Fatalf("variable %s: %d values after dp-forward, %d in the reference", name, len(g), len(w))
		}
		for i := range w {
			if math.Abs(float64(g[i]-w[i])) > 1e-4 {
				t.Fatalf("variable %s[%d]: %g after dp-forward, %g in the reference", name, i, g[i], w[i])
			}
		}
		moved++
	}
	if moved == 0 {
		t.Fatal("no weights compared")
	}
	preds, wantLogits, err := finetune.Predict(ref, data.Info, dev)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := finetune.Score(data.Info, preds, dev.Labels)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.Metrics, plain) || res.EvalExamples != dev.N {
		t.Errorf("dp-forward metrics %v on %d examples; plaintext above the cut %v on %d", res.Metrics, res.EvalExamples, plain, dev.N)
	}
	// The tuned model predicts one class for every dev example here, so equal metrics say little of inference;
	// the cloud's logits on the client's uploads of the dev queries are the plaintext model's, example by example.
	client, err := NewClient(m, 0, clip, res.Extra["noise_std"])
	if err != nil {
		t.Fatal(err)
	}
	defer client.Finalize()
	sp := &split{run: run, s: &harness.Setup{Data: data, Public: m}, m: m, client: client, cfg: cfg}
	up, err := sp.encodeQueries(dev)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := sp.predict(stdctx.Background(), up)
	if err != nil {
		t.Fatal(err)
	}
	if len(logits) != len(wantLogits) {
		t.Fatalf("%d logits from the cloud, %d in the clear", len(logits), len(wantLogits))
	}
	spread := 0.0
	for i := range logits {
		if math.Abs(float64(logits[i]-wantLogits[i])) > 2e-6 {
			t.Fatalf("logit %d: %g from the cloud on the uploads, %g in the clear", i, logits[i], wantLogits[i])
		}
		spread = max(spread, math.Abs(float64(wantLogits[i]-wantLogits[i%2])))
	}
	if !(spread > 1e-4) {
		t.Errorf("the dev logits hardly vary across examples (%g): the comparison does not exercise inference", spread)
	}
}

// weights copies the values of m's weights (the model's scopes, not the optimizers' state), by scope and name.
func weights(m *models.Model) map[string][]float32 {
	out := map[string][]float32{}
	for v := range m.Ctx.IterVariables() {
		if !v.HasValue() || !slices.ContainsFunc([]string{"/embeddings", "/encoder", "/pooler", "/task_head"},
			func(p string) bool { return strings.HasPrefix(v.Scope(), p) }) {
			continue
		}
		out[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](v.MustValue())
	}
	return out
}
