package operators

import (
	"math"
	"slices"
	"testing"
)

// nonTrivial are the operators with parameters large enough that Apply visibly moves every row.
var nonTrivial = []Operator{
	AddV{Scale: 0.8}, Inflate{Scale: 0.4}, Tilt{Angle: 0.5},
	Gaussian{Sigma: 0.7}, Laplace{B: 0.6}, DXFixp{Epsilon: 20},
}

func testContext(table []float32, k int) Context {
	mask := make([]bool, testV)
	for _, id := range testSpecial {
		mask[id] = true
	}
	return Context{Seed: opSeed(SeedFromUint64(7), k), SE: stdAll(table, testV, testD, 1), Special: mask, Workers: 2}
}

// applyOne returns the original table, the table after op.Apply, and the context used.
func applyOne(t *testing.T, op Operator) (orig, shaken []float32, c Context) {
	t.Helper()
	orig = testTable(testV, testD, 11)
	shaken = slices.Clone(orig)
	c = testContext(orig, 0)
	if err := op.Apply(Table{shaken, testV, testD}, c); err != nil {
		t.Fatal(err)
	}
	return orig, shaken, c
}

func TestEveryOperatorInverts(t *testing.T) {
	if len(nonTrivial) != len(registry) {
		t.Fatalf("test covers %d operators, registry has %d", len(nonTrivial), len(registry))
	}
	for _, op := range nonTrivial {
		t.Run(op.Name(), func(t *testing.T) {
			orig, shaken, c := applyOne(t, op)
			moved := 0
			for i := range testV {
				if isSpecial(i) {
					if !rowsEqual(orig, shaken, testD, i, i) {
						t.Errorf("special row %d changed", i)
					}
				} else if maxAbsDiff(orig[i*testD:(i+1)*testD], shaken[i*testD:(i+1)*testD]) > 1e-3 {
					moved++
				}
			}
			if moved < testV-len(testSpecial)-5 {
				t.Errorf("only %d of %d rows moved by more than 1e-3", moved, testV-len(testSpecial))
			}
			back := slices.Clone(shaken)
			if err := op.Invert(Table{back, testV, testD}, c); err != nil {
				t.Fatal(err)
			}
			if e := maxAbsDiff(orig, back); e > 1e-5 {
				t.Errorf("Invert(Apply(E)) differs from E by %g", e)
			}
			// The result does not depend on the number of goroutines.
			c1 := c
			c1.Workers = 1
			one := slices.Clone(orig)
			if err := op.Apply(Table{one, testV, testD}, c1); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one, shaken) {
				t.Error("Apply with 1 worker differs from Apply with 2")
			}
		})
	}
}

func TestOperatorsRejectBadInput(t *testing.T) {
	tab := testTable(testV, testD, 1)
	c := testContext(tab, 0)
	if err := (Gaussian{Sigma: -1}).Apply(Table{tab, testV, testD}, c); err == nil {
		t.Error("negative sigma accepted")
	}
	if err := (DXFixp{Epsilon: 0}).Apply(Table{tab, testV, testD}, c); err == nil {
		t.Error("epsilon 0 accepted")
	}
	if err := (AddV{Scale: 1}).Apply(Table{tab[:10], testV, testD}, c); err == nil {
		t.Error("short table accepted")
	}
}

func TestGaussianStatistics(t *testing.T) {
	const sigma = 0.5
	orig, shaken, c := applyOne(t, Gaussian{Sigma: sigma})
	var s1, s2, n float64
	for i := range testV {
		if isSpecial(i) {
			continue
		}
		for j := range testD {
			x := float64(shaken[i*testD+j]) - float64(orig[i*testD+j])
			s1 += x
			s2 += x * x
			n++
		}
	}
	mean := s1 / n
	within(t, "gaussian noise std", math.Sqrt(s2/n-mean*mean), sigma*c.SE, 0.03)
	if math.Abs(mean) > 0.03*sigma*c.SE {
		t.Errorf("gaussian noise mean %g", mean)
	}
}

func TestLaplaceStatistics(t *testing.T) {
	const b = 0.6
	orig, shaken, c := applyOne(t, Laplace{B: b})
	var abs, s2, pos, n float64
	for i := range testV {
		if isSpecial(i) {
			continue
		}
		for j := range testD {
			x := float64(shaken[i*testD+j]) - float64(orig[i*testD+j])
			abs += math.Abs(x)
			s2 += x * x
			if x > 0 {
				pos++
			}
			n++
		}
	}
	within(t, "laplace mean |n|", abs/n, b*c.SE, 0.03)
	// Var = 2b², so Var / (E|n|)² = 2 (a Gaussian would give π/2).
	within(t, "laplace Var/(E|n|)²", (s2/n)/((abs/n)*(abs/n)), 2, 0.06)
	within(t, "laplace P(n>0)", pos/n, 0.5, 0.03)
}

