package experiments

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// runnerSpec has 2 tasks × 3 sigma × 2 seeds = 12 runs of the fake method.
const runnerSpec = `experiment = "runner"
[data]
tasks = ["sst2", "qqp"]
max_train = 8
max_eval = 4
[model]
preset = "nano"
pretrain = "none"
[training]
epochs = 1
learning_rate = 0.001
seeds = [1, 2]
[[method]]
name = "fake"
label = "Fake"
[method.sweep]
sigma = [0.0, 0.5, 1.0]
`

// testProvenance keeps the tests off git and the backend.
var testProvenance = Provenance{Backend: "test-backend", GoVersion: "go-test", GitCommit: "abc", Host: "test-host"}

func loadRunnerSpec(t *testing.T) *Spec {
	t.Helper()
	s, err := Parse([]byte(runnerSpec), "runner.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Runs) != 12 {
		t.Fatalf("%d runs, want 12", len(s.Runs))
	}
	return s
}

func newRunner(dir string, parallel int) *Runner {
	return &Runner{ResultsDir: dir, Parallel: parallel, Provenance: testProvenance}
}

func runIDs(runs []Run) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	return ids
}

func sorted(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

// noTemporaryFiles fails if an interrupted write left a file behind.
func noTemporaryFiles(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", path)
		}
		return nil
	})
}

