package mpc

import (
	"fmt"
	"math/rand/v2"
)

// The dealer (a trusted third party, as in CrypTen's TTP mode) hands the parties correlated randomness that does
// not depend on any private value: the offline phase. To keep its traffic small it shares a PRG seed with each
// party (sent once at set-up); everything a party can draw from its seed it draws itself, and the dealer sends
// only the correcting shares that make the correlation hold (c₁ = a·b − c₀ and the like), all to the cloud:
// party 0's material is pure PRG output. This is CrypTen's TrustedThirdParty design.

// kind is a kind of correlated randomness.
type kind uint8

const (
	// kindProduct: a (m×n), b laid out by mode, c = a ⊙ bcast(b); all three additively shared. Beaver
	// element-wise products, MulRows and "many values times one" (the powers of Poly).
	kindProduct kind = iota
	// kindSquare: a (n), c = a²; shared. Squaring opens one value instead of two.
	kindSquare
	// kindMatrix: A (m×k), B (k×n), C = A·B; shared. The product of two private matrices.
	kindMatrix
	// kindWeights: A (m×k) known to the client only, B (k×n) known to the cloud only, C = A·B shared. The
	// product of the client's share by the cloud's private weights (Linear).
	kindWeights
	// kindTrunc: r uniform in Z_2^64 shared, with shares of its top bit and of (r mod 2^63) >> shift: the
	// dealer-assisted truncation of n values.
	kindTrunc
)

func (k kind) String() string {
	switch k {
	case kindProduct:
		return "product"
	case kindSquare:
		return "square"
	case kindMatrix:
		return "matrix"
	case kindWeights:
		return "weights"
	case kindTrunc:
		return "trunc"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// request names one piece of correlated randomness by its shapes; the dealer and both parties derive the same
// material from the same request list.
type request struct {
	kind    kind
	m, k, n int   // product: m×n; square, trunc: n values (m = 1); matrix, weights: (m×k)·(k×n)
	mode    bMode // product only
	shift   uint  // trunc only
}

// correctionWords is the number of words the dealer sends the cloud for r.
func (r request) correctionWords() int {
	switch r.kind {
	case kindTrunc:
		return 2 * r.n
	case kindSquare:
		return r.n
	default:
		return r.m * r.n
	}
}

// material is one party's share of one request.
type material struct {
	req     request
	a, b, c []uint64 // product, square (no b), matrix; weights: the client holds a, the cloud b, both c
	r, msb  []uint64 // trunc: shares of r and of its top bit
	low     []uint64 // trunc: share of (r mod 2^63) >> shift
}

func fill(rng *rand.ChaCha8, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = rng.Uint64()
	}
	return out
}

// expand draws party id's PRG-derived part of each request, in request order, from rng (the PRG it shares with
// the dealer). For the cloud, corr holds the dealer's correcting words, consumed in the same order.
func expand(id int, reqs []request, rng *rand.ChaCha8, corr []uint64) ([]material, error) {
	out := make([]material, len(reqs))
	next := func(n int) ([]uint64, error) {
		if len(corr) < n {
			return nil, fmt.Errorf("dealer message too short: %d words left, %d needed", len(corr), n)
		}
		w := corr[:n:n]
		corr = corr[n:]
		return w, nil
	}
	for i, rq := range reqs {
		mt := material{req: rq}
		var err error
		switch rq.kind {
		case kindProduct:
			mt.a = fill(rng, rq.m*rq.n)
			mt.b = fill(rng, rq.mode.len(rq.m, rq.n))
			if id == 0 {
				mt.c = fill(rng, rq.m*rq.n)
			} else {
				mt.c, err = next(rq.m * rq.n)
			}
		case kindSquare:
			mt.a = fill(rng, rq.n)
			if id == 0 {
				mt.c = fill(rng, rq.n)
			} else {
				mt.c, err = next(rq.n)
			}
		case kindMatrix:
			mt.a = fill(rng, rq.m*rq.k)
			mt.b = fill(rng, rq.k*rq.n)
			if id == 0 {
				mt.c = fill(rng, rq.m*rq.n)
			} else {
				mt.c, err = next(rq.m * rq.n)
			}
		case kindWeights:
			if id == 0 {
				mt.a = fill(rng, rq.m*rq.k)
				mt.c = fill(rng, rq.m*rq.n)
			} else {
				mt.b = fill(rng, rq.k*rq.n)
				mt.c, err = next(rq.m * rq.n)
			}
		case kindTrunc:
			mt.r = fill(rng, rq.n)
			if id == 0 {
				mt.msb = fill(rng, rq.n)
				mt.low = fill(rng, rq.n)
			} else {
				if mt.msb, err = next(rq.n); err == nil {
					mt.low, err = next(rq.n)
				}
			}
		default:
			err = fmt.Errorf("unknown kind %v", rq.kind)
		}
		if err != nil {
			return nil, fmt.Errorf("request %d (%v): %w", i, rq.kind, err)
		}
		out[i] = mt
	}
	if len(corr) != 0 {
		return nil, fmt.Errorf("dealer message has %d words more than the requests use", len(corr))
	}
	return out, nil
}

// deal computes the cloud's correcting words for reqs: it replays both parties' PRG draws (rng0, rng1) and
// returns c₁ = (correlated value) − c₀ for every request, concatenated in order.
func deal(reqs []request, rng0, rng1 *rand.ChaCha8) ([]uint64, error) {
	m0, err := expand(0, reqs, rng0, nil)
	if err != nil {
		return nil, err
	}
	// The cloud's PRG-derived parts, without corrections: expand with a zero correction stream.
	total := 0
	for _, rq := range reqs {
		total += rq.correctionWords()
	}
	m1, err := expand(1, reqs, rng1, make([]uint64, total))
	if err != nil {
		return nil, err
	}
	corr := make([]uint64, 0, total)
	for i, rq := range reqs {
		p0, p1 := m0[i], m1[i]
		switch rq.kind {
		case kindProduct:
			c := broadcastMul(ringAdd(p0.a, p1.a), ringAdd(p0.b, p1.b), rq.m, rq.n, rq.mode)
			corr = append(corr, ringSub(c, p0.c)...)
		case kindSquare:
			a := ringAdd(p0.a, p1.a)
			for j, v := range a {
				corr = append(corr, v*v-p0.c[j])
			}
		case kindMatrix:
			c := ringMatMul(ringAdd(p0.a, p1.a), ringAdd(p0.b, p1.b), rq.m, rq.k, rq.n)
			corr = append(corr, ringSub(c, p0.c)...)
		case kindWeights:
			c := ringMatMul(p0.a, p1.b, rq.m, rq.k, rq.n)
			corr = append(corr, ringSub(c, p0.c)...)
		case kindTrunc:
			msb1 := make([]uint64, rq.n)
			low1 := make([]uint64, rq.n)
			for j := range rq.n {
				r := p0.r[j] + p1.r[j]
				msb1[j] = r>>63 - p0.msb[j]
				low1[j] = (r&(1<<63-1))>>rq.shift - p0.low[j]
			}
			corr = append(corr, msb1...)
			corr = append(corr, low1...)
		}
	}
	return corr, nil
}
