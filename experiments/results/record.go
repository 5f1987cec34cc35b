// Package results owns the on-disk results of experiments: one parquet file per run under
// results/<experiment>/, written atomically, and a reader that merges an experiment's files into Records.
//
// Layout of results/<experiment>/ (the README's "Results files" section documents every column):
//
//	runs/<run_id>.parquet     one flat row: the resolved configuration (param_<name> columns), metrics
//	                          (metric_<name>), method scalars (extra_<name>) and descriptors (tag_<name>), ε/δ,
//	                          key fingerprint, per-phase costs (cost_<phase>_...), provenance
//	costs/<run_id>.parquet    one row per phase measurement (long format, exactly method.Cost)
//	curves/<run_id>.parquet   the training curve: phase, step, loss
//	attacks/<run_id>.parquet  one row per privacy attack (method.AttackResult)
//	spec.toml                 the spec the runs came from (kept by the runner; reports show its description)
//	claims/<run_id>.claim     a run being executed (owned by the runner, experiments/claim.go)
//	corrupt/<run_id>.<time>.* unreadable files moved aside by MoveAside before the run is redone
//
// Write puts the three companions down first and the run row last, each through internal/atomicfile
// (temporary file + fsync + rename), so a run exists exactly when runs/<run_id>.parquet does: a crash, Ctrl-C
// or kill at any moment leaves either a complete run or none (orphan companions are ignored by the reader and
// overwritten when the run is redone). A run that is unreadable anyway (a truncated, emptied or damaged file)
// is skipped by the reader with a warning (ReadAll lists it) and moved aside by a resuming runner. Every file is plain parquet that pandas (pyarrow) and DuckDB read as they
// are, e.g. `SELECT * FROM read_parquet('results/paper/runs/*.parquet', union_by_name=true)`; the run rows of
// different methods have different param_/metric_/extra_/tag_ columns, which the union (or ReadExperiment) merges.
// The flat, wide row with its prefixes is written by hand on parquet-go's dynamic schema: no library maps Go
// maps of varying keys onto parquet columns.
package results

import (
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Record is one finished run as the reader returns it: the run row plus its costs, curve and attack results.
// Reports consume Records; the parquet layout is documented in the README.
//
// Every scalar column of the run row is declared once, here, by a field's `col:"name"` tag (and by the fields
// of the embedded method.Scalars): the writer and the reader walk that one table of columns (see columns.go), so
// a new scalar is a new tagged field and nothing else. A string is a parquet STRING, an int, int64 or uint64 an
// INT64, a float64 a DOUBLE (`col:"name,nan"`: optional, null for NaN), a bool a BOOLEAN, a time.Time a
// microsecond TIMESTAMP (UTC) and a time.Duration a DOUBLE of seconds. The maps and slices are the variable
// columns (param_, metric_, extra_, tag_) and the companions.
type Record struct {
	RunID        string  `col:"run_id"`
	Experiment   string  `col:"experiment"`
	Task         string  `col:"task"`
	Method       string  `col:"method"`
	Seed         uint64  `col:"seed"`
	Preset       string  `col:"preset"`
	Pretrain     string  `col:"pretrain"`
	MaxTrain     int     `col:"max_train"`
	MaxEval      int     `col:"max_eval"`
	Epochs       int     `col:"epochs"`
	LearningRate float64 `col:"learning_rate"`
	// Params are the method's resolved parameters (string, bool, int64 or float64 values), one parquet column
	// each ("param_<name>").
	Params map[string]any
	// Metrics are dev metrics (accuracy, f1, ...).
	Metrics map[string]float64
	// Extra and Tags are method-provided scalars and descriptors (method.Result).
	Extra map[string]float64
	Tags  map[string]string
	// Epsilon and Delta are NaN where the method has none.
	Epsilon float64 `col:"epsilon,nan"`
	Delta   float64 `col:"delta,nan"`
	// Scalars are the method's other scalar results (method.Scalars: the key fingerprint, ...).
	method.Scalars
	TrainExamples int `col:"train_examples"`
	EvalExamples  int `col:"eval_examples"`
	// Provenance: the backend configuration, Go version, host, and the git commit the code was built from
	// ("unknown" when neither the binary nor the working directory says) with GitDirty marking uncommitted
	// changes to tracked files.
	Backend   string        `col:"backend"`
	GoVersion string        `col:"go_version"`
	GitCommit string        `col:"git_commit"`
	GitDirty  bool          `col:"git_dirty"`
	Host      string        `col:"host"`
	Start     time.Time     `col:"start"`
	Duration  time.Duration `col:"duration_s"`
	Costs     []method.Cost
	Curve     []method.CurvePoint
	Attacks   []method.AttackResult
	// Label is the spec's display name for the method block ("" = none; reports fall back to Method).
	Label string `col:"label"`
}
