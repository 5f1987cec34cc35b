package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets"
)

func newDataCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Inspect or download the public data (GLUE, vocabulary, Brown corpus)"}
	cmd.AddCommand(newDataStatsCmd(g), newDataFetchCmd(g), newDataCheckCmd())
	return cmd
}

func newDataStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Print a table of every task split found: layout, rows, malformed rows, private/public pool sizes",
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := datasets.ResolveDataDir(g.dataDir)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(cmd.OutOrStdout(), "data directory: %s\n", dir)
			fmt.Fprintln(tw, "task\tsplit\tlayout\trows\tmalformed\tprivate\tpublic\tmalformed lines\t")
			for _, f := range datasets.Available(dir) {
				set, err := datasets.LoadFile(f.Path, f.Layout, f.Task, f.Split)
				if err != nil {
					return err
				}
				priv, pub := "", ""
				if f.Split == "train" {
					p, q := datasets.Pools(set.Examples)
					priv, pub = fmt.Sprint(len(p)), fmt.Sprint(len(q))
				}
				lines := ""
				for i, m := range set.Malformed {
					if i == 5 {
						lines += " …"
						break
					}
					lines += fmt.Sprintf(" %d", m.Line)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t\n", f.Task, f.Split, f.Layout, len(set.Examples), len(set.Malformed), priv, pub, lines)
			}
			return tw.Flush()
		},
	}
}

// newDataCheckCmd loads a custom data file the way finetune --train-file does and reports what it found,
// every malformed row included, without training anything.
func newDataCheckCmd() *cobra.Command {
	var spec datasets.CustomSpec
	var maxRows int
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Load your own data file (TSV, .jsonl or .parquet) as finetune --train-file would and list its malformed rows",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec.Path = args[0]
			set, names, err := datasets.LoadCustom(spec)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			// Labels are class indices into names, except numeric labels without --labels, kept as values.
			numeric := len(spec.Labels) == 0
			for _, n := range names {
				if _, err := strconv.ParseFloat(n, 64); err != nil {
					numeric = false
				}
			}
			counts := map[float64]int{}
			for _, ex := range set.Examples {
				counts[ex.Label]++
			}
			var labels []string
			for k, n := range names {
				key := float64(k)
				if numeric {
					key, _ = strconv.ParseFloat(n, 64)
				}
				labels = append(labels, fmt.Sprintf("%s=%d", n, counts[key]))
			}
			fmt.Fprintf(out, "%s: %d usable rows, %d malformed; labels: %s\n", spec.Path, len(set.Examples), len(set.Malformed),
				strings.Join(labels, " "))
			for i, m := range set.Malformed {
				if maxRows > 0 && i == maxRows {
					fmt.Fprintf(out, "  … %d more (--show 0 lists all)\n", len(set.Malformed)-i)
					break
				}
				fmt.Fprintf(out, "  line %d: %s\n", m.Line, m.Reason)
			}
			if len(set.Examples) == 0 {
				return fmt.Errorf("%s has no usable row", spec.Path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.TextA, "text-a", "sentence", "name of the text column")
	f.StringVar(&spec.TextB, "text-b", "", "name of the second text column, for pairs")
	f.StringVar(&spec.Label, "label", "label", "name of the label column")
	f.StringSliceVar(&spec.Labels, "labels", nil, "ordered label names (class k = k-th name); default: sorted distinct labels")
	f.StringVar(&spec.Encoding, "encoding", "utf-8", "text encoding of the file: utf-8 or latin1")
	f.IntVar(&maxRows, "show", 20, "malformed rows listed (0 = all)")
	return cmd
}
