package mpc

import (
	"fmt"
	"math"
)

// maxRaw is the largest magnitude a ring element may hold as a signed integer for the dealer-assisted
// truncation to be exact: every value, including a product before truncation, must satisfy |v| < 2^62.
const maxRaw = 1 << 62

// fixedPoint encodes reals as ring elements: x ↦ round(x·2^frac) as a two's-complement int64, reinterpreted as an
// element of Z_2^64 (uint64 arithmetic wraps modulo 2^64, which is exactly the ring's addition and product).
type fixedPoint struct{ frac uint }

func (fp fixedPoint) one() uint64 { return 1 << fp.frac }

// encodeScaled encodes x at 2^bits (bits may differ from frac for constants that need more precision).
func encodeScaled(x float64, bits uint) (uint64, error) {
	v := math.Round(math.Ldexp(x, int(bits)))
	if math.IsNaN(v) || math.Abs(v) >= maxRaw {
		return 0, fmt.Errorf("fixed point: %g does not fit 2^62 at 2^%d", x, bits)
	}
	return uint64(int64(v)), nil
}

func (fp fixedPoint) encode(x float64) (uint64, error) { return encodeScaled(x, fp.frac) }

func (fp fixedPoint) decode(v uint64) float64 { return math.Ldexp(float64(int64(v)), -int(fp.frac)) }

// encodeAll encodes a slice; checkEncodable validates one without keeping the result (the engine checks inputs
// before a party's goroutine encodes them, so that a bad input is an error, not a broken session).
func (fp fixedPoint) encodeAll(xs []float64) ([]uint64, error) {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		v, err := fp.encode(x)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func (fp fixedPoint) checkEncodable(xs []float64) error {
	for i, x := range xs {
		if _, err := fp.encode(x); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

// ringMatMul returns a·b for a m×k and b k×n, row-major, in Z_2^64.
func ringMatMul(a, b []uint64, m, k, n int) []uint64 {
	c := make([]uint64, m*n)
	ringMatMulAdd(c, a, b, m, k, n)
	return c
}

// ringMatMulAdd adds a·b into c.
func ringMatMulAdd(c, a, b []uint64, m, k, n int) {
	for i := range m {
		ci := c[i*n : (i+1)*n]
		ai := a[i*k : (i+1)*k]
		for l, av := range ai {
			if av == 0 {
				continue
			}
			bl := b[l*n : (l+1)*n]
			for j := range ci {
				ci[j] += av * bl[j]
			}
		}
	}
}

func ringTranspose(a []uint64, rows, cols int) []uint64 {
	t := make([]uint64, len(a))
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = a[i*cols+j]
		}
	}
	return t
}

func ringAdd(a, b []uint64) []uint64 {
	out := make([]uint64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func ringSub(a, b []uint64) []uint64 {
	out := make([]uint64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

// bMode says how the second factor of a Beaver product is laid out against the first (rows×cols).
type bMode uint8

const (
	bFull   bMode = iota // b has rows×cols elements: the element-wise product
	bPerRow              // b has rows elements: row i is scaled by b[i]
	bPerCol              // b has cols elements: column j is scaled by b[j] (many values times one)
)

func (m bMode) len(rows, cols int) int {
	switch m {
	case bPerRow:
		return rows
	case bPerCol:
		return cols
	default:
		return rows * cols
	}
}

// broadcastMul returns a ⊙ bcast(b) (rows×cols) for b laid out as mode says.
func broadcastMul(a, b []uint64, rows, cols int, mode bMode) []uint64 {
	out := make([]uint64, rows*cols)
	broadcastMulAdd(out, a, b, rows, cols, mode)
	return out
}

func broadcastMulAdd(dst, a, b []uint64, rows, cols int, mode bMode) {
	for i := range rows {
		for j := range cols {
			var bv uint64
			switch mode {
			case bPerRow:
				bv = b[i]
			case bPerCol:
				bv = b[j]
			default:
				bv = b[i*cols+j]
			}
			dst[i*cols+j] += a[i*cols+j] * bv
		}
	}
}
