package cryptorun

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
)

// Example is one dev example of the inference sample: the client's embedded input and mask, and the reference
// engine's logits on the variant's weights.
type Example struct {
	Index  int // row of the dev set
	Tokens int // real tokens (the rows an engine sees)
	Bucket int // length bucket: the smallest bucket ≥ Tokens
	// Embedded is the client's T×d embedding-layer input, Mask its real tokens (Weights.EmbedExample).
	Embedded cryptofriendly.Matrix
	Mask     []bool
	// Reference is the reference engine's logits (1×k).
	Reference cryptofriendly.Matrix
}

// Sample is the dev examples run through an engine, and what extrapolating from them needs.
type Sample struct {
	Examples []Example
	Buckets  []int       // ascending
	Counts   map[int]int // dev examples per bucket
	// DevTokensMean and TokensMean are the mean number of real tokens of the dev set and of the sample.
	DevTokensMean, TokensMean float64
	// OutOfRange counts Reciprocal/InvSqrt inputs of the reference runs outside their calibrated ranges.
	OutOfRange int64
	// VariantDiff is max |reference engine − gomlx| over the sample's logits: the exported forward pass computes
	// the distilled model.
	VariantDiff float64
}

// Tokens is the number of real tokens of each example of e.
func Tokens(e *finetune.Encoded) []int {
	out := make([]int, e.N)
	for i := range out {
		for _, m := range e.Mask[i*e.T : (i+1)*e.T] {
			if m != 0 {
				out[i]++
			}
		}
	}
	return out
}

// BucketOf is the smallest bucket holding tokens (buckets ascending), or an error when none does.
func BucketOf(tokens int, buckets []int) (int, error) {
	for _, b := range buckets {
		if tokens <= b {
			return b, nil
		}
	}
	return 0, fmt.Errorf("%d tokens exceed the largest length bucket %v", tokens, buckets)
}

// BucketCounts counts the examples of e per bucket.
func BucketCounts(e *finetune.Encoded, buckets []int) (map[int]int, error) {
	counts := map[int]int{}
	for _, n := range Tokens(e) {
		b, err := BucketOf(n, buckets)
		if err != nil {
			return nil, err
		}
		counts[b]++
	}
	return counts, nil
}

// Sample draws n dev examples (all of them if the dev set has fewer) with seed, stratified by length bucket:
// every non-empty bucket gets one example when n allows (the largest buckets first when it does not), the rest
// go to buckets in proportion to their dev counts. It embeds each example and runs it through the reference
// engine.
func (v *Variant) Sample(n int, buckets []int, seed uint64) (*Sample, error) {
	buckets = slices.Sorted(slices.Values(buckets))
	if n < 1 {
		return nil, fmt.Errorf("inference sample of %d examples", n)
	}
	tokens := Tokens(v.Dev)
	byBucket := map[int][]int{}
	s := &Sample{Buckets: buckets, Counts: map[int]int{}}
	for i, t := range tokens {
		b, err := BucketOf(t, buckets)
		if err != nil {
			return nil, fmt.Errorf("dev example %d: %w", i, err)
		}
		byBucket[b] = append(byBucket[b], i)
		s.Counts[b]++
		s.DevTokensMean += float64(t) / float64(len(tokens))
	}
	alloc := allocate(min(n, len(tokens)), buckets, s.Counts)
	rng := rand.New(rand.NewPCG(seed, 0x5a3b1e))
	var chosen []int
	for _, b := range buckets {
		idx := slices.Clone(byBucket[b])
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		chosen = append(chosen, idx[:alloc[b]]...)
	}
	slices.Sort(chosen)
	ref := cryptofriendly.NewPlainEngine()
	k := v.Weights.NumLabels()
	for _, i := range chosen {
		x, mask, err := v.Weights.EmbedExample(v.Dev, i)
		if err != nil {
			return nil, err
		}
		want, err := cryptofriendly.Forward(ref, v.Weights, x, mask)
		if err != nil {
			return nil, fmt.Errorf("reference forward of dev example %d: %w", i, err)
		}
		if len(v.Logits) >= (i+1)*k {
			for j := range k {
				s.VariantDiff = max(s.VariantDiff, math.Abs(want.Data[j]-float64(v.Logits[i*k+j])))
			}
		}
		b, _ := BucketOf(tokens[i], buckets)
		s.Examples = append(s.Examples, Example{Index: i, Tokens: tokens[i], Bucket: b, Embedded: x, Mask: mask, Reference: want})
		s.TokensMean += float64(tokens[i]) / float64(len(chosen))
	}
	s.OutOfRange = ref.OutOfRange()
	return s, nil
}

