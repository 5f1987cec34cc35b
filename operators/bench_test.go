package operators

import (
	"slices"
	"testing"
)

// BenchmarkShake compares shaking a bert-base-sized table (30,522×768 float32, 94 MB) with one plain copy of
// it: MB/s are table bytes per second, so the ratio to "copy" is the cost in passes over the table. On a
// shared machine wall time swings with the other load; MB/cpu-s (table bytes per second of this process's
// CPU time, all goroutines together) shows the work itself.
//
// apply/* runs one operator in place; shake-into and unshake-into write into a buffer that is already
// mapped in, like copy's destination; shake-alloc is Shake, whose fresh V·d result the operating system
// maps in page by page as it is first written.
func BenchmarkShake(b *testing.B) {
	const V, d = BertVocabSize, 768
	table := testTable(V, d, 1)
	bytes := int64(len(table) * 4)
	buf := make([]float32, len(table))
	copy(buf, table) // fault the destination in first: measure the copy, not the page faults
	mk := func(b *testing.B, spec string) Key {
		k, err := NewKey(SeedFromUint64(1), KeyOptions{VocabSize: V, Dim: d, Special: BertSpecialIDs, Horizontal: true, Chain: mustChainB(b, spec)})
		if err != nil {
			b.Fatal(err)
		}
		return k
	}

	b.Run("copy", func(b *testing.B) {
		measure(b, bytes, func() error { copy(buf, table); return nil })
	})
	key := mk(b, "")
	se := stdAll(table, V, d, 0)
	c := Context{Seed: opSeed(key.Seed, 0), SE: se, Special: specialMask(key)}
	for _, op := range []Operator{AddV{0.5}, Inflate{0.3}, Tilt{0.3}, Gaussian{0.5}, Laplace{0.5}, DXFixp{100}} {
		b.Run("apply/"+op.Name(), func(b *testing.B) {
			copy(buf, table)
			measure(b, bytes, func() error { return op.Apply(Table{buf, V, d}, c) })
		})
	}
	b.Run("s_E", func(b *testing.B) {
		measure(b, bytes, func() error { stdAll(table, V, d, 0); return nil })
	})
	for _, tc := range []struct{ name, spec string }{
		{"pi-only", ""},
		{"gaussian+tilt+inflate+pi", "gaussian:sigma=0.5;tilt:angle=0.3;inflate:scale=0.3"},
	} {
		k := mk(b, tc.spec)
		applied, err := ShakeInto(buf, table, V, d, k)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("shake-into/"+tc.name, func(b *testing.B) {
			measure(b, bytes, func() error { _, err := ShakeInto(buf, table, V, d, k); return err })
		})
		shaken := slices.Clone(buf)
		b.Run("unshake-into/"+tc.name, func(b *testing.B) {
			measure(b, bytes, func() error { return UnshakeInto(buf, shaken, V, d, k, applied) })
		})
		b.Run("shake-alloc/"+tc.name, func(b *testing.B) {
			measure(b, bytes, func() error { _, _, err := Shake(table, V, d, k); return err })
		})
	}
}

// measure runs f in the benchmark loop, reporting MB/s of the table and MB per CPU-second.
func measure(b *testing.B, bytes int64, f func() error) {
	b.SetBytes(bytes)
	c0 := processCPU()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	if c := processCPU() - c0; c > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/c.Seconds()/1e6, "MB/cpu-s")
	}
}

func mustChainB(b *testing.B, s string) []OpSpec {
	c, err := ParseChain(s)
	if err != nil {
		b.Fatal(err)
	}
	return c
}
