package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// cmdFakeMethod is a test-only method for the run command: it checks its one parameter and returns a metric.
type cmdFakeMethod struct{}

type cmdFakeParams struct {
	Sigma float64 `param:"sigma"`
	Fail  bool    `param:"fail"`
}

func (cmdFakeMethod) Name() string { return "cmdtest-fake" }

func (cmdFakeMethod) Validate(params map[string]any) error {
	return method.DecodeParams(params, &cmdFakeParams{})
}

func (cmdFakeMethod) Run(ctx context.Context, env method.Env, run method.Run) (*method.Result, error) {
	var p cmdFakeParams
	if err := method.DecodeParams(run.Params, &p); err != nil {
		return nil, err
	}
	if p.Fail {
		return nil, errors.New("simulated failure")
	}
	if env.Tok == nil {
		return nil, errors.New("no tokenizer in the environment")
	}
	res := method.NewResult()
	res.Metrics["accuracy"] = 1 - p.Sigma/10
	res.Costs = []method.Cost{{Phase: method.PhasePrivateTuning, CloudSeconds: 1}}
	return res, nil
}

func init() { method.Register(cmdFakeMethod{}) }

const cmdSpec = `experiment = "cmdtest"
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
seeds = [1]
[[method]]
name = "cmdtest-fake"
[method.sweep]
sigma = [0.5, 1.0]
`

func writeSpec(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// execCLI runs the run/slurm commands under a root with the global flags, as main wires them.
func execCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	g := &globals{}
	root := &cobra.Command{Use: "cyphertalk", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringVar(&g.dataDir, "data", "", "data directory")
	root.PersistentFlags().StringVar(&g.cacheDir, "cache", "cache", "cache directory")
	root.AddCommand(newRunCmd(g), newSlurmCmd(g))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

var runIDPattern = regexp.MustCompile(`(?m)^(todo|done)  ([0-9a-f]{16})  `)

func dryRunIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, m := range runIDPattern.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[2])
	}
	return ids
}

func TestRunDryRunAndShards(t *testing.T) {
	spec, res := writeSpec(t, cmdSpec), t.TempDir()
	out, err := execCLI(t, "run", spec, "--dry-run", "--results", res)
	if err != nil {
		t.Fatal(err)
	}
	all := dryRunIDs(t, out)
	if len(all) != 4 || !strings.Contains(out, "4 runs: 0 done, 4 to run") || !strings.Contains(out, "sst2  cmdtest-fake  seed=1") {
		t.Fatalf("dry run:\n%s", out)
	}
	var union []string
	for _, shard := range []string{"0/2", "1/2"} {
		out, err := execCLI(t, "run", spec, "--dry-run", "--results", res, "--shard", shard)
		if err != nil {
			t.Fatal(err)
		}
		ids := dryRunIDs(t, out)
		if len(ids) != 2 || !strings.Contains(out, "in shard "+shard+" (of 4 in the spec)") {
			t.Errorf("shard %s:\n%s", shard, out)
		}
		union = append(union, ids...)
	}
	if !reflect.DeepEqual(slices.Sorted(slices.Values(union)), slices.Sorted(slices.Values(all))) {
		t.Errorf("shards %v do not partition %v", union, all)
	}
	if _, err := execCLI(t, "run", spec, "--dry-run", "--shard", "2/2"); err == nil {
		t.Error("shard 2/2 accepted")
	}
	// --only selects by setting, keeps ids, and composes with --shard; a key no run has is refused.
	out, err = execCLI(t, "run", spec, "--dry-run", "--results", res, "--only", "task=qqp", "--only", "sigma=0.5|1")
	if err != nil {
		t.Fatal(err)
	}
	if ids := dryRunIDs(t, out); len(ids) != 2 || !slices.Contains(all, ids[0]) || !slices.Contains(all, ids[1]) ||
		strings.Contains(out, "sst2") || !strings.Contains(out, "2 runs selected by --only task=qqp sigma=0.5|1 (of 4 in the spec)") {
		t.Errorf("--only:\n%s", out)
	}
	out, err = execCLI(t, "run", spec, "--dry-run", "--results", res, "--only", "sigma=1", "--shard", "1/2")
	if ids := dryRunIDs(t, out); err != nil || len(ids) != 1 || !strings.Contains(out, "selected by --only sigma=1 in shard 1/2 (of 4 in the spec)") {
		t.Errorf("--only with --shard: %v\n%s", err, out)
	}
	if _, err := execCLI(t, "run", spec, "--dry-run", "--only", "sigam=1"); err == nil || !strings.Contains(err.Error(), `no run has the key "sigam"`) {
		t.Errorf("--only with an unknown key: %v", err)
	}
	if _, err := execCLI(t, "run", "no-such-spec", "--dry-run"); err == nil || !strings.Contains(err.Error(), "base, collapse, crypto, cyphertalk, dp, dpsgd, paper, privacy, quick, recovery, smoke") {
		t.Errorf("unknown spec: %v", err)
	}
}

func TestRunWritesSkipsAndShards(t *testing.T) {
	d := dataDir(t)
	spec := writeSpec(t, cmdSpec)
	whole, sharded := t.TempDir(), t.TempDir()
	out, err := execCLI(t, "--data", d, "run", spec, "--results", whole)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "cmdtest: 4 runs: 4 finished now, 0 already done, 0 failed, 0 not run") {
		t.Errorf("first run:\n%s", out)
	}
	out, err = execCLI(t, "--data", d, "run", spec, "--results", whole)
	if err != nil || !strings.Contains(out, "0 finished now, 4 already done") {
		t.Errorf("re-run: %v\n%s", err, out)
	}
	out, _ = execCLI(t, "run", spec, "--dry-run", "--results", whole)
	if !strings.Contains(out, "4 runs: 4 done, 0 to run") {
		t.Errorf("dry run after the run:\n%s", out)
	}
	for _, shard := range []string{"1/2", "0/2"} {
		if out, err := execCLI(t, "--data", d, "run", spec, "--results", sharded, "--shard", shard); err != nil {
			t.Fatalf("shard %s: %v\n%s", shard, err, out)
		}
	}
	a, _ := results.RunIDs(filepath.Join(whole, "cmdtest"))
	b, _ := results.RunIDs(filepath.Join(sharded, "cmdtest"))
	if len(a) != 4 || !reflect.DeepEqual(a, b) {
		t.Errorf("unsharded %v, sharded %v", a, b)
	}
	recs, err := results.ReadExperiment(filepath.Join(whole, "cmdtest"))
	if err != nil || len(recs) != 4 || recs[0].GoVersion == "" || recs[0].Host == "" || recs[0].Backend == "" {
		t.Errorf("records %+v, %v", recs, err)
	}
}

func TestRunReportsFailures(t *testing.T) {
	d := dataDir(t)
	spec := writeSpec(t, cmdSpec+"[[method]]\nname = \"cmdtest-fake\"\nfail = true\n")
	res := t.TempDir()
	out, err := execCLI(t, "--data", d, "run", spec, "--results", res)
	if err == nil || !strings.Contains(err.Error(), "simulated failure") || !strings.Contains(out, "4 finished now, 0 already done, 2 failed") {
		t.Errorf("error %v\n%s", err, out)
	}
}
