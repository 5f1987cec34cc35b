package reports

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/attacks"
	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// Phase groups, one time figure each (method.Group).
const (
	groupPreprocessing    = "preprocessing"
	groupPrivateTuning    = "private-tuning"
	groupPrivateInference = "private-inference"
)

var phaseGroups = []string{groupPreprocessing, groupPrivateTuning, groupPrivateInference}

// parties in drawing order; partySeconds indexes follow it.
var parties = []string{method.Client, method.Cloud, method.Dealer}

// stat is a mean and sample standard deviation over the n seeds that have a value (sd is 0 when n < 2).
type stat struct {
	Mean, SD float64
	N        int
}

func newStat(xs []float64) stat {
	var vals []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			vals = append(vals, x)
		}
	}
	s := stat{Mean: math.NaN(), N: len(vals)}
	if len(vals) == 0 {
		return s
	}
	var sum float64
	for _, v := range vals {
		sum += v
	}
	s.Mean = sum / float64(len(vals))
	if len(vals) > 1 {
		var ss float64
		for _, v := range vals {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(vals)-1))
	}
	return s
}

func (s stat) ok() bool { return s.N > 0 }

// groupCost is one run's cost in one phase group: seconds by party (already divided by the unit count when
// the figure is normalised), whether any of it was extrapolated, and how many units it covers.
type groupCost struct {
	PartySeconds [3]float64 // client, cloud, dealer
	Extrapolated bool
	Units        int
	UnitName     string
}

func (g groupCost) total() float64 { return g.PartySeconds[0] + g.PartySeconds[1] + g.PartySeconds[2] }

// costsByGroup sums a run's costs per phase group. Units is the largest unit count among the group's costs and
// UnitName is set only when all of the group's costs name the same unit.
func costsByGroup(costs []method.Cost) map[string]groupCost {
	out := map[string]groupCost{}
	unitNames := map[string]map[string]bool{}
	for _, c := range costs {
		g := method.Group(c.Phase)
		gc := out[g]
		gc.PartySeconds[0] += c.ClientSeconds
		gc.PartySeconds[1] += c.CloudSeconds
		gc.PartySeconds[2] += c.DealerSeconds
		gc.Extrapolated = gc.Extrapolated || c.Extrapolated
		gc.Units = max(gc.Units, c.Units)
		if unitNames[g] == nil {
			unitNames[g] = map[string]bool{}
		}
		unitNames[g][strings.ToLower(strings.TrimSpace(c.UnitName))] = true
		out[g] = gc
	}
	for g, names := range unitNames {
		gc := out[g]
		if len(names) == 1 {
			for n := range names {
				gc.UnitName = n
			}
		}
		out[g] = gc
	}
	return out
}

// setting is one compared configuration: a task, a method and its variant, over all seeds run with it.
type setting struct {
	Task   string
	Method string // registry name: decides the role (method.IsReference) and the order (method.CompareDisplay)
	// Name is the method's display name: the spec's label for the method block, else the method's display
	// label (method.DisplayOf), marked when the run used insecure test parameters (see insecureMark).
	Name    string
	Variant string // human label; "" when the method has a single setting
	Records []results.Record
	// Tags of the first record (identical across seeds by construction of the grouping key).
	Tags map[string]string
	// OperatorValue is Extra["operator_value"] (NaN when absent): the x of the opts2 figures.
	OperatorValue float64
	Epsilon       float64 // NaN when the method has none
	// Insecure is set when the runs used parameters below 128-bit security (insecure); Name then says so.
	Insecure  bool
	paramsKey string
}

// Label is "name" or "name variant".
func (s *setting) Label() string {
	if s.Variant == "" {
		return s.Name
	}
	return s.Name + " " + s.Variant
}

// metric returns the mean ± sd over seeds of a dev metric.
func (s *setting) metric(name string) stat {
	xs := make([]float64, 0, len(s.Records))
	for _, r := range s.Records {
		v, ok := r.Metrics[name]
		if !ok {
			v = math.NaN()
		}
		xs = append(xs, v)
	}
	return newStat(xs)
}

