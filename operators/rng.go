package operators

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
)

// PRNGName names the random-number scheme of key format cyphertalk-key/1 (see the package comment). It is
// written into every key file and checked on load.
const PRNGName = "chacha8rand+aes256ctr-rows+sha256-subseeds/2"

// Domain-separation labels of the seed derivation (package comment).
const (
	labelOp     = "cyphertalk/op/v1"
	labelRow    = "cyphertalk/row/v2"
	labelPerm   = "cyphertalk/perm/v1"
	labelKeygen = "cyphertalk/keygen/v1"
	labelSeed   = "cyphertalk/seed/v1"
)

// deriveSeed returns SHA-256(label || parent || extra).
func deriveSeed(label string, parent []byte, extra []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write(parent)
	h.Write(extra)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// opSeed is the sub-seed of the operator at index k of the chain.
func opSeed(seed Seed, k int) [32]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(k))
	return deriveSeed(labelOp, seed[:], b[:])
}

// rowStreamKey is the AES-256 key of an operator's per-row streams: SHA-256(labelRow || op seed).
func rowStreamKey(op [32]byte) [32]byte { return deriveSeed(labelRow, op[:], nil) }

// rng wraps ChaCha8 with the samplers of this package. Only ChaCha8.Uint64 is used.
type rng struct {
	c rand.ChaCha8
}

func newRNG(seed [32]byte) *rng {
	r := &rng{}
	r.c.Seed(seed)
	return r
}

// float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *rng) float64() float64 { return float64(r.c.Uint64()>>11) * 0x1p-53 }

// float64Open returns a uniform value in (0, 1].
func (r *rng) float64Open() float64 { return float64(r.c.Uint64()>>11+1) * 0x1p-53 }

// uniform returns a uniform value in [lo, hi).
func (r *rng) uniform(lo, hi float64) float64 {
	return lo + float64((hi-lo)*r.float64())
}

// uintn returns an unbiased uniform integer in [0, n), n > 0 (Lemire's multiply-and-reject method).
func (r *rng) uintn(n uint64) uint64 {
	hi, lo := bits.Mul64(r.c.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.c.Uint64(), n)
		}
	}
	return hi
}

// shuffle applies a Fisher–Yates shuffle to n elements through swap.
func (r *rng) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		j := int(r.uintn(uint64(i + 1)))
		swap(i, j)
	}
}

// Ziggurat tables (Doornik, "An improved ziggurat method to generate normal random samples", 2005): a
// 128-layer normal for ChaCha8 draws, a 256-layer normal and a 256-layer exponential for the row streams.
const (
	zigNorC    = 128
	zigNorR    = 3.442619855899
	zigNorV    = 9.91256303526217e-3
	zigNor256C = 256
	zigNor256R = 3.6541528853610088
	zigNor256V = 4.92867323399e-3
	zigExpC    = 256
	zigExpR    = 7.69711747013104972
	zigExpV    = 3.949659822581572e-3
)

var (
	zigNorX    [zigNorC + 1]float64
	zigNorF    [zigNorC + 1]float64 // exp(-x²/2) at zigNorX
	zigNorQ    [zigNorC]float64     // zigNorX[i+1] / zigNorX[i]
	zigNor256X [zigNor256C + 1]float64
	zigNor256F [zigNor256C + 1]float64
	zigNor256Q [zigNor256C]float64
	zigExpX    [zigExpC + 1]float64
	zigExpF    [zigExpC + 1]float64 // exp(-x) at zigExpX
	zigExpQ    [zigExpC]float64
)

func init() {
	normalZiggurat(zigNorX[:], zigNorF[:], zigNorQ[:], zigNorR, zigNorV)
	normalZiggurat(zigNor256X[:], zigNor256F[:], zigNor256Q[:], zigNor256R, zigNor256V)

	f := pexp(-zigExpR)
	zigExpX[0] = zigExpV / f
	zigExpX[1] = zigExpR
	zigExpX[zigExpC] = 0
	for i := 2; i < zigExpC; i++ {
		zigExpX[i] = -plog(zigExpV/zigExpX[i-1] + f)
		f = pexp(-zigExpX[i])
	}
	for i := 0; i <= zigExpC; i++ {
		zigExpF[i] = pexp(-zigExpX[i])
	}
	for i := 0; i < zigExpC; i++ {
		zigExpQ[i] = zigExpX[i+1] / zigExpX[i]
	}
}

// normalZiggurat fills the tables of a len(q)-layer normal ziggurat with base-layer edge r and layer area v:
// layer edges x (x[0] = v/f(r), x[1] = r, ..., x[len(q)] = 0), f = exp(-x²/2) at them, q[i] = x[i+1]/x[i].
func normalZiggurat(x, f, q []float64, r, v float64) {
	c := len(q)
	fr := pexp(float64(-0.5 * float64(r*r)))
	x[0] = v / fr
	x[1] = r
	x[c] = 0
	for i := 2; i < c; i++ {
		x[i] = math.Sqrt(float64(-2 * plog(v/x[i-1]+fr)))
		fr = pexp(float64(-0.5 * float64(x[i]*x[i])))
	}
	for i := 0; i <= c; i++ {
		f[i] = pexp(float64(-0.5 * float64(x[i]*x[i])))
	}
	for i := 0; i < c; i++ {
		q[i] = x[i+1] / x[i]
	}
}

