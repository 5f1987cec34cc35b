package accountant

import (
	"math"
	"testing"
)

// TestAnalyticGaussianDeltaGoogleReference: google/differential-privacy, go/noise/gaussian_noise_test.go,
// TestDeltaForGaussian ("Correct value calculated…", allowError 1e-10), which implements the same Theorem 8
// condition: σ = 10, ε = 0.1, Δ = 1 → δ = 0.008751768145810; σ = 10, ε = ln 3, Δ = 5 → δ = 0.004159742234000802;
// and (thresholdGaussianTestCases, "noiseDelta is chosen to get a sigma of 1") σ = 1, ε = ln 3, Δ = 1 →
// δ = 0.10985556344445052, Δ = 0.5 → δ = 0.0041597422340007885.
func TestAnalyticGaussianDeltaGoogleReference(t *testing.T) {
	for _, tc := range []struct{ sigma, epsilon, sensitivity, want float64 }{
		{10, 0.1, 1, 0.008751768145810},
		{20, 0.1, 2, 0.008751768145810},
		{10, math.Log(3), 5, 0.004159742234000802},
		{1, math.Log(3), 1, 0.10985556344445052},
		{1, math.Log(3), 0.5, 0.0041597422340007885},
	} {
		got, err := AnalyticGaussianDelta(tc.sigma, tc.epsilon, tc.sensitivity)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-tc.want) > 1e-10 {
			t.Errorf("δ(σ=%g, ε=%g, Δ=%g) = %.17g, google/differential-privacy gives %.17g", tc.sigma, tc.epsilon, tc.sensitivity, got, tc.want)
		}
	}
}

// TestAnalyticGaussianSigmaInvertsGoogleReference: Algorithm 1 recovers the σ behind those published (ε, δ) pairs.
func TestAnalyticGaussianSigmaInvertsGoogleReference(t *testing.T) {
	for _, tc := range []struct{ epsilon, delta, sensitivity, want float64 }{
		{0.1, 0.008751768145810, 1, 10},
		{math.Log(3), 0.004159742234000802, 5, 10},
		{math.Log(3), 0.10985556344445052, 1, 1},
		{math.Log(3), 0.0041597422340007885, 0.5, 1},
	} {
		got, err := AnalyticGaussianSigma(tc.epsilon, tc.delta, tc.sensitivity)
		if err != nil {
			t.Fatal(err)
		}
		if relErr(got, tc.want) > 1e-9 {
			t.Errorf("σ(ε=%g, δ=%g, Δ=%g) = %.15g, want %g", tc.epsilon, tc.delta, tc.sensitivity, got, tc.want)
		}
	}
}

// TestAnalyticGaussianSigmaMeetsTheConditionTightly: over a grid covering both branches of Algorithm 1 (δ above
// and below δ0 = Φ(0) − e^ε Φ(−√(2ε))), the returned σ satisfies the exact Theorem 8 condition δ(σ) ≤ δ to a
// relative 1e-10, and a σ smaller by a relative 1e-8 no longer does. For ε < 1 it is below the classical
// σ = Δ√(2 ln(1.25/δ))/ε; σ is linear in Δ.
func TestAnalyticGaussianSigmaMeetsTheConditionTightly(t *testing.T) {
	for _, epsilon := range []float64{0.01, 0.1, 0.5, 0.99, 1, 3, 10, 100} {
		for _, delta := range []float64{1e-12, 1e-7, 1e-5, 1e-3, 0.1, 0.5} {
			for _, sensitivity := range []float64{0.1, 1, 7} {
				sigma, err := AnalyticGaussianSigma(epsilon, delta, sensitivity)
				if err != nil {
					t.Fatal(err)
				}
				at, err := AnalyticGaussianDelta(sigma, epsilon, sensitivity)
				if err != nil {
					t.Fatal(err)
				}
				below, err := AnalyticGaussianDelta(sigma*(1-1e-8), epsilon, sensitivity)
				if err != nil {
					t.Fatal(err)
				}
				if at > delta*(1+1e-10) || !(below > delta) {
					t.Errorf("ε=%g δ=%g Δ=%g: σ=%.15g gives δ=%.15g, σ(1−1e-8) gives δ=%.15g", epsilon, delta, sensitivity, sigma, at, below)
				}
				if classical := sensitivity * math.Sqrt(2*math.Log(1.25/delta)) / epsilon; epsilon < 1 && !(sigma < classical) {
					t.Errorf("ε=%g δ=%g Δ=%g: analytic σ=%g is not below the classical %g", epsilon, delta, sensitivity, sigma, classical)
				}
				unit, err := AnalyticGaussianSigma(epsilon, delta, 1)
				if err != nil {
					t.Fatal(err)
				}
				if relErr(sigma, sensitivity*unit) > 1e-9 {
					t.Errorf("ε=%g δ=%g: σ(Δ=%g) = %g, want Δ·σ(1) = %g", epsilon, delta, sensitivity, sigma, sensitivity*unit)
				}
			}
		}
	}
}

func TestAnalyticGaussianRejectsInvalidArguments(t *testing.T) {
	for _, tc := range [][3]float64{{0, 1e-5, 1}, {-1, 1e-5, 1}, {1, 0, 1}, {1, 1, 1}, {1, 1e-5, 0}, {math.NaN(), 1e-5, 1}} {
		if _, err := AnalyticGaussianSigma(tc[0], tc[1], tc[2]); err == nil {
			t.Errorf("AnalyticGaussianSigma(%v) gave no error", tc)
		}
	}
	if _, err := AnalyticGaussianDelta(0, 1, 1); err == nil {
		t.Error("AnalyticGaussianDelta with σ = 0 gave no error")
	}
}

func BenchmarkAnalyticGaussianSigma(b *testing.B) {
	for b.Loop() {
		if _, err := AnalyticGaussianSigma(0.5, 1e-5, 1); err != nil {
			b.Fatal(err)
		}
	}
}
