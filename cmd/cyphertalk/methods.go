package main

// The methods `cyphertalk run` can sweep register themselves with experiments/method when their packages load:
// cyphertalk with shaking (imported by the shake command), the others here.
import (
	_ "github.com/cyphertalk/cyphertalk-go/baselines/bow"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/ckks/ckksmethod"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/dpforward"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/dpsgd"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/dxtext"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/mpc/mpcmethod"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/plaintext"
	_ "github.com/cyphertalk/cyphertalk-go/shaking"
)
