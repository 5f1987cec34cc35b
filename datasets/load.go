package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Example is one labelled text or text pair.
type Example struct {
	TextA string
	TextB string // "" for single-sentence tasks
	// Label is the class index for classification tasks and the score for
	// regression (STS-B). It is -1 for examples of unlabelled test splits.
	Label float64
}

// MalformedRow records a row that was skipped while loading.
type MalformedRow struct {
	// Line is the 1-based physical line number in a TSV file (the header is
	// line 1), or the 0-based row index in a parquet file.
	Line   int
	Reason string
}

// Set is the loaded content of one split of one task.
type Set struct {
	Task      string
	Split     string // "train", "dev" or "test" ("" for LoadCustom)
	Source    string // path of the file read
	Examples  []Example
	Malformed []MalformedRow // rows skipped, in file order
}

// SplitFile is one data file found by Available.
type SplitFile struct {
	Task   string
	Split  string // "train", "dev" or "test"
	Layout string // LayoutTSV or LayoutParquet
	Path   string
}

// The two on-disk layouts of GLUE.
const (
	LayoutTSV     = "glue-tsv"   // glue/<Task>/<split>.tsv, as released by the GLUE benchmark
	LayoutParquet = "hf-parquet" // hf-glue/<task>/<split>-00000-of-00001.parquet, the Hugging Face hub `glue` dataset
)

// splits in canonical order.
var splitNames = []string{"train", "dev", "test"}

// UnlabeledLabel is the Label of examples from splits without labels (test).
const UnlabeledLabel = -1

// normalizeSplit maps a split name to "train", "dev" or "test"; the hub's
// "validation" is accepted as "dev".
func normalizeSplit(split string) (string, error) {
	switch s := strings.ToLower(strings.TrimSpace(split)); s {
	case "train", "dev", "test":
		return s, nil
	case "validation", "valid", "val":
		return "dev", nil
	default:
		return "", fmt.Errorf("unknown split %q: valid splits are train, dev (or validation), test", split)
	}
}

// tsvPath is where the GLUE TSV layout keeps a split ("" if that layout has
// no file for it).
func tsvPath(dataDir string, d *taskDef, split string) string {
	if d.glueDir == "" {
		return ""
	}
	name := split + ".tsv"
	if d.glueFiles != nil {
		n, ok := d.glueFiles[split]
		if !ok {
			return ""
		}
		name = n
	}
	return filepath.Join(dataDir, "glue", d.glueDir, name)
}

// parquetPath is where the Hugging Face layout keeps a split.
func parquetPath(dataDir string, d *taskDef, split string) string {
	hfSplit := split
	if split == "dev" {
		hfSplit = "validation"
	}
	return filepath.Join(dataDir, "hf-glue", d.info.Name, hfSplit+"-00000-of-00001.parquet")
}

func fileExists(path string) (bool, error) {
	st, err := os.Stat(path)
	if err == nil {
		return !st.IsDir(), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", path, err)
}

// Load reads one split ("train", "dev" — or "validation" — or "test") of a
// GLUE task from dataDir. It prefers the GLUE TSV layout
// (glue/<Task>/<split>.tsv) when that file is present and otherwise reads the
// Hugging Face parquet layout (hf-glue/<task>/<split>-00000-of-00001.parquet).
// Malformed rows are skipped, listed in Set.Malformed and logged once.
func Load(dataDir, task, split string) (*Set, error) {
	d, err := lookupTask(task)
	if err != nil {
		return nil, err
	}
	sp, err := normalizeSplit(split)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", d.info.Name, err)
	}
	var tried []string
	if p := tsvPath(dataDir, d, sp); p != "" {
		ok, err := fileExists(p)
		if err != nil {
			return nil, fmt.Errorf("load %s %s: %w", d.info.Name, sp, err)
		}
		if ok {
			return LoadFile(p, LayoutTSV, d.info.Name, sp)
		}
		tried = append(tried, p+" (GLUE TSV layout)")
	}
	p := parquetPath(dataDir, d, sp)
	ok, err := fileExists(p)
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w", d.info.Name, sp, err)
	}
	if ok {
		return LoadFile(p, LayoutParquet, d.info.Name, sp)
	}
	tried = append(tried, p+" (Hugging Face parquet layout)")
	return nil, fmt.Errorf("load %s %s: no data file; expected %s; `cyphertalk data fetch` downloads the data: %w",
		d.info.Name, sp, strings.Join(tried, " or "), fs.ErrNotExist)
}

// Available lists every task split file present under dataDir, in both
// layouts, ordered by task (TaskNames order, then ax), split (train, dev,
// test) and layout (TSV first).
func Available(dataDir string) []SplitFile {
	var out []SplitFile
	for i := range taskDefs {
		d := &taskDefs[i]
		for _, sp := range splitNames {
			if p := tsvPath(dataDir, d, sp); p != "" {
				if ok, _ := fileExists(p); ok {
					out = append(out, SplitFile{Task: d.info.Name, Split: sp, Layout: LayoutTSV, Path: p})
				}
			}
			p := parquetPath(dataDir, d, sp)
			if ok, _ := fileExists(p); ok {
				out = append(out, SplitFile{Task: d.info.Name, Split: sp, Layout: LayoutParquet, Path: p})
			}
		}
	}
	return out
}

