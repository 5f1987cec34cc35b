package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cyphertalk/cyphertalk-go/datasets"
)

// customData is a researcher's own classification data (task "custom"), named by the --train-file family of
// flags. A command that takes it calls addCustomDataFlags when it builds its flags and customData.validate
// first thing in RunE, so that a wrong file, column or encoding is reported before any pre-training.
type customData struct {
	spec    datasets.CustomSpec
	devFile string
}

// customDataFlags are the flags that only mean something together with --train-file.
var customDataFlags = []string{"dev-file", "text-a", "text-b", "label", "labels", "encoding"}

func addCustomDataFlags(cmd *cobra.Command, c *customData) {
	f := cmd.Flags()
	f.StringVar(&c.spec.Path, "train-file", "",
		"bring your own data: a TSV (with header), .jsonl (one JSON object a line) or .parquet file of training examples (task \"custom\")")
	f.StringVar(&c.devFile, "dev-file", "",
		"custom data only: the evaluation file (same columns); default: a seeded 10% of --train-file")
	f.StringVar(&c.spec.TextA, "text-a", "sentence", "custom data: name of the text column")
	f.StringVar(&c.spec.TextB, "text-b", "", "custom data: name of the second text column, for pairs")
	f.StringVar(&c.spec.Label, "label", "label", "custom data: name of the label column")
	f.StringSliceVar(&c.spec.Labels, "labels", nil, "custom data: ordered label names (class k = k-th name); default: sorted distinct labels")
	f.StringVar(&c.spec.Encoding, "encoding", "utf-8",
		"custom data: text encoding of the files: utf-8 (rows that are not valid UTF-8 are reported as malformed) or latin1")
}

// enabled reports whether custom data was named.
func (c *customData) enabled() bool { return c.spec.Path != "" }

// validate checks the custom-data flags cheaply, before any expensive work: a custom-data flag without
// --train-file is refused (it would otherwise be ignored: GLUE tasks are evaluated on their own dev split), so
// is --task together with --train-file (which names the task "custom"), and the files' headers are read to
// check the columns and the encoding (datasets.CheckCustom). taskFlag is the name of the command's task flag
// ("" if it has none).
func (c *customData) validate(cmd *cobra.Command, taskFlag string) error {
	flags := cmd.Flags()
	if !c.enabled() {
		var set []string
		for _, name := range customDataFlags {
			if flags.Changed(name) {
				set = append(set, "--"+name)
			}
		}
		if len(set) > 0 {
			return fmt.Errorf("%s only applies to custom data named with --train-file; GLUE tasks are trained on their train split and evaluated on their dev split",
				strings.Join(set, ", "))
		}
		return nil
	}
	if taskFlag != "" && flags.Changed(taskFlag) {
		tasks, err := flags.GetStringSlice(taskFlag)
		if err != nil {
			return err
		}
		if len(tasks) != 1 || tasks[0] != datasets.CustomTaskName {
			return fmt.Errorf("--%s %s and --train-file exclude each other: --train-file runs the task %q on that file",
				taskFlag, strings.Join(tasks, ","), datasets.CustomTaskName)
		}
	}
	if _, err := datasets.CheckCustom(c.spec); err != nil {
		return fmt.Errorf("--train-file: %w", err)
	}
	if c.devFile != "" {
		dev := c.spec
		dev.Path, dev.Labels = c.devFile, nil
		if _, err := datasets.CheckCustom(dev); err != nil {
			return fmt.Errorf("--dev-file: %w", err)
		}
	}
	return nil
}

// customTask is custom data loaded for fine-tuning.
type customTask struct {
	info       datasets.TaskInfo
	train, dev []datasets.Example
	names      []string
}

// load reads the custom data. All of it is the client's private data (no public pool is split off); the
// evaluation set is --dev-file, or a seeded 10% held out of the training file. A file with no usable row is an
// error that shows the first malformed rows.
func (c *customData) load() (*customTask, error) {
	set, names, err := datasets.LoadCustom(c.spec)
	if err != nil {
		return nil, err
	}
	if err := needRows(set); err != nil {
		return nil, err
	}
	t := &customTask{names: names, train: set.Examples}
	if c.devFile != "" {
		devSpec := c.spec
		devSpec.Path, devSpec.Labels = c.devFile, names
		devSet, _, err := datasets.LoadCustom(devSpec)
		if err != nil {
			return nil, err
		}
		if err := needRows(devSet); err != nil {
			return nil, err
		}
		t.dev = devSet.Examples
	} else {
		held := datasets.Subsample(t.train, len(t.train)/10, 0)
		inHeld := map[datasets.Example]int{}
		for _, ex := range held {
			inHeld[ex]++
		}
		t.train = nil
		for _, ex := range set.Examples {
			if inHeld[ex] > 0 {
				inHeld[ex]--
				continue
			}
			t.train = append(t.train, ex)
		}
		t.dev = held
	}
	numLabels := len(names)
	for _, ex := range append(append([]datasets.Example(nil), t.train...), t.dev...) {
		numLabels = max(numLabels, int(ex.Label)+1)
	}
	t.info = datasets.TaskInfo{Name: datasets.CustomTaskName, NumLabels: numLabels, Pair: c.spec.TextB != "",
		Metrics: []string{"accuracy"}}
	if numLabels == 2 {
		t.info.Metrics = append(t.info.Metrics, "f1")
	}
	slog.Info("custom task loaded", "file", c.spec.Path, "train", len(t.train), "dev", len(t.dev), "labels", names,
		"malformed_rows", len(set.Malformed))
	return t, nil
}

// needRows refuses a custom file of which no row could be used.
func needRows(set *datasets.Set) error {
	if len(set.Examples) > 0 {
		return nil
	}
	var first []string
	for i, m := range set.Malformed {
		if i == 3 {
			break
		}
		first = append(first, fmt.Sprintf("line %d: %s", m.Line, m.Reason))
	}
	msg := fmt.Sprintf("custom data %s has no usable row (%d malformed)", set.Source, len(set.Malformed))
	if len(first) > 0 {
		msg += "; " + strings.Join(first, "; ")
	}
	return fmt.Errorf("%s", msg)
}

// noteMaxTrainCap says, on w, when --max-train leaves out some of a custom file's usable training rows.
func noteMaxTrainCap(w io.Writer, file string, usable, maxTrain int) {
	if maxTrain <= 0 || usable <= maxTrain {
		return
	}
	fmt.Fprintf(w, "note: --max-train %d: training on %d of the %d usable training rows of %s (a seeded subsample; --max-train 0 uses all)\n",
		maxTrain, maxTrain, usable, file)
	slog.Warn("--max-train caps the custom training data", "file", file, "usable_rows", usable, "max_train", maxTrain)
}
