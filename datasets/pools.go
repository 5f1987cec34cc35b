package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"slices"
)

// InPrivatePool reports whether an example belongs to the private pool of its
// split. Each train split is divided by a stable hash of its text into
//
//   - the private pool, used only to fine-tune (and attack) task models, and
//   - the public pool, whose text may be used as pre-training data.
//
// The hash is SHA-256 of TextA + "\x1f" + TextB (the label is not hashed); an
// example is private when the low bit of the digest's first byte is 0, so the
// division is 50/50 in expectation, independent of the text's content, and,
// depending only on the text bytes, identical across runs, machines and data
// layouts. Duplicate texts always land in the same pool, so no text is in both.
func InPrivatePool(ex Example) bool {
	h := sha256.New()
	h.Write([]byte(ex.TextA))
	h.Write([]byte{0x1f})
	h.Write([]byte(ex.TextB))
	return h.Sum(nil)[0]&1 == 0
}

// Pools splits examples into the private and public pools (see
// InPrivatePool), each in the original order.
func Pools(examples []Example) (private, public []Example) {
	for _, ex := range examples {
		if InPrivatePool(ex) {
			private = append(private, ex)
		} else {
			public = append(public, ex)
		}
	}
	return private, public
}

// Subsample returns n examples chosen uniformly without replacement, in their
// original order. n <= 0 or n >= len(examples) returns a copy of all of them.
//
// The choice is a partial Fisher–Yates shuffle driven by math/rand/v2's
// ChaCha8 generator keyed with seed (little-endian in the key's first 8
// bytes, the rest zero), using only its Uint64 stream, so the same
// (examples, n, seed) always gives the same result, on every machine and Go
// version. Subsamples are nested: with the same seed, the subsample of n is
// contained in the subsample of any m > n.
func Subsample(examples []Example, n int, seed uint64) []Example {
	if n <= 0 || n >= len(examples) {
		return slices.Clone(examples)
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:8], seed)
	rng := rand.NewChaCha8(key)
	idx := make([]int, len(examples))
	for i := range idx {
		idx[i] = i
	}
	for i := 0; i < n; i++ {
		j := i + int(uniformBelow(rng, uint64(len(idx)-i)))
		idx[i], idx[j] = idx[j], idx[i]
	}
	chosen := idx[:n]
	slices.Sort(chosen)
	out := make([]Example, n)
	for k, i := range chosen {
		out[k] = examples[i]
	}
	return out
}

// uniformBelow returns a uniform value in [0, n) by rejection sampling on the
// generator's raw Uint64 output (an algorithm fixed here, independent of the
// standard library's, so results never change).
func uniformBelow(rng *rand.ChaCha8, n uint64) uint64 {
	threshold := -n % n // 2^64 mod n: values below it would bias the modulo
	for {
		if x := rng.Uint64(); x >= threshold {
			return x % n
		}
	}
}
