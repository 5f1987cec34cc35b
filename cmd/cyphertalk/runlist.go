package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/specs"
)

// errNoSpec is `cyphertalk run` without a spec: the paper's specs run for hours, so none starts by default.
var errNoSpec = errors.New("a spec is required: name an embedded spec (listed above) or a spec file, e.g. cyphertalk run smoke")

// noSpec prints the usage and the embedded specs, each with its description and the duration its committed
// records measured, where cobra prints usage (stderr) and returns errNoSpec (exit status 1).
func noSpec(cmd *cobra.Command) error {
	w := cmd.OutOrStderr() // where cobra prints the usage
	if err := cmd.Usage(); err != nil {
		return err
	}
	list, err := specs.List()
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "\nEmbedded specs (durations: the committed runs under measurements/<experiment>/ summed):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, info := range list {
		fmt.Fprintf(tw, "  %s\t%s\n", info.Name, info.Description)
		total := 0
		if spec, err := experiments.Load(info.Name); err == nil {
			total = len(spec.Runs)
		}
		fmt.Fprintf(tw, "  \t%s\n", measuredLine(info.Measured, total))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return errNoSpec
}

// measuredLine says how long a spec's committed runs took, or that none are committed; total is the number of
// runs the spec expands to (0 = unknown).
func measuredLine(m *specs.Measured, total int) string {
	of := ""
	if total > 0 {
		of = fmt.Sprintf(" of %d", total)
	}
	if m == nil {
		return fmt.Sprintf("not measured yet (%d runs)", total)
	}
	commits := make([]string, len(m.GitCommits))
	for i, c := range m.GitCommits {
		commits[i] = specs.ShortCommit(c)
		if commits[i] == "unknown" {
			commits[i] = "not recorded"
		}
	}
	noun := "commits"
	if len(commits) == 1 {
		noun = "commit"
	}
	return fmt.Sprintf("measured: %d%s runs, %s in total (%s %s)", m.Runs, of, formatDuration(m.Total()), noun, strings.Join(commits, ", "))
}

// formatDuration writes a duration in hours and minutes ("3h 05m"), minutes and seconds ("4m 10s") or seconds.
func formatDuration(d time.Duration) string {
	switch d = d.Round(time.Second); {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}
