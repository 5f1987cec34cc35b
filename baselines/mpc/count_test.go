package mpc

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// wantTraffic is a hand count of one operation's traffic.
type wantTraffic struct {
	toCloud, toClient, rounds                int64 // online
	dealerToCloud, dealerToClient, offRounds int64 // offline
}

func checkTraffic(t *testing.T, what string, d Stats, want wantTraffic) {
	t.Helper()
	got := wantTraffic{d.Online.BytesToCloud, d.Online.BytesToClient, d.Online.Rounds,
		d.Offline.DealerBytesToCloud, d.Offline.DealerBytesToClient, d.Offline.Rounds}
	if got != want {
		t.Errorf("%s: counted %+v, hand count %+v", what, got, want)
	}
	if d.Offline.BytesToCloud != 0 || d.Offline.BytesToClient != 0 || d.Online.DealerBytesToCloud != 0 || d.Online.DealerBytesToClient != 0 {
		t.Errorf("%s: traffic booked to the wrong part: %+v", what, d)
	}
}

// TestCountersMatchHandCount: the bytes and rounds of a 2×3 · 3×2 product, counted on the TCP connections,
// equal a count by hand. A message is an 8-byte header plus 8 bytes per ring element.
func TestCountersMatchHandCount(t *testing.T) {
	const header, word = 8, 8
	rng := rand.New(rand.NewPCG(3, 3))
	x := randMatrix(rng, 2, 3, -1, 1)
	y := randMatrix(rng, 3, 2, -1, 1)
	for _, mode := range []Truncation{TruncDealer, TruncLocal} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newTestEngine(t, mode)
			// Truncating the 2×2 result: dealer-assisted, each party sends its share of x + r (4 elements) in one
			// round, and the dealer sends the cloud its shares of r's top bit and of (r mod 2^63) >> f (2·4
			// elements); local truncation costs nothing.
			var truncEach, truncRounds, truncDealer int64
			if mode == TruncDealer {
				truncEach, truncRounds, truncDealer = header+4*word, 1, 2*4*word
			}

			before := e.Stats()
			xs, ys := mustInput(t, e, x), mustInput(t, e, y)
			checkTraffic(t, "Input (PRG-masked shares)", e.Stats().Sub(before), wantTraffic{})

			// MatMul (both private): each party sends one message with its shares of E = x − A (2·3) and
			// F = y − B (3·2), one round; the dealer sends the cloud C₁ (2·2) in one message with the truncation
			// material.
			before = e.Stats()
			z, err := e.MatMul(xs, ys)
			if err != nil {
				t.Fatal(err)
			}
			each := int64(header + (6+6)*word)
			checkTraffic(t, "MatMul 2×3·3×2", e.Stats().Sub(before), wantTraffic{
				toCloud: each + truncEach, toClient: each + truncEach, rounds: 1 + truncRounds,
				dealerToCloud: header + 4*word + truncDealer, offRounds: 1,
			})

			// Linear (x private, W the cloud's): the client sends x₀ − A (2·3), the cloud sends W − B (3·2), one
			// round; the dealer sends the cloud C₁ (2·2).
			before = e.Stats()
			if _, err := e.Linear(xs, y, []float64{0.5, -0.5}); err != nil {
				t.Fatal(err)
			}
			checkTraffic(t, "Linear 2×3·3×2", e.Stats().Sub(before), wantTraffic{
				toCloud: header + 6*word + truncEach, toClient: header + 6*word + truncEach, rounds: 1 + truncRounds,
				dealerToCloud: header + 4*word + truncDealer, offRounds: 1,
			})

			// Reveal to the client: the cloud sends its share (2·2), one round.
			before = e.Stats()
			if _, err := e.Reveal(z); err != nil {
				t.Fatal(err)
			}
			checkTraffic(t, "Reveal 2×2", e.Stats().Sub(before), wantTraffic{toClient: header + 4*word, rounds: 1})

			// Local operations are free.
			before = e.Stats()
			if _, err := e.Add(z, z); err != nil {
				t.Fatal(err)
			}
			if _, err := e.RowSum(z); err != nil {
				t.Fatal(err)
			}
			if _, err := e.SliceCols(z, 0, 1); err != nil {
				t.Fatal(err)
			}
			checkTraffic(t, "local ops", e.Stats().Sub(before), wantTraffic{})

			d := e.Stats().Sub(before)
			if d.Ops["Add"] != 1 || d.Ops["RowSum"] != 1 || d.Ops["SliceCols"] != 1 {
				t.Errorf("op counts %v", d.Ops)
			}
		})
	}
}

