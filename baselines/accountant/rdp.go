// Package accountant owns the project's differential-privacy accounting (docs/design.md §5): the Rényi-DP accountant of
// the Poisson-subsampled Gaussian mechanism that the dp-sgd baseline is calibrated and reported with (RDP over a
// grid of orders, composition over steps, conversion to (ε, δ), calibration of the noise multiplier σ for a target
// budget), and the analytic Gaussian mechanism that the dp-forward baseline calibrates its noise with.
//
// It is written by hand because no Go library for it is served to this project: the reference implementations,
// Opacus and TF-Privacy / dp_accounting, are Python. The code follows them (orders, series, conversion) and the
// tests compare against the reference values published in their test suites.
//
// References:
//   - I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019
//     (arXiv:1908.10530), §3.3: log A_α by the binomial expansion (integer α) and by a two-sided series (fractional α).
//   - B. Balle, G. Barthe, M. Gaboardi, J. Hsu, T. Sato, "Hypothesis Testing Interpretations and Rényi Differential
//     Privacy", AISTATS 2020, Theorem 21, and C. Canonne, G. Kamath, T. Steinke 2020, Proposition 12: the RDP to
//     (ε, δ) conversion.
//   - B. Balle, Y.-X. Wang, "Improving the Gaussian Mechanism for Differential Privacy: Analytical Calibration and
//     Optimal Denoising", ICML 2018, Theorem 8 and Algorithm 1: the analytic Gaussian mechanism.
package accountant

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// maxSigma bounds the search of CalibrateSigma, as Opacus' get_noise_multiplier does (MAX_SIGMA = 1e6).
const maxSigma = 1e6

// maxSeriesTerms bounds the series of a fractional order (dp_accounting's _MAX_STEPS_LOG_A_FRAC); see
// logAFractionalOrder for what happens to a series cut there.
const maxSeriesTerms = 1000

// maxOrder bounds the finite Rényi orders accepted: the binomial expansion of an integer order has order + 1 terms.
const maxOrder = 1e6

// seriesBoundTolerance is how much (relative) the alternating-series bound may raise a fractional order's RDP
// when its series is cut at maxSeriesTerms.
const seriesBoundTolerance = 1e-6

// DefaultOrders returns the Rényi orders Opacus' RDPAccountant searches by default:
// 1.1, 1.2, …, 10.9 followed by the integers 12, 13, …, 63. Each call returns a fresh slice.
func DefaultOrders() []float64 {
	orders := make([]float64, 0, 99+52)
	for x := 1; x < 100; x++ {
		orders = append(orders, 1+float64(x)/10)
	}
	for a := 12; a < 64; a++ {
		orders = append(orders, float64(a))
	}
	return orders
}

// SampledGaussianRDP returns the Rényi DP at the given order of one step of the Poisson-subsampled Gaussian
// mechanism: each record is included with probability q, and Gaussian noise of standard deviation
// noiseMultiplier × (L2 sensitivity) is added to the sum. q = 0 costs nothing, noiseMultiplier = 0 is not private
// (+Inf), and q = 1 is the plain Gaussian mechanism, α/(2σ²).
func SampledGaussianRDP(q, noiseMultiplier, order float64) (float64, error) {
	if err := checkMechanism(q, noiseMultiplier); err != nil {
		return 0, err
	}
	if err := checkOrder(order); err != nil {
		return 0, err
	}
	switch {
	case q == 0 || math.IsInf(noiseMultiplier, 1):
		return 0, nil
	case noiseMultiplier == 0 || math.IsInf(order, 1):
		return math.Inf(1), nil
	case q == 1:
		return order / (2 * noiseMultiplier * noiseMultiplier), nil
	}
	var logA float64
	if order == math.Trunc(order) {
		logA = logAIntegerOrder(q, noiseMultiplier, int(order))
	} else {
		var err error
		if logA, err = logAFractionalOrder(q, noiseMultiplier, order); err != nil {
			return 0, err
		}
	}
	// A_α ≥ 1 (a Rényi divergence is non-negative); when the true RDP is a few ulps, cancellation in the series can
	// leave log A_α a hair below 0. Anything beyond rounding is a failure, not a number.
	if logA < 0 {
		if logA < -1e-9 {
			return 0, fmt.Errorf("accountant: log A = %g < 0 at order %g (q = %g, σ = %g)", logA, order, q, noiseMultiplier)
		}
		logA = 0
	}
	return logA / (order - 1), nil
}

