package reports

import (
	"testing"

	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// TestStrongestAttackSkipsGuessingBaselines: the guessing baselines (random, frequency prior) are reference lines,
// not attacks, even where they beat every attack (DP-Forward at small ε).
func TestStrongestAttackSkipsGuessingBaselines(t *testing.T) {
	s := &setting{Records: []results.Record{{Seed: 1, Attacks: []method.AttackResult{
		{Attack: "random", Top1: 3e-5}, {Attack: "nn-cosine", Top1: 6e-5}, {Attack: "nn-l2", Top1: 5e-5},
		{Attack: "frequency-prior", Top1: 0.037},
	}}}}
	st, name := s.strongestAttack()
	if name != "nn-cosine" || st.Mean != 6e-5 {
		t.Errorf("strongest = %s at %g, want nn-cosine at 6e-5", name, st.Mean)
	}
	if p := s.baselineRecovery("frequency-prior"); p.Mean != 0.037 || p.N != 1 {
		t.Errorf("frequency prior = %+v, want 0.037 over 1 seed", p)
	}
	only := &setting{Records: []results.Record{{Seed: 1, Attacks: []method.AttackResult{{Attack: "random", Top1: 3e-5}}}}}
	if st, name := only.strongestAttack(); st.ok() || name != "" {
		t.Errorf("baselines alone gave a strongest attack %q %+v", name, st)
	}
}
