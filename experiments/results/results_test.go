package results

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

func sampleRecord(id string, curvePoints int) *Record {
	rec := &Record{
		RunID: id, Experiment: "exp", Task: "sst2", Method: "cyphertalk", Label: "CypherTalk σ=1", Seed: 3,
		Preset: "nano", Pretrain: "none", MaxTrain: 64, MaxEval: 32, Epochs: 2, LearningRate: 2e-3,
		Params: map[string]any{"ops": "gaussian:sigma=1", "horizontal": true, "awareness_steps": int64(5),
			"kd_weight": 0.5, "layers": `[1,2]`},
		Metrics:       map[string]float64{"accuracy": 0.75, "f1": math.NaN()},
		Extra:         map[string]float64{"mlm_loss_shaken": 6.5},
		Tags:          map[string]string{"operator": "gaussian"},
		Epsilon:       math.NaN(),
		Delta:         1e-5,
		Scalars:       method.Scalars{KeyFingerprint: "abc123"},
		TrainExamples: 64, EvalExamples: 32,
		Backend: "go:parallelism=-1", GoVersion: "go1.26", GitCommit: "deadbeef", Host: "h",
		Start:    time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC),
		Duration: 1500 * time.Millisecond,
		Costs: []method.Cost{
			{Phase: method.PhaseKeyGen, ClientSeconds: 0.1},
			{Phase: method.PhasePrivateTuning, ClientSeconds: 0.2, CloudSeconds: 3, BytesToCloud: 100, Units: 64, UnitName: "examples"},
			{Phase: method.PhasePrivateInference, CloudSeconds: 0.5, DealerSeconds: 0.25, BytesToClient: 7, Rounds: 4,
				Units: 32, UnitName: "examples", Extrapolated: true, MeasuredUnits: 2, Note: "extrapolated"},
		},
		Attacks: []method.AttackResult{{Attack: "nn-cosine", Top1: 0.1, Top5: 0.2, ContentTop1: 0.05, ContentTop5: 0.1, Tokens: 99}},
	}
	for i := range curvePoints {
		rec.Curve = append(rec.Curve, method.CurvePoint{Phase: "private-tuning", Step: i, Loss: 1 / float64(i+1)})
	}
	return rec
}

