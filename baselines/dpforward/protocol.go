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

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/train"
)

// Protocol runs private tuning and private inference on a prepared setup (its public model is fine-tuned in
// place) and returns the measurements.
func Protocol(ctx stdctx.Context, env method.Env, run method.Run, s *harness.Setup, cfg Config) (*method.Result, error) {
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
	if n < p.BatchSize {
		return nil, fmt.Errorf("dp-forward: %d training examples is fewer than one batch of %d", n, p.BatchSize)
	}
	ftCfg := harness.FineTuneConfig(run, env.Progress, "dp-forward tuning")
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
	sp := &split{env: env, run: run, s: s, m: m, client: client, cfg: cfg, trainable: trainable, public: m}
	ledger := harness.NewLedger()
	if _, err := harness.PrivateTuning(ctx, env, s, p.MaxLen, harness.Tuning[*upload]{Encode: sp.encodeTrain, Bytes: sp.trainBytes,
		Train: sp.train, Note: sp.tuningNote()}, ftCfg, ledger, res); err != nil {
		return nil, err
	}
	if sp.firstEpoch.uploaded != nil {
		sp.seen = append(sp.seen, sp.firstEpoch)
	}
	if _, err := harness.PrivateInference(ctx, env, s, p.MaxLen, harness.Inference[*upload]{Encode: sp.encodeQueries, Bytes: sp.queryBytes,
		Predict: sp.predict, Note: "each query perturbed once (noise std " + strconv.FormatFloat(sigma, 'g', 4, 64) + "); masks in the clear"},
		ledger, res); err != nil {
		return nil, err
	}
	res.Costs = ledger.Costs()
	if cfg.Attacks {
		if res.Attacks, err = attack(ctx, env, s, sp.public, sp.seen); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// split runs the two parties of one dp-forward run.
type split struct {
	env       method.Env
	run       method.Run
	s         *harness.Setup
	m         *models.Model
	client    *Client
	cfg       Config
	trainable bool
	// rng draws the training uploads' noise (all at once when frozen, step by step in split learning).
	rng *rand.Rand
	// seen keeps the uploads the cloud received, for the attacks (only when cfg.Attacks); firstEpoch is split
	// learning's first epoch of uploads, kept for them.
	seen       []observed
	firstEpoch observed
	// public is the public model the attacker knows: m itself, or a copy taken before tuning when the client's
	// part is trainable (m then moves away from it).
	public *models.Model
}

// upload is what the client sends of a set of sequences: the encoded sequences (their masks travel in the clear;
// the ids never leave the client) and their noisy [N,T,d] outputs, nil in split learning, where each step sends
// fresh ones.
type upload struct {
	enc     *finetune.Encoded
	vectors []float32
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

// encodeTrain is the client's part of phase 3 before training: with a frozen client part, every training
// sequence perturbed once.
func (sp *split) encodeTrain(train *finetune.Encoded) (*upload, error) {
	sp.rng = NoiseRNG(sp.run.Seed, "train")
	u := &upload{enc: train}
	if sp.trainable {
		return u, nil
	}
	var err error
	if u.vectors, err = sp.client.PerturbAll(train, sp.rng); err != nil {
		return nil, err
	}
	if sp.cfg.Attacks {
		sp.seen = append(sp.seen, observed{enc: train, vectors: u.vectors})
	}
	return u, nil
}

// trainBytes is the upload's cost before training (split learning books its uploads step by step).
func (sp *split) trainBytes(u *upload) int64 {
	if u.vectors == nil {
		return 0
	}
	p := sp.m.Preset
	return uploadBytes(u.enc.N, p.MaxLen, p.Hidden, true)
}

func (sp *split) tuningNote() string {
	if sp.trainable {
		return "split learning: fresh noisy uploads every step, the gradient at the cut sent back; labels and masks in the clear"
	}
	return "each training sequence perturbed and uploaded once; labels and masks in the clear"
}

// train is phase 3's training: the cloud fine-tunes its part on the uploads (and, when trainable, hands the
// gradient at the cut back to the client, which perturbs afresh every step and fine-tunes its part; those steps
// and uploads are booked to the client here).
func (sp *split) train(ctx stdctx.Context, u *upload, ft finetune.Config, ledger *harness.Ledger) ([]method.CurvePoint, error) {
	const phase = method.PhasePrivateTuning
	p, info := sp.m.Preset, sp.s.Data.Info
	B, T, d, k := p.BatchSize, p.MaxLen, p.Hidden, finetune.NumOutputs(info)
	data, trainable := u.enc, sp.trainable
	perEpoch := data.N / B
	total := perEpoch * ft.Epochs
	optim := models.Optim{LearningRate: ft.LearningRate, WarmupSteps: int(ft.WarmupFrac * float64(total)),
		TotalSteps: total, WeightDecay: ft.WeightDecay, ClipNorm: 1}
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
		return nil, err
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
			return nil, err
		}
		defer clientStep.finalize()
	}

	// With split learning every epoch sends fresh noisy outputs; the attacks see the first epoch's.
	if trainable && sp.cfg.Attacks {
		sp.firstEpoch = observed{enc: data, vectors: make([]float32, data.N*T*d), uploaded: make([]bool, data.N)}
		// The client's graph creates any variable the loaded model lacks; then the copy has them all.
		if _, err := sp.client.Clipped(data, []int{0}); err != nil {
			return nil, err
		}
		if sp.public, err = sp.m.Clone(sp.run.Seed); err != nil {
			return nil, fmt.Errorf("dp-forward: keeping the public model for the attacks: %w", err)
		}
	}

	// The loop is the one training loop (models/train); DP-Forward is its step: the client's noisy forward pass
	// (once for all sequences when frozen, fresh for each batch in split learning), then the cloud's step on it.
	rows := train.NewShuffled(data.N, B, rand.New(rand.NewPCG(sp.run.Seed, 0x5eed)))
	loop := train.Loop[[]int]{Name: "dp-forward tuning", Steps: total, StepsPerEpoch: perEpoch,
		Progress: sp.env.Progress, Label: fmt.Sprintf("%s dp-forward tuning", sp.run.Task),
		Batches: func(step int) ([]int, error) { return rows.Rows(step), nil },
		Step: func(_ stdctx.Context, step int, idx []int) (train.Output, error) {
			epoch := step / perEpoch
			batch := data.Batch(idx, B, k == 1) // ids, segments, mask, labels, weights
			var x *tensors.Tensor
			if trainable {
				if err := ledger.Time(phase, method.Client, func() error {
					up, err := sp.client.Perturb(data, idx, sp.rng)
					if err != nil {
						return err
					}
					x = tensors.FromFlatDataAndDimensions(up, B, T, d)
					if epoch == 0 && sp.firstEpoch.uploaded != nil {
						for r, i := range idx {
							copy(sp.firstEpoch.vectors[i*T*d:(i+1)*T*d], up[r*T*d:(r+1)*T*d])
							sp.firstEpoch.uploaded[i] = true
						}
					}
					return nil
				}); err != nil {
					return train.Output{}, err
				}
				ledger.Send(phase, method.Client, uploadBytes(len(idx), T, d, true))
			} else {
				x = gatherRows(u.vectors, idx, B, T, d)
			}
			loss, cut, err := cloud.run(x, batch[2], batch[3], batch[4])
			if err != nil {
				return train.Output{}, err
			}
			if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
				return train.Output{}, fmt.Errorf("dp-forward tuning: loss is %v at epoch %d step %d", loss, epoch+1, step%perEpoch)
			}
			if trainable {
				ledger.Send(phase, method.Cloud, int64(len(idx))*int64(T)*int64(d)*4)
				if err := ledger.Time(phase, method.Client, func() error {
					_, _, err := clientStep.run(batch[0], batch[1], batch[2], cut[0])
					cut[0].FinalizeAll()
					return err
				}); err != nil {
					return train.Output{}, err
				}
			}
			return train.Output{Loss: float64(loss)}, nil
		}}
	res, err := loop.Run(ctx)
	if err != nil {
		return nil, err
	}
	curve := make([]method.CurvePoint, len(res.Curve))
	for i, p := range res.Curve {
		curve[i] = method.CurvePoint{Phase: phase, Step: p.Step, Loss: p.Loss}
	}
	return curve, nil
}

