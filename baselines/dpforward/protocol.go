package dpforward

import (
	stdctx "context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // gomlx's idiomatic dot-import
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/internal/progress"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/shaking"
)

// Protocol runs private tuning and private inference on a prepared setup (its public model is fine-tuned in
// place) and returns the measurements.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *shaking.Setup, cfg Config) (*method.Result, error) {
	m := s.Public
	p := m.Preset
	if cfg.Layer > p.Layers {
		return nil, fmt.Errorf("dp-forward: layer = %d, but preset %s has %d layers", cfg.Layer, p.Name, p.Layers)
	}
	n := len(s.Data.Train)
	if n == 0 {
		return nil, fmt.Errorf("dp-forward: no training examples")
	}
	delta := cfg.Delta
	if delta == 0 {
		delta = 1 / float64(n)
	}
	sigma, err := NoiseStd(cfg.Epsilon, delta, cfg.Clip)
	if err != nil {
		return nil, err
	}
	ftCfg := finetune.DefaultConfig()
	if run.Epochs > 0 {
		ftCfg.Epochs = run.Epochs
	}
	if run.LearningRate > 0 {
		ftCfg.LearningRate = run.LearningRate
	}
	trainable := cfg.Table == "trainable"
	releases := 1
	if trainable {
		releases = ftCfg.Epochs
	}
	epsilon, err := ComposedEpsilon(cfg.Epsilon, delta, cfg.Clip, sigma, releases)
	if err != nil {
		return nil, err
	}

	res := method.NewResult()
	res.Epsilon, res.Delta = epsilon, delta
	res.Tags["mechanism"] = "dp-forward"
	res.Tags["table"] = cfg.Table
	res.Tags["privacy"] = "local"
	res.Extra["noise_std"] = sigma
	res.Extra["clip"] = cfg.Clip
	res.Extra["noise_layer"] = float64(cfg.Layer)
	res.Extra["epsilon_per_upload"] = cfg.Epsilon
	res.Extra["releases_per_sequence"] = float64(releases)

	scopes := models.UpperScopes(cfg.Layer, p.Layers)
	if trainable {
		scopes = append(scopes, models.LowerScopes(cfg.Layer)...)
	}
	m.SetTrainableScopes(scopes...)
	client, err := NewClient(m, cfg.Layer, cfg.Clip, sigma)
	if err != nil {
		return nil, err
	}
	defer client.Finalize()
	sp := &split{env: env, run: run, s: s, m: m, client: client, cfg: cfg, ft: ftCfg, ledger: shaking.NewLedger(), res: res, public: m}
	if err := sp.tune(ctx, trainable); err != nil {
		return nil, err
	}
	if err := sp.infer(ctx); err != nil {
		return nil, err
	}
	res.Costs = sp.ledger.Costs()
	if cfg.Attacks {
		if res.Attacks, err = attack(ctx, env, s, sp.public, sp.seen); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// split runs the two parties of one dp-forward run.
type split struct {
	env    method.Env
	run    method.Run
	s      *shaking.Setup
	m      *models.Model
	client *Client
	cfg    Config
	ft     finetune.Config
	ledger *shaking.Ledger
	res    *method.Result
	// seen keeps the uploads the cloud received, for the attacks (only when cfg.Attacks).
	seen []observed
	// public is the public model the attacker knows: m itself, or a copy taken before tuning when the client's
	// part is trainable (m then moves away from it).
	public *models.Model
}

// uploadBytes is what sending rows noisy [rows,T,d] float32 outputs costs, with one mask byte per position and,
// in tuning, a 4-byte label per row.
func uploadBytes(rows, T, d int, labels bool) int64 {
	b := int64(rows) * int64(T) * (int64(d)*4 + 1)
	if labels {
		b += int64(rows) * 4
	}
	return b
}

// tune is phase 3: the client perturbs, the cloud fine-tunes its part (and, when trainable, hands the gradient at
// the cut back to the client, which fine-tunes its part).
func (sp *split) tune(ctx stdctx.Context, trainable bool) error {
	const phase = method.PhasePrivateTuning
	p, info := sp.m.Preset, sp.s.Data.Info
	B, T, d, k := p.BatchSize, p.MaxLen, p.Hidden, finetune.NumOutputs(info)
	var train *finetune.Encoded
	_ = sp.ledger.Time(phase, method.Client, func() error {
		train = finetune.Encode(sp.env.Tok, sp.s.Data.Train, T)
		return nil
	})
	if train.N < B {
		return fmt.Errorf("dp-forward: %d training examples is fewer than one batch of %d", train.N, B)
	}
	perEpoch := train.N / B
	total := perEpoch * sp.ft.Epochs
	optim := models.Optim{LearningRate: sp.ft.LearningRate, WarmupSteps: int(sp.ft.WarmupFrac * float64(total)),
		TotalSteps: total, WeightDecay: sp.ft.WeightDecay, ClipNorm: 1}
	layer := sp.cfg.Layer
	cloudOptim := optim
	cloudOptim.Scope = "adam_dpforward_cloud"
	cloud, err := newTrainStep(sp.m, cloudOptim, true, func(c *context.Context, in []*Node) (*Node, []*Node) {
		loss := finetune.TaskLoss(upperLogits(sp.m, c, in[0], in[1], layer, k), in[2], in[3], k)
		if trainable {
			return loss, []*Node{in[0]} // the gradient at the cut goes back to the client
		}
		return loss, nil
	})
	if err != nil {
		return err
	}
	defer cloud.finalize()
	var clientStep *trainStep
	if trainable {
		clientOptim := optim
		clientOptim.Scope = "adam_dpforward_client"
		// The client's backward pass: the gradient of Σ clip(lower(x))·g_cut is the chain rule through its part.
		// No dropout, so that it differentiates exactly the forward pass that produced the upload.
		clientStep, err = newTrainStep(sp.m, clientOptim, false, func(c *context.Context, in []*Node) (*Node, []*Node) {
			return ReduceAllSum(Mul(sp.client.clippedLower(c, in[:3]), in[3])), nil
		})
		if err != nil {
			return err
		}
		defer clientStep.finalize()
	}

	rng := NoiseRNG(sp.run.Seed, "train")
	var uploads []float32 // frozen: every training sequence perturbed once
	if !trainable {
		if err := sp.ledger.Time(phase, method.Client, func() error {
			uploads, err = sp.client.PerturbAll(train, rng)
			return err
		}); err != nil {
			return err
		}
		sp.ledger.Send(phase, method.Client, uploadBytes(train.N, T, d, true))
		if sp.cfg.Attacks {
			sp.seen = append(sp.seen, observed{enc: train, vectors: uploads})
		}
	}
	// With split learning every epoch sends fresh noisy outputs; the attacks see the first epoch's.
	var firstEpoch observed
	if trainable && sp.cfg.Attacks {
		firstEpoch = observed{enc: train, vectors: make([]float32, train.N*T*d), uploaded: make([]bool, train.N)}
		// The client's graph creates any variable the loaded model lacks; then the copy has them all.
		if _, err := sp.client.Clipped(train, []int{0}); err != nil {
			return err
		}
		if sp.public, err = sp.m.Clone(sp.run.Seed); err != nil {
			return fmt.Errorf("dp-forward: keeping the public model for the attacks: %w", err)
		}
	}

	order := rowRange(0, train.N)
	shuffle := rand.New(rand.NewPCG(sp.run.Seed, 0x5eed))
	var bar *progress.Bar
	if sp.env.Progress {
		bar = progress.New(total, fmt.Sprintf("%s dp-forward tuning", sp.run.Task))
	}
	for epoch := range sp.ft.Epochs {
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var sum float64
		for st := range perEpoch {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("dp-forward tuning interrupted in epoch %d: %w", epoch+1, err)
			}
			idx := order[st*B : (st+1)*B]
			batch := train.Batch(idx, B, k == 1) // ids, segments, mask, labels, weights
			var x *tensors.Tensor
			if trainable {
				if err := sp.ledger.Time(phase, method.Client, func() error {
					up, err := sp.client.Perturb(train, idx, rng)
					if err != nil {
						return err
					}
					x = tensors.FromFlatDataAndDimensions(up, B, T, d)
					if epoch == 0 && firstEpoch.uploaded != nil {
						for r, i := range idx {
							copy(firstEpoch.vectors[i*T*d:(i+1)*T*d], up[r*T*d:(r+1)*T*d])
							firstEpoch.uploaded[i] = true
						}
					}
					return nil
				}); err != nil {
					return err
				}
				sp.ledger.Send(phase, method.Client, uploadBytes(len(idx), T, d, true))
			} else {
				x = gatherRows(uploads, idx, B, T, d)
			}
			var loss float32
			var cut []*tensors.Tensor
			if err := sp.ledger.Time(phase, method.Cloud, func() error {
				var err error
				loss, cut, err = cloud.run(x, batch[2], batch[3], batch[4])
				return err
			}); err != nil {
				return err
			}
			if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
				return fmt.Errorf("dp-forward tuning: loss is %v at epoch %d step %d", loss, epoch+1, st)
			}
			if trainable {
				sp.ledger.Send(phase, method.Cloud, int64(len(idx))*int64(T)*int64(d)*4)
				if err := sp.ledger.Time(phase, method.Client, func() error {
					_, _, err := clientStep.run(batch[0], batch[1], batch[2], cut[0])
					cut[0].FinalizeAll()
					return err
				}); err != nil {
					return err
				}
			}
			sum += float64(loss)
			bar.Add(1)
		}
		sp.res.Curve = append(sp.res.Curve, method.CurvePoint{Phase: phase, Step: (epoch + 1) * perEpoch, Loss: sum / float64(perEpoch)})
	}
	bar.Finish()
	if firstEpoch.uploaded != nil {
		sp.seen = append(sp.seen, firstEpoch)
	}
	sp.ledger.Units(phase, sp.ft.Epochs, "epochs")
	if trainable {
		sp.ledger.Note(phase, "split learning: fresh noisy uploads every step, the gradient at the cut sent back; labels and masks in the clear")
	} else {
		sp.ledger.Note(phase, "each training sequence perturbed and uploaded once; labels and masks in the clear")
	}
	sp.res.TrainExamples = train.N
	return nil
}

