package main

// The methods `cyphertalk run` can sweep register themselves with experiments/method when their packages load.
// plaintext and cyphertalk come with shaking (imported by the shake command).
import (
	_ "github.com/cyphertalk/cyphertalk-go/baselines/ckks/ckksmethod"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/dpforward"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/dpsgd"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/dxtext"
	_ "github.com/cyphertalk/cyphertalk-go/baselines/mpc/mpcmethod"
)
