package operators

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"testing"
)

const allSix = "addv:scale=0.5;inflate:scale=0.3;tilt:angle=0.4;gaussian:sigma=0.5;laplace:b=0.4;dx-fixp:epsilon=30"

func tableHash(t []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, x := range t {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestShakeUnshakeRoundTrip(t *testing.T) {
	orig := testTable(testV, testD, 5)
	key := testKey(t, 9, mustChain(t, allSix), true)
	shaken, applied, err := Shake(orig, testV, testD, key)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxAbsDiff(orig, shaken); e < 0.01 {
		t.Fatalf("shaking moved entries by at most %g", e)
	}
	se, _ := StdAll(orig, testV, testD)
	if applied.SE != se || applied.KeyFingerprint != key.Fingerprint() || !applied.Horizontal || len(applied.Vertical) != 6 {
		t.Errorf("applied = %+v, s_E = %v", applied, se)
	}
	back, err := Unshake(shaken, testV, testD, key, applied)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxAbsDiff(orig, back); e > 1e-5 {
		t.Errorf("Unshake(Shake(E)) differs from E by %g", e)
	}
	// Unshake refuses another key.
	other := testKey(t, 10, mustChain(t, allSix), true)
	if _, err := Unshake(shaken, testV, testD, other, applied); err == nil {
		t.Error("Unshake accepted a record made with another key")
	}
}

func TestShakeIsDeterministic(t *testing.T) {
	orig := testTable(testV, testD, 5)
	key := testKey(t, 9, mustChain(t, allSix), true)
	a, _, err := Shake(orig, testV, testD, key)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, len(orig))
	if _, err := shakeInto(b, orig, testV, testD, key, 1); err != nil {
		t.Fatal(err)
	}
	c := make([]float32, len(orig))
	if _, err := shakeInto(c, orig, testV, testD, key, 3); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) || !slices.Equal(a, c) {
		t.Fatal("the same key gave different tables (1, 2 and 3 goroutines)")
	}
	// Bit-identical on every machine: the hash is pinned (a change needs a new PRNGName).
	if h := tableHash(a); h != goldenShakeHash {
		t.Errorf("E_s hash %s, want %s", h, goldenShakeHash)
	}
	perm, _ := Permutation(key)
	if r := int(perm[7]); !slices.Equal(a[r*testD:r*testD+len(goldenShakeRow7)], goldenShakeRow7) {
		t.Errorf("row π(7) = %d of E_s starts %v, want %v", r, a[r*testD:r*testD+3], goldenShakeRow7)
	}
	d, _, err := Shake(orig, testV, testD, testKey(t, 10, mustChain(t, allSix), true))
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range a {
		if a[i] == d[i] {
			same++
		}
	}
	if same > len(a)/100+len(testSpecial)*testD {
		t.Errorf("a different seed left %d of %d entries equal", same, len(a))
	}
}

