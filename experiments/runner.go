package experiments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/internal/progress"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
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
}

// Provenance is where and with what a run was measured.
type Provenance struct {
	Backend   string
	GoVersion string
	GitCommit string
	Host      string
}

// CurrentProvenance describes this process: the gomlx backend configuration, the Go version, the git commit
// the binary was built from (its VCS stamp, else `git rev-parse HEAD` in the working directory, else
// "unknown"; "-dirty" marks uncommitted changes) and the host name.
func CurrentProvenance() Provenance {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return Provenance{Backend: backend.Config(), GoVersion: runtime.Version(), GitCommit: gitCommit(), Host: host}
}

func gitCommit() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev string
		var dirty bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if status, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(status))) > 0 {
		rev += "-dirty"
	}
	return rev
}

// Summary is what a Run call did.
type Summary struct {
	Total    int // runs given
	Skipped  int // already finished before the call
	Finished int // finished (and written) by this call
	Failed   []Failure
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
	var pending []Run
	for _, run := range runs {
		done, err := results.Exists(r.expDir(run), run.ID)
		if err != nil {
			return sum, err
		}
		if done {
			sum.Skipped++
			continue
		}
		pending = append(pending, run)
	}
	log.Info("runs", "total", len(runs), "finished_before", sum.Skipped, "to_run", len(pending), "parallel", parallel)
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
	var mu sync.Mutex // guards sum, skippedNow and bar
	skippedNow := 0
	start := time.Now()
	p := pool.New().WithMaxGoroutines(parallel)
	for _, run := range pending {
		if ctx.Err() != nil {
			break
		}
		p.Go(func() {
			rec, skipped, err := r.execute(ctx, run, parallel, prov, log)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case skipped:
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
	sum.NotRun = len(pending) - sum.Finished - len(sum.Failed) - skippedNow
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

// execute runs one method and writes its results. skipped reports a run that another process finished meanwhile.
func (r *Runner) execute(ctx context.Context, run Run, parallel int, prov Provenance, log *slog.Logger) (rec *results.Record, skipped bool, err error) {
	dir := r.expDir(run)
	if done, err := results.Exists(dir, run.ID); err != nil || done {
		return nil, done, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	m, err := method.Lookup(run.Method)
	if err != nil {
		return nil, false, err
	}
	env := r.Env
	env.Progress = r.Env.Progress && parallel == 1
	env.Log = log.With("run", run.ID)
	start := time.Now()
	res, err := callMethod(ctx, m, env, run)
	if err != nil {
		return nil, false, err
	}
	if res == nil {
		return nil, false, fmt.Errorf("method %s returned no result", run.Method)
	}
	rec = record(run, res, prov, start, time.Since(start))
	if err := results.Write(dir, rec); err != nil {
		return nil, false, err
	}
	return rec, false, nil
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
		Backend: prov.Backend, GoVersion: prov.GoVersion, GitCommit: prov.GitCommit, Host: prov.Host,
		Start: start.UTC(), Duration: dur, Costs: res.Costs, Curve: res.Curve, Attacks: res.Attacks,
	}
}
