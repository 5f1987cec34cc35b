package operators

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestPortableMath(t *testing.T) {
	r := newRNG(SeedFromUint64(1))
	for range 20000 {
		x := math.Ldexp(r.float64Open(), int(r.uintn(80))-60)
		if got, want := plog(x), math.Log(x); math.Abs(got-want) > 2e-16*math.Max(1, math.Abs(want)) {
			t.Fatalf("plog(%v) = %v, math.Log = %v", x, got, want)
		}
		y := -40 * r.float64()
		if got, want := pexp(y), math.Exp(y); math.Abs(got-want) > 4e-16*want {
			t.Fatalf("pexp(%v) = %v, math.Exp = %v", y, got, want)
		}
		z := r.uniform(-4, 4)
		s, c := psincos(z)
		ws, wc := math.Sincos(z)
		if math.Abs(s-ws) > 1e-15 || math.Abs(c-wc) > 1e-15 {
			t.Fatalf("psincos(%v) = %v, %v; math.Sincos = %v, %v", z, s, c, ws, wc)
		}
	}
}

func TestSamplers(t *testing.T) {
	const n = 400000
	r := newRNG(SeedFromUint64(2))
	var s1, s2, below1, tail float64
	for range n {
		z := r.normal()
		s1 += z
		s2 += z * z
		if z < 1 {
			below1++
		}
		if math.Abs(z) > zigNorR {
			tail++
		}
	}
	if m := s1 / n; math.Abs(m) > 0.006 {
		t.Errorf("normal mean %v", m)
	}
	within(t, "normal variance", s2/n, 1, 0.01)
	within(t, "normal P(z<1)", below1/n, 0.841345, 0.005)
	within(t, "normal P(|z|>3.4426)", tail/n, 5.7626e-4, 0.2) // the ziggurat's tail branch is exercised

	// Bounded integers are unbiased and shuffles are permutations.
	counts := make([]int, 7)
	for range 70000 {
		counts[r.uintn(7)]++
	}
	for i, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("uintn(7) gave %d %d times of 70000", i, c)
		}
	}
	p := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	r.shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
	q := slices.Clone(p)
	slices.Sort(q)
	if !slices.Equal(q, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) || slices.IsSorted(p) {
		t.Errorf("shuffle gave %v", p)
	}
}

// TestStreamsAreStable pins the first values of every derived stream: a change here changes every key's
// E_s, and needs a new PRNGName.
func TestStreamsAreStable(t *testing.T) {
	seed := SeedFromUint64(42)
	if got := seed.Hex()[:16]; got != goldenSeedPrefix {
		t.Errorf("SeedFromUint64(42) starts %s, want %s", got, goldenSeedPrefix)
	}
	r := newRNG(opSeed(seed, 3))
	got := []float64{r.normal(), r.normal(), r.uniform(-1, 2), r.float64()}
	for i := range got {
		if got[i] != goldenStream[i] {
			t.Errorf("ChaCha8 stream value %d = %v, want %v", i, got[i], goldenStream[i])
		}
	}
	st := newRowStream(opSeed(seed, 1), 2)
	words := st.start(7)
	rowGot := []float64{
		float64(words[0]),
		st.normalWord(words[0]),
		st.expWord(words[1]),
		float64(st.word()),
		st.gamma(768),
	}
	for i := range rowGot {
		if rowGot[i] != goldenRowStream[i] {
			t.Errorf("row stream value %d = %v, want %v", i, rowGot[i], goldenRowStream[i])
		}
	}
}

