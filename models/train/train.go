// Package train owns the project's one training loop: the schedule of steps (a step count, or epochs of steps),
// context cancellation, the progress bar, the loss curve recorded at an interval or per epoch, the time of each
// epoch, and the hooks that hang on it (a periodic checkpoint, a per-step callback). What a step does is the
// caller's: a Loop draws each step's batch from Batches and hands it to Step, which usually runs a compiled
// models.Trainer step.
//
// The batch type is a type parameter, so a loop can carry tensors, example rows or any upload. That is the hook
// privacy mechanisms wrap (Opacus' make_private idea, see docs/design.md): a wrapper replaces Batches (e.g.
// Poisson sampling of rows for DP-SGD) and/or wraps Step (per-example clipping and noise, or perturbing the
// client's forward output before the cloud's step for DP-Forward) without touching the loop itself; Wrap
// composes such step wrappers. Inside one compiled step, models.Model.NewTrainerWithGradients is the matching
// hook for how the gradient is computed.
package train

import (
	stdctx "context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cyphertalk/cyphertalk-go/internal/progress"
)

// Output is what one step reports.
type Output struct {
	// Loss is the value the curve records: the step's training loss, or another scalar the caller picks.
	Loss float64
	// Weight is Loss's weight in the curve's means when the loop is Weighted (a step over a variable number
	// of examples reports their count; 0 leaves the step out of the mean). Unweighted loops weigh steps equally.
	Weight float64
	// Sum, in a Weighted loop, is Loss·Weight as the step summed it (the numerator of its mean, e.g. the sum of
	// its examples' losses), so that the curve's means are the exact ratio of sums; 0 means Loss·Weight.
	Sum float64
	// Extras are further scalars (e.g. the parts of the loss), for hooks and descriptions.
	Extras []float32
}

// Batches draws the batch of a step (steps are numbered from 0 over the whole run, a resumed one included).
type Batches[B any] func(step int) (B, error)

// Step runs one optimisation step on a batch.
type Step[B any] func(ctx stdctx.Context, step int, batch B) (Output, error)

// StepWrapper changes how a step is done (e.g. adds noise to what it computes); see Wrap.
type StepWrapper[B any] func(Step[B]) Step[B]

// Wrap returns step wrapped by each wrapper in turn (the last one outermost).
func Wrap[B any](step Step[B], wrappers ...StepWrapper[B]) Step[B] {
	for _, w := range wrappers {
		step = w(step)
	}
	return step
}

// Point is one point of a loss curve: the mean Output.Loss over the steps up to Step (exclusive of earlier
// points), weighted by Output.Weight in a Weighted loop; an interval of weight 0 records no point. Epoch is the 1-based epoch it closes (0 for an interval point).
type Point struct {
	Step  int
	Epoch int
	Loss  float64
}

// State is what a per-step hook sees.
type State struct {
	Step   int // the step just run, 0-based
	Epoch  int // its 1-based epoch (0 without epochs)
	Out    Output
	Curve  []Point // the points recorded so far by this run
	Bar    *progress.Bar
	Loop   string
	Ending bool // this was the last step
}

// Checkpoint saves a run's state every Every steps (never after the last step: the caller saves the result).
type Checkpoint struct {
	Every int
	// Save is called with the number of steps done (the step to resume at) and the curve so far.
	Save func(next int, curve []Point) error
}

// Loop is one training run's schedule and hooks.
type Loop[B any] struct {
	// Name says what runs ("fine-tuning"); it starts error messages and is the default progress label.
	Name string
	// Steps is the step to stop before, counted from 0 (with epochs: epochs × StepsPerEpoch).
	Steps int
	// Start is the step to begin at (a run resumed from a checkpoint); the progress bar starts there.
	Start int
	// StepsPerEpoch > 0 groups the steps into epochs: the curve gets the mean loss of every epoch and
	// Result.EpochSeconds its wall time.
	StepsPerEpoch int
	// CurveEvery > 0 records a curve point every so many steps (at absolute step numbers, so a run resumed
	// at a multiple of it continues the same grid). A trailing partial interval is recorded only with
	// CurvePartial.
	CurveEvery   int
	CurvePartial bool
	// Weighted means use Output.Weight (see Output); otherwise every step weighs 1.
	Weighted bool

	Batches Batches[B]
	Step    Step[B]

	Progress bool
	Label    string // progress label ("" = Name)
	// Describe, if set, renames the progress bar after each curve point.
	Describe func(p Point) string
	// Checkpoint, if Every > 0, saves state periodically.
	Checkpoint Checkpoint
	// OnStep, if set, runs after each step (after the curve and the checkpoint); an error stops the run.
	OnStep func(s State) error
}

// Result is what Run measured.
type Result struct {
	Curve        []Point
	EpochSeconds []float64 // wall time of each epoch, when the loop has epochs
	Steps        int       // steps run by this call
	Seconds      float64
}