// allocate splits n sample slots over the non-empty buckets (see Sample).
func allocate(n int, buckets []int, counts map[int]int) map[int]int {
	out := map[int]int{}
	var nonEmpty []int
	total := 0
	for _, b := range buckets {
		if counts[b] > 0 {
			nonEmpty = append(nonEmpty, b)
			total += counts[b]
		}
	}
	if n < len(nonEmpty) { // one each to the n largest buckets
		byCount := slices.Clone(nonEmpty)
		slices.SortStableFunc(byCount, func(a, b int) int { return counts[b] - counts[a] })
		for _, b := range byCount[:n] {
			out[b] = 1
		}
		return out
	}
	left := n
	for _, b := range nonEmpty {
		out[b] = 1
		left--
	}
	// The rest by largest remainder of the proportional shares, capped by the bucket's size.
	for left > 0 {
		best, bestGap := -1, math.Inf(-1)
		for _, b := range nonEmpty {
			if out[b] >= counts[b] {
				continue
			}
			gap := float64(n)*float64(counts[b])/float64(total) - float64(out[b])
			if gap > bestGap {
				best, bestGap = b, gap
			}
		}
		if best < 0 {
			break
		}
		out[best]++
		left--
	}
	return out
}

// Extrapolate scales a per-example quantity measured on the sample (values[i] belongs to Examples[i]) to a set
// with counts examples per bucket: Σ_b counts[b] × (mean of the bucket's measured values). A bucket the sample
// has no example of takes the mean over all measured examples.
func (s *Sample) Extrapolate(values []float64, counts map[int]int) float64 {
	sum, n := map[int]float64{}, map[int]int{}
	var all float64
	for i, x := range values {
		b := s.Examples[i].Bucket
		sum[b] += x
		n[b]++
		all += x
	}
	overall := all / float64(max(len(values), 1))
	var total float64
	for b, c := range counts {
		mean := overall
		if n[b] > 0 {
			mean = sum[b] / float64(n[b])
		}
		total += float64(c) * mean
	}
	return total
}

// Unmeasured lists the buckets of counts with examples but none in the sample.
func (s *Sample) Unmeasured(counts map[int]int) []int {
	var out []int
	for _, b := range s.Buckets {
		if counts[b] > 0 && !slices.ContainsFunc(s.Examples, func(e Example) bool { return e.Bucket == b }) {
			out = append(out, b)
		}
	}
	return out
}

// Check returns max |got − want| over the logits, and an error when it exceeds tolerance (or is not a number):
// an engine that does not compute the variant's function must not report costs for it.
func Check(engine string, example int, got, want cryptofriendly.Matrix, tolerance float64) (float64, error) {
	if got.Rows != want.Rows || got.Cols != want.Cols {
		return math.NaN(), fmt.Errorf("%s: dev example %d: logits %d×%d, reference %d×%d", engine, example, got.Rows, got.Cols, want.Rows, want.Cols)
	}
	var diff float64
	for i := range want.Data {
		d := math.Abs(got.Data[i] - want.Data[i])
		if math.IsNaN(d) {
			diff = d
			break
		}
		diff = max(diff, d)
	}
	if !(diff <= tolerance) {
		return diff, fmt.Errorf("%s: dev example %d: private logits %.6g differ from the reference engine's %.6g by %.3g > tolerance %g",
			engine, example, got.Data, want.Data, diff, tolerance)
	}
	return diff, nil
}

func nan() float64 { return math.NaN() }
