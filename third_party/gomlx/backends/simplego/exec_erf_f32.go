package simplego

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): float32 Erf by a rational approximation on [-4, 4] (the
// one Eigen and XLA's CPU backend use for float32: erf(x) = x·P(x²)/Q(x²), within a few float32 ulps of the
// exact value, exactly ±1 beyond), instead of converting to float64 for math.Erf. GELU's Erf was ~10% of a
// fine-tuning step's CPU time.

func erfF32(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = p*x2 + -2.10102402082508e-06
	p = p*x2 + -5.69250639462346e-05
	p = p*x2 + -7.34990630326855e-04
	p = p*x2 + -2.95459980854025e-03
	p = p*x2 + -1.60960333262415e-02
	p *= x
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = q*x2 + -1.68282697438203e-03
	q = q*x2 + -7.37332916720468e-03
	q = q*x2 + -1.42647390514189e-02
	return p / q
}

func erfF32Slice(in, out []float32) {
	parallelRanges(len(in), func(lo, hi int) { erfF32Vec(in[lo:hi], out[lo:hi]) })
}
