// Package experiments owns experiment specs and the runner that executes them (docs/design.md §6).
//
// A spec is a TOML file (BurntSushi/toml, decoded strictly: an unknown key is an error naming the key and its
// line) that names the data, model, training settings, seeds and a list of [[method]] blocks with their
// parameters; lists under a `sweep` table (top-level, or inside a method block) expand into a grid. Load
// resolves a spec into Runs, each with a deterministic id (a hash of its resolved configuration and seed), and
// calls every method's Validate on every run, so a bad parameter fails before anything runs. The Runner executes
// runs with a bounded pool, skips those whose results exist, and writes each run's parquet files atomically
// (package results). The shipped specs (specs/*.toml) are embedded in the binary.
//
// Spec layout (see specs/smoke.toml for a complete example):
//
//	experiment = "paper"                      # results go to <results>/<experiment>/
//	description = "..."                       # optional
//	[paths]                                   # optional; $VARS expand; flags take precedence
//	results = "$SCRATCH/results"; data = "..."; cache = "..."
//	[data]
//	tasks = ["sst2", "qqp"]
//	max_train = 2000                          # or one per task: {sst2 = 2000, qqp = 4000}; 0 = all
//	max_eval = 0                              # likewise
//	[model]
//	preset = "tiny"; pretrain = "default"     # "default" pre-trains (cached) the base model, "none" = random
//	init = "hf:DIR"                           # or: start from a Hugging Face BERT checkpoint of the preset's
//	                                          # shape (replaces pretrain; $VARS expand; DIR relative to the
//	                                          # working directory); runs' pretrain is then "hf:DIR"
//	[training]
//	epochs = 3; learning_rate = 2e-3; seeds = [1, 2]
//	[sweep]                                   # optional grid over max_train, max_eval, preset, pretrain,
//	learning_rate = [1e-3, 2e-3]              # epochs, learning_rate (a swept key is not set in its section)
//	[[method]]
//	name = "cyphertalk"; label = "CypherTalk" # label: optional display name for reports
//	tasks = ["sst2"]                          # optional: run this block on these of data.tasks only
//	awareness_steps = 100                     # every other key is a method parameter
//	[method.sweep]
//	ops = ["gaussian:sigma=0.5", "gaussian:sigma=1"]
//
// Runs are ordered task, top-level sweep point, method block, method sweep point, seed; sweep axes vary in the
// order their keys are written, the last fastest.
package experiments

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/hf"
)

// Pretrain recipes a spec may name (method.Run.Pretrain).
const (
	PretrainDefault = "default" // pretrain.DefaultConfig(preset), cached
	PretrainNone    = "none"    // random initialisation
)

// Spec is a loaded, resolved experiment spec.
type Spec struct {
	Experiment  string
	Description string
	// Source is the file read, or "embedded:<name>.toml".
	Source string
	// Paths are the spec's [paths], environment variables expanded ("" = not set).
	Paths Paths
	// Runs are every resolved run, in spec order.
	Runs []Run
}

// Paths are optional locations a spec may fix.
type Paths struct {
	Results string
	Data    string
	Cache   string
}

// Run is one resolved run: the method's view of it (method.Run) plus what the runner and reports need.
type Run struct {
	method.Run
	Experiment string
	Method     string
	Label      string
	// Block is the 1-based index of the [[method]] block the run comes from, BlockLine its line (0 = unknown).
	Block     int
	BlockLine int
}

// String is the run on one line, as `cyphertalk run --dry-run` prints it.
func (r Run) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %-5s %s", r.ID, r.Task, r.Method)
	if r.Label != "" {
		fmt.Fprintf(&b, " %q", r.Label)
	}
	fmt.Fprintf(&b, "  seed=%d preset=%s pretrain=%s max_train=%d max_eval=%d epochs=%d lr=%s",
		r.Seed, r.Preset, r.Pretrain, r.MaxTrain, r.MaxEval, r.Epochs, strconv.FormatFloat(r.LearningRate, 'g', -1, 64))
	for _, k := range slices.Sorted(maps.Keys(r.Params)) {
		fmt.Fprintf(&b, " %s=%s", k, formatParam(r.Params[k]))
	}
	return b.String()
}