func TestInflateStatistics(t *testing.T) {
	const scale = 0.4
	orig, shaken, _ := applyOne(t, Inflate{Scale: scale})
	var ratio [testD]float64
	var lo, hi = math.Inf(1), math.Inf(-1)
	for i := 1; i < testV; i++ {
		if isSpecial(i) {
			continue
		}
		for j := range testD {
			r := float64(shaken[i*testD+j]) / float64(orig[i*testD+j])
			if ratio[j] == 0 {
				ratio[j] = r
				lo, hi = min(lo, r), max(hi, r)
			} else if math.Abs(r-ratio[j]) > 1e-6*ratio[j] && math.Abs(float64(orig[i*testD+j])) > 1e-4 {
				t.Fatalf("row %d column %d: ratio %v, other rows %v", i, j, r, ratio[j])
			}
		}
	}
	if lo < 1 || hi > 1+scale {
		t.Errorf("inflation factors in [%v, %v], want within [1, %v]", lo, hi, 1+scale)
	}
	if hi-lo < scale/2 {
		t.Errorf("inflation factors in [%v, %v]: not spread over U(0, %v)", lo, hi, scale)
	}
}

func TestAddVStatistics(t *testing.T) {
	op := AddV{Scale: 0.8}
	orig, shaken, c := applyOne(t, op)
	v := op.vector(c, testD)
	var s2 float64
	for j := range v {
		s2 += v[j] * v[j]
	}
	// 32 draws: the sample std is within 35% of scale·s_E with overwhelming probability.
	within(t, "addv |v|/sqrt(d)", math.Sqrt(s2/testD), 0.8*c.SE, 0.35)
	for i := range testV {
		if isSpecial(i) {
			continue
		}
		for j := range testD {
			got := float64(shaken[i*testD+j]) - float64(orig[i*testD+j])
			if math.Abs(got-v[j]) > 1e-7 {
				t.Fatalf("row %d column %d: added %v, v = %v", i, j, got, v[j])
			}
		}
	}
}

func TestTiltPreservesGeometry(t *testing.T) {
	orig, shaken, _ := applyOne(t, Tilt{Angle: 0.5})
	dot := func(x []float32, a, b int) float64 {
		var s float64
		for j := range testD {
			s += float64(x[a*testD+j]) * float64(x[b*testD+j])
		}
		return s
	}
	r := newRNG(SeedFromUint64(3))
	var moved float64
	for i := range testV {
		if isSpecial(i) {
			continue
		}
		if e := math.Abs(math.Sqrt(dot(orig, i, i)) - math.Sqrt(dot(shaken, i, i))); e > 1e-5 {
			t.Fatalf("row %d norm changed by %g", i, e)
		}
		k := int(r.uintn(testV))
		if isSpecial(k) {
			continue
		}
		if e := math.Abs(dot(orig, i, k) - dot(shaken, i, k)); e > 1e-5 {
			t.Fatalf("dot(row %d, row %d) changed by %g", i, k, e)
		}
		moved = max(moved, maxAbsDiff(orig[i*testD:(i+1)*testD], shaken[i*testD:(i+1)*testD]))
	}
	if moved < 0.01 {
		t.Errorf("tilt moved entries by at most %g", moved)
	}
	// Pairs are disjoint and cover ⌊d/2⌋·2 dimensions; angles within ±angle.
	g := Tilt{Angle: 0.5}.rotations(Context{Seed: opSeed(SeedFromUint64(1), 0)}, 33)
	seen := map[int]bool{}
	for _, q := range g {
		if seen[q.a] || seen[q.b] || q.a == q.b {
			t.Fatalf("pairing reuses a dimension: %+v", g)
		}
		seen[q.a], seen[q.b] = true, true
		if th := math.Atan2(q.s, q.c); math.Abs(th) > 0.5 {
			t.Errorf("angle %v outside ±0.5", th)
		}
		if math.Abs(q.c*q.c+q.s*q.s-1) > 1e-15 {
			t.Errorf("cos²+sin² = %v", q.c*q.c+q.s*q.s)
		}
	}
	if len(g) != 16 || len(seen) != 32 {
		t.Errorf("d=33: %d rotations on %d dimensions, want 16 on 32", len(g), len(seen))
	}
}

func TestDXFixpStatistics(t *testing.T) {
	const eps = 20.0
	orig, shaken, c := applyOne(t, DXFixp{Epsilon: eps})
	var s1, s2, n float64
	var dir [testD]float64
	for i := range testV {
		if isSpecial(i) {
			continue
		}
		var norm2 float64
		for j := range testD {
			x := float64(shaken[i*testD+j]) - float64(orig[i*testD+j])
			norm2 += x * x
		}
		norm := math.Sqrt(norm2)
		for j := range testD {
			dir[j] += (float64(shaken[i*testD+j]) - float64(orig[i*testD+j])) / norm
		}
		s1 += norm
		s2 += norm2
		n++
	}
	mean := s1 / n
	within(t, "dx-fixp mean noise norm", mean, testD*c.SE/eps, 0.03)
	// Gamma(d, θ): coefficient of variation 1/√d.
	within(t, "dx-fixp norm CV", math.Sqrt(s2/n-mean*mean)/mean, 1/math.Sqrt(testD), 0.1)
	// Directions are uniform: their mean is near 0 (each coordinate has std 1/√(d·n)).
	for j := range dir {
		if m := dir[j] / n; math.Abs(m) > 5/math.Sqrt(testD*n) {
			t.Errorf("mean direction coordinate %d = %v", j, m)
		}
	}
}
