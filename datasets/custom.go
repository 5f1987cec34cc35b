package datasets

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CustomSpec describes a user-supplied ("bring your own") classification
// file.
type CustomSpec struct {
	// Path of the file. Its extension picks the format:
	//   - .parquet: a parquet file (columns = leaf column paths);
	//   - .jsonl (or .ndjson): JSON Lines, one object a line (columns = the
	//     object keys; blank lines are skipped);
	//   - anything else: TSV with a header row. Rows are split on tabs and a
	//     double quote is ordinary text, as in GLUE's own TSVs; only a row
	//     with the wrong number of columns is re-read with CSV-style quoting
	//     (a field enclosed in double quotes may hold tabs, "" is one quote),
	//     and it is used if that gives the right number. A field cannot span
	//     lines.
	Path string
	// Column names: TextA and Label are required, TextB is optional
	// (empty for single-text data).
	TextA, TextB, Label string
	// Labels optionally fixes the ordered label names: the label named
	// Labels[k] becomes class k (an integer label k in [0, len(Labels)) is
	// also accepted). If empty, the labels are collected from the file: when
	// they are all numeric they are kept as they are, otherwise the distinct
	// names are sorted and mapped to 0..k-1.
	Labels []string
	// Encoding of the file's text: "" or "utf-8" (a row with bytes that are
	// not valid UTF-8 is malformed, never silently altered) or "latin1"
	// (ISO-8859-1: every byte is one character; also "latin-1",
	// "iso-8859-1").
	Encoding string
}

// CustomTaskName is the Task of sets loaded by LoadCustom.
const CustomTaskName = "custom"

// The encodings CustomSpec.Encoding names.
const (
	EncodingUTF8   = "utf-8"
	EncodingLatin1 = "latin1"
)

// NormalizeEncoding maps an encoding name to EncodingUTF8 or EncodingLatin1
// ("" is UTF-8; case and '-'/'_' are ignored), or returns an error listing
// the accepted names.
func NormalizeEncoding(name string) (string, error) {
	s := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(name)))
	switch s {
	case "", "utf8":
		return EncodingUTF8, nil
	case "latin1", "iso88591", "l1":
		return EncodingLatin1, nil
	}
	return "", fmt.Errorf("unknown encoding %q: want utf-8 or latin1 (also latin-1, iso-8859-1)", name)
}

// Custom file formats, by extension.
const (
	formatTSV     = "tsv"
	formatParquet = "parquet"
	formatJSONL   = "jsonl"
)

func customFormat(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		return formatParquet
	case ".jsonl", ".ndjson":
		return formatJSONL
	}
	return formatTSV
}

// check validates the spec itself (not the file) and returns the normalized
// encoding.
func (spec CustomSpec) check() (string, error) {
	if spec.Path == "" {
		return "", fmt.Errorf("custom data: no file given")
	}
	if spec.TextA == "" || spec.Label == "" {
		return "", fmt.Errorf("custom data %s: the text column and the label column must be named (text %q, label %q)",
			spec.Path, spec.TextA, spec.Label)
	}
	enc, err := NormalizeEncoding(spec.Encoding)
	if err != nil {
		return "", fmt.Errorf("custom data %s: %w", spec.Path, err)
	}
	return enc, nil
}

// decodeFields reports whether the header and row callbacks must decode
// Latin-1 themselves (scanJSONL decodes before parsing).
func decodeFields(spec CustomSpec, enc string) bool {
	return enc == EncodingLatin1 && customFormat(spec.Path) != formatJSONL
}

// errHeaderOnly stops a scan after the header (CheckCustom).
var errHeaderOnly = errors.New("header checked")

// customColumns finds the spec's columns among a file's columns.
type customColumns struct {
	spec       CustomSpec
	latin1     bool
	cols       []string
	iA, iB, iY int
}

