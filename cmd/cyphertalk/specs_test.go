package main

import (
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments"
)

// TestShippedSpecsWithRealMethods loads every embedded spec with the methods this binary registers, so a
// parameter a method does not take (or a method that is not registered) fails here, not in `make reproduce`.
func TestShippedSpecsWithRealMethods(t *testing.T) {
	for _, name := range experiments.EmbeddedNames() {
		spec, err := experiments.Load(name)
		if err != nil {
			t.Errorf("spec %s: %v", name, err)
			continue
		}
		if len(spec.Runs) == 0 {
			t.Errorf("spec %s resolves to no runs", name)
		}
		// dp: 2 tasks × 2 seeds × (3 dp-forward + 2 plaintext + 3 dp-sgd + 3 dx-text); privacy: 6 CypherTalk
		// settings + 2 recovered + 3 dp-forward, one seed; recovery: 6 recipes at σ = 2; cyphertalk: 2 tasks × 2 seeds × (2 plaintext + 4 settings × 3
		// recovery settings + 1 with E_s tuned); collapse: 2 fine-tuning seeds × 2 learning rates; base: 2 tasks × (2
		// plaintext + 1 bow).
		if want, ok := map[string]int{"base": 6, "dp": 44, "dpsgd": 14, "privacy": 11, "cyphertalk": 60, "crypto": 4, "recovery": 6, "collapse": 4}[name]; ok && len(spec.Runs) != want {
			t.Errorf("spec %s resolves to %d runs, want %d", name, len(spec.Runs), want)
		}
	}
}
