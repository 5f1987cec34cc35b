package datasets

import (
	"bytes"
	"errors"
	"github.com/cyphertalk/cyphertalk-go/internal/testdata"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testDataDir finds the real data: $DATA_DIR if set, else the first
// shared/data (holding glue/ or hf-glue/) found walking up from the package
// directory (/work/main/datasets -> /work/shared/data). Tests that need it
// are skipped only when it is absent.
// TestMain keeps the expected malformed-row warnings out of the test output
// (TestLoadQQP captures and checks them itself).
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

func testDataDir(t *testing.T) string { return testdata.DirOrSkip(t) }

func mustLoad(t *testing.T, dataDir, task, split string) *Set {
	t.Helper()
	s, err := Load(dataDir, task, split)
	if err != nil {
		t.Fatalf("Load(%s, %s): %v", task, split, err)
	}
	return s
}

func countLabels(examples []Example) map[float64]int {
	m := make(map[float64]int)
	for _, e := range examples {
		m[e.Label]++
	}
	return m
}

func TestTaskNamesAndInfo(t *testing.T) {
	want := []string{"sst2", "qqp", "mrpc", "rte", "cola", "stsb", "qnli", "wnli"}
	if got := TaskNames(); !slices.Equal(got, want) {
		t.Fatalf("TaskNames() = %v, want %v", got, want)
	}
	cases := []struct {
		name    string
		labels  int
		pair    bool
		metrics []string
	}{
		{"sst2", 2, false, []string{"accuracy"}},
		{"qqp", 2, true, []string{"accuracy", "f1"}},
		{"mrpc", 2, true, []string{"accuracy", "f1"}},
		{"rte", 2, true, []string{"accuracy"}},
		{"cola", 2, false, []string{"matthews", "accuracy"}},
		{"stsb", 0, true, []string{"pearson", "spearman"}},
		{"qnli", 2, true, []string{"accuracy"}},
		{"wnli", 2, true, []string{"accuracy"}},
	}
	for _, c := range cases {
		info, err := Task(c.name)
		if err != nil {
			t.Fatalf("Task(%s): %v", c.name, err)
		}
		if info.Name != c.name || info.NumLabels != c.labels || info.Pair != c.pair || !slices.Equal(info.Metrics, c.metrics) {
			t.Errorf("Task(%s) = %+v, want labels %d pair %v metrics %v", c.name, info, c.labels, c.pair, c.metrics)
		}
	}
	qqp, _ := Task("qqp")
	if !strings.Contains(qqp.Note, "23,497-row subset") {
		t.Errorf("qqp note = %q, must say it is a subset", qqp.Note)
	}
	// Returned metrics must be a copy.
	qqp.Metrics[0] = "x"
	if again, _ := Task("qqp"); again.Metrics[0] != "accuracy" {
		t.Error("Task returned a shared Metrics slice")
	}
	_, err := Task("mnli")
	if err == nil || !strings.Contains(err.Error(), `"mnli"`) || !strings.Contains(err.Error(), "sst2, qqp, mrpc") {
		t.Errorf("Task(mnli) error = %v, want one naming it and listing valid tasks", err)
	}
}

func TestLoadSST2(t *testing.T) {
	dir := testDataDir(t)
	train := mustLoad(t, dir, "sst2", "train")
	if len(train.Examples) != 67349 || len(train.Malformed) != 0 {
		t.Fatalf("sst2 train: %d examples, %d malformed; want 67349, 0", len(train.Examples), len(train.Malformed))
	}
	if train.Source != filepath.Join(dir, "glue", "SST-2", "train.tsv") || train.Task != "sst2" || train.Split != "train" {
		t.Errorf("sst2 train set header = %q %q %q", train.Task, train.Split, train.Source)
	}
	if e := train.Examples[0]; e.TextA != "hide new secretions from the parental units " || e.TextB != "" || e.Label != 0 {
		t.Errorf("sst2 train first example = %#v", e)
	}
	if got := countLabels(train.Examples); got[0] != 29780 || got[1] != 37569 || len(got) != 2 {
		t.Errorf("sst2 train labels = %v, want 0:29780 1:37569", got)
	}

	dev := mustLoad(t, dir, "sst2", "dev")
	if len(dev.Examples) != 872 || len(dev.Malformed) != 0 {
		t.Fatalf("sst2 dev: %d examples, %d malformed; want 872, 0", len(dev.Examples), len(dev.Malformed))
	}
	// "validation" is accepted for "dev".
	if v := mustLoad(t, dir, "sst2", "validation"); v.Split != "dev" || len(v.Examples) != 872 {
		t.Errorf("sst2 validation: split %q, %d examples", v.Split, len(v.Examples))
	}
	// The GLUE TSV dev and the hub's parquet validation agree.
	hf, err := LoadFile(filepath.Join(dir, "hf-glue", "sst2", "validation-00000-of-00001.parquet"), LayoutParquet, "sst2", "validation")
	if err != nil {
		t.Fatal(err)
	}
	tsvCounts, hfCounts := countLabels(dev.Examples), countLabels(hf.Examples)
	if tsvCounts[0] != 428 || tsvCounts[1] != 444 || len(tsvCounts) != 2 {
		t.Errorf("sst2 dev labels = %v, want 0:428 1:444", tsvCounts)
	}
	if len(hfCounts) != len(tsvCounts) || hfCounts[0] != tsvCounts[0] || hfCounts[1] != tsvCounts[1] {
		t.Errorf("sst2 label distribution: TSV dev %v, parquet validation %v", tsvCounts, hfCounts)
	}
	if !slices.Equal(dev.Examples, hf.Examples) {
		t.Error("sst2 TSV dev and parquet validation differ example by example")
	}

	test := mustLoad(t, dir, "sst2", "test")
	if len(test.Examples) != 1821 {
		t.Errorf("sst2 test: %d examples, want 1821", len(test.Examples))
	}
	if got := countLabels(test.Examples); got[UnlabeledLabel] != 1821 {
		t.Errorf("sst2 test labels = %v, want all -1", got)
	}
}

func TestLoadQQP(t *testing.T) {
	dir := testDataDir(t)
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	train, err := Load(dir, "qqp", "train")
	slog.SetDefault(prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(train.Examples) != 19597 {
		t.Errorf("qqp train: %d examples, want 19597", len(train.Examples))
	}
	if len(train.Malformed) != 1 {
		t.Fatalf("qqp train malformed = %v, want exactly 1", train.Malformed)
	}
	if m := train.Malformed[0]; m.Line != 2 || !strings.Contains(m.Reason, "5") {
		t.Errorf("qqp malformed row = %+v, want line 2 (5 columns instead of 6)", m)
	}
	if n := strings.Count(logs.String(), "skipped malformed rows"); n != 1 {
		t.Errorf("want exactly one warning, got %d in %q", n, logs.String())
	}
	if !strings.Contains(logs.String(), "count=1") || !strings.Contains(logs.String(), "first_lines=[2]") {
		t.Errorf("warning lacks count and line numbers: %q", logs.String())
	}
	if e := train.Examples[0]; e.TextA != "What causes stool color to change to yellow?" ||
		e.TextB != "What can cause stool to come out as little balls?" || e.Label != 0 {
		t.Errorf("qqp first valid example = %#v", e)
	}
	if got := countLabels(train.Examples); got[0] != 12314 || got[1] != 7283 {
		t.Errorf("qqp train labels = %v", got)
	}
	dev := mustLoad(t, dir, "qqp", "dev")
	if len(dev.Examples) != 3899 || len(dev.Malformed) != 0 {
		t.Errorf("qqp dev: %d examples, %d malformed; want 3899, 0", len(dev.Examples), len(dev.Malformed))
	}
	if got := countLabels(dev.Examples); got[0] != 2435 || got[1] != 1464 {
		t.Errorf("qqp dev labels = %v", got)
	}
}

func TestLoadGLUEDevTSVs(t *testing.T) {
	dir := testDataDir(t)
	cases := []struct {
		task string
		n    int
		// first example
		a, b  string
		label float64
	}{
		{"mrpc", 408, "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .",
			"\" The foodservice pie business does not fit our long-term growth strategy .", 1},
		{"rte", 277, "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, according to the Christopher Reeve Foundation.",
			"Christopher Reeve had an accident.", 1},
		{"stsb", 1500, "A man with a hard hat is dancing.", "A man wearing a hard hat is dancing.", 5},
		{"qnli", 5463, "What came into force after the new constitution was herald?",
			"As of that day, the new constitution heralding the Second Republic came into force.", 0},
		{"cola", 1043, "The sailors rode the breeze clear of the rocks.", "", 1},
	}
	for _, c := range cases {
		s := mustLoad(t, dir, c.task, "dev")
		if s.Source != tsvPath(dir, mustTaskDef(t, c.task), "dev") {
			t.Errorf("%s dev read %s, want the TSV", c.task, s.Source)
		}
		if len(s.Examples) != c.n || len(s.Malformed) != 0 {
			t.Errorf("%s dev: %d examples, %d malformed; want %d, 0", c.task, len(s.Examples), len(s.Malformed), c.n)
			continue
		}
		if e := s.Examples[0]; e.TextA != c.a || e.TextB != c.b || e.Label != c.label {
			t.Errorf("%s dev first example = %#v", c.task, e)
		}
	}
	// RTE: "entailment" -> 0, "not_entailment" -> 1 (row 2 of dev.tsv is entailment).
	rte := mustLoad(t, dir, "rte", "dev")
	if rte.Examples[1].Label != 0 || rte.Examples[0].Label != 1 {
		t.Errorf("rte labels: first two = %v, %v; want 1 (not_entailment), 0 (entailment)", rte.Examples[0].Label, rte.Examples[1].Label)
	}
	if got := countLabels(rte.Examples); got[0] != 146 || got[1] != 131 {
		t.Errorf("rte dev labels = %v", got)
	}
	// The TSV dev files and the hub's validation parquet hold the same
	// examples in the same order (STS-B's one score with more digits than
	// float32 keeps, 2.33333333333333 at row 1275, excepted).
	for _, task := range []string{"mrpc", "rte", "stsb", "qnli", "cola"} {
		d := mustTaskDef(t, task)
		a, err := LoadFile(tsvPath(dir, d, "dev"), LayoutTSV, task, "dev")
		if err != nil {
			t.Fatal(err)
		}
		b, err := LoadFile(parquetPath(dir, d, "dev"), LayoutParquet, task, "dev")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Examples) != len(b.Examples) {
			t.Errorf("%s: TSV dev %d rows, parquet %d", task, len(a.Examples), len(b.Examples))
			continue
		}
		diff := 0
		for i := range a.Examples {
			x, y := a.Examples[i], b.Examples[i]
			if x.TextA != y.TextA || x.TextB != y.TextB || (x.Label != y.Label && !(task == "stsb" && i == 1275)) {
				diff++
			}
		}
		if diff != 0 {
			t.Errorf("%s: %d examples differ between TSV dev and parquet validation", task, diff)
		}
	}
}

func mustTaskDef(t *testing.T, name string) *taskDef {
	t.Helper()
	d, err := lookupTask(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every hub parquet split has GLUE's official size.
func TestParquetSplitSizes(t *testing.T) {
	dir := testDataDir(t)
	want := map[string]map[string]int{
		"cola": {"train": 8551, "dev": 1043, "test": 1063},
		"mrpc": {"train": 3668, "dev": 408, "test": 1725},
		"rte":  {"train": 2490, "dev": 277, "test": 3000},
		"stsb": {"train": 5749, "dev": 1500, "test": 1379},
		"wnli": {"train": 635, "dev": 71, "test": 146},
		"qnli": {"dev": 5463, "test": 5463},
		"sst2": {"dev": 872, "test": 1821},
		"ax":   {"test": 1104},
	}
	seen := 0
	for _, f := range Available(dir) {
		if f.Layout != LayoutParquet {
			continue
		}
		seen++
		n, ok := want[f.Task][f.Split]
		if !ok {
			t.Errorf("unexpected parquet file %s", f.Path)
			continue
		}
		s, err := LoadFile(f.Path, f.Layout, f.Task, f.Split)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Examples) != n || len(s.Malformed) != 0 {
			t.Errorf("%s %s: %d examples, %d malformed; want %d, 0", f.Task, f.Split, len(s.Examples), len(s.Malformed), n)
		}
		info, _ := Task(f.Task)
		if (s.Examples[0].TextB != "") != info.Pair {
			t.Errorf("%s %s: TextB presence does not match Pair=%v", f.Task, f.Split, info.Pair)
		}
		labels := countLabels(s.Examples)
		// GLUE test labels are hidden, except MRPC's, which the hub ships.
		if f.Split == "test" && f.Task == "mrpc" {
			if labels[0] != 578 || labels[1] != 1147 {
				t.Errorf("mrpc test labels = %v, want 0:578 1:1147", labels)
			}
		} else if f.Split == "test" && labels[UnlabeledLabel] != n {
			t.Errorf("%s test: labels %v, want all -1", f.Task, labels)
		}
		if f.Split != "test" && labels[UnlabeledLabel] != 0 {
			t.Errorf("%s %s: %d unlabelled rows", f.Task, f.Split, labels[UnlabeledLabel])
		}
	}
	if seen != 20 {
		t.Errorf("Available listed %d parquet files, want 20", seen)
	}
	// Load falls back to parquet when there is no TSV.
	if s := mustLoad(t, dir, "cola", "train"); s.Source != parquetPath(dir, mustTaskDef(t, "cola"), "train") {
		t.Errorf("cola train read %s", s.Source)
	}
	// STS-B keeps float32 scores at their shortest decimal (3.8, not 3.799999952316284).
	stsb := mustLoad(t, dir, "stsb", "train")
	if stsb.Examples[1].Label != 3.8 {
		t.Errorf("stsb train second score = %v, want 3.8", stsb.Examples[1].Label)
	}
}

func TestAvailable(t *testing.T) {
	dir := testDataDir(t)
	files := Available(dir)
	if len(files) != 30 { // 10 TSVs + 20 parquet files
		t.Errorf("Available: %d files, want 30: %v", len(files), files)
	}
	want := []SplitFile{
		{"sst2", "train", LayoutTSV, filepath.Join(dir, "glue/SST-2/train.tsv")},
		{"sst2", "dev", LayoutTSV, filepath.Join(dir, "glue/SST-2/dev.tsv")},
		{"sst2", "dev", LayoutParquet, filepath.Join(dir, "hf-glue/sst2/validation-00000-of-00001.parquet")},
	}
	if len(files) < 3 || !slices.Equal(files[:3], want) {
		t.Errorf("Available starts %v, want %v", files[:min(3, len(files))], want)
	}
	if got := Available(t.TempDir()); len(got) != 0 {
		t.Errorf("Available(empty dir) = %v", got)
	}
}

func TestLoadMissingAndUnknown(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir, "qqp", "test")
	if err == nil {
		t.Fatal("Load of a missing split succeeded")
	}
	for _, p := range []string{filepath.Join(dir, "glue/QQP/test.tsv"), filepath.Join(dir, "hf-glue/qqp/test-00000-of-00001.parquet")} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	if _, err := Load(dir, "sst2", "holdout"); err == nil || !strings.Contains(err.Error(), "holdout") {
		t.Errorf("unknown split error = %v", err)
	}
	if _, err := Load(dir, "imdb", "train"); err == nil || !strings.Contains(err.Error(), "imdb") {
		t.Errorf("unknown task error = %v", err)
	}
}

// Malformed rows in a synthetic GLUE file: counted with their line numbers,
// skipped, and a missing final newline, CRLF, quotes and a BOM tolerated.
func TestMalformedRows(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "glue", "RTE", "train.tsv")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	content := utf8BOM + "index\tsentence1\tsentence2\tlabel\r\n" +
		"0\tA \"quoted\" premise.\tHypothesis.\tentailment\r\n" + // line 2 ok
		"1\ttoo few columns\tnot_entailment\n" + // line 3: 3 columns
		"2\tP.\tH.\tmaybe\n" + // line 4: unparsable label
		"3\tP.\tH.\t2\n" + // line 5: out of range
		"4\tP.\tH.\t1\n" + // line 6 ok
		"\n" + // line 7: empty
		"5\tLast.\tNo newline.\tnot_entailment" // line 8 ok
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir, "rte", "train")
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{
		{"A \"quoted\" premise.", "Hypothesis.", 0},
		{"P.", "H.", 1},
		{"Last.", "No newline.", 1},
	}
	if !slices.Equal(s.Examples, want) {
		t.Errorf("examples = %#v, want %#v", s.Examples, want)
	}
	var lines []int
	for _, m := range s.Malformed {
		lines = append(lines, m.Line)
	}
	if !slices.Equal(lines, []int{3, 4, 5, 7}) {
		t.Errorf("malformed lines = %v (%v), want [3 4 5 7]", lines, s.Malformed)
	}
	// A file without the task's columns is an error naming them.
	bad := filepath.Join(dir, "glue", "RTE", "dev.tsv")
	os.WriteFile(bad, []byte("a\tb\n1\t2\n"), 0o644)
	if _, err := Load(dir, "rte", "dev"); err == nil || !strings.Contains(err.Error(), "sentence1") {
		t.Errorf("missing column error = %v", err)
	}
}