func (c *customColumns) header(cols []string) error {
	if c.latin1 {
		cols = slices.Clone(cols)
		for i := range cols {
			cols[i] = decodeLatin1(cols[i])
		}
	} else {
		for i, col := range cols {
			if !utf8.ValidString(col) {
				return fmt.Errorf("the header of %s is not valid UTF-8 (column %d is %q); if the file is Latin-1, load it with encoding latin1",
					c.spec.Path, i+1, col)
			}
		}
	}
	c.cols = cols
	find := func(role, name string) (int, error) {
		if i := columnIndex(cols, []string{name}); i >= 0 {
			return i, nil
		}
		for i, col := range cols { // tolerate a difference in case only
			if strings.EqualFold(col, name) {
				return i, nil
			}
		}
		return -1, fmt.Errorf("%s column %q not found in %s; its columns are: %s",
			role, name, c.spec.Path, strings.Join(quoteAll(cols), ", "))
	}
	var err error
	c.iB = -1
	if c.iA, err = find("text", c.spec.TextA); err != nil {
		return err
	}
	if c.spec.TextB != "" {
		if c.iB, err = find("second text", c.spec.TextB); err != nil {
			return err
		}
	}
	c.iY, err = find("label", c.spec.Label)
	return err
}

// scanCustom reads a custom file of any format: onHeader gets the columns,
// then onRow each row's fields (raw: not yet decoded or validated) or onBad
// each row that could not be split into fields.
// JSON Lines are decoded from Latin-1 (when asked) by the scanner itself, so
// that the JSON can be parsed; the other formats leave decoding to the
// callbacks (see decodeFields).
func scanCustom(spec CustomSpec, latin1 bool, onHeader headerFunc, onRow rowFunc, onBad func(line int, reason string)) error {
	switch customFormat(spec.Path) {
	case formatParquet:
		return scanParquet(spec.Path, onHeader, onRow)
	case formatJSONL:
		return scanJSONL(spec.Path, latin1, onHeader, onRow, onBad)
	default:
		return scanCustomTSV(spec.Path, onHeader, onRow, onBad)
	}
}

// CheckCustom is the cheap check of custom data to run before any expensive
// work: it validates the spec (columns named, encoding known) and opens the
// file to read its header only (TSV: the first line; JSON Lines: the first
// object; parquet: the schema), returning the file's columns or an error
// naming the file and the missing column. It reads no rows beyond that.
func CheckCustom(spec CustomSpec) ([]string, error) {
	enc, err := spec.check()
	if err != nil {
		return nil, err
	}
	c := &customColumns{spec: spec, latin1: decodeFields(spec, enc)}
	header := func(cols []string) error {
		if err := c.header(cols); err != nil {
			return err
		}
		return errHeaderOnly
	}
	err = scanCustom(spec, enc == EncodingLatin1, header, func(int, []string, []bool) {}, func(int, string) {})
	if err == nil || errors.Is(err, errHeaderOnly) {
		return c.cols, nil
	}
	return nil, fmt.Errorf("check custom data: %w", err)
}

