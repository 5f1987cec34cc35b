// Package embedinit builds a token-embedding table from co-occurrence
// statistics of a corpus (PPMI + truncated SVD, as in Levy, Goldberg & Dagan,
// "Improving Distributional Similarity with Lessons Learned from Word
// Embeddings", 2015). The table is meant to initialise (and possibly freeze)
// the token embedding of a small pre-trained BERT-style model, so that the
// table carries distributional knowledge instead of being random.
//
// The package owns the whole pipeline: windowed co-occurrence counting over
// token-id sentences, the sparse (CSR) PPMI matrix over the ids actually seen,
// a randomized truncated SVD (Halko, Martinsson & Tropp, 2011) of that matrix,
// and the final scaling of the table. The randomized SVD is written by hand on
// top of gonum (2-goroutine CSR×dense products, CholeskyQR2 with a LAPACK
// Householder-QR fallback, gonum's mat.SVD of the small projected matrix)
// because no Go library available to this project does truncated SVD of a
// large sparse matrix.
//
// Conventions:
//
//   - Co-occurrences inside a sentence within ±Window positions are weighted
//     harmonically: a pair at distance k adds 1/k (to both (w,c) and (c,w)).
//     Skip ids keep their position in the sentence (distances are not
//     shortened) but never count, neither as word nor as context.
//   - An id is "seen" when it has at least one counted co-occurrence. Only
//     seen ids get a row of the matrix (compact index, in increasing id order).
//   - With context-distribution smoothing (Smoothing != 1) the PPMI matrix is
//     not symmetric even though the counts are, so the randomized SVD uses A
//     and Aᵀ explicitly (both stored in CSR); the word rows are the left
//     singular vectors: row = U_i · S^EigWeight.
//   - Ids that are not seen (never occurring, only occurring alone, or listed
//     in Skip) get random N(0, σ²) rows drawn from (Seed, id); they carry no
//     knowledge. σ is TargetStd, or, when TargetStd is 0, the std of the seen
//     rows' entries so that they live on the same scale.
//   - If fewer than Dim ids are seen, the SVD has only that many components
//     and the remaining columns of seen rows are zero.
//
// The result is deterministic for a given input and Seed.
package embedinit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Config controls Build. Zero values of Window, Smoothing, PowerIters,
// Oversample and EigWeight select the defaults.
type Config struct {
	Dim        int     // output dimension d (e.g. 128)
	Window     int     // symmetric window, default 5
	Smoothing  float64 // context-distribution smoothing exponent, default 0.75
	PowerIters int     // randomized SVD power iterations, default 4 (negative: 0)
	Oversample int     // randomized SVD oversampling, default 16 (negative: 0)
	EigWeight  float64 // table = U * S^EigWeight, default 0.5 (negative: 0)
	// TargetStd rescales the final table so that the std of all entries of
	// seen rows equals TargetStd (e.g. 0.02 as BERT's init); 0 = no rescale.
	TargetStd float64
	Seed      uint64
	// Skip lists ids excluded from counting (special tokens: [PAD] etc.).
	// They get random rows of N(0, TargetStd²) from the seed.
	Skip []int32
}

// Stats reports what Build did.
type Stats struct {
	Seen        int       // ids with at least one counted co-occurrence (matrix size)
	Pairs       int64     // unordered position pairs counted (within window, no Skip id)
	NNZ         int       // non-zeros of the PPMI matrix
	Seconds     float64   // wall time of Build
	TopSingular []float64 // leading singular values of the PPMI matrix (descending)
}

const workers = 2 // the target machine has 2 cores

func (c Config) withDefaults() Config {
	if c.Window == 0 {
		c.Window = 5
	}
	if c.Smoothing == 0 {
		c.Smoothing = 0.75
	}
	switch {
	case c.PowerIters == 0:
		c.PowerIters = 4
	case c.PowerIters < 0:
		c.PowerIters = 0
	}
	switch {
	case c.Oversample == 0:
		c.Oversample = 16
	case c.Oversample < 0:
		c.Oversample = 0
	}
	switch {
	case c.EigWeight == 0:
		c.EigWeight = 0.5
	case c.EigWeight < 0:
		c.EigWeight = 0
	}
	return c
}

