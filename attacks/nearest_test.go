package attacks

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

const (
	testV = 1500
	testD = 32
)

// zipfClient is a synthetic client: public counts of a 10⁶-token corpus and 20,000 uploaded tokens drawn from
// the same distribution.
func zipfClient() (counts []int64, uploads []int32) {
	z := newZipf(testV, 1)
	return z.counts(testV, 1e6), z.sample(20000, 2)
}

func mustScore(t *testing.T, sc scenario, name string, g Guesses) (top1, top5 float64) {
	t.Helper()
	r, err := sc.scorer.Table(name, g, sc.obs.Uploads)
	if err != nil {
		t.Fatal(err)
	}
	return r.Top1, r.Top5
}

func TestNearestNeighbourRecoversUnshakenTable(t *testing.T) {
	counts, uploads := zipfClient()
	table := randomTable(testV, testD, 3)
	for _, horizontal := range []bool{false, true} {
		sc := shaken(t, table, testV, testD, counts, uploads, "", horizontal, 4)
		for _, m := range []Metric{Cosine, L2} {
			g, err := NearestNeighbour(context.Background(), sc.pub, sc.obs, m, 5)
			if err != nil {
				t.Fatal(err)
			}
			if top1, _ := mustScore(t, sc, m.AttackName(), g); top1 != 1 {
				t.Errorf("π=%v %s: top-1 %.4f on an unshaken table, want 1", horizontal, m, top1)
			}
		}
	}
}

func TestNearestNeighbourIsRandomOnPureNoise(t *testing.T) {
	counts, uploads := zipfClient()
	sc := shaken(t, randomTable(testV, testD, 3), testV, testD, counts, uploads, "", true, 4)
	sc.obs.Table = randomTable(testV, testD, 99) // nothing of E left
	for _, m := range []Metric{Cosine, L2} {
		g, err := NearestNeighbour(context.Background(), sc.pub, sc.obs, m, 5)
		if err != nil {
			t.Fatal(err)
		}
		// Uniform guessing: 1/1495 and 5/1495; occurrence weighting lets a lucky frequent token count more.
		if top1, top5 := mustScore(t, sc, m.AttackName(), g); top1 > 0.02 || top5 > 0.05 {
			t.Errorf("%s on a pure-noise table: top-1 %.4f top-5 %.4f, want about random", m, top1, top5)
		}
	}
}

func TestNearestNeighbourMetricsDiffer(t *testing.T) {
	// E_s = E/10: the angle is kept; by distance, the rows of E with the smallest norms come nearest.
	counts, uploads := zipfClient()
	sc := shaken(t, randomTable(testV, testD, 3), testV, testD, counts, uploads, "", true, 4)
	for i := range sc.obs.Table {
		sc.obs.Table[i] /= 10
	}
	cos, err := NearestNeighbour(context.Background(), sc.pub, sc.obs, Cosine, 5)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := NearestNeighbour(context.Background(), sc.pub, sc.obs, L2, 5)
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := mustScore(t, sc, "nn-cosine", cos)
	l1, _ := mustScore(t, sc, "nn-l2", l2)
	if c1 != 1 || l1 > 0.5 {
		t.Errorf("scaled table: cosine top-1 %.3f (want 1), L2 top-1 %.3f (want a failure)", c1, l1)
	}
}

func TestNearestNeighbourGuessesOnlyUploadedRowsAndSpecials(t *testing.T) {
	table := randomTable(50, 8, 1)
	pub := Public{Table: table, V: 50, D: 8, Special: []int32{0, 3}}
	obs := Observed{Table: table, Uploads: []int32{7, 7, 3, 12}}
	g, err := NearestNeighbour(context.Background(), pub, obs, Cosine, 3)
	if err != nil {
		t.Fatal(err)
	}
	for row := range 50 {
		guesses := g.Row(row)
		switch row {
		case 0, 3:
			if guesses[0] != int32(row) {
				t.Errorf("special row %d guessed %v", row, guesses)
			}
		case 7, 12:
			if guesses[0] != int32(row) || slices.Contains(guesses, 0) || slices.Contains(guesses, 3) {
				t.Errorf("row %d guessed %v: want itself first and no special id", row, guesses)
			}
		default:
			if guesses[0] != NoGuess {
				t.Errorf("row %d was not uploaded but guessed %v", row, guesses)
			}
		}
	}
}

func TestNearestNeighbourVectors(t *testing.T) {
	counts, uploads := zipfClient()
	uploads = uploads[:3000]
	table := randomTable(testV, testD, 3)
	sc := shaken(t, table, testV, testD, counts, uploads, "", false, 4)
	sc.scorer, _ = NewScorer(uploads, testV, testSpecial, nil)
	noisy := func(sigma float64, keep bool) []float32 {
		rng := rand.New(rand.NewPCG(5, 6))
		v := make([]float32, len(uploads)*testD)
		for i, id := range uploads {
			for c := range testD {
				var x float64
				if keep {
					x = float64(table[int(id)*testD+c])
				}
				v[i*testD+c] = float32(x + sigma*0.02*rng.NormFloat64())
			}
		}
		return v
	}
	for _, tc := range []struct {
		name     string
		vectors  []float32
		min, max float64
	}{
		{"exact", noisy(0, true), 1, 1},
		{"noise σ=0.5·s_E", noisy(0.5, true), 0.99, 1},
		{"pure noise", noisy(1, false), 0, 0.02},
	} {
		for _, m := range []Metric{Cosine, L2} {
			g, err := NearestNeighbourVectors(context.Background(), sc.pub, tc.vectors, m, 5)
			if err != nil {
				t.Fatal(err)
			}
			r, err := sc.scorer.Occurrences(m.AttackName(), g)
			if err != nil {
				t.Fatal(err)
			}
			if r.Top1 < tc.min || r.Top1 > tc.max {
				t.Errorf("%s, %s: top-1 %.4f outside [%v, %v]", tc.name, m, r.Top1, tc.min, tc.max)
			}
		}
	}
	if _, err := NearestNeighbourVectors(context.Background(), sc.pub, make([]float32, testD+1), Cosine, 5); err == nil {
		t.Error("a ragged vector matrix was accepted")
	}
}
