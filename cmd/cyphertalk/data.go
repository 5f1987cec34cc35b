package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets"
)

func newDataCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Inspect or download the public data (GLUE, vocabulary, Brown corpus)"}
	cmd.AddCommand(newDataStatsCmd(g), newDataFetchCmd(g))
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
