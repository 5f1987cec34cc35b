// Command cyphertalk is the project's command line: data, tokenizer, pre-training, fine-tuning and benchmarks.
// Each subcommand lives in its own file; shared flags (data directory, cache, logging) are defined here.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
)

// globals are the persistent flags every subcommand reads.
type globals struct {
	dataDir  string
	cacheDir string
	verbose  bool
	cpuProf  string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "cyphertalk",
		Short: "CypherTalk: shake a language model's embeddings with a secret key, recover it, tune and serve it privately",
		Long: `cyphertalk reproduces and measures "A Framework for Cost-Effective and Self-Adaptive LLM Shaking and
Recovery Mechanism" (arXiv 2403.07283) on GLUE tasks, with a BERT-style model pre-trained here.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if g.verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			if g.cpuProf != "" {
				f, err := os.Create(g.cpuProf)
				if err != nil {
					return fmt.Errorf("creating CPU profile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("starting CPU profile: %w", err)
				}
			}
			return nil
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if g.cpuProf != "" {
				pprof.StopCPUProfile()
			}
		},
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data", "", "data directory (default: $DATA_DIR, else ../shared/data, else ./data)")
	root.PersistentFlags().StringVar(&g.cacheDir, "cache", defaultCacheDir(), "cache directory for pre-trained checkpoints ($CYPHERTALK_CACHE)")
	root.PersistentFlags().StringVar(&g.cpuProf, "cpuprofile", "", "write a Go CPU profile to this file")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "debug logging")
	root.SetVersionTemplate(versionTemplate)
	root.AddCommand(newDataCmd(g), newTokenizeCmd(g), newPretrainCmd(g), newFinetuneCmd(g), newBenchCmd(g),
		newKeygenCmd(g), newShakeCmd(g), newAccountantCmd(g), newRunCmd(g), newSlurmCmd(g), newReportCmd(g), newAttackCmd(g),
		newExportHFCmd(g))
	return root
}

// slogDefault is the logger methods log to.
func slogDefault() *slog.Logger { return slog.Default() }

func defaultCacheDir() string {
	if d := os.Getenv("CYPHERTALK_CACHE"); d != "" {
		return d
	}
	return "cache"
}

// dataAndTokenizer resolves the data directory and loads the WordPiece vocabulary from it (or from vocabFlag).
func (g *globals) dataAndTokenizer(vocabFlag string) (string, *wordpiece.Tokenizer, error) {
	dir, err := datasets.ResolveDataDir(g.dataDir)
	if err != nil {
		return "", nil, err
	}
	path := vocabFlag
	if path == "" {
		path = datasets.VocabPath(dir)
	}
	tok, err := wordpiece.Load(path)
	if err != nil {
		return "", nil, fmt.Errorf("loading vocabulary: %w", err)
	}
	return dir, tok, nil
}
