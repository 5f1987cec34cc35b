package accountant

import (
	"fmt"
	"math"
)

// AnalyticGaussianDelta returns the smallest δ for which adding N(0, σ²) noise to a function of L2 sensitivity Δ
// is (ε, δ)-DP — the exact condition of Balle & Wang 2018, Theorem 8:
//
//	δ = Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ).
func AnalyticGaussianDelta(sigma, epsilon, sensitivity float64) (float64, error) {
	if !(sigma > 0) || math.IsInf(sigma, 1) {
		return 0, fmt.Errorf("accountant: Gaussian σ = %g, want a positive number", sigma)
	}
	if !(epsilon >= 0) || math.IsInf(epsilon, 1) {
		return 0, fmt.Errorf("accountant: ε = %g, want a non-negative number", epsilon)
	}
	if !(sensitivity > 0) || math.IsInf(sensitivity, 1) {
		return 0, fmt.Errorf("accountant: L2 sensitivity %g, want a positive number", sensitivity)
	}
	a := sensitivity / (2 * sigma)
	b := epsilon * sigma / sensitivity
	return normalCDF(a-b) - math.Exp(epsilon+logNormalCDF(-a-b)), nil
}

// AnalyticGaussianSigma returns the smallest standard deviation σ of Gaussian noise that makes a function of L2
// sensitivity Δ (ε, δ)-DP, by Algorithm 1 of Balle & Wang 2018 ("analytic Gaussian mechanism"): with
// δ0 = Φ(0) − e^ε Φ(−√(2ε)),
//
//	δ ≥ δ0: v* = sup{v ≥ 0 : Φ(√(εv)) − e^ε Φ(−√(ε(v+2))) ≤ δ},  α = √(1 + v*/2) − √(v*/2);
//	δ < δ0: u* = inf{u ≥ 0 : Φ(−√(εu)) − e^ε Φ(−√(ε(u+2))) ≤ δ}, α = √(1 + u*/2) + √(u*/2);
//
// and σ = αΔ/√(2ε). v* and u* are found by bisection to a relative 1e-12, on the side that keeps the condition
// (the returned σ never undershoots). Unlike the classical σ = Δ√(2 ln(1.25/δ))/ε it holds for every ε > 0.
func AnalyticGaussianSigma(epsilon, delta, sensitivity float64) (float64, error) {
	if !(epsilon > 0) || math.IsInf(epsilon, 1) {
		return 0, fmt.Errorf("accountant: analytic Gaussian ε = %g, want a positive number", epsilon)
	}
	if !(delta > 0 && delta < 1) {
		return 0, fmt.Errorf("accountant: analytic Gaussian δ = %g, want 0 < δ < 1", delta)
	}
	if !(sensitivity > 0) || math.IsInf(sensitivity, 1) {
		return 0, fmt.Errorf("accountant: analytic Gaussian L2 sensitivity %g, want a positive number", sensitivity)
	}
	// e^ε Φ(−x), computed in log space so that a large ε does not overflow.
	expEpsTail := func(x float64) float64 { return math.Exp(epsilon + logNormalCDF(-x)) }
	bPlus := func(v float64) float64 {
		return normalCDF(math.Sqrt(epsilon*v)) - expEpsTail(math.Sqrt(epsilon*(v+2)))
	}
	bMinus := func(u float64) float64 {
		return normalCDF(-math.Sqrt(epsilon*u)) - expEpsTail(math.Sqrt(epsilon*(u+2)))
	}
	delta0 := bPlus(0)
	var alpha float64
	switch {
	case delta == delta0:
		alpha = 1
	case delta > delta0:
		// bPlus increases from δ0 (v = 0) to 1: keep the largest v known to satisfy bPlus(v) ≤ δ.
		v := bisectBoundary(func(v float64) bool { return bPlus(v) <= delta }, true)
		alpha = math.Sqrt(1+v/2) - math.Sqrt(v/2)
	default:
		// bMinus decreases from δ0 (u = 0) to 0: keep the smallest u known to satisfy bMinus(u) ≤ δ.
		u := bisectBoundary(func(u float64) bool { return bMinus(u) <= delta }, false)
		alpha = math.Sqrt(1+u/2) + math.Sqrt(u/2)
	}
	return alpha * sensitivity / math.Sqrt(2*epsilon), nil
}

// bisectBoundary finds the boundary of the set {x ≥ 0 : holds(x)}. If holdsBelow, the set is [0, x*] and the
// largest point known to hold is returned; otherwise it is [x*, ∞) and the smallest point known to hold is
// returned. The bracket grows by doubling from 1, then halves to a relative width of 1e-12.
func bisectBoundary(holds func(float64) bool, holdsBelow bool) float64 {
	lo, hi := 0.0, 1.0
	// Grow hi until it lies on the far side of the boundary from lo.
	for holds(hi) == holdsBelow && hi < math.MaxFloat64/4 {
		lo, hi = hi, 2*hi
	}
	for i := 0; i < 200 && hi-lo > 1e-12*hi; i++ {
		mid := lo + (hi-lo)/2
		if holds(mid) == holdsBelow {
			lo = mid
		} else {
			hi = mid
		}
	}
	if holdsBelow {
		return lo
	}
	return hi
}
