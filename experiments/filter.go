package experiments

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Filter selects runs of a spec by their fields, for `cyphertalk run --only`: a researcher who cannot run a
// whole sweep at once runs the most informative part first (one seed of every setting, one task) and the rest
// later, with the same run ids. Conditions on different keys must all hold; the values given for one key are
// alternatives.
type Filter struct {
	conds []filterCond
}

type filterCond struct {
	expr   string
	key    string
	values []string
}

// ParseFilter parses conditions such as "seed=1", "task=sst2", "epsilon=1|8" or "ops=gaussian:sigma=1" (the
// first '=' separates the key; '|' separates alternatives). Keys are a run's fields as `--dry-run` prints them
// (task, method, label, seed, preset, pretrain, max_train, max_eval, epochs, lr or learning_rate, id) or any
// method parameter.
func ParseFilter(exprs []string) (Filter, error) {
	var f Filter
	for _, e := range exprs {
		key, vals, ok := strings.Cut(e, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || vals == "" {
			return Filter{}, fmt.Errorf("--only %q: want KEY=VALUE[|VALUE...], e.g. seed=1 or task=sst2", e)
		}
		c := filterCond{expr: e, key: key}
		for _, v := range strings.Split(vals, "|") {
			c.values = append(c.values, strings.TrimSpace(v))
		}
		f.conds = append(f.conds, c)
	}
	return f, nil
}

// Empty reports whether the filter has no conditions (it keeps every run).
func (f Filter) Empty() bool { return len(f.conds) == 0 }

// Apply returns the runs every condition holds for, in their order. A key no run has, or a condition no run
// meets, is an error naming the keys and values the runs do have, so a typo does not silently select nothing.
func (f Filter) Apply(runs []Run) ([]Run, error) {
	if f.Empty() {
		return runs, nil
	}
	fields := make([]map[string]string, len(runs))
	seen := map[string]map[string]bool{}
	for i, r := range runs {
		fields[i] = r.Fields()
		for k, v := range fields[i] {
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			seen[k][v] = true
		}
	}
	for _, c := range f.conds {
		vals, ok := seen[c.key]
		if !ok {
			return nil, fmt.Errorf("--only %q: no run has the key %q (keys: %s)", c.expr, c.key,
				strings.Join(slices.Sorted(maps.Keys(seen)), ", "))
		}
		if !anyMatches(vals, c.values) {
			return nil, fmt.Errorf("--only %q: no run has %s = %s (values: %s)", c.expr, c.key,
				strings.Join(c.values, " or "), strings.Join(slices.Sorted(maps.Keys(vals)), ", "))
		}
	}
	var out []Run
	for i, r := range runs {
		if f.matches(fields[i]) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--only %s: no run meets every condition", f)
	}
	return out, nil
}

func (f Filter) matches(fields map[string]string) bool {
	for _, c := range f.conds {
		have, ok := fields[c.key]
		if !ok || !slices.ContainsFunc(c.values, func(want string) bool { return valueMatches(have, want) }) {
			return false
		}
	}
	return true
}

// anyMatches reports whether one of the values seen matches one of the values wanted.
func anyMatches(seen map[string]bool, wanted []string) bool {
	for have := range seen {
		for _, want := range wanted {
			if valueMatches(have, want) {
				return true
			}
		}
	}
	return false
}

// String is the conditions as given, space-separated.
func (f Filter) String() string {
	parts := make([]string, len(f.conds))
	for i, c := range f.conds {
		parts[i] = c.expr
	}
	return strings.Join(parts, " ")
}

// valueMatches compares a run's field with a wanted value: numerically when both are numbers (so "epsilon=1"
// matches 1.0 and "lr=2e-3" matches 0.002), else as text.
func valueMatches(have, want string) bool {
	if have == want {
		return true
	}
	h, errH := strconv.ParseFloat(have, 64)
	w, errW := strconv.ParseFloat(want, 64)
	return errH == nil && errW == nil && h == w
}

// Fields are the run's settings by the names `--dry-run` prints, method parameters included, as text.
func (r Run) Fields() map[string]string {
	m := map[string]string{
		"id": r.ID, "task": r.Task, "method": r.Method, "seed": strconv.FormatUint(r.Seed, 10),
		"preset": r.Preset, "pretrain": r.Pretrain, "max_train": strconv.Itoa(r.MaxTrain),
		"max_eval": strconv.Itoa(r.MaxEval), "epochs": strconv.Itoa(r.Epochs),
		"lr": strconv.FormatFloat(r.LearningRate, 'g', -1, 64),
	}
	m["learning_rate"] = m["lr"]
	if r.Label != "" {
		m["label"] = r.Label
	}
	for k, v := range r.Params {
		if _, clash := m[k]; !clash {
			m[k] = formatParamPlain(v)
		}
	}
	return m
}

// formatParamPlain is formatParam without quoting, for comparison with what a user types.
func formatParamPlain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return formatParam(v)
}
