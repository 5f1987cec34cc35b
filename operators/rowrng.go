package operators

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// rowStream reads the random words of one row of a per-row noise operator (package comment,
// "Randomness"). All rows of an operator share one AES-256-CTR keystream under rowStreamKey(op seed),
// counter starting at 0, read as little-endian uint32 words: the row holding token id owns the region of
// R = regionWords(d)/4 counter blocks starting at block id·R. start returns the region's first d words,
// one per entry; word then returns its remaining words in order (ziggurat rejections, the dx-fixp
// radius), and in the rare row that needs more, continues with the row's overflow keystream, which starts
// at counter block uint64be(2^63 + id) || 0^64.
//
// AES rather than ChaCha8 for the per-row noise: it is the one stream of this package whose throughput
// bounds Shake (one 32-bit word per table entry), and AES-256-CTR on AES-NI/ARMv8-AES runs about three
// times faster than math/rand/v2's ChaCha8 (5.0 vs 1.5 GB/s on one core of the development machine); its
// output is fixed by FIPS 197 and SP 800-38A on every machine.
// Regions make a row's words a function of (Seed, op index, id) only, and let a goroutine that runs
// consecutive ids (Apply, Shake and Unshake all do, block by block) generate their regions as one stream.
type rowStream struct {
	block    cipher.Block
	d        int
	region   []uint32      // the current row's region, as words
	bytes    []byte        // region's memory as bytes, where the keystream is written
	zeros    []byte        // len(bytes) zero bytes, the plaintext of the keystream
	ctr      cipher.Stream // positioned at the region of row nextID
	nextID   int
	id       int
	pos      int           // next unread word of region
	overflow cipher.Stream // the row's overflow keystream, once started
	extra    [64]byte      // overflow words, 16 at a time
	next     int           // next unread byte of extra
}

// regionWords is the number of words a row of d entries owns: d, plus 16 + d/16 for rejected draws and the
// dx-fixp radius, rounded up to whole AES blocks. For d = 768 that is 64 more: a row needs 17 on average
// for normals, 26 for Laplace and 20 for dx-fixp, and fewer than one row in 10^5 overflows.
func regionWords(d int) int { return (d + 16 + d/16 + 3) &^ 3 }

// newRowStream makes the row stream of the operator with sub-seed op for rows of d entries. Each goroutine
// makes its own.
func newRowStream(op [32]byte, d int) *rowStream {
	key := rowStreamKey(op)
	b, err := aes.NewCipher(key[:])
	if err != nil { // only a key of another length than 16, 24 or 32 bytes fails
		panic(fmt.Sprintf("operators: AES-256 with a 32-byte key: %v", err))
	}
	region := make([]uint32, regionWords(d))
	bytes := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(region))), 4*len(region))
	return &rowStream{block: b, d: d, region: region, bytes: bytes, zeros: make([]byte, len(bytes))}
}

// bigEndian is true on machines that store the low byte of a word last.
var bigEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 0 }()

// start generates row id's region and returns its first d words.
func (s *rowStream) start(id int) []uint32 {
	if s.ctr == nil || id != s.nextID {
		var iv [aes.BlockSize]byte
		binary.BigEndian.PutUint64(iv[8:], uint64(id)*uint64(len(s.bytes)/aes.BlockSize))
		s.ctr = cipher.NewCTR(s.block, iv[:])
	}
	s.ctr.XORKeyStream(s.bytes, s.zeros)
	if bigEndian { // words are little-endian
		for i, w := range s.region {
			s.region[i] = bits.ReverseBytes32(w)
		}
	}
	s.nextID, s.id = id+1, id
	s.pos = s.d
	s.overflow = nil
	return s.region[:s.d]
}

// word returns the row's next word after those start returned.
func (s *rowStream) word() uint32 {
	if s.pos < len(s.region) {
		w := s.region[s.pos]
		s.pos++
		return w
	}
	if s.overflow == nil {
		var iv [aes.BlockSize]byte
		binary.BigEndian.PutUint64(iv[:8], 1<<63|uint64(s.id))
		s.overflow = cipher.NewCTR(s.block, iv[:])
		s.next = len(s.extra)
	}
	if s.next == len(s.extra) {
		s.overflow.XORKeyStream(s.extra[:], s.zeros[:len(s.extra)])
		s.next = 0
	}
	w := binary.LittleEndian.Uint32(s.extra[s.next:])
	s.next += 4
	return w
}

