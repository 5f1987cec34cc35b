// Command resultsdiff compares two results directories of one experiment (results/<experiment>, as written by
// `cyphertalk run`) run by run, for scripts/test-slurm.sh: a sharded run must leave the same runs with the same
// results as a serial one. Usage:
//
//	go run ./scripts/resultsdiff [-tol REL] DIR_A DIR_B
//
// Both must hold the same run ids, and each run the same configuration, metrics, ε/δ, key fingerprint, example
// counts, method tags and non-timing extras, training curve, attack results and, per cost phase, the same bytes,
// rounds and units. What may differ between two executions of the same run is left out: provenance (backend, Go
// version, commit, host), start time and duration, the seconds and free-text notes of every cost phase, and the
// extras and tags that are timings (see timingKey); the crypto baselines' error against their reference engine
// must only stay within its tolerance (see noiseKey). Numbers compare exactly unless -tol gives a relative tolerance. Exit status 0 when
// the directories agree, 1 with one line per difference when they do not, 2 on a usage or read error.
package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("resultsdiff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tol := fs.Float64("tol", 0, "relative tolerance for numbers (0 = exact)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 || *tol < 0 {
		fmt.Fprintln(stderr, "usage: resultsdiff [-tol REL] DIR_A DIR_B (two results/<experiment> directories)")
		return 2
	}
	a, b := fs.Arg(0), fs.Arg(1)
	ra, err := readAll(a)
	if err != nil {
		fmt.Fprintf(stderr, "resultsdiff: %v\n", err)
		return 2
	}
	rb, err := readAll(b)
	if err != nil {
		fmt.Fprintf(stderr, "resultsdiff: %v\n", err)
		return 2
	}
	diffs := compare(ra, rb, *tol)
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
	}
	if len(diffs) > 0 {
		fmt.Fprintf(stdout, "%s and %s differ: %d differences\n", a, b, len(diffs))
		return 1
	}
	fmt.Fprintf(stdout, "%s and %s agree: %d runs\n", a, b, len(ra))
	return 0
}