// infer is phase 4: the client perturbs each query once, the cloud returns logits, the client scores them.
func (sp *split) infer(ctx stdctx.Context) error {
	const phase = method.PhasePrivateInference
	p, info := sp.m.Preset, sp.s.Data.Info
	B, T, d, k := p.BatchSize, p.MaxLen, p.Hidden, finetune.NumOutputs(info)
	var query *finetune.Encoded
	var uploads []float32
	if err := sp.ledger.Time(phase, method.Client, func() error {
		query = finetune.Encode(sp.env.Tok, sp.s.Data.Dev, T)
		var err error
		uploads, err = sp.client.PerturbAll(query, NoiseRNG(sp.run.Seed, "inference"))
		return err
	}); err != nil {
		return err
	}
	sp.ledger.Send(phase, method.Client, uploadBytes(query.N, T, d, false))
	if sp.cfg.Attacks {
		sp.seen = append(sp.seen, observed{enc: query, vectors: uploads})
	}
	layer := sp.cfg.Layer
	logits := make([]float32, 0, query.N*k)
	if err := sp.ledger.Time(phase, method.Cloud, func() error {
		pred, err := sp.m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
			return []*Node{upperLogits(sp.m, c, in[0], in[1], layer, k)}
		})
		if err != nil {
			return err
		}
		defer pred.Finalize()
		for s := 0; s < query.N; s += B {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("dp-forward inference interrupted: %w", err)
			}
			idx := rowRange(s, min(s+B, query.N))
			outs, err := pred.Run(gatherRows(uploads, idx, B, T, d), query.Batch(idx, B, k == 1)[2])
			if err != nil {
				return err
			}
			flat := tensors.MustCopyFlatData[float32](outs[0])
			outs[0].FinalizeAll()
			logits = append(logits, flat[:len(idx)*k]...)
		}
		return nil
	}); err != nil {
		return err
	}
	sp.ledger.Send(phase, method.Cloud, int64(len(logits))*4)
	return sp.ledger.Time(phase, method.Client, func() error {
		metrics, err := finetune.Score(info, finetune.PredictionsFromLogits(logits, query.N), query.Labels)
		if err != nil {
			return err
		}
		sp.res.Metrics = metrics
		sp.res.EvalExamples = query.N
		sp.ledger.Units(phase, query.N, "examples")
		sp.ledger.Note(phase, "each query perturbed once (noise std "+strconv.FormatFloat(sp.client.Sigma(), 'g', 4, 64)+"); masks in the clear")
		return nil
	})
}
