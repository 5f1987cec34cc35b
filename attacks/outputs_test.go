package attacks

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestNearestNeighbourOutputs builds position-dependent outputs f(E[v] + P[t] + S[s]) (a row normalisation, like
// LayerNorm) and checks that the grouped attack recovers scaled, lightly noisy outputs, is at chance on pure
// noise, and beats an attack that ignores positions when the position rows are large.
func TestNearestNeighbourOutputs(t *testing.T) {
	_, uploads := zipfClient()
	uploads = uploads[:2000]
	const positions = 6
	table := randomTable(testV, testD, 3)
	rng := rand.New(rand.NewPCG(8, 9))
	pos := make([]float32, positions*testD)
	for i := range pos {
		pos[i] = float32(rng.NormFloat64() * 0.1) // comparable to the token rows' 0.02 scale times √D
	}
	seg := make([]float32, 2*testD)
	for i := range seg {
		seg[i] = float32(rng.NormFloat64() * 0.05)
	}
	candidates := func(p, s int) ([]float32, error) {
		out := make([]float32, testV*testD)
		for v := range testV {
			row := out[v*testD : (v+1)*testD]
			for c := range row {
				row[c] = table[v*testD+c] + pos[p*testD+c] + seg[s*testD+c]
			}
			normalizeRows(row, testD)
		}
		return out, nil
	}
	obs := func(sigma float64, keep bool) Outputs {
		o := Outputs{Vectors: make([]float32, len(uploads)*testD), Positions: make([]int32, len(uploads)), Segments: make([]int32, len(uploads))}
		cache := map[[2]int][]float32{}
		for i, id := range uploads {
			p, s := i%positions, (i/positions)%2
			o.Positions[i], o.Segments[i] = int32(p), int32(s)
			if cache[[2]int{p, s}] == nil {
				cache[[2]int{p, s}], _ = candidates(p, s)
			}
			clean := cache[[2]int{p, s}][int(id)*testD:]
			for c := range testD {
				var x float64
				if keep {
					x = 0.3 * float64(clean[c]) // clipping scales a sequence down
				}
				o.Vectors[i*testD+c] = float32(x + sigma*rng.NormFloat64()/math.Sqrt(testD))
			}
		}
		return o
	}
	scorer, err := NewScorer(uploads, testV, testSpecial, nil)
	if err != nil {
		t.Fatal(err)
	}
	rate := func(o Outputs, m Metric) float64 {
		g, err := NearestNeighbourOutputs(context.Background(), testV, testD, o, candidates, m, 5)
		if err != nil {
			t.Fatal(err)
		}
		r, err := scorer.Occurrences(m.AttackName(), g)
		if err != nil {
			t.Fatal(err)
		}
		return r.Top1
	}
	if r := rate(obs(0.01, true), Cosine); r < 0.99 {
		t.Errorf("scaled outputs with light noise: cosine top-1 %.4f, want ≥ 0.99", r)
	}
	if r := rate(obs(1, false), Cosine); r > 0.02 {
		t.Errorf("pure noise: cosine top-1 %.4f, want ≈ chance", r)
	}
	// Ignoring positions (comparing with f(E) at one position only) does worse on the same observations.
	o := obs(0.01, true)
	pos0, _ := candidates(0, 0)
	g, err := NearestNeighbourVectors(context.Background(), Public{Table: pos0, V: testV, D: testD, Special: testSpecial}, o.Vectors, Cosine, 5)
	if err != nil {
		t.Fatal(err)
	}
	naive, _ := scorer.Occurrences("naive", g)
	grouped := rate(o, Cosine)
	t.Logf("position-aware top-1 %.4f, position-blind %.4f", grouped, naive.Top1)
	if grouped <= naive.Top1 {
		t.Errorf("position-aware top-1 %.4f is not above position-blind %.4f", grouped, naive.Top1)
	}
	bad := obs(0, true)
	bad.Segments = bad.Segments[:1]
	if _, err := NearestNeighbourOutputs(context.Background(), testV, testD, bad, candidates, Cosine, 5); err == nil {
		t.Error("mismatched segments were accepted")
	}
}
