// Package reports owns the rendering of an experiment's results (DESIGN.md §6): the paper's figures
// (time-preprocessing, time-private-tuning, time-private-inference, opts2, opts2-qqp) and, when runs were
// attacked, the privacy–utility figure, as PNG and SVG drawn with gonum/plot; tables of mean ± sd over seeds as
// CSV, Markdown and HTML; and an index.html and README.md that show every figure with one sentence, written from
// the data, on what it shows. Missing data never fails a report: the figure becomes a placeholder that says
// what is missing, and the index lists it.
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
	"strings"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// Options tune a report.
type Options struct {
	// Title heads index.html and README.md; "" = "Experiment <name>" from the records.
	Title string
	// Metric is the dev metric of the accuracy figures; "" = each task's headline metric (accuracy on SST-2
	// and QQP).
	Metric string
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
	// Notes are caveats that must accompany the results (QQP's re-split).
	Notes []string
	Runs  int
}

// Render writes the report of records into outDir: every figure as PNG and SVG, the tables as CSV, and
// index.html and README.md. It fails only when there are no records or a file cannot be written.
func Render(records []results.Record, outDir string, opts Options) (*Index, error) {
	if len(records) == 0 {
		return nil, errors.New("reports: no records to report on")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("reports: creating %s: %w", outDir, err)
	}
	settings := buildSettings(records)
	idx := &Index{Title: cmp.Or(opts.Title, "Experiment "+records[0].Experiment), Dir: outDir, Runs: len(records)}
	if records[0].Experiment == "" && opts.Title == "" {
		idx.Title = "Experiment report"
	}

	type spec struct {
		name, title string
		build       func() (figure, string, string)
	}
	specs := []spec{
		{"time-preprocessing", "Preprocessing time (key implantation and set-up)", func() (figure, string, string) {
			return timeFigure(settings, groupPreprocessing, "Preprocessing time (key implantation and set-up)")
		}},
		{"time-private-tuning", "Private tuning time", func() (figure, string, string) {
			return timeFigure(settings, groupPrivateTuning, "Private tuning time")
		}},
		{"time-private-inference", "Private inference time", func() (figure, string, string) {
			return timeFigure(settings, groupPrivateInference, "Private inference time")
		}},
		{"opts2", "SST-2 accuracy against operator setting", func() (figure, string, string) {
			return opts2Figure(settings, "sst2", "SST-2 accuracy against operator setting", opts.Metric)
		}},
		{"opts2-qqp", "QQP accuracy against operator setting", func() (figure, string, string) {
			return opts2Figure(settings, "qqp", "QQP accuracy against operator setting", opts.Metric)
		}},
	}
	if !noAttacks(settings) {
		specs = append(specs, spec{"privacy-utility", "Privacy against utility", func() (figure, string, string) {
			return privacyFigure(settings, "Privacy against utility", opts.Metric)
		}})
	}
	for _, sp := range specs {
		fig, caption, missing := sp.build()
		if err := fig.save(outDir, sp.name); err != nil {
			return nil, err
		}
		f := Figure{Name: sp.name, Title: sp.title, Caption: caption, PNG: sp.name + ".png", SVG: sp.name + ".svg", Missing: missing}
		if missing != "" {
			f.Caption = "Not drawn: " + missing + "."
			idx.Missing = append(idx.Missing, sp.name+": "+missing)
		}
		idx.Figures = append(idx.Figures, f)
	}
	if noAttacks(settings) {
		idx.Missing = append(idx.Missing, "privacy-utility: no run recorded attack results (figure left out)")
	}

	scales := map[string]costScale{}
	for _, g := range phaseGroups {
		scales[g] = chooseScale(settings, g)
	}
	idx.Tables = append(idx.Tables, summaryTable(settings, scales))
	if !noAttacks(settings) {
		idx.Tables = append(idx.Tables, attacksTable(settings))
	}
	for _, task := range orderedTasks(settings) {
		if n := taskNote(task); n != "" {
			idx.Notes = append(idx.Notes, taskTitle(task)+": "+n+".")
		}
	}
	for _, t := range idx.Tables {
		if err := writeFile(filepath.Join(outDir, t.CSV), t.writeCSV); err != nil {
			return nil, fmt.Errorf("reports: table %s: %w", t.Name, err)
		}
	}
	if err := writeFile(filepath.Join(outDir, "index.html"), idx.writeHTML); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	if err := writeFile(filepath.Join(outDir, "README.md"), idx.writeMarkdown); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	slog.Info("report written", "dir", outDir, "runs", len(records), "settings", len(settings),
		"figures", len(idx.Figures), "missing", len(idx.Missing))
	return idx, nil
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
<p>{{.Runs}} runs. Figures as PNG and SVG; tables as CSV.</p>
{{- if .Notes}}
<ul class="note">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
{{- if .Missing}}
<h2>Missing data</h2>
<ul class="missing">{{range .Missing}}<li>{{.}}</li>{{end}}</ul>
{{- end}}
<h2>Figures</h2>
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
	fmt.Fprintf(&b, "# %s\n\n%d runs. Figures as PNG and SVG; tables as CSV. Open index.html for the same page in a browser.\n\n", idx.Title, idx.Runs)
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
	b.WriteString("## Figures\n\n")
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
