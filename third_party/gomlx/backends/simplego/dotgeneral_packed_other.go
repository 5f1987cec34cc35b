//go:build !amd64

package simplego

// CypherTalk-Go patch: architectures without an assembly micro-kernel use the portable one.

func kernel6x16(kc int, a, b, c []float32, ldc int, acc bool) { kernel6x16Go(kc, a, b, c, ldc, acc) }
