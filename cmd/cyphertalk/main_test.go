package main

import (
	"bytes"
	"github.com/cyphertalk/cyphertalk-go/internal/testdata"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func dataDir(t *testing.T) string { return testdata.DirOrSkip(t) }

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestTokenizeCommand(t *testing.T) {
	d := dataDir(t)
	out, err := run(t, "--data", d, "tokenize", "why are hispanics")
	if err != nil {
		t.Fatal(err)
	}
	if out != "2339 2024 6696 2015\n" {
		t.Fatalf("got %q", out)
	}
	out, err = run(t, "--data", d, "tokenize", "why are hispanics", "so")
	if err != nil {
		t.Fatal(err)
	}
	if out != "101 2339 2024 6696 2015 102 2061 102\n" {
		t.Fatalf("pair: got %q", out)
	}
}

func TestDataStatsCommand(t *testing.T) {
	out, err := run(t, "--data", dataDir(t), "data", "stats")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`sst2\s+train\s+glue-tsv\s+67349\s+0\s`,
		`sst2\s+dev\s+glue-tsv\s+872\s+0`,
		`qqp\s+train\s+glue-tsv\s+19597\s+1\s.*\s2\s*$`,
		`qqp\s+dev\s+glue-tsv\s+3899\s+0`,
		`cola\s+train\s+hf-parquet\s+8551\s+0`,
		`qnli\s+dev\s+hf-parquet\s+5463\s+0`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(out) {
			t.Errorf("data stats lacks a row matching %s:\n%s", want, out)
		}
	}
}

func TestMissingDataDirSaysWhatIsExpected(t *testing.T) {
	_, err := run(t, "--data", filepath.Join(t.TempDir(), "nothing"), "data", "stats")
	if err == nil {
		t.Fatal("expected an error")
	}
	for _, want := range []string{"vocab.txt", "brown.txt", "data fetch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
}

func TestUnknownPresetAndTask(t *testing.T) {
	d := dataDir(t)
	if _, err := run(t, "--data", d, "finetune", "--preset", "huge", "--init", "scratch"); err == nil || !strings.Contains(err.Error(), "tiny") {
		t.Errorf("unknown preset: %v", err)
	}
	if _, err := run(t, "--data", d, "finetune", "--preset", "nano", "--task", "nope"); err == nil || !strings.Contains(err.Error(), "sst2") {
		t.Errorf("unknown task: %v", err)
	}
}

// TestFinetuneCustomData: a researcher's own TSV trains and evaluates end to end; a malformed row is reported.
func TestFinetuneCustomData(t *testing.T) {
	d := dataDir(t)
	var b strings.Builder
	b.WriteString("review\tsentiment\n")
	for i := range 80 {
		if i%2 == 0 {
			b.WriteString("a wonderful , moving film\tpos\n")
		} else {
			b.WriteString("a dull and tedious mess\tneg\n")
		}
	}
	b.WriteString("a row without its label\n")
	path := filepath.Join(t.TempDir(), "mine.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "--data", d, "finetune", "--preset", "nano", "--init", "scratch", "--train-file", path,
		"--text-a", "review", "--label", "sentiment", "--epochs", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`custom\s+scratch\s+trainable\s+1\s+accuracy`).MatchString(out) {
		t.Fatalf("no summary row for the custom task:\n%s", out)
	}
	if _, err := run(t, "--data", d, "finetune", "--preset", "nano", "--init", "scratch", "--train-file", path,
		"--text-a", "text", "--label", "sentiment"); err == nil || !strings.Contains(err.Error(), "review") {
		t.Errorf("a wrong column name should list the file's columns: %v", err)
	}
}

// TestPretrainShip: `pretrain --ship DIR` copies the checkpoint's cache entry under DIR/pretrain/, and a fresh
// cache given DIR as $CYPHERTALK_CHECKPOINTS copies it instead of pre-training again.
func TestPretrainShip(t *testing.T) {
	d := dataDir(t)
	ship := t.TempDir()
	args := []string{"--data", d, "pretrain", "--preset", "nano", "--steps", "2", "--table-init", "random",
		"--public-tasks", "", "--pair-objective=false"}
	out, err := run(t, append([]string{"--cache", t.TempDir()}, append(args, "--ship", ship)...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "checkpoint (trained)") || !strings.Contains(out, "shipped: "+filepath.Join(ship, "pretrain", "nano-")) {
		t.Fatalf("first run:\n%s", out)
	}
	t.Setenv("CYPHERTALK_CHECKPOINTS", ship)
	out, err = run(t, append([]string{"--cache", t.TempDir()}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "checkpoint (cached)") {
		t.Fatalf("with the shipped checkpoint, want it copied, not trained:\n%s", out)
	}
}
