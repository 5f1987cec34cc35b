package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments"
	"github.com/cyphertalk/cyphertalk-go/experiments/results"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/backend"
	"github.com/cyphertalk/cyphertalk-go/models/bench"
)

// benchVocab is the bert-base-uncased vocabulary size every preset is measured with.
const benchVocab = 30522

func newBenchCmd(g *globals) *cobra.Command {
	var presets, configs, kindNames []string
	var steps, gemmN, rounds int
	var resultsDir, peer, python, peerThreads string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training and inference steps per preset and backend setting, beside a gonum GEMM reference and optionally a PyTorch peer",
		Long: `Measure the step kinds every phase is built from, with random inputs and the compiling warm-up excluded:
  finetune_trainable  a fine-tuning step with the token table trained
  finetune_frozen     the same with the table frozen
  infer_b32           inference on batches of 32 examples
  infer_b128          inference on batches of 128 examples
  pretrain            a pre-training step (masked-LM + sentence pair)
Seconds per step are medians over --steps timed steps.

With --peer scripts/peer/bench.py (make bench-peer), the PyTorch model of the same preset is measured by that
script alternately with this one for --rounds rounds, and the last lines give per kind the project's speed over
PyTorch's (above 1 = the project is faster) with its range over the rounds, beside the goal.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			kinds, err := bench.ParseKinds(kindNames)
			if err != nil {
				return err
			}
			if steps <= 0 || rounds <= 0 {
				return fmt.Errorf("--steps (%d) and --rounds (%d) must be positive", steps, rounds)
			}
			if peer != "" {
				if !cmd.Flags().Changed("configs") {
					configs = []string{backend.Config()}
				}
				if len(presets) != 1 || len(configs) != 1 {
					return fmt.Errorf("--peer compares one preset on one backend setting; got presets %v and configs %v", presets, configs)
				}
				return benchPeer(cmd, presets[0], configs[0], kinds, steps, rounds, peer, python, peerThreads, resultsDir)
			}
			if rounds != 1 {
				return fmt.Errorf("--rounds is for alternating with --peer")
			}
			return benchLocal(cmd.OutOrStdout(), presets, configs, kinds, steps, gemmN, resultsDir)
		},
	}
	cmd.Flags().StringSliceVar(&presets, "presets", []string{"nano", "tiny"}, "presets to measure")
	cmd.Flags().StringArrayVar(&configs, "configs", []string{backend.DefaultConfig, "go:ops_sequential,dotgeneral_large", "go:parallelism=-1"}, "gomlx backend configuration (repeat the flag for several; with --peer the one in effect: $GOMLX_BACKEND or the default)")
	cmd.Flags().StringSliceVar(&kindNames, "kinds", []string{"all"}, "step kinds to measure: all, or some of finetune_trainable, finetune_frozen, infer_b32, infer_b128, pretrain")
	cmd.Flags().IntVar(&steps, "steps", 10, "timed steps per kind")
	cmd.Flags().IntVar(&gemmN, "gemm", 512, "GEMM reference size n (n×n×n)")
	cmd.Flags().StringVar(&resultsDir, "results", "", "also write each measurement as a run record under DIR/bench/ (DIR/bench-peer/ with --peer; the results layout, with the git commit and host)")
	cmd.Flags().StringVar(&peer, "peer", "", "the PyTorch peer script (scripts/peer/bench.py): alternate with it and report the speed ratios")
	cmd.Flags().IntVar(&rounds, "rounds", 1, "with --peer: rounds of project then peer measurements")
	cmd.Flags().StringVar(&python, "python", "", "with --peer: the python interpreter with torch (default: the first of python3, /usr/bin/python3 that imports torch)")
	cmd.Flags().StringVar(&peerThreads, "peer-threads", "auto", "with --peer: torch threads, a number or auto (the peer times 1 and 2 and keeps the faster)")
	return cmd
}

const benchRow = "%-6s %-36s %-19s %8s %5s %8s %9s %9s %8s\n"

func printBenchHeader(out io.Writer) {
	fmt.Fprintf(out, benchRow, "preset", "backend", "kind", "params", "batch", "s/step", "ex/s", "GFLOP/s", "/GEMM")
}

func printBenchRow(out io.Writer, r bench.Measurement, gemm float64) {
	fmt.Fprintf(out, benchRow, r.Preset, r.Backend, r.Kind, fmt.Sprint(r.Params), fmt.Sprint(r.Batch),
		fmt.Sprintf("%.4f", r.StepSeconds), fmt.Sprintf("%.1f", r.ExPerSec), fmt.Sprintf("%.2f", r.GFLOPS),
		fmt.Sprintf("%.2f", ratio(r.GFLOPS, gemm)))
}

// benchLocal measures every preset × backend setting × kind and prints (and records) them.
func benchLocal(out io.Writer, presets, configs []string, kinds []bench.Kind, steps, gemmN int, resultsDir string) error {
	prov := experiments.CurrentProvenance()
	expDir := ""
	if resultsDir != "" {
		expDir = filepath.Join(resultsDir, benchExperiment)
	}
	gemm := bench.GEMM(gemmN, 5)
	fmt.Fprintf(out, "reference: gonum float32 GEMM %d³: %.1f GFLOP/s\n\n", gemmN, gemm)
	printBenchHeader(out)
	for _, name := range presets {
		p, err := models.LookupPreset(name)
		if err != nil {
			return err
		}
		for _, c := range configs {
			start := time.Now()
			rs, err := bench.MeasureKinds(p, benchVocab, c, kinds, steps)
			if err != nil {
				return err
			}
			dur := time.Since(start)
			for _, r := range rs {
				if expDir != "" {
					if err := results.Write(expDir, benchRecord(benchExperiment, benchEntry{M: r, GEMM: gemm}, start, dur, prov)); err != nil {
						return err
					}
				}
				printBenchRow(out, r, gemm)
			}
		}
	}
	fmt.Fprintln(out, "\nFLOPs count the encoder's matrix products (training = 3× forward); the embedding gather, softmax,")
	fmt.Fprintln(out, "element-wise work and the masked-LM output are not counted, so the ratios understate the work done.")
	if expDir != "" {
		fmt.Fprintf(out, "records: %s (one run row per measurement)\n", expDir)
	}
	return nil
}

// benchPeer alternates the project's measurement and the PyTorch peer's for rounds rounds in this process tree,
// records each kind's pair with its ratio, and ends with the summary per kind.
func benchPeer(cmd *cobra.Command, preset, config string, kinds []bench.Kind, steps, rounds int, script, python, threads, resultsDir string) error {
	out := cmd.OutOrStdout()
	p, err := models.LookupPreset(preset)
	if err != nil {
		return err
	}
	candidates := bench.PythonCandidates
	if python != "" {
		candidates = []string{python}
	}
	py, err := bench.FindPython(candidates)
	if err != nil {
		return err
	}
	prov := experiments.CurrentProvenance()
	expDir := ""
	if resultsDir != "" {
		expDir = filepath.Join(resultsDir, benchPeerExperiment)
	}
	fmt.Fprintf(out, "%s on %s against the PyTorch peer %s (%s), %d steps per kind, %d rounds\n\n", p, config, script, py, steps, rounds)
	ratios := map[bench.Kind][]float64{}
	for round := 1; round <= rounds; round++ {
		start := time.Now()
		goRes, err := bench.MeasureKinds(p, benchVocab, config, kinds, steps)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		info, peerRes, err := bench.RunPeer(cmd.Context(), py, script, p, benchVocab, kinds, steps, threads)
		if err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
		dur := time.Since(start)
		fmt.Fprintf(out, "round %d/%d (torch %s, %d threads):\n", round, rounds, info.Torch, info.Threads)
		for _, r := range goRes {
			var pr bench.PeerResult
			for _, x := range peerRes {
				if x.Kind == r.Kind {
					pr = x
				}
			}
			q := bench.Ratio(r, pr)
			ratios[r.Kind] = append(ratios[r.Kind], q)
			fmt.Fprintf(out, "  %-19s project %.4f s/step (%7.1f ex/s)   torch %.4f s/step (%7.1f ex/s)   ratio %.2f×\n",
				r.Kind, r.StepSeconds, r.ExPerSec, pr.StepSeconds, pr.ExPerSec, q)
			if expDir != "" {
				e := benchEntry{M: r, Round: round, Peer: &pr, PeerInfo: &info, Ratio: q}
				if err := results.Write(expDir, benchRecord(benchPeerExperiment, e, start, dur, prov)); err != nil {
					return err
				}
			}
		}
	}
	if expDir != "" {
		fmt.Fprintf(out, "records: %s (one run row per kind and round)\n", expDir)
	}
	fmt.Fprintf(out, "\nspeed of the project ÷ PyTorch (above 1 = project faster; median, range over rounds):\n")
	for _, s := range bench.Summarize(kinds, ratios) {
		fmt.Fprintln(out, s)
	}
	return nil
}
