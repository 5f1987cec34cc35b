package operators

import (
	"math"
	"testing"
)

const (
	testV = 1000
	testD = 32
)

var testSpecial = []int32{0, 100, 101, 102, 103}

// testTable is a deterministic V×d table with a non-zero mean and per-column scales, like an embedding table.
func testTable(V, d int, seed uint64) []float32 {
	r := newRNG(SeedFromUint64(seed))
	t := make([]float32, V*d)
	for i := range V {
		for j := range d {
			t[i*d+j] = float32(0.01 + float64(0.03+0.002*float64(j%7))*r.normal())
		}
	}
	return t
}

func testKey(t *testing.T, seed uint64, chain []OpSpec, horizontal bool) Key {
	t.Helper()
	k, err := NewKey(SeedFromUint64(seed), KeyOptions{VocabSize: testV, Special: testSpecial, Horizontal: horizontal, Chain: chain})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustChain(t *testing.T, s string) []OpSpec {
	t.Helper()
	c, err := ParseChain(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func isSpecial(i int) bool {
	for _, s := range testSpecial {
		if int(s) == i {
			return true
		}
	}
	return false
}

func rowsEqual(a, b []float32, d, ra, rb int) bool {
	for j := range d {
		if math.Float32bits(a[ra*d+j]) != math.Float32bits(b[rb*d+j]) {
			return false
		}
	}
	return true
}

func within(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g within %.1f%%", what, got, want, 100*rel)
	}
}
