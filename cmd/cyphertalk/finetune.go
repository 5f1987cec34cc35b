package main

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets"
	"github.com/cyphertalk/cyphertalk-go/datasets/wordpiece"
	"github.com/cyphertalk/cyphertalk-go/models"
	"github.com/cyphertalk/cyphertalk-go/models/finetune"
	"github.com/cyphertalk/cyphertalk-go/models/hf"
	"github.com/cyphertalk/cyphertalk-go/models/pretrain"
)

type finetuneOpts struct {
	tasks       []string
	preset      string
	maxTrain    int
	maxEval     int
	seeds       []uint
	inits       []string
	tables      []string
	fromScratch bool
	freeze      bool
	ft          finetune.Config
	pt          pretrain.Config
	custom      customData
}

func newFinetuneCmd(g *globals) *cobra.Command {
	o := &finetuneOpts{ft: finetune.DefaultConfig(), pt: pretrain.DefaultConfig("tiny")}
	cmd := &cobra.Command{
		Use:   "finetune",
		Short: "Fine-tune on GLUE tasks from the pre-trained (or a random) model and print dev metrics and wall times",
		Long: `Fine-tunes on examples from each task's private pool and evaluates on its dev set.
Lists (--task sst2,qqp --seeds 1,2 --init pretrained,scratch --table frozen,trainable) run every combination
and print a table of mean ± sd over seeds. --init hf:DIR starts from a Hugging Face BERT checkpoint (DIR holds
config.json, model.safetensors and vocab.txt, the vocabulary the project's): nothing is pre-trained for it, and
the model shape is the checkpoint's (--preset, when given, must match it).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFinetune(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.tasks, "task", []string{"sst2"}, "GLUE task(s): "+strings.Join(datasets.TaskNames(), ", "))
	f.StringVar(&o.preset, "preset", "tiny", "model preset")
	f.IntVar(&o.maxTrain, "max-train", 4000, "training examples drawn (seeded) from the private pool; 0 = all")
	f.IntVar(&o.maxEval, "max-eval", 0, "dev examples (seeded subsample); 0 = the full dev set")
	f.IntVar(&o.ft.Epochs, "epochs", o.ft.Epochs, "epochs")
	f.Float64Var(&o.ft.LearningRate, "lr", o.ft.LearningRate, "peak learning rate")
	f.UintSliceVar(&o.seeds, "seeds", []uint{1}, "fine-tuning seeds (data subsample, head init, shuffling)")
	f.BoolVar(&o.fromScratch, "from-scratch", false, "start from random weights (same as --init scratch)")
	f.BoolVar(&o.freeze, "freeze-table", false, "freeze the token-embedding table (same as --table frozen)")
	f.StringSliceVar(&o.inits, "init", nil, "starting points to compare: pretrained, scratch, hf:DIR (a Hugging Face BERT checkpoint)")
	f.StringSliceVar(&o.tables, "table", nil, "token-table regimes to compare: trainable, frozen")
	addCustomDataFlags(cmd, &o.custom)
	pretrainFlags(cmd, &o.pt)
	return cmd
}

type runKey struct{ task, init, table string }

func runFinetune(cmd *cobra.Command, g *globals, o *finetuneOpts) error {
	// Cheap checks of every input first: nothing below may fail only after a long pre-training.
	if err := o.custom.validate(cmd, "task"); err != nil {
		return err
	}
	if len(o.inits) == 0 {
		o.inits = []string{"pretrained"}
		if o.fromScratch {
			o.inits = []string{"scratch"}
		}
	}
	if len(o.tables) == 0 {
		o.tables = []string{"trainable"}
		if o.freeze {
			o.tables = []string{"frozen"}
		}
	}
	hfDirs := map[string]string{} // init → checkpoint directory
	for _, i := range o.inits {
		dir, isHF, err := hf.ParseInit(i)
		switch {
		case err != nil:
			return fmt.Errorf("--init: %w", err)
		case isHF:
			hfDirs[i] = dir
		case i != "pretrained" && i != "scratch":
			return fmt.Errorf("--init %q: want pretrained, scratch or hf:DIR", i)
		}
	}
	for _, t := range o.tables {
		if t != "trainable" && t != "frozen" {
			return fmt.Errorf("--table %q: want trainable or frozen", t)
		}
	}
	preset, err := models.LookupPreset(o.preset)
	if err != nil {
		return err
	}
	if len(hfDirs) > 0 {
		if preset, err = hfPreset(cmd, o, hfDirs); err != nil {
			return err
		}
	}
	if !o.custom.enabled() {
		for _, task := range o.tasks { // fail before a long pre-training, not after it
			if _, err := datasets.Task(task); err != nil {
				return err
			}
		}
	}
	dir, tok, err := g.dataAndTokenizer("")
	if err != nil {
		return err
	}
	hfPaths := map[string]string{} // init → the imported checkpoint as a weight file
	for _, init := range o.inits {
		if dir, ok := hfDirs[init]; ok {
			path, rep, err := hf.Base(cmd.Context(), dir, hf.Tokens(tok), &preset, g.cacheDir)
			if err != nil {
				return fmt.Errorf("--init %s: %w", init, err)
			}
			hfPaths[init] = path
			if rep != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "Hugging Face checkpoint %s: %s\n", dir, rep)
			}
		}
	}
	var ckpt string
	if slices.Contains(o.inits, "pretrained") {
		o.pt.Preset = o.preset
		res, err := pretrain.Run(cmd.Context(), dir, tok, o.pt, pretrain.Options{CacheDir: g.cacheDir, Progress: true})
		if err != nil {
			return err
		}
		ckpt = res.Path
		fmt.Fprintf(cmd.OutOrStdout(), "pre-trained base: %s (held-out MLM loss %.3f, unigram %.3f)\n", res.Path, res.HeldOutLoss, res.UnigramLoss)
		preset.PreLN = o.pt.PreLN
	}
	results := map[runKey][]*finetune.Result{}
	var order []runKey
	out := cmd.OutOrStdout()
	if o.custom.enabled() {
		o.tasks = []string{datasets.CustomTaskName}
	}
	for _, task := range o.tasks {
		var info datasets.TaskInfo
		var train []datasets.Example
		var dev *finetune.Encoded
		if task == datasets.CustomTaskName {
			var c *customTask
			if c, err = o.custom.load(); err == nil {
				info, train = c.info, c.train
				dev = finetune.Encode(tok, datasets.Subsample(c.dev, o.maxEval, 0), preset.MaxLen)
				noteMaxTrainCap(cmd.ErrOrStderr(), o.custom.spec.Path, len(train), o.maxTrain)
			}
		} else {
			info, train, dev, err = loadTask(dir, tok, task, o.maxEval, preset.MaxLen)
		}
		if err != nil {
			return err
		}
		for _, init := range o.inits {
			for _, table := range o.tables {
				key := runKey{task, init, table}
				order = append(order, key)
				for _, seed := range o.seeds {
					var m *models.Model
					if path, ok := hfPaths[init]; ok {
						m, _, err = models.Load(path, uint64(seed), "/task_head", "/mlm")
					} else if init == "pretrained" {
						m, _, err = models.Load(ckpt, uint64(seed), "/task_head", "/mlm")
					} else {
						m, err = models.New(preset, tok.VocabSize(), uint64(seed))
					}
					if err != nil {
						return err
					}
					m.SetTokenTableTrainable(table == "trainable")
					cfg := o.ft
					cfg.Seed, cfg.Progress = uint64(seed), true
					cfg.Label = fmt.Sprintf("%s %s/%s seed %d", task, init, table, seed)
					res, err := finetune.Train(cmd.Context(), m, info, trainSubsample(train, uint64(seed), o.maxTrain, tok, preset.MaxLen), cfg)
					if err != nil {
						return err
					}
					if err := finetune.Evaluate(m, info, dev, res); err != nil {
						return err
					}
					results[key] = append(results[key], res)
					fmt.Fprintf(out, "%-5s %-10s %-9s seed %d: %s  (train %s s/epoch, inference %.2f ms/example)\n",
						task, init, table, seed, formatMetrics(res.Metrics), formatSeconds(res.TrainSecondsPerEpoch), 1000*res.InferenceSecondsPerExample)
				}
			}
		}
	}
	printSummary(out, order, results)
	return nil
}

// hfPreset is the model shape of the --init hf:DIR checkpoints: --preset when given (each checkpoint must have
// its shape), else the first checkpoint's (a registered preset of that shape, or one built from config.json),
// which the others must share. BERT is post-LN, so --pre-ln is refused.
func hfPreset(cmd *cobra.Command, o *finetuneOpts, dirs map[string]string) (models.Preset, error) {
	if o.pt.PreLN {
		return models.Preset{}, fmt.Errorf("--pre-ln: a Hugging Face BERT checkpoint is post-LN")
	}
	var want *models.Preset
	if cmd.Flags().Changed("preset") {
		p, err := models.LookupPreset(o.preset)
		if err != nil {
			return models.Preset{}, err
		}
		want = &p
	}
	for _, init := range o.inits {
		dir, ok := dirs[init]
		if !ok {
			continue
		}
		cfg, err := hf.ReadConfig(dir)
		if err != nil {
			return models.Preset{}, fmt.Errorf("--init %s: %w", init, err)
		}
		p, err := cfg.Preset(want)
		if err != nil {
			return models.Preset{}, fmt.Errorf("--init %s: %w", init, err)
		}
		if want == nil {
			want = &p
		}
	}
	o.preset = want.Name
	return *want, nil
}

func loadTask(dir string, tok *wordpiece.Tokenizer, task string, maxEval, T int) (datasets.TaskInfo, []datasets.Example, *finetune.Encoded, error) {
	info, err := datasets.Task(task)
	if err != nil {
		return info, nil, nil, err
	}
	trainSet, err := datasets.Load(dir, task, "train")
	if err != nil {
		return info, nil, nil, err
	}
	devSet, err := datasets.Load(dir, task, "dev")
	if err != nil {
		return info, nil, nil, err
	}
	private, _ := datasets.Pools(trainSet.Examples)
	dev := datasets.Subsample(devSet.Examples, maxEval, 0)
	slog.Info("task loaded", "task", task, "train", len(trainSet.Examples), "private_pool", len(private),
		"malformed_train_rows", len(trainSet.Malformed), "dev", len(dev))
	return info, private, finetune.Encode(tok, dev, T), nil
}

func trainSubsample(private []datasets.Example, seed uint64, n int, tok *wordpiece.Tokenizer, T int) *finetune.Encoded {
	return finetune.Encode(tok, datasets.Subsample(private, n, seed), T)
}

func formatMetrics(m map[string]float64) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s=%.4f", k, m[k])
	}
	return strings.Join(parts, " ")
}

func formatSeconds(xs []float64) string {
	mean, _ := finetune.MeanStd(xs)
	return fmt.Sprintf("%.1f", mean)
}

func printSummary(w io.Writer, order []runKey, results map[runKey][]*finetune.Result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\ntask\tinit\ttable\tseeds\tmetric\tmean ± sd\ttrain s/epoch\tinference ms/ex")
	for _, k := range order {
		rs := results[k]
		if len(rs) == 0 {
			continue
		}
		names := make([]string, 0)
		for n := range rs[0].Metrics {
			names = append(names, n)
		}
		sort.Strings(names)
		var epoch, inf []float64
		for _, r := range rs {
			e, _ := finetune.MeanStd(r.TrainSecondsPerEpoch)
			epoch = append(epoch, e)
			inf = append(inf, 1000*r.InferenceSecondsPerExample)
		}
		em, _ := finetune.MeanStd(epoch)
		im, _ := finetune.MeanStd(inf)
		for _, n := range names {
			var xs []float64
			for _, r := range rs {
				xs = append(xs, r.Metrics[n])
			}
			mean, sd := finetune.MeanStd(xs)
			value := fmt.Sprintf("%.4f ± %.4f", mean, sd)
			if len(xs) == 1 {
				value = fmt.Sprintf("%.4f", mean) // one seed: no spread to report
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%.1f\t%.2f\n", k.task, k.init, k.table, len(rs), n, value, em, im)
		}
	}
	tw.Flush()
}