// TestRowStreamLayout checks the row streams' layout (rowStream): row id's words are the AES-256-CTR
// keystream at counter blocks [id·R, (id+1)·R), then its overflow keystream; they depend only on (op seed,
// id), not on which rows the stream served before.
func TestRowStreamLayout(t *testing.T) {
	const d = 40
	op := opSeed(SeedFromUint64(5), 0)
	key := rowStreamKey(op)
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	keystream := func(hi, lo uint64, n int) []byte {
		var iv [16]byte
		binary.BigEndian.PutUint64(iv[:8], hi)
		binary.BigEndian.PutUint64(iv[8:], lo)
		out := make([]byte, n)
		cipher.NewCTR(block, iv[:]).XORKeyStream(out, out)
		return out
	}
	nw := regionWords(d)
	if nw%4 != 0 || nw < d+16+d/16 {
		t.Fatalf("regionWords(%d) = %d", d, nw)
	}
	const id = 123
	region := keystream(0, id*uint64(nw/4), 4*nw)
	overflow := keystream(1<<63|id, 0, 4*100)
	wantWords := func(st *rowStream, what string) {
		t.Helper()
		got := st.start(id)
		if len(got) != d {
			t.Fatalf("%s: start gave %d words, want %d", what, len(got), d)
		}
		for j, w := range got {
			if want := binary.LittleEndian.Uint32(region[4*j:]); w != want {
				t.Fatalf("%s: word %d = %08x, want %08x", what, j, w, want)
			}
		}
		for j := d; j < nw+100; j++ {
			var want uint32
			if j < nw {
				want = binary.LittleEndian.Uint32(region[4*j:])
			} else {
				want = binary.LittleEndian.Uint32(overflow[4*(j-nw):])
			}
			if w := st.word(); w != want {
				t.Fatalf("%s: word %d = %08x, want %08x", what, j, w, want)
			}
		}
	}
	wantWords(newRowStream(op, d), "fresh stream")
	st := newRowStream(op, d)
	st.start(id - 1) // the next region continues the same CTR stream
	wantWords(st, "after row id-1")
	st.start(7)
	for range 300 {
		st.word() // into row 7's overflow
	}
	wantWords(st, "after row 7's overflow")

	mine := slices.Clone(newRowStream(op, d).start(id))
	if other := newRowStream(op, d).start(id + 1); slices.Equal(other, mine) {
		t.Error("rows 123 and 124 have the same stream")
	}
	if other := newRowStream(opSeed(SeedFromUint64(5), 1), d).start(id); slices.Equal(other, mine) {
		t.Error("operators 0 and 1 give row 123 the same stream")
	}
}

// TestRowStreamSamplers checks the moments of the word samplers, with their slow paths (wedges, tails)
// exercised, and Marsaglia–Tsang's Gamma.
func TestRowStreamSamplers(t *testing.T) {
	const d, rows = 1000, 1000
	st := newRowStream(opSeed(SeedFromUint64(8), 0), d)
	var s1, s2, s4, below1, tail, n float64
	var e1, e2, etail float64
	for id := range rows {
		words := st.start(id)
		for j := 0; j < d; j += 2 {
			z := st.normalWord(words[j])
			s1 += z
			s2 += z * z
			s4 += z * z * z * z
			if z < 1 {
				below1++
			}
			if math.Abs(z) > zigNor256R {
				tail++
			}
			x := st.expWord(words[j+1])
			if x < 0 {
				t.Fatalf("negative exponential %v", x)
			}
			e1 += x
			e2 += x * x
			if x > zigExpR {
				etail++
			}
			n++
		}
	}
	if m := s1 / n; math.Abs(m) > 0.006 {
		t.Errorf("normal mean %v", m)
	}
	within(t, "normal variance", s2/n, 1, 0.01)
	within(t, "normal kurtosis E[z⁴]", s4/n, 3, 0.04)
	within(t, "normal P(z<1)", below1/n, 0.841345, 0.005)
	within(t, "normal P(|z|>3.6542)", tail/n, 2.5803e-4, 0.3) // the base layer's tail is exercised
	within(t, "exp mean", e1/n, 1, 0.01)
	within(t, "exp E[x²]", e2/n, 2, 0.03)
	within(t, "exp P(x>7.697)", etail/n, math.Exp(-zigExpR), 0.35)

	for _, shape := range []float64{1, 2.5, 768} {
		const m = 20000
		var g1, g2 float64
		st.start(int(shape * 10))
		for range m {
			g := st.gamma(shape)
			if g <= 0 {
				t.Fatalf("Gamma(%v) gave %v", shape, g)
			}
			g1 += g
			g2 += g * g
		}
		mean := g1 / m
		within(t, fmt.Sprintf("Gamma(%v) mean", shape), mean, shape, 4/math.Sqrt(shape*m))
		within(t, fmt.Sprintf("Gamma(%v) variance", shape), g2/m-mean*mean, shape, 0.05)
	}
}
