package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

func newBenchCmd(g *globals) *cobra.Command {
	var presets, configs []string
	var steps, gemmN int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure train-step and inference throughput per preset and backend setting, beside a gonum GEMM reference",
		RunE: func(cmd *cobra.Command, args []string) error {
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
					r, err := bench.Measure(p, 30522, c, steps)
					if err != nil {
						return fmt.Errorf("%s on %s: %w", name, c, err)
					}
					fmt.Fprintf(out, row, r.Preset, r.Backend, fmt.Sprint(r.Params), fmt.Sprintf("%.3f", r.TrainStepSeconds),
						fmt.Sprintf("%.1f", r.TrainExPerSec), fmt.Sprintf("%.1f", r.InferExPerSec), fmt.Sprintf("%.2f", r.TrainGFLOPS),
						fmt.Sprintf("%.2f", r.InferGFLOPS), fmt.Sprintf("%.2f", r.TrainGFLOPS/gemm), fmt.Sprintf("%.2f", r.InferGFLOPS/gemm))
				}
			}
			fmt.Fprintln(out, "\nFLOPs count the encoder's matrix products (training = 3× forward); the embedding gather, softmax and")
			fmt.Fprintln(out, "element-wise work are not counted, so the ratios understate the work done.")
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&presets, "presets", []string{"nano", "tiny"}, "presets to measure")
	cmd.Flags().StringArrayVar(&configs, "configs", []string{backend.DefaultConfig, "go:ops_sequential,dotgeneral_large", "go:parallelism=-1"}, "gomlx backend configuration (repeat the flag for several)")
	cmd.Flags().IntVar(&steps, "steps", 10, "timed steps per measurement")
	cmd.Flags().IntVar(&gemmN, "gemm", 512, "GEMM reference size n (n×n×n)")
	return cmd
}
