package attacks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/mat"
)

// Pair says that observed row Observed (a π-id) is believed to be public id Public.
type Pair struct{ Observed, Public int32 }

// AlignOptions configure the self-learning alignment. Zero values select the defaults.
type AlignOptions struct {
	// SourceVocab caps the observed rows self-learning works on: the most uploaded π-ids first (every
	// non-special row, in id order, when there are no uploads). Default 5,000.
	SourceVocab int
	// TargetVocab caps the public rows self-learning matches them to: the most frequent public ids first (id
	// order without public counts). Default 10,000.
	TargetVocab int
	// MaxIter caps the Procrustes / dictionary-induction rounds of one start. Default 10.
	MaxIter int
	// Tol stops self-learning once a round raises the objective by less than this. Default 0.001.
	Tol float64
	// IdentityWeight adds the identity to the Procrustes cross-covariance with this weight, in units of one
	// (unit-norm) dictionary pair per dimension: the cloud knows E_s was made from E in place, so directions
	// the dictionary leaves undetermined default to the identity instead of an arbitrary SVD completion.
	// Default 0.1; negative means none.
	IdentityWeight float64
	// ProfileSize is the length of the similarity profiles the alignment attack matches to make its own seed
	// dictionary (see ProfileSeeds). Default 32; negative means no profile start.
	ProfileSize int
	// SeedSizes are the seed dictionaries the combined attack starts self-learning from: for each n, the n
	// most uploaded π-ids with their rank-matched public ids. Rank matches are right mostly at the top ranks;
	// more seeds mean more wrong ones, fewer mean too little to pin the map, and which is best depends on the
	// width, the upload size and how far the client's text is from the public one, so the attack tries each
	// (and the starts of the alignment attack) and keeps the map with the best objective. Default 16, 64, 256.
	SeedSizes []int
	// Log receives progress: Evaluate's line per attack (Info) and one line per self-learning round (Debug);
	// nil means slog.Default().
	Log *slog.Logger
}

