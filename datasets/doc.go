// Package datasets owns the data that models are fine-tuned and evaluated on:
// the GLUE tasks (SST-2, QQP, MRPC, RTE, CoLA, STS-B, QNLI, WNLI, plus the AX
// diagnostic set) and user-supplied ("bring your own") classification data.
//
// It knows both on-disk layouts of GLUE — the original benchmark TSV folders
// (glue/SST-2/train.tsv, ...) and the Hugging Face hub `glue` dataset's
// parquet files (hf-glue/<task>/<split>-00000-of-00001.parquet) — and loads
// them into a common [Set] of [Example]s, counting and skipping malformed rows
// rather than failing on them.
//
// User data ([LoadCustom], [CheckCustom]) may be a TSV file with a header, a
// JSON Lines file or a parquet file. Nothing in it is dropped or altered
// silently: a row that is not valid UTF-8 (unless the file is declared
// Latin-1), has the wrong number of columns, lacks its label, or cannot be
// parsed is skipped and reported with its line number and the reason.
//
// It also owns:
//   - the splits of each task ("train", "dev" — "validation" in the hub
//     layout — and "test", whose labels are unknown and loaded as -1);
//   - the private/public pool division of each train split (see
//     [InPrivatePool]): a stable hash of an example's text assigns it either
//     to the private pool, used only for fine-tuning, or to the public pool,
//     whose text may be used for pre-training;
//   - seeded, reproducible subsampling ([Subsample]);
//   - the task metrics ([Evaluate]: accuracy, F1, Matthews correlation,
//     Pearson and Spearman correlation);
//   - locating the data directory ([ResolveDataDir]) and the vocabulary and
//     pre-training corpus inside it ([VocabPath], [CorpusPath]).
package datasets
