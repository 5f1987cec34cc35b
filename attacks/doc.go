// Package attacks owns the privacy attacks of docs/design.md §5 : what an honest-but-curious cloud can
// read of the client's text from what it sees, measured as the token recovery rate on the client's uploads.
//
// The cloud knows the public model — its token-embedding table E (V×d) — and public text statistics (token
// counts of a public corpus). It sees the shaken table E_s, whose row j is the shaken row of the original id
// π⁻¹(j) (exactly what operators.Shake returns), and the π-ids the client uploads. Special ids are never moved
// or perturbed. Each attack turns that into Guesses: for each observed id (or, for DP-Forward-style noisy
// vectors, each uploaded occurrence) its k best guesses of the original id.
//
//   - nearest.go: nearest-neighbour inversion — each observed vector to the nearest row of E, by cosine or by
//     L2 distance; for table rows (NearestNeighbour) or per-occurrence vectors (NearestNeighbourVectors).
//   - outputs.go: nearest-neighbour inversion of per-occurrence outputs of a position-dependent layer
//     (DP-Forward's noisy embedding outputs): occurrences grouped by (position, segment), each compared with the
//     clean outputs of every id there, which the cloud computes from the public model.
//   - frequency.go: frequency analysis — the uploaded π-ids ranked by how often they occur, matched to the public
//     corpus's token ranks.
//   - alignment.go: unsupervised alignment — an orthogonal map from E_s to E learnt without the key by
//     Procrustes refined iteratively (self-learning, as in Artetxe et al. 2017/2018 and Conneau et al. 2018)
//     from a seed dictionary, then nearest neighbour through the map. Without public statistics the seeds are
//     the special tokens (which, being unshaken, amount to starting from the identity) and similarity-profile
//     matches (each row's sorted top cosines to its own table, which π and any rotation leave unchanged); the
//     map with the best unsupervised objective wins.
//   - combined.go: frequency analysis seeding the alignment (several seed-dictionary sizes, plus the starts
//     above; again the best objective wins).
//   - score.go: the metric — occurrence-weighted top-1/top-5 recovery over all uploaded tokens and over content
//     words, the uniform-guess and frequency-prior baselines — as method.AttackResult.
//   - stopwords.go: the stop list and the content-word rule.
//   - suite.go: Evaluate runs every attack and baseline and scores them.
//
// Which attack reads what: nearest neighbour reads E and E_s (not the uploads' frequencies); frequency reads the
// uploads and the public counts (no table); alignment reads both tables and uses the uploads only to choose
// which rows to learn from; the combined attack reads everything.
//
// The similarity search (search.go) is the one heavy part: V×V scores for V = 30,522 are never materialised;
// queries and targets are cut into tiles, each tile's scores come from one float32 Gemm (gonum's BLAS), and a
// running top-k per query is kept while the tile is scanned. The top-k bookkeeping and the self-learning loop
// are written here because no library this project uses provides a blocked k-nearest-neighbour search or
// Procrustes self-learning; the numerical kernels (Gemm, SVD) are gonum's.
//
// Conventions. Special ids (the key's: never moved, never perturbed) are known to the cloud: every table attack
// guesses a special row as itself and never guesses a special id for another row, and the scorer leaves special
// tokens out of every rate (they carry nothing private and would inflate it). Guesses are made only for the
// observed ids that occur in the uploads (all rows when no uploads are given); other rows hold NoGuess.
package attacks
