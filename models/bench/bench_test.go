package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
)

// TestForwardFLOPsByHand: nano (T=32, d=32, f=64, 1 layer): 2·(4·32·32² + 2·32²·32 + 2·32·32·64 + 32²)
// = 2·(131072 + 65536 + 131072 + 1024) = 657408.
func TestForwardFLOPsByHand(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	if got := ForwardFLOPs(p); got != 657408 {
		t.Fatalf("ForwardFLOPs(nano) = %v, want 657408", got)
	}
	if got := FinetuneFrozen.FLOPsPerExample(p); got != 3*657408 {
		t.Fatalf("training FLOPs per example %v, want 3× forward", got)
	}
}

// TestMeasureKindsNano runs every kind once on nano and checks what each measured: the batch it ran, and the
// trainable values (the frozen step leaves out the token table, the pre-training step trains the MLM head).
func TestMeasureKindsNano(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	const vocab = 2000
	rs, err := MeasureKinds(p, vocab, backend.DefaultConfig, AllKinds(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(AllKinds()) {
		t.Fatalf("%d measurements for %d kinds", len(rs), len(AllKinds()))
	}
	byKind := map[Kind]Measurement{}
	for i, r := range rs {
		if r.Kind != AllKinds()[i] || !(r.StepSeconds > 0) || !(r.ExPerSec > 0) || r.Steps != 1 {
			t.Errorf("implausible measurement %+v", r)
		}
		byKind[r.Kind] = r
	}
	if b := byKind[Infer128].Batch; b != 128 {
		t.Errorf("inference at 128 ran batches of %d", b)
	}
	if b := byKind[FinetuneFrozen].Batch; b != p.BatchSize {
		t.Errorf("fine-tuning ran batches of %d, want the preset's %d", b, p.BatchSize)
	}
	table := vocab * p.Hidden
	if d := byKind[FinetuneTrainable].Params - byKind[FinetuneFrozen].Params; d != table {
		t.Errorf("trainable − frozen params = %d, want the token table's %d", d, table)
	}
	// pre-training trains the MLM transform, its LayerNorm, the output bias and log-scale and the pair head, not
	// the token table nor the task head.
	mlm := (p.Hidden*p.Hidden + p.Hidden) + 2*p.Hidden + vocab + 1 + (2*p.Hidden + 2)
	if got, want := byKind[Pretrain].Params, byKind[FinetuneFrozen].Params-(2*p.Hidden+2)+mlm; got != want {
		t.Errorf("pre-training step trains %d values, want %d", got, want)
	}
}

// TestFinetuneParamsTiny: the Go tiny model's trainable values, the counts the PyTorch peer asserts.
func TestFinetuneParamsTiny(t *testing.T) {
	p, _ := models.LookupPreset("tiny")
	tr, fr, err := FinetuneParams(p, 30522)
	if err != nil {
		t.Fatal(err)
	}
	if tr != 4328834 || fr != 422018 {
		t.Fatalf("tiny fine-tuning model: %d trainable / %d with the table frozen, want 4328834 / 422018", tr, fr)
	}
}

func TestParseKinds(t *testing.T) {
	ks, err := ParseKinds([]string{"infer_b128", "finetune_frozen", "infer_b128"})
	if err != nil || len(ks) != 2 || ks[0] != Infer128 || ks[1] != FinetuneFrozen {
		t.Fatalf("ParseKinds = %v, %v", ks, err)
	}
	if ks, err := ParseKinds([]string{"all"}); err != nil || len(ks) != 5 {
		t.Fatalf("all = %v, %v", ks, err)
	}
	if _, err := ParseKinds([]string{"finetune"}); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestRandomPretrainBatch(t *testing.T) {
	b := RandomPretrainBatch(rand.New(rand.NewPCG(1, 1)), 4, 64, 0.15, 30522)
	if b.P != 10 || len(b.IDs) != 4*64 || len(b.Positions) != 40 {
		t.Fatalf("batch shape B=%d T=%d P=%d, %d ids, %d positions", b.B, b.T, b.P, len(b.IDs), len(b.Positions))
	}
	for i := range b.B {
		seen := map[int32]bool{}
		w := float32(0)
		for j := range b.P {
			pos := b.Positions[i*b.P+j]
			if pos < 1 || pos > 62 || seen[pos] {
				t.Fatalf("row %d: masked position %d repeated or outside 1..62", i, pos)
			}
			seen[pos] = true
			w += b.Weights[i*b.P+j]
		}
		if w != 9 { // round(0.15·62)
			t.Fatalf("row %d: %v weighted slots, want 9", i, w)
		}
	}
}