// encodeQueries is the client's part of phase 4: each query perturbed once.
func (sp *split) encodeQueries(query *finetune.Encoded) (*upload, error) {
	vectors, err := sp.client.PerturbAll(query, NoiseRNG(sp.run.Seed, "inference"))
	if err != nil {
		return nil, err
	}
	if sp.cfg.Attacks {
		sp.seen = append(sp.seen, observed{enc: query, vectors: vectors})
	}
	return &upload{enc: query, vectors: vectors}, nil
}

func (sp *split) queryBytes(u *upload) int64 {
	p := sp.m.Preset
	return uploadBytes(u.enc.N, p.MaxLen, p.Hidden, false)
}

// predict is the cloud's part of phase 4: its part of the model on the noisy uploads, batch by batch.
func (sp *split) predict(ctx stdctx.Context, u *upload) ([]float32, error) {
	p, info := sp.m.Preset, sp.s.Data.Info
	B, T, d, k := p.BatchSize, p.MaxLen, p.Hidden, finetune.NumOutputs(info)
	query, layer := u.enc, sp.cfg.Layer
	logits := make([]float32, 0, query.N*k)
	pred, err := sp.m.NewPredictor(func(c *context.Context, in []*Node) []*Node {
		return []*Node{upperLogits(sp.m, c, in[0], in[1], layer, k)}
	})
	if err != nil {
		return nil, err
	}
	defer pred.Finalize()
	for s := 0; s < query.N; s += B {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dp-forward inference interrupted: %w", err)
		}
		idx := rowRange(s, min(s+B, query.N))
		outs, err := pred.Run(gatherRows(u.vectors, idx, B, T, d), query.Batch(idx, B, k == 1)[2])
		if err != nil {
			return nil, err
		}
		flat := tensors.MustCopyFlatData[float32](outs[0])
		outs[0].FinalizeAll()
		logits = append(logits, flat[:len(idx)*k]...)
	}
	return logits, nil
}
