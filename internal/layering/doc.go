// Package layering holds no code of its own: its test enforces the project's import rules on the package graph
// (`go list -deps`), so that a forbidden import fails the build's tests instead of creeping in.
//
//   - No package under baselines/ depends on shaking/: a baseline never depends on the method it is compared
//     against (what they share is experiments/harness).
//   - A method package under baselines/ depends on no other baseline's method package; the shared engines
//     (accountant, ckks, mpc, cryptofriendly, cryptorun) are there to be shared.
//   - experiments/method, the runner's interface, depends on no gomlx package.
//   - attacks/ depends on neither shaking/ nor baselines/: the attacks see only what a cloud sees.
package layering
