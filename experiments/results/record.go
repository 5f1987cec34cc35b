// Package results owns the on-disk results of experiments: one parquet file per run under
// results/<experiment>/, written atomically, and a reader that merges an experiment's files into Records.
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
}