func TestSpecialRowsUntouched(t *testing.T) {
	orig := testTable(testV, testD, 5)
	key := testKey(t, 9, mustChain(t, allSix), true)
	shaken, _, err := Shake(orig, testV, testD, key)
	if err != nil {
		t.Fatal(err)
	}
	perm, err := Permutation(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range testSpecial {
		if perm[id] != id {
			t.Errorf("π(%d) = %d", id, perm[id])
		}
		if !rowsEqual(orig, shaken, testD, int(id), int(id)) {
			t.Errorf("special row %d changed", id)
		}
	}
}

func TestRowsMoveToPi(t *testing.T) {
	orig := testTable(testV, testD, 5)
	chain := mustChain(t, allSix)
	withPi, _, err := Shake(orig, testV, testD, testKey(t, 9, chain, true))
	if err != nil {
		t.Fatal(err)
	}
	without, _, err := Shake(orig, testV, testD, testKey(t, 9, chain, false))
	if err != nil {
		t.Fatal(err)
	}
	perm, _ := Permutation(testKey(t, 9, chain, true))
	for i := range testV {
		if !rowsEqual(without, withPi, testD, i, int(perm[i])) {
			t.Fatalf("row %d of V(E) is not row π(%d) = %d of π(V(E))", i, i, perm[i])
		}
	}
	if slices.Equal(withPi, without) {
		t.Error("π did not move any row")
	}
}

func TestPermutationIsBijection(t *testing.T) {
	key := testKey(t, 9, nil, true)
	p, err := Permutation(key)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(p)
	slices.Sort(sorted)
	for i, v := range sorted {
		if int(v) != i {
			t.Fatalf("π is not a permutation of 0..%d: sorted[%d] = %d", testV-1, i, v)
		}
	}
	fixed := 0
	for i, v := range p {
		if int(v) == i && !isSpecial(i) {
			fixed++
		}
		if isSpecial(int(v)) && int(v) != i {
			t.Errorf("non-special id %d maps to special id %d", i, v)
		}
	}
	if fixed > 6 { // a uniform permutation has 1 fixed point on average
		t.Errorf("π fixes %d non-special ids", fixed)
	}
	inv, _ := InversePermutation(key)
	for i := range p {
		if inv[p[i]] != int32(i) {
			t.Fatalf("π⁻¹(π(%d)) = %d", i, inv[p[i]])
		}
	}
	q, _ := Permutation(key)
	if !slices.Equal(p, q) {
		t.Error("Permutation is not deterministic")
	}
	other, _ := Permutation(testKey(t, 10, nil, true))
	if slices.Equal(p, other) {
		t.Error("another seed gave the same π")
	}
	ident, _ := Permutation(testKey(t, 9, nil, false))
	for i, v := range ident {
		if int(v) != i {
			t.Fatal("a key without the horizontal operator must give the identity")
		}
	}

	ids := []int32{101, 7, 2000 % testV, 999, 102, 7}
	enc, err := EncodeIDs(key, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if enc[i] != p[id] {
			t.Errorf("EncodeIDs(%d) = %d, π = %d", id, enc[i], p[id])
		}
	}
	dec, err := DecodeIDs(key, enc)
	if err != nil || !slices.Equal(dec, ids) {
		t.Errorf("DecodeIDs(EncodeIDs(ids)) = %v, %v, want %v", dec, err, ids)
	}
	if _, err := EncodeIDs(key, []int32{testV}); err == nil {
		t.Error("EncodeIDs accepted an id outside the vocabulary")
	}
}

func TestShakeChecksShapes(t *testing.T) {
	orig := testTable(testV, testD, 5)
	key := testKey(t, 9, mustChain(t, "gaussian:sigma=1"), true)
	if _, _, err := Shake(orig[:testD*10], 10, testD, key); err == nil {
		t.Error("Shake accepted another vocabulary size")
	}
	if _, _, err := Shake(orig[:len(orig)-1], testV, testD, key); err == nil {
		t.Error("Shake accepted a table of the wrong length")
	}
	key.Dim = 64
	if _, _, err := Shake(orig, testV, testD, key); err == nil {
		t.Error("Shake accepted another width")
	}
}

func TestStdAll(t *testing.T) {
	tab := testTable(testV, testD, 5)
	offset := slices.Clone(tab) // mean far from 0 relative to the spread
	for i := range offset {
		offset[i] += 1000
	}
	outliers := slices.Clone(tab) // each block's first entries (its shift) far from the block's mean
	for b := 0; b < testV; b += rowBlock {
		for j := range shiftEntries {
			outliers[b*testD+j] = 1000
		}
	}
	for name, x := range map[string][]float32{"table": tab, "offset": offset, "outliers": outliers} {
		var s1, s2 float64
		for _, v := range x {
			s1 += float64(v)
		}
		m := s1 / float64(len(x))
		for _, v := range x {
			s2 += (float64(v) - m) * (float64(v) - m)
		}
		want := math.Sqrt(s2 / float64(len(x)))
		got, err := StdAll(x, testV, testD)
		if err != nil || math.Abs(got-want) > 1e-11*want {
			t.Errorf("%s: StdAll = %v, %v; want %v", name, got, err, want)
		}
		if stdAll(x, testV, testD, 1) != stdAll(x, testV, testD, 3) {
			t.Errorf("%s: StdAll depends on the number of goroutines", name)
		}
	}
}

// TestShakeIsTheChainThenPi checks that the fused pass (copy, chain and π row by row) computes exactly the
// definition: the operators applied one after another to the whole table, then row i moved to row π(i);
// that applying the chain after π, keyed by each row's original id, gives the same table; and that Unshake
// inverts it.
func TestShakeIsTheChainThenPi(t *testing.T) {
	orig := testTable(testV, testD, 5)
	for _, spec := range []string{allSix, "tilt:angle=0.4;inflate:scale=0.3", ""} {
		key := testKey(t, 9, mustChain(t, spec), true)
		shaken, applied, err := Shake(orig, testV, testD, key)
		if err != nil {
			t.Fatal(err)
		}
		se, _ := StdAll(orig, testV, testD)
		if usesSE, _ := chainUsesSE(key); !usesSE {
			se = 0 // not computed, not needed
		}
		if applied.SE != se {
			t.Errorf("%q: applied s_E %v, want %v", spec, applied.SE, se)
		}
		perm, _ := Permutation(key)
		mask := specialMask(key)

		chainFirst := slices.Clone(orig)
		for k, s := range key.Vertical {
			op, _ := s.Operator()
			if err := op.Apply(Table{chainFirst, testV, testD}, Context{Seed: opSeed(key.Seed, k), SE: se, Special: mask}); err != nil {
				t.Fatal(err)
			}
		}
		piFirst := make([]float32, len(orig))
		for i := range testV {
			copy(piFirst[int(perm[i])*testD:], orig[i*testD:(i+1)*testD])
		}
		rowIDs := perm.Inverse()
		for k, s := range key.Vertical {
			op, _ := s.Operator()
			c := Context{Seed: opSeed(key.Seed, k), SE: se, Special: mask, RowIDs: rowIDs, Workers: 3}
			if err := op.Apply(Table{piFirst, testV, testD}, c); err != nil {
				t.Fatal(err)
			}
		}
		for i := range testV {
			if !rowsEqual(chainFirst, shaken, testD, i, int(perm[i])) {
				t.Fatalf("%q: row π(%d) of Shake is not row %d of the chain applied to E", spec, i, i)
			}
		}
		if !slices.Equal(piFirst, shaken) {
			t.Fatalf("%q: the chain applied after π (keyed by original ids) differs from Shake", spec)
		}
		for _, w := range []int{1, 3} {
			again := make([]float32, len(orig))
			a, err := shakeInto(again, orig, testV, testD, key, w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again, shaken) || a.SE != applied.SE {
				t.Errorf("%q: %d goroutines give another table or s_E", spec, w)
			}
		}
		back, err := Unshake(shaken, testV, testD, key, applied)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxAbsDiff(orig, back); e > 1e-5 || (spec == "" && e != 0) {
			t.Errorf("%q: Unshake(Shake(E)) differs from E by %g", spec, e)
		}
	}
}

func TestShakeIntoAndUnshakeInto(t *testing.T) {
	orig := testTable(testV, testD, 5)
	key := testKey(t, 9, mustChain(t, allSix), true)
	want, wantApplied, err := Shake(orig, testV, testD, key)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(orig))
	for i := range dst {
		dst[i] = float32(i) // stale contents are overwritten
	}
	applied, err := ShakeInto(dst, orig, testV, testD, key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dst, want) || applied.SE != wantApplied.SE {
		t.Fatal("ShakeInto differs from Shake")
	}
	back := make([]float32, len(orig))
	if err := UnshakeInto(back, dst, testV, testD, key, applied); err != nil {
		t.Fatal(err)
	}
	if e := maxAbsDiff(orig, back); e > 1e-5 {
		t.Errorf("UnshakeInto(ShakeInto(E)) differs from E by %g", e)
	}
	buf := make([]float32, len(orig)+testD)
	copy(buf, orig)
	for _, bad := range []struct {
		name     string
		dst, src []float32
	}{
		{"short destination", make([]float32, len(orig)-1), orig},
		{"destination that is the source", orig, orig},
		{"destination overlapping the source", buf[testD:], buf[:len(orig)]},
	} {
		if _, err := ShakeInto(bad.dst, bad.src, testV, testD, key); err == nil {
			t.Errorf("ShakeInto accepted a %s", bad.name)
		}
		if err := UnshakeInto(bad.dst, bad.src, testV, testD, key, applied); err == nil {
			t.Errorf("UnshakeInto accepted a %s", bad.name)
		}
	}
	broken := *applied
	broken.SE = math.NaN()
	if err := UnshakeInto(back, dst, testV, testD, key, &broken); err == nil {
		t.Error("UnshakeInto accepted a record with s_E = NaN")
	}
}
