package experiments

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// fakeMethod is a test-only method: it validates its parameters strictly and returns a result computed from the
// run, so tests can check what the runner wrote. hook, if set, runs first and may fail or block.
type fakeMethod struct {
	name   string
	params func() any // a fresh pointer to the parameter struct (method.DecodeParams target)
	check  func(p any) error

	mu    sync.Mutex
	hook  func(ctx context.Context, run method.Run) error
	calls atomic.Int64
}

func (f *fakeMethod) Name() string { return f.name }

func (f *fakeMethod) Validate(params map[string]any) error {
	p := f.params()
	if err := method.DecodeParams(params, p); err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	if f.check != nil {
		return f.check(p)
	}
	return nil
}

func (f *fakeMethod) setHook(h func(ctx context.Context, run method.Run) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

func (f *fakeMethod) Run(ctx context.Context, env method.Env, run method.Run) (*method.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, run); err != nil {
			return nil, err
		}
	}
	if err := f.Validate(run.Params); err != nil {
		return nil, err
	}
	res := method.NewResult()
	res.Metrics["accuracy"] = 0.5 + float64(run.Seed)/100 + float64(run.MaxTrain)/1e6
	res.Extra["params"] = float64(len(run.Params))
	res.Tags["run"] = run.ID
	res.Costs = []method.Cost{
		{Phase: method.PhaseKeyGen, ClientSeconds: 0.01},
		{Phase: method.PhasePrivateTuning, ClientSeconds: 0.1, CloudSeconds: 1, BytesToCloud: int64(run.MaxTrain)},
	}
	res.Curve = []method.CurvePoint{{Phase: method.PhasePrivateTuning, Step: 1, Loss: 0.7}, {Phase: method.PhasePrivateTuning, Step: 2, Loss: 0.6}}
	if eps, ok := run.Params["epsilon"].(float64); ok {
		res.Epsilon, res.Delta = eps, 1e-5
	}
	res.TrainExamples, res.EvalExamples = run.MaxTrain, run.MaxEval
	return res, nil
}

type fakeParams struct {
	Sigma   float64 `param:"sigma"`
	Steps   int     `param:"steps"`
	Table   string  `param:"table"`
	Epsilon float64 `param:"epsilon"`
	Layers  []int   `param:"layers"`
}

// plaintextParams and cyphertalkParams are the parameter names the real methods take (issue 4's contract), so
// that the shipped specs are checked against them here; cmd/cyphertalk's TestShippedSpecsWithRealMethods checks
// them against the real methods.
type plaintextParams struct {
	Table string `param:"table"`
}

type cyphertalkParams struct {
	Ops            string  `param:"ops"`
	KeySeed        int64   `param:"key_seed"`
	Horizontal     bool    `param:"horizontal"`
	AwarenessSteps int     `param:"awareness_steps"`
	AwarenessLR    float64 `param:"awareness_lr"`
	AwarenessLayer int     `param:"awareness_layer"`
	AwarenessParty string  `param:"awareness_party"`
	FunctionSteps  int     `param:"function_steps"`
	FunctionLR     float64 `param:"function_lr"`
	FunctionParty  string  `param:"function_party"`
	KDWeight       float64 `param:"kd_weight"`
	RecoveryTable  bool    `param:"recovery_table"`
	TuneTable      bool    `param:"tune_table"`
	MLMEvalBatches int     `param:"mlm_eval_batches"`
	BiasSteps      int     `param:"bias_steps"`
	BiasLR         float64 `param:"bias_lr"`
	TableSteps     int     `param:"table_steps"`
	TableLR        float64 `param:"table_lr"`
	KDTopK         int     `param:"kd_topk"`
	RandomOps      int     `param:"random_ops"`
	KeyFile        string  `param:"key_file"`
	Attacks        bool    `param:"attacks"`
}

// dpParams are the parameter names of the DP baselines the shipped figure specs use (dp-forward, dp-sgd, dx-text); the
// real methods check them in cmd/cyphertalk's TestShippedSpecsWithRealMethods.
type dpParams struct {
	Epsilon  float64 `param:"epsilon"`
	Delta    float64 `param:"delta"`
	Clip     float64 `param:"clip"`
	Layer    int     `param:"layer"`
	Table    string  `param:"table"`
	Attacks  bool    `param:"attacks"`
	Sampling string  `param:"sampling"`
}

// cryptoParams are the crypto baselines' parameter names the smoke spec uses (he-ckks, mpc-2pc).
type cryptoParams struct {
	InferenceExamples int     `param:"inference_examples"`
	TuningSteps       int     `param:"tuning_steps"`
	DistillEpochs     int     `param:"distill_epochs"`
	Parameters        string  `param:"parameters"`
	Buckets           []int   `param:"buckets"`
	LogitTolerance    float64 `param:"logit_tolerance"`
}

var (
	fakeDPForward = &fakeMethod{name: "dp-forward", params: func() any { return &dpParams{} }}
	fakeDPSGD     = &fakeMethod{name: "dp-sgd", params: func() any { return &dpParams{} }}
	fakeDXText    = &fakeMethod{name: "dx-text", params: func() any { return &dpParams{} }}
	fakeHECKKS    = &fakeMethod{name: "he-ckks", params: func() any { return &cryptoParams{} }}
	fakeMPC2PC    = &fakeMethod{name: "mpc-2pc", params: func() any { return &cryptoParams{} }}
	fakeBOW       = &fakeMethod{name: "bow", params: func() any { return &struct{}{} }}
	fake          = &fakeMethod{name: "fake", params: func() any { return &fakeParams{} }, check: func(p any) error {
		fp := p.(*fakeParams)
		if fp.Sigma < 0 || math.IsNaN(fp.Sigma) {
			return fmt.Errorf("fake: sigma = %v must be >= 0", fp.Sigma)
		}
		return nil
	}}
	fakePlaintext = &fakeMethod{name: "plaintext", params: func() any { return &plaintextParams{} }, check: func(p any) error {
		if t := p.(*plaintextParams).Table; t != "" && !slices.Contains([]string{"trainable", "frozen"}, t) {
			return fmt.Errorf("plaintext: table %q: want trainable or frozen", t)
		}
		return nil
	}}
	fakeCyphertalk = &fakeMethod{name: "cyphertalk", params: func() any { return &cyphertalkParams{} }}
)

func init() {
	method.Register(fake)
	method.Register(fakePlaintext)
	method.Register(fakeCyphertalk)
	method.Register(fakeDPForward)
	method.Register(fakeDPSGD)
	method.Register(fakeDXText)
	method.Register(fakeHECKKS)
	method.Register(fakeMPC2PC)
	method.Register(fakeBOW)
}
