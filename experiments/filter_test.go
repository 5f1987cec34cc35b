package experiments

import (
	"strings"
	"testing"
)

// A sweep of the fake method over two tasks, two sigmas, two learning rates and two seeds: 16 runs.
const filterSpec = `experiment = "f"
[data]
tasks = ["sst2", "qqp"]
max_train = 10
max_eval = 5
[model]
preset = "nano"
pretrain = "none"
[training]
epochs = 1
seeds = [1, 2]
[sweep]
learning_rate = [1e-3, 2e-3]
[[method]]
name = "fake"
label = "Fake"
table = "a:b=1"
[method.sweep]
sigma = [0.5, 1.0]
`

func TestFilterSelectsRunsKeepingTheirIDs(t *testing.T) {
	spec, err := parseString(t, filterSpec)
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Runs) != 16 {
		t.Fatalf("%d runs, want 16", len(spec.Runs))
	}
	cases := []struct {
		only []string
		want int
	}{
		{nil, 16},
		{[]string{"seed=1"}, 8},
		{[]string{"seed=1", "task=qqp"}, 4},
		{[]string{"sigma=1"}, 8},               // 1 matches the float 1.0
		{[]string{"sigma=0.5|1", "seed=2"}, 8}, // alternatives
		{[]string{"lr=2e-3"}, 8},               // 2e-3 matches 0.002
		{[]string{"learning_rate=0.001", "sigma=0.5", "seed=1", "task=sst2"}, 1},
		{[]string{"table=a:b=1"}, 16}, // only the first '=' splits
		{[]string{"label=Fake", "method=fake"}, 16},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.only)
		if err != nil {
			t.Fatalf("%v: %v", c.only, err)
		}
		got, err := f.Apply(spec.Runs)
		if err != nil {
			t.Fatalf("%v: %v", c.only, err)
		}
		if len(got) != c.want {
			t.Errorf("%v: %d runs, want %d", c.only, len(got), c.want)
		}
		// The selection keeps spec order and the runs themselves (ids unchanged).
		next := 0
		for _, r := range got {
			for next < len(spec.Runs) && spec.Runs[next].ID != r.ID {
				next++
			}
			if next == len(spec.Runs) {
				t.Errorf("%v: run %s out of order or not in the spec", c.only, r.ID)
				break
			}
		}
	}
	one, _ := ParseFilter([]string{"seed=1"})
	got, _ := one.Apply(spec.Runs)
	for _, r := range got {
		if r.Seed != 1 {
			t.Errorf("seed=1 kept %s", r)
		}
	}
}

func TestFilterErrorsNameWhatExists(t *testing.T) {
	spec, err := parseString(t, filterSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"seed", "=1", "seed="} {
		if _, err := ParseFilter([]string{bad}); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	cases := []struct {
		only []string
		want []string
	}{
		{[]string{"sed=1"}, []string{`no run has the key "sed"`, "seed", "sigma", "task"}},
		{[]string{"seed=3"}, []string{"no run has seed = 3", "values: 1, 2"}},
		{[]string{"sigma=0.5", "sigma=1"}, []string{"no run meets every condition"}},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.only)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Apply(spec.Runs)
		if err == nil {
			t.Errorf("%v selected runs", c.only)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q lacks %q", c.only, err, w)
			}
		}
	}
}
