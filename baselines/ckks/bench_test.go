//go:build unix

package ckks

import (
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// The benchmarks run at the 128-bit parameters (Secure128) with the tiny preset's shape: T = 64 rows, d = 128,
// head dimension 64. Building the engine (key generation, about a gigabyte of evaluation keys) is not timed.
// Besides wall time they report the process's CPU time per operation (cpu-ms/op), the figure to trust on a
// shared machine. Run: nice -n 15 go test -run '^$' -bench . -benchtime 3x -timeout 2h ./baselines/ckks/
var benchEngine = sync.OnceValues(func() (*Engine, error) {
	return NewEngine(Config{Parameters: Secure128, MaxRows: 64})
})

// benchmark times op on the CKKS engine (wall and CPU) against the same op on the plaintext reference engine
// (CPU) and reports them side by side with their ratio, and the marshalled size of one input ciphertext at the
// top level and of one output ciphertext.
func benchmark(b *testing.B, inputs []cryptofriendly.Matrix, op func(e cryptofriendly.Engine, in []cryptofriendly.Value) (cryptofriendly.Value, error)) {
	e, err := benchEngine()
	if err != nil {
		b.Fatal(err)
	}
	plainNs := plainTime(b, inputs, op)
	in := make([]cryptofriendly.Value, len(inputs))
	for i, m := range inputs {
		if in[i], err = e.Input(m); err != nil {
			b.Fatal(err)
		}
	}
	var out cryptofriendly.Value
	cpu0 := cpuTime(b)
	for b.Loop() {
		if out, err = op(e, in); err != nil {
			b.Fatal(err)
		}
	}
	cpuPerOp := float64((cpuTime(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
	b.ReportMetric(cpuPerOp/1e6, "cpu-ms/op")
	b.ReportMetric(plainNs/1e3, "plain-cpu-µs/op")
	b.ReportMetric(cpuPerOp/plainNs, "x-plain-cpu")
	inCt, outCt := in[0].(*EncryptedMatrix).cts[0], out.(*EncryptedMatrix).cts[0]
	b.ReportMetric(float64(inCt.BinarySize()), "B/ct-in")
	b.ReportMetric(float64(outCt.BinarySize()), "B/ct-out")
	b.ReportMetric(float64(len(out.(*EncryptedMatrix).cts)), "cts-out")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// plainTime is the reference engine's CPU time for op in nanoseconds (mean of repeated runs).
func plainTime(b *testing.B, inputs []cryptofriendly.Matrix, op func(e cryptofriendly.Engine, in []cryptofriendly.Value) (cryptofriendly.Value, error)) float64 {
	ref := cryptofriendly.NewPlainEngine()
	in := make([]cryptofriendly.Value, len(inputs))
	var err error
	for i, m := range inputs {
		if in[i], err = ref.Input(m); err != nil {
			b.Fatal(err)
		}
	}
	const runs = 20
	start := cpuTime(b)
	for range runs {
		if _, err := op(ref, in); err != nil {
			b.Fatal(err)
		}
	}
	return float64((cpuTime(b) - start).Nanoseconds()) / runs
}

// BenchmarkLinearT64D128 is x·W + b for a 64×128 activation and 128×128 weights (one ciphertext each way).
func BenchmarkLinearT64D128(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	w, bias := randomMatrix(rng, 128, 128, 0.1), randomMatrix(rng, 1, 128, 0.1).Data
	benchmark(b, []cryptofriendly.Matrix{randomMatrix(rng, 64, 128, 1)}, func(e cryptofriendly.Engine, in []cryptofriendly.Value) (cryptofriendly.Value, error) {
		return e.Linear(in[0], w, bias)
	})
}

// BenchmarkMatMulTT64H64 is one head's attention scores Q·Kᵀ for 64×64 Q and K.
func BenchmarkMatMulTT64H64(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	benchmark(b, []cryptofriendly.Matrix{randomMatrix(rng, 64, 64, 1), randomMatrix(rng, 64, 64, 1)}, func(e cryptofriendly.Engine, in []cryptofriendly.Value) (cryptofriendly.Value, error) {
		return e.MatMulT(in[0], in[1])
	})
}