// TestRoundsFollowDependencies: rounds count the critical path of messages, so two independent products
// issued one after the other cost two rounds each (the engine does not batch them), and a reveal followed by a
// product adds the reveal's one-way message.
func TestRoundsFollowDependencies(t *testing.T) {
	e := newTestEngine(t, TruncLocal)
	rng := rand.New(rand.NewPCG(4, 4))
	a := mustInput(t, e, randMatrix(rng, 3, 3, -1, 1))
	before := e.Stats()
	for range 3 {
		if _, err := e.MulElem(a, a); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.Stats().Sub(before).Online.Rounds; got != 3 {
		t.Errorf("three products: %d rounds, want 3", got)
	}
	before = e.Stats()
	if _, err := e.Reveal(a); err != nil {
		t.Fatal(err)
	}
	if _, err := e.MulElem(a, a); err != nil {
		t.Fatal(err)
	}
	if got := e.Stats().Sub(before).Online.Rounds; got != 2 {
		t.Errorf("reveal then product: %d rounds, want 2", got)
	}
}

// rawShared builds shares of raw ring values directly (the test plays both parties).
func rawShared(e *Engine, rng *rand.Rand, vals []uint64) *Shared {
	s := e.newShared(1, len(vals))
	s.share[0] = make([]uint64, len(vals))
	s.share[1] = make([]uint64, len(vals))
	for i, v := range vals {
		s.share[0][i] = rng.Uint64()
		s.share[1][i] = v - s.share[0][i]
	}
	return s
}

func rawValues(s *Shared) []uint64 { return ringAdd(s.share[0], s.share[1]) }

// TestTruncationErrorBound: dealer-assisted truncation is floor(x/2^f) or one more, for every |x| < 2^62 (here
// up to 2^61); SecureML's local truncation meets the same bound for small values, and fails (an error of about
// 2^(64−f)) at a rate at most 2^(ℓ+1−64) for |x| < 2^ℓ.
func TestTruncationErrorBound(t *testing.T) {
	const f = DefaultFracBits
	rng := rand.New(rand.NewPCG(5, 5))
	values := func(n int, bits uint) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			v := int64(rng.Uint64() >> (64 - bits)) // [0, 2^bits)
			if rng.IntN(2) == 0 {
				v = -v
			}
			out[i] = uint64(v)
		}
		return out
	}
	// offBy returns how many truncated values are outside {floor(x/2^f), floor(x/2^f)+1}, and checks the others
	// against lo..1 (lo = 0 for the dealer's one-sided error, −1 allowed for SecureML's).
	offBy := func(in, out []uint64, lo int64) int {
		bad := 0
		for i := range in {
			d := int64(out[i]) - int64(in[i])>>f
			if d < lo || d > 1 {
				bad++
			}
		}
		return bad
	}
	dealer := newTestEngine(t, TruncDealer)
	local := newTestEngine(t, TruncLocal)

	for _, bits := range []uint{20, 40, 61} {
		in := values(4096, bits)
		out, err := dealer.truncateBy(rawShared(dealer, rng, in), f)
		if err != nil {
			t.Fatal(err)
		}
		if bad := offBy(in, rawValues(out), 0); bad != 0 {
			t.Errorf("dealer truncation, |x| < 2^%d: %d of %d values off by more than one unit", bits, bad, len(in))
		}
	}
	in := values(4096, 40)
	out, err := local.truncateBy(rawShared(local, rng, in), f)
	if err != nil {
		t.Fatal(err)
	}
	if bad := offBy(in, rawValues(out), -1); bad != 0 {
		t.Errorf("local truncation, |x| < 2^40 (failure probability 2^-23 each): %d of %d values wrong", bad, len(in))
	}
	// Values below 2^56: each fails with probability at most 2^(56+1−64) = 2^-7.
	const n, ell = 1 << 15, 56
	in = values(n, ell)
	out, err = local.truncateBy(rawShared(local, rng, in), f)
	if err != nil {
		t.Fatal(err)
	}
	failures := offBy(in, rawValues(out), -1)
	rate, bound := float64(failures)/n, 1/float64(uint64(1)<<(64-ell-1))
	t.Logf("local truncation, |x| < 2^%d: %d failures in %d (rate %.2e, bound %.2e)", ell, failures, n, rate, bound)
	if failures == 0 || rate > bound {
		t.Errorf("local truncation failure rate %.3g, want in (0, %.3g]", rate, bound)
	}
	out, err = dealer.truncateBy(rawShared(dealer, rng, in), f)
	if err != nil {
		t.Fatal(err)
	}
	if bad := offBy(in, rawValues(out), 0); bad != 0 {
		t.Errorf("dealer truncation on the same values: %d failures", bad)
	}
}