// isGuessingBaseline says whether an attack result is one of the guessing baselines (random ids, the most
// frequent public tokens) that look at nothing the client sent: they are reference lines, not attacks.
func isGuessingBaseline(attack string) bool {
	return attack == attacks.NameRandom || attack == attacks.NameFrequencyPrior
}

// strongestAttack returns, per seed, the highest top-1 recovery over all attacks (the guessing baselines
// excluded), and the attack that reached it most often.
func (s *setting) strongestAttack() (stat, string) {
	var xs []float64
	wins := map[string]int{}
	for _, r := range s.Records {
		var best *method.AttackResult
		for i, a := range r.Attacks {
			if !isGuessingBaseline(a.Attack) && (best == nil || a.Top1 > best.Top1) {
				best = &r.Attacks[i]
			}
		}
		if best == nil {
			continue
		}
		xs = append(xs, best.Top1)
		wins[best.Attack]++
	}
	name := ""
	for a, n := range wins {
		if n > wins[name] || (n == wins[name] && a < name) {
			name = a
		}
	}
	return newStat(xs), name
}

// baselineRecovery is the mean over seeds of a guessing baseline's top-1 recovery.
func (s *setting) baselineRecovery(name string) stat {
	var xs []float64
	for _, r := range s.Records {
		for _, a := range r.Attacks {
			if a.Attack == name {
				xs = append(xs, a.Top1)
			}
		}
	}
	return newStat(xs)
}

func (s *setting) hasAttacks() bool {
	for _, r := range s.Records {
		if len(r.Attacks) > 0 {
			return true
		}
	}
	return false
}

// groupSeconds is the mean over seeds of one phase group's cost. perUnit divides every run's seconds by its
// unit count; runs without the group (or, with perUnit, without a unit count) are left out.
type groupSeconds struct {
	Party        [3]stat
	Total        stat
	Extrapolated bool
	Missing      int // runs of the setting without a usable cost for the group
}

func (s *setting) groupSeconds(group string, perUnit bool) groupSeconds {
	var party [3][]float64
	var totals []float64
	var out groupSeconds
	for _, r := range s.Records {
		gc, ok := costsByGroup(r.Costs)[group]
		if !ok || (perUnit && gc.Units <= 0) {
			out.Missing++
			continue
		}
		div := 1.0
		if perUnit {
			div = float64(gc.Units)
		}
		for i := range parties {
			party[i] = append(party[i], gc.PartySeconds[i]/div)
		}
		totals = append(totals, gc.total()/div)
		out.Extrapolated = out.Extrapolated || gc.Extrapolated
	}
	for i := range parties {
		out.Party[i] = newStat(party[i])
	}
	out.Total = newStat(totals)
	return out
}

// displayName is a record's method as reports show it: the spec's label, else the label the method's display
// information gives (method.DisplayOf: the registry name for a method nobody described).
func displayName(r results.Record) string {
	d, _ := method.DisplayOf(r.Method)
	return cmp.Or(r.Label, d.Label)
}

// insecureMark follows the name of a method whose run used parameters below 128-bit security (test-only
// parameter sets, which make crypto costs look smaller than a secure deployment's): every figure and table
// that shows such a run says so.
const insecureMark = " (insecure test parameters)"

// insecureNote explains insecureMark in figure notes and table footnotes.
const insecureNote = "Insecure test parameters: a parameter set below 128-bit security, for tests only; its costs " +
	"understate those of a secure deployment."

// maxLogQP128 is the HomomorphicEncryption.org standard's largest log QP for 128-bit security with a ternary
// secret, by log2 of the ring degree (Albrecht et al., 2018, Table 1).
var maxLogQP128 = map[int]float64{10: 27, 11: 54, 12: 109, 13: 218, 14: 438, 15: 881}