// poolByHand: "" → 0xff, "a" → 0x69, "c" → 0x5f (odd: public); "d" → 0x1c, "e" → 0xc6 (even: private).
var poolByHand = map[string]bool{"": false, "a": false, "c": false, "d": true, "e": true}

func TestPools(t *testing.T) {
	dir := testDataDir(t)
	train := mustLoad(t, dir, "sst2", "train")
	private, public := Pools(train.Examples)
	if len(private)+len(public) != len(train.Examples) {
		t.Fatalf("pools %d + %d != %d", len(private), len(public), len(train.Examples))
	}
	if len(private) != 33632 {
		t.Errorf("sst2 private pool = %d, want 33632 (the hash must be stable)", len(private))
	}
	frac := float64(len(private)) / float64(len(train.Examples))
	if frac < 0.48 || frac > 0.52 {
		t.Errorf("private fraction %.4f, want about 0.5", frac)
	}
	key := func(e Example) string { return e.TextA + "\x1f" + e.TextB }
	priv := make(map[string]bool, len(private))
	for _, e := range private {
		if !InPrivatePool(e) {
			t.Fatalf("private pool holds a public example %#v", e)
		}
		priv[key(e)] = true
	}
	for _, e := range public {
		if priv[key(e)] {
			t.Fatalf("text in both pools: %#v", e)
		}
	}
	// Pools keep the original order.
	if !isSubsequence(train.Examples, private) || !isSubsequence(train.Examples, public) {
		t.Error("a pool is not in the original order")
	}
	qqp := mustLoad(t, dir, "qqp", "train")
	if p, _ := Pools(qqp.Examples); len(p) != 9737 {
		t.Errorf("qqp private pool = %d, want 9737", len(p))
	}
	// Worked by hand: printf '%s\x1f' TEXT | sha256sum → first byte; even → private.
	for text, private := range poolByHand {
		if InPrivatePool(Example{TextA: text}) != private {
			t.Errorf("InPrivatePool(%q) != %v (hand-computed from sha256sum)", text, private)
		}
	}
	a := Example{TextA: "hide new secretions from the parental units "}
	if InPrivatePool(a) != InPrivatePool(Example{TextA: a.TextA, Label: 1}) {
		t.Error("pool depends on the label")
	}
}

