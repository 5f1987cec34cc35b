// Package harness owns what every compared method shares, CypherTalk and its baselines alike: the runner-facing
// Method (a parameter decoder and a protocol over a Setup), the Setup itself (the task's data split and the public
// base model), the Ledger that books each phase's seconds and bytes to the party that did the work, the fine-tuning
// configuration a run's settings give, and the private tuning and private inference phases with hooks where the
// methods differ (see docs/design.md §5).
//
// It is the generic core in the way lattigo's multiparty package is: a method package adds only what is specific
// to it. Private tuning takes the client's encoding of its examples (identity for plaintext, π for CypherTalk,
// sanitisation for dχ text, noisy embeddings for DP-Forward), what the upload costs, and the cloud's training
// function (finetune.Train by default; DP-SGD's clipped, noised steps and DP-Forward's split learning plug in
// there). Private inference takes the same encoding and the cloud's prediction function; the client scores the
// logits and the harness also records the dev set's constant-predictor score (majority class, or the mean label
// for regression) as Extra["majority_<metric>"], the line a method has to beat.
//
// A baseline never depends on the method it is compared against: packages under baselines/ import this package,
// never shaking/ (internal/layering enforces it).
package harness