func checkOrder(order float64) error {
	if !(order > 1) || order > maxOrder && !math.IsInf(order, 1) {
		return fmt.Errorf("accountant: Rényi order %g, want 1 < α ≤ %g (or +Inf)", order, maxOrder)
	}
	return nil
}

func checkMechanism(q, noiseMultiplier float64) error {
	if !(q >= 0 && q <= 1) {
		return fmt.Errorf("accountant: sampling rate q = %g, want 0 ≤ q ≤ 1", q)
	}
	if !(noiseMultiplier >= 0) {
		return fmt.Errorf("accountant: noise multiplier σ = %g, want σ ≥ 0", noiseMultiplier)
	}
	return nil
}

// logAIntegerOrder is log A_α for an integer α ≥ 2 and 0 < q < 1, by the binomial expansion
// A_α = Σ_{i=0..α} C(α, i) q^i (1−q)^(α−i) exp((i²−i)/(2σ²)), summed in log space.
func logAIntegerOrder(q, sigma float64, alpha int) float64 {
	logQ, log1mQ := math.Log(q), math.Log1p(-q)
	twoSigma2 := 2 * sigma * sigma
	n := float64(alpha)
	logA := math.Inf(-1)
	for i := 0; i <= alpha; i++ {
		k := float64(i)
		logBinom, _ := logAbsBinomial(n, k)
		term := logBinom + k*logQ + (n-k)*log1mQ + (k*k-k)/twoSigma2
		logA = logAdd(logA, term)
	}
	return logA
}

// logAFractionalOrder is log A_α for a fractional α and 0 < q < 1: the integral split at
// z0 = σ² log(1/q − 1) + 1/2 into two series of binomial terms (Mironov et al. 2019, §3.3; TF-Privacy's
// _compute_log_a_frac). Terms with negative binomial coefficients are subtracted exactly, positive and negative
// parts kept apart until the end; the series stops when both parts' terms decrease and are e^30 below the sum.
//
// Past i = α + 1 the terms alternate in sign but shrink only polynomially, so for large q or σ the series may not
// reach e^−30 within maxSeriesTerms. Then, as long as the terms still decrease, the limit lies within one term of the
// partial sum (Leibniz), and the partial sum plus that term is returned — an upper bound, so the RDP stays a valid
// (conservative) guarantee — when it raises the RDP by at most a relative seriesBoundTolerance; otherwise the order
// gets +Inf and is left out of the conversion, as dp_accounting does.
func logAFractionalOrder(q, sigma, alpha float64) (float64, error) {
	logQ, log1mQ := math.Log(q), math.Log1p(-q)
	twoSigma2 := 2 * sigma * sigma
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	sqrt2Sigma := math.Sqrt2 * sigma
	logHalf := math.Log(0.5)
	neg := math.Inf(-1)
	pos0, neg0, pos1, neg1 := neg, neg, neg, neg
	last0, last1 := neg, neg
	sum := func() (float64, error) {
		a0, err0 := logSub(pos0, neg0)
		a1, err1 := logSub(pos1, neg1)
		if err := errors.Join(err0, err1); err != nil {
			return 0, fmt.Errorf("accountant: series of order %g (q = %g, σ = %g) lost its precision: %w", alpha, q, sigma, err)
		}
		return logAdd(a0, a1), nil
	}
	decreasing := false
	for i := 0; i < maxSeriesTerms; i++ {
		k := float64(i)
		logCoef, sign := logAbsBinomial(alpha, k)
		j := alpha - k
		logS0 := logCoef + k*logQ + j*log1mQ + (k*k-k)/twoSigma2 + logHalf + logErfc((k-z0)/sqrt2Sigma)
		logS1 := logCoef + j*logQ + k*log1mQ + (j*j-j)/twoSigma2 + logHalf + logErfc((z0-j)/sqrt2Sigma)
		if sign > 0 {
			pos0, pos1 = logAdd(pos0, logS0), logAdd(pos1, logS1)
		} else {
			neg0, neg1 = logAdd(neg0, logS0), logAdd(neg1, logS1)
		}
		decreasing = logS0 < last0 && logS1 < last1
		last0, last1 = logS0, logS1
		if decreasing && math.Max(logS0, logS1) < logAdd(pos0, pos1)-30 {
			return sum()
		}
	}
	total, err := sum()
	if err != nil {
		return 0, err
	}
	// The bound adds |s| to A, i.e. about |s|/A to log A = (α − 1)·RDP: accept it if that is at most a relative
	// seriesBoundTolerance of log A.
	lastTerms := logAdd(last0, last1)
	if decreasing && alpha+1 < maxSeriesTerms && total > 0 &&
		lastTerms-total < math.Log(seriesBoundTolerance*total) {
		return logAdd(total, lastTerms), nil
	}
	return math.Inf(1), nil
}

