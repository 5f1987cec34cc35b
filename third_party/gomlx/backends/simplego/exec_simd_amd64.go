package simplego

// CypherTalk-Go patch (third_party/gomlx/PATCHES.md): AVX2+FMA float32 element-wise kernels
// (exec_simd_amd64.s) behind the portable loops, used when the CPU has AVX2 and FMA.

//go:noescape
func erfF32AVX2(in, out *float32, n int)

//go:noescape
func expF32AVX2(in, out *float32, n int) (bad int)

//go:noescape
func addF32AVX2(a, b, out *float32, n int)

//go:noescape
func subF32AVX2(a, b, out *float32, n int)

//go:noescape
func mulF32AVX2(a, b, out *float32, n int)

//go:noescape
func divF32AVX2(a, b, out *float32, n int)

//go:noescape
func addScalarF32AVX2(a *float32, s float32, out *float32, n int)

//go:noescape
func subScalarF32AVX2(a *float32, s float32, out *float32, n int)

//go:noescape
func mulScalarF32AVX2(a *float32, s float32, out *float32, n int)

//go:noescape
func divScalarF32AVX2(a *float32, s float32, out *float32, n int)

// simdLen is the prefix of n that the 8-lane kernels handle.
func simdLen(n int) int {
	if !hasAVX2FMA {
		return 0
	}
	return n &^ 7
}

func erfF32Vec(in, out []float32) {
	v := simdLen(len(in))
	if v > 0 {
		_ = out[v-1]
		erfF32AVX2(&in[0], &out[0], v)
	}
	for i := v; i < len(in); i++ {
		out[i] = erfF32(in[i])
	}
}

func expF32Vec(in, out []float32) {
	v := simdLen(len(in))
	if v > 0 {
		_ = out[v-1]
		if expF32AVX2(&in[0], &out[0], v) != 0 {
			// Some lane was outside the vector path's range (or NaN): redo those lanes exactly.
			for i, x := range in[:v] {
				if !(x >= -87.33654 && x <= 88.37) {
					out[i] = expF32(x)
				}
			}
		}
	}
	for i := v; i < len(in); i++ {
		out[i] = expF32(in[i])
	}
}

// binaryF32Vec applies op ('+', '-', '*', '/') to same-length a and b, or to a and the single value b[0] when
// scalar; it reports false for ops it does not vectorise.
func binaryF32Vec(op byte, a, b, out []float32, scalar bool) bool {
	v := simdLen(len(a))
	if v == 0 {
		return false
	}
	_ = out[v-1]
	if scalar {
		s := b[0]
		switch op {
		case '+':
			addScalarF32AVX2(&a[0], s, &out[0], v)
		case '-':
			subScalarF32AVX2(&a[0], s, &out[0], v)
		case '*':
			mulScalarF32AVX2(&a[0], s, &out[0], v)
		case '/':
			divScalarF32AVX2(&a[0], s, &out[0], v)
		default:
			return false
		}
		for i := v; i < len(a); i++ {
			out[i] = scalarOp(op, a[i], s)
		}
		return true
	}
	_ = b[v-1]
	switch op {
	case '+':
		addF32AVX2(&a[0], &b[0], &out[0], v)
	case '-':
		subF32AVX2(&a[0], &b[0], &out[0], v)
	case '*':
		mulF32AVX2(&a[0], &b[0], &out[0], v)
	case '/':
		divF32AVX2(&a[0], &b[0], &out[0], v)
	default:
		return false
	}
	for i := v; i < len(a); i++ {
		out[i] = scalarOp(op, a[i], b[i])
	}
	return true
}
