package pretrain

import (
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
)

// firstRegularID is the first id the 10% random replacement draws from: in bert-base-uncased ids 0..998 are
// [PAD], [unused*] and the special tokens.
const firstRegularID = 999

// view is the part of a corpus one sampler draws from (training or held-out).
type view struct {
	doc     [][]int32
	pairs   [][2][]int32
	singles [][]int32
}

func (v view) size() int { return len(v.doc) + len(v.pairs) + len(v.singles) }

// eachUnit calls fn for every text of the view in a fixed order: document sentences, pair texts, singles.
func (v view) eachUnit(fn func(ids []int32)) {
	for _, s := range v.doc {
		fn(s)
	}
	for _, p := range v.pairs {
		fn(p[0])
		fn(p[1])
	}
	for _, s := range v.singles {
		fn(s)
	}
}

// split keeps the last heldOut fraction of every source aside for the held-out MLM loss.
func split(c *Corpus, heldOut float64) (train, held view) {
	cut := func(n int) int { return n - int(math.Ceil(float64(n)*heldOut)) }
	doc := c.all().doc
	train.doc, held.doc = doc[:cut(len(doc))], doc[cut(len(doc)):]
	train.pairs, held.pairs = c.Pairs[:cut(len(c.Pairs))], c.Pairs[cut(len(c.Pairs)):]
	train.singles, held.singles = c.Singles[:cut(len(c.Singles))], c.Singles[cut(len(c.Singles)):]
	return train, held
}

// Batch is one fixed-shape MLM + sentence-pair batch, as flat row-major arrays.
type Batch struct {
	B, T, P             int
	IDs, Segments, Mask []int32 // [B,T]
	Positions, Targets  []int32 // [B,P]
	Weights             []float32
	IsNext              []int32   // [B] 1 = B follows A, 0 = random B
	PairWeights         []float32 // [B] 0 for single-segment examples
}

// Tensors returns the batch as the step's inputs, in the order the loss graph expects.
func (b *Batch) Tensors() []*tensors.Tensor {
	return []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(b.IDs, b.B, b.T),
		tensors.FromFlatDataAndDimensions(b.Segments, b.B, b.T),
		tensors.FromFlatDataAndDimensions(b.Mask, b.B, b.T),
		tensors.FromFlatDataAndDimensions(b.Positions, b.B, b.P),
		tensors.FromFlatDataAndDimensions(b.Targets, b.B, b.P),
		tensors.FromFlatDataAndDimensions(b.Weights, b.B, b.P),
		tensors.FromFlatDataAndDimensions(b.IsNext, b.B),
		tensors.FromFlatDataAndDimensions(b.PairWeights, b.B),
	}
}

// MapIDs maps every token id of the batch (inputs and masked-LM targets) through f (the client's π), in place.
func (b *Batch) MapIDs(f func(int32) int32) {
	for i, id := range b.IDs {
		b.IDs[i] = f(id)
	}
	for i, id := range b.Targets {
		b.Targets[i] = f(id)
	}
}

// Sampler draws masked-LM batches from one part of a public corpus with its own seeded RNG.
type Sampler struct{ s *sampler }

// NewSampler samples the training part (heldOut = false) or the held-out part of corpus c, split as
// pre-training splits it (the last heldOut fraction of each source, cfg.HeldOut).
func NewSampler(c *Corpus, cfg Config, tok *wordpiece.Tokenizer, T int, heldOut bool, seed uint64) *Sampler {
	train, held := split(c, cfg.HeldOut)
	v := train
	if heldOut {
		v = held
	}
	return &Sampler{newSampler(v, tok, T, cfg.MaskProb, cfg.PairObjective, seed)}
}

// Batch draws B masked sequences.
func (s *Sampler) Batch(B int) *Batch { return s.s.batch(B) }

// UnigramLogProbs is the add-one-smoothed log unigram distribution of the corpus's training part.
func UnigramLogProbs(c *Corpus, cfg Config, vocab int) []float32 {
	train, _ := split(c, cfg.HeldOut)
	return unigramLogProbs(train, vocab)
}

