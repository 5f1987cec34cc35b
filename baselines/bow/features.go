package bow

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Feature blocks of a raw feature key: the first sentence's tokens, the second's (pair tasks) and the tokens
// both sentences share.
const (
	blockA = iota
	blockB
	blockBoth
	numBlocks
)

// pairDense is the number of dense features of a pair task: the Jaccard overlap of the two sentences' token
// sets and their relative length difference.
const pairDense = 2

// entry is one non-zero feature of an example.
type entry struct {
	col int32
	val float64
}

// rows is a sparse example-by-feature matrix, one row per example (CSR).
type rows struct {
	start   []int // row i is entries[start[i]:start[i+1]]
	entries []entry
}

func (r *rows) n() int { return len(r.start) - 1 }

func (r *rows) row(i int) []entry { return r.entries[r.start[i]:r.start[i+1]] }

// featurizer turns the token ids the model sees into bag-of-words features. Raw features are keyed by block and
// token: unigram id, or V + the hashed bucket of a bigram; the training examples decide which raw features
// become columns (min count), and dev examples use the same columns (unknown features are dropped).
type featurizer struct {
	cfg     Config
	vocab   int     // tokenizer vocabulary size V
	special []int32 // ids that are not words ([CLS], [SEP], [PAD], ...)
	pair    bool
	cols    map[uint64]int32 // raw key → column
	sparse  int              // number of sparse columns; dense features follow them
}

// width is the number of raw feature slots per block.
func (f *featurizer) width() uint64 {
	w := uint64(f.vocab)
	if f.cfg.Bigrams {
		w += uint64(f.cfg.BigramBuckets)
	}
	return w
}

// dims is the number of feature columns.
func (f *featurizer) dims() int {
	if f.pair {
		return f.sparse + pairDense
	}
	return f.sparse
}

// bigramBucket hashes the token pair (a, b) into [0, buckets).
func bigramBucket(a, b int32, buckets int) uint64 {
	h := uint64(uint32(a))<<32 | uint64(uint32(b))
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h % uint64(buckets)
}

// sentences splits example i of e into its two sentences' word ids (specials and padding left out): segment 0
// is [CLS] a [SEP], segment 1 is b [SEP].
func (f *featurizer) sentences(e *finetune.Encoded, i int) (a, b []int32) {
	for t := i * e.T; t < (i+1)*e.T; t++ {
		id := e.IDs[t]
		if e.Mask[t] == 0 || slices.Contains(f.special, id) {
			continue
		}
		if e.Segments[t] == 0 {
			a = append(a, id)
		} else {
			b = append(b, id)
		}
	}
	return a, b
}

// raw counts the raw features of one example.
func (f *featurizer) raw(e *finetune.Encoded, i int) (counts map[uint64]float64, dense []float64) {
	a, b := f.sentences(e, i)
	counts = map[uint64]float64{}
	w := f.width()
	add := func(block int, ids []int32) map[int32]int {
		uni := map[int32]int{}
		for j, id := range ids {
			uni[id]++
			counts[uint64(block)*w+uint64(id)]++
			if f.cfg.Bigrams && j > 0 {
				counts[uint64(block)*w+uint64(f.vocab)+bigramBucket(ids[j-1], id, f.cfg.BigramBuckets)]++
			}
		}
		return uni
	}
	ua := add(blockA, a)
	if !f.pair {
		return counts, nil
	}
	ub := add(blockB, b)
	shared := 0
	for id, na := range ua {
		if nb, ok := ub[id]; ok {
			shared++
			counts[uint64(blockBoth)*w+uint64(id)] = float64(min(na, nb))
		}
	}
	union := len(ua) + len(ub) - shared
	jaccard := 0.0
	if union > 0 {
		jaccard = float64(shared) / float64(union)
	}
	lengthDiff := 0.0
	if l := max(len(a), len(b)); l > 0 {
		d := len(a) - len(b)
		if d < 0 {
			d = -d
		}
		lengthDiff = float64(d) / float64(l)
	}
	return counts, []float64{jaccard, lengthDiff}
}

// value is a feature's value from its count: 1 for binary features, the count for term frequencies.
func (f *featurizer) value(count float64) float64 {
	if f.cfg.Features == FeaturesBinary {
		return 1
	}
	return count
}

// fit chooses the columns: every raw feature that at least MinCount training examples have, in key order.
func (f *featurizer) fit(train *finetune.Encoded) {
	df := map[uint64]int{}
	for i := range train.N {
		counts, _ := f.raw(train, i)
		for k := range counts {
			df[k]++
		}
	}
	var keys []uint64
	for k, n := range df {
		if n >= f.cfg.MinCount {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	f.cols = make(map[uint64]int32, len(keys))
	for c, k := range keys {
		f.cols[k] = int32(c)
	}
	f.sparse = len(keys)
}

// transform featurises every example of e on the fitted columns.
func (f *featurizer) transform(e *finetune.Encoded) *rows {
	r := &rows{start: make([]int, 1, e.N+1)}
	for i := range e.N {
		counts, dense := f.raw(e, i)
		begin := len(r.entries)
		for k, n := range counts {
			if c, ok := f.cols[k]; ok {
				r.entries = append(r.entries, entry{col: c, val: f.value(n)})
			}
		}
		slices.SortFunc(r.entries[begin:], func(x, y entry) int { return cmp.Compare(x.col, y.col) })
		for j, v := range dense {
			r.entries = append(r.entries, entry{col: int32(f.sparse + j), val: v})
		}
		r.start = append(r.start, len(r.entries))
	}
	return r
}

// describe says what the features are, for the run's cost notes.
func (f *featurizer) describe() string {
	s := fmt.Sprintf("%d %s features (unigrams", f.dims(), f.cfg.Features)
	if f.cfg.Bigrams {
		s += fmt.Sprintf(", bigrams hashed into %d buckets", f.cfg.BigramBuckets)
	}
	if f.pair {
		s += "; each sentence, their shared tokens, Jaccard overlap and length difference"
	}
	return s + fmt.Sprintf(", min count %d)", f.cfg.MinCount)
}
