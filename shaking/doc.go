// Package shaking owns the CypherTalk protocol (DESIGN.md §1 and §3) between two parties kept as separate types:
//
//   - Client holds the secret key (operators.Key), the permutation π it implies, and a copy of the public base
//     model. It shakes the public token table into E_s, runs awareness recovery by default (it pairs π(x) with
//     targets computed from plaintext x, so running it on the cloud would hand the cloud π), prepares the
//     function-recovery uploads (π-encoded public text and the public model's top-k masked-LM predictions mapped
//     through π), encodes its private training data and queries with π, and reads labels from the logits.
//   - Cloud holds a model and never receives the key: it installs E_s and the client's adapted layers, runs
//     function recovery in shaken space, fine-tunes on π-encoded data (E_s frozen unless the spec says
//     otherwise) and returns logits.
//
// A Ledger books every phase's wall seconds to the party that did the work and counts the bytes each message
// would carry (the shaken table, adapted layers, encoded data, logits). The two parties live in one process;
// what crosses between them is exactly what the ledger counts.
//
// The masked-LM output bias is a per-token vector, so sending it permuted by π would reveal π (its values match
// the public bias one for one). The cloud therefore starts function recovery from the log-unigram frequencies of
// the π-ids it receives — the same statistics frequency analysis uses (attacks/ measures that leak) — and learns
// the rest.
//
// The package also provides the "plaintext" method (the same tuning and inference without a key) and the
// "cyphertalk" method for the experiment runner (experiments/method).
package shaking
