package experiments

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/internal/atomicfile"
	"github.com/cyphertalk/cyphertalk-go/internal/progress"
)

// Runner executes resolved runs and writes their results.
type Runner struct {
	// ResultsDir is the results root; run rows go to ResultsDir/<experiment>/runs/<id>.parquet.
	ResultsDir string
	// Parallel is the number of runs executed at once (< 1 = 1). One run already uses every core it is given.
	Parallel int
	// Env is handed to every run; its Progress is honoured only when Parallel is 1 (bars would interleave).
	Env method.Env
	// Progress shows a bar over the sweep (a log line per tenth when stderr is not a terminal).
	Progress bool
	// Prepare, if set, is called once with the runs about to execute, before any of them starts (e.g.
	// PretrainBases, so parallel runs do not pre-train the same base model twice).
	Prepare func(ctx context.Context, pending []Run) error
	// Provenance is recorded with every run (CurrentProvenance if zero).
	Provenance Provenance
	// Log receives one line per run (slog.Default if nil).
	Log *slog.Logger
	// SpecText, if set, is the spec the runs come from; Run keeps a copy in ResultsDir/<experiment>/spec.toml
	// (written atomically when missing or different) so that reports can show its description.
	SpecText []byte
	// ClaimTimeout is how long a run's claim lives without a heartbeat before another runner takes it over
	// (DefaultClaimTimeout if zero). Runners on one host also take over at once the claim of a process that is
	// gone.
	ClaimTimeout time.Duration
}

// Summary is what a Run call did.
type Summary struct {
	Total    int // runs given
	Skipped  int // already finished before the call
	Finished int // finished (and written) by this call
	Failed   []Failure
	// Busy counts runs another live runner was executing (their claims are held): that runner writes them.
	Busy int
	// Redone counts runs whose results were unreadable and were moved aside to run again.
	Redone int
	// NotRun counts runs neither finished nor failed: the context was cancelled before or while they ran.
	NotRun int
}

// Failure is a run that returned an error (or panicked, or could not be written).
type Failure struct {
	Run Run
	Err error
}

// ErrRunsFailed is wrapped by the error Run returns when any run failed.
var ErrRunsFailed = errors.New("runs failed")

