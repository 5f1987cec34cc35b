package mpc

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// waitGoroutines waits until the number of goroutines is back to at most base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the session:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseReleasesEverything: after Close no goroutine of the session is left, later calls fail with
// ErrClosed, and Close can be called again.
func TestCloseReleasesEverything(t *testing.T) {
	base := runtime.NumGoroutine()
	seed := uint64(1)
	e, err := New(context.Background(), Config{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	x := mustInput(t, e, randMatrix(rng, 4, 4, -1, 1))
	if _, err := e.MatMul(x, x); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, base)
	if _, err := e.MulElem(x, x); !errors.Is(err, ErrClosed) {
		t.Errorf("MulElem after Close: %v, want ErrClosed", err)
	}
	if _, err := e.Reveal(x); !errors.Is(err, ErrClosed) {
		t.Errorf("Reveal after Close: %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCancelEndsSession: cancelling the session's context, between operations or during one, ends the session
// with the context's error, stops every goroutine (Close only waits) and leaves no operation hanging.
func TestCancelEndsSession(t *testing.T) {
	base := runtime.NumGoroutine()
	rng := rand.New(rand.NewPCG(8, 8))

	ctx, cancel := context.WithCancel(context.Background())
	seed := uint64(2)
	e, err := New(ctx, Config{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	x := mustInput(t, e, randMatrix(rng, 4, 4, -1, 1))
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for e.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := e.MulElem(x, x); !errors.Is(err, context.Canceled) {
		t.Errorf("MulElem after cancel: %v, want context.Canceled", err)
	}
	waitGoroutines(t, base+0) // the watcher and workers exit on cancellation alone
	e.Close()

	// Cancel while a long sequence of products runs in another goroutine.
	ctx, cancel = context.WithCancel(context.Background())
	e, err = New(ctx, Config{Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	big := mustInput(t, e, randMatrix(rng, 64, 64, -1, 1))
	done := make(chan error, 1)
	go func() {
		var v cryptofriendly.Value = big
		for range 1000 {
			var err error
			if v, err = e.MatMul(big, big); err != nil {
				done <- err
				return
			}
			_ = v
		}
		done <- nil
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("products during cancellation ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an operation hung after cancellation")
	}
	e.Close()
	waitGoroutines(t, base)
}

// TestInvalidInputsKeepSessionUsable: shape and range errors are reported before anything is sent, so the
// session stays usable.
func TestInvalidInputsKeepSessionUsable(t *testing.T) {
	e := newTestEngine(t, TruncDealer)
	rng := rand.New(rand.NewPCG(9, 9))
	x := mustInput(t, e, randMatrix(rng, 2, 3, -1, 1))
	y := mustInput(t, e, randMatrix(rng, 2, 2, -1, 1))
	if _, err := e.MatMul(x, y); err == nil {
		t.Error("MatMul 2×3 · 2×2 accepted")
	}
	if _, err := e.Linear(x, cryptofriendly.NewMatrix(2, 2), nil); err == nil {
		t.Error("Linear with 2×2 weights on 2×3 accepted")
	}
	if _, err := e.Input(cryptofriendly.Matrix{Rows: 1, Cols: 1, Data: []float64{1e300}}); err == nil {
		t.Error("input 1e300 accepted")
	}
	if _, err := e.Reciprocal(x, 2, 1); err == nil {
		t.Error("Reciprocal on (2, 1) accepted")
	}
	if _, err := e.MulRows(x, y); err == nil {
		t.Error("MulRows by a 2×2 accepted")
	}
	other := newTestEngine(t, TruncDealer)
	if _, err := other.Add(x, x); err == nil {
		t.Error("a value of another session accepted")
	}
	if _, err := e.MulElem(x, x); err != nil {
		t.Errorf("session unusable after invalid calls: %v", err)
	}
}
