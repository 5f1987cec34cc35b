package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/operators"
	"github.com/cyphertalk/cyphertalk-go/shaking"
)

func newAttackCmd(g *globals) *cobra.Command {
	var (
		task, preset, pretrainRecipe, jsonOut string
		ops                                   []string
		maxTrain, maxEval                     int
		keySeed                               int64
	)
	cmd := &cobra.Command{
		Use:   "attack",
		Short: "Attack CypherTalk keys: token recovery of nearest-neighbour, frequency and alignment attacks on a client's uploads",
		Long: `For each --ops setting, makes the key (seed --key-seed), shakes the public token table, π-encodes the
client's uploads (the task's training examples and dev queries) and runs every attack of attacks/ with the
public table and public-corpus token counts as the cloud's knowledge. Prints occurrence-weighted top-1/top-5
token recovery (all tokens and content words) beside the random-guess and frequency-prior baselines. No
training: this measures what E_s and the uploads give away. --ops "" is π alone.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, tok, err := g.dataAndTokenizer("")
			if err != nil {
				return err
			}
			env := method.Env{DataDir: dir, CacheDir: g.cacheDir, Tok: tok, Progress: true, Log: slogDefault()}
			run := method.Run{Task: task, Preset: preset, Pretrain: pretrainRecipe, MaxTrain: maxTrain, MaxEval: maxEval, Seed: 1}
			s, err := harness.NewSetup(cmd.Context(), env, run)
			if err != nil {
				return err
			}
			counts, err := harness.PublicCounts(env, s)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ops\tattack\ttop-1\ttop-5\tcontent top-1\tcontent top-5\ttokens")
			for _, spec := range ops {
				chain, err := operators.ParseChain(spec)
				if err != nil {
					return err
				}
				key, err := operators.NewKey(operators.SeedFromUint64(uint64(keySeed)), operators.KeyOptions{VocabSize: tok.VocabSize(),
					Dim: s.Public.Preset.Hidden, Special: tok.SpecialIDs(), Horizontal: true, Chain: append([]operators.OpSpec{}, chain...)})
				if err != nil {
					return err
				}
				client, err := shaking.NewClient(key, s.Public)
				if err != nil {
					return err
				}
				rs, err := shaking.Attack(cmd.Context(), env, s, client, counts, nil)
				if err != nil {
					return err
				}
				name := spec
				if name == "" {
					name = "π only"
				}
				for _, r := range rs {
					fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%d\n", name, r.Attack, r.Top1, r.Top5, r.ContentTop1, r.ContentTop5, r.Tokens)
				}
				if jsonOut != "" {
					if err := appendJSONLine(jsonOut, map[string]any{"task": task, "ops": spec, "key_fingerprint": key.Fingerprint(), "attacks": rs}); err != nil {
						return err
					}
				}
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&task, "task", "sst2", "GLUE task whose uploads are attacked")
	f.StringVar(&preset, "preset", "tiny", "model preset")
	f.StringVar(&pretrainRecipe, "pretrain", "default", "base model: default or none")
	f.StringArrayVar(&ops, "ops", []string{""}, "vertical chain to attack (repeatable; \"\" = π only)")
	f.IntVar(&maxTrain, "max-train", 4000, "training examples uploaded")
	f.IntVar(&maxEval, "max-eval", 0, "dev queries uploaded (0 = all)")
	f.Int64Var(&keySeed, "key-seed", 1, "key seed")
	f.StringVar(&jsonOut, "json", "", "append one JSON line per setting to this file")
	return cmd
}