// TestNewtonAccuracy: Reciprocal and InvSqrt reach the fixed-point resolution on their stated ranges. The bound
// is what the input's own rounding allows (|y'(x)| times 1.5 units: the encoding's half unit and one of
// truncation) plus 16 units of the result, of which the iteration's last product alone costs one or two.
func TestNewtonAccuracy(t *testing.T) {
	e := newTestEngine(t, TruncDealer)
	u := math.Ldexp(1, -int(e.FracBits()))
	rng := rand.New(rand.NewPCG(6, 6))
	logUniform := func(lo, hi float64, n int) cryptofriendly.Matrix {
		m := cryptofriendly.NewMatrix(1, n)
		for i := range m.Data {
			m.Data[i] = lo * math.Pow(hi/lo, rng.Float64())
		}
		m.Data[0], m.Data[1] = lo*1.0001, hi*0.9999
		return m
	}
	for _, r := range [][2]float64{{0.5, 2}, {1, 100}, {0.05, 50}, {1, 1000}, {2, 1000}} {
		x := logUniform(r[0], r[1], 64)
		v, err := e.Reciprocal(mustInput(t, e, x), r[0], r[1])
		got := mustReveal(t, e, v, err)
		want := mapMatrix(x, func(_ int, a float64) float64 { return 1 / a })
		checkClose(t, "Reciprocal "+rangeName(r), got, want, func(i int) float64 {
			a := x.Data[i]
			return 1.5*u/(a*a) + 16*u
		})
	}
	for _, r := range [][2]float64{{0.5, 4}, {0.01, 100}, {1e-3, 10}, {1, 1e4}} {
		x := logUniform(r[0], r[1], 64)
		v, err := e.InvSqrt(mustInput(t, e, x), r[0], r[1])
		got := mustReveal(t, e, v, err)
		want := mapMatrix(x, func(_ int, a float64) float64 { return 1 / math.Sqrt(a) })
		checkClose(t, "InvSqrt "+rangeName(r), got, want, func(i int) float64 {
			a := x.Data[i]
			return 1.5*u*0.5/(a*math.Sqrt(a)) + 16*u
		})
	}
}

