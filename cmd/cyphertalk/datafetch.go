package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets/fetch"
)

func newDataFetchCmd(g *globals) *cobra.Command {
	var dest, mirror string
	var only []string
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Download the public data into ./data (SHA-256 verified, atomic, resumable)",
		Long: `Downloads the Hugging Face hub's glue parquet files, the bert-base-uncased vocabulary and the Brown
corpus into --dest, verifying each against its SHA-256. Interrupted downloads resume. --mirror fetches the same
relative paths from another server or copy (e.g. a local mirror of a data directory).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := fetch.Fetch(cmd.Context(), fetch.Manifest(), fetch.Options{Dest: dest, Mirror: mirror, Progress: true, Only: only})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d downloaded (%d resumed), %d already present, %d bytes, into %s\n",
				len(rep.Downloaded), len(rep.Resumed), len(rep.Skipped), rep.Bytes, dest)
			return nil
		},
	}
	cmd.Flags().StringVar(&dest, "dest", "data", "directory to fill")
	cmd.Flags().StringVar(&mirror, "mirror", "", "base URL to fetch every file's relative path from instead of its public source")
	cmd.Flags().StringSliceVar(&only, "only", nil, "fetch only paths with these prefixes")
	return cmd
}
