package attacks

import (
	"context"
	"fmt"
	"slices"
)

// Outputs are per-occurrence observed vectors of a position-dependent layer — DP-Forward's noisy embedding-layer
// outputs, one row per uploaded (non-padding) token — with the position and segment each was computed at, which
// the cloud knows from the upload's layout.
type Outputs struct {
	Vectors   []float32 // n×D row-major
	Positions []int32   // n
	Segments  []int32   // n
}

// CandidateFunc returns the clean V×D outputs of every vocabulary id at one (position, segment) — for the
// embedding layer, LayerNorm(E[v] + P[position] + S[segment]) (models.Model.EmbeddingOutputs), which the cloud
// computes from the public model. Each call must return a table of its own: the attack may modify it.
type CandidateFunc func(position, segment int) ([]float32, error)

// NearestNeighbourOutputs inverts per-occurrence outputs: occurrences are grouped by (position, segment), and
// each observed vector gets the k ids whose clean outputs at its position and segment are nearest to it (every
// id is a candidate). It is NearestNeighbourVectors with the candidate table the observation was made against:
// the embedding output depends on the position, so comparing with E alone would understate the attack.
func NearestNeighbourOutputs(ctx context.Context, v, d int, obs Outputs, candidates CandidateFunc, metric Metric, k int) (Guesses, error) {
	if err := checkK(k); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: %w", err)
	}
	if v <= 0 || d <= 0 {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: V = %d, D = %d must be positive", v, d)
	}
	n := len(obs.Positions)
	if len(obs.Vectors) != n*d || len(obs.Segments) != n {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: %d values, %d positions and %d segments do not describe the same %d×%d occurrences",
			len(obs.Vectors), n, len(obs.Segments), n, d)
	}
	if err := checkFinite(obs.Vectors); err != nil {
		return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: %w", err)
	}
	groups := map[[2]int32][]int32{}
	for i := range n {
		key := [2]int32{obs.Positions[i], obs.Segments[i]}
		groups[key] = append(groups[key], int32(i))
	}
	keys := make([][2]int32, 0, len(groups))
	for key := range groups {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b [2]int32) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	g := newGuesses(n, k)
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: %w", err)
		}
		table, err := candidates(int(key[0]), int(key[1]))
		if err != nil {
			return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: candidates at position %d, segment %d: %w", key[0], key[1], err)
		}
		if len(table) != v*d {
			return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs: candidates at position %d, segment %d have %d values, want %d×%d",
				key[0], key[1], len(table), v, d)
		}
		idx := groups[key]
		queries := rowSet{data: make([]float32, len(idx)*d), n: len(idx), d: d}
		for r, i := range idx {
			copy(queries.data[r*d:(r+1)*d], obs.Vectors[int(i)*d:(int(i)+1)*d])
		}
		// The candidate table is the caller's, freshly computed per group; nearest may normalise it in place.
		nb, err := nearest(ctx, queries, rowSet{data: table, n: v, d: d}, metric, k)
		if err != nil {
			return Guesses{}, fmt.Errorf("nearest-neighbour attack on outputs (%s): %w", metric, err)
		}
		for r, i := range idx {
			copy(g.Row(int(i)), nb.ids[r*k:(r+1)*k])
		}
	}
	return g, nil
}
