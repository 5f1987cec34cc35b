// Package reports owns the rendering of an experiment's results (docs/design.md §6): the figures of
// figureTable (time-preprocessing, time-private-tuning, time-private-inference, opts2 for every task present —
// or, when no run shakes with a single operator setting, accuracy by method — and, when runs were attacked,
// privacy-utility) as PNG and SVG drawn with gonum/plot; tables of mean ± sd over seeds
// as CSV, Markdown and HTML; and index.html with index.md (and the same Markdown as README.md, which code hosts
// show for a folder) that show every figure with one sentence, written from the data, on what it shows, the
// experiment's description and which records produced the page. Missing data never fails a report: the figure
// becomes a placeholder that says what is missing, and the index lists it.
//
// Records of `cyphertalk bench` get their own page instead (benchpage.go): with the PyTorch peer, "Speed against
// PyTorch on the same CPU" (the project's speed ÷ PyTorch's per step kind as a figure and a table of medians
// over rounds); without it, a throughput table.
//
// Nothing here names a task or a method: task titles and order come from the task registry (datasets.Task,
// datasets.TaskNames), method labels, order, the reference method and the methods drawn as horizontal reference
// lines on the accuracy figures (the bag-of-words model) from the method display registry (method.DisplayOf,
// method.CompareDisplay, method.IsReference, Display.ReferenceLine).
//
// gonum/plot draws axes, lines, markers and error bars; the horizontal bars split by party with hatching for
// extrapolated costs, the legend rows below the data and the multi-panel layout with a shared axis label are
// drawn here because gonum/plot has no plotter or legend layout for them.
package reports

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// Options tune a report.
type Options struct {
	// Title heads index.html and README.md; "" = "Experiment <name>" from the records.
	Title string
	// Metric is the dev metric of the accuracy figures; "" = each task's headline metric (its first metric in
	// the task registry).
	Metric string
	// Description is the experiment's description (its spec's), shown under the title; "" = none.
	Description string
	// Source names where the records were read from (a results directory); the provenance line cites it.
	Source string
}

// Figure is one rendered figure.
type Figure struct {
	Name    string // file stem: <Name>.png and <Name>.svg
	Title   string
	Caption string // one sentence, written from the data; for a placeholder, what is missing
	PNG     string // file names relative to the report directory
	SVG     string
	// Missing is non-empty when the figure is a placeholder: it says what the results lack.
	Missing string
}

// Index is what Render wrote.
type Index struct {
	Title   string
	Dir     string
	Figures []Figure
	Tables  []*Table
	// Missing lists, per placeholder figure, what the results lack.
	Missing []string
	// Notes are caveats that must accompany the results (a task's note in the task registry).
	Notes []string
	Runs  int
	// Description is Options.Description.
	Description string
	// Provenance says which records produced the report: where from, how many runs, which git commits.
	Provenance string
}

// figureDef is one row of the figure table.
type figureDef struct {
	// name is the file stem. A per-task figure is drawn once per task present, in the task registry's order:
	// the first task's file is name, every other task's name-<task>.
	name    string
	perTask bool
	// title names the figure (task is "" unless perTask).
	title func(task string, opts Options) string
	// leftOut, when set and it returns a reason, leaves the figure out of the report; the index says why.
	leftOut func(settings []*setting) string
	// alternative marks a figure drawn in place of another: left out, it is not listed among the missing data,
	// since the other figure shows the same results.
	alternative bool
	// build draws the figure: it returns the figure, its one-sentence caption and, for a placeholder, what
	// the results lack.
	build func(settings []*setting, task, title string, opts Options) (figure, string, string)
}

func constTitle(t string) func(string, Options) string {
	return func(string, Options) string { return t }
}

func timeBuilder(group string) func([]*setting, string, string, Options) (figure, string, string) {
	return func(settings []*setting, _, title string, _ Options) (figure, string, string) {
		return timeFigure(settings, group, title)
	}
}