func TestRunnerWritesResultsAndSkipsFinishedRuns(t *testing.T) {
	fake.setHook(nil)
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	before := fake.calls.Load()
	sum, err := newRunner(dir, 1).Run(context.Background(), s.Runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Finished != 12 || sum.Skipped != 0 || fake.calls.Load()-before != 12 {
		t.Fatalf("first pass: %+v, %d calls", sum, fake.calls.Load()-before)
	}
	recs, err := results.ReadExperiment(filepath.Join(dir, "runner"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sorted(runIDsOf(recs)); !reflect.DeepEqual(got, sorted(runIDs(s.Runs))) {
		t.Fatalf("written ids %v", got)
	}
	r := recs[0]
	if r.Experiment != "runner" || r.Label != "Fake" || r.Method != "fake" || r.Backend != "test-backend" ||
		r.Host != "test-host" || r.Start.IsZero() || r.Duration <= 0 || r.Tags["run"] != r.RunID ||
		len(r.Costs) != 2 || len(r.Curve) != 2 || r.Params["sigma"] == nil || r.MaxTrain != 8 {
		t.Errorf("record %+v", r)
	}

	// A second pass skips everything.
	before = fake.calls.Load()
	sum, err = newRunner(dir, 2).Run(context.Background(), s.Runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 12 || sum.Finished != 0 || fake.calls.Load() != before {
		t.Errorf("re-run: %+v, %d calls", sum, fake.calls.Load()-before)
	}
	noTemporaryFiles(t, dir)
}

func runIDsOf(recs []results.Record) []string {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.RunID
	}
	return ids
}

func TestShardsWriteTheSameRunsAsOneRun(t *testing.T) {
	fake.setHook(nil)
	s := loadRunnerSpec(t)
	whole, sharded := t.TempDir(), t.TempDir()
	if _, err := newRunner(whole, 1).Run(context.Background(), s.Runs); err != nil {
		t.Fatal(err)
	}
	var shardIDs [][]string
	for i := range 2 {
		part := Shard(s.Runs, i, 2)
		shardIDs = append(shardIDs, runIDs(part))
		if _, err := newRunner(sharded, 1).Run(context.Background(), part); err != nil {
			t.Fatal(err)
		}
	}
	if len(shardIDs[0]) != 6 || len(shardIDs[1]) != 6 {
		t.Errorf("shard sizes %d, %d", len(shardIDs[0]), len(shardIDs[1]))
	}
	a, _ := results.RunIDs(filepath.Join(whole, "runner"))
	b, _ := results.RunIDs(filepath.Join(sharded, "runner"))
	if len(a) != 12 || !reflect.DeepEqual(a, b) {
		t.Errorf("unsharded ids %v\nsharded ids %v", a, b)
	}
}

func TestCancelledSweepKeepsFinishedRunsAndWritesNothingElse(t *testing.T) {
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	started := 0
	fake.setHook(func(ctx context.Context, run method.Run) error {
		mu.Lock()
		started++
		n := started
		mu.Unlock()
		if n == 3 { // the third run is interrupted mid-way (Ctrl-C)
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	defer fake.setHook(nil)
	sum, err := newRunner(dir, 1).Run(ctx, s.Runs)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if sum.Finished != 2 || sum.NotRun != 10 || len(sum.Failed) != 0 {
		t.Errorf("summary %+v", sum)
	}
	ids, _ := results.RunIDs(filepath.Join(dir, "runner"))
	if !reflect.DeepEqual(ids, sorted(runIDs(s.Runs[:2]))) {
		t.Errorf("on disk %v, want the first two runs %v", ids, runIDs(s.Runs[:2]))
	}
	if _, err := results.ReadExperiment(filepath.Join(dir, "runner")); err != nil {
		t.Errorf("results unreadable after the interruption: %v", err)
	}
	noTemporaryFiles(t, dir)

	fake.setHook(nil)
	sum, err = newRunner(dir, 1).Run(context.Background(), s.Runs)
	if err != nil || sum.Skipped != 2 || sum.Finished != 10 {
		t.Errorf("continuing: %+v, %v", sum, err)
	}
}

func TestFailingRunsAreReportedAndOthersContinue(t *testing.T) {
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	bad := map[string]string{s.Runs[1].ID: "error", s.Runs[4].ID: "panic"}
	fake.setHook(func(ctx context.Context, run method.Run) error {
		switch bad[run.ID] {
		case "error":
			return errors.New("out of memory (simulated)")
		case "panic":
			panic("index out of range (simulated)")
		}
		return nil
	})
	defer fake.setHook(nil)
	sum, err := newRunner(dir, 2).Run(context.Background(), s.Runs)
	if !errors.Is(err, ErrRunsFailed) || !strings.Contains(err.Error(), "out of memory") || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("error %v", err)
	}
	if sum.Finished != 10 || len(sum.Failed) != 2 {
		t.Errorf("summary %+v", sum)
	}
	for id := range bad {
		if ok, _ := results.Exists(filepath.Join(dir, "runner"), id); ok {
			t.Errorf("failed run %s has results", id)
		}
	}
}

func TestParallelRunsAtMostNAtOnce(t *testing.T) {
	s := loadRunnerSpec(t)
	const parallel = 3
	var mu sync.Mutex
	inFlight, most := 0, 0
	arrived := make(chan struct{}, len(s.Runs))
	release := make(chan struct{})
	fake.setHook(func(ctx context.Context, run method.Run) error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	defer fake.setHook(nil)
	done := make(chan error, 1)
	go func() {
		_, err := newRunner(t.TempDir(), parallel).Run(context.Background(), s.Runs)
		done <- err
	}()
	// The first `parallel` runs must all be in flight together before any of them is released.
	for range parallel {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("fewer than 3 runs started together")
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if most != parallel {
		t.Errorf("at most %d runs at once, want %d", most, parallel)
	}
}

func TestPrepareSeesOnlyPendingRuns(t *testing.T) {
	fake.setHook(nil)
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	if _, err := newRunner(dir, 1).Run(context.Background(), Shard(s.Runs, 0, 3)); err != nil {
		t.Fatal(err)
	}
	var prepared []string
	r := newRunner(dir, 1)
	r.Prepare = func(ctx context.Context, pending []Run) error {
		prepared = runIDs(pending)
		return nil
	}
	if _, err := r.Run(context.Background(), s.Runs); err != nil {
		t.Fatal(err)
	}
	if len(prepared) != 8 {
		t.Errorf("Prepare saw %d runs, want the 8 unfinished", len(prepared))
	}
	r.Prepare = func(ctx context.Context, pending []Run) error { return errors.New("no data") }
	if _, err := r.Run(context.Background(), s.Runs); err != nil {
		t.Errorf("Prepare was called with nothing to do: %v", err)
	}
	if got := PretrainPresets([]Run{{Run: method.Run{Preset: "tiny", Pretrain: "default"}}, {Run: method.Run{Preset: "nano", Pretrain: "none"}},
		{Run: method.Run{Preset: "tiny", Pretrain: "default"}}}); !reflect.DeepEqual(got, []string{"tiny"}) {
		t.Errorf("PretrainPresets = %v", got)
	}
}
