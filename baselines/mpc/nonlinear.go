package mpc

import (
	"fmt"
	"math"

	"github.com/cyphertalk/cyphertalk-go/baselines/cryptofriendly"
)

// Poly evaluates Σ_k coeffs[k]·x^k element-wise. The powers x², …, x^d are computed in a tree (x² by a square
// pair, then every known power times the highest one in a single round), ⌈log₂ d⌉ multiplication rounds in all;
// the weighted sum is truncated once. Coefficients are encoded with the engine's fractional bits (a coefficient
// below 2^-f is lost, as in CrypTen), and every power must stay below 2^(62−2f) in magnitude.
func (e *Engine) Poly(xv cryptofriendly.Value, coeffs []float64) (cryptofriendly.Value, error) {
	return e.unary("Poly", xv, func(x *Shared) (*Shared, error) { return e.poly(x, coeffs) })
}

func (e *Engine) poly(x *Shared, coeffs []float64) (*Shared, error) {
	deg := len(coeffs) - 1
	for deg > 0 && coeffs[deg] == 0 {
		deg--
	}
	if deg < 0 {
		return nil, fmt.Errorf("poly: no coefficients")
	}
	enc := make([]uint64, deg+1)
	for k, c := range coeffs[:deg+1] {
		v, err := e.fp.encode(c)
		if err != nil {
			return nil, fmt.Errorf("poly coefficient %d: %w", k, err)
		}
		enc[k] = v
	}
	pows, err := e.powers(x, deg)
	if err != nil {
		return nil, err
	}
	n := x.rows * x.cols
	if deg > 0 {
		if err := e.offline(e.truncRequests(n, e.cfg.FracBits)); err != nil {
			return nil, err
		}
	}
	out := e.newShared(x.rows, x.cols)
	err = e.online(func(p *party) error {
		z := make([]uint64, n)
		for k, pw := range pows {
			c := enc[k+1]
			if c == 0 {
				continue
			}
			for i, v := range pw.share[p.id] {
				z[i] += c * v
			}
		}
		if deg > 0 {
			var err error
			if z, err = p.truncate(z, e.cfg.FracBits); err != nil {
				return err
			}
		}
		if p.id == clientID {
			for i := range z {
				z[i] += enc[0]
			}
		}
		out.share[p.id] = z
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// powers returns x, x², …, x^deg.
func (e *Engine) powers(x *Shared, deg int) ([]*Shared, error) {
	if deg < 1 {
		return nil, nil
	}
	pows := []*Shared{x}
	if deg >= 2 {
		sq, err := e.square(x)
		if err != nil {
			return nil, err
		}
		pows = append(pows, sq)
	}
	for len(pows) < deg {
		need := min(len(pows), deg-len(pows))
		more, err := e.mulMany(pows[:need], pows[len(pows)-1])
		if err != nil {
			return nil, err
		}
		pows = append(pows, more...)
	}
	return pows, nil
}

// Exp is e^x by the limit (1 + x/2^n)^(2^n): one truncation and n squarings (CrypTen's method; n = 8 by
// default). The relative error is about x²/2^(n+1) for moderate |x|, and the result is below e^x (a lower bound
// the softmax of Head uses); x must stay above −2^n.
func (e *Engine) Exp(xv cryptofriendly.Value, iterations int) (cryptofriendly.Value, error) {
	return e.unary("Exp", xv, func(x *Shared) (*Shared, error) { return e.exp(x, iterations) })
}

// DefaultExpIterations is the number of squarings of Exp's limit approximation (CrypTen's default).
const DefaultExpIterations = 8

func (e *Engine) exp(x *Shared, iterations int) (*Shared, error) {
	if iterations < 1 || iterations > int(e.cfg.FracBits) {
		return nil, fmt.Errorf("exp: %d iterations (1..%d)", iterations, e.cfg.FracBits)
	}
	y, err := e.truncateBy(x, uint(iterations))
	if err != nil {
		return nil, err
	}
	if y, err = e.addConst(y, 1); err != nil {
		return nil, err
	}
	for range iterations {
		if y, err = e.square(y); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// newtonKind names the two Newton–Raphson iterations.
type newtonKind uint8

const (
	newtonReciprocal newtonKind = iota // y ← y·(2 − x·y): u = x·y ↦ u·(2 − u)
	newtonInvSqrt                      // y ← y·(3 − x·y²)/2: u = x·y² ↦ u·(3 − u)²/4
)

func (k newtonKind) String() string {
	if k == newtonInvSqrt {
		return "invsqrt"
	}
	return "reciprocal"
}

func (k newtonKind) target(x float64) float64 {
	if k == newtonInvSqrt {
		return 1 / math.Sqrt(x)
	}
	return 1 / x
}

func (k newtonKind) u(x, y float64) float64 {
	if k == newtonInvSqrt {
		return x * y * y
	}
	return x * y
}

// uLimit bounds the starting u = x·y₀ (or x·y₀²) from which the iteration converges to the right root (2 and 3,
// with a margin).
func (k newtonKind) uLimit() float64 {
	if k == newtonInvSqrt {
		return 2.9
	}
	return 1.95
}

func (k newtonKind) step(u float64) float64 {
	if k == newtonInvSqrt {
		return u * (3 - u) * (3 - u) / 4
	}
	return u * (2 - u)
}

// iterations is the number of steps that bring u within tol of 1, or -1 if u is outside the convergence interval
// or more than maxNewtonIterations are needed.
func (k newtonKind) iterations(u, tol float64) int {
	if !(u > 0) || !(u < k.uLimit()) {
		return -1
	}
	for n := 0; n <= maxNewtonIterations; n++ {
		if math.Abs(1-u) <= tol {
			return n
		}
		u = k.step(u)
	}
	return -1
}

// newtonPlan is a Newton–Raphson schedule: the initial guess y₀ = a − b·x and the number of iterations that
// bring the relative error on (lo, hi) below the fixed-point resolution.
type newtonPlan struct {
	a, b  float64
	iters int
}

type planKey struct {
	kind   newtonKind
	lo, hi float64
}

// maxNewtonIterations bounds the schedules (a range that needs more is refused: it is too wide for a linear
// initial guess).
const maxNewtonIterations = 40

// minimaxReciprocal is the minimax linear guess for 1/x on [lo, hi]. With g(x) = x·(a − b·x) the guess's relative
// accuracy, equioscillation at lo, hi and the midpoint gives b = 8/((lo+hi)² + 4·lo·hi), a = b·(lo+hi) and a
// worst error δ = 1 − b·lo·hi < 1 (for [0.5, 1]: the classical 48/17 − 32/17·x).
func minimaxReciprocal(lo, hi float64) (a, b float64) {
	b = 8 / ((lo+hi)*(lo+hi) + 4*lo*hi)
	return b * (lo + hi), b
}

// planNewton chooses the linear initial guess y₀ = a − b·x that needs the fewest Newton iterations in the worst
// case over (lo, hi), among the lines through (lo, p·y(lo)) and (hi, q·y(hi)) for p, q on a log grid (and, for the
// reciprocal, the minimax line). Each candidate is scored on 129 log-spaced points of the range with y₀ moved by
// ±2 units of the fixed point, so a guess that only works in exact arithmetic (one that is a fraction of a unit
// at hi, where the minimax line for a wide range ends) is refused.
func planNewton(kind newtonKind, lo, hi float64, frac uint) (newtonPlan, error) {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return newtonPlan{}, fmt.Errorf("%v: range (%g, %g) must satisfy 0 < lo < hi < ∞", kind, lo, hi)
	}
	const gridPoints, samples = 48, 129
	unit := math.Ldexp(1, -int(frac))
	tol := unit / 2
	xs := make([]float64, samples)
	for i := range xs {
		xs[i] = lo * math.Pow(hi/lo, float64(i)/(samples-1))
	}
	score := func(a, b float64, bound int) int {
		worst := 0
		for _, x := range xs {
			y := a - b*x
			if y-2*unit <= 0 {
				return maxNewtonIterations + 1
			}
			for _, yy := range []float64{y - 2*unit, y + 2*unit} {
				n := kind.iterations(kind.u(x, yy), tol)
				if n < 0 {
					return maxNewtonIterations + 1
				}
				worst = max(worst, n)
			}
			if worst >= bound {
				return worst
			}
		}
		return worst
	}
	best := newtonPlan{iters: maxNewtonIterations + 1}
	try := func(a, b float64) {
		if n := score(a, b, best.iters); n < best.iters {
			best = newtonPlan{a: a, b: b, iters: n}
		}
	}
	if kind == newtonReciprocal {
		try(minimaxReciprocal(lo, hi))
	}
	top := math.Sqrt(kind.uLimit()) * 0.98
	if kind == newtonReciprocal {
		top = kind.uLimit() * 0.98
	}
	grid := make([]float64, gridPoints)
	for i := range grid {
		grid[i] = 1e-6 * math.Pow(top/1e-6, float64(i)/(gridPoints-1))
	}
	for _, p := range grid {
		for _, q := range grid {
			yLo, yHi := p*kind.target(lo), q*kind.target(hi)
			b := (yLo - yHi) / (hi - lo)
			try(yLo+b*lo, b)
		}
	}
	if best.iters > maxNewtonIterations {
		return newtonPlan{}, fmt.Errorf("%v: no linear initial guess converges within %d Newton iterations on (%g, %g) at %d fractional bits",
			kind, maxNewtonIterations, lo, hi, frac)
	}
	return best, nil
}

// plan returns the engine's cached schedule for kind on (lo, hi).
func (e *Engine) plan(kind newtonKind, lo, hi float64) (newtonPlan, error) {
	key := planKey{kind, lo, hi}
	if p, ok := e.plans[key]; ok {
		return p, nil
	}
	p, err := planNewton(kind, lo, hi, e.cfg.FracBits)
	if err != nil {
		return newtonPlan{}, err
	}
	e.plans[key] = p
	return p, nil
}

// Reciprocal is 1/x for x in (lo, hi) by Newton–Raphson, y ← y·(2 − x·y), from the linear guess planNewton
// chooses; two multiplications per iteration. Outside the range the iteration may diverge.
func (e *Engine) Reciprocal(xv cryptofriendly.Value, lo, hi float64) (cryptofriendly.Value, error) {
	return e.unary("Reciprocal", xv, func(x *Shared) (*Shared, error) { return e.reciprocal(x, lo, hi) })
}

func (e *Engine) reciprocal(x *Shared, lo, hi float64) (*Shared, error) {
	plan, err := e.plan(newtonReciprocal, lo, hi)
	if err != nil {
		return nil, err
	}
	y, err := e.linearGuess(x, plan, hi)
	if err != nil {
		return nil, err
	}
	for range plan.iters {
		xy, err := e.product(x, y, bFull)
		if err != nil {
			return nil, err
		}
		t, err := e.constMinus(2, xy)
		if err != nil {
			return nil, err
		}
		if y, err = e.product(y, t, bFull); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// InvSqrt is 1/√x for x in (lo, hi) by Newton–Raphson, y ← y·(3 − x·y²)/2, from the linear guess planNewton
// chooses; three multiplications per iteration (the halving rides on the last one's truncation). x·y² is
// computed as x·(y·y) when hi < 1/√lo and as (x·y)·y otherwise, whichever loses fewer units: the first
// multiplies the rounding of y² by x, the second that of x·y by y.
func (e *Engine) InvSqrt(xv cryptofriendly.Value, lo, hi float64) (cryptofriendly.Value, error) {
	return e.unary("InvSqrt", xv, func(x *Shared) (*Shared, error) { return e.invSqrt(x, lo, hi) })
}

func (e *Engine) invSqrt(x *Shared, lo, hi float64) (*Shared, error) {
	plan, err := e.plan(newtonInvSqrt, lo, hi)
	if err != nil {
		return nil, err
	}
	y, err := e.linearGuess(x, plan, hi)
	if err != nil {
		return nil, err
	}
	squareFirst := hi < 1/math.Sqrt(lo)
	for range plan.iters {
		var xy2 *Shared
		if squareFirst {
			y2, err := e.square(y)
			if err != nil {
				return nil, err
			}
			if xy2, err = e.product(x, y2, bFull); err != nil {
				return nil, err
			}
		} else {
			xy, err := e.product(x, y, bFull)
			if err != nil {
				return nil, err
			}
			if xy2, err = e.product(xy, y, bFull); err != nil {
				return nil, err
			}
		}
		t, err := e.constMinus(3, xy2)
		if err != nil {
			return nil, err
		}
		if y, err = e.productShift(y, t, bFull, e.cfg.FracBits+1); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// linearGuess is a − b·x for x ≤ hi, with b encoded at the precision the range allows.
func (e *Engine) linearGuess(x *Shared, plan newtonPlan, hi float64) (*Shared, error) {
	y, err := e.scaleBounded(x, -plan.b, hi)
	if err != nil {
		return nil, err
	}
	return e.addConst(y, plan.a)
}