// figureTable lists every figure a report draws, in the order the index shows them.
var figureTable = []figureDef{
	{name: "time-preprocessing", title: constTitle("Preprocessing time (key implantation and set-up)"),
		build: timeBuilder(groupPreprocessing)},
	{name: "time-private-tuning", title: constTitle("Private tuning time"), build: timeBuilder(groupPrivateTuning)},
	{name: "time-private-inference", title: constTitle("Private inference time"), build: timeBuilder(groupPrivateInference)},
	{name: "opts2", perTask: true,
		title: func(task string, opts Options) string {
			return fmt.Sprintf("%s %s against operator setting", taskTitle(task), headlineMetric(task, opts.Metric))
		},
		leftOut: func(settings []*setting) string {
			if !slices.ContainsFunc(settings, func(s *setting) bool { return s.Tags["operator"] != "" }) {
				return "no shaking runs: see accuracy by method"
			}
			return ""
		},
		build: func(settings []*setting, task, title string, opts Options) (figure, string, string) {
			return opts2Figure(settings, task, title, opts.Metric)
		}},
	{name: "accuracy", perTask: true, alternative: true,
		title: func(task string, opts Options) string {
			return fmt.Sprintf("%s dev %s by method", taskTitle(task), headlineMetric(task, opts.Metric))
		},
		leftOut: func(settings []*setting) string {
			if slices.ContainsFunc(settings, hasSingleOperator) {
				return "accuracy by operator setting instead: opts2"
			}
			return ""
		},
		build: func(settings []*setting, task, title string, opts Options) (figure, string, string) {
			return accuracyFigure(settings, task, title, opts.Metric)
		}},
	{name: "privacy-utility", title: constTitle("Privacy against utility"),
		leftOut: func(settings []*setting) string {
			if noAttacks(settings) {
				return "no run recorded attack results (figure left out)"
			}
			return ""
		},
		build: func(settings []*setting, _, title string, opts Options) (figure, string, string) {
			return privacyFigure(settings, title, opts.Metric)
		}},
}

// figureName is the file stem of a figure for a task: def.name for the first task (and for figures not drawn
// per task), def.name-<task> for the others.
func figureName(def figureDef, task string, first bool) string {
	if !def.perTask || first {
		return def.name
	}
	return def.name + "-" + task
}

// Render writes the report of records into outDir: every figure of figureTable as PNG and SVG, the tables as
// CSV, and index.html, index.md and README.md. It fails only when there are no records or a file cannot be written.
func Render(records []results.Record, outDir string, opts Options) (*Index, error) {
	if len(records) == 0 {
		return nil, errors.New("reports: no records to report on")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("reports: creating %s: %w", outDir, err)
	}
	if isBenchRecords(records) {
		return renderBench(records, outDir, opts)
	}
	settings := buildSettings(records)
	idx := &Index{Title: cmp.Or(opts.Title, "Experiment "+records[0].Experiment), Dir: outDir, Runs: len(records)}
	if records[0].Experiment == "" && opts.Title == "" {
		idx.Title = "Experiment report"
	}

	idx.Description = opts.Description
	idx.Provenance = provenance(records, opts.Source)
	tasks := orderedTasks(settings)
	for _, def := range figureTable {
		if def.leftOut != nil {
			if why := def.leftOut(settings); why != "" {
				if !def.alternative {
					idx.Missing = append(idx.Missing, def.name+": "+why)
				}
				continue
			}
		}
		instances := []string{""}
		if def.perTask {
			instances = tasks
		}
		for i, task := range instances {
			name, title := figureName(def, task, i == 0), def.title(task, opts)
			fig, caption, missing := def.build(settings, task, title, opts)
			if err := fig.save(outDir, name); err != nil {
				return nil, err
			}
			f := Figure{Name: name, Title: title, Caption: caption, PNG: name + ".png", SVG: name + ".svg", Missing: missing}
			if missing != "" {
				f.Caption = "Not drawn: " + missing + "."
				idx.Missing = append(idx.Missing, name+": "+missing)
			}
			idx.Figures = append(idx.Figures, f)
		}
	}

	scales := map[string]costScale{}
	for _, g := range phaseGroups {
		scales[g] = chooseScale(settings, g)
	}
	idx.Tables = append(idx.Tables, summaryTable(settings, scales))
	if !noAttacks(settings) {
		idx.Tables = append(idx.Tables, attacksTable(settings))
	}
	for _, task := range tasks {
		if n := taskNote(task); n != "" {
			idx.Notes = append(idx.Notes, taskTitle(task)+": "+n+".")
		}
	}
	if err := idx.write(outDir); err != nil {
		return nil, err
	}
	slog.Info("report written", "dir", outDir, "runs", len(records), "settings", len(settings),
		"figures", len(idx.Figures), "missing", len(idx.Missing))
	return idx, nil
}

// write writes the index's tables as CSV, index.html, index.md and README.md into outDir.
func (idx *Index) write(outDir string) error {
	for _, t := range idx.Tables {
		if err := writeFile(filepath.Join(outDir, t.CSV), t.writeCSV); err != nil {
			return fmt.Errorf("reports: table %s: %w", t.Name, err)
		}
	}
	if err := writeFile(filepath.Join(outDir, "index.html"), idx.writeHTML); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	for _, name := range []string{"index.md", "README.md"} {
		if err := writeFile(filepath.Join(outDir, name), idx.writeMarkdown); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
	}
	return nil
}

var indexTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
figure { margin: 2em 0; }
figure img { width: 816px; max-width: 100%; border: 1px solid #ddd; }
figcaption { margin-top: 0.4em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; }
td:nth-child(-n+3) { text-align: left; }
.missing { color: #a33; }
.note { color: #555; font-size: 0.9em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{- if .Description}}
<p class="description">{{.Description}}</p>
{{- end}}
<p>{{.Runs}} runs. {{if .Figures}}Figures as PNG and SVG; tables{{else}}Tables{{end}} as CSV.</p>
<p class="note">{{.Provenance}}</p>
{{- if .Notes}}
<ul class="note">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Missing}}
<h2>Missing data</h2>
<ul class="missing">{{range .Missing}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Figures}}
<h2>Figures</h2>
{{- end}}
{{- range .Figures}}
<figure id="{{.Name}}">
<h3>{{.Title}}</h3>
<a href="{{.SVG}}"><img src="{{.PNG}}" alt="{{.Title}}"></a>
<figcaption>{{.Caption}} <a href="{{.SVG}}">SVG</a></figcaption>
</figure>
{{- end}}
<h2>Tables</h2>
{{- range .Tables}}
<h3 id="{{.Name}}">{{.Title}}</h3>
<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{- range .Rows}}
<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{- end}}
</table>
{{- range .Notes}}
<p class="note">{{.}}</p>
{{- end}}
<p><a href="{{.CSV}}">{{.CSV}}</a></p>
{{- end}}
</body>
</html>
`))

func (idx *Index) writeHTML(w io.Writer) error {
	return indexTemplate.Execute(w, idx)
}

func (idx *Index) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", idx.Title)
	if idx.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", idx.Description)
	}
	files := "Figures as PNG and SVG; tables as CSV."
	if len(idx.Figures) == 0 {
		files = "Tables as CSV."
	}
	fmt.Fprintf(&b, "%d runs. %s Open index.html for the same page in a browser.\n\n%s\n\n", idx.Runs, files, idx.Provenance)
	for _, n := range idx.Notes {
		fmt.Fprintf(&b, "> %s\n\n", n)
	}
	if len(idx.Missing) > 0 {
		b.WriteString("## Missing data\n\n")
		for _, m := range idx.Missing {
			fmt.Fprintf(&b, "- %s\n", m)
		}
		b.WriteString("\n")
	}
	if len(idx.Figures) > 0 {
		b.WriteString("## Figures\n\n")
	}
	for _, f := range idx.Figures {
		fmt.Fprintf(&b, "### %s\n\n![%s](%s)\n\n%s ([SVG](%s))\n\n", f.Title, f.Title, f.PNG, f.Caption, f.SVG)
	}
	b.WriteString("## Tables\n\n")
	for _, t := range idx.Tables {
		fmt.Fprintf(&b, "### %s\n\n", t.Title)
		b.WriteString("| " + strings.Join(escapeCells(t.Columns), " | ") + " |\n")
		b.WriteString("|" + strings.Repeat(" --- |", len(t.Columns)) + "\n")
		for _, row := range t.Rows {
			b.WriteString("| " + strings.Join(escapeCells(row), " | ") + " |\n")
		}
		b.WriteString("\n")
		for _, n := range t.Notes {
			b.WriteString(n + "\n\n")
		}
		fmt.Fprintf(&b, "CSV: [%s](%s)\n\n", t.CSV, t.CSV)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeCells makes cells safe inside a Markdown table row.
func escapeCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ReplaceAll(c, "|", `\|`)
		if out[i] == "" {
			out[i] = " "
		}
	}
	return out
}

// provenance is the line that says which records produced a report: "Produced from 30 runs in
// measurements/dp; git commits: 28c7a81 (20 runs), 754d418 (10 runs)." Commits are cut to 12 digits; runs that
// recorded no commit count as "not recorded", runs of a working tree with uncommitted changes apart.
func provenance(records []results.Record, source string) string {
	counts := map[string]int{}
	for _, r := range records {
		c := strings.TrimSpace(r.GitCommit)
		switch {
		case c == "" || c == "unknown":
			c = "not recorded"
		case len(c) > 12:
			c = c[:12]
		}
		if r.GitDirty {
			c += " with uncommitted changes"
		}
		counts[c]++
	}
	commits := make([]string, 0, len(counts))
	for c := range counts {
		commits = append(commits, c)
	}
	slices.SortFunc(commits, func(a, b string) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(commits))
	for i, c := range commits {
		parts[i] = c + " (" + runsText(counts[c]) + ")"
	}
	where := ""
	if source != "" {
		where = " in " + source
	}
	label := "git commit: "
	if len(commits) > 1 {
		label = "git commits: "
	}
	return fmt.Sprintf("Produced from %s%s; %s%s.", runsText(len(records)), where, label, strings.Join(parts, ", "))
}

func runsText(n int) string {
	if n == 1 {
		return "1 run"
	}
	return strconv.Itoa(n) + " runs"
}
