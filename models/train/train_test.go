package train

import (
	stdctx "context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// constLoop is a loop whose step s reports loss s (weight w(s)) and records which steps ran.
func constLoop(steps int, ran *[]int, w func(int) float64) *Loop[int] {
	return &Loop[int]{Name: "test run", Steps: steps,
		Batches: func(step int) (int, error) { return step, nil },
		Step: func(_ stdctx.Context, step, batch int) (Output, error) {
			if batch != step {
				return Output{}, errors.New("batch of another step")
			}
			*ran = append(*ran, step)
			o := Output{Loss: float64(step)}
			if w != nil {
				o.Weight = w(step)
			}
			return o, nil
		}}
}

// TestCurveIntervalsAndEpochs: interval points are means over absolute step windows (a resumed run continues the
// grid), epochs give one point and one wall time each, weights weigh the means, and a partial tail is kept only
// when asked.
func TestCurveIntervalsAndEpochs(t *testing.T) {
	var ran []int
	l := constLoop(10, &ran, nil)
	l.CurveEvery = 4
	res, err := l.Run(stdctx.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{Step: 4, Loss: 1.5}, {Step: 8, Loss: 5.5}}
	if !slices.Equal(res.Curve, want) || res.Steps != 10 || len(ran) != 10 {
		t.Fatalf("curve %v (want %v), %d steps", res.Curve, want, res.Steps)
	}
	l.CurvePartial = true
	res, _ = l.Run(stdctx.Background())
	if got := res.Curve[len(res.Curve)-1]; got != (Point{Step: 10, Loss: 8.5}) {
		t.Errorf("partial tail point %v", got)
	}

	ran = nil
	l = constLoop(12, &ran, nil)
	l.Start, l.CurveEvery = 4, 4
	res, _ = l.Run(stdctx.Background())
	if want := []Point{{Step: 8, Loss: 5.5}, {Step: 12, Loss: 9.5}}; !slices.Equal(res.Curve, want) || ran[0] != 4 || res.Steps != 8 {
		t.Errorf("resumed: curve %v (want %v), first step %d, %d steps", res.Curve, want, ran[0], res.Steps)
	}

	ran = nil
	l = constLoop(6, &ran, func(s int) float64 { return float64(s % 3) }) // weights 0, 1, 2
	l.StepsPerEpoch = 3
	res, _ = l.Run(stdctx.Background())
	if want := []Point{{Step: 3, Epoch: 1, Loss: 1}, {Step: 6, Epoch: 2, Loss: 4}}; !slices.Equal(res.Curve, want) || len(res.EpochSeconds) != 2 {
		t.Errorf("unweighted epochs: curve %v (want %v), epoch times %v", res.Curve, want, res.EpochSeconds)
	}
	l.Weighted = true
	res, _ = l.Run(stdctx.Background())
	// Epoch 1: losses 0,1,2 with weights 0,1,2 → 5/3; epoch 2: 3,4,5 with 0,1,2 → 14/3.
	if want := []Point{{Step: 3, Epoch: 1, Loss: 5.0 / 3}, {Step: 6, Epoch: 2, Loss: 14.0 / 3}}; !slices.Equal(res.Curve, want) {
		t.Errorf("weighted epochs: curve %v (want %v)", res.Curve, want)
	}
}

// TestCheckpointsAndHooks: the checkpoint runs every n steps but not after the last one, sees the curve so far,
// and OnStep runs after it; a hook's or a step's error stops the run.
func TestCheckpointsAndHooks(t *testing.T) {
	var ran, saved []int
	var order []string
	l := constLoop(7, &ran, nil)
	l.CurveEvery = 2
	l.Checkpoint = Checkpoint{Every: 3, Save: func(next int, curve []Point) error {
		saved = append(saved, next)
		order = append(order, "save")
		if len(curve) != next/2 {
			t.Errorf("checkpoint at %d sees %d curve points", next, len(curve))
		}
		return nil
	}}
	l.OnStep = func(s State) error {
		order = append(order, "step")
		if s.Ending != (s.Step == 6) {
			t.Errorf("step %d: ending %v", s.Step, s.Ending)
		}
		return nil
	}
	if _, err := l.Run(stdctx.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(saved, []int{3, 6}) || strings.Join(order[:4], ",") != "step,step,save,step" {
		t.Errorf("checkpoints after %v, order %v", saved, order)
	}
	stop := errors.New("stop")
	ran = nil
	l.OnStep = func(s State) error {
		if s.Step == 2 {
			return stop
		}
		return nil
	}
	if _, err := l.Run(stdctx.Background()); !errors.Is(err, stop) || len(ran) != 3 {
		t.Errorf("hook error: %v after %d steps", err, len(ran))
	}
	l.Checkpoint.Save = func(int, []Point) error { return stop }
	l.OnStep = nil
	if _, err := l.Run(stdctx.Background()); !errors.Is(err, stop) || !strings.Contains(err.Error(), "checkpoint after step 3") {
		t.Errorf("checkpoint error: %v", err)
	}
}

// TestCancellation: a cancelled context stops the loop before the next step, naming the step and epoch.
func TestCancellation(t *testing.T) {
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	var ran []int
	l := constLoop(10, &ran, nil)
	l.StepsPerEpoch = 4
	l.OnStep = func(s State) error {
		if s.Step == 4 {
			cancel()
		}
		return nil
	}
	_, err := l.Run(ctx)
	if !errors.Is(err, stdctx.Canceled) || len(ran) != 5 || !strings.Contains(err.Error(), "test run interrupted in epoch 2 at step 5") {
		t.Fatalf("err %v after %d steps", err, len(ran))
	}
	bad := constLoop(3, &ran, nil)
	bad.Start = 4
	if _, err := bad.Run(stdctx.Background()); err == nil {
		t.Error("start past the end accepted")
	}
}

// TestWrapChangesTheStep: wrappers see and change what the inner step gets and reports, outermost last (the hook
// a privacy mechanism wraps).
func TestWrapChangesTheStep(t *testing.T) {
	var ran []int
	l := constLoop(4, &ran, nil)
	double := func(next Step[int]) Step[int] {
		return func(ctx stdctx.Context, step, b int) (Output, error) {
			o, err := next(ctx, step, b)
			o.Loss *= 2
			return o, err
		}
	}
	plusOne := func(next Step[int]) Step[int] {
		return func(ctx stdctx.Context, step, b int) (Output, error) {
			o, err := next(ctx, step, b)
			o.Loss++
			return o, err
		}
	}
	l.Step = Wrap(l.Step, double, plusOne) // (s·2)+1
	l.CurveEvery = 4
	res, err := l.Run(stdctx.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Curve[0].Loss != 4 { // mean of 1,3,5,7
		t.Errorf("wrapped curve %v", res.Curve)
	}
}

// TestShuffledEpochs: each epoch is a fresh permutation of the rows in full batches, the tail dropped, and the
// draws follow the rng exactly as one Shuffle per epoch.
func TestShuffledEpochs(t *testing.T) {
	s := NewShuffled(10, 3, rand.New(rand.NewPCG(1, 2)))
	if s.StepsPerEpoch() != 3 {
		t.Fatalf("%d steps per epoch", s.StepsPerEpoch())
	}
	ref := rand.New(rand.NewPCG(1, 2))
	order := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for step := range 9 {
		if step%3 == 0 {
			ref.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		pos := step % 3
		if got := s.Rows(step); !slices.Equal(got, order[pos*3:pos*3+3]) {
			t.Fatalf("step %d rows %v, want %v", step, got, order[pos*3:pos*3+3])
		}
	}
	if NewShuffled(2, 3, rand.New(rand.NewPCG(1, 2))).Rows(0) != nil {
		t.Error("fewer rows than a batch should give no batch")
	}
}

// TestWeightedSumIsExact: a weighted step that reports the sum behind its mean (Output.Sum) gets the exact ratio
// of sums in the curve, not the ratio of mean×weight products (which round: (6.8/41)·41 + (0.7/28)·28 ≠ 7.5); a
// step of weight 0 (an empty batch, mean 0) leaves the mean.
func TestWeightedSumIsExact(t *testing.T) {
	sums, counts := []float64{6.8, 0.7, 0}, []float64{41, 28, 0}
	l := &Loop[int]{Name: "sums", Steps: len(sums), StepsPerEpoch: len(sums), Weighted: true,
		Batches: func(step int) (int, error) { return step, nil },
		Step: func(_ stdctx.Context, step, _ int) (Output, error) {
			o := Output{Sum: sums[step], Weight: counts[step]}
			if counts[step] > 0 {
				o.Loss = sums[step] / counts[step]
			}
			return o, nil
		}}
	res, err := l.Run(stdctx.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (6.8 + 0.7) / 69.0; len(res.Curve) != 1 || res.Curve[0].Loss != want {
		t.Errorf("curve %v, want one point of loss %v", res.Curve, want)
	}
}
