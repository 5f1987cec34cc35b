// Package operators owns the CypherTalk secret key and the shaking operators (docs/design.md §2).
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
//   - Shake / Unshake (and ShakeInto / UnshakeInto, which reuse a buffer): E_s = π(V(E)) — row i of V(E)
//     moves to row π(i) — and its inverse; Permutation,
//     InversePermutation and EncodeIDs for the client's token ids.
//
// # Noise unit
//
// Every noise scale is in units of s_E, the population standard deviation (divide by N) of all V·d entries
// of the table handed to Shake, computed once before the chain and recorded in Applied.SE, so that Unshake
// uses the same value. A chain without an s_E-scaled operator (π alone, inflate, tilt) does not compute it
// and records 0.
//
// # Randomness (bit-identical on every machine)
//
// All randomness comes from the key's Seed, with sub-seeds derived by SHA-256 (PRNGName names the scheme;
// key files record it and are refused under another):
//
//	op seed   = SHA-256("cyphertalk/op/v1"   || Seed || uint32be(k))      k = index of the operator in the chain
//	row key   = SHA-256("cyphertalk/row/v2"  || op seed)                  AES-256 key of the operator's rows
//	π seed    = SHA-256("cyphertalk/perm/v1" || Seed)
//	draw seed = SHA-256("cyphertalk/keygen/v1" || Seed)                  random chains (RandomChain)
//
// Table-wide draws (addv's v, inflate's u, tilt's pairing and angles), π and random chains come from
// ChaCha8 (math/rand/v2, whose Uint64 stream is specified by C2SP chacha8rand) seeded with the op, π or
// draw seed. Per-row noise (gaussian, laplace, dx-fixp) is the bulk of the work — one 32-bit word per table
// entry — and comes from AES-256-CTR (FIPS 197, SP 800-38A; crypto/aes, which runs it on AES-NI or the
// ARMv8 AES instructions about three times faster than ChaCha8): the keystream under the operator's row key,
// counter from 0, read as little-endian uint32 words, is cut into one region per token id (below). Row i's
// noise therefore depends only on (Seed, k, i): Apply runs over rows in parallel, Invert regenerates the
// same noise, and the result does not depend on the number of goroutines or on π.
//
// Row i owns R = ⌈(d + 16 + ⌊d/16⌋)/4⌉ counter blocks of the operator's keystream, starting at block i·R
// (so that a goroutine running consecutive rows generates one stream); word j < d gives entry j's sample
// on the ziggurat's fast path, and the row's later words are taken in order by rejected draws (1.5% of
// normal, 2.2% of exponential draws) and by dx-fixp's radius — in the rare row (fewer than 1 in 10^5 for
// d = 768) that needs more, from the row's overflow keystream starting at counter block
// uint64be(2^63 + i) || 0^64:
//
//   - normal (256-layer ziggurat): layer = w & 255, sign = bit 8, magnitude u = (w>>9)·2^-23 (23 bits);
//   - exponential (256 layers): layer = w & 255, u = (w>>9)·2^-23 (23 bits); Laplace takes its sign from
//     bit 8 of the same word, which the magnitude does not use.
//
// That is the one approximation of the noise distributions: inside a ziggurat layer the uniform has 23 bits
// instead of 53, so a fast-path sample lies on a grid of spacing at most 4.7e-7 (normal) or 1.04e-6
// (exponential, in units of the scale), which moves the distribution function by at most 1.9e-7 and
// 1.04e-6 (spacing × largest density) — orders of magnitude below what 2.3·10^7 samples can resolve
// (~2e-4). The fast path multiplies the integer u·2^23 by a float32 table entry ±scale·x_layer·2^-23
// rounded to float32, so the noise value is rounded to float32 twice. Wedge tests take a 32-bit uniform
// from one word, the normal's base-layer tail 53-bit uniforms from pairs of words (low word first).
//
// Only ChaCha8's Uint64 output and the AES keystream are used; everything above them is implemented here
// rather than taken from math/rand/v2 or gonum (whose derived samplers are not promised to be stable across
// releases, and whose math.Log/Exp/Sin differ by an ulp between architectures): uniform floats from the top 53
// bits, unbiased bounded integers by Lemire's multiply-and-reject method, Fisher–Yates shuffles, ziggurat
// samplers in Doornik's formulation (a 128-layer normal for ChaCha8 draws, 256-layer normal and exponential
// for the row streams) whose tables are computed at start-up, Marsaglia and Tsang's Gamma sampler, and
// portable log/exp/sincos (ports of Go's pure-Go FreeBSD-derived routines). Every product that could be
// contracted into a fused multiply-add is wrapped in an explicit float64() or float32() conversion, which the
// Go spec says prevents fusion, so arm64, ppc64, s390x and amd64 with FMA compute the same bits.
//
// Samplers: normal = ziggurat; Laplace(0, b) = ±Exp(1)·b; dx-fixp's radius r ~ Gamma(d, s_E/ε) is drawn as
// (s_E/ε)·G with G ~ Gamma(d, 1) by Marsaglia and Tsang's exact rejection method (instead of summing d
// exponentials), and its direction as d standard normals (rounded to float32) divided by their norm. Apply
// adds the float32 noise values to the float32 entries, Invert subtracts them.
//
// # Speed
//
// Shake and Unshake run the copy, π and the whole vertical chain row by row in one pass over the table,
// with goroutines taking blocks of 64 rows; only a chain with an s_E-scaled operator needs one more,
// read-only pass to compute s_E first (one pass of sums from a shifted origin, blockMoments). ShakeInto and
// UnshakeInto write into a caller's buffer: a fresh V·d result is mapped in by the operating system page by
// page as it is first written, which can cost more than the shaking. `go test -bench Shake` prints MB/s
// and MB per CPU-second for a plain copy of the bert-base table next to each operator, s_E, and Shake and
// Unshake of π alone and of a three-operator chain.
package operators