func (o AlignOptions) withDefaults() AlignOptions {
	if o.SourceVocab <= 0 {
		o.SourceVocab = 5000
	}
	if o.TargetVocab <= 0 {
		o.TargetVocab = 10000
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 10
	}
	if o.Tol <= 0 {
		o.Tol = 0.001
	}
	switch {
	case o.IdentityWeight == 0:
		o.IdentityWeight = 0.1
	case o.IdentityWeight < 0:
		o.IdentityWeight = 0
	}
	if o.ProfileSize == 0 {
		o.ProfileSize = 32
	}
	if len(o.SeedSizes) == 0 {
		o.SeedSizes = []int{16, 64, 256}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Alignment is a learnt map from the shaken space to the public one: a centred, unit-normalised observed row x
// maps to x·W, to be compared with centred, unit-normalised public rows.
type Alignment struct {
	W *mat.Dense // D×D, orthogonal
	// Start names the seed dictionary self-learning started from ("special", "profile", "frequency-64", ...).
	Start      string
	Iterations int // the Procrustes round W comes from
	Dictionary int // pairs of the dictionary W induces (mutual nearest neighbours)
	// Objective is the mean, over the self-learning source rows, of the cosine between a mapped row and its
	// nearest public target row: how well the map fits, without the key. Attacks pick among maps by it.
	Objective float64

	al *aligner
}

// aligner holds what every self-learning start shares: both tables centred and unit-normalised, and the source
// and target rows self-learning works on.
type aligner struct {
	pub      Public
	obs      Observed
	opts     AlignOptions
	special  []bool
	x, z     []float32 // centred, unit-normalised observed and public tables
	src, tgt rowSet    // the SourceVocab observed rows and the TargetVocab public rows, from x and z
}

func newAligner(pub Public, obs Observed, opts AlignOptions) (*aligner, error) {
	opts = opts.withDefaults()
	if err := pub.validateObserved(obs, true); err != nil {
		return nil, fmt.Errorf("alignment: %w", err)
	}
	special := pub.specialMask()
	al := &aligner{pub: pub, obs: obs, opts: opts, special: special,
		x: centredUnit(obs.Table, pub.D, special), z: centredUnit(pub.Table, pub.D, special)}
	free := nonSpecial(special)
	sources := free
	if len(obs.Uploads) > 0 {
		sources = byCountDesc(queryRows(obs.Uploads, special), uploadCounts(obs.Uploads, pub.V))
	}
	targets := free
	if pub.Counts != nil {
		targets = byCountDesc(free, pub.Counts)
	}
	al.src = gather(al.x, pub.D, sources[:min(len(sources), opts.SourceVocab)])
	al.tgt = gather(al.z, pub.D, targets[:min(len(targets), opts.TargetVocab)])
	return al, nil
}

// Align learns an orthogonal map from E_s to E without the key, by self-learning from a seed dictionary
// (Artetxe et al. 2017, "Learning bilingual word embeddings with (almost) no bilingual data"): both tables are
// mean-centred over their non-special rows (which removes addv's shift) and unit-normalised; then, until the
// dictionary stops changing or MaxIter, W = argmin over orthogonal W of Σ_pairs ‖x W − z‖² (orthogonal
// Procrustes: the polar factor U Vᵀ of Xᵀ Z + IdentityWeight·I, by SVD) and the dictionary is re-induced as the
// mutual nearest neighbours (cosine) between the mapped SourceVocab rows and the TargetVocab rows. Seeds are
// used for the first round only. W is the round's map with the best Objective; self-learning stops once a round
// raises it by less than Tol (on a noisy table, later rounds only fit the map to their own dictionary's
// noise). Special rows are copied unshaken by Shake, so special seeds carry no information on the vertical
// chain: seeded with them alone the first map is (about) the identity.
func Align(ctx context.Context, pub Public, obs Observed, seeds []Pair, opts AlignOptions) (*Alignment, error) {
	al, err := newAligner(pub, obs, opts)
	if err != nil {
		return nil, err
	}
	return al.align(ctx, "given", seeds)
}

func (al *aligner) align(ctx context.Context, start string, seeds []Pair) (*Alignment, error) {
	d := al.pub.D
	for _, p := range seeds {
		if p.Observed < 0 || int(p.Observed) >= al.pub.V || p.Public < 0 || int(p.Public) >= al.pub.V {
			return nil, fmt.Errorf("alignment: seed pair %v outside the vocabulary [0, %d)", p, al.pub.V)
		}
	}
	a := &Alignment{Start: start, Objective: math.Inf(-1), al: al}
	dict := slices.Clone(seeds)
	for round := 1; round <= al.opts.MaxIter; round++ {
		w, err := procrustes(al.x, al.z, d, dict, al.opts.IdentityWeight)
		if err != nil {
			return nil, fmt.Errorf("alignment from %s seeds, round %d: %w", start, round, err)
		}
		mapped := rowSet{data: mapRows(al.src.data, d, w), n: al.src.n, d: d, ids: al.src.ids}
		nb, col, err := search(ctx, mapped, al.tgt, 1, true, defaultTiling)
		if err != nil {
			return nil, fmt.Errorf("alignment from %s seeds, round %d: %w", start, round, err)
		}
		objective := meanFloat32(nb.scores)
		next := mutualPairs(nb, col, al.src, al.tgt)
		al.opts.Log.Debug("alignment round", "start", start, "round", round, "objective", objective, "dictionary", len(next))
		if objective <= a.Objective {
			break // this round's map fits worse than the last one: keep that
		}
		gain := objective - a.Objective
		a.W, a.Iterations, a.Objective, a.Dictionary = w, round, objective, len(next)
		if gain < al.opts.Tol || slices.Equal(next, dict) {
			break
		}
		dict = next
	}
	return a, nil
}

// Guesses maps every uploaded observed row (every row without uploads) through W and returns its k nearest
// non-special public ids by cosine; special rows are guessed as themselves.
func (a *Alignment) Guesses(ctx context.Context, k int) (Guesses, error) {
	if err := checkK(k); err != nil {
		return Guesses{}, fmt.Errorf("alignment guesses: %w", err)
	}
	al, d := a.al, a.al.pub.D
	queries := gather(al.x, d, queryRows(al.obs.Uploads, al.special))
	queries.data = mapRows(queries.data, d, a.W)
	targets := gather(al.z, d, nonSpecial(al.special))
	nb, _, err := search(ctx, queries, targets, k, false, defaultTiling)
	if err != nil {
		return Guesses{}, fmt.Errorf("alignment guesses: %w", err)
	}
	g := newGuesses(al.pub.V, k)
	for r, id := range queries.ids {
		copy(g.Row(int(id)), nb.ids[r*k:(r+1)*k])
	}
	guessSpecialsAsThemselves(g, al.special)
	return g, nil
}

// AlignmentAttack is the alignment attack without public statistics: self-learning from the special tokens
// (the only pairs the cloud knows for sure; as they are not shaken, this starts from about the identity) and
// from the similarity-profile seeds (ProfileSeeds), keeping the map with the better objective, then nearest
// neighbour through it.
func AlignmentAttack(ctx context.Context, pub Public, obs Observed, k int, opts AlignOptions) (Guesses, *Alignment, error) {
	al, err := newAligner(pub, obs, opts)
	if err != nil {
		return Guesses{}, nil, err
	}
	a, err := al.unsupervised(ctx)
	if err != nil {
		return Guesses{}, nil, err
	}
	g, err := a.Guesses(ctx, k)
	return g, a, err
}

// unsupervised runs the special-token and profile starts and returns the better map.
func (al *aligner) unsupervised(ctx context.Context) (*Alignment, error) {
	best, err := al.align(ctx, "special", specialSeeds(al.pub))
	if err != nil {
		return nil, err
	}
	if al.opts.ProfileSize < 0 {
		return best, nil
	}
	seeds, err := al.profileSeeds(ctx)
	if err != nil {
		return nil, err
	}
	a, err := al.align(ctx, "profile", seeds)
	if err != nil {
		return nil, err
	}
	return better(best, a), nil
}

// better returns the map with the higher objective (a on ties).
func better(a, b *Alignment) *Alignment {
	if b.Objective > a.Objective {
		return b
	}
	return a
}

// ProfileSeeds returns the seed dictionary that similarity profiles give, without the key and without public
// statistics. The profile of a row is the sorted list of its ProfileSize highest cosines to the other
// non-special rows of its own (centred) table. Any orthogonal map (tilt) and any permutation (π) leave
// profiles unchanged, so a shaken row and its original have (nearly, under noise) the same profile: the seeds
// are the mutual nearest neighbours by L2 distance between the profiles of the SourceVocab observed rows and of
// the TargetVocab public rows. This is the similarity-distribution initialisation of Artetxe et al. 2018
// ("A robust self-learning method for fully unsupervised cross-lingual mappings of word embeddings"), with the
// whole table as the reference set, which makes it exactly invariant here.
func ProfileSeeds(ctx context.Context, pub Public, obs Observed, opts AlignOptions) ([]Pair, error) {
	al, err := newAligner(pub, obs, opts)
	if err != nil {
		return nil, err
	}
	return al.profileSeeds(ctx)
}

func (al *aligner) profileSeeds(ctx context.Context) ([]Pair, error) {
	m := al.opts.ProfileSize
	if m <= 0 {
		return nil, errors.New("profile seeds: profile size must be positive")
	}
	free := nonSpecial(al.special)
	ps, err := profiles(ctx, al.src, gather(al.x, al.pub.D, free), m)
	if err != nil {
		return nil, fmt.Errorf("profile seeds: %w", err)
	}
	pt, err := profiles(ctx, al.tgt, gather(al.z, al.pub.D, free), m)
	if err != nil {
		return nil, fmt.Errorf("profile seeds: %w", err)
	}
	pt.bias = l2Bias(pt)
	nb, _, err := search(ctx, ps, pt, 1, false, defaultTiling)
	if err != nil {
		return nil, fmt.Errorf("profile seeds: %w", err)
	}
	// The backward search needs the sources' L2 bias, so it is a second search rather than column maxima.
	ps.bias, pt.bias = l2Bias(ps), nil
	back, _, err := search(ctx, pt, ps, 1, false, defaultTiling)
	if err != nil {
		return nil, fmt.Errorf("profile seeds: %w", err)
	}
	srcRow := make(map[int32]int, ps.n)
	for r := range ps.n {
		srcRow[ps.id(r)] = r
	}
	var seeds []Pair
	for t := range pt.n {
		s := back.ids[t]
		if s == NoGuess {
			continue
		}
		if nb.ids[srcRow[s]] == pt.id(t) {
			seeds = append(seeds, Pair{Observed: s, Public: pt.id(t)})
		}
	}
	slices.SortFunc(seeds, func(a, b Pair) int { return int(a.Observed) - int(b.Observed) })
	al.opts.Log.Debug("profile seeds", "pairs", len(seeds), "profile", m)
	return seeds, nil
}

// profiles returns, for each row of rows, its m highest cosines to the rows of ref other than itself (by id),
// highest first, as an m-wide rowSet with the same ids.
func profiles(ctx context.Context, rows, ref rowSet, m int) (rowSet, error) {
	nb, _, err := search(ctx, rows, ref, m+1, false, defaultTiling)
	if err != nil {
		return rowSet{}, err
	}
	out := rowSet{data: make([]float32, rows.n*m), n: rows.n, d: m, ids: rows.ids}
	for r := range rows.n {
		dst := out.data[r*m : (r+1)*m]
		j := 0
		for c := range m + 1 {
			if j == m {
				break
			}
			if nb.ids[r*(m+1)+c] == rows.id(r) || nb.ids[r*(m+1)+c] == NoGuess {
				continue
			}
			dst[j] = nb.scores[r*(m+1)+c]
			j++
		}
	}
	return out, nil
}

func specialSeeds(pub Public) []Pair {
	seeds := make([]Pair, len(pub.Special))
	for i, id := range pub.Special {
		seeds[i] = Pair{id, id}
	}
	return seeds
}

// centredUnit returns a copy of a V×d table with the mean of its non-special rows subtracted from every
// non-special row and every row scaled to unit norm.
func centredUnit(table []float32, d int, special []bool) []float32 {
	mean := make([]float64, d)
	n := 0
	for id, s := range special {
		if s {
			continue
		}
		for j, v := range table[id*d : (id+1)*d] {
			mean[j] += float64(v)
		}
		n++
	}
	out := slices.Clone(table)
	if n > 0 {
		for id, s := range special {
			if s {
				continue
			}
			row := out[id*d : (id+1)*d]
			for j := range row {
				row[j] = float32(float64(row[j]) - mean[j]/float64(n))
			}
		}
	}
	normalizeRows(out, d)
	return out
}

// procrustes returns the orthogonal W maximising Σ_pairs x·W·zᵀ + weight·tr(W): the polar factor of
// M = Σ xᵀz + weight·I.
func procrustes(x, z []float32, d int, dict []Pair, weight float64) (*mat.Dense, error) {
	m := mat.NewDense(d, d, nil)
	if len(dict) > 0 {
		xs := mat.NewDense(len(dict), d, nil)
		zs := mat.NewDense(len(dict), d, nil)
		for r, p := range dict {
			for j := range d {
				xs.Set(r, j, float64(x[int(p.Observed)*d+j]))
				zs.Set(r, j, float64(z[int(p.Public)*d+j]))
			}
		}
		m.Mul(xs.T(), zs)
	}
	for j := range d {
		m.Set(j, j, m.At(j, j)+weight)
	}
	var svd mat.SVD
	if !svd.Factorize(m, mat.SVDFull) {
		return nil, errors.New("procrustes: SVD did not converge")
	}
	var u, v mat.Dense
	svd.UTo(&u)
	svd.VTo(&v)
	w := mat.NewDense(d, d, nil)
	w.Mul(&u, v.T())
	return w, nil
}

// mapRows returns x·W for a row-major n×d float32 matrix x.
func mapRows(x []float32, d int, w *mat.Dense) []float32 {
	w32 := make([]float32, d*d)
	for i := range d {
		for j := range d {
			w32[i*d+j] = float32(w.At(i, j))
		}
	}
	n := len(x) / d
	out := make([]float32, n*d)
	if n == 0 {
		return out
	}
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: d, Stride: d, Data: x},
		blas32.General{Rows: d, Cols: d, Stride: d, Data: w32},
		0, blas32.General{Rows: n, Cols: d, Stride: d, Data: out})
	return out
}

// mutualPairs lists the (source, target) pairs that are each other's nearest neighbour, in source order.
func mutualPairs(nb neighbours, col *colBest, src, tgt rowSet) []Pair {
	var out []Pair
	// nb.ids hold target ids, the column table is indexed by target row: walk the targets.
	for t := range tgt.n {
		s := col.query[t]
		if s < 0 {
			continue
		}
		if nb.ids[int(s)*nb.k] == tgt.id(t) {
			out = append(out, Pair{Observed: src.id(int(s)), Public: tgt.id(t)})
		}
	}
	slices.SortFunc(out, func(a, b Pair) int { return int(a.Observed) - int(b.Observed) })
	return out
}

func meanFloat32(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(len(x))
}
