package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/reports"
)

func newReportCmd(g *globals) *cobra.Command {
	var out string
	var opts reports.Options
	cmd := &cobra.Command{
		Use:   "report RESULTS_DIR",
		Short: "Render an experiment's figures (PNG, SVG), tables (CSV) and index.html + README.md from its results",
		Long: `Reads every finished run under RESULTS_DIR (results/<experiment>, as "cyphertalk run" writes it) and
renders the paper's figures time-preprocessing, time-private-tuning, time-private-inference, opts2 and
opts2-qqp (plus privacy-utility when runs were attacked) as PNG and SVG, tables of mean ± sd over seeds as
CSV, and an index.html and README.md showing every figure with one sentence on what it shows. A figure the
results have no data for is drawn as a placeholder that says what is missing, and the index lists it.`,
		Example: "  cyphertalk report results/paper -o reports/paper",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := filepath.Clean(args[0])
			records, err := results.ReadExperiment(dir)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if len(records) == 0 {
				return fmt.Errorf("report: no finished runs under %s (run the experiment first: cyphertalk run SPEC)", dir)
			}
			if out == "" {
				out = filepath.Join("reports", filepath.Base(dir))
			}
			idx, err := reports.Render(records, out, opts)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d runs → %s\n", idx.Runs, filepath.Join(out, "index.html"))
			for _, f := range idx.Figures {
				state := "drawn"
				if f.Missing != "" {
					state = "placeholder: " + f.Missing
				}
				fmt.Fprintf(w, "  %-24s %s\n", f.Name, state)
			}
			for _, t := range idx.Tables {
				fmt.Fprintf(w, "  %-24s %d rows\n", t.CSV, len(t.Rows))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory (default: reports/<experiment>, the results directory's name)")
	cmd.Flags().StringVar(&opts.Title, "title", "", `page title (default: "Experiment <name>")`)
	cmd.Flags().StringVar(&opts.Metric, "metric", "", "dev metric of the accuracy figures (default: each task's headline metric)")
	return cmd
}
