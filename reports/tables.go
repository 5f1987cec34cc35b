package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Table is one table of a report: display cells for README.md and index.html, and a CSV file with the
// numbers (a mean and sd column for every statistic).
type Table struct {
	Name    string // file stem: <Name>.csv
	Title   string
	Columns []string   // display headers
	Rows    [][]string // display cells ("0.812 ± 0.004", "1.2 s*")
	Notes   []string   // footnotes (what * means, task caveats)
	CSV     string     // file name of the CSV, relative to the report directory

	csvHeader []string
	csvRows   [][]string
}

// column describes one column of a table built from settings.
type column struct {
	title, key string
	text       func(s *setting) string        // a text column, or
	value      func(s *setting) (stat, bool)  // a statistic column (bool: extrapolated)
	format     func(v float64) string         // display of a statistic's mean and sd, or
	formatStat func(st stat) string           // display of both at once
	extrap     bool                           // the CSV gets a <key>_extrapolated column
	meanOnly   bool                           // display the mean alone (a parameter, not a measurement)
	skip       func(settings []*setting) bool // drop the column when nothing fills it
}

func fixed3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// buildTable renders settings × columns; statistic cells read "mean ± sd" (sd left out for one seed) and
// extrapolated costs get a "*".
func buildTable(name, title string, settings []*setting, cols []column) *Table {
	var kept []column
	for _, c := range cols {
		if c.skip != nil && c.skip(settings) {
			continue
		}
		kept = append(kept, c)
	}
	t := &Table{Name: name, Title: title, CSV: name + ".csv"}
	anyExtrap := false
	for _, c := range kept {
		t.Columns = append(t.Columns, c.title)
		if c.text != nil {
			t.csvHeader = append(t.csvHeader, c.key)
			continue
		}
		t.csvHeader = append(t.csvHeader, c.key+"_mean", c.key+"_sd")
		if c.extrap {
			t.csvHeader = append(t.csvHeader, c.key+"_extrapolated")
		}
	}
	for _, s := range settings {
		var row, csvRow []string
		for _, c := range kept {
			if c.text != nil {
				v := c.text(s)
				row = append(row, v)
				csvRow = append(csvRow, v)
				continue
			}
			st, extrap := c.value(s)
			if !st.ok() {
				row = append(row, "–")
				csvRow = append(csvRow, "", "")
				if c.extrap {
					csvRow = append(csvRow, "")
				}
				continue
			}
			var cell string
			switch {
			case c.formatStat != nil && st.N > 1 && !c.meanOnly:
				cell = c.formatStat(st)
			case c.formatStat != nil:
				cell = c.formatStat(stat{Mean: st.Mean, N: 1})
			default:
				cell = c.format(st.Mean)
				if st.N > 1 && !c.meanOnly {
					cell += " ± " + c.format(st.SD)
				}
			}
			if extrap {
				cell += "*"
				anyExtrap = true
			}
			row = append(row, cell)
			csvRow = append(csvRow, strconv.FormatFloat(st.Mean, 'g', -1, 64), strconv.FormatFloat(st.SD, 'g', -1, 64))
			if c.extrap {
				csvRow = append(csvRow, strconv.FormatBool(extrap))
			}
		}
		t.Rows = append(t.Rows, row)
		t.csvRows = append(t.csvRows, csvRow)
	}
	if anyExtrap {
		t.Notes = append(t.Notes, "* extrapolated from a measured sample by operation counts.")
	}
	return t
}

// writeCSV writes the table's numbers.
func (t *Table) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.csvHeader); err != nil {
		return err
	}
	if err := cw.WriteAll(t.csvRows); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// metricNames lists every dev metric present, well-known ones first.
