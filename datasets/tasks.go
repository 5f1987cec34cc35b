package datasets

import (
	"fmt"
	"strings"
)

// TaskInfo describes a task: how many classes it has, whether examples are
// sentence pairs, and which metrics are reported on it.
type TaskInfo struct {
	Name string
	// Title is the task's name as GLUE writes it ("SST-2", "CoLA"), for figures and tables.
	Title     string
	NumLabels int      // 0 = regression (STS-B)
	Pair      bool     // true when examples have a TextB
	Metrics   []string // metric names as returned by Evaluate; the first is the headline metric
	Note      string   // caveat that must accompany results on this task, if any
}

// taskDef is the internal description of a task: its public info plus the
// names of the columns it is stored under in both layouts.
type taskDef struct {
	info TaskInfo
	// glueDir is the folder under glue/ holding the original TSVs ("" = none).
	glueDir string
	// glueFiles overrides the TSV file name per split (default <split>.tsv).
	glueFiles map[string]string
	// textA, textB and label list the candidate column names, TSV and parquet
	// layouts together; the first one present in a file's header is used.
	textA, textB, label []string
	// headerless are the positional column names used when a TSV file has no
	// header row (CoLA train/dev); headerMarker is a column name whose
	// presence in the first row identifies it as a header.
	headerless   []string
	headerMarker string
	// labelNames maps textual labels to class indices (e.g. RTE's
	// "entailment" -> 0). Integer labels are always accepted.
	labelNames map[string]int
}

var entailmentLabels = map[string]int{"entailment": 0, "not_entailment": 1}

// taskDefs is ordered as TaskNames, followed by the tasks that are loadable
// but not part of the default list.
var taskDefs = []taskDef{
	{
		info:    TaskInfo{Name: "sst2", Title: "SST-2", NumLabels: 2, Metrics: []string{"accuracy"}},
		glueDir: "SST-2",
		textA:   []string{"sentence"},
		label:   []string{"label"},
	},
	{
		info: TaskInfo{Name: "qqp", Title: "QQP", NumLabels: 2, Pair: true, Metrics: []string{"accuracy", "f1"},
			Note: "QQP here is a 23,497-row subset of GLUE QQP train re-split into train/dev; results on it must say so"},
		glueDir: "QQP",
		textA:   []string{"question1"},
		textB:   []string{"question2"},
		label:   []string{"is_duplicate", "label"},
	},
	{
		info:    TaskInfo{Name: "mrpc", Title: "MRPC", NumLabels: 2, Pair: true, Metrics: []string{"accuracy", "f1"}},
		glueDir: "MRPC",
		textA:   []string{"#1 String", "sentence1"},
		textB:   []string{"#2 String", "sentence2"},
		label:   []string{"Quality", "label"},
	},
	{
		info:       TaskInfo{Name: "rte", Title: "RTE", NumLabels: 2, Pair: true, Metrics: []string{"accuracy"}},
		glueDir:    "RTE",
		textA:      []string{"sentence1"},
		textB:      []string{"sentence2"},
		label:      []string{"label"},
		labelNames: entailmentLabels,
	},
	{
		info:         TaskInfo{Name: "cola", Title: "CoLA", NumLabels: 2, Metrics: []string{"matthews", "accuracy"}},
		glueDir:      "CoLA",
		textA:        []string{"sentence"},
		label:        []string{"label"},
		headerless:   []string{"source", "label", "orig_label", "sentence"},
		headerMarker: "sentence",
	},
	{
		info: TaskInfo{Name: "stsb", Title: "STS-B", NumLabels: 0, Pair: true, Metrics: []string{"pearson", "spearman"},
			Note: "regression: labels are similarity scores in [0, 5]"},
		glueDir: "STS-B",
		textA:   []string{"sentence1"},
		textB:   []string{"sentence2"},
		label:   []string{"score", "label"},
	},
	{
		info:       TaskInfo{Name: "qnli", Title: "QNLI", NumLabels: 2, Pair: true, Metrics: []string{"accuracy"}},
		glueDir:    "QNLI",
		textA:      []string{"question"},
		textB:      []string{"sentence"},
		label:      []string{"label"},
		labelNames: entailmentLabels,
	},
	{
		info:       TaskInfo{Name: "wnli", Title: "WNLI", NumLabels: 2, Pair: true, Metrics: []string{"accuracy"}},
		glueDir:    "WNLI",
		textA:      []string{"sentence1"},
		textB:      []string{"sentence2"},
		label:      []string{"label"},
		labelNames: entailmentLabels,
	},
	{
		// AX, GLUE's diagnostic set: test split only, unlabeled; its labels
		// follow MNLI (entailment, neutral, contradiction) and GLUE scores it
		// with the (multi-class) Matthews correlation.
		info: TaskInfo{Name: "ax", Title: "AX", NumLabels: 3, Pair: true, Metrics: []string{"matthews"},
			Note: "GLUE diagnostic set: test split only, unlabeled; scored by the GLUE server with MNLI-trained models"},
		glueDir:    "diagnostic",
		glueFiles:  map[string]string{"test": "diagnostic.tsv"},
		textA:      []string{"premise", "sentence1"},
		textB:      []string{"hypothesis", "sentence2"},
		label:      []string{"label"},
		labelNames: map[string]int{"entailment": 0, "neutral": 1, "contradiction": 2},
	},
}

// defaultTasks is the number of leading taskDefs listed by TaskNames.
const defaultTasks = 8

// TaskNames returns the GLUE tasks in the project's canonical order:
// sst2, qqp, mrpc, rte, cola, stsb, qnli, wnli.
func TaskNames() []string {
	names := make([]string, defaultTasks)
	for i := range names {
		names[i] = taskDefs[i].info.Name
	}
	return names
}

// Task returns the description of a task by name (case-insensitive). Besides
// the names of TaskNames it knows "ax", GLUE's diagnostic test set.
func Task(name string) (TaskInfo, error) {
	d, err := lookupTask(name)
	if err != nil {
		return TaskInfo{}, err
	}
	info := d.info
	info.Metrics = append([]string(nil), info.Metrics...)
	return info, nil
}

func lookupTask(name string) (*taskDef, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i := range taskDefs {
		if taskDefs[i].info.Name == n {
			return &taskDefs[i], nil
		}
	}
	all := make([]string, len(taskDefs))
	for i := range taskDefs {
		all[i] = taskDefs[i].info.Name
	}
	return nil, fmt.Errorf("unknown task %q: valid tasks are %s", name, strings.Join(all, ", "))
}
