package accountant

import (
	"fmt"
	"math"
)

// logAdd returns log(e^x + e^y); −Inf stands for 0.
func logAdd(x, y float64) float64 {
	lo, hi := math.Min(x, y), math.Max(x, y)
	if math.IsInf(lo, -1) {
		return hi
	}
	return hi + math.Log1p(math.Exp(lo-hi))
}

// logSub returns log(e^x − e^y) for x ≥ y; −Inf stands for 0.
func logSub(x, y float64) (float64, error) {
	switch {
	case x < y:
		return 0, fmt.Errorf("log-space difference would be negative (log %g − log %g)", x, y)
	case math.IsInf(y, -1):
		return x, nil
	case x == y:
		return math.Inf(-1), nil
	}
	return x + math.Log(-math.Expm1(y-x)), nil
}

// logAbsBinomial returns log|C(n, k)| and the sign of C(n, k) for a real n and an integer k ≥ 0, through the
// Gamma function: C(n, k) = Γ(n+1) / (Γ(k+1) Γ(n−k+1)). Where n−k+1 is a non-positive integer the coefficient is
// 0 (log −Inf).
func logAbsBinomial(n, k float64) (float64, int) {
	m := n - k + 1
	if m <= 0 && m == math.Trunc(m) {
		return math.Inf(-1), 1
	}
	lgN, signN := math.Lgamma(n + 1)
	lgK, _ := math.Lgamma(k + 1)
	lgM, signM := math.Lgamma(m)
	return lgN - lgK - lgM, signN * signM
}

// logErfcAsymptoticFrom is where logErfc switches from log(math.Erfc(x)) to the asymptotic expansion; erfc(25) is
// about 6e−274, well inside the normal float64 range, and the expansion's truncation error there is below 1e−15.
const logErfcAsymptoticFrom = 25

// logErfc returns log(erfc(x)), accurate in relative terms for large x where erfc(x) underflows.
func logErfc(x float64) float64 {
	if x < logErfcAsymptoticFrom {
		return math.Log(math.Erfc(x))
	}
	// erfc(x) = e^(−x²)/(x√π) · Σ_n (−1)^n (2n−1)!!/(2x²)^n (asymptotic).
	x2 := x * x
	sum, term := 1.0, 1.0
	for n := 1; n <= 8; n++ {
		term *= -float64(2*n-1) / (2 * x2)
		sum += term
	}
	return -x2 - math.Log(x) - 0.5*math.Log(math.Pi) + math.Log(sum)
}

// normalCDF is Φ(x), the standard normal distribution function.
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// logNormalCDF is log Φ(x), accurate far into the left tail.
func logNormalCDF(x float64) float64 { return math.Log(0.5) + logErfc(-x/math.Sqrt2) }
