package shaking

import (
	stdctx "context"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// implantation is one run of key implantation (phases 2a–2c): the client shakes the public table, awareness
// recovery aligns the lower layers, function recovery (output-bias fit, optional table fit, then the whole
// encoder) adapts the shaken model; each stage books its work to the party that runs it.
type implantation struct {
	env    method.Env
	s      *harness.Setup
	client *Client
	cfg    Config
	seed   uint64
	ledger *harness.Ledger
	imp    *implanted
	shaken *models.Model
	corpus *pretrain.Corpus
	probes *probes
}

func runImplant(ctx stdctx.Context, env method.Env, s *harness.Setup, client *Client, cfg Config, seed uint64) (*models.Model, *implanted, error) {
	p := &implantation{env: env, s: s, client: client, cfg: cfg, seed: seed, ledger: harness.NewLedger(),
		imp: &implanted{Extra: map[string]float64{}}}
	if err := p.shake(); err != nil {
		return nil, nil, err
	}
	if cfg.AwarenessSteps > 0 || cfg.FunctionSteps > 0 || cfg.MLMEvalBatches > 0 {
		var err error
		if p.corpus, err = pretrain.BuildCorpus(env.DataDir, env.Tok, s.Pretrain.PublicTasks); err != nil {
			return nil, nil, err
		}
	}
	p.probes = &probes{env: env, s: s, client: client, cfg: cfg, seed: seed, corpus: p.corpus, extra: p.imp.Extra}
	if err := p.probes.start(p.shaken); err != nil {
		return nil, nil, err
	}
	if cfg.AwarenessSteps > 0 {
		if err := p.awareness(ctx); err != nil {
			return nil, nil, err
		}
	}
	if cfg.FunctionSteps > 0 {
		if err := p.functionRecovery(ctx); err != nil {
			return nil, nil, err
		}
	} else if cfg.AwarenessSteps > 0 {
		probe, err := p.probes.withPublicBias(p.shaken)
		if err != nil {
			return nil, nil, err
		}
		if probe != nil {
			if err := p.probes.recovered(probe); err != nil {
				return nil, nil, err
			}
		}
	}
	p.imp.Costs = p.ledger.Costs()
	env.Log.Debug("key implanted", "extra", p.imp.Extra)
	return p.shaken, p.imp, nil
}

// shake is 2a: the client shakes the public table and sends E_s; the cloud's model starts as the public one
// carrying E_s.
func (p *implantation) shake() error {
	public := p.s.Public
	V, d := public.VocabSize, public.Preset.Hidden
	var shakenTable []float32
	if err := p.ledger.Time(method.PhaseShaking, method.Client, func() error {
		var err error
		shakenTable, err = p.client.ShakeTable()
		return err
	}); err != nil {
		return err
	}
	p.imp.Extra["s_e"] = p.client.Applied().SE
	p.ledger.Send(method.PhaseShaking, method.Client, int64(V*d)*4)
	p.ledger.Units(method.PhaseShaking, V, "rows")
	var err error
	if p.shaken, err = public.Clone(p.seed); err != nil {
		return err
	}
	return p.shaken.SetTokenTable(shakenTable)
}

// awareness is 2b: awareness recovery of layers ≤ k, run by cfg.AwarenessParty. On the client it sends the
// adapted layers (and E_s when it moved); on the cloud the client has to send π(x) with plaintext targets, so
// the cloud learns π.
func (p *implantation) awareness(ctx stdctx.Context) error {
	cfg, imp, public, shaken := p.cfg, p.imp, p.s.Public, p.shaken
	T, d := public.Preset.MaxLen, public.Preset.Hidden
	smp := pretrain.NewSampler(p.corpus, p.s.Pretrain, p.env.Tok, T, false, p.seed^0xa11a)
	var curve []float64
	if err := p.ledger.Time(method.PhaseAwareness, cfg.AwarenessParty, func() error {
		var err error
		curve, err = Awareness(ctx, public, shaken, smp, p.client.Pi, cfg.AwarenessLayer, cfg.RecoveryTable,
			StepConfig{Steps: cfg.AwarenessSteps, LearningRate: cfg.AwarenessLR, Progress: p.env.Progress, Label: "awareness recovery"})
		return err
	}); err != nil {
		return err
	}
	for i, l := range curve {
		imp.Curve = append(imp.Curve, method.CurvePoint{Phase: method.PhaseAwareness, Step: i + 1, Loss: l})
	}
	imp.Extra["awareness_loss_first"], imp.Extra["awareness_loss_last"] = curve[0], curve[len(curve)-1]
	if err := p.probes.stageWithPublicBias("mlm_loss_after_awareness", shaken); err != nil {
		return err
	}
	p.ledger.Units(method.PhaseAwareness, cfg.AwarenessSteps, "steps")
	if cfg.AwarenessParty == method.Client && cfg.RecoveryTable {
		imp.Received = shaken.TokenTable() // the client sends E_s as awareness recovery moved it
	}
	if cfg.AwarenessParty == method.Client {
		layers, err := shaken.Weights(AwarenessScopes(cfg.AwarenessLayer, false)...)
		if err != nil {
			return err
		}
		p.ledger.Send(method.PhaseAwareness, method.Client, layers.Bytes())
		return nil
	}
	// The cloud needs π(x) with plaintext targets for every recovery batch: it learns π.
	imp.PiExposed = true
	B := int64(shaken.Preset.BatchSize)
	p.ledger.Send(method.PhaseAwareness, method.Client, int64(cfg.AwarenessSteps)*B*int64(T)*(4+4+1+1+int64(d)*4))
	p.ledger.Note(method.PhaseAwareness, "run on the cloud: the cloud sees x and π(x), so it learns π")
	return nil
}

// functionRecovery is 2c: function recovery in shaken space on π-encoded public text, run by
// cfg.FunctionParty: the client prepares the uploads, then the output bias starts from the π-id frequencies (or
// the client's π-moved public bias) and is fitted, E_s is fitted when it may move, and the whole model recovers.
func (p *implantation) functionRecovery(ctx stdctx.Context) error {
	cfg, imp := p.cfg, p.imp
	uploads, err := p.recoveryUploads(ctx)
	if err != nil {
		return err
	}
	var curve []float64
	p.probes.measuring = 0 // only the probes inside the function-recovery block are taken off its time
	if err := p.ledger.Time(method.PhaseFunction, cfg.FunctionParty, func() error {
		if err := p.biasFit(ctx, uploads); err != nil {
			return err
		}
		if err := p.tableFit(ctx, uploads); err != nil {
			return err
		}
		var err error
		curve, err = Function(ctx, p.shaken, uploads, cfg.KDWeight, cfg.RecoveryTable,
			StepConfig{Steps: cfg.FunctionSteps, LearningRate: cfg.FunctionLR, Progress: p.env.Progress, Label: "function recovery"})
		return err
	}); err != nil {
		return err
	}
	// The stage probes ran inside the timed block: they are the researcher's, not the party's.
	p.ledger.AddSeconds(method.PhaseFunction, cfg.FunctionParty, -p.probes.measuring.Seconds())
	for i, l := range curve {
		imp.Curve = append(imp.Curve, method.CurvePoint{Phase: method.PhaseFunction, Step: i + 1, Loss: l})
	}
	p.ledger.Units(method.PhaseFunction, cfg.FunctionSteps, "steps")
	if cfg.FunctionParty == method.Client {
		if cfg.RecoveryTable {
			imp.Received = p.shaken.TokenTable()
		}
		// The client sends the whole recovered model instead of the recovery text.
		all, err := p.shaken.Weights()
		if err != nil {
			return err
		}
		p.ledger.Send(method.PhaseFunction, method.Client, all.Bytes())
	}
	return p.probes.recovered(p.shaken)
}

// recoveryUploads is the client's part of function recovery: π-encoded public text with, for distillation, the
// public model's top-k predictions mapped through π. When the cloud recovers, the uploads (and, with
// bias_party = client, the π-moved public bias) are booked as sent.
func (p *implantation) recoveryUploads(ctx stdctx.Context) ([]*Upload, error) {
	cfg, public, client := p.cfg, p.s.Public, p.client
	uploads := make([]*Upload, max(cfg.FunctionSteps, cfg.BiasSteps))
	smp := pretrain.NewSampler(p.corpus, p.s.Pretrain, p.env.Tok, public.Preset.MaxLen, false, p.seed^0xf00d)
	var targets *teacherTargets
	if cfg.KDWeight > 0 {
		var err error
		if targets, err = cachedTeacherTargets(ctx, p.env, p.s, p.seed^0xf00d, len(uploads), cfg.KDTopK); err != nil {
			return nil, err
		}
		p.ledger.AddSeconds(method.PhaseFunction, method.Client, targets.Seconds)
		if targets.cached {
			p.ledger.Note(method.PhaseFunction, "the public model's top-k predictions were computed once for this recovery text and reused (their measured time is booked)")
		}
	}
	_ = p.ledger.Time(method.PhaseFunction, method.Client, func() error {
		for i := range uploads {
			b := smp.Batch(public.Preset.BatchSize)
			u := &Upload{Batch: b, K: cfg.KDTopK}
			if targets != nil {
				u.KDIDs, u.KDProbs = append([]int32(nil), targets.IDs[i]...), targets.Probs[i]
				for j, id := range u.KDIDs {
					u.KDIDs[j] = client.Pi(id)
				}
			}
			b.MapIDs(client.Pi)
			uploads[i] = u
		}
		return nil
	})
	if cfg.FunctionParty == method.Cloud {
		for _, u := range uploads {
			p.ledger.Send(method.PhaseFunction, method.Client, u.Bytes())
		}
		if cfg.BiasParty == method.Client {
			p.imp.PiExposed = true
			p.ledger.Send(method.PhaseFunction, method.Client, int64(public.VocabSize)*4)
			p.ledger.Note(method.PhaseFunction, "the client sent the π-permuted public output bias: its values match the public bias one for one, so the cloud learns π")
		}
	}
	return uploads, nil
}

// biasFit starts the masked-LM output bias (from the π-id frequencies of the uploads, or from the client's
// π-moved public bias with bias_party = client) and fits it to the frozen encoder: iterative scaling passes, then
// Adam steps.
func (p *implantation) biasFit(ctx stdctx.Context, uploads []*Upload) error {
	cfg, public, imp := p.cfg, p.s.Public, p.imp
	V := public.VocabSize
	var start []float32
	if cfg.BiasParty == method.Client {
		publicBias := public.MLMBias()
		if publicBias == nil { // a model whose masked-LM head never ran: its bias is the zero initial value
			publicBias = make([]float32, V)
		}
		start = p.client.PermuteVocabVector(publicBias)
	} else {
		start = UnigramBias(uploads, V)
	}
	if err := p.shaken.SetMLMBias(start); err != nil {
		return err
	}
	if cfg.BiasPasses > 0 && cfg.BiasParty == method.Cloud {
		gisCurve, err := FitOutputBiasGIS(ctx, p.shaken, uploads, cfg.KDWeight,
			GISConfig{Passes: cfg.BiasPasses, Rows: cfg.BiasRows, Smoothing: cfg.BiasSmoothing})
		if err != nil {
			return err
		}
		for i, l := range gisCurve {
			imp.Curve = append(imp.Curve, method.CurvePoint{Phase: "output-bias-scaling", Step: i, Loss: l})
		}
		if err := p.probes.stage("mlm_loss_after_bias_scaling", p.shaken); err != nil {
			return err
		}
	}
	if cfg.BiasSteps > 0 {
		biasCurve, err := FitOutputBias(ctx, p.shaken, uploads, cfg.KDWeight,
			StepConfig{Steps: cfg.BiasSteps, LearningRate: cfg.BiasLR, Progress: p.env.Progress, Label: "output-bias fit"})
		if err != nil {
			return err
		}
		for i, l := range biasCurve {
			imp.Curve = append(imp.Curve, method.CurvePoint{Phase: "output-bias-fit", Step: i + 1, Loss: l})
		}
		if err := p.probes.stage("mlm_loss_after_bias_fit", p.shaken); err != nil {
			return err
		}
	}
	return nil
}

// tableFit trains E_s (and the output bias) alone, when recovery may move the table.
func (p *implantation) tableFit(ctx stdctx.Context, uploads []*Upload) error {
	cfg := p.cfg
	if !cfg.RecoveryTable || cfg.TableSteps == 0 {
		return nil
	}
	tableCurve, err := FitTable(ctx, p.shaken, uploads, cfg.KDWeight,
		StepConfig{Steps: cfg.TableSteps, LearningRate: cfg.TableLR, Progress: p.env.Progress, Label: "shaken-table fit"})
	if err != nil {
		return err
	}
	for i, l := range tableCurve {
		p.imp.Curve = append(p.imp.Curve, method.CurvePoint{Phase: "table-fit", Step: i + 1, Loss: l})
	}
	return p.probes.stage("mlm_loss_after_table_fit", p.shaken)
}