// EpsilonFromRDP converts Rényi DP guarantees rdp[i] at orders[i] into the smallest ε, over the orders, such that
// the mechanism is (ε, δ)-DP, and returns the order that attains it. It uses the conversion of Balle et al. 2020 /
// Canonne–Kamath–Steinke 2020 that Opacus' get_privacy_spent uses,
//
//	ε = rdp − (log δ + log α)/(α − 1) + log((α − 1)/α),
//
// and, as dp_accounting does, ε = 0 where the KL bound δ ≥ √(1 − e^(−rdp)) already holds. Orders with infinite
// RDP are skipped; if all are infinite, ε is +Inf (no privacy) and the order NaN.
func EpsilonFromRDP(orders, rdp []float64, delta float64) (epsilon, order float64, err error) {
	if len(orders) != len(rdp) {
		return 0, 0, fmt.Errorf("accountant: %d orders but %d RDP values", len(orders), len(rdp))
	}
	if len(orders) == 0 {
		return 0, 0, errors.New("accountant: no Rényi orders to convert from")
	}
	if !(delta > 0 && delta < 1) {
		return 0, 0, fmt.Errorf("accountant: δ = %g, want 0 < δ < 1", delta)
	}
	best, bestOrder := math.Inf(1), math.NaN()
	for i, a := range orders {
		r := rdp[i]
		if !(a > 1) {
			return 0, 0, fmt.Errorf("accountant: Rényi order %g, want > 1", a)
		}
		if math.IsNaN(r) || r < 0 {
			return 0, 0, fmt.Errorf("accountant: RDP %g at order %g, want a non-negative number", r, a)
		}
		var eps float64
		switch {
		case math.IsInf(r, 1):
			continue
		case delta*delta+math.Expm1(-r) > 0:
			eps = 0
		default:
			eps = r + math.Log1p(-1/a) - (math.Log(delta)+math.Log(a))/(a-1)
		}
		if eps < best {
			best, bestOrder = eps, a
		}
	}
	return math.Max(0, best), bestOrder, nil
}

// Guarantee is an (ε, δ)-DP statement and the Rényi order it was obtained at.
type Guarantee struct {
	Epsilon float64
	Delta   float64
	Order   float64
}

// Accountant composes Poisson-subsampled Gaussian steps in Rényi DP over a fixed grid of orders: RDP adds up over
// steps, order by order, and is converted to (ε, δ) on demand. The zero value is not usable; call NewAccountant.
type Accountant struct {
	orders []float64
	rdp    []float64
	steps  int
}

// NewAccountant returns an accountant over the given orders (nil: DefaultOrders), each > 1.
func NewAccountant(orders []float64) (*Accountant, error) {
	if orders == nil {
		orders = DefaultOrders()
	}
	if len(orders) == 0 {
		return nil, errors.New("accountant: empty list of Rényi orders")
	}
	for _, a := range orders {
		if err := checkOrder(a); err != nil {
			return nil, err
		}
	}
	return &Accountant{orders: slices.Clone(orders), rdp: make([]float64, len(orders))}, nil
}

// Compose adds steps steps of the sampled Gaussian mechanism with sampling rate q and noise multiplier σ.
func (a *Accountant) Compose(q, noiseMultiplier float64, steps int) error {
	if steps < 0 {
		return fmt.Errorf("accountant: %d steps, want ≥ 0", steps)
	}
	if err := checkMechanism(q, noiseMultiplier); err != nil {
		return err
	}
	step := make([]float64, len(a.orders))
	for i, order := range a.orders {
		r, err := SampledGaussianRDP(q, noiseMultiplier, order)
		if err != nil {
			return fmt.Errorf("accountant: composing %d steps of q = %g, σ = %g: %w", steps, q, noiseMultiplier, err)
		}
		step[i] = r
	}
	if steps == 0 {
		return nil
	}
	for i, r := range step {
		a.rdp[i] += float64(steps) * r
	}
	a.steps += steps
	return nil
}

