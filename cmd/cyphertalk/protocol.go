package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/baselines/plaintext"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/experiments/harness"
	"github.com/cyphertalk/cyphertalk-go/experiments/method"
	"github.com/cyphertalk/cyphertalk-go/operators"
	"github.com/cyphertalk/cyphertalk-go/shaking"
)

func newKeygenCmd(g *globals) *cobra.Command {
	var (
		ops, out, vocab string
		random          int
		allowed         []string
		seed            int64
		noPerm          bool
		dim             int
	)
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate a CypherTalk key (vertical operators + permutation π) and write it with mode 0600",
		Long: `Generates vskey = {vsn, vsops[], vsopts[]} and hskey = {π} (docs/design.md §2) from one seed.
--ops gives the chain explicitly ("gaussian:sigma=0.5,tilt:angle=0.3"); --random N draws N operators
(from --allowed, default all) with parameters from their default ranges. Without --seed the seed comes from
crypto/rand; --seed N derives a guessable seed for reproducible experiments. The key file holds the secret:
it is written 0600 and only its fingerprint is printed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("keygen: -o FILE is required")
			}
			path := vocab
			if path == "" {
				_, tok, err := g.dataAndTokenizer("")
				if err != nil {
					return err
				}
				return writeKey(cmd.OutOrStdout(), tok, ops, random, allowed, seed, !noPerm, dim, out)
			}
			tok, err := wordpiece.Load(path)
			if err != nil {
				return fmt.Errorf("loading vocabulary: %w", err)
			}
			return writeKey(cmd.OutOrStdout(), tok, ops, random, allowed, seed, !noPerm, dim, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&ops, "ops", "", "vertical chain, e.g. \"gaussian:sigma=0.5,tilt:angle=0.3\" (operators: "+strings.Join(operators.OperatorNames(), ", ")+")")
	f.IntVar(&random, "random", 0, "draw this many operators at random instead of --ops")
	f.StringSliceVar(&allowed, "allowed", nil, "operators --random may draw (default: all)")
	f.Int64Var(&seed, "seed", 0, "derive the seed from this number (reproducible, guessable); default: crypto/rand")
	f.BoolVar(&noPerm, "no-permutation", false, "leave π out (vertical operators only)")
	f.IntVar(&dim, "dim", 0, "table width the key is for (0 = any)")
	f.StringVar(&vocab, "vocab", "", "vocabulary file (default: the data directory's bert-base-uncased vocab.txt)")
	f.StringVarP(&out, "output", "o", "", "key file to write (mode 0600)")
	return cmd
}

func writeKey(w io.Writer, tok *wordpiece.Tokenizer, ops string, random int, allowed []string, seedN int64, horizontal bool, dim int, out string) error {
	opts := operators.KeyOptions{VocabSize: tok.VocabSize(), Dim: dim, Special: tok.SpecialIDs(), Horizontal: horizontal}
	switch {
	case random > 0 && ops != "":
		return fmt.Errorf("keygen: give --ops or --random, not both")
	case random > 0:
		opts.Random = &operators.RandomChain{N: random, Allowed: allowed}
	default:
		chain, err := operators.ParseChain(ops)
		if err != nil {
			return err
		}
		opts.Chain = append([]operators.OpSpec{}, chain...)
	}
	var seed operators.Seed
	if seedN != 0 {
		seed = operators.SeedFromUint64(uint64(seedN))
	} else {
		var err error
		if seed, err = operators.NewSeed(); err != nil {
			return err
		}
	}
	key, err := operators.NewKey(seed, opts)
	if err != nil {
		return err
	}
	if err := key.Save(out); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s (mode 0600)\nfingerprint %s\nvertical    %s\npermutation %v\n", out, key.Fingerprint(),
		operators.FormatChain(key.Vertical), key.Horizontal)
	return nil
}

type shakeOpts struct {
	tasks    []string
	preset   string
	pretrain string
	maxTrain int
	maxEval  int
	seeds    []uint
	epochs   int
	lr       float64
	keyFile  string
	cfg      shaking.Config
	jsonOut  string
	plain    string
	label    string
}

func newShakeCmd(g *globals) *cobra.Command {
	o := &shakeOpts{cfg: shaking.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "shake",
		Short: "Run the CypherTalk protocol end to end: shake, recover, tune and serve privately; print dev metrics and costs",
		Long: `Runs the four phases (docs/design.md §1) on GLUE tasks: key generation (or --key FILE), shaking of the public
token table, awareness recovery (client) and function recovery (cloud) on public text, private tuning on
π-encoded training data and private inference on the π-encoded dev set. Prints dev metrics, the masked-LM loss of
the base / shaken / recovered model in shaken space, and each phase's wall seconds by party and bytes.
--awareness-steps 0 --function-steps 0 runs without recovery.`,
		RunE: func(cmd *cobra.Command, args []string) error { return runShake(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.tasks, "task", []string{"sst2"}, "GLUE task(s)")
	f.StringVar(&o.preset, "preset", "tiny", "model preset")
	f.StringVar(&o.pretrain, "pretrain", "default", "base model: default (pre-trained, cached) or none")
	f.IntVar(&o.maxTrain, "max-train", 4000, "training examples from the private pool (0 = all)")
	f.IntVar(&o.maxEval, "max-eval", 0, "dev examples (0 = all)")
	f.UintSliceVar(&o.seeds, "seeds", []uint{1}, "fine-tuning seeds")
	f.IntVar(&o.epochs, "epochs", 3, "fine-tuning epochs")
	f.Float64Var(&o.lr, "lr", 2e-3, "fine-tuning learning rate")
	f.StringVar(&o.keyFile, "key", "", "key file from `cyphertalk keygen` (default: a key from --ops and --key-seed)")
	c := &o.cfg
	f.StringVar(&c.Ops, "ops", c.Ops, "vertical chain when no --key is given (\"\" = π only)")
	f.Int64Var(&c.KeySeed, "key-seed", 0, "seed of the experiment key when no --key is given (0 = the fine-tuning seed)")
	f.BoolVar(&c.Horizontal, "permutation", c.Horizontal, "permute token ids (π)")
	f.IntVar(&c.AwarenessSteps, "awareness-steps", c.AwarenessSteps, "awareness recovery steps (0 = skip)")
	f.Float64Var(&c.AwarenessLR, "awareness-lr", c.AwarenessLR, "awareness recovery learning rate")
	f.IntVar(&c.AwarenessLayer, "awareness-layer", c.AwarenessLayer, "awareness recovery aligns the output of this layer")
	f.StringVar(&c.AwarenessParty, "awareness-party", c.AwarenessParty, "who runs awareness recovery: client or cloud")
	f.StringVar(&c.BiasParty, "bias-party", c.BiasParty, "who provides the output bias function recovery starts from: cloud (frequencies) or client (the π-permuted public bias; the cloud learns π)")
	f.IntVar(&c.BiasPasses, "bias-passes", c.BiasPasses, "function recovery: passes of iterative scaling that fit the output bias exactly first (0 = skip)")
	f.IntVar(&c.BiasRows, "bias-rows", c.BiasRows, "masked slots the iterative scaling uses (keeps rows × vocabulary float32 logits)")
	f.Float64Var(&c.BiasSmoothing, "bias-smoothing", c.BiasSmoothing, "pseudo-count of the iterative scaling")
	f.IntVar(&c.BiasSteps, "bias-steps", c.BiasSteps, "function recovery: output-bias-only Adam steps before the encoder trains")
	f.Float64Var(&c.BiasLR, "bias-lr", c.BiasLR, "learning rate of the output-bias fit")
	f.IntVar(&c.TableSteps, "table-steps", c.TableSteps, "with --recovery-table: steps that train E_s alone before the encoder")
	f.Float64Var(&c.TableLR, "table-lr", c.TableLR, "learning rate of the E_s-only stage")
	f.IntVar(&c.FunctionSteps, "function-steps", c.FunctionSteps, "function recovery steps (0 = skip)")
	f.Float64Var(&c.FunctionLR, "function-lr", c.FunctionLR, "function recovery learning rate")
	f.StringVar(&c.FunctionParty, "function-party", c.FunctionParty, "who runs function recovery: cloud or client")
	f.Float64Var(&c.KDWeight, "kd-weight", c.KDWeight, "weight of distillation to the public model in function recovery")
	f.IntVar(&c.KDTopK, "kd-topk", c.KDTopK, "top-k teacher predictions sent per masked slot")
	f.BoolVar(&c.RecoveryTable, "recovery-table", false, "let E_s move during recovery")
	f.BoolVar(&c.TuneTable, "tune-table", false, "let private tuning train E_s")
	f.IntVar(&c.MLMEvalBatches, "mlm-eval-batches", c.MLMEvalBatches, "held-out batches for the masked-LM loss (0 = skip)")
	f.StringVar(&o.plain, "plaintext", "", "run the plaintext baseline instead, with the token table trainable or frozen")
	f.StringVar(&o.label, "label", "", "a label stored with each --json line")
	f.StringVar(&o.jsonOut, "json", "", "append one JSON line per run (metrics, costs, extras, tags) to this file")
	return cmd
}

func runShake(cmd *cobra.Command, g *globals, o *shakeOpts) error {
	o.cfg.KeyFile = o.keyFile
	if o.plain != "" && o.plain != "trainable" && o.plain != "frozen" {
		return fmt.Errorf("--plaintext %q: want trainable or frozen", o.plain)
	}
	if err := o.cfg.Validate(); err != nil {
		return err
	}
	dir, tok, err := g.dataAndTokenizer("")
	if err != nil {
		return err
	}
	env := method.Env{DataDir: dir, CacheDir: g.cacheDir, Tok: tok, Progress: true, Log: slogDefault()}
	out := cmd.OutOrStdout()
	for _, task := range o.tasks {
		for _, seed := range o.seeds {
			run := method.Run{Task: task, Preset: o.preset, Pretrain: o.pretrain, MaxTrain: o.maxTrain, MaxEval: o.maxEval,
				Seed: uint64(seed), Epochs: o.epochs, LearningRate: o.lr}
			s, err := harness.NewSetup(cmd.Context(), env, run)
			if err != nil {
				return err
			}
			var res *method.Result
			if o.plain != "" {
				run.Params = map[string]any{"table": o.plain}
				res, err = plaintext.Protocol(cmd.Context(), env, run, s, plaintext.Config{Table: o.plain})
			} else {
				res, err = shaking.Protocol(cmd.Context(), env, run, s, o.cfg)
			}
			if err != nil {
				return err
			}
			printProtocolResult(out, task, seed, res)
			if o.jsonOut != "" {
				if err := appendJSONLine(o.jsonOut, map[string]any{"task": task, "seed": seed, "preset": o.preset,
					"max_train": o.maxTrain, "config": o.cfg, "plaintext": o.plain, "label": o.label, "result": jsonResult(res)}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func printProtocolResult(w io.Writer, task string, seed uint, res *method.Result) {
	if res.KeyFingerprint == "" {
		fmt.Fprintf(w, "\n%s seed %d  plaintext  table %s\n", task, seed, res.Tags["table"])
	} else {
		fmt.Fprintf(w, "\n%s seed %d  key %s  ops %s  recovery %s  table %s\n", task, seed, res.KeyFingerprint[:16],
			res.Tags["ops"], res.Tags["recovery"], res.Tags["table"])
	}
	fmt.Fprintf(w, "dev: %s (%d examples)\n", formatMetrics(res.Metrics), res.EvalExamples)
	var extras []string
	for k, v := range res.Extra {
		extras = append(extras, fmt.Sprintf("%s=%.4f", k, v))
	}
	sort.Strings(extras)
	fmt.Fprintf(w, "measured: %s\n", strings.Join(extras, " "))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tclient s\tcloud s\t→cloud bytes\t→client bytes\tunits\tnote")
	for _, c := range res.Costs {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%d\t%d\t%d %s\t%s\n", c.Phase, c.ClientSeconds, c.CloudSeconds, c.BytesToCloud,
			c.BytesToClient, c.Units, c.UnitName, c.Note)
	}
	tw.Flush()
}

// jsonResult wraps a result so that its NaN ε/δ (methods without them) encode as null.
func jsonResult(r *method.Result) any {
	orNil := func(x float64) *float64 {
		if math.IsNaN(x) {
			return nil
		}
		return &x
	}
	return struct {
		*method.Result
		Epsilon *float64
		Delta   *float64
	}{r, orNil(r.Epsilon), orNil(r.Delta)}
}

func appendJSONLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
