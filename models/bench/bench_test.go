package bench

import (
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
}

func TestMeasureNano(t *testing.T) {
	p, _ := models.LookupPreset("nano")
	r, err := Measure(p, 2000, backend.DefaultConfig, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.TrainExPerSec <= 0 || r.InferExPerSec <= 0 || r.Params < 2000*32 {
		t.Fatalf("implausible measurement: %+v", r)
	}
	if g := GEMM(64, 1); g <= 0 {
		t.Fatalf("GEMM reference %v GFLOP/s", g)
	}
}
