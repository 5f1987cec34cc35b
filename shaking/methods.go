package shaking

import (
	stdctx "context"
	"fmt"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

func init() { method.Register(CypherTalk()) }

// CypherTalk is the paper's method: key generation, shaking, awareness and function recovery, private tuning and
// private inference.
func CypherTalk() harness.Method[Config] {
	return harness.Method[Config]{MethodName: "cyphertalk", Decode: DecodeConfig, Protocol: Protocol}
}

// Protocol runs the four phases on a prepared setup and returns the measurements.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
	res := method.NewResult()
	ledger := harness.NewLedger()
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
	harness.PrepareTuning(tuned, cfg.TuneTable)
	encode := func(e *finetune.Encoded) (*finetune.Encoded, error) { return client.EncodeData(e), nil }
	if err := harness.TuneAndInfer(ctx, env, s, harness.IDProtocol{Model: tuned, EncodeTrain: encode, EncodeQueries: encode},
		harness.FineTuneConfig(run, env.Progress, "private tuning"), ledger, res); err != nil {
		return nil, err
	}
	if cfg.Attacks {
		counts, err := harness.PublicCounts(env, s)
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
