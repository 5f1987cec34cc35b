package datasets

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// CustomSpec describes a user-supplied ("bring your own") classification
// file.
type CustomSpec struct {
	// Path of a TSV file (tab-separated, not quoted, header row required) or,
	// when it ends in .parquet, a parquet file.
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
}

// CustomTaskName is the Task of sets loaded by LoadCustom.
const CustomTaskName = "custom"

// LoadCustom loads user-supplied classification data. It returns the set
// (Task "custom", Split "") and the label names: class k is names[k]; for
// numeric labels kept as they are, the sorted distinct values as text.
// A column missing from the file is an error naming it and listing the
// file's columns. Rows with a wrong column count, a null or empty label, or a
// label not among spec.Labels are counted in Set.Malformed, logged once and
// skipped.
func LoadCustom(spec CustomSpec) (*Set, []string, error) {
	if spec.Path == "" {
		return nil, nil, fmt.Errorf("load custom data: no path given")
	}
	if spec.TextA == "" || spec.Label == "" {
		return nil, nil, fmt.Errorf("load custom data %s: the text column and the label column must be named (text %q, label %q)",
			spec.Path, spec.TextA, spec.Label)
	}
	set := &Set{Task: CustomTaskName, Source: spec.Path}
	type rawRow struct {
		line    int
		a, b, y string
	}
	var rows []rawRow
	ncols, iA, iB, iY := 0, -1, -1, -1
	header := func(cols []string) error {
		ncols = len(cols)
		find := func(role, name string) (int, error) {
			if i := columnIndex(cols, []string{name}); i >= 0 {
				return i, nil
			}
			for i, c := range cols { // tolerate a difference in case only
				if strings.EqualFold(c, name) {
					return i, nil
				}
			}
			return -1, fmt.Errorf("%s column %q not found in %s; its columns are: %s",
				role, name, spec.Path, strings.Join(quoteAll(cols), ", "))
		}
		var err error
		if iA, err = find("text", spec.TextA); err != nil {
			return err
		}
		if spec.TextB != "" {
			if iB, err = find("second text", spec.TextB); err != nil {
				return err
			}
		}
		iY, err = find("label", spec.Label)
		return err
	}
	row := func(line int, fields []string, null []bool) {
		bad := func(format string, args ...any) {
			set.Malformed = append(set.Malformed, MalformedRow{Line: line, Reason: fmt.Sprintf(format, args...)})
		}
		if len(fields) != ncols {
			bad("got %d tab-separated columns, want %d", len(fields), ncols)
			return
		}
		for _, i := range []int{iA, iB, iY} {
			if i >= 0 && null != nil && null[i] {
				bad("null value in a required column")
				return
			}
		}
		r := rawRow{line: line, a: fields[iA], y: strings.TrimSpace(fields[iY])}
		if iB >= 0 {
			r.b = fields[iB]
		}
		if r.y == "" {
			bad("empty label")
			return
		}
		rows = append(rows, r)
	}
	var err error
	if strings.HasSuffix(strings.ToLower(spec.Path), ".parquet") {
		err = scanParquet(spec.Path, header, row)
	} else {
		err = scanTSV(spec.Path, nil, "", header, row)
	}
	if err != nil {
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