// normal returns a standard normal value.
func (r *rng) normal() float64 {
	for {
		b := r.c.Uint64()
		i := b & (zigNorC - 1)
		u := float64(int64(b>>11)-1<<52) * 0x1p-52 // uniform in [-1, 1), exact
		if math.Abs(u) < zigNorQ[i] {
			return float64(u * zigNorX[i])
		}
		if i == 0 {
			return r.normalTail(u < 0)
		}
		x := float64(u * zigNorX[i])
		y := zigNorF[i] + float64(r.float64()*(zigNorF[i+1]-zigNorF[i]))
		if y < pexp(float64(-0.5*float64(x*x))) {
			return x
		}
	}
}

func (r *rng) normalTail(negative bool) float64 {
	for {
		x := plog(r.float64Open()) / zigNorR
		y := plog(r.float64Open())
		if float64(-2*y) >= float64(x*x) {
			if negative {
				return x - zigNorR
			}
			return zigNorR - x
		}
	}
}

// plog is a portable natural logarithm for finite x > 0: Go's pure-Go log (FreeBSD e_log.c) with every
// product rounded explicitly so that no platform fuses it into an FMA.
func plog(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
		l1    = 6.666666666666735130e-01
		l2    = 3.999999999940941908e-01
		l3    = 2.857142874366239149e-01
		l4    = 2.222219843214978396e-01
		l5    = 1.818357216161805012e-01
		l6    = 1.531383769920937332e-01
		l7    = 1.479819860511658591e-01
	)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (l1 + float64(s4*(l3+float64(s4*(l5+float64(s4*l7)))))))
	t2 := float64(s4 * (l2 + float64(s4*(l4+float64(s4*l6)))))
	rr := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+rr)) + float64(k*ln2Lo))) - f)
}

// pexp is a portable exponential (Go's pure-Go exp, FreeBSD e_exp.c) with explicit rounding of products.
func pexp(x float64) float64 {
	const (
		ln2Hi     = 6.93147180369123816490e-01
		ln2Lo     = 1.90821492927058770002e-10
		log2e     = 1.44269504088896338700e+00
		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28)
		p1        = 1.66666666666666657415e-01
		p2        = -2.77777777770155933842e-03
		p3        = 6.61375632143793436117e-05
		p4        = -1.65339022054652515390e-06
		p5        = 4.13813679705723846039e-08
	)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case math.IsInf(x, -1):
		return 0
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	var k int
	switch {
	case x < 0:
		k = int(float64(log2e*x) - 0.5)
	case x > 0:
		k = int(float64(log2e*x) + 0.5)
	}
	hi := x - float64(float64(k)*ln2Hi)
	lo := float64(float64(k) * ln2Lo)
	r := hi - lo
	t := float64(r * r)
	c := r - float64(t*(p1+float64(t*(p2+float64(t*(p3+float64(t*(p4+float64(t*p5)))))))))
	y := 1 - ((lo - float64(r*c)/(2-c)) - hi)
	if -1021 <= k && k <= 1022 { // y·2^k is normal: multiplying by 2^k is exact, as math.Ldexp is
		return y * math.Float64frombits(uint64(k+1023)<<52)
	}
	return math.Ldexp(y, k)
}

// psincos is a portable sine and cosine for |x| < 2^29 (Go's pure-Go sincos, Cephes, with Cody–Waite
// reduction) with explicit rounding of products.
func psincos(x float64) (sin, cos float64) {
	const (
		pi4A = 7.85398125648498535156e-1
		pi4B = 3.77489470793079817668e-8
		pi4C = 2.69515142907905952645e-15
	)
	var sinC = [...]float64{
		1.58962301576546568060e-10,
		-2.50507477628578072866e-8,
		2.75573136213857245213e-6,
		-1.98412698295895385996e-4,
		8.33333333332211858878e-3,
		-1.66666666666666307295e-1,
	}
	var cosC = [...]float64{
		-1.13585365213876817300e-11,
		2.08757008419747316778e-9,
		-2.75573141792967388112e-7,
		2.48015872888517045348e-5,
		-1.38888888888730564116e-3,
		4.16666666666665929218e-2,
	}
	if x == 0 {
		return x, 1
	}
	sinSign, cosSign := false, false
	if x < 0 {
		x = -x
		sinSign = true
	}
	j := uint64(float64(x * (4 / math.Pi)))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	z := ((x - float64(y*pi4A)) - float64(y*pi4B)) - float64(y*pi4C)
	if j > 3 {
		j -= 4
		sinSign, cosSign = !sinSign, !cosSign
	}
	if j > 1 {
		cosSign = !cosSign
	}
	zz := float64(z * z)
	pc := cosC[0]
	for _, c := range cosC[1:] {
		pc = float64(pc*zz) + c
	}
	ps := sinC[0]
	for _, c := range sinC[1:] {
		ps = float64(ps*zz) + c
	}
	cos = 1.0 - float64(0.5*zz) + float64(float64(zz*zz)*pc)
	sin = z + float64(float64(z*zz)*ps)
	if j == 1 || j == 2 {
		sin, cos = cos, sin
	}
	if cosSign {
		cos = -cos
	}
	if sinSign {
		sin = -sin
	}
	return sin, cos
}
