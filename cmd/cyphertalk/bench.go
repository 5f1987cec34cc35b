package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

func newBenchCmd(g *globals) *cobra.Command {
	var presets, configs []string
	var steps, gemmN int
	var resultsDir string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure train-step and inference throughput per preset and backend setting, beside a gonum GEMM reference",
		RunE: func(cmd *cobra.Command, args []string) error {
			prov := experiments.CurrentProvenance()
			expDir := ""
			if resultsDir != "" {
				expDir = filepath.Join(resultsDir, benchExperiment)
			}
			gemm := bench.GEMM(gemmN, 5)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "reference: gonum float32 GEMM %d³: %.1f GFLOP/s\n\n", gemmN, gemm)
			const row = "%-6s %-36s %8s %7s %10s %10s %13s %13s %10s %10s\n"
			fmt.Fprintf(out, row, "preset", "backend", "params", "s/step", "train ex/s", "infer ex/s", "train GFLOP/s", "infer GFLOP/s", "train/GEMM", "infer/GEMM")
			for _, name := range presets {
				p, err := models.LookupPreset(name)
				if err != nil {
					return err
				}
				for _, c := range configs {
					start := time.Now()
					r, err := bench.Measure(p, 30522, c, steps)
					if err != nil {
						return fmt.Errorf("%s on %s: %w", name, c, err)
					}
					if expDir != "" {
						if err := results.Write(expDir, benchRecord(r, gemm, steps, start, time.Since(start), prov)); err != nil {
							return err
						}
					}
					fmt.Fprintf(out, row, r.Preset, r.Backend, fmt.Sprint(r.Params), fmt.Sprintf("%.3f", r.TrainStepSeconds),
						fmt.Sprintf("%.1f", r.TrainExPerSec), fmt.Sprintf("%.1f", r.InferExPerSec), fmt.Sprintf("%.2f", r.TrainGFLOPS),
						fmt.Sprintf("%.2f", r.InferGFLOPS), fmt.Sprintf("%.2f", r.TrainGFLOPS/gemm), fmt.Sprintf("%.2f", r.InferGFLOPS/gemm))
				}
			}
			fmt.Fprintln(out, "\nFLOPs count the encoder's matrix products (training = 3× forward); the embedding gather, softmax and")
			fmt.Fprintln(out, "element-wise work are not counted, so the ratios understate the work done.")
			if expDir != "" {
				fmt.Fprintf(out, "records: %s (one run row per measurement)\n", expDir)
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&presets, "presets", []string{"nano", "tiny"}, "presets to measure")
	cmd.Flags().StringArrayVar(&configs, "configs", []string{backend.DefaultConfig, "go:ops_sequential,dotgeneral_large", "go:parallelism=-1"}, "gomlx backend configuration (repeat the flag for several)")
	cmd.Flags().IntVar(&steps, "steps", 10, "timed steps per measurement")
	cmd.Flags().IntVar(&gemmN, "gemm", 512, "GEMM reference size n (n×n×n)")
	cmd.Flags().StringVar(&resultsDir, "results", "", "also write each measurement as a run record under DIR/bench/ (the results layout, with the git commit and host)")
	return cmd
}