// Build returns a row-major vocabSize×cfg.Dim embedding table computed from
// the co-occurrences of sentences (token ids in [0, vocabSize)).
func Build(sentences [][]int32, vocabSize int, cfg Config) ([]float32, Stats, error) {
	start := time.Now()
	var st Stats
	cfg = cfg.withDefaults()
	if cfg.Dim <= 0 {
		return nil, st, errors.New("embedinit: Dim must be positive")
	}
	if vocabSize <= 0 {
		return nil, st, errors.New("embedinit: vocabSize must be positive")
	}
	if cfg.Window < 0 {
		return nil, st, errors.New("embedinit: Window must be non-negative")
	}
	if cfg.TargetStd < 0 || math.IsNaN(cfg.TargetStd) {
		return nil, st, errors.New("embedinit: TargetStd must be non-negative")
	}
	if cfg.Smoothing < 0 || math.IsNaN(cfg.Smoothing) {
		return nil, st, errors.New("embedinit: Smoothing must be non-negative")
	}
	skip := make([]bool, vocabSize)
	for _, id := range cfg.Skip {
		if id < 0 || int(id) >= vocabSize {
			return nil, st, fmt.Errorf("embedinit: skip id %d out of range [0,%d)", id, vocabSize)
		}
		skip[id] = true
	}

	cooc, ids, pairs, err := countCooc(sentences, vocabSize, cfg.Window, skip)
	if err != nil {
		return nil, st, err
	}
	st.Pairs = pairs
	st.Seen = len(ids)

	d := cfg.Dim
	table := make([]float32, vocabSize*d)
	seen := make([]bool, vocabSize)
	var seenStd float64
	if n := len(ids); n > 0 {
		a := ppmi(cooc, cfg.Smoothing)
		st.NNZ = len(a.val)
		at := a.transpose()
		k := min(d, n)
		u, s := randSVD(a, at, k, cfg.Oversample, cfg.PowerIters, cfg.Seed)
		st.TopSingular = s
		w := make([]float64, k)
		for j := range k {
			w[j] = math.Pow(s[j], cfg.EigWeight)
		}
		var sum, sum2 float64
		for i, id := range ids {
			seen[id] = true
			row := u[i*k : (i+1)*k]
			for j, x := range row {
				v := x * w[j]
				sum += v
				sum2 += v * v
			}
		}
		cnt := float64(n * d) // columns beyond k (if n < d) are zeros
		mean := sum / cnt
		seenStd = math.Sqrt(math.Max(0, sum2/cnt-mean*mean))
		scale := 1.0
		if cfg.TargetStd > 0 && seenStd > 0 {
			scale = cfg.TargetStd / seenStd
		}
		for i, id := range ids {
			row := u[i*k : (i+1)*k]
			dst := table[int(id)*d : int(id)*d+d]
			for j, x := range row {
				dst[j] = float32(x * w[j] * scale)
			}
		}
	}

	sigma := cfg.TargetStd
	if sigma == 0 {
		sigma = seenStd
	}
	if sigma == 0 {
		sigma = 0.02 // nothing seen and no target: fall back to BERT's init std
	}
	for id := range vocabSize {
		if seen[id] {
			continue
		}
		r := rand.New(rand.NewPCG(cfg.Seed^0x6a09e667f3bcc908, uint64(id)))
		dst := table[id*d : id*d+d]
		for j := range dst {
			dst[j] = float32(r.NormFloat64() * sigma)
		}
	}
	st.Seconds = time.Since(start).Seconds()
	return table, st, nil
}

// csr is a square sparse matrix in compressed-sparse-row form; columns
// within a row are strictly increasing.
type csr struct {
	n      int
	rowPtr []int
	col    []int32
	val    []float64
}

