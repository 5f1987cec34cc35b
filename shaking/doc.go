// Package shaking owns the CypherTalk protocol (docs/design.md §1 and §3), and only it, between two parties kept
// as separate types:
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
// Key implantation (implant.go) runs by stage — shaking, awareness recovery, the output-bias fit, the optional
// table fit, function recovery — each booking its seconds and bytes to the party that runs it on the shared
// ledger of experiments/harness; it is cached per key and recipe (protocol.go). The researcher's held-out
// masked-LM measurements of each stage (probes.go) are made with the key, outside the protocol, and booked to
// neither party. Private tuning and private inference are the harness's, with π as the client's encoding.
//
// The masked-LM output bias is a per-token vector, so sending it permuted by π would reveal π (its values match
// the public bias one for one). The cloud therefore starts function recovery from the log-unigram frequencies of
// the π-ids it receives — the same statistics frequency analysis uses (attacks/ measures that leak) — and learns
// the rest.
//
// The package registers the "cyphertalk" method with the experiment runner (experiments/method). The baselines it
// is compared against live under baselines/ and never import it.
package shaking
