//go:build !amd64

package simplego

// CypherTalk-Go patch: without the amd64 kernels, the portable loops.

func erfF32Vec(in, out []float32) {
	for i, v := range in {
		out[i] = erfF32(v)
	}
}

func expF32Vec(in, out []float32) {
	for i, v := range in {
		out[i] = expF32(v)
	}
}

func binaryF32Vec(op byte, a, b, out []float32, scalar bool) bool { return false }

const hasAVX2FMA = false