func formatParam(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" || strings.ContainsAny(x, " \t\"") {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatParam(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

// RunID is the deterministic id of a run: the first 16 hex digits of the SHA-256 of a canonical JSON of its
// resolved configuration and seed. The experiment name and the label are not part of it.
func RunID(r Run) (string, error) {
	b, err := json.Marshal(struct {
		Task         string         `json:"task"`
		Method       string         `json:"method"`
		Params       map[string]any `json:"params"`
		Preset       string         `json:"preset"`
		Pretrain     string         `json:"pretrain"`
		MaxTrain     int            `json:"max_train"`
		MaxEval      int            `json:"max_eval"`
		Epochs       int            `json:"epochs"`
		LearningRate float64        `json:"learning_rate"`
		Seed         uint64         `json:"seed"`
	}{r.Task, r.Method, r.Params, r.Preset, r.Pretrain, r.MaxTrain, r.MaxEval, r.Epochs, r.LearningRate, r.Seed})
	if err != nil {
		return "", fmt.Errorf("run id: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// ---- decoding ----

type specFile struct {
	Experiment  string          `toml:"experiment"`
	Description string          `toml:"description"`
	Paths       pathsSection    `toml:"paths"`
	Data        dataSection     `toml:"data"`
	Model       modelSection    `toml:"model"`
	Training    trainingSection `toml:"training"`
	Sweep       sweepSection    `toml:"sweep"`
	Method      []rawTable      `toml:"method"`
}

type pathsSection struct {
	Results string `toml:"results"`
	Data    string `toml:"data"`
	Cache   string `toml:"cache"`
}

type dataSection struct {
	Tasks    []string `toml:"tasks"`
	MaxTrain perTask  `toml:"max_train"`
	MaxEval  perTask  `toml:"max_eval"`
}

type modelSection struct {
	Preset   string `toml:"preset"`
	Pretrain string `toml:"pretrain"`
	Init     string `toml:"init"`
}

type trainingSection struct {
	Epochs       int     `toml:"epochs"`
	LearningRate float64 `toml:"learning_rate"`
	Seeds        []int64 `toml:"seeds"`
}

// sweepSection is the top-level grid; its keys name the [data], [model] and [training] keys they replace.
type sweepSection struct {
	MaxTrain     []perTask `toml:"max_train"`
	MaxEval      []perTask `toml:"max_eval"`
	Preset       []string  `toml:"preset"`
	Pretrain     []string  `toml:"pretrain"`
	Epochs       []int     `toml:"epochs"`
	LearningRate []float64 `toml:"learning_rate"`
}

// sweepSections says which section each top-level sweep key replaces.
var sweepSections = map[string]string{"max_train": "data", "max_eval": "data", "preset": "model",
	"pretrain": "model", "epochs": "training", "learning_rate": "training"}

// rawTable keeps a [[method]] block as TOML values; the method's Validate is the judge of its keys.
type rawTable map[string]any

func (t *rawTable) UnmarshalTOML(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("want a table, got %s", tomlTypeName(v))
	}
	*t = m
	return nil
}

// perTask is one count for every task, or a table with one count per task.
type perTask struct {
	all    int64
	byTask map[string]int64
}

func (p *perTask) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*p = perTask{all: x}
	case map[string]any:
		*p = perTask{byTask: map[string]int64{}}
		for task, val := range x {
			n, ok := val.(int64)
			if !ok {
				return fmt.Errorf("%s = %v: want an integer, got %s", task, val, tomlTypeName(val))
			}
			p.byTask[strings.ToLower(task)] = n
		}
	default:
		return fmt.Errorf("want an integer or a table of integers per task, got %s", tomlTypeName(v))
	}
	return nil
}

func (p perTask) forTask(task string) (int, bool) {
	if p.byTask == nil {
		return int(p.all), true
	}
	n, ok := p.byTask[task]
	return int(n), ok
}

func (p perTask) String() string {
	if p.byTask == nil {
		return strconv.FormatInt(p.all, 10)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p.byTask)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, p.byTask[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func tomlTypeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("%T", v)
}

// ---- loading ----

// LoadFile reads and resolves the spec at path.
func LoadFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading spec: %w", err)
	}
	return Parse(data, path)
}

var experimentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Parse decodes and resolves a spec; source names it in errors.
func Parse(data []byte, source string) (*Spec, error) {
	s, err := parse(string(data), source)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", source, err)
	}
	return s, nil
}

