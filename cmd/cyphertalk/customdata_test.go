package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A custom-data flag without --train-file is refused, never ignored: GLUE tasks have their own dev split. The
// data directory given does not exist, so an error about anything else shows the flags were not checked first.
func TestCustomFlagsWithoutTrainFileRefused(t *testing.T) {
	noData := filepath.Join(t.TempDir(), "no-data")
	dev := writeTemp(t, "dev.tsv", "sentence\tlabel\nok\t1\n")
	for _, args := range [][]string{
		{"--dev-file", dev},
		{"--task", "sst2", "--dev-file", dev},
		{"--encoding", "latin1"},
		{"--text-a", "review", "--label", "y"},
	} {
		_, err := run(t, append([]string{"--data", noData, "finetune", "--preset", "nano"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "--"+strings.TrimPrefix(args[len(args)-2], "--")) ||
			!strings.Contains(err.Error(), "only applies to custom data named with --train-file") {
			t.Errorf("finetune %v: error = %v; want a refusal naming the flag", args, err)
		}
	}
}

// Custom data is checked before the data directory, the tokenizer or any pre-training.
func TestCustomDataCheckedFirst(t *testing.T) {
	noData := filepath.Join(t.TempDir(), "no-data")
	train := writeTemp(t, "train.tsv", "review\tsentiment\ngood\tpos\n")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--train-file", train, "--text-a", "text", "--label", "sentiment"}, []string{"--train-file", `"text"`, `"review"`, `"sentiment"`}},
		{[]string{"--train-file", train, "--text-a", "review"}, []string{`"label"`}},
		{[]string{"--train-file", train, "--text-a", "review", "--label", "sentiment", "--encoding", "koi8"}, []string{`"koi8"`}},
		{[]string{"--train-file", train, "--text-a", "review", "--label", "sentiment", "--dev-file", filepath.Join(t.TempDir(), "none.tsv")}, []string{"--dev-file", "none.tsv"}},
		{[]string{"--train-file", train, "--text-a", "review", "--label", "sentiment", "--task", "qqp"}, []string{"--task qqp", "--train-file"}},
		{[]string{"--train-file", filepath.Join(t.TempDir(), "missing.jsonl")}, []string{"missing.jsonl"}},
	}
	for _, c := range cases {
		_, err := run(t, append([]string{"--data", noData, "finetune", "--preset", "nano"}, c.args...)...)
		if err == nil {
			t.Errorf("finetune %v succeeded", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("finetune %v: error %q does not mention %s", c.args, err, w)
			}
		}
		if strings.Contains(err.Error(), "no-data") {
			t.Errorf("finetune %v: the data directory was looked at before the custom data: %v", c.args, err)
		}
	}
}

func TestNoteMaxTrainCap(t *testing.T) {
	var b bytes.Buffer
	noteMaxTrainCap(&b, "mine.tsv", 9000, 4000)
	for _, w := range []string{"4000", "9000", "mine.tsv", "--max-train"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("note %q does not mention %s", b.String(), w)
		}
	}
	for _, c := range [][2]int{{4000, 4000}, {100, 4000}, {9000, 0}} {
		b.Reset()
		if noteMaxTrainCap(&b, "mine.tsv", c[0], c[1]); b.Len() != 0 {
			t.Errorf("usable %d, --max-train %d: unexpected note %q", c[0], c[1], b.String())
		}
	}
}

func TestCustomLoadNeedsRows(t *testing.T) {
	bad := writeTemp(t, "bad.tsv", "text\tlabel\ncaf\xe9\tpos\nno label\n")
	c := &customData{}
	c.spec.Path, c.spec.TextA, c.spec.Label = bad, "text", "label"
	if _, err := c.load(); err == nil || !strings.Contains(err.Error(), "no usable row (2 malformed)") ||
		!strings.Contains(err.Error(), "line 2: invalid UTF-8") || !strings.Contains(err.Error(), "line 3:") {
		t.Errorf("load = %v", err)
	}
	c.spec.Encoding = "latin1"
	c.devFile = writeTemp(t, "dev.jsonl", "{\"text\": \"th\xe9\", \"label\": \"pos\"}\n") // Latin-1 too
	task, err := c.load()
	if err != nil || len(task.train) != 1 || task.train[0].TextA != "café" || len(task.dev) != 1 || task.dev[0].TextA != "thé" {
		t.Errorf("latin1 train + jsonl dev: %+v, %v", task, err)
	}
}

// End to end: a Latin-1 JSON Lines file trains with --encoding latin1, and --max-train says what it leaves out.
func TestFinetuneCustomLatin1Capped(t *testing.T) {
	d := dataDir(t)
	var b strings.Builder
	for i := range 60 {
		if i%2 == 0 {
			b.WriteString("{\"review\": \"un caf\xe9 merveilleux\", \"stars\": 5}\n")
		} else {
			b.WriteString("{\"review\": \"un th\xe9 ti\xe8de\", \"stars\": 1}\n")
		}
	}
	path := writeTemp(t, "mine.jsonl", b.String())
	args := []string{"--data", d, "finetune", "--preset", "nano", "--init", "scratch", "--train-file", path,
		"--text-a", "review", "--label", "stars", "--epochs", "1", "--max-train", "20"}
	if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), "line 1: invalid UTF-8") {
		t.Fatalf("Latin-1 file read as UTF-8: error = %v; want one naming line 1's invalid UTF-8", err)
	}
	out, err := run(t, append(args, "--encoding", "latin1")...)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`--max-train 20: training on 20 of the 54 usable training rows of .*mine\.jsonl`).MatchString(out) {
		t.Errorf("no --max-train note with both counts:\n%s", out)
	}
	if !regexp.MustCompile(`custom\s+scratch\s+trainable\s+1\s+accuracy`).MatchString(out) {
		t.Errorf("no summary row for the custom task:\n%s", out)
	}
}

func TestDataCheckCommand(t *testing.T) {
	p := writeTemp(t, "menu.tsv", "text\tlabel\ncaf\xe9\tpos\ntea\tneg\n\"a\tb\"\tpos\nshort\n")
	out, err := run(t, "data", "check", p, "--text-a", "text")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"2 usable rows, 2 malformed; labels: neg=1 pos=1", "line 2: invalid UTF-8", "line 5: got 1 tab-separated columns"} {
		if !strings.Contains(out, w) {
			t.Errorf("data check output lacks %q:\n%s", w, out)
		}
	}
	out, err = run(t, "data", "check", p, "--text-a", "text", "--encoding", "latin1", "--show", "1")
	if err != nil || !strings.Contains(out, "3 usable rows, 1 malformed; labels: neg=1 pos=2") {
		t.Errorf("latin1: %v\n%s", err, out)
	}
	if _, err := run(t, "data", "check", writeTemp(t, "bad.tsv", "sentence\tlabel\nx\n")); err == nil || !strings.Contains(err.Error(), "no usable row") {
		t.Errorf("no usable row: %v", err)
	}
}
