// Package operators owns the CypherTalk secret key and the shaking operators (DESIGN.md §2).
//
// It is pure Go (no gomlx) and works on token-embedding tables given as row-major []float32 of V×d.
//
// What it owns:
//
//   - The Key: vocabulary size, optional width, a 32-byte secret Seed, the vertical chain and the horizontal
//     flag. In the paper's terms, vskey = {vsn, vsops[], vsopts[]} is Key.Vertical with vsn = len(Vertical),
//     vsops[k] = Vertical[k].Op and vsopts[k] = Vertical[k].Params; hskey = {π} is Key.Horizontal (π is not
//     stored, it is regenerated from the Seed). Keys are secrets: they print, log and JSON-marshal as their
//     fingerprint only.
//   - The key file: versioned JSON ("format": "cyphertalk-key/1"), mode 0600, written atomically, loaded only
//     when it has the expected vocabulary size and format and is not readable by group or others.
//   - The six vertical operators addv, inflate, tilt, gaussian, laplace, dx-fixp (each with an exact inverse
//     given the key), the horizontal permutation π, a registry of operators by name, the spec grammar
//     (ParseChain) and random chains (RandomChain).
//   - Shake / Unshake: E_s = π(V(E)) — row i of V(E) moves to row π(i) — and its inverse; Permutation,
//     InversePermutation and EncodeIDs for the client's token ids.
//
// # Noise unit
//
// Every noise scale is in units of s_E, the population standard deviation (divide by N) of all V·d entries
// of the table handed to Shake, computed once before the chain and recorded in Applied.SE, so that Unshake
// uses the same value.
//
// # Randomness (bit-identical on every machine)
//
// All randomness comes from the key's Seed through ChaCha8 (math/rand/v2, whose Uint64 stream is specified
// by C2SP chacha8rand), with sub-seeds derived by SHA-256:
//
//	op seed   = SHA-256("cyphertalk/op/v1"   || Seed || uint32be(k))      k = index of the operator in the chain
//	row seed  = SHA-256("cyphertalk/row/v1"  || op seed || uint64be(i))   i = original token id of the row
//	π seed    = SHA-256("cyphertalk/perm/v1" || Seed)
//	draw seed = SHA-256("cyphertalk/keygen/v1" || Seed)                  random chains (RandomChain)
//
// Table-wide draws (addv's v, inflate's u, tilt's pairing and angles) come from ChaCha8(op seed); per-row
// noise (gaussian, laplace, dx-fixp) comes from ChaCha8(row seed), so row i's noise depends only on
// (Seed, k, i): Apply runs over rows in parallel and Invert regenerates the same noise, and the result does not
// depend on the number of goroutines.
//
// Only ChaCha8's Uint64 output is used; everything above it is implemented here rather than taken from
// math/rand/v2 or gonum (whose derived samplers are not promised to be stable across releases, and whose
// math.Log/Exp/Sin differ by an ulp between architectures): uniform floats from the top 53 bits, unbiased
// bounded integers by Lemire's multiply-and-reject method, Fisher–Yates shuffles, 128-layer (normal) and
// 256-layer (exponential) ziggurat samplers in Doornik's formulation whose tables are computed at start-up,
// and portable log/exp/sincos (ports of Go's pure-Go FreeBSD-derived routines). Every product that could be
// contracted into a fused multiply-add is wrapped in an explicit float64() conversion, which the Go spec says
// prevents fusion, so arm64/ppc64/s390x compute the same bits as amd64.
//
// Samplers: normal = ziggurat; Laplace(0, b) = ±Exp(1)·b with the sign from a separate random bit;
// dx-fixp's radius r ~ Gamma(d, s_E/ε) is drawn as (s_E/ε)·Σ_{k<d} Exp_k(1), the sum of d independent unit
// exponentials (exact for the integer shape d), and its direction w as a normalised vector of d standard
// normals.
package operators
