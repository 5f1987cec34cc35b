// Package method is the contract between the experiment runner and every compared method (docs/design.md §5):
// plaintext, cyphertalk, dp-forward, dp-sgd, he-ckks and mpc-2pc each implement Method, report the four phases'
// costs in the same Cost record (wall seconds by party, bytes each way, rounds), and return one Result that the
// runner writes to the run's parquet file. It is a leaf package (no gomlx) so that shaking/, baselines/ and
// experiments/ can all depend on it.
package method

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
)

// Phase names, in protocol order (docs/design.md §1). Methods use the ones they have.
const (
	PhaseKeyGen           = "keygen"             // 1: client draws the key
	PhaseShaking          = "shaking"            // 2a: client computes E_s
	PhaseAwareness        = "awareness-recovery" // 2b
	PhaseFunction         = "function-recovery"  // 2c
	PhasePreprocessing    = "preprocessing"      // any other one-off set-up (distillation of a crypto-friendly model, ...)
	PhaseOffline          = "offline"            // crypto: dealer's Beaver triples, key material
	PhasePrivateTuning    = "private-tuning"     // 3
	PhasePrivateInference = "private-inference"  // 4
)

// Group is the figure a phase is booked to: "preprocessing", "private-tuning" or "private-inference".
func Group(phase string) string {
	switch phase {
	case PhasePrivateTuning:
		return "private-tuning"
	case PhasePrivateInference:
		return "private-inference"
	default:
		return "preprocessing"
	}
}

// Parties.
const (
	Client = "client"
	Cloud  = "cloud"
	Dealer = "dealer" // crypto offline phase
)

// Cost is one phase's measured (or extrapolated) cost.
type Cost struct {
	Phase         string
	ClientSeconds float64
	CloudSeconds  float64
	DealerSeconds float64
	BytesToCloud  int64 // client → cloud (uploads: shaken table, encoded data, ciphertexts, shares)
	BytesToClient int64 // cloud → client (adapted layers, logits, results)
	Rounds        int64 // interactive round trips (crypto); 0 where the phase is one-shot
	// Units is how many examples (inference, tuning) or steps the measurement covers, UnitName what they are.
	Units    int
	UnitName string
	// Extrapolated marks a figure computed from a measured sample by operation counts, not run in full.
	Extrapolated bool
	// MeasuredUnits is the number of units actually run when Extrapolated.
	MeasuredUnits int
	Note          string
}

// Seconds is the total wall time of the phase over all parties.
func (c Cost) Seconds() float64 { return c.ClientSeconds + c.CloudSeconds + c.DealerSeconds }

// CurvePoint is one point of a training curve.
type CurvePoint struct {
	Phase string
	Step  int
	Loss  float64
}

// Result is everything a run measured.
type Result struct {
	// Metrics are the dev-set task metrics (accuracy, f1, matthews, pearson, spearman).
	Metrics map[string]float64
	Costs   []Cost
	Curve   []CurvePoint
	// Epsilon and Delta are the method's privacy parameters (NaN where it has none).
	Epsilon, Delta float64
	// Scalars are the result's named scalar columns, declared once (see Scalars).
	Scalars
	// Extra holds method-specific scalars (e.g. "mlm_loss_base", "mlm_loss_shaken", "mlm_loss_recovered",
	// "noise_multiplier"). Keys are snake_case; they become columns prefixed "extra_".
	Extra map[string]float64
	// Tags are method-provided descriptors for reports, e.g. "operator" = "gaussian", "operator_param" =
	// "sigma" (with Extra["operator_value"] = 0.5), "recovery" = "none" | "awareness+function", "table" =
	// "frozen" | "trainable". They become columns prefixed "tag_".
	Tags map[string]string
	// Attacks holds privacy-attack results when the run asked for them .
	Attacks                     []AttackResult
	TrainExamples, EvalExamples int
}

// Scalars are a run's scalar results that are declared in one place: each field, with a `col:"name"` tag that
// names its column of the run file, is set by the method on Result (which embeds Scalars), copied as a whole by
// the runner, written to and read back from runs/<run_id>.parquet and carried by results.Record (which embeds it
// too), with no other change. A field may be a string, bool, int, int64, uint64 or float64; a float64 tagged
// `col:"name,nan"` is written as null when NaN (and reads back NaN where absent). A file written before a field
// existed reads back the field's zero value. Column names must not collide with the run row's other columns
// (results.Record) or start with a prefix of its variable columns (param_, metric_, extra_, tag_, cost_, time_).
//
// Epsilon, Delta, TrainExamples and EvalExamples predate Scalars and stay direct fields of Result (and of
// results.Record, for their composite literals); they are columns of the same table.
type Scalars struct {
	// KeyFingerprint is the SHA-256 fingerprint of the client's key (never the key itself); "" if none.
	KeyFingerprint string `col:"key_fingerprint"`
}

// AttackResult is one attack's token recovery on the client's uploads.
type AttackResult struct {
	Attack      string  // "nn-cosine", "nn-l2", "frequency", "alignment", "frequency+alignment", "random"
	Top1, Top5  float64 // occurrence-weighted recovery rate over all uploaded tokens
	ContentTop1 float64 // the same for content words only (not in the stop list)
	ContentTop5 float64
	Tokens      int // uploaded token occurrences scored
}

// NewResult returns an empty result with NaN ε/δ.
func NewResult() *Result {
	return &Result{Metrics: map[string]float64{}, Extra: map[string]float64{}, Tags: map[string]string{}, Epsilon: math.NaN(), Delta: math.NaN()}
}

// Run is one resolved run: the data, model and training settings shared by all methods, and the method's own
// parameters (already decoded by the method from Params).
type Run struct {
	ID     string // deterministic run id from the runner
	Task   string // GLUE task name (datasets.Task)
	Preset string // model preset
	// Pretrain names the pre-training recipe ("default" = pretrain.DefaultConfig, "none" = from scratch).
	Pretrain string
	MaxTrain int // training examples drawn from the private pool (0 = all)
	MaxEval  int // dev examples (0 = all)
	Seed     uint64
	// Training settings of private tuning.
	Epochs       int
	LearningRate float64
	// Params are the method's parameters after sweep expansion: values are string, bool, int64, float64 or
	// []any of those (TOML's types).
	Params map[string]any
}

// Env is what the runner provides to every run.
type Env struct {
	DataDir  string
	CacheDir string
	Tok      *wordpiece.Tokenizer
	Progress bool
	Log      *slog.Logger
}

// Method is one compared method.
type Method interface {
	// Name is the registry name ("plaintext", "cyphertalk", ...).
	Name() string
	// Validate checks a run's parameters before anything runs (unknown names → error listing the valid ones).
	Validate(params map[string]any) error
	// Run executes every phase and returns the measurements. It must honour ctx cancellation.
	Run(ctx context.Context, env Env, run Run) (*Result, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Method{}
)

// Register adds a method to the registry; registering a name twice panics (a programming error).
func Register(m Method) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[m.Name()]; dup {
		panic(fmt.Sprintf("method %q registered twice", m.Name()))
	}
	registry[m.Name()] = m
}

// Lookup returns a registered method or an error listing the valid names.
func Lookup(name string) (Method, error) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	if m, ok := registry[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("unknown method %q (registered: %s)", name, strings.Join(namesLocked(), ", "))
}

// Names lists the registered methods, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return slices.Clip(out)
}