// insecure reports whether a run used parameters below 128-bit security: its "security" tag says
// "insecure…", or, for records without the tag, its recorded lattice parameters (Extra ckks_log_n and
// ckks_log_qp) exceed the standard's bound.
func insecure(r results.Record) bool {
	if sec, ok := r.Tags["security"]; ok {
		return strings.HasPrefix(strings.ToLower(strings.TrimSpace(sec)), "insecure")
	}
	logN, okN := r.Extra["ckks_log_n"]
	logQP, okQP := r.Extra["ckks_log_qp"]
	if !okN || !okQP {
		return false
	}
	bound, known := maxLogQP128[int(math.Round(logN))]
	switch {
	case known:
		return logQP > bound+0.5 // lattigo's log QP of a nominal 438-bit set is just under 438
	case logN < 10:
		return true
	}
	return false
}

// buildSettings groups records by (task, method, label, resolved parameters, run settings that vary within the
// experiment) and names each group from its tags (see variantLabel). Groups are sorted by task, method,
// then variant.
func buildSettings(records []results.Record) []*setting {
	varying := varyingRunSettings(records)
	tags := varyingTags(records)
	byKey := map[string]*setting{}
	var out []*setting
	for _, r := range records {
		pk := paramsKey(r.Params) + "|" + runSettingsKey(r, varying)
		key := r.Task + "|" + r.Method + "|" + r.Label + "|" + pk
		s, ok := byKey[key]
		if !ok {
			s = &setting{Task: r.Task, Method: r.Method, Name: displayName(r), Tags: r.Tags, paramsKey: pk,
				OperatorValue: math.NaN(), Epsilon: math.NaN(), Insecure: insecure(r)}
			if s.Insecure {
				s.Name += insecureMark
			}
			if v, ok := r.Extra["operator_value"]; ok {
				s.OperatorValue = v
			}
			s.Variant = variantLabel(r, tags[displayName(r)], varying)
			byKey[key] = s
			out = append(out, s)
		}
		s.Records = append(s.Records, r)
	}
	for _, s := range out {
		eps := make([]float64, 0, len(s.Records))
		for _, r := range s.Records {
			eps = append(eps, r.Epsilon)
		}
		s.Epsilon = newStat(eps).Mean
		slices.SortFunc(s.Records, func(a, b results.Record) int { return cmp.Compare(a.Seed, b.Seed) })
	}
	disambiguate(out)
	slices.SortStableFunc(out, compareSettings)
	return out
}

// disambiguate appends the parameters that differ to the labels of settings of one task and method whose
// labels collide (tags that do not describe every parameter).
func disambiguate(settings []*setting) {
	byLabel := map[string][]*setting{}
	for _, s := range settings {
		k := s.Task + "|" + s.Label()
		byLabel[k] = append(byLabel[k], s)
	}
	for _, group := range byLabel {
		if len(group) < 2 {
			continue
		}
		keys := map[string]bool{}
		for _, s := range group {
			for k := range s.Records[0].Params {
				keys[k] = true
			}
		}
		var differing []string
		for k := range keys {
			first := paramValue(group[0].Records[0].Params, k)
			for _, s := range group[1:] {
				if paramValue(s.Records[0].Params, k) != first {
					differing = append(differing, k)
					break
				}
			}
		}
		sort.Strings(differing)
		for _, s := range group {
			parts := make([]string, 0, len(differing))
			for _, k := range differing {
				parts = append(parts, k+"="+paramValue(s.Records[0].Params, k))
			}
			extra := strings.Join(parts, ", ")
			if s.Variant == "" {
				s.Variant = extra
			} else {
				s.Variant += ", " + extra
			}
		}
	}
}

func paramValue(params map[string]any, key string) string {
	v, ok := params[key]
	if !ok {
		return "unset"
	}
	return fmt.Sprint(v)
}