// sampler draws examples and masks from a view with its own seeded RNG.
type sampler struct {
	v        view
	tok      *wordpiece.Tokenizer
	rng      *rand.Rand
	T, P     int
	maskProb float64
	pairs    bool // sentence-pair objective on
	special  map[int32]bool
}

func newSampler(v view, tok *wordpiece.Tokenizer, T int, maskProb float64, pairs bool, seed uint64) *sampler {
	special := map[int32]bool{}
	for _, id := range tok.SpecialIDs() {
		special[id] = true
	}
	return &sampler{v: v, tok: tok, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), T: T,
		P: MaxPredictions(T, maskProb), maskProb: maskProb, pairs: pairs, special: special}
}

// MaxPredictions is the fixed number of masked slots per sequence: ⌈maskProb·T⌉.
func MaxPredictions(T int, maskProb float64) int { return int(math.Ceil(maskProb * float64(T))) }

// example draws text a, b and the pair label (-1 for a single segment).
func (s *sampler) example() (a, b []int32, isNext int32) {
	v := s.v
	r := s.rng.IntN(v.size())
	switch {
	case r < len(v.doc):
		i := min(r, len(v.doc)-2)
		a = v.doc[i]
		if !s.pairs {
			return s.pack(a, func() []int32 { i++; return v.doc[min(i, len(v.doc)-1)] }), nil, -1
		}
		if s.rng.IntN(2) == 0 {
			return a, v.doc[i+1], 1
		}
		return a, v.doc[s.rng.IntN(len(v.doc))], 0
	case r < len(v.doc)+len(v.pairs):
		p := v.pairs[r-len(v.doc)]
		if !s.pairs {
			return p[0], p[1], -1
		}
		if s.rng.IntN(2) == 0 {
			return p[0], p[1], 1
		}
		return p[0], v.pairs[s.rng.IntN(len(v.pairs))][1], 0
	default:
		return s.pack(v.singles[r-len(v.doc)-len(v.pairs)], func() []int32 { return v.singles[s.rng.IntN(len(v.singles))] }), nil, -1
	}
}

// pack concatenates short texts up to the sequence length so MLM sees full sequences.
func (s *sampler) pack(first []int32, next func() []int32) []int32 {
	out := append([]int32(nil), first...)
	for len(out) < s.T-2 {
		nx := next()
		if len(out)+len(nx) > s.T-2 {
			break
		}
		out = append(out, nx...)
	}
	return out
}

// batch draws B examples and masks them.
func (s *sampler) batch(B int) *Batch {
	T, P := s.T, s.P
	bt := &Batch{B: B, T: T, P: P,
		IDs: make([]int32, 0, B*T), Segments: make([]int32, 0, B*T), Mask: make([]int32, 0, B*T),
		Positions: make([]int32, B*P), Targets: make([]int32, B*P), Weights: make([]float32, B*P),
		IsNext: make([]int32, B), PairWeights: make([]float32, B)}
	vocab := int32(s.tok.VocabSize())
	for i := range B {
		a, b, isNext := s.example()
		enc := s.tok.EncodeIDs(a, b, T)
		ids := enc.IDs
		if isNext >= 0 {
			bt.IsNext[i], bt.PairWeights[i] = isNext, 1
		}
		var cand []int
		for t, id := range ids {
			if enc.Mask[t] == 1 && !s.special[id] {
				cand = append(cand, t)
			}
		}
		k := min(P, max(1, int(math.Round(s.maskProb*float64(len(cand))))))
		if len(cand) == 0 {
			k = 0
		}
		s.rng.Shuffle(len(cand), func(x, y int) { cand[x], cand[y] = cand[y], cand[x] })
		masked := append([]int32(nil), ids...)
		for j := range k {
			t := cand[j]
			bt.Positions[i*P+j], bt.Targets[i*P+j], bt.Weights[i*P+j] = int32(t), ids[t], 1
			switch u := s.rng.Float64(); {
			case u < 0.8:
				masked[t] = s.tok.MaskID()
			case u < 0.9:
				masked[t] = firstRegularID + s.rng.Int32N(vocab-firstRegularID)
			}
		}
		bt.IDs = append(bt.IDs, masked...)
		bt.Segments = append(bt.Segments, enc.Segments...)
		bt.Mask = append(bt.Mask, enc.Mask...)
	}
	return bt
}
