package operators

import (
	"testing"
)

// BenchmarkShake compares shaking a bert-base-sized table (30,522×768 float32, 94 MB) with one plain copy of
// it: MB/s are table bytes per second, so the ratio to "copy" is the cost in passes over the table.
func BenchmarkShake(b *testing.B) {
	const V, d = BertVocabSize, 768
	table := testTable(V, d, 1)
	bytes := int64(len(table) * 4)
	buf := make([]float32, len(table))
	mk := func(b *testing.B, spec string) Key {
		k, err := NewKey(SeedFromUint64(1), KeyOptions{VocabSize: V, Dim: d, Special: BertSpecialIDs, Horizontal: true, Chain: mustChainB(b, spec)})
		if err != nil {
			b.Fatal(err)
		}
		return k
	}

	b.Run("copy", func(b *testing.B) {
		copy(buf, table) // fault the destination in first: measure the copy, not the page faults
		b.SetBytes(bytes)
		for b.Loop() {
			copy(buf, table)
		}
	})
	key := mk(b, "")
	se := stdAll(table, V, d, 0)
	c := Context{Seed: opSeed(key.Seed, 0), SE: se, Special: specialMask(key)}
	for _, op := range []Operator{AddV{0.5}, Inflate{0.3}, Tilt{0.3}, Gaussian{0.5}, Laplace{0.5}, DXFixp{100}} {
		b.Run("apply/"+op.Name(), func(b *testing.B) {
			copy(buf, table)
			b.SetBytes(bytes)
			for b.Loop() {
				if err := op.Apply(Table{buf, V, d}, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("s_E", func(b *testing.B) {
		b.SetBytes(bytes)
		for b.Loop() {
			stdAll(table, V, d, 0)
		}
	})
	for _, tc := range []struct{ name, spec string }{
		{"shake/pi-only", ""},
		{"shake/gaussian+tilt+inflate+pi", "gaussian:sigma=0.5;tilt:angle=0.3;inflate:scale=0.3"},
	} {
		k := mk(b, tc.spec)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(bytes)
			for b.Loop() {
				if _, _, err := Shake(table, V, d, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func mustChainB(b *testing.B, s string) []OpSpec {
	c, err := ParseChain(s)
	if err != nil {
		b.Fatal(err)
	}
	return c
}
