package simplego

import "golang.org/x/sys/cpu"

// CypherTalk-Go patch: the AVX2+FMA micro-kernel (dotgeneral_packed_amd64.s), used when the CPU has both.

var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sgemmKernel6x16AVX2(kc int, a, b, c *float32, ldc int, acc int)

func kernel6x16(kc int, a, b, c []float32, ldc int, acc bool) {
	if kc == 0 {
		return
	}
	if hasAVX2FMA {
		// Bounds: a needs 6·kc, b 16·kc, c 5·ldc+16 values.
		_ = a[6*kc-1]
		_ = b[16*kc-1]
		_ = c[5*ldc+15]
		flag := 0
		if acc {
			flag = 1
		}
		sgemmKernel6x16AVX2(kc, &a[0], &b[0], &c[0], ldc, flag)
		return
	}
	kernel6x16Go(kc, a, b, c, ldc, acc)
}