// uniform32 returns a uniform value in [0, 1) with 32 random bits from the next word.
func (s *rowStream) uniform32() float64 { return float64(s.word()) * 0x1p-32 }

// float64Open returns a uniform value in (0, 1] with 53 random bits taken from the next two words.
func (s *rowStream) float64Open() float64 {
	lo, hi := uint64(s.word()), uint64(s.word())
	return float64((hi<<32|lo)>>11+1) * 0x1p-53
}

// Word samplers. A 32-bit word w gives one sample on the ziggurat's fast path (98.5% of normal and
// 97.8% of exponential draws):
//
//	normal:      layer i = w & 255 (256 layers), sign = bit 8, magnitude u = (w>>9)·2^-23 in [0, 1) on
//	             2^23 points; accept ±u·x_i when u < x_{i+1}/x_i.
//	exponential: layer i = w & 255, u = (w>>9)·2^-23 in [0, 1) on 2^23 points; accept u·x_i when
//	             u < x_{i+1}/x_i. Bit 8 is left free (Laplace takes its sign from it).
//
// The only departure from the exact distributions is the uniform's resolution inside a layer (23 bits
// rather than 53): samples lie on a grid of spacing x_i·2^-23 <= 4.7e-7 (normal) or 1.04e-6
// (exponential), which moves the distribution function by at most 1.9e-7 and 1.04e-6. Rejected draws
// continue with further words: a 32-bit uniform for a wedge test, 53-bit uniforms (two words) for the
// normal's base-layer tail. The per-row operators run the fast path from float32 tables with the noise
// scale and the sign folded in (wordNormal, wordExp) and call these only when it rejects.

// normalWord returns a standard normal sample from w, falling back to further words of s when w's fast
// path rejects.
func (s *rowStream) normalWord(w uint32) float64 {
	for {
		i := w & (zigNor256C - 1)
		negative := w&zigNor256C != 0
		u := float64(w>>9) * 0x1p-23
		x := float64(u * zigNor256X[i])
		switch {
		case u < zigNor256Q[i]:
		case i == 0:
			x = s.normalTail()
		default:
			y := zigNor256F[i] + float64(s.uniform32()*(zigNor256F[i+1]-zigNor256F[i]))
			if y >= pexp(float64(-0.5*float64(x*x))) {
				w = s.word()
				continue
			}
		}
		if negative {
			return -x
		}
		return x
	}
}

// normalTail returns a sample of the standard normal's tail beyond zigNor256R (Marsaglia's method).
func (s *rowStream) normalTail() float64 {
	for {
		x := plog(s.float64Open()) / zigNor256R
		y := plog(s.float64Open())
		if float64(-2*y) >= float64(x*x) {
			return zigNor256R - x
		}
	}
}

// expWord returns a unit exponential sample from w (bit 8 unused), falling back to further words of s when
// w's fast path rejects.
func (s *rowStream) expWord(w uint32) float64 {
	for {
		i := w & (zigExpC - 1)
		u := float64(w>>9) * 0x1p-23
		if u < zigExpQ[i] {
			return float64(u * zigExpX[i])
		}
		if i == 0 {
			return zigExpR - plog(s.float64Open())
		}
		x := float64(u * zigExpX[i])
		y := zigExpF[i] + float64(s.uniform32()*(zigExpF[i+1]-zigExpF[i]))
		if y < pexp(-x) {
			return x
		}
		w = s.word()
	}
}

// gamma returns a Gamma(shape, 1) sample, shape >= 1, by Marsaglia and Tsang's method ("A simple method for
// generating gamma variables", 2000), which is exact (a rejection sampler): with a = shape − 1/3 and
// c = 1/√(9a), draw x ~ N(0,1) until v = (1 + c·x)³ > 0, then u ~ U(0,1]; accept a·v when
// u < 1 − 0.0331·x⁴ or log u < x²/2 + a·(1 − v + log v). For large shapes nearly every try is accepted.
func (s *rowStream) gamma(shape float64) float64 {
	a := shape - 1.0/3
	c := 1 / math.Sqrt(float64(9*a))
	for {
		var x, v float64
		for {
			x = s.normalWord(s.word())
			v = 1 + float64(c*x)
			if v > 0 {
				break
			}
		}
		v = float64(float64(v*v) * v)
		u := s.float64Open()
		x2 := float64(x * x)
		if u < 1-float64(0.0331*float64(x2*x2)) {
			return float64(a * v)
		}
		if plog(u) < float64(0.5*x2)+float64(a*(1-v+plog(v))) {
			return float64(a * v)
		}
	}
}
