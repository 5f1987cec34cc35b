//go:build !fetch

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDataFetchCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "fetch", RunE: func(*cobra.Command, []string) error { return errors.New("pending") }}
}
