package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/reports"
)

func newReportCmd(g *globals) *cobra.Command {
	var out string
	var opts reports.Options
	cmd := &cobra.Command{
		Use:   "report RESULTS_DIR",
		Short: "Render an experiment's figures (PNG, SVG), tables (CSV) and index.html + index.md from its results",
		Long: `Reads every finished run under RESULTS_DIR (results/<experiment>, as "cyphertalk run" writes it) and
renders the paper's figures time-preprocessing, time-private-tuning, time-private-inference and, for every task
present, the accuracy against the operator setting (opts2 for the first task in the task registry's order,
opts2-<task> for the others), plus privacy-utility when runs were attacked, as PNG and SVG; tables of mean ± sd
over seeds as CSV; and index.html with index.md (and README.md, the same Markdown) showing every figure with
one sentence on what it shows, the tables, the experiment's description (from RESULTS_DIR/spec.toml, else from
the embedded spec of the experiment's name) and a line naming the records that produced the page (path, runs,
git commits). A figure the results have no data for is drawn as a placeholder that says what is missing, and
the index lists it.

Records of "cyphertalk bench" (RESULTS_DIR = <results>/bench-peer or <results>/bench) get their own page: with
the PyTorch peer, "Speed against PyTorch on the same CPU": per step kind the project's speed ÷ PyTorch's (median
over rounds, the range over rounds, the goal) as a figure and a table of the medians; without it, a table of
seconds per step, examples per second and GFLOP/s per kind.`,
		Example: "  cyphertalk report results/paper                      # writes out/paper/\n" +
			"  cyphertalk report measurements/dp -o docs/results/dp\n" +
			"  cyphertalk report results/bench-peer                 # the speed comparison with PyTorch",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := filepath.Clean(args[0])
			records, err := results.ReadExperiment(dir)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if len(records) == 0 {
				return fmt.Errorf("report: no finished runs under %s (run the experiment first: cyphertalk run SPEC)", dir)
			}
			experiment := cmp.Or(records[0].Experiment, filepath.Base(dir))
			if out == "" {
				out = filepath.Join("out", experiment)
			}
			opts.Source = filepath.ToSlash(dir)
			if opts.Description, err = specDescription(dir, experiment); err != nil {
				return fmt.Errorf("report: %w", err)
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
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory (default: out/<experiment>)")
	cmd.Flags().StringVar(&opts.Title, "title", "", `page title (default: "Experiment <name>")`)
	cmd.Flags().StringVar(&opts.Metric, "metric", "", "dev metric of the accuracy figures (default: each task's headline metric)")
	return cmd
}

// specDescription is the description of the spec that produced the results in dir: from dir/spec.toml (the copy
// the runner keeps beside the results) when present, else from the embedded spec named experiment, else "".
// Only the description key is read, so a spec written by another version of the program still gives it; a
// spec.toml that is not TOML is an error naming the file.
func specDescription(dir, experiment string) (string, error) {
	var spec struct {
		Description string `toml:"description"`
	}
	path := filepath.Join(dir, results.SpecFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if _, err := toml.Decode(string(data), &spec); err != nil {
			return "", fmt.Errorf("reading the description of %s: %w", path, err)
		}
		return spec.Description, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	data, err = experiments.Embedded(experiment)
	if err != nil {
		return "", nil // neither a spec beside the results nor an embedded one: no description
	}
	if _, err := toml.Decode(string(data), &spec); err != nil {
		return "", fmt.Errorf("embedded spec %s: %w", experiment, err)
	}
	return spec.Description, nil
}
