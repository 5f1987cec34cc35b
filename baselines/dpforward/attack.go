package dpforward

import (
	stdctx "context"
	"fmt"
	"time"

	"github.com/cyphertalk/cyphertalk-go/attacks"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// observed is one set of noisy uploads the cloud received: the encoded sequences (the ground truth, and the
// layout the cloud sees — masks and segments are sent in the clear) and their noisy [N,T,d] outputs.
// uploaded[i] is false for a sequence that was never sent (nil: all were).
type observed struct {
	enc      *finetune.Encoded
	vectors  []float32
	uploaded []bool
}

// attack runs embedding-output inversion (attacks.NearestNeighbourOutputs, cosine and L2) on every non-padding
// token the client uploaded in tuning and inference: the honest-but-curious cloud knows the public model, so it
// computes the clean output of every token at every position and segment and takes the nearest to each noisy
// vector. public is the public model (before any client-side tuning); sets are the uploads.
func attack(ctx stdctx.Context, env method.Env, s *harness.Setup, public *models.Model, sets []observed) ([]method.AttackResult, error) {
	d := public.Preset.Hidden
	var obs attacks.Outputs
	var truth []int32
	for _, set := range sets {
		e := set.enc
		for i := range e.N {
			if set.uploaded != nil && !set.uploaded[i] {
				continue
			}
			for t := range e.T {
				j := i*e.T + t
				if e.Mask[j] != 1 {
					continue
				}
				obs.Vectors = append(obs.Vectors, set.vectors[j*d:(j+1)*d]...)
				obs.Positions = append(obs.Positions, int32(t))
				obs.Segments = append(obs.Segments, e.Segments[j])
				truth = append(truth, e.IDs[j])
			}
		}
	}
	special := env.Tok.SpecialIDs()
	scorer, err := attacks.NewScorer(truth, public.VocabSize, special, attacks.ContentMask(env.Tok))
	if err != nil {
		return nil, fmt.Errorf("dp-forward attack scoring: %w", err)
	}
	var out []method.AttackResult
	for _, metric := range []attacks.Metric{attacks.Cosine, attacks.L2} {
		start := time.Now()
		g, err := attacks.NearestNeighbourOutputs(ctx, public.VocabSize, d, obs, public.EmbeddingOutputs, metric, 5)
		if err != nil {
			return nil, fmt.Errorf("dp-forward attack: %w", err)
		}
		r, err := scorer.Occurrences(metric.AttackName(), g)
		if err != nil {
			return nil, err
		}
		env.Log.Info("attack scored", "method", "dp-forward", "attack", r.Attack, "top1", r.Top1, "content_top1", r.ContentTop1,
			"tokens", r.Tokens, "seconds", time.Since(start).Seconds())
		out = append(out, r)
	}
	out = append(out, scorer.RandomBaseline())
	counts, err := harness.PublicCounts(env, s)
	if err != nil {
		return nil, fmt.Errorf("dp-forward attack: public counts: %w", err)
	}
	prior, err := scorer.PriorBaseline(counts)
	if err != nil {
		return nil, err
	}
	return append(out, prior), nil
}
