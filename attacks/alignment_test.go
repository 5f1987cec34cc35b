package attacks

import (
	"context"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func randomOrthogonal(d int, seed uint64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	a := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

func TestProcrustesRecoversRotation(t *testing.T) {
	const n, d = 40, 6
	r := randomOrthogonal(d, 1)
	z := randomTable(n, d, 2)
	x := mapRows(z, d, r) // x = z·R, so the map back is Rᵀ
	dict := make([]Pair, n)
	for i := range dict {
		dict[i] = Pair{int32(i), int32(i)}
	}
	w, err := procrustes(x, z, d, dict, 0)
	if err != nil {
		t.Fatal(err)
	}
	var diff mat.Dense
	diff.Sub(w, r.T())
	if e := mat.Norm(&diff, 2); e > 1e-5 {
		t.Errorf("‖W − Rᵀ‖ = %g", e)
	}
	w, err = procrustes(x, z, d, nil, 0.1) // nothing known: the identity
	if err != nil {
		t.Fatal(err)
	}
	if !mat.EqualApprox(w, eye(d), 1e-12) {
		t.Errorf("empty dictionary: W = %v, want I", mat.Formatted(w))
	}
}

func eye(d int) *mat.Dense {
	m := mat.NewDense(d, d, nil)
	for i := range d {
		m.Set(i, i, 1)
	}
	return m
}

// testAlign keeps the combined attack to two frequency starts and ten rounds in tests.
var testAlign = AlignOptions{SeedSizes: []int{16, 64}, MaxIter: 10, Log: quiet.Log}

// alignmentScores runs nn-cosine, alignment and frequency+alignment on one scenario (the two alignments
// sharing their common starts, as Evaluate does).
func alignmentScores(t *testing.T, sc scenario) (nn, align, combined float64) {
	t.Helper()
	ctx := context.Background()
	g, err := NearestNeighbour(ctx, sc.pub, sc.obs, Cosine, 5)
	if err != nil {
		t.Fatal(err)
	}
	nn, _ = mustScore(t, sc, NameNNCosine, g)
	al, err := newAligner(sc.pub, sc.obs, testAlign)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := al.unsupervised(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, err = plain.Guesses(ctx, 5); err != nil {
		t.Fatal(err)
	}
	align, _ = mustScore(t, sc, NameAlignment, g)
	best, err := al.withFrequency(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	if g, err = best.Guesses(ctx, 5); err != nil {
		t.Fatal(err)
	}
	combined, _ = mustScore(t, sc, NameFrequencyAlignment, g)
	return nn, align, combined
}

func TestAlignmentSanityAndNoise(t *testing.T) {
	counts, uploads := zipfClient()
	table := randomTable(testV, testD, 3)
	sc := shaken(t, table, testV, testD, counts, uploads, "", true, 4)
	if _, align, combined := alignmentScores(t, sc); align != 1 || combined != 1 {
		t.Errorf("unshaken table: alignment %.4f, frequency+alignment %.4f, want 1", align, combined)
	}
	sc.obs.Table = randomTable(testV, testD, 99)
	freq, err := Frequency(sc.pub, sc.obs, 5)
	if err != nil {
		t.Fatal(err)
	}
	frequency, _ := mustScore(t, sc, NameFrequency, freq)
	// On a pure-noise table the map learns nothing: alignment is random, and the combined attack can keep only
	// what its frequency seeds already say (an orthogonal map can fit a few seed pairs of random vectors).
	if _, align, combined := alignmentScores(t, sc); align > 0.02 || combined > frequency+0.01 {
		t.Errorf("pure-noise table: alignment %.4f (want about random), frequency+alignment %.4f (want at most frequency's %.4f)",
			align, combined, frequency)
	}
}

func TestAlignmentRecoversTilt(t *testing.T) {
	counts, uploads := zipfClient()
	table := randomTable(testV, testD, 3)
	for _, tc := range []struct {
		chain string
		// Minimum top-1 of plain nearest neighbour (−1: it must fail, under 0.05), of the alignment seeded by the
		// special tokens, and of the frequency-seeded alignment.
		nn, align, combined float64
	}{
		// A mild tilt: nearest neighbour alone gets it; so does self-learning from the identity.
		{"tilt:angle=0.5", 0.99, 0.99, 0.99},
		// Any rotation of the Givens planes, and a shift of the whole table (which centring removes): nearest
		// neighbour fails, the similarity profiles (alignment) and the frequency seeds (combined) find the map.
		{"tilt:angle=3.14159;addv:scale=2", -1, 0.99, 0.99},
	} {
		sc := shaken(t, table, testV, testD, counts, uploads, tc.chain, true, 4)
		nn, align, combined := alignmentScores(t, sc)
		checkRecovery(t, tc.chain, NameNNCosine, nn, tc.nn)
		checkRecovery(t, tc.chain, NameAlignment, align, tc.align)
		checkRecovery(t, tc.chain, NameFrequencyAlignment, combined, tc.combined)
	}
}

// checkRecovery checks a top-1 rate against a minimum, or, when want is −1, that the attack failed (< 0.05).
func checkRecovery(t *testing.T, chain, attack string, got, want float64) {
	t.Helper()
	if want < 0 && got > 0.05 {
		t.Errorf("%q: %s top-1 %.4f, want a failure (< 0.05)", chain, attack, got)
	}
	if want >= 0 && got < want {
		t.Errorf("%q: %s top-1 %.4f, want ≥ %v", chain, attack, got, want)
	}
}

func TestFrequencyAlignmentKeepsTheBetterMap(t *testing.T) {
	// Noise alone: the identity is the right map and the frequency seeds (right only for the top ranks) are a
	// worse start; the combined attack must do at least as well as aligning from the identity.
	counts, uploads := zipfClient()
	sc := shaken(t, randomTable(testV, testD, 3), testV, testD, counts, uploads, "gaussian:sigma=0.5", true, 4)
	_, align, combined := alignmentScores(t, sc)
	if align < 0.99 || combined < align {
		t.Errorf("gaussian σ=0.5: alignment %.4f, frequency+alignment %.4f, want ≥ 0.99 and no worse", align, combined)
	}
}

func TestSeedDictionariesOnPureTilt(t *testing.T) {
	counts, uploads := zipfClient()
	sc := shaken(t, randomTable(testV, testD, 3), testV, testD, counts, uploads, "tilt:angle=3.14159", true, 4)
	right := func(seeds []Pair) (n int) {
		for _, p := range seeds {
			if sc.truthOf(p.Observed) == p.Public {
				n++
			}
		}
		return n
	}
	profile, err := ProfileSeeds(context.Background(), sc.pub, sc.obs, AlignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Every uploaded row is among the sources and every id among the targets: profiles are exact, so every
	// mutual match is right.
	if r := right(profile); r < len(profile) || len(profile) < 1000 {
		t.Errorf("profile seeds: %d right of %d, want all of over 1000", r, len(profile))
	}
	freq, err := FrequencySeeds(sc.pub, sc.obs, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(freq) != len(testSpecial)+16 || right(freq) < len(testSpecial)+8 {
		t.Errorf("frequency seeds: %d right of %d, want most of the top 16 and the specials", right(freq), len(freq))
	}
}

func TestAttacksOnStructuredTable(t *testing.T) {
	// A PPMI-SVD table of a synthetic topic corpus: clustered rows, like the project's pre-trained tables.
	const v, d = 1500, 24
	table, counts := ppmiTable(t, v, d)
	uploads := flatten(topicCorpus(v, 3000, 2))
	for _, tc := range []struct {
		chain               string
		nn, align, combined float64 // as in TestAlignmentRecoversTilt
	}{
		{"", 1, 1, 1},
		{"tilt:angle=3.14159", -1, 0.99, 0.99},
	} {
		sc := shaken(t, table, v, d, counts, uploads, tc.chain, true, 4)
		nn, align, combined := alignmentScores(t, sc)
		checkRecovery(t, "structured, "+tc.chain, NameNNCosine, nn, tc.nn)
		checkRecovery(t, "structured, "+tc.chain, NameAlignment, align, tc.align)
		checkRecovery(t, "structured, "+tc.chain, NameFrequencyAlignment, combined, tc.combined)
	}
}
