package shaking

import (
	stdctx "context"
	"fmt"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

func init() {
	method.Register(Plaintext())
	method.Register(CypherTalk())
}

// SetupMethod is a method.Method made of a parameter decoder and a protocol over the shared Setup (the task's data
// split and the public base model): the runner-facing part every method — CypherTalk and its baselines — shares.
// Validate decodes the parameters; Run decodes them, prepares the Setup and runs the protocol.
type SetupMethod[C any] struct {
	MethodName string
	Decode     func(params map[string]any) (C, error)
	Protocol   func(ctx stdctx.Context, env method.Env, run method.Run, s *Setup, cfg C) (*method.Result, error)
}

// Name implements method.Method.
func (m SetupMethod[C]) Name() string { return m.MethodName }

// Validate implements method.Method.
func (m SetupMethod[C]) Validate(params map[string]any) error {
	_, err := m.Decode(params)
	return err
}

// Run implements method.Method.
func (m SetupMethod[C]) Run(ctx stdctx.Context, env method.Env, run method.Run) (*method.Result, error) {
	cfg, err := m.Decode(run.Params)
	if err != nil {
		return nil, err
	}
	s, err := NewSetup(ctx, env, run)
	if err != nil {
		return nil, err
	}
	return m.Protocol(ctx, env, run, s, cfg)
}

// PlaintextConfig is the plaintext method's parameters.
type PlaintextConfig struct {
	// Table is "trainable" or "frozen": whether fine-tuning trains the token-embedding table.
	Table string `param:"table"`
}

// Plaintext is the baseline without privacy: the client uploads its token ids as they are.
func Plaintext() SetupMethod[PlaintextConfig] {
	return SetupMethod[PlaintextConfig]{MethodName: "plaintext", Decode: decodePlaintext, Protocol: plaintextProtocol}
}

func decodePlaintext(params map[string]any) (PlaintextConfig, error) {
	cfg := PlaintextConfig{Table: "trainable"}
	if err := method.DecodeParams(params, &cfg); err != nil {
		return cfg, fmt.Errorf("plaintext: %w", err)
	}
	if cfg.Table != "trainable" && cfg.Table != "frozen" {
		return cfg, fmt.Errorf("plaintext: table = %q, want trainable or frozen", cfg.Table)
	}
	return cfg, nil
}

func plaintextProtocol(ctx stdctx.Context, env method.Env, run method.Run, s *Setup, cfg PlaintextConfig) (*method.Result, error) {
	res := method.NewResult()
	res.Tags["table"] = cfg.Table
	prepareTuning(s.Public, cfg.Table == "trainable")
	ledger := NewLedger()
	identity := func(e *finetune.Encoded) *finetune.Encoded { return e }
	if err := tuneAndInfer(ctx, env, run, s, s.Public, identity, ledger, res); err != nil {
		return nil, err
	}
	res.Costs = ledger.Costs()
	return res, nil
}

// CypherTalk is the paper's method: key generation, shaking, awareness and function recovery, private tuning and
// private inference.
func CypherTalk() SetupMethod[Config] {
	return SetupMethod[Config]{MethodName: "cyphertalk", Decode: DecodeConfig, Protocol: Protocol}
}

// Protocol runs the four phases on a prepared setup and returns the measurements.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *Setup, cfg Config) (*method.Result, error) {
	res := method.NewResult()
	ledger := NewLedger()
	public := s.Public

	// 1: key generation (client).
	start := time.Now()
	key, err := keyFor(cfg, run, public.VocabSize, public.Preset.Hidden, env.Tok.SpecialIDs())
	if err != nil {
		return nil, err
	}
	client, err := NewClient(key, public)
	if err != nil {
		return nil, err
	}
	ledger.AddSeconds(method.PhaseKeyGen, method.Client, time.Since(start).Seconds())
	res.KeyFingerprint = key.Fingerprint()
	name, param, value, single := operatorTags(key.Vertical)
	res.Tags["operator"], res.Tags["ops"] = name, formatChain(key)
	if single {
		res.Tags["operator_param"] = param
		res.Extra["operator_value"] = value
	}
	res.Tags["recovery"] = cfg.RecoveryName()
	res.Tags["table"] = map[bool]string{true: "trainable", false: "frozen"}[cfg.TuneTable]
	res.Tags["horizontal"] = fmt.Sprint(key.Horizontal)

	// 2a–2c: key implantation (cached per key and recipe).
	implantSeed := uint64(cfg.KeySeed)
	if implantSeed == 0 {
		implantSeed = run.Seed
	}
	cloudModel, imp, err := implantKey(ctx, env, s, client, cfg, implantSeed)
	if err != nil {
		return nil, err
	}
	for _, c := range imp.Costs {
		if imp.FromCache {
			c.Note = joinNote(c.Note, "measured when this key was first implanted (cached)")
		}
		res.Costs = append(res.Costs, c)
	}
	res.Curve = append(res.Curve, imp.Curve...)
	for k, v := range imp.Extra {
		res.Extra[k] = v
	}
	if imp.PiExposed {
		res.Tags["pi_exposed"] = "true"
	}

	// 3 and 4: private tuning and inference on the cloud's model, with a fresh task head.
	tuned, err := cloudModel.Clone(run.Seed)
	if err != nil {
		return nil, err
	}
	prepareTuning(tuned, cfg.TuneTable)
	if err := tuneAndInfer(ctx, env, run, s, tuned, client.EncodeData, ledger, res); err != nil {
		return nil, err
	}
	if cfg.Attacks {
		counts, err := PublicCounts(env, s)
		if err != nil {
			return nil, err
		}
		if res.Attacks, err = Attack(ctx, env, s, client, counts, imp.Received); err != nil {
			return nil, err
		}
	}
	// Order the phases as the protocol runs them: key generation, implantation, tuning, inference.
	own := ledger.Costs()
	res.Costs = append(append(own[:1:1], res.Costs...), own[1:]...)
	return res, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// formatChain describes a key's operators without its secret: the vertical chain, then "π" if it permutes.
func formatChain(k operators.Key) string {
	s := operators.FormatChain(k.Vertical)
	switch {
	case !k.Horizontal:
		return s
	case s == "":
		return "π"
	default:
		return s + ";π"
	}
}