// isSubsequence reports whether sub appears in all in order.
func isSubsequence(all, sub []Example) bool {
	j := 0
	for i := 0; i < len(all) && j < len(sub); i++ {
		if all[i] == sub[j] {
			j++
		}
	}
	return j == len(sub)
}

func TestSubsample(t *testing.T) {
	examples := make([]Example, 1000)
	for i := range examples {
		examples[i] = Example{TextA: string(rune('a' + i%26)), Label: float64(i)}
	}
	labels := func(s []Example) []float64 {
		out := make([]float64, len(s))
		for i, e := range s {
			out[i] = e.Label
		}
		return out
	}
	a := Subsample(examples, 100, 42)
	b := Subsample(examples, 100, 42)
	c := Subsample(examples, 100, 43)
	if len(a) != 100 || !slices.Equal(a, b) {
		t.Fatalf("Subsample not deterministic or wrong size: %d", len(a))
	}
	if slices.Equal(a, c) {
		t.Error("Subsample ignores the seed")
	}
	la := labels(a)
	if !slices.IsSorted(la) || len(slices.Compact(slices.Clone(la))) != 100 {
		t.Error("Subsample not in original order or has repeats")
	}
	// Pinned: the choice must not change across runs, machines and Go versions.
	if got, want := la[:5], []float64{5, 10, 13, 26, 34}; !slices.Equal(got, want) {
		t.Errorf("Subsample(seed 42) starts %v, want %v", got, want)
	}
	// Nested: the subsample of 50 is inside the subsample of 100 (same seed).
	small := labels(Subsample(examples, 50, 42))
	for _, v := range small {
		if _, found := slices.BinarySearch(la, v); !found {
			t.Fatalf("subsample of 50 not within subsample of 100 (%v)", v)
		}
	}
	for _, n := range []int{0, -1, 1000, 5000} {
		all := Subsample(examples, n, 1)
		if !slices.Equal(all, examples) {
			t.Errorf("Subsample(n=%d) should return everything", n)
		}
		all[0].Label = -5
		if examples[0].Label == -5 {
			t.Fatalf("Subsample(n=%d) did not copy", n)
		}
	}
}
