package operators

import (
	"reflect"
	"testing"
)

// FuzzParseChain checks the operator grammar: ParseChain never panics, and an accepted chain formats
// (FormatChain) to a canonical string that parses again to an equal chain and formats to the same string.
// The committed corpus (testdata/fuzz/FuzzParseChain) holds canonical and loose spellings and broken specs.
func FuzzParseChain(f *testing.F) {
	for _, s := range []string{
		"gaussian:sigma=0.5;tilt:angle=0.3",
		"gaussian:sigma=0.5,tilt:angle=0.3",
		"dx-fixp:epsilon=1e-300",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chain, err := ParseChain(s)
		if err != nil {
			if chain != nil {
				t.Errorf("ParseChain(%q) returned a chain and the error %v", s, err)
			}
			return
		}
		for i, op := range chain {
			if err := op.Validate(); err != nil {
				t.Errorf("ParseChain(%q) accepted operator %d that does not validate: %v", s, i, err)
			}
		}
		canon := FormatChain(chain)
		again, err := ParseChain(canon)
		if err != nil {
			t.Fatalf("ParseChain(%q) = %v, but its canonical form %q does not parse: %v", s, chain, canon, err)
		}
		if len(chain) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(again, chain) {
			t.Errorf("ParseChain(%q) = %v, but ParseChain(FormatChain(...) = %q) = %v", s, chain, canon, again)
		}
		if c2 := FormatChain(again); c2 != canon {
			t.Errorf("FormatChain is not stable: %q then %q", canon, c2)
		}
	})
}