func rangeName(r [2]float64) string { return "(" + ftoa(r[0]) + ", " + ftoa(r[1]) + ")" }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestNewtonPlans: the minimax reciprocal line is the classical one on [0.5, 1] and is kept where it holds in
// fixed point; schedules grow with the range; guesses stay clear of zero and of the divergence limit everywhere
// on the range; impossible ranges are refused.
func TestNewtonPlans(t *testing.T) {
	a, b := minimaxReciprocal(0.5, 1)
	if math.Abs(a-48.0/17) > 1e-12 || math.Abs(b-32.0/17) > 1e-12 {
		t.Errorf("minimax reciprocal guess on [0.5, 1]: %g − %g·x, want 48/17 − 32/17·x", a, b)
	}
	// On [0.5, 1] the minimax error δ = 1/17 needs 3 iterations (δ^8 < 2^-17); nothing linear does better.
	p, err := planNewton(newtonReciprocal, 0.5, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	if p.iters != 3 {
		t.Errorf("reciprocal on [0.5, 1]: %d iterations, want 3", p.iters)
	}
	unit := math.Ldexp(1, -16)
	for _, kind := range []newtonKind{newtonReciprocal, newtonInvSqrt} {
		prev := 0
		for _, r := range [][2]float64{{1, 2}, {1, 100}, {1, 1e4}} {
			p, err := planNewton(kind, r[0], r[1], 16)
			if err != nil {
				t.Fatal(err)
			}
			if p.iters < prev {
				t.Errorf("%v on %v: %d iterations, fewer than on a narrower range (%d)", kind, r, p.iters, prev)
			}
			prev = p.iters
			for i := range 1001 {
				x := r[0] * math.Pow(r[1]/r[0], float64(i)/1000)
				y := p.a - p.b*x
				if y < 2*unit {
					t.Errorf("%v on %v: guess %g at %g is within 2 units of zero", kind, r, y, x)
					break
				}
				if n := kind.iterations(kind.u(x, y), unit/2); n < 0 || n > p.iters+1 {
					t.Errorf("%v on %v: at %g the guess needs %d iterations, the plan has %d", kind, r, x, n, p.iters)
					break
				}
			}
			t.Logf("%v on %v: y0 = %.6g − %.6g·x, %d iterations", kind, r, p.a, p.b, p.iters)
		}
	}
	if _, err := planNewton(newtonReciprocal, 1, 1e30, 16); err == nil {
		t.Error("reciprocal on (1, 1e30) accepted")
	}
	if _, err := planNewton(newtonInvSqrt, 0, 1, 16); err == nil {
		t.Error("invsqrt on (0, 1) accepted")
	}
}

// TestNetworkEstimate: estimated time = measured compute + bytes/bandwidth + rounds·latency, and the cost record
// keeps every counter.
func TestNetworkEstimate(t *testing.T) {
	c := Counters{WallSeconds: 0.5, ClientSeconds: 0.2, CloudSeconds: 0.3, BytesToCloud: 1e6, BytesToClient: 2e6,
		DealerBytesToCloud: 5e5, DealerBytesToClient: 5e5, Rounds: 100}
	// LAN: 4 MB at 125 MB/s = 32 ms, 100 rounds at 0.2 ms = 20 ms. WAN: 4 MB at 12.5 MB/s = 320 ms, 100 × 40 ms.
	for _, tc := range []struct {
		net  Network
		want float64
	}{{Loopback(), 0.5}, {LAN(), 0.5 + 0.032 + 0.02}, {WAN(), 0.5 + 0.32 + 4}} {
		if got := tc.net.Estimate(c); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v s, want %v", tc.net.Name, got, tc.want)
		}
	}
	cost := c.Cost("offline", 3, "examples")
	if cost.BytesToCloud != 1.5e6 || cost.BytesToClient != 2.5e6 || cost.Rounds != 100 || cost.Units != 3 ||
		cost.ClientSeconds != 0.2 || cost.CloudSeconds != 0.3 || cost.Note == "" {
		t.Errorf("cost record %+v", cost)
	}
	if s := c.Scaled(10); s.Rounds != 1000 || s.BytesToCloud != 1e7 || s.WallSeconds != 5 {
		t.Errorf("scaled counters %+v", s)
	}
}
