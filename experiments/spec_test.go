package experiments

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// base is a valid spec; tests append to it or replace lines in it.
const base = `experiment = "t"
[data]
tasks = ["sst2"]
max_train = 10
max_eval = 5
[model]
preset = "nano"
pretrain = "none"
[training]
epochs = 1
learning_rate = 0.001
seeds = [1]
[[method]]
name = "fake"
sigma = 0.5
`

func parseString(t *testing.T, text string) (*Spec, error) {
	t.Helper()
	return Parse([]byte(text), "test.toml")
}

func TestStrictDecodingErrors(t *testing.T) {
	cases := []struct {
		name string
		spec string
		want []string // substrings of the error
	}{
		{"unknown top-level key", strings.Replace(base, `experiment = "t"`, "experiment = \"t\"\nexperimnet = \"u\"", 1),
			[]string{"test.toml", "line 2", `unknown key "experimnet"`, "valid at the top level: data, description, experiment"}},
		{"unknown key in a section", strings.Replace(base, "max_eval = 5", "max_eval = 5\nmax_trian = 3", 1),
			[]string{"line 6", `unknown key "data.max_trian"`, "valid in [data]: max_eval, max_train, tasks"}},
		{"unknown table reported once", base + "[modle]\npreset = \"tiny\"\n",
			[]string{"line 16", `unknown key "modle"`}},
		{"unknown sweep key", base + "[sweep]\nseeds = [[1], [2]]\n",
			[]string{"line 17", `unknown key "sweep.seeds"`, "valid in [sweep]: epochs, learning_rate"}},
		{"wrong type", strings.Replace(base, "epochs = 1", `epochs = "one"`, 1),
			[]string{"line 10", "training.epochs", "string"}},
		{"wrong type per task", strings.Replace(base, "max_train = 10", `max_train = "all"`, 1),
			[]string{"line 4", "data.max_train", "want an integer or a table of integers per task"}},
		{"per-task table misses a task", strings.Replace(strings.Replace(base, `tasks = ["sst2"]`, `tasks = ["sst2", "qqp"]`, 1),
			"max_train = 10", "max_train = {sst2 = 10}", 1),
			[]string{"line 4", "data.max_train", "no entry for task qqp"}},
		{"empty top-level sweep", strings.Replace(base, "learning_rate = 0.001\n", "", 1) + "[sweep]\nlearning_rate = []\n",
			[]string{"line 16", "sweep.learning_rate is empty"}},
		{"empty method sweep", base + "[method.sweep]\nsigma_list = []\n",
			[]string{`method block 1 ("fake", line 13)`, "sweep.sigma_list is empty"}},
		{"unknown method parameter", base + "[[method]]\nname = \"fake\"\nsigmaa = 2\n",
			[]string{`method block 2 ("fake", line 16)`, `unknown parameter "sigmaa"`, "valid: epsilon, layers, sigma, steps, table"}},
		{"bad swept parameter value", base + "[[method]]\nname = \"fake\"\n[method.sweep]\nsigma = [1.0, -1.0]\n",
			[]string{`method block 2 ("fake", line 16)`, "sigma = -1 must be >= 0"}},
		{"wrong parameter type", strings.Replace(base, "sigma = 0.5", `sigma = "half"`, 1),
			[]string{`method block 1 ("fake", line 13)`, `parameter "sigma"`}},
		{"unknown method", base + "[[method]]\nname = \"fast\"\n",
			[]string{`method block 2 ("fast", line 16)`, `unknown method "fast"`, "fake"}},
		{"set and swept", base + "[sweep]\nepochs = [1, 2]\n",
			[]string{"line 10: epochs is set in [training] and swept in [sweep] (line 17)"}},
		{"method key set and swept", base + "[method.sweep]\nsigma = [1.0]\n",
			[]string{"method block 1", "sigma is set and swept"}},
		{"unknown task", strings.Replace(base, `"sst2"`, `"sst3"`, 1), []string{"line 3", "data.tasks", "sst3"}},
		{"unknown preset", strings.Replace(base, `preset = "nano"`, `preset = "huge"`, 1), []string{"line 7", "model.preset", "tiny"}},
		{"bad pretrain", strings.Replace(base, `pretrain = "none"`, `pretrain = "yes"`, 1), []string{"model.pretrain", `"default" or "none"`}},
		{"no seeds", strings.Replace(base, "seeds = [1]", "seeds = []", 1), []string{"training.seeds", "at least one seed"}},
		{"missing experiment", strings.Replace(base, `experiment = "t"`, ``, 1), []string{"experiment is required"}},
		{"experiment with a slash", strings.Replace(base, `experiment = "t"`, `experiment = "../t"`, 1), []string{"line 1", "names a directory"}},
		{"no method", base[:strings.Index(base, "[[method]]")], []string{"no [[method]] block"}},
		{"missing env var", base + "[paths]\nresults = \"$CYPHERTALK_TEST_UNSET_VAR/r\"\n",
			[]string{"line 17", "paths.results", "CYPHERTALK_TEST_UNSET_VAR is not set"}},
		{"duplicate runs", base + "[[method]]\nname = \"fake\"\nlabel = \"again\"\nsigma = 0.5\n",
			[]string{"method block 1", "method block 2", "same run"}},
		{"block task not in data.tasks", base + "[[method]]\nname = \"fake\"\nsigma = 1.0\ntasks = [\"qqp\"]\n",
			[]string{`method block 2 ("fake", line 16)`, "tasks: task qqp is not in data.tasks (sst2)"}},
		{"block tasks not a list", base + "[[method]]\nname = \"fake\"\nsigma = 1.0\ntasks = \"sst2\"\n",
			[]string{`method block 2 ("fake", line 16)`, "tasks: want a non-empty list of task names, got a string"}},
		{"block tasks swept", base + "[[method]]\nname = \"fake\"\nsigma = 1.0\n[method.sweep]\ntasks = [[\"sst2\"]]\n",
			[]string{"tasks cannot be swept"}},
		{"syntax error", base + "[[method]\n", []string{"test.toml", "expected end of table array name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseString(t, c.spec)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.spec)
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestGridExpansion(t *testing.T) {
	spec := `experiment = "grid"
[data]
tasks = ["sst2", "qqp"]
max_eval = {sst2 = 0, qqp = 100}
[model]
preset = "nano"
[training]
epochs = 1
seeds = [1, 2]
[sweep]
learning_rate = [1e-3, 2e-3]
max_train = [10, {sst2 = 20, qqp = 30}]
[[method]]
name = "fake"
label = "grid"
steps = 3
[method.sweep]
table = ["b", "a"]
sigma = [0.5, 1, 2]
[[method]]
name = "fake"
layers = [1, 2]
`
	s, err := parseString(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	// 2 tasks × (2 learning rates × 2 max_train) × (3·2 + 1 method points) × 2 seeds.
	if want := 2 * 4 * 7 * 2; len(s.Runs) != want {
		t.Fatalf("%d runs, want %d", len(s.Runs), want)
	}
	ids := map[string]bool{}
	for _, r := range s.Runs {
		if ids[r.ID] {
			t.Fatalf("duplicate id %s", r.ID)
		}
		ids[r.ID] = true
	}
	first := s.Runs[0]
	if first.Task != "sst2" || first.LearningRate != 1e-3 || first.MaxTrain != 10 || first.MaxEval != 0 ||
		first.Pretrain != PretrainDefault || first.Label != "grid" || first.Block != 1 || first.BlockLine != 13 {
		t.Errorf("first run %+v", first)
	}
	// Declared order, last axis fastest: table (b, a) outer, sigma inner, seeds innermost.
	var got []string
	for _, r := range s.Runs[:12] {
		got = append(got, formatParam(r.Params["table"])+"/"+formatParam(r.Params["sigma"])+"/"+formatParam(r.Seed))
	}
	want := []string{"b/0.5/1", "b/0.5/2", "b/1/1", "b/1/2", "b/2/1", "b/2/2", "a/0.5/1", "a/0.5/2", "a/1/1", "a/1/2", "a/2/1", "a/2/2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grid order %v, want %v", got, want)
	}
	if p := s.Runs[12].Params; !reflect.DeepEqual(p, map[string]any{"layers": []any{int64(1), int64(2)}}) || s.Runs[12].Block != 2 {
		t.Errorf("second block's run: %+v", s.Runs[12])
	}
	// The top-level sweep: learning_rate outer, max_train inner; the per-task table resolves per task.
	var qqp []int
	for _, r := range s.Runs {
		if r.Task == "qqp" && r.Block == 2 && r.Seed == 1 {
			qqp = append(qqp, r.MaxTrain, r.MaxEval)
		}
	}
	if !reflect.DeepEqual(qqp, []int{10, 100, 30, 100, 10, 100, 30, 100}) {
		t.Errorf("qqp max_train/max_eval per point %v", qqp)
	}
	if !strings.Contains(first.String(), first.ID+"  sst2  fake \"grid\"  seed=1 preset=nano pretrain=default max_train=10 max_eval=0 epochs=1 lr=0.001 sigma=0.5 steps=3 table=b") {
		t.Errorf("dry-run line %q", first.String())
	}
}

func TestBlockTasksRestrictABlock(t *testing.T) {
	spec := `experiment = "tasks"
[data]
tasks = ["sst2", "qqp"]
max_train = 10
max_eval = 5
[model]
preset = "nano"
[training]
epochs = 1
learning_rate = 1e-3
seeds = [1, 2]
[[method]]
name = "fake"
[[method]]
name = "fake"
sigma = 2.0
tasks = ["SST2"]
`
	s, err := parseString(t, spec)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range s.Runs {
		count[fmt.Sprintf("%s/%d", r.Task, r.Block)]++
	}
	if want := map[string]int{"sst2/1": 2, "sst2/2": 2, "qqp/1": 2}; !reflect.DeepEqual(count, want) {
		t.Errorf("runs per task/block %v, want %v", count, want)
	}
	// The tasks key does not enter the run id: the same block without it gives the same sst2 ids.
	unrestricted, err := parseString(t, strings.Replace(spec, "tasks = [\"SST2\"]\n", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range unrestricted.Runs {
		ids[r.ID] = true
	}
	for _, r := range s.Runs {
		if !ids[r.ID] {
			t.Errorf("run %s of the restricted spec is not among the unrestricted spec's runs", r)
		}
	}
}

func TestRunIDsAreStableAndIgnoreNames(t *testing.T) {
	a, err := parseString(t, base)
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(strings.Replace(base, `experiment = "t"`, `experiment = "other"`, 1), `name = "fake"`, "name = \"fake\"\nlabel = \"x\"", 1)
	b, err := parseString(t, renamed)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := parseString(t, strings.Replace(base, "sigma = 0.5", "sigma = 0.25", 1))
	if err != nil {
		t.Fatal(err)
	}
	if a.Runs[0].ID != b.Runs[0].ID || len(a.Runs[0].ID) != 16 {
		t.Errorf("ids %q and %q differ by experiment name or label", a.Runs[0].ID, b.Runs[0].ID)
	}
	if a.Runs[0].ID == changed.Runs[0].ID {
		t.Error("a different parameter gave the same id")
	}
	again, _ := parseString(t, base)
	if again.Runs[0].ID != a.Runs[0].ID {
		t.Error("ids differ between two parses")
	}
}

func TestPathsExpandEnvironment(t *testing.T) {
	t.Setenv("CYPHERTALK_TEST_SCRATCH", "/scratch/me")
	s, err := parseString(t, base+"[paths]\nresults = \"$CYPHERTALK_TEST_SCRATCH/results\"\ncache = \"${CYPHERTALK_TEST_SCRATCH}/cache\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if s.Paths != (Paths{Results: "/scratch/me/results", Cache: "/scratch/me/cache"}) {
		t.Errorf("paths %+v", s.Paths)
	}
}

func TestShippedSpecs(t *testing.T) {
	if got := EmbeddedNames(); !reflect.DeepEqual(got, []string{"base", "collapse", "crypto", "cyphertalk", "dp", "dpsgd", "paper", "privacy", "quick", "recovery", "smoke"}) {
		t.Fatalf("embedded specs %v", got)
	}
	// The DP and privacy specs name baselines this package's tests do not register; cmd/cyphertalk's
	// TestEmbeddedSpecsValidate checks every shipped spec against the real methods.
	counts := map[string]int{}
	for _, name := range []string{"paper", "quick", "smoke"} {
		s, err := Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		counts[name] = len(s.Runs)
		methods, tasks := map[string]bool{}, map[string]bool{}
		for _, r := range s.Runs {
			methods[r.Method], tasks[r.Task] = true, true
		}
		if !methods["plaintext"] || !methods["cyphertalk"] || !tasks["sst2"] || !tasks["qqp"] {
			t.Errorf("%s: methods %v, tasks %v", name, methods, tasks)
		}
		if s.Source != EmbeddedSource+name+".toml" || s.Experiment != name {
			t.Errorf("%s: source %q experiment %q", name, s.Source, s.Experiment)
		}
	}
	// smoke and quick: 2 tasks × (2 plaintext + 1 or 6 cyphertalk + 3 DP + 2 crypto baselines); paper: 2 tasks ×
	// (2 + 5 operator settings + 1 + 3 DP baselines) + the 2 crypto baselines on SST-2 only.
	if want := map[string]int{"smoke": 16, "quick": 26, "paper": 52}; !reflect.DeepEqual(counts, want) {
		t.Errorf("run counts %v, want %v", counts, want)
	}
	smoke, _ := Load("smoke.toml")
	if r := smoke.Runs[0]; r.Preset != "nano" || r.Pretrain != PretrainNone {
		t.Errorf("smoke runs on %s/%s", r.Preset, r.Pretrain)
	}
	def, err := Load("")
	if err != nil || def.Experiment != DefaultSpec {
		t.Errorf("default spec: %v, %v", def, err)
	}
	if _, err := Load("nope"); err == nil || !strings.Contains(err.Error(), "base, collapse, crypto, cyphertalk, dp, dpsgd, paper, privacy, quick, recovery, smoke") {
		t.Errorf("unknown spec name: %v", err)
	}
	// A file wins over an embedded name.
	dir := t.TempDir()
	path := filepath.Join(dir, "smoke")
	if err := os.WriteFile(path, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Load(path); err != nil || s.Experiment != "t" || s.Source != path {
		t.Errorf("file spec: %v, %v", s, err)
	}
	// A bare embedded name is the embedded spec even beside a file of that name (the binary built at the
	// repository root is called cyphertalk, like the spec); ./NAME and NAME.toml still read the file.
	t.Chdir(dir)
	if err := os.WriteFile("smoke.toml", []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := Load("smoke"); err != nil || s.Source != EmbeddedSource+"smoke.toml" {
		t.Errorf("bare name beside a file: %v, %v", s, err)
	}
	for _, local := range []string{"./smoke", "smoke.toml"} {
		if s, err := Load(local); err != nil || s.Experiment != "t" || s.Source != local {
			t.Errorf("%s: %v, %v", local, s, err)
		}
	}
}

func TestParseShard(t *testing.T) {
	if i, n, err := ParseShard("1/4"); err != nil || i != 1 || n != 4 {
		t.Errorf("1/4 → %d/%d %v", i, n, err)
	}
	for _, bad := range []string{"4/4", "-1/2", "1", "a/b", "0/0"} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