func metricNames(settings []*setting) []string {
	seen := map[string]bool{}
	for _, s := range settings {
		for _, r := range s.Records {
			for m := range r.Metrics {
				seen[m] = true
			}
		}
	}
	known := []string{"accuracy", "f1", "matthews", "pearson", "spearman"}
	var out []string
	for _, m := range known {
		if seen[m] {
			out = append(out, m)
			delete(seen, m)
		}
	}
	var rest []string
	for m := range seen {
		rest = append(rest, m)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// summaryTable is mean ± sd over seeds per (task, method, variant) of every metric, ε, each phase group's
// seconds (normalised as in the time figures) and the strongest attack's top-1 recovery.
func summaryTable(settings []*setting, scales map[string]costScale) *Table {
	cols := []column{
		{title: "task", key: "task", text: func(s *setting) string { return taskTitle(s.Task) }},
		{title: "method", key: "method", text: func(s *setting) string { return s.Name }},
		{title: "variant", key: "variant", text: func(s *setting) string { return s.Variant }},
		{title: "seeds", key: "seeds", text: func(s *setting) string { return strconv.Itoa(len(s.Records)) }},
	}
	for _, m := range metricNames(settings) {
		cols = append(cols, column{title: m, key: m, format: fixed3,
			value: func(s *setting) (stat, bool) { return s.metric(m), false }})
	}
	cols = append(cols, column{title: "ε", key: "epsilon", format: formatNumber, meanOnly: true,
		value: func(s *setting) (stat, bool) {
			eps := make([]float64, 0, len(s.Records))
			for _, r := range s.Records {
				eps = append(eps, r.Epsilon)
			}
			return newStat(eps), false
		},
		skip: func(settings []*setting) bool {
			return !slices.ContainsFunc(settings, func(s *setting) bool { return !math.IsNaN(s.Epsilon) })
		}})
	for _, g := range phaseGroups {
		sc := scales[g]
		title := g + " (s"
		key := g + "_seconds"
		if sc.perUnit {
			title += "/" + sc.unit
			key += "_per_" + sc.unit
		}
		title += ")"
		cols = append(cols, column{title: title, key: key, formatStat: formatSecondsStat, extrap: true,
			value: func(s *setting) (stat, bool) {
				gs := s.groupSeconds(g, sc.perUnit)
				return gs.Total, gs.Extrapolated
			}})
	}
	cols = append(cols, column{title: "strongest attack", key: "strongest_attack",
		text: func(s *setting) string { _, name := s.strongestAttack(); return name },
		skip: noAttacks})
	cols = append(cols, column{title: "attack top-1", key: "attack_top1", format: percent,
		value: func(s *setting) (stat, bool) { st, _ := s.strongestAttack(); return st, false },
		skip:  noAttacks})
	return withInsecureNote(buildTable("summary", "Summary: mean ± sd over seeds", settings, cols), settings)
}

// withInsecureNote adds the footnote on insecure test parameters when a setting of the table used them.
func withInsecureNote(t *Table, settings []*setting) *Table {
	if slices.ContainsFunc(settings, func(s *setting) bool { return s.Insecure }) {
		t.Notes = append(t.Notes, insecureNote)
	}
	return t
}

func noAttacks(settings []*setting) bool {
	return !slices.ContainsFunc(settings, func(s *setting) bool { return s.hasAttacks() })
}

func percent(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

// formatSecondsStat writes seconds with three significant digits and the sd to the same decimal place
// ("63.6 ± 4.3", "0.00241 ± 0.00016"); tables keep one unit, seconds, so that a column compares at a glance.
func formatSecondsStat(st stat) string {
	if st.Mean == 0 {
		return "0"
	}
	decimals := max(0, 2-int(math.Floor(math.Log10(math.Abs(st.Mean)))))
	out := strconv.FormatFloat(st.Mean, 'f', decimals, 64)
	if st.N > 1 {
		out += " ± " + strconv.FormatFloat(st.SD, 'f', decimals, 64)
	}
	return out
}

// attackRow is one (setting, attack) pair of the privacy table.
type attackRow struct {
	s      *setting
	attack string
}

// attacksTable is mean ± sd over seeds of every attack's recovery rates per setting.
func attacksTable(settings []*setting) *Table {
	var rows []attackRow
	for _, s := range settings {
		var names []string
		for _, r := range s.Records {
			for _, a := range r.Attacks {
				if !slices.Contains(names, a.Attack) {
					names = append(names, a.Attack)
				}
			}
		}
		sort.Strings(names)
		for _, n := range names {
			rows = append(rows, attackRow{s, n})
		}
	}
	t := &Table{Name: "attacks", Title: "Privacy: token recovery per attack, mean ± sd over seeds", CSV: "attacks.csv",
		Columns:   []string{"task", "method", "variant", "attack", "top-1", "top-5", "content top-1", "content top-5", "tokens"},
		csvHeader: []string{"task", "method", "variant", "attack", "top1_mean", "top1_sd", "top5_mean", "top5_sd", "content_top1_mean", "content_top1_sd", "content_top5_mean", "content_top5_sd", "tokens_mean"}}
	for _, ar := range rows {
		var top1, top5, c1, c5, tokens []float64
		for _, r := range ar.s.Records {
			for _, a := range r.Attacks {
				if a.Attack == ar.attack {
					top1, top5 = append(top1, a.Top1), append(top5, a.Top5)
					c1, c5 = append(c1, a.ContentTop1), append(c5, a.ContentTop5)
					tokens = append(tokens, float64(a.Tokens))
				}
			}
		}
		row := []string{taskTitle(ar.s.Task), ar.s.Name, ar.s.Variant, ar.attack}
		csvRow := slices.Clone(row)
		for _, xs := range [][]float64{top1, top5, c1, c5} {
			st := newStat(xs)
			cell := percent(st.Mean)
			if st.N > 1 {
				cell += " ± " + percent(st.SD)
			}
			row = append(row, cell)
			csvRow = append(csvRow, strconv.FormatFloat(st.Mean, 'g', -1, 64), strconv.FormatFloat(st.SD, 'g', -1, 64))
		}
		tk := newStat(tokens).Mean
		row = append(row, fmt.Sprintf("%.0f", tk))
		csvRow = append(csvRow, strconv.FormatFloat(tk, 'g', -1, 64))
		t.Rows = append(t.Rows, row)
		t.csvRows = append(t.csvRows, csvRow)
	}
	var shown []*setting
	for _, ar := range rows {
		shown = append(shown, ar.s)
	}
	return withInsecureNote(t, shown)
}
