package attacks

import (
	"context"
	"fmt"
	"slices"
)

// Metric is the similarity nearest-neighbour inversion ranks public rows by.
type Metric int

const (
	// Cosine ranks by the cosine of the angle between the observed vector and a public row.
	Cosine Metric = iota
	// L2 ranks by Euclidean distance, nearest first.
	L2
)

func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// AttackName is the name results record for nearest-neighbour inversion with this metric.
func (m Metric) AttackName() string { return "nn-" + m.String() }

// NearestNeighbour inverts the shaken table row by row: each observed row of E_s that the client uploaded (every
// row when obs.Uploads is empty) gets the k non-special public ids whose rows of E are nearest to it; special
// rows are guessed as themselves. Rows are indexed by π-id.
func NearestNeighbour(ctx context.Context, pub Public, obs Observed, metric Metric, k int) (Guesses, error) {
	if err := checkK(k); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack: %w", err)
	}
	if err := pub.validateObserved(obs, true); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack: %w", err)
	}
	special := pub.specialMask()
	queries := gather(obs.Table, pub.D, queryRows(obs.Uploads, special))
	targets := gather(pub.Table, pub.D, nonSpecial(special))
	nb, err := nearest(ctx, queries, targets, metric, k)
	if err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack (%s): %w", metric, err)
	}
	g := newGuesses(pub.V, k)
	for r, id := range queries.ids {
		copy(g.Row(int(id)), nb.ids[r*k:(r+1)*k])
	}
	guessSpecialsAsThemselves(g, special)
	return g, nil
}

// NearestNeighbourVectors inverts per-occurrence observed vectors (e.g. DP-Forward's noisy token embeddings, one
// per uploaded token): vectors is n×D row-major, and row i of the result holds the k public ids (all V are
// candidates: a noisy vector does not say whether its token is special) whose rows of E are nearest to vector i.
func NearestNeighbourVectors(ctx context.Context, pub Public, vectors []float32, metric Metric, k int) (Guesses, error) {
	if err := checkK(k); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on vectors: %w", err)
	}
	if err := pub.validate(); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on vectors: %w", err)
	}
	if len(vectors)%pub.D != 0 {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on vectors: %d values is not a whole number of rows of width %d", len(vectors), pub.D)
	}
	if err := checkFinite(vectors); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on vectors: %w", err)
	}
	n := len(vectors) / pub.D
	queries := rowSet{data: slices.Clone(vectors), n: n, d: pub.D}
	targets := rowSet{data: slices.Clone(pub.Table), n: pub.V, d: pub.D}
	nb, err := nearest(ctx, queries, targets, metric, k)
	if err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on vectors (%s): %w", metric, err)
	}
	return Guesses{K: k, IDs: nb.ids}, nil
}

// nearest runs the search for a metric; it may normalise the rows of queries and targets in place.
func nearest(ctx context.Context, queries, targets rowSet, metric Metric, k int) (neighbours, error) {
	switch metric {
	case Cosine:
		normalizeRows(queries.data, queries.d)
		normalizeRows(targets.data, targets.d)
	case L2:
		targets.bias = l2Bias(targets)
	default:
		return neighbours{}, fmt.Errorf("unknown metric %v", metric)
	}
	nb, _, err := search(ctx, queries, targets, k, false, defaultTiling)
	return nb, err
}
