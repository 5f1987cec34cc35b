package attacks

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// FrequencySeeds returns the seed dictionary frequency analysis gives: the n most uploaded non-special π-ids,
// each paired with the public id of its rank (the nearest public rank to its tie group's mid-rank, as in
// Frequency), plus every special id paired with itself.
func FrequencySeeds(pub Public, obs Observed, n int) ([]Pair, error) {
	if err := pub.validateObserved(obs, false); err != nil {
		return nil, fmt.Errorf("frequency seeds: %w", err)
	}
	if pub.Counts == nil {
		return nil, errors.New("frequency seeds: no public token counts")
	}
	special := pub.specialMask()
	n = max(n, 0)
	seeds := make([]Pair, 0, len(pub.Special)+n)
	for _, id := range pub.Special {
		seeds = append(seeds, Pair{id, id})
	}
	matches := rankMatches(pub, obs.Uploads, special)
	for _, m := range matches[:min(n, len(matches))] {
		seeds = append(seeds, Pair{Observed: m.observed, Public: m.nearestPublic(1)[0]})
	}
	return seeds, nil
}

// FrequencyAlignmentAttack is the combined attack: self-learning alignment seeded by frequency analysis, then
// nearest neighbour through the map. It starts self-learning from every seed dictionary of opts.SeedSizes (the
// n best rank matches plus the special tokens) and from the starts of AlignmentAttack (wrong seeds can lead
// self-learning astray where the identity would have done, e.g. on a table shaken by noise alone), and keeps
// the map with the best objective: it uses everything the cloud knows.
func FrequencyAlignmentAttack(ctx context.Context, pub Public, obs Observed, k int, opts AlignOptions) (Guesses, *Alignment, error) {
	al, err := newAligner(pub, obs, opts)
	if err != nil {
		return Guesses{}, nil, fmt.Errorf("frequency+alignment attack: %w", err)
	}
	plain, err := al.unsupervised(ctx)
	if err != nil {
		return Guesses{}, nil, fmt.Errorf("frequency+alignment attack: %w", err)
	}
	a, err := al.withFrequency(ctx, plain)
	if err != nil {
		return Guesses{}, nil, err
	}
	g, err := a.Guesses(ctx, k)
	if err != nil {
		return Guesses{}, nil, fmt.Errorf("frequency+alignment attack: %w", err)
	}
	return g, a, nil
}

// withFrequency aligns from each frequency seed dictionary and returns the best of those maps and plain.
func (al *aligner) withFrequency(ctx context.Context, plain *Alignment) (*Alignment, error) {
	seeds, err := FrequencySeeds(al.pub, al.obs, slices.Max(al.opts.SeedSizes))
	if err != nil {
		return nil, fmt.Errorf("frequency+alignment attack: %w", err)
	}
	best := plain
	for _, n := range al.opts.SeedSizes {
		n = min(len(seeds), len(al.pub.Special)+max(n, 0))
		a, err := al.align(ctx, fmt.Sprintf("frequency-%d", n-len(al.pub.Special)), seeds[:n])
		if err != nil {
			return nil, fmt.Errorf("frequency+alignment attack: %w", err)
		}
		best = better(best, a)
	}
	return best, nil
}