// countCooc counts harmonic-weighted co-occurrences and returns the symmetric
// count matrix over the compact index of seen ids, the seen ids in increasing
// order (compact index -> id) and the number of unordered pairs counted.
func countCooc(sentences [][]int32, vocabSize, window int, skip []bool) (*csr, []int32, int64, error) {
	inv := make([]float64, window+1)
	for k := 1; k <= window; k++ {
		inv[k] = 1 / float64(k)
	}
	// key = min<<32 | max over raw ids; value = accumulated weight.
	var tokens int
	for si, s := range sentences {
		for i, a := range s {
			if a < 0 || int(a) >= vocabSize {
				return nil, nil, 0, fmt.Errorf("embedinit: sentence %d position %d: id %d out of range [0,%d)", si, i, a, vocabSize)
			}
		}
		tokens += len(s)
	}
	counts := make(map[uint64]float64, min(tokens*window/4, 1<<24))
	var pairs int64
	for _, s := range sentences {
		for i, a := range s {
			if skip[a] {
				continue
			}
			end := min(len(s), i+window+1)
			for j := i + 1; j < end; j++ {
				b := s[j]
				if skip[b] {
					continue
				}
				lo, hi := a, b
				if lo > hi {
					lo, hi = hi, lo
				}
				counts[uint64(lo)<<32|uint64(hi)] += inv[j-i]
				pairs++
			}
		}
	}
	keys := make([]uint64, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	index := make([]int32, vocabSize)
	for i := range index {
		index[i] = -1
	}
	for _, k := range keys {
		index[k>>32] = 0
		index[k&0xffffffff] = 0
	}
	var ids []int32
	for id, v := range index {
		if v == 0 {
			index[id] = int32(len(ids))
			ids = append(ids, int32(id))
		}
	}
	n := len(ids)
	m := &csr{n: n, rowPtr: make([]int, n+1)}
	for _, k := range keys {
		lo, hi := index[k>>32], index[k&0xffffffff]
		m.rowPtr[lo+1]++
		if lo != hi {
			m.rowPtr[hi+1]++
		}
	}
	for i := range n {
		m.rowPtr[i+1] += m.rowPtr[i]
	}
	nnz := m.rowPtr[n]
	m.col = make([]int32, nnz)
	m.val = make([]float64, nnz)
	next := slices.Clone(m.rowPtr[:n])
	// Keys are sorted by (lo, hi): for a row r, the entries (c, r) with c < r
	// are all emitted before the entries (r, c') with c' >= r, each group in
	// increasing column order, so rows come out sorted.
	for _, k := range keys {
		lo, hi := index[k>>32], index[k&0xffffffff]
		w := counts[k]
		if lo == hi {
			// a pair (a, a) is seen from both ends
			m.col[next[lo]], m.val[next[lo]] = lo, 2*w
			next[lo]++
			continue
		}
		m.col[next[lo]], m.val[next[lo]] = hi, w
		next[lo]++
		m.col[next[hi]], m.val[next[hi]] = lo, w
		next[hi]++
	}
	return m, ids, pairs, nil
}

// ppmi turns symmetric counts X into PPMI(w,c) = max(0, log(X_wc·Z / (r_w·r_c^α)))
// where r are the row sums and Z = Σ_c r_c^α, i.e. p(w,c) / (p(w)·p_α(c)) with
// p_α the context distribution raised to α and renormalised. Zeros are dropped.
func ppmi(x *csr, alpha float64) *csr {
	n := x.n
	r := make([]float64, n)
	for i := range n {
		r[i] = floats.Sum(x.val[x.rowPtr[i]:x.rowPtr[i+1]])
	}
	ra := make([]float64, n)
	var z float64
	for i, v := range r {
		ra[i] = math.Pow(v, alpha)
		z += ra[i]
	}
	out := &csr{n: n, rowPtr: make([]int, n+1)}
	out.col = make([]int32, 0, len(x.col)/2)
	out.val = make([]float64, 0, len(x.col)/2)
	for i := range n {
		for p := x.rowPtr[i]; p < x.rowPtr[i+1]; p++ {
			c := x.col[p]
			v := math.Log(x.val[p] * z / (r[i] * ra[c]))
			if v > 0 {
				out.col = append(out.col, c)
				out.val = append(out.val, v)
			}
		}
		out.rowPtr[i+1] = len(out.col)
	}
	return out
}

func (m *csr) transpose() *csr {
	t := &csr{n: m.n, rowPtr: make([]int, m.n+1), col: make([]int32, len(m.col)), val: make([]float64, len(m.val))}
	for _, c := range m.col {
		t.rowPtr[c+1]++
	}
	for i := range m.n {
		t.rowPtr[i+1] += t.rowPtr[i]
	}
	next := slices.Clone(t.rowPtr[:m.n])
	for i := range m.n {
		for p := m.rowPtr[i]; p < m.rowPtr[i+1]; p++ {
			c := m.col[p]
			t.col[next[c]] = int32(i)
			t.val[next[c]] = m.val[p]
			next[c]++
		}
	}
	return t
}

// mulDense sets dst = m·x where x and dst are row-major n×l. Rows are split
// between the workers at the non-zero midpoint; each output row is computed
// by one worker in a fixed order, so the result is deterministic.
func (m *csr) mulDense(dst, x []float64, l int) {
	var wg sync.WaitGroup
	nnz := m.rowPtr[m.n]
	lo := 0
	for w := range workers {
		hi := m.n
		if w < workers-1 {
			target := nnz * (w + 1) / workers
			hi, _ = slices.BinarySearch(m.rowPtr, target)
			hi = max(min(hi, m.n), lo)
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out := dst[i*l : (i+1)*l]
				clear(out)
				for p := m.rowPtr[i]; p < m.rowPtr[i+1]; p++ {
					c := int(m.col[p])
					floats.AddScaled(out, m.val[p], x[c*l:(c+1)*l])
				}
			}
		}(lo, hi)
		lo = hi
	}
	wg.Wait()
}