// Run executes every run whose results do not exist yet, at most Parallel at a time. A failing run is logged and
// the others go on; the returned error wraps ErrRunsFailed (listing the failures) if any failed, or the
// context's error if it was cancelled. A cancelled run writes nothing; every finished run is on disk.
//
// Several runners may share one results directory (two terminals, a resubmitted Slurm array): each run is
// claimed before it executes (<experiment>/claims/<run_id>.claim, created exclusively, holding the pid, host and
// start time, its modification time a heartbeat), a run claimed by a live runner is left to it (Summary.Busy),
// and the claim of a runner that is gone is taken over. A run whose results cannot be read (a truncated, empty
// or corrupt file) is moved aside into <experiment>/corrupt/ with a warning naming the file, and redone.
func (r *Runner) Run(ctx context.Context, runs []Run) (Summary, error) {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	prov := r.Provenance
	if prov == (Provenance{}) {
		prov = CurrentProvenance()
	}
	parallel := max(r.Parallel, 1)
	sum := Summary{Total: len(runs)}
	if err := r.keepSpec(runs, log); err != nil {
		return sum, err
	}
	var pending []Run
	unreadable := 0
	for _, run := range runs {
		done, err := results.Check(r.expDir(run), run.ID)
		var bad *results.UnreadableError
		switch {
		case errors.As(err, &bad):
			unreadable++
			log.Warn("unreadable results: the run is moved aside and redone", "file", bad.Path, "run", run.ID,
				"err", bad.Err)
		case err != nil:
			return sum, err
		case done:
			sum.Skipped++
			continue
		}
		pending = append(pending, run)
	}
	log.Info("runs", "total", len(runs), "finished_before", sum.Skipped, "to_run", len(pending), "unreadable", unreadable,
		"parallel", parallel)
	if len(pending) == 0 {
		return sum, nil
	}
	if r.Prepare != nil {
		if err := r.Prepare(ctx, pending); err != nil {
			sum.NotRun = len(pending)
			return sum, fmt.Errorf("preparing runs: %w", err)
		}
	}

	var bar *progress.Bar
	if r.Progress {
		bar = progress.New(len(pending), "experiment "+pending[0].Experiment)
	}
	host, _ := os.Hostname()
	cl := &claimer{host: host, pid: os.Getpid(), timeout: cmp.Or(r.ClaimTimeout, DefaultClaimTimeout), log: log}
	var mu sync.Mutex // guards sum, skippedNow and bar
	skippedNow := 0
	start := time.Now()
	p := pool.New().WithMaxGoroutines(parallel)
	for _, run := range pending {
		if ctx.Err() != nil {
			break
		}
		p.Go(func() {
			rec, state, err := r.execute(ctx, run, parallel, prov, cl, log)
			mu.Lock()
			defer mu.Unlock()
			if state.redone {
				sum.Redone++
			}
			switch {
			case state.busy:
				sum.Busy++
				log.Info("run skipped: another runner is executing it", "run", run.ID, "pid", state.holder.PID,
					"host", state.holder.Host, "since", state.holder.Start.Format(time.RFC3339))
			case state.skipped:
				sum.Skipped++
				skippedNow++
			case err != nil && ctx.Err() != nil:
				return // interrupted (whatever error the method made of it): counted as not run below
			case err != nil:
				sum.Failed = append(sum.Failed, Failure{run, err})
				log.Error("run failed", "run", run.ID, "task", run.Task, "method", run.Method, "seed", run.Seed, "err", err)
			default:
				sum.Finished++
				log.Info("run finished", "run", run.ID, "task", run.Task, "method", run.Method, "label", run.Label,
					"seed", run.Seed, "seconds", fmt.Sprintf("%.1f", rec.Duration.Seconds()),
					"done", sum.Finished+len(sum.Failed), "of", len(pending),
					"elapsed", time.Since(start).Round(time.Second).String())
			}
			bar.Add(1)
		})
	}
	p.Wait()
	bar.Finish()
	sum.NotRun = len(pending) - sum.Finished - len(sum.Failed) - skippedNow - sum.Busy
	if err := ctx.Err(); err != nil {
		log.Warn("interrupted", "finished", sum.Finished, "not_run", sum.NotRun)
		return sum, fmt.Errorf("interrupted with %d runs finished and %d not run (run again to continue): %w", sum.Finished, sum.NotRun, err)
	}
	if len(sum.Failed) > 0 {
		msgs := make([]string, len(sum.Failed))
		for i, f := range sum.Failed {
			msgs[i] = fmt.Sprintf("  %s (%s %s seed %d): %v", f.Run.ID, f.Run.Task, f.Run.Method, f.Run.Seed, f.Err)
		}
		return sum, fmt.Errorf("%d of %d runs: %w:\n%s", len(sum.Failed), len(pending), ErrRunsFailed, strings.Join(msgs, "\n"))
	}
	return sum, nil
}

func (r *Runner) expDir(run Run) string { return filepath.Join(r.ResultsDir, run.Experiment) }

// executeState is what execute did besides finishing or failing.
type executeState struct {
	skipped bool       // another runner finished the run meanwhile
	busy    bool       // another live runner holds the run's claim
	holder  *ClaimInfo // that runner, when busy
	redone  bool       // unreadable results were moved aside first
}

