// Package plaintext owns the "plaintext" method: the reference without privacy. The client uploads its token ids
// as they are, the cloud fine-tunes the public model on them (token table trainable or frozen) and returns the
// logits of the plaintext queries; every cost is booked as for the private methods (experiments/harness), so
// the gap between a private method and this one is the price of its privacy.
package plaintext

import (
	stdctx "context"
	"fmt"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Name is the method's registry name.
const Name = "plaintext"

func init() { method.Register(Method()) }

// Config is the plaintext method's parameters.
type Config struct {
	// Table is "trainable" or "frozen": whether fine-tuning trains the token-embedding table.
	Table string `param:"table"`
}

// Method is the plaintext method.
func Method() harness.Method[Config] {
	return harness.Method[Config]{MethodName: Name, Decode: DecodeConfig, Protocol: Protocol}
}

// DecodeConfig reads the parameters (table defaults to trainable) and checks them.
func DecodeConfig(params map[string]any) (Config, error) {
	cfg := Config{Table: "trainable"}
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", Name, err)
	}
	if cfg.Table != "trainable" && cfg.Table != "frozen" {
		return cfg, fmt.Errorf("%s: table = %q, want trainable or frozen", Name, cfg.Table)
	}
	return cfg, nil
}

// Protocol fine-tunes the setup's public model in place on the plaintext training examples and scores it on the
// plaintext dev queries.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
	res := method.NewResult()
	res.Tags["table"] = cfg.Table
	harness.PrepareTuning(s.Public, cfg.Table == "trainable")
	ledger := harness.NewLedger()
	if err := harness.TuneAndInfer(ctx, env, s, harness.IDProtocol{Model: s.Public},
		harness.FineTuneConfig(run, env.Progress, "private tuning"), ledger, res); err != nil {
		return nil, err
	}
	res.Costs = ledger.Costs()
	return res, nil
}