// orthonormalize replaces the columns of the row-major n×l matrix y by an
// orthonormal basis of their span. It uses CholeskyQR2 (two passes of
// Y ← Y·R⁻¹ with RᵀR = YᵀY; level-3 BLAS, several times faster than
// Householder in gonum for tall-skinny matrices) and falls back to thin
// Householder QR when Y is too ill-conditioned for the Gram matrix.
//
// With exact false one CholeskyQR pass is done: the result is orthonormal up
// to ~ε·cond(Y)², plenty for the intermediate bases of the power iterations.
func orthonormalize(y []float64, n, l int, exact bool) {
	if n < l || !cholQR(y, n, l) || (exact && !cholQR(y, n, l)) {
		householderQR(y, n, l)
	}
}

// cholQR does one CholeskyQR pass in place; it reports false (leaving y
// untouched) when the Gram matrix is not safely positive definite. Both the
// Gram matrix and the triangular solve run row-parallel on the workers.
func cholQR(y []float64, n, l int) bool {
	// Upper triangle of G = YᵀY, one partial sum per worker, added in a
	// fixed order (deterministic).
	parts := make([][]float64, workers)
	parallelRows(n, func(w, lo, hi int) {
		g := make([]float64, l*l)
		for i := lo; i < hi; i++ {
			yi := y[i*l : (i+1)*l]
			for a, v := range yi {
				if v != 0 {
					floats.AddScaled(g[a*l+a:(a+1)*l], v, yi[a:])
				}
			}
		}
		parts[w] = g
	})
	gram := parts[0]
	for _, p := range parts[1:] {
		floats.Add(gram, p)
	}
	r, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: l, Stride: l, Data: gram})
	if !ok {
		return false
	}
	// cond(Y)² = cond(YᵀY) must stay well below 1/ε; the diagonal of R gives
	// a cheap lower bound of cond(Y).
	lo, hi := math.Inf(1), 0.0
	for i := range l {
		d := math.Abs(r.Data[i*l+i])
		lo, hi = min(lo, d), max(hi, d)
	}
	if !(lo > 1e-5*hi) {
		return false
	}
	// Y ← Y R⁻¹ row by row: x R = y by forward substitution.
	parallelRows(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			yi := y[i*l : (i+1)*l]
			for j := range l {
				yi[j] /= r.Data[j*l+j]
				if x := yi[j]; x != 0 && j+1 < l {
					floats.AddScaled(yi[j+1:], -x, r.Data[j*l+j+1:(j+1)*l])
				}
			}
		}
	})
	return true
}

