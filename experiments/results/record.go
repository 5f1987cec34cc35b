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
//
// Write puts the three companions down first and the run row last, each through internal/atomicfile
// (temporary file + fsync + rename), so a run exists exactly when runs/<run_id>.parquet does: a crash, Ctrl-C
// or kill at any moment leaves either a complete run or none (orphan companions are ignored by the reader and
// overwritten when the run is redone). Every file is plain parquet that pandas (pyarrow) and DuckDB read as they
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
type Record struct {
	RunID        string
	Experiment   string
	Task         string
	Method       string
	Seed         uint64
	Preset       string
	Pretrain     string
	MaxTrain     int
	MaxEval      int
	Epochs       int
	LearningRate float64
	// Params are the method's resolved parameters (string, bool, int64 or float64 values), one parquet column
	// each ("param_<name>").
	Params map[string]any
	// Metrics are dev metrics (accuracy, f1, ...).
	Metrics map[string]float64
	// Extra and Tags are method-provided scalars and descriptors (method.Result).
	Extra map[string]float64
	Tags  map[string]string
	// Epsilon and Delta are NaN where the method has none.
	Epsilon, Delta float64
	KeyFingerprint string
	TrainExamples  int
	EvalExamples   int
	// Provenance.
	Backend   string
	GoVersion string
	GitCommit string
	Host      string
	Start     time.Time
	Duration  time.Duration
	Costs     []method.Cost
	Curve     []method.CurvePoint
	Attacks   []method.AttackResult
	// Label is the spec's display name for the method block ("" = none; reports fall back to Method).
	Label string
}
