package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/internal/recipecache"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

// pretrainFlags binds the recipe's flags onto cfg.
func pretrainFlags(cmd *cobra.Command, cfg *pretrain.Config) {
	f := cmd.Flags()
	f.IntVar(&cfg.Steps, "pretrain-steps", cfg.Steps, "masked-LM pre-training steps")
	f.Float64Var(&cfg.LearningRate, "pretrain-lr", cfg.LearningRate, "pre-training peak learning rate")
	f.StringVar(&cfg.TableInit, "table-init", cfg.TableInit, "token-table initialisation: ppmi (PPMI-SVD on the public corpus) or random")
	f.BoolVar(&cfg.TrainTable, "pretrain-train-table", cfg.TrainTable, "let MLM update the token table")
	f.BoolVar(&cfg.PairObjective, "pair-objective", cfg.PairObjective, "add the sentence-pair (next sentence / paired question) objective")
	f.StringSliceVar(&cfg.PublicTasks, "public-tasks", cfg.PublicTasks, "tasks whose public train pools join the Brown corpus")
	f.Uint64Var(&cfg.Seed, "pretrain-seed", cfg.Seed, "pre-training seed")
	f.BoolVar(&cfg.PreLN, "pre-ln", cfg.PreLN, "pre-LN transformer layers instead of BERT's post-LN")
}

func newPretrainCmd(g *globals) *cobra.Command {
	var preset, ship string
	cfg := pretrain.DefaultConfig("tiny")
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Pre-train the public base model by masked LM on Brown + the tasks' public pools (cached)",
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, tok, err := g.dataAndTokenizer("")
			if err != nil {
				return err
			}
			cfg.Preset = preset
			res, err := pretrain.Run(cmd.Context(), dir, tok, cfg, pretrain.Options{CacheDir: g.cacheDir, Progress: true})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			state := "trained"
			if res.Cached {
				state = "cached"
			}
			fmt.Fprintf(out, "checkpoint (%s): %s\n", state, res.Path)
			fmt.Fprintf(out, "corpus: %d tokens, checksum %s\n", res.CorpusTokens, res.CorpusChecksum[:16])
			for _, s := range res.Sources {
				fmt.Fprintf(out, "  %s\n", s)
			}
			fmt.Fprintf(out, "steps %d, %.0f s; held-out MLM loss %.3f nats (unigram baseline %.3f)\n",
				res.Steps, res.Seconds, res.HeldOutLoss, res.UnigramLoss)
			if ship != "" {
				dst, err := recipecache.Ship(filepath.Dir(res.Path), ship)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "shipped: %s (pre-training with this recipe, corpus and vocabulary copies it instead of training)\n", dst)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&preset, "preset", "tiny", "model preset (nano, tiny, mini, small, base)")
	pretrainFlags(cmd, &cfg)
	cmd.Flags().IntVar(&cfg.Steps, "steps", cfg.Steps, "masked-LM pre-training steps (same as --pretrain-steps)")
	cmd.Flags().StringVar(&ship, "ship", "", "also copy the checkpoint's cache entry under `DIR`/pretrain/ (e.g. checkpoints, which runs look in: $"+pretrain.ShippedEnv+")")
	return cmd
}
