package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoDataDir is wrapped by the error ResolveDataDir returns when it finds
// no usable data directory.
var ErrNoDataDir = errors.New("no usable data directory")

// DataDirEnv is the environment variable consulted by ResolveDataDir.
const DataDirEnv = "DATA_DIR"

// VocabPath is the bert-base-uncased WordPiece vocabulary inside dataDir.
func VocabPath(dataDir string) string {
	return filepath.Join(dataDir, "vocab", "bert-base-uncased", "vocab.txt")
}

// CorpusPath is the pre-training corpus (Brown corpus, one sentence a line)
// inside dataDir.
func CorpusPath(dataDir string) string {
	return filepath.Join(dataDir, "corpus", "brown.txt")
}

// ResolveDataDir chooses the data directory: the --data flag value when
// non-empty, else $DATA_DIR when set, else ../shared/data (relative to the
// working directory), else ./data. An explicitly given directory (flag or
// environment) must be usable; it is never silently replaced by a default.
// A directory is usable when it contains vocab/bert-base-uncased/vocab.txt,
// a glue/ folder or an hf-glue/ folder. The result is an absolute path.
func ResolveDataDir(flagValue string) (string, error) {
	if flagValue != "" {
		return checkDataDir(flagValue, "--data flag")
	}
	if env := os.Getenv(DataDirEnv); env != "" {
		return checkDataDir(env, "$"+DataDirEnv)
	}
	var tried []string
	for _, cand := range []string{filepath.Join("..", "shared", "data"), "data"} {
		if usableDataDir(cand) {
			return absPath(cand)
		}
		abs, _ := absPath(cand)
		tried = append(tried, abs)
	}
	return "", fmt.Errorf("%w: --data and $%s are unset and none of %s is a data directory\n%s",
		ErrNoDataDir, DataDirEnv, strings.Join(tried, ", "), expectedDataHelp)
}

func checkDataDir(dir, from string) (string, error) {
	if !usableDataDir(dir) {
		abs, _ := absPath(dir)
		reason := "it does not exist"
		if st, err := os.Stat(dir); err == nil {
			reason = "it contains none of the expected files"
			if !st.IsDir() {
				reason = "it is not a directory"
			}
		}
		return "", fmt.Errorf("%w: %s (from %s): %s\n%s", ErrNoDataDir, abs, from, reason, expectedDataHelp)
	}
	return absPath(dir)
}

func absPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p, fmt.Errorf("resolve %s: %w", p, err)
	}
	return abs, nil
}

func usableDataDir(dir string) bool {
	if ok, _ := fileExists(VocabPath(dir)); ok {
		return true
	}
	for _, sub := range []string{"glue", "hf-glue"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

const expectedDataHelp = `A data directory holds some of:
  vocab/bert-base-uncased/vocab.txt   the bert-base-uncased WordPiece vocabulary
  corpus/brown.txt                    the NLTK Brown corpus as plain text, one sentence a line (pre-training text)
  glue/SST-2/train.tsv, glue/SST-2/dev.tsv, glue/QQP/train.tsv, glue/QQP/dev.tsv,
  glue/{MRPC,RTE,STS-B,QNLI,CoLA}/dev.tsv
                                      task data from the GLUE benchmark (original TSV release)
  hf-glue/<task>/<split>-00000-of-00001.parquet  (e.g. hf-glue/cola/train-00000-of-00001.parquet)
                                      the same tasks from the Hugging Face hub ` + "`glue`" + ` dataset
It must contain vocab/bert-base-uncased/vocab.txt, a glue/ folder or an hf-glue/ folder.
Pass it with --data DIR or $DATA_DIR; ` + "`cyphertalk data fetch`" + ` downloads these files into ./data.`
