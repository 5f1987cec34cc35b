package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
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

// executionLogEnv names the file the fake method appends each executed run id to (helper processes).
const (
	helperRunnerEnv = "CYPHERTALK_TEST_RUNNER_DIR"
	executionLogEnv = "CYPHERTALK_TEST_EXECUTION_LOG"
)

// logExecutions makes the fake method append every run it executes to path (O_APPEND: one line per run, from
// any number of processes) after a short pause, so that runners overlap.
func logExecutions(t testing.TB, path string) {
	fake.setHook(func(ctx context.Context, run method.Run) error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = f.WriteString(run.ID + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		time.Sleep(30 * time.Millisecond)
		return err
	})
}

func executions(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, id := range strings.Fields(string(b)) {
		n[id]++
	}
	return n
}

// TestHelperRunner is the child process of TestTwoRunnerProcessesExecuteEachRunOnce: one runner over the shared
// results directory.
func TestHelperRunner(t *testing.T) {
	dir := os.Getenv(helperRunnerEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	logExecutions(t, os.Getenv(executionLogEnv))
	defer fake.setHook(nil)
	sum, err := newRunner(dir, 2).Run(context.Background(), loadRunnerSpec(t).Runs)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("summary finished=%d busy=%d skipped=%d\n", sum.Finished, sum.Busy, sum.Skipped)
}

func TestTwoRunnerProcessesExecuteEachRunOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns two runner processes")
	}
	dir, logPath := t.TempDir(), filepath.Join(t.TempDir(), "executions.log")
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRunner$", "-test.v")
		cmd.Env = append(os.Environ(), helperRunnerEnv+"="+dir, executionLogEnv+"="+logPath)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("runner %d: %v\n%s", i, err, outs[i])
		}
	}
	checkEachRunOnce(t, dir, logPath)
	finished := 0
	for _, out := range outs {
		var f, b, s int
		if _, err := fmt.Sscanf(out.String()[strings.Index(out.String(), "summary "):], "summary finished=%d busy=%d skipped=%d", &f, &b, &s); err != nil {
			t.Fatalf("no summary in %s", out)
		}
		finished += f
	}
	if finished != 12 {
		t.Errorf("the two runners finished %d runs together, want 12", finished)
	}
}

