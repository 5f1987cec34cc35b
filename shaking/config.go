package shaking

import (
	"fmt"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// Config is the cyphertalk method's parameters (the names are the spec's keys).
type Config struct {
	// Ops is the vertical chain ("gaussian:sigma=1", "" = none); RandomOps > 0 draws that many operators at
	// random from the key seed instead; KeyFile loads an existing key (then Ops, RandomOps and KeySeed are unused).
	Ops       string `param:"ops"`
	RandomOps int    `param:"random_ops"`
	KeyFile   string `param:"key_file"`
	// KeySeed derives the key's secret seed (operators.SeedFromUint64); 0 = the run's seed. Guessable: for
	// experiments only (`cyphertalk keygen` without --seed draws a real one).
	KeySeed    int64 `param:"key_seed"`
	Horizontal bool  `param:"horizontal"`

	AwarenessSteps int     `param:"awareness_steps"`
	AwarenessLR    float64 `param:"awareness_lr"`
	AwarenessLayer int     `param:"awareness_layer"`
	AwarenessParty string  `param:"awareness_party"`
	// BiasSteps and BiasLR: function recovery first fits only the masked-LM output bias (and logit scale) to
	// the public encoder; the cloud starts it from π-id frequencies, which cost 0.39 nats of held-out MLM loss
	// at σ = 1 that 60 bias-only steps at 1e-2 win back (measured, see README).
	BiasSteps int     `param:"bias_steps"`
	BiasLR    float64 `param:"bias_lr"`
	// BiasPasses, BiasRows and BiasSmoothing: before those steps, passes of generalized iterative scaling fit the
	// output bias exactly to the frozen encoder on up to BiasRows masked slots of the uploads (FitOutputBiasGIS;
	// it keeps BiasRows × V float32 logits in memory), with pseudo-count BiasSmoothing. Off by default: measured at
	// σ = 1 it overfits (held-out masked-LM loss 7.02 against 6.65 after the Adam steps; 8,192 slots name too few
	// of the 30,522 ids), see the README.
	// BiasParty is who provides the output bias the cloud's recovery starts from: "cloud" (default; the
	// frequency start above, then the fits) or "client", which sends the public bias permuted by π — the
	// starting point awareness recovery is measured with, but its values match the public bias one for one, so
	// the cloud learns π (recorded as pi_exposed). At σ ≤ 1 the attacks recover π from E_s anyway.
	BiasParty     string  `param:"bias_party"`
	BiasPasses    int     `param:"bias_passes"`
	BiasRows      int     `param:"bias_rows"`
	BiasSmoothing float64 `param:"bias_smoothing"`
	// TableSteps and TableLR: when RecoveryTable, a stage after the bias fit trains E_s (and the bias) alone.
	TableSteps    int     `param:"table_steps"`
	TableLR       float64 `param:"table_lr"`
	FunctionSteps int     `param:"function_steps"`
	FunctionLR    float64 `param:"function_lr"`
	FunctionParty string  `param:"function_party"`
	KDWeight      float64 `param:"kd_weight"`
	KDTopK        int     `param:"kd_topk"`
	// RecoveryTable lets E_s move during recovery; TuneTable lets private tuning train E_s.
	RecoveryTable bool `param:"recovery_table"`
	TuneTable     bool `param:"tune_table"`
	// Attacks runs the privacy attacks (attacks/) on what the cloud saw and adds their results.
	Attacks bool `param:"attacks"`
	// MLMEvalBatches is how many held-out batches measure the masked-LM loss (0 = skip the measurement).
	MLMEvalBatches int `param:"mlm_eval_batches"`
}

// DefaultConfig is the protocol as docs/design.md §3 describes it: π on, awareness recovery of layer 1 on the client,
// function recovery on the cloud with distillation, E_s frozen throughout.
func DefaultConfig() Config {
	return Config{Ops: "gaussian:sigma=1", Horizontal: true,
		AwarenessSteps: 200, AwarenessLR: 1e-3, AwarenessLayer: 1, AwarenessParty: method.Client,
		BiasSteps: 60, BiasLR: 1e-2, BiasParty: method.Cloud, BiasPasses: 0, BiasRows: 8192, BiasSmoothing: 0.1, TableSteps: 60, TableLR: 1e-3, FunctionSteps: 200, FunctionLR: 1e-4, FunctionParty: method.Cloud, KDWeight: 1, KDTopK: 32,
		MLMEvalBatches: 16}
}

// DecodeConfig applies spec parameters over the defaults and validates them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := DefaultConfig()
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("cyphertalk: %w", err)
	}
	return cfg, cfg.Validate()
}