// Losses is the curve's loss values.
func (r *Result) Losses() []float64 {
	out := make([]float64, len(r.Curve))
	for i, p := range r.Curve {
		out[i] = p.Loss
	}
	return out
}

// Run runs steps Start … Steps-1.
func (l *Loop[B]) Run(ctx stdctx.Context) (*Result, error) {
	switch {
	case l.Batches == nil || l.Step == nil:
		return nil, fmt.Errorf("%s: the loop needs a batch source and a step", l.Name)
	case l.Start < 0 || l.Steps < l.Start:
		return nil, fmt.Errorf("%s: cannot run steps %d to %d", l.Name, l.Start, l.Steps)
	case l.StepsPerEpoch < 0 || l.CurveEvery < 0 || l.Checkpoint.Every < 0:
		return nil, fmt.Errorf("%s: negative steps per epoch, curve interval or checkpoint interval", l.Name)
	}
	if l.Checkpoint.Every > 0 && l.Checkpoint.Save == nil {
		return nil, errors.New(l.Name + ": a checkpoint interval needs a Save function")
	}
	start := time.Now()
	res := &Result{}
	var bar *progress.Bar
	if l.Progress {
		label := l.Label
		if label == "" {
			label = l.Name
		}
		bar = progress.New(l.Steps, label)
		bar.Add(l.Start)
	}
	var sum, weight float64
	epochStart := time.Now()
	record := func(step, epoch int) {
		if weight == 0 {
			return
		}
		p := Point{Step: step, Epoch: epoch, Loss: sum / weight}
		res.Curve = append(res.Curve, p)
		sum, weight = 0, 0
		if l.Describe != nil {
			bar.Describe(l.Describe(p))
		}
	}
	for step := l.Start; step < l.Steps; step++ {
		epoch := 0
		if l.StepsPerEpoch > 0 {
			epoch = step/l.StepsPerEpoch + 1
			if step%l.StepsPerEpoch == 0 {
				epochStart = time.Now()
			}
		}
		if err := ctx.Err(); err != nil {
			if epoch > 0 {
				return nil, fmt.Errorf("%s interrupted in epoch %d at step %d: %w", l.Name, epoch, step, err)
			}
			return nil, fmt.Errorf("%s interrupted at step %d: %w", l.Name, step, err)
		}
		batch, err := l.Batches(step)
		if err != nil {
			return nil, fmt.Errorf("%s: batch of step %d: %w", l.Name, step, err)
		}
		out, err := l.Step(ctx, step, batch)
		if err != nil {
			return nil, err
		}
		res.Steps++
		w, part := 1.0, out.Loss
		if l.Weighted {
			w, part = out.Weight, out.Loss*out.Weight
			if out.Sum != 0 {
				part = out.Sum
			}
		}
		sum += part
		weight += w
		done := step + 1
		switch {
		case l.StepsPerEpoch > 0 && done%l.StepsPerEpoch == 0:
			res.EpochSeconds = append(res.EpochSeconds, time.Since(epochStart).Seconds())
			record(done, epoch)
		case l.CurveEvery > 0 && done%l.CurveEvery == 0:
			record(done, 0)
		case done == l.Steps && l.CurvePartial:
			record(done, epoch)
		}
		bar.Add(1)
		if l.Checkpoint.Every > 0 && done%l.Checkpoint.Every == 0 && done < l.Steps {
			if err := l.Checkpoint.Save(done, res.Curve); err != nil {
				return nil, fmt.Errorf("%s: checkpoint after step %d: %w", l.Name, done, err)
			}
		}
		if l.OnStep != nil {
			if err := l.OnStep(State{Step: step, Epoch: epoch, Out: out, Curve: res.Curve, Bar: bar, Loop: l.Name,
				Ending: done == l.Steps}); err != nil {
				return nil, err
			}
		}
	}
	bar.Finish()
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// Shuffled draws the rows of fixed-size batches from n examples in epochs: every stepsPerEpoch = n/size steps
// (the last partial batch is dropped) the order is reshuffled with rng, and step s takes the (s mod
// stepsPerEpoch)-th slice of it. Steps must be asked for in order.
type Shuffled struct {
	order []int
	size  int
	rng   *rand.Rand
}

// NewShuffled starts the identity order; the first step shuffles it.
func NewShuffled(n, size int, rng *rand.Rand) *Shuffled {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	return &Shuffled{order: order, size: size, rng: rng}
}

// StepsPerEpoch is the number of full batches in an epoch.
func (s *Shuffled) StepsPerEpoch() int {
	if s.size <= 0 {
		return 0
	}
	return len(s.order) / s.size
}

// Rows are the rows of step's batch (a view of the current order: do not keep it past the next call).
func (s *Shuffled) Rows(step int) []int {
	per := s.StepsPerEpoch()
	if per == 0 {
		return nil
	}
	pos := step % per
	if pos == 0 {
		s.rng.Shuffle(len(s.order), func(i, j int) { s.order[i], s.order[j] = s.order[j], s.order[i] })
	}
	return s.order[pos*s.size : (pos+1)*s.size]
}
