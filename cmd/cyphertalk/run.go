package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
)

// defaultResultsDir is where results go when neither --results nor the spec's [paths] results says otherwise.
const defaultResultsDir = "results"

type runOpts struct {
	results  string
	dryRun   bool
	parallel int
	shard    string
	only     []string
}

func newRunCmd(g *globals) *cobra.Command {
	o := &runOpts{}
	cmd := &cobra.Command{
		Use:   "run [SPEC]",
		Short: "Run an experiment spec: every method, task, sweep point and seed, one parquet file per run",
		Long: `Runs every run of an experiment spec (a TOML file, or the name of a built-in spec: ` +
			strings.Join(experiments.EmbeddedNames(), ", ") + `; without one it lists them with their measured
durations) and writes each run's results atomically under RESULTS/<experiment>/. Runs whose results exist are
skipped, so an interrupted sweep continues where it stopped; Ctrl-C loses no finished run. A failing run is reported at the end
and the others go on (exit status 1 if any failed).

--only KEY=VALUE (repeatable) runs only the runs whose setting KEY (as --dry-run prints it: task, method, seed,
max_train, ... or a method parameter) has that value ('|' separates alternatives), e.g. --only seed=1 runs one
seed of every setting first; the run ids do not change, so the rest runs later with the same command without
--only. --shard i/n runs the i-th (0-based) of n shards of the selected runs, balanced by each run's estimated
cost and the same on every invocation, so that n machines split a sweep; see "cyphertalk slurm" for a Slurm job
array that does this.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return noSpec(cmd)
			}
			return runSpec(cmd, g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.results, "results", defaultResultsDir, "results root directory (default: the spec's [paths] results, else results/)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the resolved runs, one per line, and their count; run nothing")
	f.IntVar(&o.parallel, "parallel", 1, "runs executed at once (one run already uses every core: raise only on bigger machines)")
	f.StringVar(&o.shard, "shard", "", "run only shard i of n (i/n, 0-based), e.g. 0/4")
	f.StringArrayVar(&o.only, "only", nil, "run only runs with KEY=VALUE[|VALUE...] (repeatable; all must hold), e.g. seed=1")
	return cmd
}

// specArg is the spec argument ("" = the default embedded spec).
func specArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// flagChanged reports whether the flag name (local or inherited) was given on the command line.
func flagChanged(cmd *cobra.Command, name string) bool {
	f := cmd.Flag(name)
	return f != nil && f.Changed
}

// resultsDir applies the precedence --results flag > spec [paths] results > default.
func resultsDir(cmd *cobra.Command, flagValue string, spec *experiments.Spec) string {
	if !flagChanged(cmd, "results") && spec.Paths.Results != "" {
		return spec.Paths.Results
	}
	return flagValue
}

func runSpec(cmd *cobra.Command, g *globals, o *runOpts, args []string) error {
	spec, err := experiments.Load(specArg(args))
	if err != nil {
		return err
	}
	filter, err := experiments.ParseFilter(o.only)
	if err != nil {
		return err
	}
	runs, err := filter.Apply(spec.Runs)
	if err != nil {
		return fmt.Errorf("spec %s: %w", spec.Source, err)
	}
	if o.shard != "" {
		i, n, err := experiments.ParseShard(o.shard)
		if err != nil {
			return err
		}
		runs = experiments.Shard(runs, i, n)
	}
	resDir := resultsDir(cmd, o.results, spec)
	if o.dryRun {
		return printRuns(cmd, spec, runs, resDir, o.shard, filter)
	}
	if o.parallel < 1 {
		return fmt.Errorf("--parallel %d: want at least 1", o.parallel)
	}
	if g.dataDir == "" && spec.Paths.Data != "" {
		g.dataDir = spec.Paths.Data
	}
	cacheDir := g.cacheDir
	if !flagChanged(cmd, "cache") && spec.Paths.Cache != "" {
		cacheDir = spec.Paths.Cache
	}
	dataDir, tok, err := g.dataAndTokenizer("")
	if err != nil {
		return err
	}
	env := method.Env{DataDir: dataDir, CacheDir: cacheDir, Tok: tok, Progress: true, Log: slog.Default()}
	text, err := specText(spec)
	if err != nil {
		slog.Warn("the spec is not kept with the results", "spec", spec.Source, "err", err)
	}
	runner := &experiments.Runner{ResultsDir: resDir, Parallel: o.parallel, Env: env, Progress: true,
		Prepare: experiments.PretrainBases(env), SpecText: text}
	slog.Info("experiment", "name", spec.Experiment, "spec", spec.Source, "runs", len(runs), "results", resDir)
	sum, err := runner.Run(cmd.Context(), runs)
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %d runs: %d finished now, %d already done, %d failed, %d not run, %d running in another runner; results in %s\n",
		spec.Experiment, sum.Total, sum.Finished, sum.Skipped, len(sum.Failed), sum.NotRun, sum.Busy, resDir)
	return err
}

// specText is the text the spec was read from (an embedded spec's or the file's), kept with the results.
func specText(spec *experiments.Spec) ([]byte, error) {
	if name, ok := strings.CutPrefix(spec.Source, experiments.EmbeddedSource); ok {
		return experiments.Embedded(name)
	}
	return os.ReadFile(spec.Source)
}

// printRuns is --dry-run: one line per run (with "done" for runs whose results exist) and the count.
func printRuns(cmd *cobra.Command, spec *experiments.Spec, runs []experiments.Run, resDir, shard string, filter experiments.Filter) error {
	out := cmd.OutOrStdout()
	done := 0
	for _, r := range runs {
		exists, err := results.Check(filepath.Join(resDir, r.Experiment), r.ID)
		var bad *results.UnreadableError
		if err != nil && !errors.As(err, &bad) {
			return err
		}
		state := "todo"
		if bad != nil {
			state = "redo" // unreadable results: the run moves them aside and runs it again
		}
		if exists {
			state = "done"
			done++
		}
		fmt.Fprintf(out, "%s  %s\n", state, r)
	}
	var where []string
	if !filter.Empty() {
		where = append(where, "selected by --only "+filter.String())
	}
	if shard != "" {
		where = append(where, "in shard "+shard)
	}
	if len(where) > 0 {
		where[len(where)-1] += fmt.Sprintf(" (of %d in the spec)", len(spec.Runs))
	}
	fmt.Fprintf(out, "%d runs%s: %d done, %d to run (experiment %s, spec %s, results %s)\n",
		len(runs), strings.Join(append([]string{""}, where...), " "), done, len(runs)-done, spec.Experiment, spec.Source, resDir)
	return nil
}