// Steps is the number of steps composed so far.
func (a *Accountant) Steps() int { return a.steps }

// Orders returns a copy of the accountant's Rényi orders.
func (a *Accountant) Orders() []float64 { return slices.Clone(a.orders) }

// RDP returns a copy of the composed Rényi DP at each order.
func (a *Accountant) RDP() []float64 { return slices.Clone(a.rdp) }

// Epsilon converts what was composed so far into an (ε, δ) guarantee (see EpsilonFromRDP).
func (a *Accountant) Epsilon(delta float64) (Guarantee, error) {
	eps, order, err := EpsilonFromRDP(a.orders, a.rdp, delta)
	if err != nil {
		return Guarantee{}, err
	}
	return Guarantee{Epsilon: eps, Delta: delta, Order: order}, nil
}

// Epsilon is the (ε, δ) guarantee of steps steps of the sampled Gaussian mechanism (sampling rate q, noise
// multiplier σ) over DefaultOrders.
func Epsilon(q, noiseMultiplier float64, steps int, delta float64) (Guarantee, error) {
	return epsilonOver(DefaultOrders(), q, noiseMultiplier, steps, delta)
}

func epsilonOver(orders []float64, q, noiseMultiplier float64, steps int, delta float64) (Guarantee, error) {
	acc, err := NewAccountant(orders)
	if err != nil {
		return Guarantee{}, err
	}
	if err := acc.Compose(q, noiseMultiplier, steps); err != nil {
		return Guarantee{}, err
	}
	return acc.Epsilon(delta)
}

// StepsForEpochs is the number of steps of epochs passes over the data at sampling rate q, ⌊epochs/q⌋, as Opacus'
// get_noise_multiplier counts them.
func StepsForEpochs(epochs, q float64) (int, error) {
	if !(q > 0 && q <= 1) {
		return 0, fmt.Errorf("accountant: sampling rate q = %g, want 0 < q ≤ 1 to count steps per epoch", q)
	}
	if !(epochs > 0) || math.IsInf(epochs, 1) {
		return 0, fmt.Errorf("accountant: %g epochs, want a positive number", epochs)
	}
	steps := math.Floor(epochs / q)
	if steps < 1 || steps > math.MaxInt32 {
		return 0, fmt.Errorf("accountant: %g epochs at q = %g give %g steps, want 1 to %d", epochs, q, steps, math.MaxInt32)
	}
	return int(steps), nil
}

// CalibrateSigma returns the smallest noise multiplier σ (to a relative 1e-9) for which steps steps of the
// sampled Gaussian mechanism at sampling rate q are (epsilon, delta)-DP over DefaultOrders, found by bisection on σ
// (ε is non-increasing in σ). The σ returned always meets the target: its ε ≤ epsilon.
func CalibrateSigma(epsilon, delta, q float64, steps int) (float64, error) {
	if !(epsilon > 0) || math.IsInf(epsilon, 1) {
		return 0, fmt.Errorf("accountant: target ε = %g, want a positive number", epsilon)
	}
	if !(q > 0 && q <= 1) {
		return 0, fmt.Errorf("accountant: sampling rate q = %g, want 0 < q ≤ 1", q)
	}
	if steps < 1 {
		return 0, fmt.Errorf("accountant: %d steps, want ≥ 1", steps)
	}
	orders := DefaultOrders()
	meets := func(sigma float64) (bool, error) {
		g, err := epsilonOver(orders, q, sigma, steps, delta)
		if err != nil {
			return false, fmt.Errorf("accountant: calibrating σ for ε = %g, δ = %g, q = %g, %d steps: %w", epsilon, delta, q, steps, err)
		}
		return g.Epsilon <= epsilon, nil
	}
	lo, hi := 0.0, 1.0
	for {
		ok, err := meets(hi)
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		if hi >= maxSigma {
			return 0, fmt.Errorf("accountant: target ε = %g at δ = %g, q = %g, %d steps is out of reach: σ = %g does not meet it", epsilon, delta, q, steps, hi)
		}
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1e-9*hi {
		mid := lo + (hi-lo)/2
		ok, err := meets(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, nil
}