func TestTwoRunnersInOneProcessExecuteEachRunOnce(t *testing.T) {
	dir, logPath := t.TempDir(), filepath.Join(t.TempDir(), "executions.log")
	logExecutions(t, logPath)
	defer fake.setHook(nil)
	s := loadRunnerSpec(t)
	sums := make([]Summary, 2)
	var wg sync.WaitGroup
	for i := range sums {
		wg.Go(func() {
			var err error
			if sums[i], err = newRunner(dir, 3).Run(context.Background(), s.Runs); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkEachRunOnce(t, dir, logPath)
	if got := sums[0].Finished + sums[1].Finished; got != 12 {
		t.Errorf("finished %d together, want 12 (%+v, %+v)", got, sums[0], sums[1])
	}
	for _, sum := range sums {
		if sum.Finished+sum.Skipped+sum.Busy != 12 || sum.NotRun != 0 {
			t.Errorf("summary does not add up: %+v", sum)
		}
	}
}

// checkEachRunOnce: every run executed exactly once, all results readable, no claim left behind.
func checkEachRunOnce(t *testing.T, dir, logPath string) {
	t.Helper()
	n := executions(t, logPath)
	for _, run := range loadRunnerSpec(t).Runs {
		if n[run.ID] != 1 {
			t.Errorf("run %s executed %d times", run.ID, n[run.ID])
		}
	}
	recs, bad, err := results.ReadAll(filepath.Join(dir, "runner"))
	if err != nil || len(recs) != 12 || len(bad) != 0 {
		t.Errorf("%d records, unreadable %v, %v", len(recs), bad, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "runner", ClaimsDir, "*"))
	if len(left) != 0 {
		t.Errorf("claims left behind: %v", left)
	}
}

// deadPID is the pid of a process that has exited (and been waited for).
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func writeClaim(t *testing.T, expDir, id string, info ClaimInfo, heartbeat time.Time) {
	t.Helper()
	b, _ := json.Marshal(info)
	p := claimPath(expDir, id)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, heartbeat, heartbeat); err != nil {
		t.Fatal(err)
	}
}

func TestStaleClaimsAreTakenOverAndLiveOnesLeftAlone(t *testing.T) {
	fake.setHook(nil)
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	expDir := filepath.Join(dir, "runner")
	host, _ := os.Hostname()
	now := time.Now()
	killed := s.Runs[0].ID    // same host, the process is gone
	elsewhere := s.Runs[1].ID // another host, heartbeat fresh: alive there
	silent := s.Runs[2].ID    // another host, no heartbeat for longer than the timeout
	live := s.Runs[3].ID      // same host, a live process (this test's parent)
	garbled := s.Runs[4].ID   // unparseable and old: a claimer killed while writing it
	writeClaim(t, expDir, killed, ClaimInfo{Run: killed, PID: deadPID(t), Host: host, Start: now, Token: "k"}, now)
	writeClaim(t, expDir, elsewhere, ClaimInfo{Run: elsewhere, PID: 1, Host: "node-elsewhere", Start: now, Token: "e"}, now)
	writeClaim(t, expDir, silent, ClaimInfo{Run: silent, PID: 1, Host: "node-elsewhere", Start: now, Token: "s"}, now.Add(-time.Hour))
	writeClaim(t, expDir, live, ClaimInfo{Run: live, PID: os.Getppid(), Host: host, Start: now, Token: "l"}, now)
	if err := os.WriteFile(claimPath(expDir, garbled), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(claimPath(expDir, garbled), now.Add(-time.Hour), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}

	var logs strings.Builder
	r := newRunner(dir, 2)
	r.ClaimTimeout = time.Minute
	r.Log = slog.New(slog.NewTextHandler(&logs, nil))
	sum, err := r.Run(context.Background(), s.Runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Finished != 10 || sum.Busy != 2 || sum.NotRun != 0 {
		t.Errorf("summary %+v, want 10 finished and the 2 live claims busy", sum)
	}
	for _, id := range []string{killed, silent, garbled} {
		if ok, _ := results.Exists(expDir, id); !ok {
			t.Errorf("stale claim of run %s was not taken over", id)
		}
		if _, err := os.Stat(claimPath(expDir, id)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("claim of run %s not released: %v", id, err)
		}
	}
	for _, id := range []string{elsewhere, live} {
		if ok, _ := results.Exists(expDir, id); ok {
			t.Errorf("run %s claimed by a live runner was executed", id)
		}
		if info, _, err := readClaim(claimPath(expDir, id)); err != nil || info.Run != id {
			t.Errorf("live claim of run %s disturbed: %v %v", id, info, err)
		}
	}
	if !strings.Contains(logs.String(), "taking over the claim") || !strings.Contains(logs.String(), "another runner is executing it") {
		t.Errorf("log does not report the take-over and the busy runs:\n%s", logs.String())
	}
}

func TestClaimHeartbeatAndRelease(t *testing.T) {
	dir := t.TempDir()
	host, _ := os.Hostname()
	c := &claimer{host: host, pid: os.Getpid(), timeout: 50 * time.Millisecond, log: slog.New(slog.DiscardHandler)}
	cl, holder, err := c.acquire(dir, "r1")
	if err != nil || cl == nil || holder != nil {
		t.Fatalf("acquire: %v %v %v", cl, holder, err)
	}
	info, hb0, err := readClaim(claimPath(dir, "r1"))
	if err != nil || info.PID != os.Getpid() || info.Host != host || info.Start.IsZero() || info.Token == "" {
		t.Fatalf("claim file %+v, %v", info, err)
	}
	// A second claimer of this process sees it held; the heartbeat keeps it from going stale.
	other := &claimer{host: host, pid: os.Getpid() + 1_000_000, timeout: 50 * time.Millisecond, log: c.log}
	time.Sleep(120 * time.Millisecond)
	_, hb1, _ := readClaim(claimPath(dir, "r1"))
	if !hb1.After(hb0) {
		t.Errorf("heartbeat not refreshed: %v then %v", hb0, hb1)
	}
	if got, h, err := other.acquire(dir, "r1"); got != nil || err != nil || h == nil || h.Token != info.Token {
		t.Errorf("a held claim was given again: %v %v %v", got, h, err)
	}
	cl.release()
	cl.release() // idempotent
	if _, err := os.Stat(claimPath(dir, "r1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("claim not removed on release: %v", err)
	}
	if alive, known := processAlive(os.Getpid()); !alive || !known {
		t.Errorf("processAlive(self) = %v, %v", alive, known)
	}
	if alive, known := processAlive(deadPID(t)); alive || !known {
		t.Errorf("processAlive(dead) = %v, %v", alive, known)
	}
}

func TestUnreadableResultsAreMovedAsideAndRedone(t *testing.T) {
	fake.setHook(nil)
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	expDir := filepath.Join(dir, "runner")
	if _, err := newRunner(dir, 1).Run(context.Background(), s.Runs); err != nil {
		t.Fatal(err)
	}
	truncated, empty, garbage := s.Runs[0].ID, s.Runs[5].ID, s.Runs[9].ID
	st, _ := os.Stat(results.RunPath(expDir, truncated))
	if err := os.Truncate(results.RunPath(expDir, truncated), st.Size()-20); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(results.RunPath(expDir, empty), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(results.RunPath(expDir, garbage), []byte("PAR1 this is not a parquet file PAR1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if recs, err := results.ReadExperiment(expDir); err != nil || len(recs) != 9 {
		t.Fatalf("reader before the resume: %d records, %v; want the 9 readable", len(recs), err)
	}

	var logs strings.Builder
	r := newRunner(dir, 2)
	r.Log = slog.New(slog.NewTextHandler(&logs, nil))
	before := fake.calls.Load()
	sum, err := r.Run(context.Background(), s.Runs)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 9 || sum.Finished != 3 || sum.Redone != 3 || fake.calls.Load()-before != 3 {
		t.Errorf("resume: %+v, %d calls; want the 3 unreadable runs redone", sum, fake.calls.Load()-before)
	}
	for _, id := range []string{truncated, empty, garbage} {
		if !strings.Contains(logs.String(), results.RunPath(expDir, id)) {
			t.Errorf("no warning names %s:\n%s", results.RunPath(expDir, id), logs.String())
		}
		aside, _ := filepath.Glob(filepath.Join(expDir, results.CorruptDir, id+".*.parquet"))
		if len(aside) == 0 {
			t.Errorf("run %s was not moved aside", id)
		}
	}
	recs, bad, err := results.ReadAll(expDir)
	if err != nil || len(recs) != 12 || len(bad) != 0 {
		t.Errorf("after the resume: %d records, unreadable %v, %v", len(recs), bad, err)
	}
}

func TestRunnerKeepsTheSpecWithTheResults(t *testing.T) {
	fake.setHook(nil)
	s := loadRunnerSpec(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "runner", results.SpecFile)
	r := newRunner(dir, 1)
	if _, err := r.Run(context.Background(), s.Runs[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("spec copy written without SpecText: %v", err)
	}
	r.SpecText = []byte(runnerSpec)
	if _, err := r.Run(context.Background(), s.Runs); err != nil { // everything left to run
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != runnerSpec {
		t.Fatalf("spec copy %q, %v", b, err)
	}
	r.SpecText = []byte(runnerSpec + "# edited\n")
	if _, err := r.Run(context.Background(), s.Runs); err != nil { // nothing left to run: the copy still follows
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != runnerSpec+"# edited\n" {
		t.Errorf("spec copy not updated: %q", b)
	}
	noTemporaryFiles(t, dir)
}

func TestRecordCarriesEveryScalarAndProvenance(t *testing.T) {
	res := method.NewResult()
	rv := reflect.ValueOf(&res.Scalars).Elem()
	for i := range rv.NumField() { // whatever method.Scalars declares reaches the record
		f := rv.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("set")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(7)
		case reflect.Uint64:
			f.SetUint(7)
		case reflect.Float64:
			f.SetFloat(7)
		}
	}
	prov := Provenance{Backend: "b", GoVersion: "g", GitCommit: "c0ffee", GitDirty: true, Host: "h"}
	rec := record(Run{Experiment: "e"}, res, prov, time.Now(), time.Second)
	if !reflect.DeepEqual(rec.Scalars, res.Scalars) {
		t.Errorf("scalars %+v, want %+v", rec.Scalars, res.Scalars)
	}
	if rec.GitCommit != "c0ffee" || !rec.GitDirty || rec.Host != "h" || rec.Backend != "b" || rec.GoVersion != "g" {
		t.Errorf("provenance %+v", rec)
	}
}
