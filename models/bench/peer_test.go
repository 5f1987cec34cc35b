package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/models"
)

func TestParsePeer(t *testing.T) {
	out := `{"type": "info", "torch": "2.6.0", "python": "3.13.5", "threads": 2, "thread_probe": {"1": 0.2, "2": 0.12}, "params_trainable": 4328834, "params_frozen": 422018}

{"type": "result", "kind": "finetune_frozen", "batch": 32, "steps": 5, "step_s": 0.1, "mean_step_s": 0.11, "ex_per_s": 320, "params": 422018, "threads": 2}
{"type": "result", "kind": "infer_b128", "batch": 128, "steps": 5, "step_s": 0.2, "mean_step_s": 0.2, "ex_per_s": 640, "params": 4328834, "threads": 2}
`
	info, res, err := ParsePeer(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if info.Torch != "2.6.0" || info.Threads != 2 || info.ParamsFrozen != 422018 || info.ThreadProbe["1"] != 0.2 {
		t.Errorf("info %+v", info)
	}
	if len(res) != 2 || res[0].Kind != FinetuneFrozen || res[0].StepSeconds != 0.1 || res[1].Batch != 128 || res[1].Params != 4328834 {
		t.Errorf("results %+v", res)
	}
	for name, tc := range map[string]struct{ in, want string }{
		"not json":      {`{"type":"info","torch":"x"}` + "\nTraceback (most recent call last):", "line 2"},
		"unknown kind":  {`{"type":"info"}` + "\n" + `{"type":"result","kind":"train","batch":32,"steps":1,"step_s":1}`, `line 2: unknown kind "train"`},
		"zero time":     {`{"type":"info"}` + "\n" + `{"type":"result","kind":"pretrain","batch":32,"steps":1,"step_s":0}`, "line 2 (pretrain): step_s 0"},
		"renamed field": {`{"type":"info"}` + "\n\n" + `{"type":"result","kind":"pretrain","batch":32,"steps":1,"seconds":1}`, `line 3 (result): json: unknown field "seconds"`},
		"no info":       {`{"type":"result","kind":"pretrain","batch":32,"steps":1,"step_s":1}`, "no info line"},
		"other type":    {`{"type":"log"}`, `line 1: type "log"`},
	} {
		if _, _, err := ParsePeer(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

func TestRatioAndSummarize(t *testing.T) {
	g := Measurement{Kind: FinetuneFrozen, Batch: 32, StepSeconds: 0.05}
	if r := Ratio(g, PeerResult{Kind: FinetuneFrozen, Batch: 32, StepSeconds: 0.1}); r != 2 {
		t.Errorf("project twice as fast: ratio %v, want 2", r)
	}
	if r := Ratio(g, PeerResult{Batch: 128, StepSeconds: 0.1}); !math.IsNaN(r) {
		t.Errorf("different batches: ratio %v, want NaN", r)
	}
	// inference: ex/s go ÷ torch equals seconds torch ÷ go at equal batch
	gi := Measurement{Kind: Infer128, Batch: 128, StepSeconds: 0.4, ExPerSec: 320}
	if r := Ratio(gi, PeerResult{Batch: 128, StepSeconds: 0.2, ExPerSec: 640}); r != 0.5 {
		t.Errorf("inference ratio %v, want 320/640 = 0.5", r)
	}
	ss := Summarize([]Kind{FinetuneFrozen, Infer128, Pretrain}, map[Kind][]float64{
		FinetuneFrozen: {1.6, 1.2, math.NaN(), 2.0},
		Infer128:       {0.9, 1.1, 1.0},
	})
	if len(ss) != 3 {
		t.Fatalf("%d spreads", len(ss))
	}
	f, i, p := ss[0], ss[1], ss[2]
	if f.Rounds != 3 || f.Median != 1.6 || f.Min != 1.2 || f.Max != 2.0 || f.Goal != 1.5 || !f.Met() {
		t.Errorf("frozen spread %+v", f)
	}
	if i.Median != 1.0 || i.Goal != 1.0 || !i.Met() || !strings.Contains(i.String(), "1.00× (range 0.90–1.10 over 3 rounds)") {
		t.Errorf("inference spread %+v: %s", i, i)
	}
	if p.Rounds != 0 || p.Met() || !strings.Contains(p.String(), "no ratio") {
		t.Errorf("unmeasured spread %+v: %s", p, p)
	}
	below := Summarize([]Kind{FinetuneFrozen}, map[Kind][]float64{FinetuneFrozen: {1.4}})[0]
	if below.Met() || !strings.Contains(below.String(), "below goal") {
		t.Errorf("1.4× on the frozen step reads as %s", below)
	}
	if m := Median([]float64{3, 1, 2, 10}); m != 2.5 {
		t.Errorf("Median = %v, want 2.5", m)
	}
}

func TestFindPythonMissing(t *testing.T) {
	_, err := FindPython([]string{"/nonexistent/python3"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/python3") || !strings.Contains(err.Error(), "apt-get install python3-torch") {
		t.Fatalf("error %v should name the interpreter tried and what to install", err)
	}
}

func TestPeerArgsCarryTheShape(t *testing.T) {
	p, _ := models.LookupPreset("tiny")
	got := strings.Join(PeerArgs("bench.py", p, 30522, []Kind{FinetuneFrozen, Infer128}, 5, "auto"), " ")
	want := "bench.py --kinds finetune_frozen,infer_b128 --steps 5 --warmup 2 --threads auto --vocab 30522 --hidden 128 " +
		"--layers 2 --heads 2 --ffn 512 --seq 64 --batch 32 --dropout 0.1"
	if got != want {
		t.Fatalf("peer args\n%s\nwant\n%s", got, want)
	}
}

// TestPeerScriptTiny runs the PyTorch peer on tiny for one step of two kinds where torch is importable (CI has no
// torch: it skips there). The peer asserts its parameter counts itself; they are checked here again.
func TestPeerScriptTiny(t *testing.T) {
	py, err := FindPython(PythonCandidates)
	if err != nil {
		t.Skip(err)
	}
	p, _ := models.LookupPreset("tiny")
	kinds := []Kind{FinetuneFrozen, Infer128}
	info, res, err := RunPeer(t.Context(), py, "../../scripts/peer/bench.py", p, 30522, kinds, 1, "1")
	if err != nil {
		t.Fatal(err)
	}
	if info.ParamsTrainable != 4328834 || info.ParamsFrozen != 422018 || info.Threads != 1 || info.Torch == "" {
		t.Errorf("peer info %+v", info)
	}
	if len(res) != 2 || res[0].Kind != FinetuneFrozen || res[0].Params != 422018 || res[0].Batch != 32 || res[1].Batch != 128 {
		t.Errorf("peer results %+v", res)
	}
}