// LoadCustom loads user-supplied classification data. It returns the set
// (Task "custom", Split "") and the label names: class k is names[k]; for
// numeric labels kept as they are, the sorted distinct values as text.
// A column missing from the file is an error naming it and listing the
// file's columns. Rows with a wrong column count, text that is not valid
// UTF-8 (unless spec.Encoding is latin1), a null or empty label, or a label
// not among spec.Labels are counted in Set.Malformed with their line (row)
// number and reason, logged once and skipped: no row is dropped or altered
// silently.
func LoadCustom(spec CustomSpec) (*Set, []string, error) {
	enc, err := spec.check()
	if err != nil {
		return nil, nil, fmt.Errorf("load %w", err)
	}
	latin1 := decodeFields(spec, enc)
	set := &Set{Task: CustomTaskName, Source: spec.Path}
	type rawRow struct {
		line    int
		a, b, y string
	}
	var rows []rawRow
	c := &customColumns{spec: spec, latin1: latin1}
	bad := func(line int, format string, args ...any) {
		set.Malformed = append(set.Malformed, MalformedRow{Line: line, Reason: fmt.Sprintf(format, args...)})
	}
	row := func(line int, fields []string, null []bool) {
		if len(fields) != len(c.cols) {
			bad(line, "got %d tab-separated columns, want %d", len(fields), len(c.cols))
			return
		}
		idx := []int{c.iA, c.iY}
		if c.iB >= 0 {
			idx = append(idx, c.iB)
		}
		text := make([]string, len(fields))
		for _, i := range idx {
			if null != nil && null[i] {
				bad(line, "null or missing value in required column %q", c.cols[i])
				return
			}
			s := fields[i]
			if latin1 {
				s = decodeLatin1(s)
			} else if off := invalidUTF8At(s); off >= 0 {
				bad(line, "invalid UTF-8 in column %q: byte 0x%02x at offset %d of %q (if the file is Latin-1, load it with encoding latin1)",
					c.cols[i], s[off], off, s)
				return
			}
			text[i] = s
		}
		r := rawRow{line: line, a: text[c.iA], y: strings.TrimSpace(text[c.iY])}
		if c.iB >= 0 {
			r.b = text[c.iB]
		}
		if r.y == "" {
			bad(line, "empty label in column %q", c.cols[c.iY])
			return
		}
		rows = append(rows, r)
	}
	onBad := func(line int, reason string) { bad(line, "%s", reason) }
	if err := scanCustom(spec, enc == EncodingLatin1, c.header, row, onBad); err != nil {
		return nil, nil, fmt.Errorf("load custom data: %w", err)
	}

	// Map the raw labels.
	var names []string
	var label func(raw string) (float64, bool)
	switch {
	case len(spec.Labels) > 0:
		names = slices.Clone(spec.Labels)
		index := make(map[string]int, len(names))
		for k, n := range names {
			index[strings.TrimSpace(n)] = k
		}
		label = func(raw string) (float64, bool) {
			if k, ok := index[raw]; ok {
				return float64(k), true
			}
			if k, err := strconv.Atoi(raw); err == nil && k >= 0 && k < len(names) {
				return float64(k), true
			}
			return 0, false
		}
	case allNumeric(rows, func(r rawRow) string { return r.y }):
		var values []float64
		for _, r := range rows {
			v, _ := parseFiniteFloat(r.y)
			values = append(values, v)
		}
		slices.Sort(values)
		values = slices.Compact(values)
		for _, v := range values {
			names = append(names, strconv.FormatFloat(v, 'g', -1, 64))
		}
		label = func(raw string) (float64, bool) { return parseFiniteFloat(raw) }
	default:
		for _, r := range rows {
			names = append(names, r.y)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		index := make(map[string]int, len(names))
		for k, n := range names {
			index[n] = k
		}
		label = func(raw string) (float64, bool) { k, ok := index[raw]; return float64(k), ok }
	}
	for _, r := range rows {
		y, ok := label(r.y)
		if !ok {
			set.Malformed = append(set.Malformed, MalformedRow{Line: r.line,
				Reason: fmt.Sprintf("label %q is not one of %q", r.y, names)})
			continue
		}
		set.Examples = append(set.Examples, Example{TextA: r.a, TextB: r.b, Label: y})
	}
	slices.SortStableFunc(set.Malformed, func(x, y MalformedRow) int { return x.Line - y.Line })
	logMalformed(set)
	slog.Debug("loaded custom data", "source", spec.Path, "examples", len(set.Examples),
		"malformed", len(set.Malformed), "labels", names)
	return set, names, nil
}

// decodeLatin1 converts ISO-8859-1 bytes (one byte, one code point) to UTF-8.
func decodeLatin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// invalidUTF8At returns the offset of the first byte of s that is not part of
// valid UTF-8, or -1.
func invalidUTF8At(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

func allNumeric[T any](rows []T, get func(T) string) bool {
	if len(rows) == 0 {
		return false
	}
	for _, r := range rows {
		if _, ok := parseFiniteFloat(get(r)); !ok {
			return false
		}
	}
	return true
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}
