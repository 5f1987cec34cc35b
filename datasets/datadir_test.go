package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var expectedInHelp = []string{
	"vocab/bert-base-uncased/vocab.txt", "corpus/brown.txt", "glue/SST-2/train.tsv",
	"hf-glue/<task>/<split>-00000-of-00001.parquet",
	"GLUE benchmark", "Hugging Face hub `glue` dataset", "bert-base-uncased", "Brown corpus",
	"`cyphertalk data fetch`", "./data",
}

func TestResolveDataDirMissingFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := ResolveDataDir(missing)
	if err == nil {
		t.Fatal("ResolveDataDir with a nonexistent --data succeeded")
	}
	if !errors.Is(err, ErrNoDataDir) {
		t.Errorf("error does not wrap ErrNoDataDir: %v", err)
	}
	msg := err.Error()
	for _, s := range append([]string{missing, "does not exist", "--data"}, expectedInHelp...) {
		if !strings.Contains(msg, s) {
			t.Errorf("error does not mention %q:\n%s", s, msg)
		}
	}
	// An existing directory without data is refused too, also via $DATA_DIR.
	empty := t.TempDir()
	t.Setenv(DataDirEnv, empty)
	if _, err := ResolveDataDir(""); err == nil || !strings.Contains(err.Error(), "$DATA_DIR") || !strings.Contains(err.Error(), "none of the expected files") {
		t.Errorf("empty $DATA_DIR error = %v", err)
	}
}

func TestResolveDataDirOrder(t *testing.T) {
	root := t.TempDir()
	mk := func(dir string) string {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	flagDir := mk(filepath.Join(root, "flagdata", "glue"))
	envDir := mk(filepath.Join(root, "envdata", "hf-glue"))
	shared := mk(filepath.Join(root, "shared", "data", "vocab", "bert-base-uncased"))
	writeFile(t, filepath.Join(shared, "vocab.txt"), "[PAD]\n")
	cwd := mk(filepath.Join(root, "repo"))
	t.Chdir(cwd)

	t.Setenv(DataDirEnv, filepath.Dir(envDir))
	if got, err := ResolveDataDir(filepath.Dir(flagDir)); err != nil || got != filepath.Dir(flagDir) {
		t.Errorf("flag: got %q, %v", got, err)
	}
	if got, err := ResolveDataDir(""); err != nil || got != filepath.Dir(envDir) {
		t.Errorf("env: got %q, %v", got, err)
	}
	t.Setenv(DataDirEnv, "")
	want := filepath.Join(root, "shared", "data")
	if got, err := ResolveDataDir(""); err != nil || got != want {
		t.Errorf("../shared/data: got %q, %v; want %q", got, err, want)
	}
	if VocabPath(want) != filepath.Join(want, "vocab", "bert-base-uncased", "vocab.txt") ||
		CorpusPath(want) != filepath.Join(want, "corpus", "brown.txt") {
		t.Error("VocabPath/CorpusPath")
	}
	// ./data is the last resort.
	mk(filepath.Join(cwd, "data", "glue"))
	t.Chdir(mk(filepath.Join(root, "elsewhere", "repo")))
	if _, err := ResolveDataDir(""); err == nil || !errors.Is(err, ErrNoDataDir) || !strings.Contains(err.Error(), "cyphertalk data fetch") {
		t.Errorf("no data anywhere: %v", err)
	}
	t.Chdir(cwd)
	os.RemoveAll(filepath.Join(root, "shared"))
	if got, err := ResolveDataDir(""); err != nil || got != filepath.Join(cwd, "data") {
		t.Errorf("./data: got %q, %v", got, err)
	}
}

func TestRealDataDirLayout(t *testing.T) {
	dir := testDataDir(t)
	for _, p := range []string{VocabPath(dir), CorpusPath(dir)} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	got, err := ResolveDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if abs, _ := filepath.Abs(dir); got != abs {
		t.Errorf("ResolveDataDir(%s) = %s", dir, got)
	}
}