// readAll reads every run of the experiment directory dir; a run file that cannot be read is an error.
func readAll(dir string) ([]results.Record, error) {
	ids, err := results.RunIDs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	recs, err := results.ReadExperiment(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if len(recs) != len(ids) {
		return nil, fmt.Errorf("%s: %d of its %d run files could not be read", dir, len(ids)-len(recs), len(ids))
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no runs", dir)
	}
	return recs, nil
}

// timingPattern matches the names of extras and tags that measure time rather than results.
var timingPattern = regexp.MustCompile(`(^|_)(ms|us|ns|sec|secs|seconds|time|times|wall|elapsed|duration)($|_)|_s$`)

// timingKey reports whether an extra or tag named k is a timing, e.g. "time_private_tuning_s", "cloud_ms",
// "inference_seconds_per_example_lan", "elapsed" (not "s_e").
func timingKey(k string) bool { return timingPattern.MatchString(strings.ToLower(k)) }

// noiseKey reports whether an extra named k is a private computation's error against its reference engine
// ("logits_max_abs_diff"): CKKS encryption and secret sharing draw fresh randomness, so it differs between two
// executions of the same run. Such extras must be present in both and within the run's "logit_tolerance".
func noiseKey(k string) bool { return strings.HasSuffix(k, "max_abs_diff") }

// compare lists the differences between two sets of records, by run id.
func compare(a, b []results.Record, tol float64) []string {
	byID := func(rs []results.Record) map[string]results.Record {
		m := map[string]results.Record{}
		for _, r := range rs {
			m[r.RunID] = r
		}
		return m
	}
	ma, mb := byID(a), byID(b)
	var out []string
	for _, id := range slices.Sorted(maps.Keys(ma)) {
		if _, ok := mb[id]; !ok {
			out = append(out, fmt.Sprintf("run %s: only in the first directory", id))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(mb)) {
		ra, ok := ma[id]
		if !ok {
			out = append(out, fmt.Sprintf("run %s: only in the second directory", id))
			continue
		}
		for _, d := range compareRecord(ra, mb[id], tol) {
			out = append(out, fmt.Sprintf("run %s (%s %s): %s", id, ra.Method, ra.Task, d))
		}
	}
	return out
}

func compareRecord(a, b results.Record, tol float64) []string {
	var out []string
	diff := func(field string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("%s: %v != %v", field, x, y))
		}
	}
	num := func(field string, x, y float64) {
		if !numEqual(x, y, tol) {
			out = append(out, fmt.Sprintf("%s: %v != %v", field, x, y))
		}
	}
	diff("experiment", a.Experiment, b.Experiment)
	diff("task", a.Task, b.Task)
	diff("method", a.Method, b.Method)
	diff("label", a.Label, b.Label)
	diff("seed", a.Seed, b.Seed)
	diff("preset", a.Preset, b.Preset)
	diff("pretrain", a.Pretrain, b.Pretrain)
	diff("max_train", a.MaxTrain, b.MaxTrain)
	diff("max_eval", a.MaxEval, b.MaxEval)
	diff("epochs", a.Epochs, b.Epochs)
	num("learning_rate", a.LearningRate, b.LearningRate)
	diff("params", a.Params, b.Params)
	diff("key_fingerprint", a.KeyFingerprint, b.KeyFingerprint)
	diff("train_examples", a.TrainExamples, b.TrainExamples)
	diff("eval_examples", a.EvalExamples, b.EvalExamples)
	num("epsilon", a.Epsilon, b.Epsilon)
	num("delta", a.Delta, b.Delta)
	numMap := func(what string, x, y map[string]float64, skip func(string) bool) {
		for _, k := range slices.Sorted(maps.Keys(union(x, y))) {
			if skip(k) {
				continue
			}
			vx, okx := x[k]
			vy, oky := y[k]
			if okx != oky {
				out = append(out, fmt.Sprintf("%s %s: present in only one", what, k))
			} else {
				num(what+" "+k, vx, vy)
			}
		}
	}
	never := func(string) bool { return false }
	numMap("metric", a.Metrics, b.Metrics, never)
	numMap("extra", a.Extra, b.Extra, func(k string) bool { return timingKey(k) || noiseKey(k) })
	for _, k := range slices.Sorted(maps.Keys(union(a.Extra, b.Extra))) {
		if !noiseKey(k) {
			continue
		}
		x, okx := a.Extra[k]
		y, oky := b.Extra[k]
		lim, limited := a.Extra["logit_tolerance"]
		switch {
		case okx != oky:
			out = append(out, fmt.Sprintf("extra %s: present in only one", k))
		case math.IsNaN(x) != math.IsNaN(y):
			out = append(out, fmt.Sprintf("extra %s: %v != %v", k, x, y))
		case limited && (x > lim || y > lim):
			out = append(out, fmt.Sprintf("extra %s: %v, %v above the tolerance %v", k, x, y, lim))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(union(a.Tags, b.Tags))) {
		if !timingKey(k) {
			diff("tag "+k, a.Tags[k], b.Tags[k])
		}
	}
	if len(a.Curve) != len(b.Curve) {
		out = append(out, fmt.Sprintf("curve: %d points != %d", len(a.Curve), len(b.Curve)))
	} else {
		for i, p := range a.Curve {
			q := b.Curve[i]
			if p.Phase != q.Phase || p.Step != q.Step || !numEqual(p.Loss, q.Loss, tol) {
				out = append(out, fmt.Sprintf("curve point %d: %+v != %+v", i, p, q))
			}
		}
	}
	if len(a.Attacks) != len(b.Attacks) {
		out = append(out, fmt.Sprintf("attacks: %d results != %d", len(a.Attacks), len(b.Attacks)))
	} else {
		for i, p := range a.Attacks {
			q := b.Attacks[i]
			if p.Attack != q.Attack || p.Tokens != q.Tokens || !numEqual(p.Top1, q.Top1, tol) || !numEqual(p.Top5, q.Top5, tol) ||
				!numEqual(p.ContentTop1, q.ContentTop1, tol) || !numEqual(p.ContentTop5, q.ContentTop5, tol) {
				out = append(out, fmt.Sprintf("attack %d: %+v != %+v", i, p, q))
			}
		}
	}
	ca, cb := untimed(a.Costs), untimed(b.Costs)
	if !reflect.DeepEqual(ca, cb) {
		out = append(out, fmt.Sprintf("costs (bytes, rounds, units): %+v != %+v", ca, cb))
	}
	return out
}

// untimed is the costs without their seconds and their notes (free text that quotes timings).
func untimed(costs []method.Cost) []method.Cost {
	out := make([]method.Cost, len(costs))
	for i, c := range costs {
		c.ClientSeconds, c.CloudSeconds, c.DealerSeconds, c.Note = 0, 0, 0, ""
		out[i] = c
	}
	return out
}

func union[V any](x, y map[string]V) map[string]bool {
	u := map[string]bool{}
	for k := range x {
		u[k] = true
	}
	for k := range y {
		u[k] = true
	}
	return u
}

// numEqual compares within a relative tolerance; NaN equals NaN.
func numEqual(x, y, tol float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	if x == y {
		return true
	}
	return math.Abs(x-y) <= tol*math.Max(math.Abs(x), math.Abs(y))
}