func compareSettings(a, b *setting) int {
	if c := compareTasks(a.Task, b.Task); c != 0 {
		return c
	}
	return compareRows(a, b)
}

// compareRows orders settings of one task: by method, then table, operator, recovery, operator value, ε, label.
func compareRows(a, b *setting) int {
	if c := method.CompareDisplay(a.Method, b.Method); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	// The trainable table (plaintext's upper bound) before the frozen one.
	if c := cmp.Compare(orderRank([]string{"trainable", "frozen"}, a.Tags["table"]), orderRank([]string{"trainable", "frozen"}, b.Tags["table"])); c != 0 {
		return c
	}
	for _, tag := range []string{"table", "operator", "recovery"} {
		if c := cmp.Compare(a.Tags[tag], b.Tags[tag]); c != 0 {
			return c
		}
	}
	if c := compareNaNLast(a.OperatorValue, b.OperatorValue); c != 0 {
		return c
	}
	if c := compareNaNLast(a.Epsilon, b.Epsilon); c != 0 {
		return c
	}
	return cmp.Compare(a.Variant, b.Variant)
}

func compareNaNLast(a, b float64) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	case math.IsNaN(b):
		return -1
	}
	return cmp.Compare(a, b)
}

func orderRank(order []string, name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

// variantLabel describes a run's setting for legends and tables: Tags["label"] when the method gives one,
// else its operator (with parameter and value; the "ops" chain for a chain), ε for DP methods, and those of its
// other tags that vary among the settings of its method (varyingTags: a tag every setting shares says nothing
// in a legend), then the run settings that vary within the experiment.
func variantLabel(r results.Record, varyingTags map[string]bool, varyingRun []string) string {
	var parts []string
	if l := r.Tags["label"]; l != "" {
		parts = append(parts, l)
	} else {
		if t := r.Tags["table"]; t != "" && varyingTags["table"] {
			parts = append(parts, t+" table")
		}
		switch op := r.Tags["operator"]; {
		case op == "":
		case !math.IsNaN(operatorValue(r)):
			param := cmp.Or(r.Tags["operator_param"], "value")
			parts = append(parts, op+" "+paramSymbol(param)+"="+formatNumber(operatorValue(r)))
		case r.Tags["ops"] != "":
			parts = append(parts, r.Tags["ops"])
		default:
			parts = append(parts, op)
		}
		if rec := r.Tags["recovery"]; rec != "" && varyingTags["recovery"] {
			parts = append(parts, recoveryLabel(rec))
		}
		if !math.IsNaN(r.Epsilon) && !math.IsInf(r.Epsilon, 0) {
			parts = append(parts, "ε="+formatNumber(r.Epsilon))
		}
		keys := make([]string, 0, len(r.Tags))
		for k := range r.Tags {
			switch k {
			case "table", "operator", "operator_param", "recovery", "ops", "label", "security":
			default:
				if varyingTags[k] {
					keys = append(keys, k)
				}
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, k+"="+r.Tags[k])
		}
	}
	for _, name := range varyingRun {
		parts = append(parts, name+"="+runSetting(r, name))
	}
	return strings.Join(parts, ", ")
}

func operatorValue(r results.Record) float64 {
	if v, ok := r.Extra["operator_value"]; ok {
		return v
	}
	return math.NaN()
}

// varyingTags lists, per method display name, the tags that take more than one value (or are missing from
// some runs) among its runs.
func varyingTags(records []results.Record) map[string]map[string]bool {
	values := map[string]map[string]map[string]bool{} // name → tag → values
	runs := map[string]int{}
	present := map[string]map[string]int{}
	for _, r := range records {
		name := displayName(r)
		runs[name]++
		if values[name] == nil {
			values[name], present[name] = map[string]map[string]bool{}, map[string]int{}
		}
		for k, v := range r.Tags {
			if values[name][k] == nil {
				values[name][k] = map[string]bool{}
			}
			values[name][k][v] = true
			present[name][k]++
		}
	}
	out := map[string]map[string]bool{}
	for name, tags := range values {
		out[name] = map[string]bool{}
		for k, vs := range tags {
			if len(vs) > 1 || present[name][k] < runs[name] {
				out[name][k] = true
			}
		}
	}
	return out
}

func recoveryLabel(rec string) string {
	if rec == "none" {
		return "no recovery"
	}
	return rec + " recovery"
}

// paramSymbol writes the operators' parameter names (docs/design.md §2) as the paper does.
func paramSymbol(p string) string {
	switch p {
	case "sigma":
		return "σ"
	case "epsilon":
		return "ε"
	case "angle":
		return "θ"
	}
	return p
}

var runSettingNames = []string{"preset", "pretrain", "max_train", "max_eval", "epochs", "learning_rate"}

func runSetting(r results.Record, name string) string {
	switch name {
	case "preset":
		return r.Preset
	case "pretrain":
		return r.Pretrain
	case "max_train":
		return strconv.Itoa(r.MaxTrain)
	case "max_eval":
		return strconv.Itoa(r.MaxEval)
	case "epochs":
		return strconv.Itoa(r.Epochs)
	case "learning_rate":
		return formatNumber(r.LearningRate)
	}
	panic("reports: unknown run setting " + name)
}

// varyingRunSettings lists the shared run settings that take more than one value within a task: those must
// separate settings (a sweep over max_train is not seed noise).
func varyingRunSettings(records []results.Record) []string {
	var out []string
	for _, name := range runSettingNames {
		values := map[string]map[string]bool{}
		for _, r := range records {
			if values[r.Task] == nil {
				values[r.Task] = map[string]bool{}
			}
			values[r.Task][runSetting(r, name)] = true
		}
		for _, v := range values {
			if len(v) > 1 {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

func runSettingsKey(r results.Record, varying []string) string {
	parts := make([]string, 0, len(varying))
	for _, name := range varying {
		parts = append(parts, name+"="+runSetting(r, name))
	}
	return strings.Join(parts, ",")
}

// paramsKey renders resolved method parameters canonically (sorted keys).
func paramsKey(params map[string]any) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, params[k]))
	}
	return strings.Join(parts, ",")
}

// orderedTasks lists the tasks present in the task registry's order (compareTasks).
func orderedTasks(settings []*setting) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range settings {
		if !seen[s.Task] {
			seen[s.Task] = true
			out = append(out, s.Task)
		}
	}
	slices.SortFunc(out, compareTasks)
	return out
}