func parse(data, source string) (*Spec, error) {
	var f specFile
	md, err := toml.Decode(data, &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("line %d: %s: %s", pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	if err := unknownKeys(data, &md); err != nil {
		return nil, err
	}
	line := func(key ...string) string {
		if n := keyLine(data, &md, key); n > 0 {
			return fmt.Sprintf("line %d: ", n)
		}
		return ""
	}
	if !experimentName.MatchString(f.Experiment) {
		if f.Experiment == "" {
			return nil, errors.New("experiment is required (the results sub-directory, e.g. experiment = \"paper\")")
		}
		return nil, fmt.Errorf("%sexperiment = %q: use letters, digits, '.', '_' and '-' (it names a directory)", line("experiment"), f.Experiment)
	}
	spec := &Spec{Experiment: f.Experiment, Description: f.Description, Source: source}
	for _, p := range []struct {
		key      string
		src, dst *string
	}{{"results", &f.Paths.Results, &spec.Paths.Results}, {"data", &f.Paths.Data, &spec.Paths.Data},
		{"cache", &f.Paths.Cache, &spec.Paths.Cache}} {
		if *p.dst, err = expandPath(*p.src); err != nil {
			return nil, fmt.Errorf("%spaths.%s: %w", line("paths", p.key), p.key, err)
		}
	}

	tasks, err := resolveTasks(f.Data.Tasks)
	if err != nil {
		return nil, fmt.Errorf("%sdata.tasks: %w", line("data", "tasks"), err)
	}
	seeds, err := resolveSeeds(f.Training.Seeds, md.IsDefined("training", "seeds"))
	if err != nil {
		return nil, fmt.Errorf("%straining.seeds: %w", line("training", "seeds"), err)
	}
	points, err := settingsGrid(&f, &md, line)
	if err != nil {
		return nil, err
	}
	blocks, err := methodBlocks(data, &f, &md, tasks)
	if err != nil {
		return nil, err
	}

	seen := map[string]Run{}
	for _, task := range tasks {
		for _, s := range points {
			maxTrain, ok1 := s.maxTrain.forTask(task)
			maxEval, ok2 := s.maxEval.forTask(task)
			if !ok1 || !ok2 {
				key := "max_train"
				if ok1 {
					key = "max_eval"
				}
				return nil, fmt.Errorf("%s has no entry for task %s", key, task)
			}
			for _, b := range blocks {
				if b.tasks != nil && !slices.Contains(b.tasks, task) {
					continue
				}
				for _, params := range b.points {
					for _, seed := range seeds {
						r := Run{Run: method.Run{Task: task, Preset: s.preset, Pretrain: s.pretrain, MaxTrain: maxTrain,
							MaxEval: maxEval, Seed: seed, Epochs: s.epochs, LearningRate: s.learningRate,
							Params: maps.Clone(params)}, Experiment: f.Experiment, Method: b.name, Label: b.label,
							Block: b.index, BlockLine: b.line}
						if r.ID, err = RunID(r); err != nil {
							return nil, fmt.Errorf("%s: %w", b.describe(), err)
						}
						if prev, dup := seen[r.ID]; dup {
							return nil, fmt.Errorf("%s and %s resolve to the same run (%s): give them different parameters",
								blocks[prev.Block-1].describe(), b.describe(), r)
						}
						seen[r.ID] = r
						spec.Runs = append(spec.Runs, r)
					}
				}
			}
		}
	}
	return spec, nil
}

// unknownKeys reports every key the spec structure does not know, with its line and the valid keys beside it.
func unknownKeys(data string, md *toml.MetaData) error {
	var msgs []string
	reported := map[string]bool{}
	for _, k := range md.Undecoded() {
		if reportedParent(k, reported) {
			continue
		}
		reported[k.String()] = true
		msg := fmt.Sprintf("unknown key %q", k.String())
		if n := keyLine(data, md, k); n > 0 {
			msg = fmt.Sprintf("line %d: %s", n, msg)
		}
		if valid := validKeys(k[:len(k)-1]); len(valid) > 0 {
			where := "at the top level"
			if len(k) > 1 {
				where = "in [" + k[:len(k)-1].String() + "]"
			}
			msg += fmt.Sprintf(" (valid %s: %s)", where, strings.Join(valid, ", "))
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

func reportedParent(k toml.Key, reported map[string]bool) bool {
	for i := 1; i < len(k); i++ {
		if reported[k[:i].String()] {
			return true
		}
	}
	return false
}

// validKeys lists the toml keys of the spec table at path (nil if path is not a known table).
func validKeys(path toml.Key) []string {
	t := reflect.TypeFor[specFile]()
	for _, name := range path {
		found := false
		for i := range t.NumField() {
			if t.Field(i).Tag.Get("toml") == name {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found || t.Kind() != reflect.Struct {
			return nil
		}
	}
	var out []string
	for i := range t.NumField() {
		out = append(out, t.Field(i).Tag.Get("toml"))
	}
	sort.Strings(out)
	return out
}

// expandPath expands $VAR and ${VAR}; an unset variable is an error (an empty expansion could point at "/").
func expandPath(p string) (string, error) {
	var missing []string
	out := os.Expand(p, func(name string) string {
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("environment variable %s is not set (in %q)", strings.Join(missing, ", "), p)
	}
	return out, nil
}

func resolveTasks(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("name at least one task (%s)", strings.Join(datasets.TaskNames(), ", "))
	}
	var out []string
	for _, n := range names {
		info, err := datasets.Task(n)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, info.Name) {
			return nil, fmt.Errorf("task %s listed twice", info.Name)
		}
		out = append(out, info.Name)
	}
	return out, nil
}

func resolveSeeds(seeds []int64, defined bool) ([]uint64, error) {
	if !defined || len(seeds) == 0 {
		return nil, errors.New("list at least one seed, e.g. seeds = [1]")
	}
	var out []uint64
	for _, s := range seeds {
		if s < 0 {
			return nil, fmt.Errorf("seed %d is negative", s)
		}
		if slices.Contains(out, uint64(s)) {
			return nil, fmt.Errorf("seed %d listed twice", s)
		}
		out = append(out, uint64(s))
	}
	return out, nil
}

// settings are the data, model and training values of one top-level sweep point.
type settings struct {
	maxTrain, maxEval perTask
	preset, pretrain  string
	epochs            int
	learningRate      float64
}

// axis is one swept key: n values, set writes value i into a settings.
type axis struct {
	key string
	n   int
	set func(s *settings, i int)
}

// settingsGrid expands the top-level [sweep] over the [data], [model] and [training] values and checks every point.
func settingsGrid(f *specFile, md *toml.MetaData, line func(...string) string) ([]settings, error) {
	base := settings{maxTrain: f.Data.MaxTrain, maxEval: f.Data.MaxEval, preset: f.Model.Preset,
		pretrain: f.Model.Pretrain, epochs: f.Training.Epochs, learningRate: f.Training.LearningRate}
	if !md.IsDefined("model", "pretrain") {
		base.pretrain = PretrainDefault
	}
	initCfg, err := modelInit(f, md, line)
	if err != nil {
		return nil, err
	}
	if initCfg != nil {
		base.pretrain = initCfg.pretrain
	}
	sw := f.Sweep
	all := []axis{
		{"max_train", len(sw.MaxTrain), func(s *settings, i int) { s.maxTrain = sw.MaxTrain[i] }},
		{"max_eval", len(sw.MaxEval), func(s *settings, i int) { s.maxEval = sw.MaxEval[i] }},
		{"preset", len(sw.Preset), func(s *settings, i int) { s.preset = sw.Preset[i] }},
		{"pretrain", len(sw.Pretrain), func(s *settings, i int) { s.pretrain = sw.Pretrain[i] }},
		{"epochs", len(sw.Epochs), func(s *settings, i int) { s.epochs = sw.Epochs[i] }},
		{"learning_rate", len(sw.LearningRate), func(s *settings, i int) { s.learningRate = sw.LearningRate[i] }},
	}
	var axes []axis
	for _, a := range all {
		section := sweepSections[a.key]
		swept := md.IsDefined("sweep", a.key)
		set := md.IsDefined(section, a.key)
		switch {
		case swept && set:
			at := strings.TrimSuffix(line("sweep", a.key), ": ")
			if at != "" {
				at = " (" + at + ")"
			}
			return nil, fmt.Errorf("%s%s is set in [%s] and swept in [sweep]%s: keep one", line(section, a.key), a.key, section, at)
		case swept && a.n == 0:
			return nil, fmt.Errorf("%ssweep.%s is empty: list at least one value", line("sweep", a.key), a.key)
		case swept:
			axes = append(axes, a)
		case !set && (a.key == "preset" || a.key == "epochs" || a.key == "learning_rate"):
			return nil, fmt.Errorf("%s.%s is required", section, a.key)
		}
	}
	order := keyOrder(md)
	sort.SliceStable(axes, func(i, j int) bool {
		return order["sweep."+axes[i].key] < order["sweep."+axes[j].key]
	})
	var points []settings
	lens := make([]int, len(axes))
	for i, a := range axes {
		lens[i] = a.n
	}
	for _, idx := range gridIndices(lens) {
		s := base
		for k, a := range axes {
			a.set(&s, idx[k])
		}
		where := func(key string) string {
			if md.IsDefined("sweep", key) {
				return line("sweep", key) + "sweep." + key
			}
			return line(sweepSections[key], key) + sweepSections[key] + "." + key
		}
		p, err := models.LookupPreset(s.preset)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where("preset"), err)
		}
		s.preset = p.Name
		if initCfg != nil {
			if _, err := initCfg.config.Preset(&p); err != nil {
				return nil, fmt.Errorf("%smodel.init = %q: %w (%s)", line("model", "init"), f.Model.Init, err, where("preset"))
			}
		} else if s.pretrain != PretrainDefault && s.pretrain != PretrainNone {
			return nil, fmt.Errorf("%s = %q: want %q or %q (a Hugging Face checkpoint is model.init = \"hf:DIR\")", where("pretrain"),
				s.pretrain, PretrainDefault, PretrainNone)
		}
		if s.epochs < 1 {
			return nil, fmt.Errorf("%s = %d: want at least 1", where("epochs"), s.epochs)
		}
		if !(s.learningRate > 0) || math.IsInf(s.learningRate, 0) {
			return nil, fmt.Errorf("%s = %v: want a positive number", where("learning_rate"), s.learningRate)
		}
		for key, pt := range map[string]perTask{"max_train": s.maxTrain, "max_eval": s.maxEval} {
			if err := checkPerTask(pt, f.Data.Tasks); err != nil {
				return nil, fmt.Errorf("%s = %s: %w", where(key), pt, err)
			}
		}
		points = append(points, s)
	}
	return points, nil
}

// initCheckpoint is a [model] init that names a Hugging Face checkpoint.
type initCheckpoint struct {
	pretrain string // the runs' Pretrain: "hf:" + the expanded directory
	config   *hf.Config
}

// modelInit reads [model] init = "hf:DIR" (nil when unset): init replaces pretrain, so setting both, or sweeping
// pretrain, is an error. The checkpoint's config.json is read here, so that a missing checkpoint or one of
// another shape than a preset fails before anything runs; its weights and vocabulary are checked when a run
// imports it.
func modelInit(f *specFile, md *toml.MetaData, line func(...string) string) (*initCheckpoint, error) {
	if !md.IsDefined("model", "init") {
		return nil, nil
	}
	at := line("model", "init")
	for _, section := range []string{"model", "sweep"} {
		if md.IsDefined(section, "pretrain") {
			return nil, fmt.Errorf("%smodel.init and %s%s.pretrain are both set: init replaces pretrain, keep one", at,
				line(section, "pretrain"), section)
		}
	}
	dir, ok, err := hf.ParseInit(f.Model.Init)
	if !ok {
		return nil, fmt.Errorf("%smodel.init = %q: want \"hf:DIR\", DIR a Hugging Face BERT checkpoint directory", at, f.Model.Init)
	}
	if err == nil {
		dir, err = expandPath(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%smodel.init: %w", at, err)
	}
	cfg, err := hf.ReadConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("%smodel.init = %q: %w", at, f.Model.Init, err)
	}
	return &initCheckpoint{pretrain: hf.InitPrefix + dir, config: cfg}, nil
}

func checkPerTask(p perTask, tasks []string) error {
	if p.byTask == nil {
		if p.all < 0 {
			return errors.New("want 0 (all) or a positive count")
		}
		return nil
	}
	for task, n := range p.byTask {
		info, err := datasets.Task(task)
		if err != nil || !slices.ContainsFunc(tasks, func(t string) bool { return strings.EqualFold(t, info.Name) }) {
			return fmt.Errorf("task %q is not in data.tasks", task)
		}
		if n < 0 {
			return fmt.Errorf("%s: want 0 (all) or a positive count", task)
		}
	}
	for _, t := range tasks {
		if _, ok := p.byTask[strings.ToLower(t)]; !ok {
			return fmt.Errorf("no entry for task %s", t)
		}
	}
	return nil
}

// keyOrder maps every key of the document to the index of its first appearance.
func keyOrder(md *toml.MetaData) map[string]int {
	order := map[string]int{}
	for i, k := range md.Keys() {
		if _, ok := order[k.String()]; !ok {
			order[k.String()] = i
		}
	}
	return order
}

// gridIndices enumerates the cartesian product of index ranges of the given lengths, the last fastest. No
// lengths give one empty point.
func gridIndices(lens []int) [][]int {
	points := [][]int{{}}
	for _, n := range lens {
		var next [][]int
		for _, p := range points {
			for i := range n {
				next = append(next, append(slices.Clone(p), i))
			}
		}
		points = next
	}
	return points
}

// block is one resolved [[method]] block.
type block struct {
	index       int
	line        int
	name, label string
	tasks       []string         // the data.tasks this block runs on; nil: all of them
	points      []map[string]any // the parameters of every sweep point
}

func (b block) describe() string {
	s := fmt.Sprintf("method block %d (%q", b.index, b.name)
	if b.line > 0 {
		s += fmt.Sprintf(", line %d", b.line)
	}
	return s + ")"
}

// reserved keys of a [[method]] block; every other key is a parameter.
var reservedMethodKeys = []string{"name", "label", "sweep", "tasks"}

type sweptParam struct {
	key    string
	values []any
}

func methodBlocks(data string, f *specFile, md *toml.MetaData, tasks []string) ([]block, error) {
	if len(f.Method) == 0 {
		return nil, fmt.Errorf("no [[method]] block: add at least one (registered methods: %s)", strings.Join(method.Names(), ", "))
	}
	lines := headerLines(data, "method", len(f.Method))
	order := keyOrder(md)
	var blocks []block
	for i, raw := range f.Method {
		b := block{index: i + 1}
		if lines != nil {
			b.line = lines[i]
		}
		name, ok := raw["name"].(string)
		if !ok {
			return nil, fmt.Errorf("%s: name is required: the method (registered: %s)", b.describe(), strings.Join(method.Names(), ", "))
		}
		b.name = name
		m, err := method.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.describe(), err)
		}
		if l, has := raw["label"]; has {
			if b.label, ok = l.(string); !ok {
				return nil, fmt.Errorf("%s: label must be a string, got %s", b.describe(), tomlTypeName(l))
			}
		}
		if t, has := raw["tasks"]; has {
			if b.tasks, err = blockTasks(t, tasks); err != nil {
				return nil, fmt.Errorf("%s: tasks: %w", b.describe(), err)
			}
		}
		base := map[string]any{}
		for k, v := range raw {
			if slices.Contains(reservedMethodKeys, k) {
				continue
			}
			if err := checkParamValue(v); err != nil {
				return nil, fmt.Errorf("%s: parameter %q: %w", b.describe(), k, err)
			}
			base[k] = v
		}
		var swept []sweptParam
		if sw, has := raw["sweep"]; has {
			table, ok := sw.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: sweep must be a table of lists, got %s", b.describe(), tomlTypeName(sw))
			}
			for k, v := range table {
				values, ok := v.([]any)
				switch {
				case !ok:
					return nil, fmt.Errorf("%s: sweep.%s must be a list of values, got %s", b.describe(), k, tomlTypeName(v))
				case len(values) == 0:
					return nil, fmt.Errorf("%s: sweep.%s is empty: list at least one value", b.describe(), k)
				case slices.Contains(reservedMethodKeys, k):
					return nil, fmt.Errorf("%s: %s cannot be swept (use one [[method]] block per value)", b.describe(), k)
				}
				if _, set := base[k]; set {
					return nil, fmt.Errorf("%s: %s is set and swept: keep one", b.describe(), k)
				}
				for _, val := range values {
					if err := checkParamValue(val); err != nil {
						return nil, fmt.Errorf("%s: sweep.%s: %w", b.describe(), k, err)
					}
				}
				swept = append(swept, sweptParam{k, values})
			}
		}
		sort.SliceStable(swept, func(i, j int) bool {
			oi, oj := order["method.sweep."+swept[i].key], order["method.sweep."+swept[j].key]
			if oi != oj {
				return oi < oj
			}
			return swept[i].key < swept[j].key
		})
		lens := make([]int, len(swept))
		for k, sp := range swept {
			lens[k] = len(sp.values)
		}
		for _, idx := range gridIndices(lens) {
			params := maps.Clone(base)
			for k, s := range swept {
				params[s.key] = s.values[idx[k]]
			}
			if err := m.Validate(maps.Clone(params)); err != nil {
				return nil, fmt.Errorf("%s: %w", b.describe(), err)
			}
			b.points = append(b.points, params)
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// blockTasks resolves a method block's tasks key: a non-empty list of task names, each one of data.tasks
// (resolved).
func blockTasks(v any, dataTasks []string) ([]string, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("want a non-empty list of task names, got %s", tomlTypeName(v))
	}
	var names []string
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("want task names, got %s", tomlTypeName(e))
		}
		names = append(names, s)
	}
	resolved, err := resolveTasks(names)
	if err != nil {
		return nil, err
	}
	for _, t := range resolved {
		if !slices.Contains(dataTasks, t) {
			return nil, fmt.Errorf("task %s is not in data.tasks (%s)", t, strings.Join(dataTasks, ", "))
		}
	}
	return resolved, nil
}

// checkParamValue accepts TOML strings, booleans, integers, finite floats and lists of them.
func checkParamValue(v any) error {
	switch x := v.(type) {
	case string, bool, int64:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v is not a finite number", x)
		}
		return nil
	case []any:
		for _, e := range x {
			if err := checkParamValue(e); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s is not a parameter value (use strings, booleans, numbers or lists of them)", tomlTypeName(v))
}