// parallelRows splits [0,n) into one contiguous range per worker.
func parallelRows(n int, f func(w, lo, hi int)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			f(w, n*w/workers, n*(w+1)/workers)
		}(w)
	}
	wg.Wait()
}

// householderQR orthonormalizes in place by thin Householder QR (LAPACK
// Geqrf + Orgqr); it also copes with rank-deficient y.
func householderQR(y []float64, n, l int) {
	g := blas64.General{Rows: n, Cols: l, Stride: l, Data: y}
	tau := make([]float64, l)
	work := []float64{0}
	lapack64.Geqrf(g, tau, work, -1)
	lw := int(work[0])
	lapack64.Orgqr(g, tau, work, -1)
	lw = max(lw, int(work[0]), l)
	work = make([]float64, lw)
	lapack64.Geqrf(g, tau, work, lw)
	lapack64.Orgqr(g, tau, work, lw)
}

// randSVD computes the k leading left singular vectors (row-major n×k) and
// singular values of the n×n sparse matrix a (at = aᵀ) by the randomized
// range finder with power iterations of Halko et al. (Algorithms 4.4 & 5.1).
func randSVD(a, at *csr, k, oversample, powerIters int, seed uint64) ([]float64, []float64) {
	n := a.n
	l := min(k+oversample, n)
	rng := rand.New(rand.NewPCG(seed, 0x3c6ef372fe94f82b))
	omega := make([]float64, n*l)
	for i := range omega {
		omega[i] = rng.NormFloat64()
	}
	y := make([]float64, n*l)
	a.mulDense(y, omega, l) // Y = A Ω
	orthonormalize(y, n, l, powerIters == 0)
	z := omega // reuse
	for it := range powerIters {
		at.mulDense(z, y, l) // Z = Aᵀ Q
		orthonormalize(z, n, l, false)
		a.mulDense(y, z, l) // Y = A Z
		orthonormalize(y, n, l, it == powerIters-1)
	}
	q := y
	at.mulDense(z, q, l) // Z = Aᵀ Q = Bᵀ, n×l

	// B = Qᵀ A = Zᵀ is l×n; B = U_B S V_Bᵀ.
	zm := mat.NewDense(n, l, z)
	var svd mat.SVD
	if !svd.Factorize(zm.T(), mat.SVDThinU) {
		panic("embedinit: SVD of the projected matrix did not converge")
	}
	s := svd.Values(nil)[:k]
	var ub mat.Dense
	svd.UTo(&ub) // l×l
	ubk := ub.Slice(0, l, 0, k).(*mat.Dense)
	ubRaw := ubk.RawMatrix()

	u := make([]float64, n*k)
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: l, Stride: l, Data: q},
		ubRaw, 0,
		blas64.General{Rows: n, Cols: k, Stride: k, Data: u})

	// Fix the sign of each singular vector: largest-magnitude entry positive.
	for j := range k {
		best, bi := 0.0, 0
		for i := range n {
			if v := math.Abs(u[i*k+j]); v > best {
				best, bi = v, i
			}
		}
		if u[bi*k+j] < 0 {
			for i := range n {
				u[i*k+j] = -u[i*k+j]
			}
		}
	}
	return u, slices.Clone(s)
}