// taskRank places a task in the task registry's order: the default tasks (datasets.TaskNames) first, then
// the other known tasks, then tasks the registry does not know.
func taskRank(task string) int {
	names := datasets.TaskNames()
	if i := slices.Index(names, task); i >= 0 {
		return i
	}
	if _, err := datasets.Task(task); err == nil {
		return len(names)
	}
	return len(names) + 1
}

// compareTasks orders tasks by taskRank, then by name.
func compareTasks(a, b string) int {
	if c := cmp.Compare(taskRank(a), taskRank(b)); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

// taskTitle is a task's name as the task registry writes it (datasets.TaskInfo.Title), else its name.
func taskTitle(task string) string {
	if info, err := datasets.Task(task); err == nil && info.Title != "" {
		return info.Title
	}
	return task
}

// headlineMetric is the metric reports plot for a task: opts.Metric when set, else the task's first metric.
func headlineMetric(task, override string) string {
	if override != "" {
		return override
	}
	if info, err := datasets.Task(task); err == nil && len(info.Metrics) > 0 {
		return info.Metrics[0]
	}
	return "accuracy"
}

// taskNote is the caveat that must accompany results on a task (QQP's re-split), if any.
func taskNote(task string) string {
	if info, err := datasets.Task(task); err == nil {
		return info.Note
	}
	return ""
}

// formatNumber writes a parameter value compactly (0.5, 1, 2, 1e-05).
func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'g', 4, 64)
}
