package attacks

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/embedinit"
	"github.com/cyphertalk/cyphertalk-go/operators"
)

// testSpecial are the special ids of the synthetic vocabularies.
var testSpecial = []int32{0, 1, 2, 3, 4}

// zipf is a Zipf–Mandelbrot distribution over the non-special ids of a vocabulary of size v, with ranks assigned
// to ids at random: p(rank r) ∝ 1/(r + 2.7).
type zipf struct {
	ids []int32   // ids by rank
	cdf []float64 // cumulative probability by rank
}

func newZipf(v int, seed uint64) zipf { return newZipfOver(v, testSpecial, seed) }

// newZipfOver is newZipf over the ids that are not in special.
func newZipfOver(v int, special []int32, seed uint64) zipf {
	rng := rand.New(rand.NewPCG(seed, 7))
	ids := make([]int32, 0, v)
	for id := range int32(v) {
		if !slices.Contains(special, id) {
			ids = append(ids, id)
		}
	}
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	cdf := make([]float64, len(ids))
	var s float64
	for r := range ids {
		s += 1 / (float64(r) + 2.7)
		cdf[r] = s
	}
	for r := range cdf {
		cdf[r] /= s
	}
	return zipf{ids, cdf}
}

// counts are the expected counts of a public corpus of n tokens (rounded, at least 1; special ids 0).
func (z zipf) counts(v int, n float64) []int64 {
	c := make([]int64, v)
	prev := 0.0
	for r, id := range z.ids {
		c[id] = max(1, int64(math.Round(n*(z.cdf[r]-prev))))
		prev = z.cdf[r]
	}
	return c
}

// sample draws n token ids.
func (z zipf) sample(n int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]int32, n)
	for i := range out {
		u := rng.Float64()
		lo, hi := 0, len(z.cdf)-1
		for lo < hi {
			m := (lo + hi) / 2
			if z.cdf[m] < u {
				lo = m + 1
			} else {
				hi = m
			}
		}
		out[i] = z.ids[lo]
	}
	return out
}

// scenario is one client seen by the cloud, with the ground truth.
type scenario struct {
	pub    Public
	obs    Observed
	truth  []int32
	scorer *Scorer
	inv    operators.Perm // π⁻¹
}

// truthOf is the original id of π-id j.
func (s scenario) truthOf(j int32) int32 { return s.inv[j] }

// shaken shakes table with the chain (and π when horizontal) and encodes the original uploads.
func shaken(tb testing.TB, table []float32, v, d int, counts []int64, original []int32, chain string, horizontal bool, seed uint64) scenario {
	tb.Helper()
	return shakenOver(tb, testSpecial, table, v, d, counts, original, chain, horizontal, seed)
}

// shakenBert is shaken with bert-base-uncased's special ids and π.
func shakenBert(tb testing.TB, table []float32, v, d int, counts []int64, original []int32, chain string) scenario {
	tb.Helper()
	return shakenOver(tb, operators.BertSpecialIDs, table, v, d, counts, original, chain, true, 4)
}

func shakenOver(tb testing.TB, special []int32, table []float32, v, d int, counts []int64, original []int32, chain string, horizontal bool, seed uint64) scenario {
	tb.Helper()
	spec, err := operators.ParseChain(chain)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := operators.NewKey(operators.SeedFromUint64(seed), operators.KeyOptions{VocabSize: v, Dim: d,
		Special: special, Horizontal: horizontal, Chain: spec})
	if err != nil {
		tb.Fatal(err)
	}
	es, _, err := operators.Shake(table, v, d, key)
	if err != nil {
		tb.Fatal(err)
	}
	sent, err := operators.EncodeIDs(key, original)
	if err != nil {
		tb.Fatal(err)
	}
	sc, err := NewScorer(original, v, special, nil)
	if err != nil {
		tb.Fatal(err)
	}
	inv, err := operators.InversePermutation(key)
	if err != nil {
		tb.Fatal(err)
	}
	return scenario{pub: Public{Table: table, V: v, D: d, Counts: counts, Special: special},
		obs: Observed{Table: es, Uploads: sent}, truth: original, scorer: sc, inv: inv}
}

func randomTable(v, d int, seed uint64) []float32 { return models.RandomTable(v, d, 0.02, seed) }

// topicCorpus generates sentences of 10 tokens over a vocabulary of size v: each sentence has a topic (one of
// 30, each owning 40 random non-special ids), and each token is, with probability 0.4, drawn from the global
// Zipf distribution (function words) and otherwise from its topic's words (Zipf within the topic).
func topicCorpus(v, sentences int, seed uint64) [][]int32 {
	global := newZipf(v, 1)
	rng := rand.New(rand.NewPCG(seed, 13))
	topics := make([][]int32, 30)
	topicRNG := rand.New(rand.NewPCG(1, 17))
	for k := range topics {
		for range 40 {
			topics[k] = append(topics[k], int32(len(testSpecial)+topicRNG.IntN(v-len(testSpecial))))
		}
	}
	out := make([][]int32, sentences)
	for s := range out {
		topic := topics[rng.IntN(len(topics))]
		sent := make([]int32, 10)
		for i := range sent {
			if rng.Float64() < 0.4 {
				sent[i] = global.sample(1, rng.Uint64())[0]
			} else {
				sent[i] = topic[min(len(topic)-1, int(rng.ExpFloat64()*8))]
			}
		}
		out[s] = sent
	}
	return out
}

// ppmiTable builds a PPMI-SVD table (models/embedinit, as the project's pre-training does) of width d from a
// topic corpus, with the corpus's token counts.
func ppmiTable(tb testing.TB, v, d int) ([]float32, []int64) {
	tb.Helper()
	corpus := topicCorpus(v, 20000, 1)
	table, _, err := embedinit.Build(corpus, v, embedinit.Config{Dim: d, TargetStd: 0.04, Seed: 1, Skip: testSpecial})
	if err != nil {
		tb.Fatal(err)
	}
	counts := make([]int64, v)
	for _, s := range corpus {
		for _, id := range s {
			counts[id]++
		}
	}
	return table, counts
}

// flatten concatenates sentences.
func flatten(sentences [][]int32) []int32 {
	var out []int32
	for _, s := range sentences {
		out = append(out, s...)
	}
	return out
}