// Validate checks the parameters.
func (c Config) Validate() error {
	if c.KeyFile == "" && c.RandomOps == 0 {
		if _, err := operators.ParseChain(c.Ops); err != nil {
			return fmt.Errorf("cyphertalk: ops: %w", err)
		}
	}
	for name, party := range map[string]string{"awareness_party": c.AwarenessParty, "function_party": c.FunctionParty, "bias_party": c.BiasParty} {
		if party != method.Client && party != method.Cloud {
			return fmt.Errorf("cyphertalk: %s = %q, want client or cloud", name, party)
		}
	}
	switch {
	case c.RandomOps < 0:
		return fmt.Errorf("cyphertalk: random_ops = %d must be >= 0", c.RandomOps)
	case c.BiasSteps < 0 || (c.BiasSteps > 0 && c.BiasLR <= 0):
		return fmt.Errorf("cyphertalk: bias_steps must be >= 0, with bias_lr > 0")
	case c.BiasPasses < 0 || (c.BiasPasses > 0 && (c.BiasRows < 1 || !(c.BiasSmoothing > 0))):
		return fmt.Errorf("cyphertalk: bias_passes must be >= 0, with bias_rows >= 1 and bias_smoothing > 0")
	case c.TableSteps < 0 || (c.TableSteps > 0 && c.TableLR <= 0):
		return fmt.Errorf("cyphertalk: table_steps must be >= 0, with table_lr > 0")
	case c.AwarenessSteps < 0 || c.FunctionSteps < 0:
		return fmt.Errorf("cyphertalk: recovery steps must be >= 0 (awareness %d, function %d)", c.AwarenessSteps, c.FunctionSteps)
	case c.AwarenessSteps > 0 && (c.AwarenessLR <= 0 || c.AwarenessLayer < 1):
		return fmt.Errorf("cyphertalk: awareness recovery needs awareness_lr > 0 and awareness_layer >= 1")
	case c.FunctionSteps > 0 && (c.FunctionLR <= 0 || c.KDWeight < 0 || (c.KDWeight > 0 && c.KDTopK < 1)):
		return fmt.Errorf("cyphertalk: function recovery needs function_lr > 0, kd_weight >= 0 and kd_topk >= 1")
	case c.MLMEvalBatches < 0:
		return fmt.Errorf("cyphertalk: mlm_eval_batches must be >= 0")
	}
	return nil
}

// clientMovesTable reports whether the client's own recovery moves E_s before the cloud receives it (E_s moving
// in recovery, with awareness or function recovery on the client): then the table the cloud holds, and the
// attacks score, is not the shaken one.
func (c Config) clientMovesTable() bool {
	return c.RecoveryTable && ((c.AwarenessSteps > 0 && c.AwarenessParty == method.Client) ||
		(c.FunctionSteps > 0 && c.FunctionParty == method.Client))
}

// RecoveryName describes which recovery phases run ("none", "awareness", "function", "awareness+function").
func (c Config) RecoveryName() string {
	var parts []string
	if c.AwarenessSteps > 0 {
		parts = append(parts, "awareness")
	}
	if c.FunctionSteps > 0 {
		parts = append(parts, "function")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// operatorTags describes a chain for reports: a single operator with one parameter is plotted against that
// parameter's value; anything else is a "chain" (or "none" for π only).
func operatorTags(chain []operators.OpSpec) (name, param string, value float64, ok bool) {
	switch len(chain) {
	case 0:
		return "none", "", 0, false
	case 1:
		if len(chain[0].Params) == 1 {
			for p, v := range chain[0].Params {
				return chain[0].Op, p, v, true
			}
		}
	}
	return "chain", "", 0, false
}
