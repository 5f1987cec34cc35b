// Package bench measures what the models cost on this machine: training-step and inference throughput of a preset
// on a backend configuration, and a float32 GEMM reference (gonum BLAS) run in the same process, so the model's
// achieved GFLOP/s is reported as a ratio to what a plain matrix product reaches here.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// ForwardFLOPs counts the multiply-adds ×2 of one example's forward pass through the encoder and the pooler:
// per layer, Q/K/V/output projections (4·T·d²), attention scores and context (2·T²·d), the FFN (2·T·d·f).
func ForwardFLOPs(p models.Preset) float64 {
	T, d, f := float64(p.MaxLen), float64(p.Hidden), float64(p.FFN)
	perLayer := 4*T*d*d + 2*T*T*d + 2*T*d*f
	return 2 * (float64(p.Layers)*perLayer + d*d)
}

// Row is one measured configuration.
type Row struct {
	Preset, Backend              string
	Params                       int
	TrainStepSeconds             float64
	TrainExPerSec, InferExPerSec float64
	TrainGFLOPS, InferGFLOPS     float64
}

// Measure times steps training steps (after one warm-up step that compiles) and steps inference batches of a
// preset with random inputs on the given backend configuration.
func Measure(p models.Preset, vocab int, backendConfig string, steps int) (Row, error) {
	b, err := backend.New(backendConfig)
	if err != nil {
		return Row{}, err
	}
	defer b.Finalize()
	m, err := models.New(p, vocab, 1)
	if err != nil {
		return Row{}, err
	}
	m.Backend = b
	rng := rand.New(rand.NewPCG(1, 2))
	B, T := p.BatchSize, p.MaxLen
	enc := &finetune.Encoded{N: B, T: T}
	for range B * T {
		enc.IDs = append(enc.IDs, 999+rng.Int32N(int32(vocab-999)))
		enc.Segments = append(enc.Segments, 0)
		enc.Mask = append(enc.Mask, 1)
	}
	for i := range B {
		enc.Labels = append(enc.Labels, float64(i%2))
	}
	info := datasets.TaskInfo{Name: "bench", NumLabels: 2}
	cfg := finetune.DefaultConfig()
	cfg.Epochs = 1
	// warm-up (compile) then timed
	if _, err := finetune.Train(context.Background(), m, info, enc, cfg); err != nil {
		return Row{}, err
	}
	big := &finetune.Encoded{N: B * steps, T: T}
	for range steps {
		big.IDs = append(big.IDs, enc.IDs...)
		big.Segments = append(big.Segments, enc.Segments...)
		big.Mask = append(big.Mask, enc.Mask...)
		big.Labels = append(big.Labels, enc.Labels...)
	}
	start := time.Now()
	if _, err := finetune.Train(context.Background(), m, info, big, cfg); err != nil {
		return Row{}, err
	}
	train := time.Since(start).Seconds()
	if _, _, err := finetune.Predict(m, info, enc); err != nil { // compile
		return Row{}, err
	}
	start = time.Now()
	if _, _, err := finetune.Predict(m, info, big); err != nil {
		return Row{}, err
	}
	infer := time.Since(start).Seconds()
	n := float64(B * steps)
	fl := ForwardFLOPs(p)
	params := 0
	for v := range m.Ctx.IterVariables() {
		if v.Trainable {
			params += v.Shape().Size()
		}
	}
	return Row{Preset: p.Name, Backend: backendConfig, Params: params, TrainStepSeconds: train / float64(steps),
		TrainExPerSec: n / train, InferExPerSec: n / infer,
		TrainGFLOPS: 3 * fl * n / train / 1e9, InferGFLOPS: fl * n / infer / 1e9}, nil
}

// GEMM measures float32 n×n×n matrix products with gonum's BLAS, split over GOMAXPROCS goroutines by rows,
// and returns GFLOP/s (best of reps).
func GEMM(n, reps int) float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func() blas32.General {
		g := blas32.General{Rows: n, Cols: n, Stride: n, Data: make([]float32, n*n)}
		for i := range g.Data {
			g.Data[i] = rng.Float32()
		}
		return g
	}
	a, bm, c := mk(), mk(), mk()
	workers := runtime.GOMAXPROCS(0)
	best := 0.0
	for range reps {
		start := time.Now()
		var wg sync.WaitGroup
		rows := (n + workers - 1) / workers
		for w := range workers {
			lo, hi := w*rows, min(n, (w+1)*rows)
			if lo >= hi {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sa := blas32.General{Rows: hi - lo, Cols: n, Stride: n, Data: a.Data[lo*n:]}
				sc := blas32.General{Rows: hi - lo, Cols: n, Stride: n, Data: c.Data[lo*n:]}
				blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, sa, bm, 0, sc)
			}()
		}
		wg.Wait()
		if g := 2 * float64(n) * float64(n) * float64(n) / time.Since(start).Seconds() / 1e9; g > best {
			best = g
		}
	}
	return best
}

// String renders a row.
func (r Row) String() string {
	return fmt.Sprintf("%s on %s: %.3f s/step, train %.1f ex/s, inference %.1f ex/s", r.Preset, r.Backend, r.TrainStepSeconds, r.TrainExPerSec, r.InferExPerSec)
}
