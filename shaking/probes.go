package shaking

import (
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// probes are the researcher's measurements of key implantation, made with the key and outside the protocol: the
// held-out masked-LM loss, in shaken space, of the public model, of the shaken model and after each recovery
// stage. Their time is booked to neither party. They record into extra and are off when cfg.MLMEvalBatches = 0.
type probes struct {
	env    method.Env
	s      *harness.Setup
	client *Client
	cfg    Config
	seed   uint64
	corpus *pretrain.Corpus
	extra  map[string]float64
	// measuring is the time the stage probes took since the last reset (taken off the time of a party's block
	// they ran inside).
	measuring time.Duration
}

func (p *probes) on() bool { return p.cfg.MLMEvalBatches > 0 }

// heldLoss is m's held-out masked-LM loss on public text with its ids mapped through pi (nil: plaintext ids).
func (p *probes) heldLoss(m *models.Model, pi func(int32) int32) (float64, error) {
	T := p.s.Public.Preset.MaxLen
	return pretrain.HeldOutLossMapped(m, pretrain.NewSampler(p.corpus, p.s.Pretrain, p.env.Tok, T, true, 7), p.cfg.MLMEvalBatches, pi)
}

// withPublicBias is a copy of shaken carrying the public masked-LM output bias moved by π, or nil when the public
// model has no masked-LM bias (or the probes are off).
func (p *probes) withPublicBias(shaken *models.Model) (*models.Model, error) {
	public := p.s.Public
	if !p.on() || public.MLMBias() == nil {
		return nil, nil
	}
	probe, err := shaken.Clone(p.seed)
	if err != nil {
		return nil, err
	}
	if err := probe.SetMLMBias(p.client.PermuteVocabVector(public.MLMBias())); err != nil {
		return nil, err
	}
	return probe, nil
}

// start records mlm_loss_base (the public model) and mlm_loss_shaken (the shaken model with the public bias
// moved by π) before any recovery.
func (p *probes) start(shaken *models.Model) error {
	if !p.on() || p.s.Public.MLMBias() == nil {
		return nil
	}
	var err error
	if p.extra["mlm_loss_base"], err = p.heldLoss(p.s.Public, nil); err != nil {
		return err
	}
	probe, err := p.withPublicBias(shaken)
	if err != nil {
		return err
	}
	p.extra["mlm_loss_shaken"], err = p.heldLoss(probe, p.client.Pi)
	return err
}

// stage records name = m's held-out loss in shaken space after a recovery stage and counts its time in measuring.
func (p *probes) stage(name string, m *models.Model) error {
	if !p.on() {
		return nil
	}
	start := time.Now()
	l, err := p.heldLoss(m, p.client.Pi)
	p.extra[name] = l
	p.measuring += time.Since(start)
	return err
}

// stageWithPublicBias is stage on a copy of shaken carrying the π-moved public bias (awareness recovery leaves the
// output bias alone); nothing when the public model has none.
func (p *probes) stageWithPublicBias(name string, shaken *models.Model) error {
	probe, err := p.withPublicBias(shaken)
	if err != nil || probe == nil {
		return err
	}
	return p.stage(name, probe)
}

// recovered records mlm_loss_recovered: the loss of m in shaken space after the last recovery stage.
func (p *probes) recovered(m *models.Model) error {
	if !p.on() {
		return nil
	}
	var err error
	p.extra["mlm_loss_recovered"], err = p.heldLoss(m, p.client.Pi)
	return err
}