// sameFloat compares with NaN == NaN.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := sampleRecord("0123456789abcdef", 5)
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(dir, want.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFloat(got.Metrics["f1"], want.Metrics["f1"]) || !math.IsNaN(got.Epsilon) || got.Delta != want.Delta {
		t.Errorf("NaN/optional values: f1 %v, ε %v, δ %v", got.Metrics["f1"], got.Epsilon, got.Delta)
	}
	// Compare the rest with NaNs set aside.
	for _, r := range []*Record{got, want} {
		r.Metrics = map[string]float64{"accuracy": r.Metrics["accuracy"]}
		r.Epsilon = 0
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
}

func TestRunFileIsFlatParquetWithDocumentedColumns(t *testing.T) {
	dir := t.TempDir()
	rec := sampleRecord("00000000000000aa", 0)
	if err := Write(dir, rec); err != nil {
		t.Fatal(err)
	}
	// Read back with parquet-go's generic reader, as any tool would: no knowledge of the Record type.
	rows, err := genericRows(RunPath(dir, rec.RunID))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	row := rows[0]
	checks := map[string]any{
		"run_id": rec.RunID, "task": "sst2", "method": "cyphertalk", "seed": int64(3),
		"param_ops": "gaussian:sigma=1", "param_horizontal": true, "param_awareness_steps": int64(5),
		"metric_accuracy": 0.75, "extra_mlm_loss_shaken": 6.5, "tag_operator": "gaussian",
		"epsilon": nil, "delta": 1e-5, "key_fingerprint": "abc123",
		"cost_private_tuning_cloud_s": 3.0, "cost_private_tuning_bytes_to_cloud": int64(100),
		"cost_private_inference_rounds": int64(4), "cost_private_inference_extrapolated": true,
		"cost_keygen_extrapolated": false,
		"time_preprocessing_s":     0.1, "time_private_tuning_s": 3.2, "time_private_inference_s": 0.75,
		"bytes_to_cloud": int64(100), "bytes_to_client": int64(7), "duration_s": 1.5,
		"backend": "go:parallelism=-1", "git_commit": "deadbeef",
	}
	for col, want := range checks {
		got, ok := row[col]
		if !ok {
			t.Errorf("no column %q (columns: %v)", col, keys(row))
			continue
		}
		if f, isF := want.(float64); isF {
			if g, ok := got.(float64); !ok || math.Abs(g-f) > 1e-12 {
				t.Errorf("%s = %v (%T), want %v", col, got, got, want)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v (%T), want %v", col, got, got, want)
		}
	}
	costs, err := genericRows(filepath.Join(dir, CostsDir, rec.RunID+".parquet"))
	if err != nil || len(costs) != 3 || costs[1]["group"] != "private-tuning" {
		t.Fatalf("costs companion: %v %v", costs, err)
	}
}

// genericRows reads a parquet file into maps keyed by column name, with the schema the file declares.
func genericRows(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, err
	}
	r := parquet.NewGenericReader[map[string]any](pf, pf.Schema())
	defer r.Close()
	rows := make([]map[string]any, pf.NumRows())
	for i := range rows {
		rows[i] = map[string]any{}
	}
	n, err := r.Read(rows)
	if n != len(rows) {
		return nil, fmt.Errorf("read %d of %d rows: %w", n, len(rows), err)
	}
	return rows, nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestReadExperimentMergesDifferentColumnsAndIgnoresUnfinished(t *testing.T) {
	dir := t.TempDir()
	a := sampleRecord("aaaaaaaaaaaaaaaa", 2)
	b := &Record{RunID: "bbbbbbbbbbbbbbbb", Experiment: "exp", Task: "qqp", Method: "plaintext", Seed: 1,
		Params: map[string]any{"table": "frozen"}, Metrics: map[string]float64{"accuracy": 0.6, "f1": 0.5},
		Epsilon: math.NaN(), Delta: math.NaN(), Start: time.Unix(0, 0).UTC()}
	for _, r := range []*Record{a, b} {
		if err := Write(dir, r); err != nil {
			t.Fatal(err)
		}
	}
	// An interrupted write: companions without a run row, and a temporary run file.
	orphan := sampleRecord("cccccccccccccccc", 1)
	if err := writeRows(filepath.Join(dir, CurvesDir, orphan.RunID+".parquet"), []curveRow{{RunID: orphan.RunID}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, RunsDir, ".cccccccccccccccc.parquet.tmp-123"), []byte("PAR1 half"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadExperiment(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Task != "qqp" || recs[1].Task != "sst2" {
		t.Fatalf("got %d records %v", len(recs), recs)
	}
	if _, has := recs[0].Params["ops"]; has || recs[0].Params["table"] != "frozen" || len(recs[1].Params) != 5 {
		t.Errorf("params not kept per run: %v / %v", recs[0].Params, recs[1].Params)
	}
	if len(recs[0].Costs) != 0 || len(recs[1].Costs) != 3 || len(recs[1].Curve) != 2 {
		t.Errorf("companions: %d costs / %d costs, %d curve points", len(recs[0].Costs), len(recs[1].Costs), len(recs[1].Curve))
	}
	if ok, _ := Exists(dir, orphan.RunID); ok {
		t.Error("a run without its run row counts as finished")
	}
	if _, err := ReadExperiment(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing experiment directory read without error")
	}
}

func TestWriteRejectsBadRecords(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, &Record{RunID: "../x"}); err == nil {
		t.Error("a run id with a path separator was accepted")
	}
	rec := sampleRecord("dddddddddddddddd", 0)
	rec.Params["bad"] = map[string]int{}
	if err := Write(dir, rec); err == nil {
		t.Error("a map parameter was accepted")
	}
	if ok, _ := Exists(dir, rec.RunID); ok {
		t.Error("a failed write left a run row")
	}
}

const writeForeverEnv = "CYPHERTALK_RESULTS_WRITE_FOREVER"

// TestHelperWriteForever is the child process of TestKilledWriterLeavesReadableResults: it writes runs with large
// curves until it is killed.
func TestHelperWriteForever(t *testing.T) {
	dir := os.Getenv(writeForeverEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	for i := 0; ; i++ {
		if err := Write(dir, sampleRecord(fmt.Sprintf("%016x", i), 50_000)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKilledWriterLeavesReadableResults(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriteForever$")
	cmd.Env = append(os.Environ(), writeForeverEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		ids, _ := RunIDs(dir)
		if len(ids) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the writer produced fewer than 3 runs in 45 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	recs, unreadable, err := ReadAll(dir)
	if err != nil || len(unreadable) > 0 {
		t.Fatalf("results unreadable after a kill: %v %v", err, unreadable)
	}
	if len(recs) < 3 {
		t.Fatalf("%d runs readable, want >= 3", len(recs))
	}
	for _, r := range recs {
		if len(r.Curve) != 50_000 || len(r.Costs) != 3 || len(r.Attacks) != 1 {
			t.Errorf("run %s incomplete: %d curve points, %d costs, %d attacks", r.RunID, len(r.Curve), len(r.Costs), len(r.Attacks))
		}
	}
}
