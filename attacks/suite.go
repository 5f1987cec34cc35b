package attacks

import (
	"context"
	"fmt"
	"time"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
)

// Guesses per row the suite asks every attack for (top-5 is the widest rate scored).
const suiteK = 5

// Evaluate runs every table attack on what the cloud saw and scores it: nn-cosine, nn-l2, alignment, and — when
// pub.Counts is set — frequency and frequency+alignment, followed by the baselines random and (with counts)
// frequency-prior. scorer holds the ground truth for obs.Uploads.
func Evaluate(ctx context.Context, pub Public, obs Observed, scorer *Scorer, opts AlignOptions) ([]method.AttackResult, error) {
	opts = opts.withDefaults()
	type attack struct {
		name string
		run  func() (Guesses, error)
	}
	al, err := newAligner(pub, obs, opts)
	if err != nil {
		return nil, err
	}
	var plain *Alignment // the alignment attack's map, one of the combined attack's candidates
	attacks := []attack{
		{NameNNCosine, func() (Guesses, error) { return NearestNeighbour(ctx, pub, obs, Cosine, suiteK) }},
		{NameNNL2, func() (Guesses, error) { return NearestNeighbour(ctx, pub, obs, L2, suiteK) }},
		{NameAlignment, func() (Guesses, error) {
			var err error
			if plain, err = al.unsupervised(ctx); err != nil {
				return Guesses{}, err
			}
			logAlignment(opts, NameAlignment, plain)
			return plain.Guesses(ctx, suiteK)
		}},
	}
	if pub.Counts != nil {
		attacks = append(attacks,
			attack{NameFrequency, func() (Guesses, error) { return Frequency(pub, obs, suiteK) }},
			attack{NameFrequencyAlignment, func() (Guesses, error) {
				a, err := al.withFrequency(ctx, plain)
				if err != nil {
					return Guesses{}, err
				}
				logAlignment(opts, NameFrequencyAlignment, a)
				return a.Guesses(ctx, suiteK)
			}})
	}
	var out []method.AttackResult
	for _, at := range attacks {
		start := time.Now()
		g, err := at.run()
		if err != nil {
			return nil, fmt.Errorf("attack %s: %w", at.name, err)
		}
		r, err := scorer.Table(at.name, g, obs.Uploads)
		if err != nil {
			return nil, err
		}
		opts.Log.Info("attack scored", "attack", at.name, "top1", r.Top1, "top5", r.Top5,
			"content_top1", r.ContentTop1, "tokens", r.Tokens, "seconds", time.Since(start).Seconds())
		out = append(out, r)
	}
	return appendBaselines(out, pub, scorer)
}

// EvaluateVectors runs nearest-neighbour inversion (cosine and L2) on per-occurrence observed vectors (n×D,
// one per upload, e.g. DP-Forward's noisy embeddings) and scores it, followed by the baselines. Of opts only
// Log is used.
func EvaluateVectors(ctx context.Context, pub Public, vectors []float32, scorer *Scorer, opts AlignOptions) ([]method.AttackResult, error) {
	opts = opts.withDefaults()
	var out []method.AttackResult
	for _, m := range []Metric{Cosine, L2} {
		start := time.Now()
		g, err := NearestNeighbourVectors(ctx, pub, vectors, m, suiteK)
		if err != nil {
			return nil, err
		}
		r, err := scorer.Occurrences(m.AttackName(), g)
		if err != nil {
			return nil, err
		}
		opts.Log.Info("attack scored", "attack", r.Attack, "top1", r.Top1, "top5", r.Top5,
			"content_top1", r.ContentTop1, "tokens", r.Tokens, "seconds", time.Since(start).Seconds())
		out = append(out, r)
	}
	return appendBaselines(out, pub, scorer)
}

func appendBaselines(out []method.AttackResult, pub Public, scorer *Scorer) ([]method.AttackResult, error) {
	out = append(out, scorer.RandomBaseline())
	if pub.Counts != nil {
		r, err := scorer.PriorBaseline(pub.Counts)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func logAlignment(opts AlignOptions, name string, a *Alignment) {
	if a != nil {
		opts.Log.Info("alignment learnt", "attack", name, "start", a.Start, "round", a.Iterations, "dictionary", a.Dictionary,
			"objective", a.Objective)
	}
}
