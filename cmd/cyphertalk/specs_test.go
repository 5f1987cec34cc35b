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
	}
}