// execute claims a run, runs its method and writes its results, then releases the claim. A run claimed by a live
// runner is left to it (busy); one finished meanwhile is skipped; one whose results are unreadable is moved
// aside (under the claim, so no other runner is writing it) and redone.
func (r *Runner) execute(ctx context.Context, run Run, parallel int, prov Provenance, cl *claimer, log *slog.Logger) (rec *results.Record, state executeState, err error) {
	dir := r.expDir(run)
	if err := ctx.Err(); err != nil {
		return nil, state, err
	}
	c, holder, err := cl.acquire(dir, run.ID)
	if err != nil {
		return nil, state, err
	}
	if c == nil {
		state.busy, state.holder = true, holder
		return nil, state, nil
	}
	defer c.release()
	done, err := results.Check(dir, run.ID)
	var bad *results.UnreadableError
	switch {
	case errors.As(err, &bad):
		moved, err := results.MoveAside(dir, run.ID, time.Now())
		if err != nil {
			return nil, state, err
		}
		state.redone = true
		log.Warn("moved unreadable results aside; redoing the run", "file", bad.Path, "run", run.ID,
			"moved_to", strings.Join(moved, ", "))
	case err != nil:
		return nil, state, err
	case done:
		state.skipped = true
		return nil, state, nil
	}
	m, err := method.Lookup(run.Method)
	if err != nil {
		return nil, state, err
	}
	env := r.Env
	env.Progress = r.Env.Progress && parallel == 1
	env.Log = log.With("run", run.ID)
	start := time.Now()
	res, err := callMethod(ctx, m, env, run)
	if err != nil {
		return nil, state, err
	}
	if res == nil {
		return nil, state, fmt.Errorf("method %s returned no result", run.Method)
	}
	rec = record(run, res, prov, start, time.Since(start))
	if err := results.Write(dir, rec); err != nil {
		return nil, state, err
	}
	return rec, state, nil
}

// keepSpec writes SpecText to <experiment>/spec.toml of every experiment among runs, where it is missing or
// different.
func (r *Runner) keepSpec(runs []Run, log *slog.Logger) error {
	if len(r.SpecText) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, run := range runs {
		if seen[run.Experiment] {
			continue
		}
		seen[run.Experiment] = true
		path := filepath.Join(r.expDir(run), results.SpecFile)
		old, err := os.ReadFile(path)
		if err == nil && bytes.Equal(old, r.SpecText) {
			continue
		}
		if err == nil {
			log.Info("the spec changed: replacing the experiment's copy", "file", path)
		}
		if err := atomicfile.Write(path, r.SpecText, 0o644); err != nil {
			return fmt.Errorf("keeping the spec with the results: %w", err)
		}
	}
	return nil
}

// callMethod runs m, turning a panic into an error so that one broken run does not end the sweep.
func callMethod(ctx context.Context, m method.Method, env method.Env, run Run) (res *method.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("method %s panicked: %v\n%s", run.Method, p, debug.Stack())
		}
	}()
	return m.Run(ctx, env, run.Run)
}

// record is the results row of a finished run.
func record(run Run, res *method.Result, prov Provenance, start time.Time, dur time.Duration) *results.Record {
	return &results.Record{
		RunID: run.ID, Experiment: run.Experiment, Task: run.Task, Method: run.Method, Label: run.Label,
		Seed: run.Seed, Preset: run.Preset, Pretrain: run.Pretrain, MaxTrain: run.MaxTrain, MaxEval: run.MaxEval,
		Epochs: run.Epochs, LearningRate: run.LearningRate, Params: run.Params,
		Metrics: res.Metrics, Extra: res.Extra, Tags: res.Tags, Epsilon: res.Epsilon, Delta: res.Delta,
		Scalars: res.Scalars, TrainExamples: res.TrainExamples, EvalExamples: res.EvalExamples,
		Backend: prov.Backend, GoVersion: prov.GoVersion, GitCommit: prov.GitCommit, GitDirty: prov.GitDirty, Host: prov.Host,
		Start: start.UTC(), Duration: dur, Costs: res.Costs, Curve: res.Curve, Attacks: res.Attacks,
	}
}
