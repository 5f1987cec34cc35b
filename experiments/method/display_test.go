package method

import (
	"slices"
	"testing"
)

// TestDisplayOrder: described methods sort by Order, undescribed ones after them alphabetically; the
// reference is whichever method is described as one; a registered description replaces the default entry.
func TestDisplayOrder(t *testing.T) {
	Describe("zz-display-test", Display{Label: "ZZ", Order: 15})
	names := []string{"toy-b", "mpc-2pc", "toy-a", "zz-display-test", "plaintext", "dx-text", "cyphertalk"}
	slices.SortFunc(names, CompareDisplay)
	want := []string{"plaintext", "cyphertalk", "zz-display-test", "dx-text", "mpc-2pc", "toy-a", "toy-b"}
	if !slices.Equal(names, want) {
		t.Errorf("order %q, want %q", names, want)
	}
	if !IsReference("plaintext") || IsReference("cyphertalk") || IsReference("toy-a") {
		t.Error("only plaintext is the default reference")
	}
	if d, ok := DisplayOf("toy-a"); ok || d.Label != "toy-a" {
		t.Errorf("undescribed method: %+v, %v", d, ok)
	}
	if d, _ := DisplayOf("zz-display-test"); d.Label != "ZZ" {
		t.Errorf("registered label %q", d.Label)
	}
	Describe("dp-sgd", Display{Label: "DP-SGD (Abadi et al.)", Order: 30})
	if d, _ := DisplayOf("dp-sgd"); d.Label != "DP-SGD (Abadi et al.)" {
		t.Errorf("a registered description does not replace the default: %+v", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("describing a method twice did not panic")
		}
	}()
	Describe("zz-display-test", Display{})
}