// LoadFile loads one specific file of a GLUE task. layout is LayoutTSV or
// LayoutParquet ("" infers it from the extension: .parquet or not).
func LoadFile(path string, layout, task, split string) (*Set, error) {
	d, err := lookupTask(task)
	if err != nil {
		return nil, err
	}
	sp, err := normalizeSplit(split)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if layout == "" {
		layout = LayoutTSV
		if strings.HasSuffix(strings.ToLower(path), ".parquet") {
			layout = LayoutParquet
		}
	}
	set := &Set{Task: d.info.Name, Split: sp, Source: path}
	conv := &glueConverter{def: d, split: sp, set: set, parquet: layout == LayoutParquet}
	switch layout {
	case LayoutTSV:
		err = scanTSV(path, d.headerless, d.headerMarker, conv.header, conv.row)
	case LayoutParquet:
		err = scanParquet(path, conv.header, conv.row)
	default:
		return nil, fmt.Errorf("load %s: unknown layout %q (want %q or %q)", path, layout, LayoutTSV, LayoutParquet)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s %s: %w", d.info.Name, sp, err)
	}
	logMalformed(set)
	slog.Debug("loaded split", "task", set.Task, "split", set.Split, "source", path,
		"examples", len(set.Examples), "malformed", len(set.Malformed))
	return set, nil
}

// glueConverter turns the rows of a GLUE file into Examples.
type glueConverter struct {
	def     *taskDef
	split   string
	set     *Set
	parquet bool

	ncols        int
	iA, iB, iLab int
}

func (c *glueConverter) header(cols []string) error {
	c.ncols = len(cols)
	c.iA = columnIndex(cols, c.def.textA)
	c.iB, c.iLab = -1, -1
	if c.iA < 0 {
		return fmt.Errorf("no text column (want one of %q); the file's columns are %q", c.def.textA, cols)
	}
	if c.def.info.Pair {
		c.iB = columnIndex(cols, c.def.textB)
		if c.iB < 0 {
			return fmt.Errorf("no second text column (want one of %q); the file's columns are %q", c.def.textB, cols)
		}
	}
	c.iLab = columnIndex(cols, c.def.label)
	if c.iLab < 0 && c.split != "test" {
		return fmt.Errorf("no label column (want one of %q); the file's columns are %q", c.def.label, cols)
	}
	return nil
}

func (c *glueConverter) row(line int, fields []string, null []bool) {
	bad := func(format string, args ...any) {
		c.set.Malformed = append(c.set.Malformed, MalformedRow{Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	if len(fields) != c.ncols {
		bad("got %d tab-separated columns, want %d", len(fields), c.ncols)
		return
	}
	for _, i := range []int{c.iA, c.iB, c.iLab} {
		if i >= 0 && null != nil && null[i] {
			bad("null value in a required column")
			return
		}
	}
	ex := Example{TextA: fields[c.iA], Label: UnlabeledLabel}
	if c.iB >= 0 {
		ex.TextB = fields[c.iB]
	}
	if c.iLab >= 0 {
		v, reason := c.parseLabel(fields[c.iLab])
		if reason != "" {
			bad("%s", reason)
			return
		}
		ex.Label = v
	}
	c.set.Examples = append(c.set.Examples, ex)
}

// parseLabel returns the label value, or a non-empty reason why it is invalid.
func (c *glueConverter) parseLabel(raw string) (float64, string) {
	s := strings.TrimSpace(raw)
	info := c.def.info
	if info.NumLabels == 0 { // regression (STS-B: scores in [0, 5])
		v, ok := parseFiniteFloat(s)
		if !ok {
			return 0, fmt.Sprintf("unparsable score %q", raw)
		}
		if c.split == "test" && v == UnlabeledLabel {
			return v, ""
		}
		if v < 0 || v > 5 {
			return 0, fmt.Sprintf("score %v outside [0, 5]", v)
		}
		return v, ""
	}
	if k, ok := c.def.labelNames[s]; ok {
		return float64(k), ""
	}
	k, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Sprintf("unparsable label %q", raw)
	}
	if c.split == "test" && k == UnlabeledLabel {
		return UnlabeledLabel, ""
	}
	if k < 0 || k >= info.NumLabels {
		return 0, fmt.Sprintf("label %d outside [0, %d)", k, info.NumLabels)
	}
	return float64(k), ""
}

// logMalformed warns once per file about skipped rows.
func logMalformed(set *Set) {
	if len(set.Malformed) == 0 {
		return
	}
	first := make([]int, 0, 5)
	for _, m := range set.Malformed {
		if len(first) == cap(first) {
			break
		}
		first = append(first, m.Line)
	}
	slog.Warn("skipped malformed rows", "task", set.Task, "split", set.Split, "source", set.Source,
		"count", len(set.Malformed), "first_lines", first, "first_reason", set.Malformed[0].Reason)
}
