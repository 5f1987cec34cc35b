package shaking

import (
	"bytes"
	stdctx "context"
	"encoding/json"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/testkit"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// TestPermutationIsLossless: the model with E_s = π(E) (no vertical operator) on π-encoded inputs gives the
// original model's task logits and masked-LM distribution (in π order) to 1e-5.
func TestPermutationIsLossless(t *testing.T) {
	dir, tok := testkit.Tokenizer(t)
	m := testkit.NanoModel(t, tok.VocabSize(), 3)
	set, err := datasets.Load(dir, "sst2", "dev")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := datasets.Task("sst2")
	enc := finetune.Encode(tok, set.Examples[:40], m.Preset.MaxLen)
	_, want, err := finetune.Predict(m, info, enc) // creates the task head
	if err != nil {
		t.Fatal(err)
	}
	key, err := operators.NewKey(operators.SeedFromUint64(9), operators.KeyOptions{VocabSize: tok.VocabSize(),
		Special: tok.SpecialIDs(), Horizontal: true, Chain: []operators.OpSpec{}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewClient(key, m)
	if err != nil {
		t.Fatal(err)
	}
	table, err := client.ShakeTable()
	if err != nil {
		t.Fatal(err)
	}
	shaken, err := m.Clone(3)
	if err != nil {
		t.Fatal(err)
	}
	if err := shaken.SetTokenTable(table); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i, id := range enc.IDs {
		if client.Pi(id) != id {
			moved++
		}
		if slicesContains(tok.SpecialIDs(), id) && client.Pi(id) != id {
			t.Fatalf("special id %d moved by π at %d", id, i)
		}
	}
	if moved < len(enc.IDs)/4 {
		t.Fatalf("π moved only %d of %d ids", moved, len(enc.IDs))
	}
	_, got, err := finetune.Predict(shaken, info, client.EncodeData(enc))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(want, got); d > 1e-5 {
		t.Fatalf("permuted model's logits differ by %g", d)
	}
	// The embedding-layer output on plaintext ids differs on the shaken model (π did move the rows), and on
	// π-ids equals the original's.
	embed := func(m *models.Model, e *finetune.Encoded) []float32 {
		pred, err := m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
			return []*Node{m.Encode(c, models.Inputs{IDs: in[0], Segments: in[1], Mask: in[2]}, 0)}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer pred.Finalize()
		idx := make([]int, m.Preset.BatchSize)
		for i := range idx {
			idx[i] = i
		}
		outs, err := pred.Run(e.Batch(idx, m.Preset.BatchSize, false)[:3]...)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](outs[0])
	}
	base := embed(m, enc)
	if d := maxAbsDiff(base, embed(shaken, client.EncodeData(enc))); d > 1e-5 {
		t.Fatalf("embedding output on π-ids differs by %g", d)
	}
	if d := maxAbsDiff(base, embed(shaken, enc)); d < 0.1 {
		t.Fatalf("plaintext ids on the shaken model give the same embeddings (diff %g): π had no effect", d)
	}
}

func slicesContains(xs []int32, x int32) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestTopK(t *testing.T) {
	row := []float32{0.5, 3, -1, 3, 2, 7}
	idx := []int32{0, 1, 2, 3, 4, 5}
	got := topK(row, idx, 3)
	want := []int32{5, 1, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("topK = %v, want %v", got, want)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	if _, err := DecodeConfig(map[string]any{"ops": "gaussian:sigma=0.5,tilt:angle=0.3", "function_steps": int64(5)}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]any{
		{"opps": "gaussian:sigma=1"},
		{"ops": "gauss:sigma=1"},
		{"awareness_party": "server"},
		{"bias_party": "server"},
		{"bias_passes": int64(2), "bias_smoothing": 0.0},
		{"function_steps": int64(-1)},
	} {
		if _, err := DecodeConfig(bad); err == nil {
			t.Errorf("DecodeConfig(%v) accepted", bad)
		}
	}
}

// TestProtocolEndToEnd runs the four phases on the nano model with a few steps each and checks what the
// protocol promises: every phase booked, bytes counted, recovery losses recorded, the key never in the result
// or the logs, and a second run with the same key reusing the implanted model.
func TestProtocolEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	var logs bytes.Buffer
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	run := method.Run{Task: "sst2", Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 48, Seed: 1, Epochs: 1}
	params := map[string]any{"ops": "gaussian:sigma=1", "awareness_steps": int64(4), "function_steps": int64(4),
		"mlm_eval_batches": int64(1), "kd_topk": int64(4), "key_seed": int64(77)}
	if err := CypherTalk().Validate(params); err != nil {
		t.Fatal(err)
	}
	run.Params = params
	// A saved base model, so that implantation is cacheable (as with a pre-trained checkpoint).
	base := testkit.NanoModel(t, tok.VocabSize(), 3)
	basePath := filepath.Join(t.TempDir(), "base.bin")
	if err := base.Save(basePath, nil); err != nil {
		t.Fatal(err)
	}
	setup := func(seed uint64) *harness.Setup {
		data, err := finetune.LoadTaskData(dir, "sst2", 64, 48, seed)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := models.Load(basePath, seed)
		if err != nil {
			t.Fatal(err)
		}
		return &harness.Setup{Data: data, Public: m, BasePath: basePath, Pretrain: pretrainConfig("nano")}
	}
	res, err := Protocol(stdctx.Background(), env, run, setup(1), DefaultConfigWith(params))
	if err != nil {
		t.Fatal(err)
	}
	phases := map[string]method.Cost{}
	for _, c := range res.Costs {
		phases[c.Phase] = c
	}
	for _, p := range []string{method.PhaseKeyGen, method.PhaseShaking, method.PhaseAwareness, method.PhaseFunction,
		method.PhasePrivateTuning, method.PhasePrivateInference} {
		if _, ok := phases[p]; !ok {
			t.Errorf("phase %s missing from costs %+v", p, res.Costs)
		}
	}
	if got := phases[method.PhaseShaking].BytesToCloud; got != int64(tok.VocabSize()*32*4) {
		t.Errorf("shaking sent %d bytes, want the table's %d", got, tok.VocabSize()*32*4)
	}
	if phases[method.PhaseAwareness].ClientSeconds <= 0 || phases[method.PhaseFunction].CloudSeconds <= 0 {
		t.Errorf("recovery not booked to its default parties: %+v %+v", phases[method.PhaseAwareness], phases[method.PhaseFunction])
	}
	if c := phases[method.PhasePrivateInference]; c.BytesToClient != int64(48*2*4) || c.Units != 48 {
		t.Errorf("inference returned %d bytes for %d examples, want 48×2 float32 logits", c.BytesToClient, c.Units)
	}
	if _, ok := res.Metrics["accuracy"]; !ok || res.EvalExamples != 48 {
		t.Errorf("metrics %v on %d examples", res.Metrics, res.EvalExamples)
	}
	if res.Extra["operator_value"] != 1 || res.Tags["operator"] != "gaussian" || res.Tags["recovery"] != "awareness+function" {
		t.Errorf("tags %v extra %v", res.Tags, res.Extra)
	}
	key, err := keyFor(DefaultConfigWith(params), run, tok.VocabSize(), 32, tok.SpecialIDs())
	if err != nil {
		t.Fatal(err)
	}
	if res.KeyFingerprint != key.Fingerprint() {
		t.Errorf("fingerprint %q, want %q", res.KeyFingerprint, key.Fingerprint())
	}
	blob, _ := json.Marshal(res)
	secret := key.Seed.Hex()
	if strings.Contains(string(blob), secret) || strings.Contains(logs.String(), secret) {
		t.Fatal("the key's secret seed appears in the result or the logs")
	}
	// Same key, another fine-tuning seed: implantation comes from the cache and says so.
	run.Seed = 2
	res2, err := Protocol(stdctx.Background(), env, run, setup(2), DefaultConfigWith(params))
	if err != nil {
		t.Fatal(err)
	}
	cached := false
	for _, c := range res2.Costs {
		if c.Phase == method.PhaseFunction && strings.Contains(c.Note, "cached") {
			cached = true
		}
	}
	if !cached {
		t.Errorf("second run with the same key did not reuse the implanted model: %+v", res2.Costs)
	}
	// π alone, without recovery, is lossless: the cloud's model is the public one with its table rows moved as the
	// ids are, so private tuning and inference follow plaintext's exactly — the same loss at every point of the
	// curve and the same dev metrics. A client encoding that misses π (or a harness that encodes the training
	// examples and the queries differently) breaks it.
	run.Seed = 1
	piOnly := map[string]any{"ops": "", "awareness_steps": int64(0), "function_steps": int64(0), "mlm_eval_batches": int64(0)}
	resPi, err := Protocol(stdctx.Background(), env, run, setup(1), DefaultConfigWith(piOnly))
	if err != nil {
		t.Fatal(err)
	}
	plain, resPlain := setup(1), method.NewResult()
	harness.PrepareTuning(plain.Public, false)
	if err := harness.TuneAndInfer(stdctx.Background(), env, plain, harness.IDProtocol{Model: plain.Public},
		harness.FineTuneConfig(run, false, "plaintext"), harness.NewLedger(), resPlain); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(resPi.Metrics, resPlain.Metrics) || !slices.Equal(resPi.Curve, resPlain.Curve) || len(resPlain.Curve) == 0 {
		t.Errorf("π only: metrics %v, curve %v; plaintext: metrics %v, curve %v", resPi.Metrics, resPi.Curve, resPlain.Metrics, resPlain.Curve)
	}
	if resPi.Extra["majority_accuracy"] != resPlain.Extra["majority_accuracy"] || !(resPi.Extra["majority_accuracy"] >= 0.5) {
		t.Errorf("majority line %v (plaintext %v)", resPi.Extra["majority_accuracy"], resPlain.Extra["majority_accuracy"])
	}
	run.Seed = 2
	// The full method (data, base model "none", all phases) runs too.
	if _, err := CypherTalk().Run(stdctx.Background(), env, run); err != nil {
		t.Fatal(err)
	}

	// The cloud's output-bias fit by iterative scaling is measured as a stage of its own.
	gis := maps.Clone(params)
	gis["bias_passes"], gis["bias_steps"] = int64(3), int64(0)
	res3, err := Protocol(stdctx.Background(), env, run, setup(1), DefaultConfigWith(gis))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res3.Extra["mlm_loss_after_bias_scaling"]; !ok || res3.Tags["pi_exposed"] != "" {
		t.Errorf("iterative scaling: extra %v, tags %v", res3.Extra, res3.Tags)
	}
	// A client that sends the permuted public bias hands the cloud π: the result says so and books the bytes.
	clientBias := maps.Clone(params)
	clientBias["bias_party"] = "client"
	res4, err := Protocol(stdctx.Background(), env, run, setup(1), DefaultConfigWith(clientBias))
	if err != nil {
		t.Fatal(err)
	}
	var fn, fnCloud method.Cost
	for _, c := range res4.Costs {
		if c.Phase == method.PhaseFunction {
			fn = c
		}
	}
	for _, c := range res.Costs {
		if c.Phase == method.PhaseFunction {
			fnCloud = c
		}
	}
	if res4.Tags["pi_exposed"] != "true" || !strings.Contains(fn.Note, "learns π") ||
		fn.BytesToCloud != fnCloud.BytesToCloud+int64(tok.VocabSize())*4 {
		t.Errorf("client bias: tags %v, function phase %+v (cloud-bias run sent %d bytes)", res4.Tags, fn, fnCloud.BytesToCloud)
	}
}

func pretrainConfig(preset string) pretrain.Config { return pretrain.DefaultConfig(preset) }

// DefaultConfigWith decodes params over the defaults, failing loudly (tests only).
func DefaultConfigWith(params map[string]any) Config {
	cfg, err := DecodeConfig(params)
	if err != nil {
		panic(err)
	}
	return cfg
}

// TestAttacksScoreTheTableTheCloudReceived: when the client's awareness recovery moves E_s, the cloud receives
// the moved table, so that — not the shaken one — is what the attacks must score; it survives the implantation
// cache. Without recovery_table the cloud receives the shaken table (Received nil: Attack shakes it again).
func TestAttacksScoreTheTableTheCloudReceived(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a nano model")
	}
	dir, tok := testkit.Tokenizer(t)
	env := method.Env{DataDir: dir, CacheDir: t.TempDir(), Tok: tok, Log: slog.New(slog.DiscardHandler)}
	base := testkit.NanoModel(t, tok.VocabSize(), 3)
	basePath := filepath.Join(t.TempDir(), "base.bin")
	if err := base.Save(basePath, nil); err != nil {
		t.Fatal(err)
	}
	data, err := finetune.LoadTaskData(dir, "sst2", 16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := &harness.Setup{Data: data, Public: base, BasePath: basePath, Pretrain: pretrainConfig("nano")}
	params := map[string]any{"ops": "gaussian:sigma=1", "awareness_steps": int64(3), "function_steps": int64(0),
		"mlm_eval_batches": int64(0), "key_seed": int64(5), "attacks": true, "recovery_table": true}
	cfg := DefaultConfigWith(params)
	key, err := keyFor(cfg, method.Run{Seed: 1}, tok.VocabSize(), 32, tok.SpecialIDs())
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewClient(key, base)
	if err != nil {
		t.Fatal(err)
	}
	shaken, err := client.ShakeTable()
	if err != nil {
		t.Fatal(err)
	}
	cloud, imp, err := implantKey(stdctx.Background(), env, s, client, cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Received == nil || slices.Equal(imp.Received, shaken) {
		t.Fatal("awareness recovery with recovery_table on the client: the received table is missing or still the shaken one")
	}
	if !slices.Equal(imp.Received, cloud.TokenTable()) {
		t.Error("without function recovery the cloud's table must be the one it received")
	}
	_, cached, err := implantKey(stdctx.Background(), env, s, client, cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !cached.FromCache || !slices.Equal(cached.Received, imp.Received) {
		t.Errorf("cached implantation: from cache %v, received table restored %v", cached.FromCache, slices.Equal(cached.Received, imp.Received))
	}
	params["key_seed"] = int64(0) // the same key from the run's seed 5: the same implantation
	if _, same, err := implantKey(stdctx.Background(), env, s, client, DefaultConfigWith(params), 5); err != nil || !same.FromCache {
		t.Errorf("key_seed 0 with run seed 5 against key_seed 5: from cache %v (want true), err %v", err == nil && same.FromCache, err)
	}
	params["recovery_table"] = false
	if _, frozen, err := implantKey(stdctx.Background(), env, s, client, DefaultConfigWith(params), 5); err != nil || frozen.Received != nil {
		t.Errorf("E_s frozen in recovery: received table %v (want nil: the shaken one), err %v", frozen.Received != nil, err)
	}
}
